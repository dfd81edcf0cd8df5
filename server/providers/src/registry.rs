//! The table of provider kinds with their defaults, the settings a provider is built from, and
//! construction: reading the key variable and building the HTTP client happen here, and only
//! here, when a provider is actually going to be called.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::{Provider, ProviderError};

/// Which wire protocol and set of defaults a provider uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI Chat Completions (and any OpenAI-compatible server via `base_url`).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Ollama's native chat API.
    Ollama,
    /// Google Gemini (Generative Language API).
    Gemini,
    /// Azure OpenAI deployments.
    AzureOpenAi,
    /// xAI Grok, OpenAI-compatible.
    Grok,
    /// GitHub Models, OpenAI-compatible.
    GitHub,
    /// Amazon Bedrock Converse.
    Bedrock,
}

impl ProviderKind {
    /// Every kind, in the order `atmos` tries them when no default provider is set.
    pub const ALL: [ProviderKind; 8] = [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Ollama,
        ProviderKind::Gemini,
        ProviderKind::AzureOpenAi,
        ProviderKind::Grok,
        ProviderKind::GitHub,
        ProviderKind::Bedrock,
    ];

    /// The name used in atmos.yaml (`openai`, `azureopenai`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Ollama => "ollama",
            Self::Gemini => "gemini",
            Self::AzureOpenAi => "azureopenai",
            Self::Grok => "grok",
            Self::GitHub => "github",
            Self::Bedrock => "bedrock",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = String;

    /// Parses a config name, case-insensitively. The error lists the accepted names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == lower)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown provider `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// What a provider kind uses when its settings say nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderDefaults {
    /// Default model id.
    pub model: &'static str,
    /// Environment variable holding the key; `None` when no key is needed (Ollama) or the
    /// credentials come from elsewhere (Bedrock: the standard AWS variables and profile).
    pub api_key_env: Option<&'static str>,
    /// Default base URL; empty when there is none and `base_url` must be set (Azure). For
    /// Bedrock, `{region}` stands for the region.
    pub base_url: &'static str,
}

/// Default model for Bedrock: Claude Sonnet 4.5 through the US cross-region inference
/// profile (Claude 4 models are only invocable on demand through an inference profile; in
/// other regions use the `eu.`, `apac.` or `global.` profile id as `model`).
pub const BEDROCK_DEFAULT_MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

/// The defaults of each kind: one table, the single source for docs and construction.
pub fn defaults(kind: ProviderKind) -> ProviderDefaults {
    let (model, api_key_env, base_url) = match kind {
        ProviderKind::OpenAi => (
            "gpt-4o",
            Some("OPENAI_API_KEY"),
            "https://api.openai.com/v1",
        ),
        ProviderKind::Anthropic => (
            "claude-sonnet-4-5",
            Some("ANTHROPIC_API_KEY"),
            "https://api.anthropic.com",
        ),
        ProviderKind::Ollama => ("llama3.3", None, "http://localhost:11434"),
        ProviderKind::Gemini => (
            "gemini-2.5-flash",
            Some("GEMINI_API_KEY"),
            "https://generativelanguage.googleapis.com",
        ),
        ProviderKind::AzureOpenAi => ("gpt-4o", Some("AZURE_OPENAI_API_KEY"), ""),
        ProviderKind::Grok => ("grok-4-latest", Some("XAI_API_KEY"), "https://api.x.ai/v1"),
        ProviderKind::GitHub => (
            "openai/gpt-4o",
            Some("GITHUB_TOKEN"),
            "https://models.github.ai/inference",
        ),
        ProviderKind::Bedrock => (
            BEDROCK_DEFAULT_MODEL,
            None,
            "https://bedrock-runtime.{region}.amazonaws.com",
        ),
    };
    ProviderDefaults {
        model,
        api_key_env,
        base_url,
    }
}

/// Default `api-version` for Azure OpenAI.
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";
/// Default Bedrock region when neither settings nor `AWS_REGION`/`AWS_DEFAULT_REGION` say.
pub const BEDROCK_DEFAULT_REGION: &str = "us-east-1";
/// Default reply cap for Anthropic, which requires one.
pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 4096;

/// Everything needed to build one provider. Built by the core from `ai.providers.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSettings {
    /// Config name (`ai.providers.<name>`), used in every message.
    pub name: String,
    /// Wire protocol and defaults.
    pub kind: ProviderKind,
    /// Model id.
    pub model: String,
    /// Variable holding the key; `None` uses the kind's default. For Bedrock, setting it
    /// switches to a Bedrock API key (bearer token) instead of SigV4.
    pub api_key_env: Option<String>,
    /// Endpoint; `None` uses the kind's default.
    pub base_url: Option<String>,
    /// Reply cap used when the request has none.
    pub max_tokens: Option<u32>,
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest silence between stream bytes (the first included), and the whole budget of a
    /// non-streaming reply.
    pub idle_timeout: Duration,
    /// Retries on connect errors, 429 and 5xx before any byte of the reply arrived.
    pub max_retries: u32,
    /// Azure `api-version`; `None` uses [`AZURE_DEFAULT_API_VERSION`].
    pub api_version: Option<String>,
    /// Azure deployment name; `None` uses `model`.
    pub deployment: Option<String>,
    /// Bedrock region; `None` uses `AWS_REGION`, `AWS_DEFAULT_REGION`, then us-east-1.
    pub region: Option<String>,
}

