//! Which providers a project can use: those under `ai.providers` (in file
//! order), then every built-in kind not configured there, each with its
//! model and whether its credentials are present. Building this list reads
//! environment variables only: no HTTP client, no TLS.

use crate::config::Config;
use crate::error::{Error, Result};
use atmos_providers::{ProviderKind, defaults};
use std::str::FromStr;

/// One usable provider name.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderEntry {
    pub name: String,
    pub kind: ProviderKind,
    pub model: String,
    /// `Err` names what is missing (the key variable), never a value.
    pub credentials: std::result::Result<(), String>,
    /// Prices per million tokens, when atmos.yaml gives them.
    pub pricing: Option<crate::config::Pricing>,
}

impl ProviderEntry {
    /// False for a provider that needs no key (a local Ollama): "credentials
    /// present" then says nothing about whether its server answers.
    pub fn needs_key(&self) -> bool {
        self.kind != ProviderKind::Ollama
    }
}

/// The provider used when nobody names one and `default_provider` is unset,
/// and no provider has credentials.
pub const FALLBACK_PROVIDER: ProviderKind = ProviderKind::Anthropic;

/// Every provider name a session may use, configured ones first.
pub fn entries(config: &Config) -> Vec<ProviderEntry> {
    let mut out: Vec<ProviderEntry> = config
        .providers
        .iter()
        .map(|(name, p)| ProviderEntry {
            name: name.clone(),
            kind: p.kind,
            model: p
                .model
                .clone()
                .unwrap_or_else(|| defaults(p.kind).model.to_string()),
            credentials: atmos_providers::credentials_present(p.kind, p.api_key_env.as_deref()),
            pricing: p.pricing,
        })
        .collect();
    for kind in ProviderKind::ALL {
        let name = kind.to_string();
        if out.iter().any(|e| e.name == name) {
            continue;
        }
        out.push(ProviderEntry {
            name,
            kind,
            model: defaults(kind).model.to_string(),
            credentials: atmos_providers::credentials_present(kind, None),
            pricing: None,
        });
    }
    out
}

/// The entry for `name`, or the default; an unknown name is an invalid
/// `provider` parameter.
pub fn resolve(config: &Config, name: Option<&str>) -> Result<ProviderEntry> {
    let all = entries(config);
    match name {
        Some(n) => all.into_iter().find(|e| e.name == n).ok_or_else(|| {
            Error::invalid_param(
                "provider",
                format!(
                    "unknown provider '{n}': configure it under ai.providers, or use one of: {}",
                    ProviderKind::ALL
                        .iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }),
        None => Ok(default_entry(config, all)),
    }
}

/// `default_provider`; else the first configured provider with credentials;
/// else the first built-in one whose key variable is set (Ollama, which needs
/// none, only when configured); else the first configured; else Anthropic.
fn default_entry(config: &Config, all: Vec<ProviderEntry>) -> ProviderEntry {
    if let Some(d) = &config.default_provider
        && let Some(e) = all.iter().find(|e| &e.name == d)
    {
        return e.clone();
    }
    let configured = |e: &&ProviderEntry| config.providers.contains_key(&e.name);
    all.iter()
        .filter(configured)
        .find(|e| e.credentials.is_ok())
        .or_else(|| {
            all.iter()
                .filter(|e| !configured(e) && e.kind != ProviderKind::Ollama)
                .find(|e| e.credentials.is_ok())
        })
        .or_else(|| all.iter().find(configured))
        .or_else(|| {
            all.iter()
                .find(|e| ProviderKind::from_str(&e.name).ok() == Some(FALLBACK_PROVIDER))
        })
        .cloned()
        .unwrap_or_else(|| all[0].clone())
}

/// The Ollama URL to probe when nothing else would be picked: no
/// `default_provider`, and no provider (configured, or built-in with its
/// key variable set) has credentials. `None` when the choice is made without
/// asking the network.
pub fn ollama_probe_url(config: &Config) -> Option<String> {
    if config.default_provider.is_some() {
        return None;
    }
    let all = entries(config);
    let any_credentials = all.iter().any(|e| {
        e.credentials.is_ok()
            && (e.kind != ProviderKind::Ollama || config.providers.contains_key(&e.name))
    });
    if any_credentials {
        return None;
    }
    let configured = config
        .providers
        .get("ollama")
        .and_then(|p| p.base_url.clone());
    Some(configured.unwrap_or_else(|| defaults(ProviderKind::Ollama).base_url.to_string()))
}

/// The estimated cost of `session` with its provider's `pricing`, if
/// atmos.yaml gives one.
pub fn estimated_cost(config: &Config, session: &atmos_store::Session) -> Option<f64> {
    let pricing = config.providers.get(&session.provider)?.pricing?;
    Some(pricing.cost(session.input_tokens, session.output_tokens))
}
