//! What every wire protocol shares: the HTTP client (built once per provider, rustls with the
//! ring crypto provider), bounded retries with backoff before any byte of a reply arrived,
//! the idle timeout around every read, and turning HTTP failures into [`ProviderError`]s.

use std::sync::Once;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::registry::ProviderSettings;
use crate::{Completion, ProviderError, StreamEvent, Usage};

/// Longest wait between two attempts, whatever the backoff or `Retry-After` say below it.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// First backoff; doubled each attempt.
const BASE_BACKOFF: Duration = Duration::from_millis(250);
/// A `Retry-After` longer than this is not waited for: the error is returned with it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Longest provider error text kept in a message.
const MAX_MESSAGE_CHARS: usize = 300;

/// Installs rustls's ring provider once, before the first client is built.
pub(crate) fn ensure_crypto() {
    static CRYPTO: Once = Once::new();
    CRYPTO.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Connection settings and identity shared by every call of one provider.
pub(crate) struct Transport {
    /// Config name, for messages.
    pub name: String,
    pub client: reqwest::Client,
    pub idle_timeout: Duration,
    pub max_retries: u32,
    /// How to name the credential when it is refused, e.g. "the key in $OPENAI_API_KEY".
    pub credential: String,
}

impl Transport {
    /// Builds the client for `settings`. This is where TLS roots get loaded.
    pub fn new(settings: &ProviderSettings, credential: String) -> Result<Self, ProviderError> {
        ensure_crypto();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("atmos-ai/", env!("CARGO_PKG_VERSION")));
        // A plain-HTTP endpoint (a local Ollama, a gateway on localhost)
        // never needs the root store, and loading it is most of a local
        // turn's start-up time.
        if settings
            .base_url
            .as_deref()
            .is_some_and(|u| u.starts_with("http://"))
        {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let client = builder.build().map_err(|e| ProviderError::Config {
            provider: settings.name.clone(),
            reason: format!("the HTTP client could not be built: {}", root_cause(&e)),
        })?;
        Ok(Self {
            name: settings.name.clone(),
            client,
            idle_timeout: settings.idle_timeout,
            max_retries: settings.max_retries,
            credential,
        })
    }

    /// Sends the request `make` builds (called again for each attempt, so signatures stay
    /// fresh) and returns the first successful response with the instant its attempt began.
    /// Connect errors, 429 and 5xx are retried up to `max_retries` times with exponential
    /// backoff, honouring `Retry-After`; nothing of the body has been read at that point.
    pub async fn send(
        &self,
        url: &str,
        mut make: impl FnMut() -> Result<reqwest::RequestBuilder, ProviderError>,
    ) -> Result<(reqwest::Response, Instant), ProviderError> {
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            let builder = make()?;
            tracing::debug!(provider = %self.name, url, attempt, "sending request");
            let result = match tokio::time::timeout(self.idle_timeout, builder.send()).await {
                Err(_) => return Err(self.timeout()),
                Ok(r) => r,
            };
            let err = match result {
                Ok(resp) if resp.status().is_success() => {
                    tracing::debug!(provider = %self.name, status = resp.status().as_u16(), "reply started");
                    return Ok((resp, started));
                }
                Ok(resp) => self.status_error(resp, started).await?,
                Err(e) => self.send_error(url, &e),
            };
            let wait = match retry_wait(&err, attempt) {
                Some(wait) if attempt < self.max_retries => wait,
                _ => return Err(err),
            };
            tracing::debug!(provider = %self.name, error = %err, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Reads a whole non-streaming body as JSON, within the idle budget of the attempt.
    pub async fn read_json(
        &self,
        resp: reqwest::Response,
        started: Instant,
    ) -> Result<Value, ProviderError> {
        let deadline = tokio::time::Instant::from_std(started + self.idle_timeout);
        let bytes = match tokio::time::timeout_at(deadline, resp.bytes()).await {
            Err(_) => return Err(self.timeout()),
            Ok(Err(e)) => {
                return Err(self.stream_err(format!(
                    "the connection failed while reading the reply: {}",
                    root_cause(&e)
                )));
            }
            Ok(Ok(b)) => b,
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| self.stream_err(format!("the reply is not valid JSON: {e}")))
    }

    /// The body as a stream of chunks, each awaited at most `idle_timeout`; a silence that
    /// long ends it with [`ProviderError::Timeout`], a broken connection with
    /// [`ProviderError::Stream`].
    pub fn body_stream(
        &self,
        resp: reqwest::Response,
    ) -> impl Stream<Item = Result<Bytes, ProviderError>> + Send + Unpin + use<> {
        let idle = self.idle_timeout;
        let timeout_err = self.timeout();
        let name = self.name.clone();
        let inner = resp.bytes_stream().boxed();
        futures::stream::unfold(Some(inner), move |state| {
            let timeout_err = timeout_err.clone();
            let name = name.clone();
            async move {
                let mut inner = state?;
                match tokio::time::timeout(idle, inner.next()).await {
                    Err(_) => Some((Err(timeout_err), None)),
                    Ok(None) => None,
                    Ok(Some(Ok(b))) => Some((Ok(b), Some(inner))),
                    Ok(Some(Err(e))) => Some((
                        Err(ProviderError::Stream {
                            provider: name,
                            reason: format!("the connection closed mid-reply ({})", root_cause(&e)),
                        }),
                        None,
                    )),
                }
            }
        })
        .boxed()
    }

    /// A [`ProviderError::Stream`] for this provider.
    pub fn stream_err(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Stream {
            provider: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn timeout(&self) -> ProviderError {
        ProviderError::Timeout {
            provider: self.name.clone(),
            after_secs: self.idle_timeout.as_secs_f64(),
        }
    }

    fn send_error(&self, url: &str, e: &reqwest::Error) -> ProviderError {
        if e.is_connect() || e.is_timeout() {
            let reason = if e.is_timeout() {
                "connection timed out".to_string()
            } else {
                root_cause(e)
            };
            ProviderError::Unreachable {
                provider: self.name.clone(),
                url: url.to_string(),
                reason,
            }
        } else {
            self.stream_err(format!(
                "the request failed before a reply arrived ({})",
                root_cause(e)
            ))
        }
    }

    /// Turns a non-success response into its error, reading its body for the provider's text.
    async fn status_error(
        &self,
        resp: reqwest::Response,
        started: Instant,
    ) -> Result<ProviderError, ProviderError> {
        let status = resp.status().as_u16();
        let retry_after_ms = retry_after(resp.headers());
        let deadline = tokio::time::Instant::from_std(started + self.idle_timeout);
        let body = match tokio::time::timeout_at(deadline, resp.bytes()).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => Bytes::new(),
            Err(_) => return Err(self.timeout()),
        };
        tracing::debug!(provider = %self.name, status, "error status");
        Ok(if status == 401 || status == 403 {
            ProviderError::Unauthorized {
                provider: self.name.clone(),
                status,
                credential: self.credential.clone(),
            }
        } else {
            let retryable = status == 408 || status == 429 || status >= 500;
            ProviderError::Http {
                provider: self.name.clone(),
                status,
                message: error_message(&body).unwrap_or_else(|| status_text(status)),
                retryable,
                retry_after_ms,
            }
        })
    }
}

/// How long to wait before the next attempt after `err`, or `None` when it is not retried.
fn retry_wait(err: &ProviderError, attempt: u32) -> Option<Duration> {
    let backoff = BASE_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    match err {
        ProviderError::Unreachable { .. } => Some(backoff),
        ProviderError::Http {
            retryable: true,
            retry_after_ms: Some(ms),
            ..
        } => {
            let asked = Duration::from_millis(*ms);
            (asked <= MAX_RETRY_AFTER).then_some(asked)
        }
        ProviderError::Http {
            retryable: true, ..
        } => Some(backoff),
        _ => None,
    }
}

/// `retry-after-ms` (OpenAI, Azure) or `Retry-After` in seconds.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(ms.max(0.0) as u64);
    }
    get("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .map(|s| (s.max(0.0) * 1000.0) as u64)
}

/// The provider's error text from a JSON error body (`error.message`, `error` as a string,
/// `message`, `Message`), or the body itself when short plain text; truncated.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => json_error_text(&v)?,
        Err(_) => {
            let s = String::from_utf8_lossy(body).trim().to_string();
            if s.is_empty() || s.starts_with('<') {
                return None;
            }
            s
        }
    };
    Some(truncate(&text, MAX_MESSAGE_CHARS))
}

/// The error text inside a JSON value, in any of the shapes providers use.
pub(crate) fn json_error_text(v: &Value) -> Option<String> {
    let v = if let Value::Array(items) = v {
        items.first()?
    } else {
        v
    };
    let from = |e: &Value| -> Option<String> {
        match e {
            Value::String(s) => Some(s.clone()),
            Value::Object(_) => e.get("message").and_then(Value::as_str).map(|m| {
                match e.get("type").and_then(Value::as_str) {
                    Some(t) if !m.contains(t) => format!("{t}: {m}"),
                    _ => m.to_string(),
                }
            }),
            _ => None,
        }
    };
    v.get("error")
        .and_then(from)
        .or_else(|| v.get("message").and_then(Value::as_str).map(str::to_string))
        .or_else(|| v.get("Message").and_then(Value::as_str).map(str::to_string))
}

fn status_text(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error")
        .to_string()
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The innermost cause of an error, which is the part a person can act on.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// What a reply accumulates while its events are decoded.
#[derive(Default)]
pub(crate) struct Acc {
    pub text: String,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub stop_reason: Option<String>,
    /// The protocol's end marker was seen.
    pub done: bool,
}

impl Acc {
    /// Appends a text piece and hands it to the sink.
    pub fn delta(&mut self, text: &str, sink: &mut (dyn FnMut(StreamEvent) + Send)) {
        if !text.is_empty() {
            self.text.push_str(text);
            sink(StreamEvent::Delta(text.to_string()));
        }
    }

    /// Ends the reply: reports usage (when any was seen) and builds the completion.
    pub fn finish(self, sink: &mut (dyn FnMut(StreamEvent) + Send)) -> Completion {
        let usage = match (self.input_tokens, self.output_tokens) {
            (None, None) => None,
            (i, o) => Some(Usage {
                input_tokens: i.unwrap_or(0),
                output_tokens: o.unwrap_or(0),
            }),
        };
        if let Some(u) = usage {
            sink(StreamEvent::Usage(u));
        }
        Completion {
            text: self.text,
            usage,
            stop_reason: self.stop_reason,
        }
    }
}

/// Reads a server-sent-events body, handing each event's type and data to `on_event` until
/// it marks the reply done or the body ends. A body that ends before the end marker is a
/// [`ProviderError::Stream`].
pub(crate) async fn drive_sse(
    t: &Transport,
    resp: reqwest::Response,
    sink: &mut (dyn FnMut(StreamEvent) + Send),
    mut on_event: impl FnMut(
        &mut Acc,
        &str,
        &str,
        &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<(), ProviderError>,
) -> Result<Completion, ProviderError> {
    use eventsource_stream::{EventStreamError, Eventsource};
    let mut events = t.body_stream(resp).eventsource();
    let mut acc = Acc::default();
    while let Some(item) = events.next().await {
        let ev = match item {
            Ok(ev) => ev,
            Err(EventStreamError::Transport(e)) => return Err(e),
            Err(e) => return Err(t.stream_err(format!("the event stream is malformed: {e}"))),
        };
        on_event(&mut acc, &ev.event, &ev.data, sink)?;
        if acc.done {
            break;
        }
    }
    if !acc.done {
        return Err(t.stream_err("the stream ended before the reply was complete"));
    }
    Ok(acc.finish(sink))
}

/// Parses one stream chunk as JSON, or says which chunk was not.
pub(crate) fn parse_chunk(t: &Transport, data: &str) -> Result<Value, ProviderError> {
    serde_json::from_str(data).map_err(|e| {
        t.stream_err(format!(
            "a stream chunk is not valid JSON ({e}): {}",
            truncate(data, 80)
        ))
    })
}

/// A `u64` at `ptr` (JSON pointer) in `v`.
pub(crate) fn u64_at(v: &Value, ptr: &str) -> Option<u64> {
    v.pointer(ptr).and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_from_each_providers_shape() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                r#"{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}"#,
                Some("invalid_request_error: Incorrect API key"),
            ),
            (
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                Some("overloaded_error: Overloaded"),
            ),
            (
                r#"{"error":"model 'x' not found"}"#,
                Some("model 'x' not found"),
            ),
            (
                r#"{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}"#,
                Some("models/x is not found"),
            ),
            (
                r#"[{"error":{"code":429,"message":"quota"}}]"#,
                Some("quota"),
            ),
            (
                r#"{"message":"The security token included in the request is invalid."}"#,
                Some("The security token included in the request is invalid."),
            ),
            ("upstream connect error", Some("upstream connect error")),
            ("<html>502</html>", None),
            ("", None),
        ];
        for (body, want) in cases {
            assert_eq!(error_message(body.as_bytes()).as_deref(), *want, "{body}");
        }
        assert_eq!(
            error_message("x".repeat(400).as_bytes())
                .unwrap()
                .chars()
                .count(),
            MAX_MESSAGE_CHARS + 1
        );
    }

    #[test]
    fn retry_after_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(3000));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(150));
    }

    #[test]
    fn which_errors_are_retried() {
        let http = |status, retryable, retry_after_ms| ProviderError::Http {
            provider: "p".into(),
            status,
            message: String::new(),
            retryable,
            retry_after_ms,
        };
        assert_eq!(
            retry_wait(&http(429, true, Some(2000)), 0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry_wait(&http(429, true, Some(3_600_000)), 0), None);
        assert_eq!(retry_wait(&http(500, true, None), 0), Some(BASE_BACKOFF));
        assert_eq!(retry_wait(&http(500, true, None), 10), Some(MAX_BACKOFF));
        assert_eq!(retry_wait(&http(400, false, None), 0), None);
        let timeout = ProviderError::Timeout {
            provider: "p".into(),
            after_secs: 1.0,
        };
        assert_eq!(retry_wait(&timeout, 0), None);
    }
}