impl ProviderSettings {
    /// Settings with every default of `kind`: its model, 10 s connect timeout, 120 s idle
    /// timeout, 2 retries.
    pub fn new(name: impl Into<String>, kind: ProviderKind) -> Self {
        Self {
            name: name.into(),
            kind,
            model: defaults(kind).model.to_string(),
            api_key_env: None,
            base_url: None,
            max_tokens: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_retries: 2,
            api_version: None,
            deployment: None,
            region: None,
        }
    }

    /// The variable the key is read from: `api_key_env`, else the kind's default.
    pub fn key_variable(&self) -> Option<String> {
        self.api_key_env
            .clone()
            .or_else(|| defaults(self.kind).api_key_env.map(str::to_string))
    }
}

/// Builds a provider: reads its key (a missing one is [`ProviderError::MissingKey`] naming
/// the variable) and builds its HTTP client. Makes no request.
pub fn build(settings: &ProviderSettings) -> Result<Box<dyn Provider>, ProviderError> {
    Ok(match settings.kind {
        ProviderKind::OpenAi | ProviderKind::Grok | ProviderKind::GitHub => {
            Box::new(crate::openai::OpenAiCompatible::new(settings)?)
        }
        ProviderKind::AzureOpenAi => Box::new(crate::azure::build(settings)?),
        ProviderKind::Anthropic => Box::new(crate::anthropic::Anthropic::new(settings)?),
        ProviderKind::Ollama => Box::new(crate::ollama::Ollama::new(settings)?),
        ProviderKind::Gemini => Box::new(crate::gemini::Gemini::new(settings)?),
        ProviderKind::Bedrock => Box::new(crate::bedrock::Bedrock::new(settings)?),
    })
}

/// Whether the credentials a provider needs are present, without any HTTP: `Err` carries the
/// name(s) of what is missing (never a value). Ollama needs none; Bedrock looks for an API
/// key variable, the AWS key variables, or a profile in the shared credentials file.
pub fn credentials_present(kind: ProviderKind, api_key_env: Option<&str>) -> Result<(), String> {
    if kind == ProviderKind::Bedrock {
        return crate::bedrock::credentials_present(api_key_env);
    }
    match api_key_env.or(defaults(kind).api_key_env) {
        None => Ok(()),
        Some(var) if env_nonempty(var).is_some() => Ok(()),
        Some(var) => Err(var.to_string()),
    }
}

/// The value of `var` when set and not blank.
pub(crate) fn env_nonempty(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// Reads the key of `settings` from its variable.
pub(crate) fn read_key(settings: &ProviderSettings) -> Result<(String, String), ProviderError> {
    let var = settings
        .key_variable()
        .ok_or_else(|| ProviderError::Config {
            provider: settings.name.clone(),
            reason: format!(
                "set ai.providers.{}.api_key_env to the variable holding its key",
                settings.name
            ),
        })?;
    match env_nonempty(&var) {
        Some(key) => Ok((var, key.trim().to_string())),
        None => Err(ProviderError::MissingKey {
            provider: settings.name.clone(),
            variable: var,
        }),
    }
}

/// `base_url` of the settings or the kind's default, without a trailing slash.
pub(crate) fn base_url(settings: &ProviderSettings) -> String {
    settings
        .base_url
        .clone()
        .unwrap_or_else(|| defaults(settings.kind).base_url.to_string())
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_config_names() {
        for k in ProviderKind::ALL {
            assert_eq!(k.to_string().parse::<ProviderKind>(), Ok(k));
        }
        assert_eq!(
            "AzureOpenAI".parse::<ProviderKind>(),
            Ok(ProviderKind::AzureOpenAi)
        );
        let err = "openia".parse::<ProviderKind>().unwrap_err();
        assert!(err.contains("openai, anthropic"), "{err}");
    }

    #[test]
    fn defaults_table() {
        let d = defaults(ProviderKind::Grok);
        assert_eq!(
            (d.model, d.api_key_env, d.base_url),
            ("grok-4-latest", Some("XAI_API_KEY"), "https://api.x.ai/v1")
        );
        assert_eq!(defaults(ProviderKind::Ollama).api_key_env, None);
        assert_eq!(defaults(ProviderKind::AzureOpenAi).base_url, "");
        assert_eq!(defaults(ProviderKind::GitHub).model, "openai/gpt-4o");
    }

    #[test]
    fn credentials_present_names_the_variable() {
        let var = "ATMOS_UNIT_TEST_SURELY_UNSET_KEY";
        assert_eq!(
            credentials_present(ProviderKind::OpenAi, Some(var)),
            Err(var.to_string())
        );
        assert_eq!(credentials_present(ProviderKind::Ollama, None), Ok(()));
        assert_eq!(
            credentials_present(ProviderKind::Anthropic, Some("PATH")),
            Ok(())
        );
    }
}
