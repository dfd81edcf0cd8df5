//! A fake AI provider for tests: a small HTTP/1.1 server on 127.0.0.1 (std only, one thread
//! per connection, `Connection: close` on every response) that answers on the paths the real
//! APIs use, in their wire formats, streaming and not:
//!
//! - `…/chat/completions` (OpenAI, Azure, Grok, GitHub Models): SSE chunks and `[DONE]`;
//! - `…/v1/messages` (Anthropic): SSE `message_start` … `message_stop`;
//! - `…/api/chat` (Ollama): newline-delimited JSON;
//! - `…:streamGenerateContent` / `…:generateContent` (Gemini): SSE or one JSON object;
//! - `…/converse-stream` / `…/converse` (Bedrock): AWS event-stream frames or one JSON object.
//!
//! Streaming is decided by the body's `stream` flag, or by the path for Gemini and Bedrock.
//! Every request is recorded (method, path, lowercased headers, body). Replies are scripted
//! with [`FakeProvider::push_reply`]; with none queued, the reply echoes the last user message
//! as `echo: <text>` in a few deltas. One-shot [`Fault`]s are consumed before replies.
//! Signatures and keys are not checked, only recorded. The instant each streamed delta was
//! written is recorded too ([`FakeProvider::delta_instants`], for latency benchmarks).
//!
//! Tests in other languages (the editor clients') drive the `fake-provider` binary over
//! HTTP on the same port, under `/__fake/` (never recorded as requests):
//!
//! - `GET /__fake/requests`: every recorded request so far, as a JSON array of
//!   `{ method, path, body }`;
//! - `POST /__fake/reply` with `{ deltas: [..], delayMs?, inputTokens?, outputTokens? }`: queues
//!   a scripted reply; `delayMs` waits that long before each of its deltas (a slow reply to
//!   cancel);
//! - `POST /__fake/fault` with `{ status: 401 | 429 | 500, retryAfterSecs? }`: queues a
//!   one-shot fault (a 429 or 500 is retried by the client, so queue three to make a turn fail);
//! - `POST /__fake/reset`: forgets the recorded requests, queued replies and faults.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query, as sent (e.g. `/v1/chat/completions`).
    pub path: String,
    /// Headers with lowercased names (the last value wins when repeated).
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub body: Value,
    /// The body as text.
    pub raw_body: String,
}

impl RecordedRequest {
    /// A header's value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A one-shot fault applied to the next request (faults are consumed FIFO, before replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer HTTP 500 with an error body in the provider's format.
    Status500,
    /// Answer HTTP 429 with `Retry-After: <secs>`.
    Status429 {
        /// Value of the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// Answer HTTP 401.
    Status401,
    /// Wait this long before sending anything, then answer normally (the reply is consumed).
    SlowFirstByte {
        /// Delay before the status line.
        ms: u64,
    },
    /// Stream this many deltas, then close the connection without ending the reply.
    CutMidStream {
        /// Deltas sent before the cut.
        after_deltas: usize,
    },
    /// Stream this many deltas, then one chunk that is not valid JSON, then the rest.
    InvalidJsonChunk {
        /// Deltas sent before the bad chunk.
        after_deltas: usize,
    },
}

/// A scripted reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// Text pieces, streamed one per chunk (joined for non-streaming replies).
    pub deltas: Vec<String>,
    /// Prompt tokens to report; with `output_tokens` both `None`, usage is left off the wire.
    pub input_tokens: Option<u64>,
    /// Reply tokens to report.
    pub output_tokens: Option<u64>,
    /// A wait before each delta of this reply, overriding the server's own delay.
    pub delay: Option<Duration>,
}

impl Reply {
    /// A reply of these deltas with the given usage.
    pub fn new(deltas: &[&str], input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            deltas: deltas.iter().map(|s| s.to_string()).collect(),
            input_tokens: Some(input_tokens),
            output_tokens: Some(output_tokens),
            delay: None,
        }
    }

    /// A reply of these deltas with no usage on the wire.
    pub fn without_usage(deltas: &[&str]) -> Self {
        Self {
            deltas: deltas.iter().map(|s| s.to_string()).collect(),
            input_tokens: None,
            output_tokens: None,
            delay: None,
        }
    }

    /// The whole text.
    pub fn text(&self) -> String {
        self.deltas.concat()
    }

    fn has_usage(&self) -> bool {
        self.input_tokens.is_some() || self.output_tokens.is_some()
    }
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    /// Requests for a session title (see [`is_title_request`]).
    title_requests: Vec<RecordedRequest>,
    titles: VecDeque<Reply>,
    replies: VecDeque<Reply>,
    faults: VecDeque<Fault>,
    delta_instants: Vec<Instant>,
}

