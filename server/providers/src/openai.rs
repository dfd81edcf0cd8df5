//! OpenAI Chat Completions: `POST {base}/chat/completions`, bearer key, streaming as
//! server-sent events of `chat.completion.chunk` objects ending with `[DONE]`, usage in a last
//! chunk asked for with `stream_options.include_usage`. The system prompt is the first
//! `system` message. Grok, GitHub Models, Azure OpenAI (see `azure.rs`) and any
//! OpenAI-compatible server (LM Studio, vLLM, llama.cpp, OpenRouter, LiteLLM) use this module
//! with their own URL and auth header.

use serde_json::{Value, json};

use crate::http::{Acc, Transport, drive_sse, parse_chunk, u64_at};
use crate::registry::{ProviderKind, ProviderSettings, base_url, defaults, read_key};
use crate::{ChatRequest, Completion, ProviderError, Role, StreamEvent, Wire};

/// A provider speaking Chat Completions.
pub(crate) struct OpenAiCompatible {
    kind: ProviderKind,
    transport: Transport,
    url: String,
    auth_header: &'static str,
    /// `Bearer KEY` or the bare key, per `auth_header`.
    auth_value: String,
    /// `max_completion_tokens` for OpenAI's and Azure's own services, `max_tokens` for the
    /// compatible servers, most of which know only that name.
    token_field: &'static str,
    max_tokens: Option<u32>,
}

impl OpenAiCompatible {
    /// OpenAI, Grok or GitHub Models: `{base}/chat/completions` with a bearer key.
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let (var, key) = read_key(settings)?;
        let base = base_url(settings);
        let official = settings.kind == ProviderKind::OpenAi
            && base == defaults(ProviderKind::OpenAi).base_url;
        Self::with(
            settings,
            format!("{base}/chat/completions"),
            "authorization",
            format!("Bearer {key}"),
            &var,
            if official {
                "max_completion_tokens"
            } else {
                "max_tokens"
            },
        )
    }

    /// A Chat Completions provider with an explicit URL and auth header (Azure).
    pub fn with(
        settings: &ProviderSettings,
        url: String,
        auth_header: &'static str,
        auth_value: String,
        key_var: &str,
        token_field: &'static str,
    ) -> Result<Self, ProviderError> {
        if reqwest::header::HeaderValue::from_str(&auth_value).is_err() {
            return Err(ProviderError::Config {
                provider: settings.name.clone(),
                reason: format!(
                    "the value of {key_var} contains characters an HTTP header cannot carry"
                ),
            });
        }
        Ok(Self {
            kind: settings.kind,
            transport: Transport::new(settings, format!("the key in ${key_var}"))?,
            url,
            auth_header,
            auth_value,
            token_field,
            max_tokens: settings.max_tokens,
        })
    }
}

impl Wire for OpenAiCompatible {
    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn run(
        &self,
        req: &ChatRequest,
        sink: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<Completion, ProviderError> {
        let body = request_body(req, self.max_tokens, self.token_field);
        let body = serde_json::to_vec(&body).expect("a JSON value serialises");
        let t = &self.transport;
        let (resp, started) = t
            .send(&self.url, || {
                Ok(t.client
                    .post(&self.url)
                    .header(self.auth_header, &self.auth_value)
                    .header("content-type", "application/json")
                    .body(body.clone()))
            })
            .await?;
        if !req.stream {
            let v = t.read_json(resp, started).await?;
            return parse_whole(t, &v, sink);
        }
        drive_sse(t, resp, sink, |acc, _event, data, sink| {
            on_chunk(t, acc, data, sink)
        })
        .await
    }
}

/// The request body for `req`.
/// The conversation as `[{role, content}]` with the system prompt as the first `system`
/// message: the shape of Chat Completions, which Ollama's `/api/chat` shares.
pub(crate) fn messages(req: &ChatRequest) -> Vec<Value> {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = req.system.as_deref().filter(|s| !s.is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in &req.messages {
        let role = match m.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": m.content}));
    }
    messages
}

pub(crate) fn request_body(
    req: &ChatRequest,
    default_max: Option<u32>,
    token_field: &str,
) -> Value {
    let mut body = json!({"model": req.model, "messages": messages(req), "stream": req.stream});
    if req.stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    if let Some(max) = req.max_tokens.or(default_max) {
        body[token_field] = json!(max);
    }
    body
}

/// One `data:` payload of the stream.
fn on_chunk(
    t: &Transport,
    acc: &mut Acc,
    data: &str,
    sink: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<(), ProviderError> {
    let data = data.trim();
    if data == "[DONE]" {
        acc.done = true;
        return Ok(());
    }
    let v = parse_chunk(t, data)?;
    if let Some(msg) = v
        .get("error")
        .and_then(|_| crate::http::json_error_text(&v))
    {
        return Err(t.stream_err(format!("the provider sent an error: {msg}")));
    }
    if let Some(choice) = v.pointer("/choices/0") {
        if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
            acc.delta(text, sink);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            acc.stop_reason = Some(reason.to_string());
        }
    }
    read_usage(acc, &v);
    Ok(())
}

fn read_usage(acc: &mut Acc, v: &Value) {
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        acc.input_tokens = u64_at(u, "/prompt_tokens").or(acc.input_tokens);
        acc.output_tokens = u64_at(u, "/completion_tokens").or(acc.output_tokens);
    }
}

/// A non-streaming `chat.completion`.
fn parse_whole(
    t: &Transport,
    v: &Value,
    sink: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<Completion, ProviderError> {
    let choice = v
        .pointer("/choices/0")
        .ok_or_else(|| t.stream_err("the reply has no choices"))?;
    let mut acc = Acc::default();
    acc.delta(
        choice
            .pointer("/message/content")
            .and_then(Value::as_str)
            .unwrap_or(""),
        sink,
    );
    acc.stop_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    read_usage(&mut acc, v);
    Ok(acc.finish(sink))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn body_puts_system_first_and_asks_for_usage() {
        let req = ChatRequest {
            model: "gpt-4o".into(),
            system: Some("be brief".into()),
            messages: vec![
                ChatMessage::new(Role::User, "hi"),
                ChatMessage::new(Role::Assistant, "hello"),
            ],
            max_tokens: Some(50),
            stream: true,
        };
        let body = request_body(&req, None, "max_completion_tokens");
        assert_eq!(
            body,
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"}
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_completion_tokens": 50
            })
        );
        let whole = request_body(
            &ChatRequest {
                stream: false,
                max_tokens: None,
                ..req
            },
            Some(7),
            "max_tokens",
        );
        assert!(whole.get("stream_options").is_none());
        assert_eq!(whole["max_tokens"], 7);
    }
}
