//! The one error type of this crate: what went wrong talking to a provider, said so a person
//! can act on it. No message ever contains a key's value; variables are named, never read out.

use std::fmt::Write as _;

/// Why a provider call failed. Every variant names the provider by its config name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The environment variable that should hold the key is unset or empty.
    #[error("provider {provider} has no API key: set the environment variable {variable}")]
    MissingKey {
        /// Config name of the provider.
        provider: String,
        /// Name of the variable (or variables) that should hold the credential.
        variable: String,
    },
    /// The provider's configuration cannot work as given (no base URL for Azure, a key that
    /// cannot travel in a header, a malformed URL).
    #[error("provider {provider} is not usable as configured: {reason}")]
    Config {
        /// Config name of the provider.
        provider: String,
        /// What to change, naming the setting.
        reason: String,
    },
    /// No connection could be made: refused, DNS failure or connect timeout.
    #[error(
        "cannot reach provider {provider} at {url} ({reason}): {}",
        unreachable_hint(provider, url, reason)
    )]
    Unreachable {
        /// Config name of the provider.
        provider: String,
        /// The URL that was tried.
        url: String,
        /// The underlying cause, e.g. "connection refused".
        reason: String,
    },
    /// The provider refused the credential (HTTP 401 or 403).
    #[error(
        "provider {provider} refused {credential} (HTTP {status}): check that it is valid and allowed to use this model"
    )]
    Unauthorized {
        /// Config name of the provider.
        provider: String,
        /// HTTP status, 401 or 403.
        status: u16,
        /// Where the credential came from, e.g. "the key in $OPENAI_API_KEY".
        credential: String,
    },
    /// Any other HTTP error status.
    #[error("provider {provider} answered HTTP {status}: {message}{}", http_hint(*.retryable, *.retry_after_ms))]
    Http {
        /// Config name of the provider.
        provider: String,
        /// HTTP status.
        status: u16,
        /// The provider's own error text when its body has one (truncated), else the status.
        message: String,
        /// Whether trying again later may help (429 and 5xx).
        retryable: bool,
        /// How long the provider asked us to wait, when it said so.
        retry_after_ms: Option<u64>,
    },
    /// Nothing arrived within the idle timeout (first byte, between stream chunks, or the
    /// whole body of a non-streaming reply).
    #[error("provider {provider} sent nothing for {}: try again, or raise its idle timeout if it is slow to start", secs(*.after_secs))]
    Timeout {
        /// Config name of the provider.
        provider: String,
        /// The idle timeout that elapsed, in seconds.
        after_secs: f64,
    },
    /// The reply broke off or could not be read: connection cut mid-way, a chunk that is not
    /// valid JSON, or an error event sent by the provider inside the stream.
    #[error("the reply from provider {provider} broke off: {reason}")]
    Stream {
        /// Config name of the provider.
        provider: String,
        /// What happened.
        reason: String,
    },
}

fn http_hint(retryable: bool, retry_after_ms: Option<u64>) -> String {
    let mut s = String::new();
    match (retryable, retry_after_ms) {
        (true, Some(ms)) => {
            let _ = write!(
                s,
                "; it asked to wait {}, try again then",
                secs(ms as f64 / 1000.0)
            );
        }
        (true, None) => s.push_str("; try again in a moment"),
        _ => {}
    }
    s
}

fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{} ms", (s * 1000.0).round() as u64)
    } else if s.fract() == 0.0 {
        format!("{} s", s as u64)
    } else {
        format!("{s:.1} s")
    }
}

impl ProviderError {
    /// Config name of the provider the error concerns.
    pub fn provider(&self) -> &str {
        match self {
            Self::MissingKey { provider, .. }
            | Self::Config { provider, .. }
            | Self::Unreachable { provider, .. }
            | Self::Unauthorized { provider, .. }
            | Self::Http { provider, .. }
            | Self::Timeout { provider, .. }
            | Self::Stream { provider, .. } => provider,
        }
    }

    /// The HTTP status, when the provider answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { status, .. } | Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the same request may succeed if tried again later.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Http { retryable, .. } => *retryable,
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::Stream { .. } => true,
            Self::MissingKey { .. } | Self::Config { .. } | Self::Unauthorized { .. } => false,
        }
    }

    /// How long the provider asked to wait before trying again, if it said.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Self::Http { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }

    /// True for the errors that mean "not configured" (protocol kind 1006) rather than
    /// "the provider failed" (1005): a missing key or an unusable setting.
    pub fn is_not_configured(&self) -> bool {
        matches!(self, Self::MissingKey { .. } | Self::Config { .. })
    }
}

/// What to check when a provider cannot be reached, by why: a name that
/// does not resolve is a typo or a network (DNS, VPN) matter, not a server
/// that is down.
fn unreachable_hint(provider: &str, url: &str, reason: &str) -> String {
    let r = reason.to_ascii_lowercase();
    let dns = [
        "lookup address",
        "name or service not known",
        "nodename nor servname",
        "no address associated",
        "temporary failure in name resolution",
        "dns error",
    ];
    if dns.iter().any(|d| r.contains(d)) {
        let host = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .unwrap_or(url);
        format!(
            "the host name {host} was not found: check its spelling in ai.providers.{provider}.base_url, \
             and your network (DNS, VPN or proxy)"
        )
    } else if r.contains("timed out") {
        format!("check your network (VPN, proxy or firewall) and ai.providers.{provider}.base_url")
    } else {
        format!("check that it is running and that ai.providers.{provider}.base_url is right")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_no_trailing_period_and_name_what_to_do() {
        let errs = [
            ProviderError::MissingKey {
                provider: "openai".into(),
                variable: "OPENAI_API_KEY".into(),
            },
            ProviderError::Http {
                provider: "openai".into(),
                status: 429,
                message: "Rate limit reached".into(),
                retryable: true,
                retry_after_ms: Some(2000),
            },
            ProviderError::Timeout {
                provider: "ollama".into(),
                after_secs: 0.2,
            },
        ];
        for e in &errs {
            let s = e.to_string();
            assert!(!s.ends_with('.'), "{s}");
        }
        assert!(errs[0].to_string().contains("OPENAI_API_KEY"));
        assert!(errs[1].to_string().contains("2 s"), "{}", errs[1]);
        assert!(errs[2].to_string().contains("200 ms"), "{}", errs[2]);
        assert_eq!(errs[1].status(), Some(429));
        assert!(errs[1].retryable());
        assert!(!errs[0].retryable());
        assert!(errs[0].is_not_configured());
    }
}