/// The fake provider server; dropping it stops it.
pub struct FakeProvider {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FakeProvider {
    /// Starts a server on 127.0.0.1 with an ephemeral port, replying instantly.
    pub fn start() -> FakeProvider {
        Self::start_with_delay(Duration::ZERO)
    }

    /// Starts a server that waits `delay` before each streamed delta.
    pub fn start_with_delay(delay: Duration) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = serve(conn, &state, delay);
                    });
                }
            })
        };
        FakeProvider {
            port,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`, to use as a provider's `base_url` (add `/v1` for OpenAI-style
    /// bases if the test wants the real path shape; any prefix works).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far, in order, but those for a session's
    /// title (see [`FakeProvider::title_requests`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests for a session's AI title (atmos asks one in the
    /// background after a session's first exchange). They take neither the
    /// replies nor the faults queued for turns: [`FakeProvider::push_title`]
    /// scripts their answers, else each gets the first line of the question.
    pub fn title_requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().unwrap().title_requests.clone()
    }

    /// Queues the answer to the next title request.
    pub fn push_title(&self, r: Reply) {
        self.state.lock().unwrap().titles.push_back(r);
    }

    /// Queues a scripted reply (consumed FIFO).
    pub fn push_reply(&self, r: Reply) {
        self.state.lock().unwrap().replies.push_back(r);
    }

    /// Queues a one-shot fault (consumed FIFO, before replies).
    pub fn push_fault(&self, f: Fault) {
        self.state.lock().unwrap().faults.push_back(f);
    }

    /// When each streamed delta was written to its connection (taken just after its chunk
    /// was written and flushed), in the order written, over every request so far.
    pub fn delta_instants(&self) -> Vec<Instant> {
        self.state.lock().unwrap().delta_instants.clone()
    }

    /// Replaces every queued fault with this one.
    pub fn set_fault(&self, f: Fault) {
        let mut s = self.state.lock().unwrap();
        s.faults.clear();
        s.faults.push_back(f);
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// The wire format a path implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    OpenAi,
    Anthropic,
    Ollama,
    Gemini,
    Bedrock,
}

fn format_of(path: &str) -> Option<(Format, Option<bool>)> {
    let p = path.split('?').next().unwrap_or(path);
    if p.ends_with("/chat/completions") {
        Some((Format::OpenAi, None))
    } else if p.ends_with("/v1/messages") {
        Some((Format::Anthropic, None))
    } else if p.ends_with("/api/chat") {
        Some((Format::Ollama, None))
    } else if p.ends_with(":streamGenerateContent") {
        Some((Format::Gemini, Some(true)))
    } else if p.ends_with(":generateContent") {
        Some((Format::Gemini, Some(false)))
    } else if p.ends_with("/converse-stream") {
        Some((Format::Bedrock, Some(true)))
    } else if p.ends_with("/converse") {
        Some((Format::Bedrock, Some(false)))
    } else {
        None
    }
}

fn read_request(conn: &TcpStream) -> std::io::Result<RecordedRequest> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let raw_body = String::from_utf8_lossy(&body).into_owned();
    let body = serde_json::from_str(&raw_body).unwrap_or(Value::Null);
    Ok(RecordedRequest {
        method,
        path,
        headers,
        body,
        raw_body,
    })
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, delay: Duration) -> std::io::Result<()> {
    let req = read_request(&conn)?;
    if req.path.starts_with("/__fake/") {
        return control(&mut conn, state, &req);
    }
    // Ollama's liveness probe: answered without consuming faults or replies.
    if req.method == "GET" && req.path == "/api/tags" {
        state.lock().unwrap().requests.push(req);
        return respond(&mut conn, 200, &[], br#"{"models":[]}"#);
    }
    let (fault, reply) = {
        let mut s = state.lock().unwrap();
        if is_title_request(&req) {
            // Asked in the background after a first exchange: kept apart,
            // so that it takes none of the replies and faults a test queued
            // for its turns.
            let reply = s
                .titles
                .pop_front()
                .unwrap_or_else(|| Reply::without_usage(&[&question_line(&req.body)]));
            s.title_requests.push(req.clone());
            (None, Some(reply))
        } else {
            s.requests.push(req.clone());
            let fault = s.faults.pop_front();
            let takes_reply = !matches!(
                fault,
                Some(Fault::Status500 | Fault::Status429 { .. } | Fault::Status401)
            );
            let reply = if takes_reply {
                s.replies.pop_front()
            } else {
                None
            };
            (fault, reply)
        }
    };
    let Some((format, path_stream)) = format_of(&req.path) else {
        return respond(
            &mut conn,
            404,
            &[],
            br#"{"error":{"message":"no such path on the fake provider","type":"not_found"}}"#,
        );
    };
    match fault {
        Some(Fault::Status500) => {
            return error_status(&mut conn, format, 500, "fake internal error", &[]);
        }
        Some(Fault::Status429 { retry_after_secs }) => {
            let ra = retry_after_secs.to_string();
            return error_status(
                &mut conn,
                format,
                429,
                "fake rate limit",
                &[("retry-after", &ra)],
            );
        }
        Some(Fault::Status401) => {
            return error_status(&mut conn, format, 401, "fake: invalid key", &[]);
        }
        Some(Fault::SlowFirstByte { ms }) => std::thread::sleep(Duration::from_millis(ms)),
        _ => {}
    }
    let reply = reply.unwrap_or_else(|| echo_reply(format, &req.body));
    let stream = path_stream.unwrap_or_else(|| {
        req.body
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    });
    let model = model_of(format, &req);
    let (cut, bad) = match fault {
        Some(Fault::CutMidStream { after_deltas }) => (Some(after_deltas), None),
        Some(Fault::InvalidJsonChunk { after_deltas }) => (None, Some(after_deltas)),
        _ => (None, None),
    };
    if !stream {
        // A slow reply is slow in one piece too (a summary, a non-streamed
        // turn): its delay once before the body.
        if let Some(delay) = reply.delay {
            std::thread::sleep(delay);
        }
        let body = whole_body(format, &model, &reply);
        if cut.is_some() {
            // Promise more than is sent, then close.
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len() + 100
            );
            conn.write_all(head.as_bytes())?;
            conn.write_all(&body[..body.len() / 2])?;
            conn.flush()?;
            return conn.shutdown(Shutdown::Both);
        }
        let body = if bad.is_some() {
            br#"{"choices": [ not json"#.to_vec()
        } else {
            body
        };
        return respond(
            &mut conn,
            200,
            &[("content-type", "application/json")],
            &body,
        );
    }
    let content_type = match format {
        Format::Ollama => "application/x-ndjson",
        Format::Bedrock => "application/vnd.amazon.eventstream",
        _ => "text/event-stream",
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes())?;
    conn.flush()?;
    let mut w = Chunked(&mut conn);
    let frames = stream_frames(
        format,
        &model,
        &reply,
        req.body.get("stream_options").is_some(),
    );
    let mut deltas_sent = 0usize;
    for frame in frames {
        let is_delta = matches!(frame, Frame::Delta(_));
        if is_delta {
            if cut == Some(deltas_sent) {
                w.0.flush()?;
                return w.0.shutdown(Shutdown::Both);
            }
            if bad == Some(deltas_sent) {
                w.chunk(&invalid_chunk(format))?;
            }
            let delay = reply.delay.unwrap_or(delay);
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            deltas_sent += 1;
        }
        w.chunk(frame.bytes())?;
        if is_delta {
            let written = Instant::now();
            state.lock().unwrap().delta_instants.push(written);
        }
    }
    if cut.is_some() || bad.is_some_and(|n| n >= deltas_sent) {
        // The fault asked for more deltas than the reply has: apply it at the end.
        if cut.is_some() {
            return w.0.shutdown(Shutdown::Both);
        }
        w.chunk(&invalid_chunk(format))?;
    }
    w.0.write_all(b"0\r\n\r\n")?;
    w.0.flush()?;
    let _ = w.0.shutdown(Shutdown::Write);
    Ok(())
}

/// One plain HTTP/1.1 request to `base_url` (`http://127.0.0.1:PORT`), as a test in another
/// process would send it: the status and the body of the answer.
pub fn http(base_url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = base_url.trim_start_matches("http://");
    let mut c = TcpStream::connect(addr).expect("connect to the fake provider");
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write the request");
    let mut out = String::new();
    c.read_to_string(&mut out).expect("read the answer");
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The control endpoints under `/__fake/` (see the module doc).
fn control(
    conn: &mut TcpStream,
    state: &Mutex<State>,
    req: &RecordedRequest,
) -> std::io::Result<()> {
    let json_ok = |conn: &mut TcpStream, v: Value| {
        respond(
            conn,
            200,
            &[("content-type", "application/json")],
            v.to_string().as_bytes(),
        )
    };
    let bad = |conn: &mut TcpStream, why: &str| {
        respond(
            conn,
            400,
            &[("content-type", "application/json")],
            json!({"error": why}).to_string().as_bytes(),
        )
    };
    let b = &req.body;
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/__fake/requests") => {
            let list: Vec<Value> = state
                .lock()
                .unwrap()
                .requests
                .iter()
                .map(|r| json!({"method": r.method, "path": r.path, "body": r.body}))
                .collect();
            json_ok(conn, Value::Array(list))
        }
        ("POST", "/__fake/reply") => {
            let Some(deltas) = b.get("deltas").and_then(Value::as_array) else {
                return bad(conn, "give `deltas`: an array of strings");
            };
            let reply = Reply {
                deltas: deltas
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                input_tokens: b.get("inputTokens").and_then(Value::as_u64),
                output_tokens: b.get("outputTokens").and_then(Value::as_u64),
                delay: b
                    .get("delayMs")
                    .and_then(Value::as_u64)
                    .map(Duration::from_millis),
            };
            state.lock().unwrap().replies.push_back(reply);
            json_ok(conn, json!({"queued": "reply"}))
        }
        ("POST", "/__fake/fault") => {
            let fault = match b.get("status").and_then(Value::as_u64) {
                Some(401) => Fault::Status401,
                Some(500) => Fault::Status500,
                Some(429) => Fault::Status429 {
                    retry_after_secs: b.get("retryAfterSecs").and_then(Value::as_u64).unwrap_or(0),
                },
                _ => return bad(conn, "give `status`: 401, 429 or 500"),
            };
            state.lock().unwrap().faults.push_back(fault);
            json_ok(conn, json!({"queued": "fault"}))
        }
        ("POST", "/__fake/reset") => {
            let mut s = state.lock().unwrap();
            s.requests.clear();
            s.replies.clear();
            s.faults.clear();
            json_ok(conn, json!({"reset": true}))
        }
        _ => respond(conn, 404, &[], br#"{"error":"no such control endpoint"}"#),
    }
}

struct Chunked<'a>(&'a mut TcpStream);

