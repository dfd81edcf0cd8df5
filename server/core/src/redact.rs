//! Secrets kept out of transcripts (`ai.sessions.redact: true`): AWS access
//! keys and secret keys, private key blocks, bearer tokens, `password:` /
//! `token:` style values and passwords in connection strings are masked in a
//! message before it is stored or sent, with the user's own patterns
//! (`ai.sessions.redact_patterns`) besides. The count of what was masked is
//! reported; what was masked never is.

use regex::Regex;
use std::sync::LazyLock;

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

/// The built-in rules: a pattern, and the group that is the secret (0: all).
static BUILT_IN: LazyLock<Vec<(Regex, usize)>> = LazyLock::new(|| {
    [
        // Private key blocks, whole.
        (
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
            0,
        ),
        // AWS access key ids.
        (r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b", 0),
        // AWS secret keys, where they are named.
        (
            r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})"#,
            1,
        ),
        // Bearer tokens.
        (r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)", 1),
        // Passwords in connection strings: scheme://user:PASSWORD@host.
        (r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:([^\s@/]+)@", 1),
        // password: x, token = x, secret: "x", api_key: x, …
        (
            r#"(?i)\b(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|client[_-]?secret)["']?\s*[:=]\s*("[^"\n]+"|'[^'\n]+'|[^\s"',;]+)"#,
            1,
        ),
    ]
    .into_iter()
    .map(|(p, g)| (Regex::new(p).expect("a built-in pattern compiles"), g))
    .collect()
});

/// A compiled set of rules: the built-in ones and the user's.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    extra: Vec<Regex>,
}

impl Redactor {
    /// The built-in rules and `patterns` (each a regular expression; the
    /// whole match is masked). An invalid pattern is named in the error.
    pub fn new(patterns: &[String]) -> Result<Redactor, (String, String)> {
        let extra = patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| (p.clone(), e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(Redactor { extra })
    }

    /// The redactor `ai.sessions` asks for: `None` when `redact` is off. A
    /// pattern that does not compile (atmos.yaml's check lets none through)
    /// is the config error, never a message sent unmasked.
    pub fn configured(sessions: &crate::config::SessionsConfig) -> crate::Result<Option<Redactor>> {
        if !sessions.redact {
            return Ok(None);
        }
        Redactor::new(&sessions.redact_patterns)
            .map(Some)
            .map_err(|(pattern, why)| crate::Error::ConfigInvalid {
                key: "ai.sessions.redact_patterns".into(),
                value: format!("{pattern:?}"),
                rule: format!("each must be a regular expression: {why}"),
            })
    }

    /// `text` with every secret masked, and how many were.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let mut out = text.to_string();
        let mut count = 0;
        for (re, group) in BUILT_IN.iter() {
            (out, count) = mask(&out, re, *group, count);
        }
        for re in &self.extra {
            (out, count) = mask(&out, re, 0, count);
        }
        (out, count)
    }
}

/// Masks `group` of each match of `re` (a value already masked is left).
fn mask(text: &str, re: &Regex, group: usize, mut count: usize) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(group).or_else(|| caps.get(0)) else {
            continue;
        };
        if m.as_str() == MASK || m.as_str().trim_matches(['"', '\'']) == MASK {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(MASK);
        last = m.end();
        count += 1;
    }
    out.push_str(&text[last..]);
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_secret_is_masked_and_counted() {
        let r = Redactor::new(&["INTERNAL-[0-9]{6}".to_string()]).unwrap();
        let cases = [
            (
                "key AKIAIOSFODNN7EXAMPLE in use",
                "key [REDACTED] in use",
                1,
            ),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key = [REDACTED]",
                1,
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
                "[REDACTED]",
                1,
            ),
            (
                "Authorization: Bearer eyJhbGciOi.abc.def",
                "Authorization: Bearer [REDACTED]",
                1,
            ),
            (
                "postgres://admin:hunter2@db.internal:5432/app",
                "postgres://admin:[REDACTED]@db.internal:5432/app",
                1,
            ),
            (
                "password: hunter2\ntoken = 'abc123'",
                "password: [REDACTED]\ntoken = [REDACTED]",
                2,
            ),
            ("ticket INTERNAL-123456", "ticket [REDACTED]", 1),
            (
                "the staging VPC uses 10.20.0.0/16",
                "the staging VPC uses 10.20.0.0/16",
                0,
            ),
        ];
        for (text, want, n) in cases {
            assert_eq!(r.redact(text), (want.to_string(), n), "{text}");
        }
        // Masking is idempotent: a masked text has nothing left to mask.
        let (once, _) = r.redact("password: hunter2 AKIAIOSFODNN7EXAMPLE");
        assert_eq!(r.redact(&once), (once.clone(), 0));
        assert!(Redactor::new(&["(unclosed".to_string()]).is_err());
    }
}
