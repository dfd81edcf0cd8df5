//! The `ai:` section of atmos.yaml, typed, with the seed's defaults.
//!
//! Loading is two steps: serde reads the YAML into raw structs (unknown keys
//! are collected as warnings, type errors name the key's path), then
//! [`validate`] checks every value and builds [`Config`]. A bad value is an
//! [`Error::ConfigInvalid`] that names the dotted key, the value and the rule.

use crate::error::{Error, Result};
use atmos_providers::ProviderKind;
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The config file names looked for in each folder, in order.
pub const CONFIG_FILE_NAMES: &[&str] = &["atmos.yaml", ".atmos.yaml"];

/// The environment variable that names the config file or its folder.
pub const CONFIG_PATH_ENV: &str = "ATMOS_CLI_CONFIG_PATH";

/// The typed `ai:` section. `Default` gives exactly the seed's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub default_provider: Option<String>,
    pub default_skill: Option<String>,
    /// 0: no limit (the model gets the complete history).
    pub max_history_messages: u32,
    pub timeout_seconds: u64,
    pub providers: IndexMap<String, ProviderConfig>,
    pub skills: IndexMap<String, SkillConfig>,
    pub sessions: SessionsConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            default_provider: None,
            default_skill: None,
            max_history_messages: 0,
            timeout_seconds: 60,
            providers: IndexMap::new(),
            skills: IndexMap::new(),
            sessions: SessionsConfig::default(),
        }
    }
}

/// `ai.sessions`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionsConfig {
    pub enabled: bool,
    /// Relative to the project root (or absolute).
    pub path: PathBuf,
    /// 0: no limit.
    pub max_sessions: u32,
    pub auto_compact: AutoCompactConfig,
    /// Mask secrets in a message before it is stored or sent.
    pub redact: bool,
    /// More patterns to mask (regular expressions), besides the built-in ones.
    pub redact_patterns: Vec<String>,
}

impl Default for SessionsConfig {
    fn default() -> SessionsConfig {
        SessionsConfig {
            enabled: false,
            path: PathBuf::from(".atmos/sessions"),
            max_sessions: 10,
            auto_compact: AutoCompactConfig::default(),
            redact: false,
            redact_patterns: Vec::new(),
        }
    }
}

/// `ai.sessions.auto_compact`.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoCompactConfig {
    pub enabled: bool,
    pub trigger_threshold: f64,
    pub compact_ratio: f64,
    pub preserve_recent: u32,
    pub use_ai_summary: bool,
    pub show_summary_markers: bool,
    /// Beyond the seed: compact when what would be sent exceeds this many
    /// estimated tokens, even below the message threshold.
    pub max_history_tokens: Option<u64>,
}

impl Default for AutoCompactConfig {
    fn default() -> AutoCompactConfig {
        AutoCompactConfig {
            enabled: false,
            trigger_threshold: 0.75,
            compact_ratio: 0.4,
            preserve_recent: 10,
            use_ai_summary: true,
            show_summary_markers: false,
            max_history_tokens: None,
        }
    }
}

/// `ai.providers.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    pub model: Option<String>,
    pub api_key_env: Option<String>,
    pub base_url: Option<String>,
    pub max_tokens: Option<u32>,
    pub api_version: Option<String>,
    pub deployment: Option<String>,
    pub region: Option<String>,
    /// Prices per million tokens, for the estimated cost of a session.
    pub pricing: Option<Pricing>,
}

/// `ai.providers.<name>.pricing`: what a million tokens cost (in the user's
/// currency, as they wrote it).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pricing {
    pub input: f64,
    pub output: f64,
}

impl Pricing {
    /// The cost of these many input and output tokens.
    pub fn cost(&self, input: u64, output: u64) -> f64 {
        (input as f64 * self.input + output as f64 * self.output) / 1_000_000.0
    }
}

/// `ai.skills.<name>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkillConfig {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub system_prompt: String,
}

/// Where the config was looked for.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config` (a file, or a folder holding atmos.yaml).
    pub explicit: Option<PathBuf>,
    /// The value of `ATMOS_CLI_CONFIG_PATH`.
    pub env_path: Option<PathBuf>,
    /// Where to start walking up.
    pub start_dir: PathBuf,
}