impl Chunked<'_> {
    fn chunk(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        write!(self.0, "{:x}\r\n", data.len())?;
        self.0.write_all(data)?;
        self.0.write_all(b"\r\n")?;
        self.0.flush()
    }
}

fn respond(
    conn: &mut TcpStream,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    conn.flush()?;
    let _ = conn.shutdown(Shutdown::Write);
    Ok(())
}

fn error_status(
    conn: &mut TcpStream,
    format: Format,
    status: u16,
    message: &str,
    extra: &[(&str, &str)],
) -> std::io::Result<()> {
    let body = match format {
        Format::OpenAi => {
            json!({"error": {"message": message, "type": "fake_error", "code": status}})
        }
        Format::Anthropic => {
            json!({"type": "error", "error": {"type": "fake_error", "message": message}})
        }
        Format::Ollama => json!({"error": message}),
        Format::Gemini => json!({"error": {"code": status, "message": message, "status": "FAKE"}}),
        Format::Bedrock => json!({"message": message}),
    };
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    respond(conn, status, &headers, body.to_string().as_bytes())
}

/// The text of a message content in any of the formats (string, or blocks/parts with `text`).
fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// The last user message of a request body, whatever its format.
pub fn last_user_text(body: &Value) -> String {
    let list = body
        .get("messages")
        .or_else(|| body.get("contents"))
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| {
            content_text(
                m.get("content")
                    .or_else(|| m.get("parts"))
                    .unwrap_or(&Value::Null),
            )
        })
        .unwrap_or_default()
}

