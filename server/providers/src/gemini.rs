//! Google Gemini (Generative Language API): `POST {base}/v1beta/models/{model}:generateContent`,
//! or `:streamGenerateContent?alt=sse` for server-sent events whose every `data:` is a partial
//! `GenerateContentResponse`. Key in the `x-goog-api-key` header; system prompt in
//! `systemInstruction`; roles `user` and `model`; `generationConfig.maxOutputTokens`; usage in
//! `usageMetadata` (`promptTokenCount`, `candidatesTokenCount`).

use serde_json::{Value, json};

use crate::http::{Acc, Transport, drive_sse, json_error_text, parse_chunk, u64_at};
use crate::registry::{ProviderKind, ProviderSettings, base_url, read_key};
use crate::{ChatRequest, Completion, ProviderError, Role, StreamEvent, Wire, merged_system};

/// A provider speaking the Gemini API.
pub(crate) struct Gemini {
    transport: Transport,
    base: String,
    key: String,
    max_tokens: Option<u32>,
}

impl Gemini {
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
            base: base_url(settings),
            key,
            max_tokens: settings.max_tokens,
        })
    }
}

impl Wire for Gemini {
    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    async fn run(
        &self,
        req: &ChatRequest,
        sink: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<Completion, ProviderError> {
        let url = endpoint(&self.base, &req.model, req.stream);
        let body = serde_json::to_vec(&request_body(req, self.max_tokens))
            .expect("a JSON value serialises");
        let t = &self.transport;
        let (resp, started) = t
            .send(&url, || {
                Ok(t.client
                    .post(&url)
                    .header("x-goog-api-key", &self.key)
                    .header("content-type", "application/json")
                    .body(body.clone()))
            })
            .await?;
        if !req.stream {
            let v = t.read_json(resp, started).await?;
            let mut acc = Acc::default();
            on_response(t, &mut acc, &v, sink)?;
            return Ok(acc.finish(sink));
        }
        drive_sse(t, resp, sink, |acc, _event, data, sink| {
            if data.trim().is_empty() {
                return Ok(());
            }
            on_response(t, acc, &parse_chunk(t, data)?, sink)
        })
        .await
    }
}

/// The URL for `model`, streaming or not. A `models/` prefix on the id is accepted.
pub(crate) fn endpoint(base: &str, model: &str, stream: bool) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    if stream {
        format!("{base}/v1beta/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base}/v1beta/models/{model}:generateContent")
    }
}

/// The request body for `req`.
pub(crate) fn request_body(req: &ChatRequest, default_max: Option<u32>) -> Value {
    let contents: Vec<Value> = req
        .messages
        .iter()
        .filter_map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "model",
                Role::System => return None,
            };
            Some(json!({"role": role, "parts": [{"text": m.content}]}))
        })
        .collect();
    let mut body = json!({"contents": contents});
    if let Some(system) = merged_system(req) {
        body["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    if let Some(max) = req.max_tokens.or(default_max) {
        body["generationConfig"] = json!({"maxOutputTokens": max});
    }
    body
}

/// One `GenerateContentResponse` (a stream chunk or the whole reply). Thought parts are
/// skipped; the reply is done once a candidate has a finish reason or the prompt was blocked.
fn on_response(
    t: &Transport,
    acc: &mut Acc,
    v: &Value,
    sink: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<(), ProviderError> {
    if v.get("error").is_some() {
        let msg = json_error_text(v).unwrap_or_else(|| "unknown error".into());
        return Err(t.stream_err(format!("the provider sent an error: {msg}")));
    }
    if let Some(candidate) = v.pointer("/candidates/0") {
        for part in candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                acc.delta(text, sink);
            }
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            acc.stop_reason = Some(reason.to_string());
            acc.done = true;
        }
    } else if let Some(reason) = v
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
    {
        acc.stop_reason = Some(reason.to_string());
        acc.done = true;
    }
    if let Some(u) = v.get("usageMetadata") {
        acc.input_tokens = u64_at(u, "/promptTokenCount").or(acc.input_tokens);
        acc.output_tokens = u64_at(u, "/candidatesTokenCount").or(acc.output_tokens);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn body_and_endpoints() {
        let req = ChatRequest {
            model: "gemini-2.5-flash".into(),
            system: Some("s".into()),
            messages: vec![
                ChatMessage::new(Role::User, "u"),
                ChatMessage::new(Role::Assistant, "a"),
            ],
            max_tokens: Some(5),
            stream: true,
        };
        assert_eq!(
            request_body(&req, None),
            json!({
                "contents": [
                    {"role": "user", "parts": [{"text": "u"}]},
                    {"role": "model", "parts": [{"text": "a"}]}
                ],
                "systemInstruction": {"parts": [{"text": "s"}]},
                "generationConfig": {"maxOutputTokens": 5}
            })
        );
        assert_eq!(
            endpoint("B", "models/g", true),
            "B/v1beta/models/g:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            endpoint("B", "g", false),
            "B/v1beta/models/g:generateContent"
        );
    }
}