impl LoadOptions {
    /// From the process: `ATMOS_CLI_CONFIG_PATH` and the working directory.
    pub fn from_env(explicit: Option<PathBuf>) -> LoadOptions {
        LoadOptions {
            explicit,
            env_path: std::env::var_os(CONFIG_PATH_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            start_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }
}

/// A project: its root, its config file and the typed config.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub config_path: Option<PathBuf>,
    pub config: Config,
    /// Unknown keys, as dotted paths.
    pub warnings: Vec<String>,
}

impl Project {
    /// Finds the config as the options say, reads and validates it.
    pub fn load(options: &LoadOptions) -> Result<Project> {
        let found = locate(options)?;
        let Some(path) = found else {
            return Ok(Project {
                root: options.start_dir.clone(),
                config_path: None,
                config: Config::default(),
                warnings: Vec::new(),
            });
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::ConfigInvalid {
            key: "ai".into(),
            value: path.display().to_string(),
            rule: format!("the config file cannot be read: {e}"),
        })?;
        // Unknown keys are returned as warnings for each face to show.
        let (config, warnings) = parse(&text)?;
        let root = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| options.start_dir.clone());
        Ok(Project {
            root,
            config_path: Some(path),
            config,
            warnings,
        })
    }

    /// A project with this config, rooted at `root` (tests, benchmarks).
    pub fn with_config(root: PathBuf, config: Config) -> Project {
        Project {
            root,
            config_path: None,
            config,
            warnings: Vec::new(),
        }
    }

    /// `<root>/<sessions.path>/sessions.db`.
    pub fn database_path(&self) -> PathBuf {
        self.root
            .join(&self.config.sessions.path)
            .join(atmos_store::DB_FILE)
    }
}

/// The config file the options point at, or `None` when there is none.
pub fn locate(options: &LoadOptions) -> Result<Option<PathBuf>> {
    for (key, given) in [
        ("--config", &options.explicit),
        (CONFIG_PATH_ENV, &options.env_path),
    ] {
        if let Some(p) = given {
            return in_place(p).map(Some).ok_or_else(|| Error::ConfigInvalid {
                key: key.into(),
                value: p.display().to_string(),
                rule: "must name an existing atmos.yaml, or a folder that holds one".into(),
            });
        }
    }
    let mut dir = Some(options.start_dir.as_path());
    while let Some(d) = dir {
        if let Some(p) = CONFIG_FILE_NAMES
            .iter()
            .map(|n| d.join(n))
            .find(|p| p.is_file())
        {
            return Ok(Some(p));
        }
        dir = d.parent();
    }
    Ok(None)
}

fn in_place(p: &Path) -> Option<PathBuf> {
    if p.is_file() {
        return Some(p.to_path_buf());
    }
    if p.is_dir() {
        return CONFIG_FILE_NAMES
            .iter()
            .map(|n| p.join(n))
            .find(|p| p.is_file());
    }
    None
}

// ---------------------------------------------------------------------------
// Raw structs: what serde reads. Every field optional; `validate` applies the
// defaults and the rules.

#[derive(Debug, Default, Deserialize)]
struct RawAi {
    /// Atmos's own switch for AI features; accepted, not needed here.
    #[allow(dead_code)]
    enabled: Option<bool>,
    default_provider: Option<String>,
    default_skill: Option<String>,
    max_history_messages: Option<i64>,
    timeout_seconds: Option<i64>,
    #[serde(default)]
    providers: IndexMap<String, RawProvider>,
    #[serde(default)]
    skills: IndexMap<String, RawSkill>,
    #[serde(default)]
    sessions: RawSessions,
}