/// Whether a request asks for a session's title (atmos's title prompt).
pub fn is_title_request(req: &RecordedRequest) -> bool {
    req.raw_body.contains("You name conversations")
}

/// The first line of the question a title request quotes.
fn question_line(body: &Value) -> String {
    let text = last_user_text(body);
    text.lines()
        .skip_while(|l| l.trim() != "Question:")
        .nth(1)
        .unwrap_or("Untitled")
        .to_string()
}

/// The default reply: `echo: <last user message>` in up to three deltas, with usage
/// `input_tokens` = request body bytes / 4 and `output_tokens` = number of deltas.
/// `FAKE_ECHO_MAX_CHARS` cuts the echo (benchmarks: a summary the size of a
/// real model's, not of the whole transcript it was given).
///
/// `FAKE_ECHO_HISTORY=1` prefixes how many messages the request carried, so a
/// demo can show that the model sees the whole conversation.
fn echo_reply(_format: Format, body: &Value) -> Reply {
    let mut text = format!("echo: {}", last_user_text(body));
    if std::env::var_os("FAKE_ECHO_HISTORY").is_some() {
        let seen = body
            .get("messages")
            .or_else(|| body.get("contents"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        text = format!("[the model was sent {seen} message(s)] {text}");
    }
    let mut chars: Vec<char> = text.chars().collect();
    if let Some(max) = std::env::var("FAKE_ECHO_MAX_CHARS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        chars.truncate(max);
    }
    let n = chars.len().div_ceil(3).max(1);
    let deltas: Vec<String> = chars.chunks(n).map(|c| c.iter().collect()).collect();
    let output = deltas.len() as u64;
    Reply {
        deltas,
        input_tokens: Some(body.to_string().len() as u64 / 4),
        output_tokens: Some(output),
        delay: None,
    }
}

fn model_of(format: Format, req: &RecordedRequest) -> String {
    match format {
        Format::Gemini | Format::Bedrock => {
            let p = req.path.split('?').next().unwrap_or("");
            let seg = p
                .rsplit('/')
                .nth(if format == Format::Bedrock { 1 } else { 0 })
                .unwrap_or("");
            seg.split(':').next().unwrap_or(seg).to_string()
        }
        _ => req
            .body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("fake-model")
            .to_string(),
    }
}

fn whole_body(format: Format, model: &str, r: &Reply) -> Vec<u8> {
    let text = r.text();
    let (i, o) = (r.input_tokens.unwrap_or(0), r.output_tokens.unwrap_or(0));
    let mut v = match format {
        Format::OpenAi => json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        }),
        Format::Anthropic => json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null
        }),
        Format::Ollama => json!({
            "model": model, "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": text}, "done": true, "done_reason": "stop"
        }),
        Format::Gemini => json!({
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "modelVersion": model
        }),
        Format::Bedrock => json!({
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn", "metrics": {"latencyMs": 1}
        }),
    };
    if r.has_usage() {
        match format {
            Format::OpenAi => {
                v["usage"] =
                    json!({"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o})
            }
            Format::Anthropic => v["usage"] = json!({"input_tokens": i, "output_tokens": o}),
            Format::Ollama => {
                v["prompt_eval_count"] = json!(i);
                v["eval_count"] = json!(o);
            }
            Format::Gemini => {
                v["usageMetadata"] = json!({"promptTokenCount": i, "candidatesTokenCount": o, "totalTokenCount": i + o})
            }
            Format::Bedrock => {
                v["usage"] = json!({"inputTokens": i, "outputTokens": o, "totalTokens": i + o})
            }
        }
    }
    v.to_string().into_bytes()
}

/// One unit written to a stream; deltas are marked so faults can count them.
enum Frame {
    Delta(Vec<u8>),
    Other(Vec<u8>),
}

impl Frame {
    fn bytes(&self) -> &[u8] {
        match self {
            Frame::Delta(b) | Frame::Other(b) => b,
        }
    }
}

fn sse(event: Option<&str>, data: &Value) -> Vec<u8> {
    match event {
        Some(e) => format!("event: {e}\ndata: {data}\n\n").into_bytes(),
        None => format!("data: {data}\n\n").into_bytes(),
    }
}

fn stream_frames(format: Format, model: &str, r: &Reply, openai_usage: bool) -> Vec<Frame> {
    let (i, o) = (r.input_tokens.unwrap_or(0), r.output_tokens.unwrap_or(0));
    let mut out = Vec::new();
    match format {
        Format::OpenAi => {
            let chunk = |delta: Value, finish: Value| {
                json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            };
            out.push(Frame::Other(sse(
                None,
                &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            )));
            for d in &r.deltas {
                out.push(Frame::Delta(sse(
                    None,
                    &chunk(json!({"content": d}), Value::Null),
                )));
            }
            out.push(Frame::Other(sse(None, &chunk(json!({}), json!("stop")))));
            if openai_usage && r.has_usage() {
                let u = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [],
                               "usage": {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}});
                out.push(Frame::Other(sse(None, &u)));
            }
            out.push(Frame::Other(b"data: [DONE]\n\n".to_vec()));
        }
        Format::Anthropic => {
            let mut message = json!({"id": "msg_fake", "type": "message", "role": "assistant", "content": [], "model": model,
                                     "stop_reason": null, "stop_sequence": null});
            if r.has_usage() {
                message["usage"] = json!({"input_tokens": i, "output_tokens": 1});
            }
            out.push(Frame::Other(sse(
                Some("message_start"),
                &json!({"type": "message_start", "message": message}),
            )));
            out.push(Frame::Other(sse(
                Some("content_block_start"),
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            )));
            out.push(Frame::Other(sse(Some("ping"), &json!({"type": "ping"}))));
            for d in &r.deltas {
                out.push(Frame::Delta(sse(
                    Some("content_block_delta"),
                    &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
                )));
            }
            out.push(Frame::Other(sse(
                Some("content_block_stop"),
                &json!({"type": "content_block_stop", "index": 0}),
            )));
            let mut md = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}});
            if r.has_usage() {
                md["usage"] = json!({"output_tokens": o});
            }
            out.push(Frame::Other(sse(Some("message_delta"), &md)));
            out.push(Frame::Other(sse(
                Some("message_stop"),
                &json!({"type": "message_stop"}),
            )));
        }
        Format::Ollama => {
            for d in &r.deltas {
                let line = json!({"model": model, "created_at": "2025-01-01T00:00:00Z",
                                  "message": {"role": "assistant", "content": d}, "done": false});
                out.push(Frame::Delta(format!("{line}\n").into_bytes()));
            }
            let mut last = json!({"model": model, "created_at": "2025-01-01T00:00:00Z",
                                  "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop"});
            if r.has_usage() {
                last["prompt_eval_count"] = json!(i);
                last["eval_count"] = json!(o);
            }
            out.push(Frame::Other(format!("{last}\n").into_bytes()));
        }
        Format::Gemini => {
            let n = r.deltas.len();
            let deltas: Vec<&str> = if n == 0 {
                vec![""]
            } else {
                r.deltas.iter().map(String::as_str).collect()
            };
            for (k, d) in deltas.iter().enumerate() {
                let mut candidate =
                    json!({"content": {"parts": [{"text": d}], "role": "model"}, "index": 0});
                let mut chunk = json!({"modelVersion": model});
                if k + 1 == deltas.len() {
                    candidate["finishReason"] = json!("STOP");
                    if r.has_usage() {
                        chunk["usageMetadata"] = json!({"promptTokenCount": i, "candidatesTokenCount": o, "totalTokenCount": i + o});
                    }
                }
                chunk["candidates"] = json!([candidate]);
                let bytes = sse(None, &chunk);
                out.push(if n == 0 {
                    Frame::Other(bytes)
                } else {
                    Frame::Delta(bytes)
                });
            }
        }
        Format::Bedrock => {
            out.push(Frame::Other(event_frame(
                "messageStart",
                json!({"role": "assistant"}).to_string().as_bytes(),
            )));
            for d in &r.deltas {
                let p = json!({"contentBlockIndex": 0, "delta": {"text": d}});
                out.push(Frame::Delta(event_frame(
                    "contentBlockDelta",
                    p.to_string().as_bytes(),
                )));
            }
            out.push(Frame::Other(event_frame(
                "contentBlockStop",
                br#"{"contentBlockIndex":0}"#,
            )));
            out.push(Frame::Other(event_frame(
                "messageStop",
                br#"{"stopReason":"end_turn"}"#,
            )));
            if r.has_usage() {
                let p = json!({"usage": {"inputTokens": i, "outputTokens": o, "totalTokens": i + o}, "metrics": {"latencyMs": 1}});
                out.push(Frame::Other(event_frame(
                    "metadata",
                    p.to_string().as_bytes(),
                )));
            }
        }
    }
    out
}

