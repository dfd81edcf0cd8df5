//! Anthropic Messages: `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`
//! headers, the system prompt in the top-level `system` field, `max_tokens` always sent.
//! Streaming is server-sent events: `message_start` (input tokens), `content_block_delta`
//! (text), `message_delta` (output tokens, stop reason), `message_stop`, `ping`, `error`.

use serde_json::{Value, json};

use crate::http::{Acc, Transport, drive_sse, json_error_text, parse_chunk, u64_at};
use crate::registry::{
    ANTHROPIC_DEFAULT_MAX_TOKENS, ProviderKind, ProviderSettings, base_url, read_key,
};
use crate::{ChatRequest, Completion, ProviderError, Role, StreamEvent, Wire, merged_system};

/// The API version header this module speaks.
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A provider speaking the Messages API.
pub(crate) struct Anthropic {
    transport: Transport,
    url: String,
    key: String,
    max_tokens: u32,
}

impl Anthropic {
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        let (var, key) = read_key(settings)?;
        if reqwest::header::HeaderValue::from_str(&key).is_err() {
            return Err(ProviderError::Config {
                provider: settings.name.clone(),
                reason: format!(
                    "the value of {var} contains characters an HTTP header cannot carry"
                ),
            });
        }
        Ok(Self {
            transport: Transport::new(settings, format!("the key in ${var}"))?,
            url: format!("{}/v1/messages", base_url(settings)),
            key,
            max_tokens: settings.max_tokens.unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS),
        })
    }
}

impl Wire for Anthropic {
    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    async fn run(
        &self,
        req: &ChatRequest,
        sink: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<Completion, ProviderError> {
        let body = serde_json::to_vec(&request_body(req, self.max_tokens))
            .expect("a JSON value serialises");
        let t = &self.transport;
        let (resp, started) = t
            .send(&self.url, || {
                Ok(t.client
                    .post(&self.url)
                    .header("x-api-key", &self.key)
                    .header("anthropic-version", ANTHROPIC_VERSION)
                    .header("content-type", "application/json")
                    .body(body.clone()))
            })
            .await?;
        if !req.stream {
            let v = t.read_json(resp, started).await?;
            let mut acc = Acc::default();
            for block in v
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if block.get("type").and_then(Value::as_str) == Some("text") {
                    acc.delta(
                        block.get("text").and_then(Value::as_str).unwrap_or(""),
                        sink,
                    );
                }
            }
            acc.stop_reason = v
                .get("stop_reason")
                .and_then(Value::as_str)
                .map(str::to_string);
            acc.input_tokens = u64_at(&v, "/usage/input_tokens");
            acc.output_tokens = u64_at(&v, "/usage/output_tokens");
            return Ok(acc.finish(sink));
        }
        drive_sse(t, resp, sink, |acc, event, data, sink| {
            on_event(t, acc, event, data, sink)
        })
        .await
    }
}

/// The request body for `req`: system prompt (and any system-role messages) in `system`.
pub(crate) fn request_body(req: &ChatRequest, default_max: u32) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter_map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::System => return None,
            };
            Some(json!({"role": role, "content": m.content}))
        })
        .collect();
    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens.unwrap_or(default_max),
        "messages": messages,
        "stream": req.stream,
    });
    if let Some(system) = merged_system(req) {
        body["system"] = json!(system);
    }
    body
}

fn on_event(
    t: &Transport,
    acc: &mut Acc,
    event: &str,
    data: &str,
    sink: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<(), ProviderError> {
    if data.trim().is_empty() {
        return Ok(());
    }
    let v = parse_chunk(t, data)?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or(event);
    match kind {
        "message_start" => {
            acc.input_tokens = u64_at(&v, "/message/usage/input_tokens");
            acc.output_tokens = u64_at(&v, "/message/usage/output_tokens").or(acc.output_tokens);
        }
        "content_block_delta" => {
            if let Some(text) = v.pointer("/delta/text").and_then(Value::as_str) {
                acc.delta(text, sink);
            }
        }
        "message_delta" => {
            if let Some(reason) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                acc.stop_reason = Some(reason.to_string());
            }
            acc.output_tokens = u64_at(&v, "/usage/output_tokens").or(acc.output_tokens);
            acc.input_tokens = u64_at(&v, "/usage/input_tokens").or(acc.input_tokens);
        }
        "message_stop" => acc.done = true,
        "error" => {
            let msg = json_error_text(&v).unwrap_or_else(|| "unknown error".into());
            return Err(t.stream_err(format!("the provider sent an error: {msg}")));
        }
        _ => {} // ping, content_block_start/stop, and event types added later
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn system_goes_to_its_field_and_max_tokens_is_always_set() {
        let req = ChatRequest {
            model: "claude-sonnet-4-5".into(),
            system: Some("skill".into()),
            messages: vec![
                ChatMessage::new(Role::System, "summary"),
                ChatMessage::new(Role::User, "hi"),
            ],
            max_tokens: None,
            stream: false,
        };
        assert_eq!(
            request_body(&req, 4096),
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 4096,
                "messages": [{"role": "user", "content": "hi"}],
                "stream": false,
                "system": "skill\n\nsummary"
            })
        );
    }
}