#[derive(Debug, Default, Deserialize)]
struct RawSessions {
    enabled: Option<bool>,
    path: Option<String>,
    max_sessions: Option<i64>,
    #[serde(default)]
    auto_compact: RawAutoCompact,
    redact: Option<bool>,
    redact_patterns: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct RawAutoCompact {
    enabled: Option<bool>,
    trigger_threshold: Option<f64>,
    compact_ratio: Option<f64>,
    preserve_recent: Option<i64>,
    use_ai_summary: Option<bool>,
    show_summary_markers: Option<bool>,
    max_history_tokens: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct RawProvider {
    kind: Option<String>,
    model: Option<String>,
    api_key_env: Option<String>,
    base_url: Option<String>,
    max_tokens: Option<i64>,
    api_version: Option<String>,
    deployment: Option<String>,
    region: Option<String>,
    pricing: Option<RawPricing>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPricing {
    input: Option<f64>,
    output: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
struct RawSkill {
    display_name: Option<String>,
    description: Option<String>,
    system_prompt: Option<String>,
}

/// Parses a whole atmos.yaml and returns the `ai:` config and the unknown
/// keys under `ai:` (other top-level sections belong to Atmos and are ignored).
pub fn parse(text: &str) -> Result<(Config, Vec<String>)> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| Error::ConfigInvalid {
            key: "ai".into(),
            value: "(the file)".into(),
            rule: format!("atmos.yaml is not valid YAML: {e}"),
        })?;
    let ai = match doc.get("ai") {
        None | Some(serde_yaml_ng::Value::Null) => return Ok((Config::default(), Vec::new())),
        Some(ai) => ai.clone(),
    };
    let mut unknown = Vec::new();
    let raw: RawAi = {
        let mut note = |path: serde_ignored::Path<'_>| unknown.push(format!("ai.{path}"));
        let ignored = serde_ignored::Deserializer::new(ai.clone(), &mut note);
        serde_path_to_error::deserialize(ignored).map_err(|e| {
            let key = format!("ai.{}", e.path());
            let value = lookup(&ai, &e.path().to_string())
                .map(show)
                .unwrap_or_else(|| "(missing)".into());
            Error::ConfigInvalid {
                key,
                value,
                rule: plain_rule(&e.inner().to_string()),
            }
        })?
    };
    Ok((validate(raw)?, unknown))
}

/// For an unknown key (`ai.sesions`), the known key it was probably meant
/// as (`ai.sessions`), when one at the same place is close enough.
pub fn did_you_mean(unknown: &str) -> Option<String> {
    const AI: &[&str] = &[
        "enabled",
        "default_provider",
        "default_skill",
        "max_history_messages",
        "timeout_seconds",
        "providers",
        "skills",
        "sessions",
    ];
    const SESSIONS: &[&str] = &[
        "enabled",
        "path",
        "max_sessions",
        "auto_compact",
        "redact",
        "redact_patterns",
    ];
    const AUTO_COMPACT: &[&str] = &[
        "enabled",
        "trigger_threshold",
        "compact_ratio",
        "preserve_recent",
        "use_ai_summary",
        "show_summary_markers",
        "max_history_tokens",
    ];
    const PROVIDER: &[&str] = &[
        "kind",
        "model",
        "api_key_env",
        "base_url",
        "max_tokens",
        "api_version",
        "deployment",
        "region",
        "pricing",
    ];
    const SKILL: &[&str] = &["display_name", "description", "system_prompt"];
    let (parent, last) = unknown.rsplit_once('.')?;
    let segments: Vec<&str> = parent.split('.').collect();
    let known = match segments.as_slice() {
        ["ai"] => AI,
        ["ai", "sessions"] => SESSIONS,
        ["ai", "sessions", "auto_compact"] => AUTO_COMPACT,
        ["ai", "providers", _] => PROVIDER,
        ["ai", "skills", _] => SKILL,
        _ => return None,
    };
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(last, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("{parent}.{k}"))
}

/// serde's message in the user's words: "invalid type: string \"lots\",
/// expected i64" → "must be a whole number, not text"; other messages
/// without our internal type names ("struct RawSessions" → "a mapping of
/// settings").
fn plain_rule(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        return format!("must be {}, not {}", wanted(expected), found_kind(found));
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        return format!("must be {}, not {}", wanted(expected), found_kind(found));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ")
        && let Some((_, expected)) = rest.split_once(", expected ")
    {
        return format!("must be {}", expected.replace('`', ""));
    }
    raw_names(message)
}

/// What serde expected, as a user would say it.
fn wanted(expected: &str) -> String {
    let e = expected.trim();
    let plain = match e {
        "i64" | "i32" | "u64" | "u32" | "u16" | "u8" | "usize" => "a whole number (such as 50)",
        "f64" | "f32" => "a number (such as 0.75)",
        "a boolean" => "true or false",
        "a string" => "text",
        "a sequence" => "a list",
        "a map" => "a mapping of settings",
        _ => return raw_names(e),
    };
    plain.to_string()
}

/// What serde found, as a user would say it: `string "lots"` → `text`.
fn found_kind(found: &str) -> String {
    let kind = found.split([' ', '`']).next().unwrap_or(found);
    match kind {
        "string" => "text".into(),
        "integer" | "floating" => format!("the number {}", found.split('`').nth(1).unwrap_or("")),
        "boolean" => found
            .split('`')
            .nth(1)
            .unwrap_or("true or false")
            .to_string(),
        "sequence" => "a list".into(),
        "map" => "a mapping".into(),
        "unit" => "empty".into(),
        _ => found.to_string(),
    }
}

fn raw_names(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("struct Raw") {
        out.push_str(&rest[..at]);
        out.push_str("a mapping of settings");
        let after = &rest[at + "struct Raw".len()..];
        rest = after.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    }
    out.push_str(rest);
    out
}

fn lookup<'a>(v: &'a serde_yaml_ng::Value, path: &str) -> Option<&'a serde_yaml_ng::Value> {
    path.split('.')
        .filter(|s| !s.is_empty() && *s != "?")
        .try_fold(v, |v, seg| v.get(seg))
}