fn invalid_chunk(format: Format) -> Vec<u8> {
    match format {
        Format::OpenAi | Format::Gemini => b"data: {\"choices\": [ not json\n\n".to_vec(),
        Format::Anthropic => b"event: content_block_delta\ndata: {\"type\": not json\n\n".to_vec(),
        Format::Ollama => b"{\"message\": not json\n".to_vec(),
        Format::Bedrock => event_frame("contentBlockDelta", b"{\"delta\": not json"),
    }
}

/// One AWS event-stream message: prelude (total length, headers length, CRC32), string
/// headers `:event-type`, `:content-type`, `:message-type`, the payload, then the CRC32 of all.
pub fn event_frame(event_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut headers = Vec::new();
    for (name, value) in [
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ] {
        headers.push(name.len() as u8);
        headers.extend_from_slice(name.as_bytes());
        headers.push(7); // string
        headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let total = 12 + headers.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&headers);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_pick_formats() {
        assert_eq!(
            format_of("/v1/chat/completions"),
            Some((Format::OpenAi, None))
        );
        assert_eq!(
            format_of("/openai/deployments/d/chat/completions?api-version=1"),
            Some((Format::OpenAi, None))
        );
        assert_eq!(
            format_of("/v1beta/models/g:streamGenerateContent?alt=sse"),
            Some((Format::Gemini, Some(true)))
        );
        assert_eq!(
            format_of("/model/a%3A0/converse-stream"),
            Some((Format::Bedrock, Some(true)))
        );
        assert_eq!(format_of("/nope"), None);
    }

    #[test]
    fn echo_splits_into_deltas() {
        let body = json!({"messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "x"}, {"role": "user", "content": "hello there"}]});
        let r = echo_reply(Format::OpenAi, &body);
        assert_eq!(r.text(), "echo: hello there");
        assert_eq!(r.deltas.len(), 3);
        let gem = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        assert_eq!(last_user_text(&gem), "hi");
    }

    #[test]
    fn event_frame_layout() {
        let f = event_frame("metadata", b"{}");
        assert_eq!(
            u32::from_be_bytes(f[0..4].try_into().unwrap()) as usize,
            f.len()
        );
        assert_eq!(
            crc32fast::hash(&f[..f.len() - 4]),
            u32::from_be_bytes(f[f.len() - 4..].try_into().unwrap())
        );
    }

    #[test]
    fn control_endpoints_script_the_fake_over_http() {
        let fake = FakeProvider::start();
        let url = fake.base_url();
        let http =
            |_: &FakeProvider, method: &str, path: &str, body: &str| http(&url, method, path, body);
        let chat = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        let (s, _) = http(
            &fake,
            "POST",
            "/__fake/reply",
            r#"{"deltas":["a","b"],"delayMs":1}"#,
        );
        assert_eq!(s, 200);
        let (_, answer) = http(&fake, "POST", "/v1/chat/completions", chat);
        assert!(answer.contains(r#""content":"ab""#), "{answer}");
        let (s, _) = http(&fake, "POST", "/__fake/fault", r#"{"status":401}"#);
        assert_eq!(s, 200);
        let (s, _) = http(&fake, "POST", "/v1/chat/completions", chat);
        assert_eq!(s, 401);
        let (s, _) = http(&fake, "POST", "/__fake/fault", r#"{"status":418}"#);
        assert_eq!(s, 400);
        let (_, log) = http(&fake, "GET", "/__fake/requests", "");
        let log: Value = serde_json::from_str(&log).unwrap();
        assert_eq!(
            log.as_array().unwrap().len(),
            2,
            "control calls are not recorded"
        );
        assert_eq!(log[0]["body"]["messages"][0]["content"], "hi");
        http(&fake, "POST", "/__fake/reset", "");
        let (_, log) = http(&fake, "GET", "/__fake/requests", "");
        assert_eq!(log, "[]");
    }
}
