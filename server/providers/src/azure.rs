//! Azure OpenAI: the Chat Completions protocol of `openai.rs` on a deployment URL,
//! `POST {base}/openai/deployments/{deployment}/chat/completions?api-version={v}`, with the key
//! in an `api-key` header. The base URL (the resource endpoint) has no default and must be set.

use crate::ProviderError;
use crate::openai::OpenAiCompatible;
use crate::registry::{AZURE_DEFAULT_API_VERSION, ProviderSettings, base_url, read_key};

/// Builds the Azure provider from its settings.
pub(crate) fn build(settings: &ProviderSettings) -> Result<OpenAiCompatible, ProviderError> {
    let url = deployment_url(settings)?;
    let (var, key) = read_key(settings)?;
    OpenAiCompatible::with(settings, url, "api-key", key, &var, "max_completion_tokens")
}

/// The chat completions URL of the deployment.
pub(crate) fn deployment_url(settings: &ProviderSettings) -> Result<String, ProviderError> {
    let base = base_url(settings);
    if base.is_empty() {
        return Err(ProviderError::Config {
            provider: settings.name.clone(),
            reason: format!(
                "set ai.providers.{}.base_url to the resource endpoint, e.g. https://NAME.openai.azure.com",
                settings.name
            ),
        });
    }
    let deployment = settings.deployment.as_deref().unwrap_or(&settings.model);
    let version = settings
        .api_version
        .as_deref()
        .unwrap_or(AZURE_DEFAULT_API_VERSION);
    Ok(format!(
        "{base}/openai/deployments/{deployment}/chat/completions?api-version={version}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProviderKind;

    #[test]
    fn url_from_deployment_or_model() {
        let mut s = ProviderSettings::new("azure", ProviderKind::AzureOpenAi);
        let err = deployment_url(&s).unwrap_err();
        assert!(
            err.to_string().contains("ai.providers.azure.base_url"),
            "{err}"
        );
        s.base_url = Some("https://x.openai.azure.com/".into());
        assert_eq!(
            deployment_url(&s).unwrap(),
            "https://x.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        s.deployment = Some("prod".into());
        s.api_version = Some("2025-01-01-preview".into());
        assert!(
            deployment_url(&s)
                .unwrap()
                .ends_with("/deployments/prod/chat/completions?api-version=2025-01-01-preview")
        );
    }
}