fn show(v: &serde_yaml_ng::Value) -> String {
    serde_yaml_ng::to_string(v)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

fn invalid(key: impl Into<String>, value: impl ToString, rule: &str) -> Error {
    Error::ConfigInvalid {
        key: key.into(),
        value: value.to_string(),
        rule: rule.into(),
    }
}

fn whole(key: &str, v: Option<i64>, default: u32) -> Result<u32> {
    match v {
        None => Ok(default),
        Some(n) => {
            u32::try_from(n).map_err(|_| invalid(key, n, "must be a whole number, 0 or more"))
        }
    }
}

fn fraction(key: &str, v: Option<f64>, default: f64) -> Result<f64> {
    match v {
        None => Ok(default),
        Some(x) if x > 0.0 && x <= 1.0 => Ok(x),
        Some(x) => Err(invalid(
            key,
            x,
            "must be a fraction above 0.0 and at most 1.0",
        )),
    }
}

fn validate(raw: RawAi) -> Result<Config> {
    let d = Config::default();
    let mut providers = IndexMap::new();
    for (name, p) in raw.providers {
        let key = format!("ai.providers.{name}");
        let kind = match (&p.kind, ProviderKind::from_str(&name)) {
            (Some(k), _) => ProviderKind::from_str(k).map_err(|_| {
                invalid(
                    format!("{key}.kind"),
                    k,
                    &format!("must be one of: {}", kind_names()),
                )
            })?,
            (None, Ok(k)) => k,
            (None, Err(_)) => {
                return Err(invalid(
                    format!("{key}.kind"),
                    "(missing)",
                    &format!(
                        "a provider named '{name}' needs `kind:`, one of: {}",
                        kind_names()
                    ),
                ));
            }
        };
        let max_tokens = match p.max_tokens {
            None => None,
            Some(n) if n > 0 && n <= i64::from(u32::MAX) => Some(n as u32),
            Some(n) => {
                return Err(invalid(
                    format!("{key}.max_tokens"),
                    n,
                    "must be a whole number above 0",
                ));
            }
        };
        if let Some(url) = &p.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid(
                format!("{key}.base_url"),
                url,
                "must start with http:// or https://",
            ));
        }
        for (field, value) in [("model", &p.model), ("api_key_env", &p.api_key_env)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(invalid(format!("{key}.{field}"), "\"\"", "cannot be empty"));
            }
        }
        // The name of a variable, never a key itself: what is not a name is
        // not shown back (it may be the secret).
        if let Some(var) = &p.api_key_env
            && !is_variable_name(var)
        {
            return Err(invalid(
                format!("{key}.api_key_env"),
                "(not shown: it may be a key)",
                "must be the name of the environment variable that holds the key (such as \
                 OPENAI_API_KEY), not the key itself: put the key in that variable",
            ));
        }
        let pricing = match p.pricing {
            None => None,
            Some(RawPricing { input, output }) => {
                let price = |field: &str, v: Option<f64>| match v {
                    Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
                    Some(v) => Err(invalid(
                        format!("{key}.pricing.{field}"),
                        v,
                        "must be a price per million tokens, 0 or more (such as 3.0)",
                    )),
                    None => Err(invalid(
                        format!("{key}.pricing.{field}"),
                        "(missing)",
                        "give both input and output, per million tokens (such as input: 3.0, output: 15.0)",
                    )),
                };
                Some(Pricing {
                    input: price("input", input)?,
                    output: price("output", output)?,
                })
            }
        };
        providers.insert(
            name,
            ProviderConfig {
                kind,
                model: p.model,
                api_key_env: p.api_key_env,
                base_url: p.base_url,
                max_tokens,
                api_version: p.api_version,
                deployment: p.deployment,
                region: p.region,
                pricing,
            },
        );
    }

    let mut skills = IndexMap::new();
    for (name, s) in raw.skills {
        let key = format!("ai.skills.{name}");
        if let Err(rule) = crate::names::validate(&name) {
            return Err(invalid(key, &name, rule));
        }
        let system_prompt = s
            .system_prompt
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| {
                invalid(
                    format!("{key}.system_prompt"),
                    "(missing)",
                    "every skill needs a system_prompt",
                )
            })?;
        skills.insert(
            name,
            SkillConfig {
                display_name: s.display_name,
                description: s.description,
                system_prompt,
            },
        );
    }

    if let Some(p) = &raw.default_provider
        && !providers.contains_key(p)
        && ProviderKind::from_str(p).is_err()
    {
        return Err(invalid(
            "ai.default_provider",
            p,
            &format!(
                "must name a provider under ai.providers or one of: {}",
                kind_names()
            ),
        ));
    }

    let s = raw.sessions;
    let ac = s.auto_compact;
    let dac = &d.sessions.auto_compact;
    let path = match s.path {
        None => d.sessions.path.clone(),
        Some(p) if p.trim().is_empty() => {
            return Err(invalid("ai.sessions.path", "\"\"", "must name a folder"));
        }
        Some(p) => PathBuf::from(p),
    };
    let max_history_tokens = match ac.max_history_tokens {
        None | Some(0) => None,
        Some(n) if n > 0 => Some(n as u64),
        Some(n) => {
            return Err(invalid(
                "ai.sessions.auto_compact.max_history_tokens",
                n,
                "must be a whole number above 0",
            ));
        }
    };
    let timeout_seconds = match raw.timeout_seconds {
        None => d.timeout_seconds,
        Some(n) if n > 0 => n as u64,
        Some(n) => {
            return Err(invalid(
                "ai.timeout_seconds",
                n,
                "must be a whole number of seconds above 0",
            ));
        }
    };
    let redact_patterns = s.redact_patterns.clone().unwrap_or_default();
    if let Err((pattern, why)) = crate::redact::Redactor::new(&redact_patterns) {
        return Err(invalid(
            "ai.sessions.redact_patterns",
            format!("{pattern:?}"),
            &format!("each must be a regular expression: {why}"),
        ));
    }
    Ok(Config {
        default_provider: raw.default_provider,
        default_skill: raw.default_skill,
        max_history_messages: whole(
            "ai.max_history_messages",
            raw.max_history_messages,
            d.max_history_messages,
        )?,
        timeout_seconds,
        providers,
        skills,
        sessions: SessionsConfig {
            enabled: s.enabled.unwrap_or(d.sessions.enabled),
            path,
            max_sessions: whole(
                "ai.sessions.max_sessions",
                s.max_sessions,
                d.sessions.max_sessions,
            )?,
            auto_compact: AutoCompactConfig {
                enabled: ac.enabled.unwrap_or(dac.enabled),
                trigger_threshold: fraction(
                    "ai.sessions.auto_compact.trigger_threshold",
                    ac.trigger_threshold,
                    dac.trigger_threshold,
                )?,
                compact_ratio: fraction(
                    "ai.sessions.auto_compact.compact_ratio",
                    ac.compact_ratio,
                    dac.compact_ratio,
                )?,
                preserve_recent: whole(
                    "ai.sessions.auto_compact.preserve_recent",
                    ac.preserve_recent,
                    dac.preserve_recent,
                )?,
                use_ai_summary: ac.use_ai_summary.unwrap_or(dac.use_ai_summary),
                show_summary_markers: ac.show_summary_markers.unwrap_or(dac.show_summary_markers),
                max_history_tokens,
            },
            redact: s.redact.unwrap_or(false),
            redact_patterns,
        },
    })
}

