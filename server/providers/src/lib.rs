//! AI provider clients for atmos-ai: the only crate that does HTTP.
//!
//! One object-safe trait, [`Provider`], and one module per wire protocol: OpenAI Chat
//! Completions (also used by Grok, GitHub Models and every OpenAI-compatible server),
//! Anthropic Messages, Ollama `/api/chat`, Gemini `generateContent`, Azure OpenAI deployments
//! and Amazon Bedrock Converse. Each turns its own wire format into one stream of
//! [`StreamEvent`]s and one [`Completion`].
//!
//! Nothing here touches the network until [`Provider::chat`] is called, and no HTTP client
//! (with its TLS roots) is built until [`build`] is: a process that only lists sessions pays
//! for none of it. Keys are read from the environment in [`build`] and never logged or put in
//! an error message.

mod anthropic;
mod azure;
mod bedrock;
mod error;
mod gemini;
mod http;
mod ollama;
mod openai;
mod registry;

pub use error::ProviderError;
pub use ollama::answers as ollama_answers;
pub use registry::{
    ProviderDefaults, ProviderKind, ProviderSettings, build, credentials_present, defaults,
};

use futures::future::BoxFuture;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions. Providers with a native system field (Anthropic, Gemini, Bedrock) move
    /// these there, after [`ChatRequest::system`]; the others send them in place.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

/// One message of the conversation the model sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// What was said, as plain text.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role and text.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// One request for a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest {
    /// Model id as the provider names it.
    pub model: String,
    /// The system prompt, sent the provider's native way.
    pub system: Option<String>,
    /// The conversation, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Cap on the reply's length; `None` uses the provider's default (Anthropic needs one and
    /// gets the settings' value or 4096).
    pub max_tokens: Option<u32>,
    /// Stream the reply (deltas as they arrive) or ask for it whole.
    pub stream: bool,
}

/// Token counts as the provider reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens of the prompt.
    pub input_tokens: u64,
    /// Tokens of the reply.
    pub output_tokens: u64,
}

/// What a provider call reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// The next piece of the reply's text, in order.
    Delta(String),
    /// Token usage, once the provider reported it (at the end of the reply).
    Usage(Usage),
}

/// A finished reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    /// The whole text (the concatenation of every delta).
    pub text: String,
    /// Token usage when the provider reported it.
    pub usage: Option<Usage>,
    /// Why the model stopped, in the provider's words (`stop`, `end_turn`, `STOP`…).
    pub stop_reason: Option<String>,
}

/// The callback that receives [`StreamEvent`]s as they arrive.
pub type Sink<'a> = &'a mut (dyn FnMut(StreamEvent) + Send);

/// A configured provider: one wire protocol, one endpoint, one credential.
pub trait Provider: Send + Sync {
    /// The config name (`ai.providers.<name>`).
    fn name(&self) -> &str;

    /// Which wire protocol and defaults it uses.
    fn kind(&self) -> ProviderKind;

    /// Streams (or not, per `req.stream`) one reply. Every text piece goes to `sink` as
    /// [`StreamEvent::Delta`] in order, as it arrives; [`StreamEvent::Usage`] when reported.
    /// Dropping the returned future cancels the HTTP request. On error the caller keeps
    /// whatever deltas it already received; nothing is retried once a delta was emitted.
    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        sink: &'a mut (dyn FnMut(StreamEvent) + Send),
    ) -> BoxFuture<'a, Result<Completion, ProviderError>>;
}

/// One wire protocol's client: what each provider module writes. [`Provider`] is implemented
/// once, for all of them, on top of it.
pub(crate) trait Wire: Send + Sync {
    /// The HTTP client, the config name and the retry policy.
    fn transport(&self) -> &http::Transport;

    /// Which wire protocol and defaults it uses.
    fn kind(&self) -> ProviderKind;

    /// One reply, as [`Provider::chat`] describes.
    fn run(
        &self,
        req: &ChatRequest,
        sink: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> impl std::future::Future<Output = Result<Completion, ProviderError>> + Send;
}

impl<W: Wire> Provider for W {
    fn name(&self) -> &str {
        &self.transport().name
    }

    fn kind(&self) -> ProviderKind {
        Wire::kind(self)
    }

    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        sink: &'a mut (dyn FnMut(StreamEvent) + Send),
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(self.run(req, sink))
    }
}

/// The system prompt for providers with one native system field: `req.system` followed by
/// the text of any [`Role::System`] messages, separated by blank lines. `None` when empty.
pub(crate) fn merged_system(req: &ChatRequest) -> Option<String> {
    let parts: Vec<&str> = req
        .system
        .iter()
        .map(String::as_str)
        .chain(
            req.messages
                .iter()
                .filter(|m| m.role == Role::System)
                .map(|m| m.content.as_str()),
        )
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("\n\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_system_keeps_order_and_skips_empty() {
        let req = ChatRequest {
            model: "m".into(),
            system: Some("skill".into()),
            messages: vec![
                ChatMessage::new(Role::System, "summary"),
                ChatMessage::new(Role::User, "hi"),
                ChatMessage::new(Role::System, ""),
            ],
            max_tokens: None,
            stream: true,
        };
        assert_eq!(merged_system(&req).as_deref(), Some("skill\n\nsummary"));
        let none = ChatRequest {
            system: None,
            messages: vec![],
            ..req
        };
        assert_eq!(merged_system(&none), None);
    }
}
