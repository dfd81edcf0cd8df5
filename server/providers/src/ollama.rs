//! Ollama's native chat API: `POST {base}/api/chat`, no key, the system prompt as a `system`
//! message, `options.num_predict` for the reply cap. Streaming is newline-delimited JSON: one
//! object per line with `message.content`, the last with `done: true`, `done_reason`,
//! `prompt_eval_count` and `eval_count`; an `error` field reports a failure.

use futures::StreamExt;
use serde_json::{Value, json};

use crate::http::{Acc, Transport, parse_chunk, u64_at};
use crate::registry::{ProviderKind, ProviderSettings, base_url};
use crate::{ChatRequest, Completion, ProviderError, StreamEvent, Wire};

/// A provider speaking Ollama's `/api/chat`.
pub(crate) struct Ollama {
    transport: Transport,
    url: String,
    max_tokens: Option<u32>,
}

impl Ollama {
    pub fn new(settings: &ProviderSettings) -> Result<Self, ProviderError> {
        Ok(Self {
            transport: Transport::new(
                settings,
                "the request (Ollama takes no key; check a proxy in front of it)".into(),
            )?,
            url: format!("{}/api/chat", base_url(settings)),
            max_tokens: settings.max_tokens,
        })
    }
}

impl Wire for Ollama {
    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Ollama
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
                    .header("content-type", "application/json")
                    .body(body.clone()))
            })
            .await?;
        let mut acc = Acc::default();
        if !req.stream {
            let v = t.read_json(resp, started).await?;
            on_line(t, &mut acc, &v, sink)?;
            return Ok(acc.finish(sink));
        }
        let mut body = t.body_stream(resp);
        let mut pending: Vec<u8> = Vec::new();
        'read: while let Some(chunk) = body.next().await {
            pending.extend_from_slice(&chunk?);
            while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=nl).collect();
                let line = String::from_utf8_lossy(&line);
                if line.trim().is_empty() {
                    continue;
                }
                on_line(t, &mut acc, &parse_chunk(t, line.trim())?, sink)?;
                if acc.done {
                    break 'read;
                }
            }
        }
        if !acc.done && !pending.is_empty() {
            let line = String::from_utf8_lossy(&pending).into_owned();
            if !line.trim().is_empty() {
                on_line(t, &mut acc, &parse_chunk(t, line.trim())?, sink)?;
            }
        }
        if !acc.done {
            return Err(t.stream_err("the stream ended before the reply was complete"));
        }
        Ok(acc.finish(sink))
    }
}

/// The request body for `req`.
pub(crate) fn request_body(req: &ChatRequest, default_max: Option<u32>) -> Value {
    let messages = crate::openai::messages(req);
    let mut body = json!({"model": req.model, "messages": messages, "stream": req.stream});
    if let Some(max) = req.max_tokens.or(default_max) {
        body["options"] = json!({"num_predict": max});
    }
    body
}

/// One NDJSON object (or the whole non-streaming reply).
fn on_line(
    t: &Transport,
    acc: &mut Acc,
    v: &Value,
    sink: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<(), ProviderError> {
    if let Some(err) = v.get("error") {
        let msg = err
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string());
        return Err(t.stream_err(format!("the provider sent an error: {msg}")));
    }
    if let Some(text) = v.pointer("/message/content").and_then(Value::as_str) {
        acc.delta(text, sink);
    }
    if v.get("done").and_then(Value::as_bool) == Some(true) {
        acc.done = true;
        acc.stop_reason = v
            .get("done_reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        acc.input_tokens = u64_at(v, "/prompt_eval_count");
        acc.output_tokens = u64_at(v, "/eval_count");
    }
    Ok(())
}

/// Whether an Ollama server answers at `base` (`GET /api/tags`) within
/// `timeout`. Used to pick a default provider when no key is set; never fails.
pub async fn answers(base: &str, timeout: std::time::Duration) -> bool {
    crate::http::ensure_crypto();
    let Ok(client) = reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
    else {
        return false;
    };
    let url = format!("{}/api/tags", base.trim_end_matches('/'));
    matches!(client.get(url).send().await, Ok(r) if r.status().is_success())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChatMessage, Role};

    #[test]
    fn body_has_system_message_and_num_predict() {
        let req = ChatRequest {
            model: "llama3.3".into(),
            system: Some("s".into()),
            messages: vec![ChatMessage::new(Role::User, "u")],
            max_tokens: Some(9),
            stream: false,
        };
        assert_eq!(
            request_body(&req, None),
            json!({
                "model": "llama3.3",
                "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                "stream": false,
                "options": {"num_predict": 9}
            })
        );
    }
}