/// `OPENAI_API_KEY`: letters, digits and `_`, not starting with a digit.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn kind_names() -> String {
    ProviderKind::ALL
        .iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The YAML that turns sessions on, shown when they are off.
pub const ENABLE_SESSIONS_YAML: &str = "ai:\n  sessions:\n    enabled: true\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> (String, String, String) {
        match parse(yaml) {
            Err(Error::ConfigInvalid { key, value, rule }) => (key, value, rule),
            other => panic!("expected ConfigInvalid for {yaml:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_seeds() {
        let (c, warnings) = parse("components: {}\n").unwrap();
        assert!(warnings.is_empty());
        assert_eq!(c, Config::default());
        assert!(!c.sessions.enabled);
        assert_eq!(c.sessions.path, PathBuf::from(".atmos/sessions"));
        assert_eq!(c.sessions.max_sessions, 10);
        assert_eq!(c.max_history_messages, 0);
        assert_eq!(c.timeout_seconds, 60);
        let ac = &c.sessions.auto_compact;
        assert!(!ac.enabled);
        assert_eq!(ac.trigger_threshold, 0.75);
        assert_eq!(ac.compact_ratio, 0.4);
        assert_eq!(ac.preserve_recent, 10);
        assert!(ac.use_ai_summary);
        assert!(!ac.show_summary_markers);
    }

    #[test]
    fn the_documented_example_is_the_defaults() {
        let text = include_str!("../../../docs/atmos.example.yaml");
        let (c, warnings) = parse(text).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c, Config::default());
    }

    #[test]
    fn reads_the_seeds_example() {
        let yaml = "ai:\n  default_provider: ollama\n  max_history_messages: 50\n  sessions:\n    enabled: true\n    path: .atmos/sessions\n    max_sessions: 10\n    auto_compact:\n      enabled: true\n      trigger_threshold: 0.75\n      compact_ratio: 0.4\n      preserve_recent: 10\n      use_ai_summary: true\n      show_summary_markers: false\n";
        let (c, warnings) = parse(yaml).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.default_provider.as_deref(), Some("ollama"));
        assert_eq!(c.max_history_messages, 50);
        assert!(c.sessions.enabled && c.sessions.auto_compact.enabled);
    }

    #[test]
    fn unknown_keys_come_with_the_key_they_were_probably_meant_as() {
        let cases = [
            ("ai.sesions", Some("ai.sessions")),
            ("ai.sessions.enabeld", Some("ai.sessions.enabled")),
            (
                "ai.sessions.auto_compact.trigger_treshold",
                Some("ai.sessions.auto_compact.trigger_threshold"),
            ),
            (
                "ai.providers.anthropic.api_kye_env",
                Some("ai.providers.anthropic.api_key_env"),
            ),
            (
                "ai.skills.sec.system_promt",
                Some("ai.skills.sec.system_prompt"),
            ),
            ("ai.colour", None),
            ("ai.sessions.auto_compact.x", None),
        ];
        for (unknown, meant) in cases {
            assert_eq!(did_you_mean(unknown).as_deref(), meant, "{unknown}");
        }
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let (_, warnings) = parse("ai:\n  sessions:\n    enabeld: true\n  colour: red\n").unwrap();
        assert_eq!(warnings, vec!["ai.sessions.enabeld", "ai.colour"]);
    }

    #[test]
    fn bad_values_name_the_key_and_the_rule() {
        let cases = [
            (
                "ai:\n  sessions:\n    auto_compact:\n      trigger_threshold: 1.5\n",
                "ai.sessions.auto_compact.trigger_threshold",
                "1.5",
            ),
            (
                "ai:\n  sessions:\n    auto_compact:\n      compact_ratio: 0\n",
                "ai.sessions.auto_compact.compact_ratio",
                "0",
            ),
            (
                "ai:\n  sessions:\n    max_sessions: -1\n",
                "ai.sessions.max_sessions",
                "-1",
            ),
            (
                "ai:\n  max_history_messages: -5\n",
                "ai.max_history_messages",
                "-5",
            ),
            (
                "ai:\n  default_provider: nosuch\n",
                "ai.default_provider",
                "nosuch",
            ),
            (
                "ai:\n  sessions:\n    enabled: maybe\n",
                "ai.sessions.enabled",
                "maybe",
            ),
            (
                "ai:\n  sessions:\n    max_sessions: many\n",
                "ai.sessions.max_sessions",
                "many",
            ),
            (
                "ai:\n  providers:\n    mine:\n      model: x\n",
                "ai.providers.mine.kind",
                "(missing)",
            ),
            (
                "ai:\n  providers:\n    openai:\n      base_url: ftp://x\n",
                "ai.providers.openai.base_url",
                "ftp://x",
            ),
            (
                "ai:\n  providers:\n    openai:\n      max_tokens: 0\n",
                "ai.providers.openai.max_tokens",
                "0",
            ),
            (
                "ai:\n  skills:\n    ops: {description: x}\n",
                "ai.skills.ops.system_prompt",
                "(missing)",
            ),
            ("ai:\n  timeout_seconds: 0\n", "ai.timeout_seconds", "0"),
            ("ai:\n  sessions: [1]\n", "ai.sessions", "- 1"),
            (
                "ai:\n  sessions:\n    path: ''\n",
                "ai.sessions.path",
                "\"\"",
            ),
        ];
        for (yaml, key, value) in cases {
            let (k, v, rule) = err(yaml);
            assert_eq!(k, key, "{yaml}");
            assert_eq!(v, value, "{yaml}");
            assert!(!rule.is_empty() && !rule.contains("Raw"), "{rule}");
        }
    }

    #[test]
    fn a_key_given_as_api_key_env_is_refused_without_being_shown() {
        let secret = "sk-proj-AbC123xyz-not-a-real-key";
        let (key, value, rule) = err(&format!(
            "ai:\n  providers:\n    openai:\n      api_key_env: {secret}\n"
        ));
        assert_eq!(key, "ai.providers.openai.api_key_env");
        let shown = format!("{key} {value} {rule}");
        assert!(!shown.contains("AbC123"), "{shown}");
        assert!(rule.contains("OPENAI_API_KEY"), "{rule}");
        assert!(parse("ai:\n  providers:\n    openai:\n      api_key_env: MY_KEY_2\n").is_ok());
    }

    #[test]
    fn type_errors_say_what_the_key_takes_in_plain_words() {
        let cases = [
            (
                "ai:\n  max_history_messages: lots\n",
                "must be a whole number (such as 50), not text",
            ),
            (
                "ai:\n  sessions:\n    enabled: 1\n",
                "must be true or false, not the number 1",
            ),
            (
                "ai:\n  sessions:\n    auto_compact:\n      trigger_threshold: high\n",
                "must be a number (such as 0.75), not text",
            ),
            (
                "ai:\n  skills:\n    ops:\n      system_prompt: [a, b]\n",
                "must be text, not a list",
            ),
            (
                "ai:\n  sessions: [1]\n",
                "must be a mapping of settings, not a list",
            ),
        ];
        for (yaml, want) in cases {
            let (_, _, rule) = err(yaml);
            assert_eq!(rule, want, "{yaml}");
        }
    }

    #[test]
    fn custom_provider_names_take_a_kind() {
        let (c, _) = parse("ai:\n  default_provider: lmstudio\n  providers:\n    lmstudio:\n      kind: openai\n      base_url: http://127.0.0.1:1234/v1\n      model: qwen\n").unwrap();
        assert_eq!(c.providers["lmstudio"].kind, ProviderKind::OpenAi);
    }

    #[test]
    fn locate_walks_up_and_honours_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("atmos.yaml"), "ai: {}\n").unwrap();
        let deep = root.join("stacks/deploy/prod");
        std::fs::create_dir_all(&deep).unwrap();
        let found = locate(&LoadOptions {
            start_dir: deep.clone(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(found, Some(root.join("atmos.yaml")));

        let other = root.join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("atmos.yaml"), "ai: {}\n").unwrap();
        let by_env = locate(&LoadOptions {
            env_path: Some(other.clone()),
            start_dir: deep.clone(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(by_env, Some(other.join("atmos.yaml")));
        let by_flag = locate(&LoadOptions {
            explicit: Some(root.join("atmos.yaml")),
            env_path: Some(other.clone()),
            start_dir: deep,
        })
        .unwrap();
        assert_eq!(by_flag, Some(root.join("atmos.yaml")));

        let missing = locate(&LoadOptions {
            explicit: Some(root.join("nope.yaml")),
            ..Default::default()
        });
        assert!(matches!(missing, Err(Error::ConfigInvalid { key, .. }) if key == "--config"));
    }
}
