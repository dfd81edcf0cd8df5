//! LSP framing over a byte stream (`Content-Length: N\r\n\r\n` + a JSON-RPC
//! body), in place of tower-lsp-server's own `Server` loop.
//!
//! Why not `tower_lsp_server::Server`: its reader is tokio-util's
//! `FramedRead` with tower-lsp's codec, and `FramedRead` ends the stream
//! after the first decode error, so one frame with invalid JSON, a bad
//! `Content-Length` or invalid UTF-8 is answered with -32700 and then the
//! server stops reading and exits. Its codec also buffers a body of any
//! announced length, and its writer interleaves responses and notifications
//! from two channels, so a notification sent just before a response could be
//! written after it. This loop keeps tower-lsp-server's `LspService` (routing,
//! life cycle, `$/cancelRequest`) and its `ClientSocket`, and does the framing
//! itself:
//!
//! - a header block without a usable `Content-Length` → -32700 with id null;
//!   garbage before a `Content-Length` header is skipped with a log line;
//! - a body over [`MAX_BODY_BYTES`] is read and thrown away without being
//!   buffered → -32600 with id null;
//! - a body that is not JSON → -32700 with id null; JSON that is not a
//!   JSON-RPC message → -32600 (with its id when it has a usable one);
//! - after each of these the next frame is served as usual;
//! - `initialize` is answered before the next message is read (a script may
//!   pipeline its requests behind it); every other request runs as its own task, so a slow one (a chat) never holds
//!   up the others, and `$/cancelRequest` is seen at once;
//! - notifications are written in the order they were sent, and always
//!   before the response of the request that sent them;
//! - at EOF the requests already read are answered, then the service stops
//!   as on `exit`; after `exit` itself pending requests are cancelled (-32800)
//!   as LSP says, and the loop returns.

use crate::server::Backend;
use atmos_protocol::Request as _;
use futures::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io;
use std::sync::Arc;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};
use tower_lsp_server::{ClientSocket, LspService};

/// What the writer writes: a response of the service, or the result of a
/// request the transport answered itself, already JSON (`atmos/session/list`,
/// see `listing.rs`).
enum Outgoing {
    Response(Response),
    Raw { id: Id, result: Arc<[u8]> },
}

/// The largest message body the server reads (16 MiB). A bigger one is
/// skipped and answered with -32600.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The longest header line kept; longer lines are skipped as garbage.
const MAX_HEADER_LINE: usize = 8 * 1024;

/// Serves `service` over `input` / `output` until `exit` or EOF.
pub async fn run<R, W>(input: R, output: W, mut service: LspService<Backend>, socket: ClientSocket)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (notifications, mut client_responses) = socket.split();
    let (out, out_rx) = mpsc::unbounded_channel::<Outgoing>();
    let writer = tokio::spawn(write_loop(output, notifications, out_rx));
    let mut frames = FrameReader::new(input);
    let mut tasks = tokio::task::JoinSet::new();
    let mut exited = false;
    loop {
        let body = match frames.next().await {
            Ok(Some(Frame::Body(body))) => body,
            Ok(Some(Frame::Malformed(error))) => {
                tracing::warn!("dropped a malformed message: {}", error.message);
                let _ = out.send(Outgoing::Response(Response::from_error(Id::Null, error)));
                continue;
            }
            Ok(None) => {
                tracing::info!("end of input, stopping");
                break;
            }
            Err(e) => {
                tracing::error!("reading the input failed, stopping: {e}");
                break;
            }
        };
        while tasks.try_join_next().is_some() {}
        match classify(&body) {
            Incoming::Request(request) => {
                tracing::debug!(method = request.method(), id = ?request.id(), "request");
                let request = match answer_listing(request, service.inner().lister(), &out) {
                    Some(request) => request,
                    None => continue,
                };
                let is_exit = request.method() == "exit";
                let Ok(ready) = service.ready().await else {
                    exited = true;
                    break;
                };
                let is_initialize = request.method() == "initialize";
                // tower-lsp-server answers nothing for an unknown `$/`
                // method even when it has an id; LSP says -32601.
                let unanswered = request
                    .method()
                    .starts_with("$/")
                    .then(|| {
                        request
                            .id()
                            .cloned()
                            .map(|id| (id, request.method().to_string()))
                    })
                    .flatten();
                let response = ready.call(request);
                let out = out.clone();
                let task = async move {
                    match (response.await, unanswered) {
                        (Ok(Some(response)), _) => {
                            let _ = out.send(Outgoing::Response(response));
                        }
                        (Ok(None), Some((id, method))) => {
                            let _ = out.send(Outgoing::Response(Response::from_error(
                                id,
                                error(
                                    ErrorCode::MethodNotFound,
                                    format!("unknown method {method}"),
                                ),
                            )));
                        }
                        _ => {}
                    }
                };
                if is_initialize {
                    // Nothing is read until `initialize` has answered, so a
                    // client that pipelines its first requests (a script
                    // writing everything at once) is not told -32002.
                    task.await;
                } else {
                    tasks.spawn(task);
                }
                if is_exit {
                    exited = true;
                    break;
                }
            }
            Incoming::Response(response) => {
                if client_responses.send(response).await.is_err() {
                    tracing::debug!("dropped a client response after exit");
                }
            }
            Incoming::Invalid(response) => {
                if let (_, Err(e)) = response.clone().into_parts() {
                    tracing::warn!("dropped an invalid message: {}", e.message);
                }
                let _ = out.send(Outgoing::Response(response));
            }
        }
    }
    if !exited {
        // EOF: the requests already read are answered, then the service
        // stops as on `exit`.
        while tasks.join_next().await.is_some() {}
        if let Ok(ready) = service.ready().await {
            let _ = ready.call(Request::build("exit").finish()).await;
        }
    }
    drop(service);
    drop(out);
    // After `exit`, pending requests were cancelled: their tasks end at once.
    while tasks.join_next().await.is_some() {}
    let _ = writer.await;
}

/// Answers `atmos/session/list` without the service (from the bytes kept
/// while the database is unchanged, see `listing.rs`), in a task of its own;
/// gives any other request (or a listing outside the running life cycle,
/// which the service answers with its errors) back.
fn answer_listing(
    request: Request,
    lister: crate::listing::Lister,
    out: &mpsc::UnboundedSender<Outgoing>,
) -> Option<Request> {
    if request.method() != atmos_protocol::SessionList::METHOD
        || request.id().is_none()
        || !lister.ready()
    {
        return Some(request);
    }
    let (_, id, params) = request.into_parts();
    let id = id.expect("checked above");
    let out = out.clone();
    tokio::spawn(async move {
        let answer = match lister.list(params.unwrap_or(Value::Null)).await {
            Ok(result) => Outgoing::Raw { id, result },
            Err(error) => Outgoing::Response(Response::from_error(id, error)),
        };
        let _ = out.send(answer);
    });
    None
}

/// Writes notifications and responses, each framed, flushing after each.
/// Notifications already queued are written before any response.
async fn write_loop<W, N>(
    mut output: W,
    mut notifications: N,
    mut responses: mpsc::UnboundedReceiver<Outgoing>,
) where
    W: AsyncWrite + Unpin,
    N: futures::Stream<Item = Request> + Unpin,
{
    let mut notifications_open = true;
    let mut broken = false;
    loop {
        tokio::select! {
            biased;
            note = notifications.next(), if notifications_open => match note {
                Some(note) => write_message(&mut output, &note, &mut broken).await,
                None => notifications_open = false,
            },
            response = responses.recv() => match response {
                Some(response) => {
                    while notifications_open {
                        match notifications.next().now_or_never() {
                            Some(Some(note)) => write_message(&mut output, &note, &mut broken).await,
                            Some(None) => notifications_open = false,
                            None => break,
                        }
                    }
                    match response {
                        Outgoing::Response(r) => write_message(&mut output, &r, &mut broken).await,
                        Outgoing::Raw { id, result } => {
                            write_raw(&mut output, &id, &result, &mut broken).await
                        }
                    }
                }
                None => break,
            },
        }
    }
    while let Some(Some(note)) = notifications.next().now_or_never() {
        write_message(&mut output, &note, &mut broken).await;
    }
}

/// A response whose `result` is JSON already.
async fn write_raw<W: AsyncWrite + Unpin>(
    output: &mut W,
    id: &Id,
    result: &[u8],
    broken: &mut bool,
) {
    let Ok(id) = serde_json::to_vec(id) else {
        return;
    };
    let mut body = Vec::with_capacity(result.len() + id.len() + 32);
    body.extend_from_slice(br#"{"jsonrpc":"2.0","result":"#);
    body.extend_from_slice(result);
    body.extend_from_slice(br#","id":"#);
    body.extend_from_slice(&id);
    body.push(b'}');
    write_body(output, &body, broken).await;
}

async fn write_message<W: AsyncWrite + Unpin, T: serde::Serialize>(
    output: &mut W,
    message: &T,
    broken: &mut bool,
) {
    let body = match serde_json::to_vec(message) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!("cannot serialise a message: {e}");
            return;
        }
    };
    write_body(output, &body, broken).await;
}

async fn write_body<W: AsyncWrite + Unpin>(output: &mut W, body: &[u8], broken: &mut bool) {
    if *broken {
        return;
    }
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    if let Err(e) = async {
        output.write_all(&frame).await?;
        output.flush().await
    }
    .await
    {
        tracing::error!("writing to the client failed, output stops: {e}");
        *broken = true;
    }
}

/// What arrived in one frame.
enum Incoming {
    Request(Request),
    Response(Response),
    /// Not a JSON-RPC message: the error response to send.
    Invalid(Response),
}

/// Sorts a body into a request (or notification), a response, or an error.
fn classify(body: &[u8]) -> Incoming {
    let mut value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Incoming::Invalid(Response::from_error(
                Id::Null,
                error(
                    ErrorCode::ParseError,
                    format!(
                        "the message is not valid JSON ({e}); send one JSON-RPC object per frame"
                    ),
                ),
            ));
        }
    };
    let id = value
        .get("id")
        .and_then(|id| serde_json::from_value::<Id>(id.clone()).ok())
        .unwrap_or(Id::Null);
    let Some(object) = value.as_object_mut() else {
        return invalid(
            id,
            "the message is not a JSON object (batches are not supported)",
        );
    };
    if let Some(method) = object.get("method").and_then(Value::as_str) {
        // Methods whose params may be omitted get `{}`, so each handler takes
        // an object.
        if crate::proto::METHODS.contains(&method)
            && object.get("params").is_none_or(Value::is_null)
        {
            object.insert("params".into(), json!({}));
        }
        return match serde_json::from_value::<Request>(value) {
            Ok(request) => Incoming::Request(request),
            Err(e) => invalid(
                id,
                &format!("the message is not a valid JSON-RPC request: {e}"),
            ),
        };
    }
    if object.contains_key("result") || object.contains_key("error") {
        return match serde_json::from_value::<Response>(value) {
            Ok(response) => Incoming::Response(response),
            Err(e) => invalid(
                Id::Null,
                &format!("the message is not a valid JSON-RPC response: {e}"),
            ),
        };
    }
    invalid(
        id,
        "the message has no `method`: it is neither a request nor a notification",
    )
}

fn invalid(id: Id, message: &str) -> Incoming {
    Incoming::Invalid(Response::from_error(
        id,
        error(ErrorCode::InvalidRequest, message.to_string()),
    ))
}

fn error(code: ErrorCode, message: String) -> Error {
    Error {
        code,
        message: message.into(),
        data: None,
    }
}

/// One frame read from the input.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A body within the size limit (not yet parsed).
    Body(Vec<u8>),
    /// A frame that could not be read: the error to answer with (id null).
    Malformed(Error),
}

/// Reads LSP frames, resynchronising on the next `Content-Length` header
/// after garbage, and never buffering more than [`MAX_BODY_BYTES`].
pub(crate) struct FrameReader<R> {
    input: BufReader<R>,
    max_body: usize,
    /// The bytes of an over-long body still to skip: it is answered as soon
    /// as its header is read, and skipped before the next frame.
    skip: u64,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub(crate) fn new(input: R) -> Self {
        FrameReader {
            input: BufReader::new(input),
            max_body: MAX_BODY_BYTES,
            skip: 0,
        }
    }

    #[cfg(test)]
    fn with_limit(input: R, max_body: usize) -> Self {
        FrameReader {
            input: BufReader::new(input),
            max_body,
            skip: 0,
        }
    }

    /// The next frame; `None` at the end of the input.
    pub(crate) async fn next(&mut self) -> io::Result<Option<Frame>> {
        if self.skip > 0 {
            let want = std::mem::take(&mut self.skip);
            let skipped =
                tokio::io::copy(&mut (&mut self.input).take(want), &mut tokio::io::sink()).await?;
            if skipped < want {
                return Ok(None);
            }
        }
        let mut length: Option<Result<usize, String>> = None;
        let mut headers = 0usize;
        loop {
            let Some(line) = read_line(&mut self.input).await? else {
                if headers > 0 {
                    tracing::warn!("input ended inside a header block");
                }
                return Ok(None);
            };
            let Some(line) = line else {
                tracing::warn!("skipped a header line longer than {MAX_HEADER_LINE} bytes");
                headers += 1;
                continue;
            };
            if line.is_empty() {
                if headers == 0 {
                    continue; // stray blank line between frames
                }
                break;
            }
            headers += 1;
            let mut text = String::from_utf8_lossy(&line).into_owned();
            if let Some(at) = text.to_ascii_lowercase().find("content-length:")
                && at > 0
            {
                tracing::warn!("skipped {at} bytes of garbage before a Content-Length header");
                text.drain(..at);
            }
            let Some((name, value)) = text.split_once(':') else {
                tracing::warn!("skipped a header line without a colon");
                continue;
            };
            let value = value.trim();
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| value.to_string()));
            } else if !name.trim().eq_ignore_ascii_case("content-type") {
                tracing::debug!("ignored the header {name:?}");
            }
        }
        match length {
            None => Ok(Some(Frame::Malformed(error(
                ErrorCode::ParseError,
                "a message came without a Content-Length header; frame each message as `Content-Length: N\\r\\n\\r\\n` + N bytes of JSON".into(),
            )))),
            Some(Err(value)) => Ok(Some(Frame::Malformed(error(
                ErrorCode::ParseError,
                format!("invalid Content-Length {value:?}: it must be the body's length in bytes"),
            )))),
            Some(Ok(n)) if n > self.max_body => {
                // Answered now; its bytes are skipped before the next frame.
                self.skip = n as u64;
                Ok(Some(Frame::Malformed(error(
                    ErrorCode::InvalidRequest,
                    format!("a message of {n} bytes is over the limit of {} bytes; it was skipped", self.max_body),
                ))))
            }
            Some(Ok(n)) => {
                let mut body = vec![0; n];
                match self.input.read_exact(&mut body).await {
                    Ok(_) => Ok(Some(Frame::Body(body))),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        tracing::warn!("input ended inside a message body");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// One header line without its line ending: `Ok(None)` at EOF,
/// `Some(None)` for a line too long to keep (skipped up to its end).
async fn read_line<R: AsyncBufRead + Unpin>(input: &mut R) -> io::Result<Option<Option<Vec<u8>>>> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if line.is_empty() && !too_long {
                None
            } else {
                Some(finish(line, too_long))
            });
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let used = chunk.len();
        line.extend_from_slice(chunk);
        // Of an over-long line only its end is kept: unframed bytes with no
        // newline may run straight into the next `Content-Length` header,
        // which must not be lost with them.
        if line.len() > MAX_HEADER_LINE + 2 {
            too_long = true;
            line.drain(..line.len() - (MAX_HEADER_LINE + 2));
        }
        input.consume(used);
        if done {
            return Ok(Some(finish(line, too_long)));
        }
    }
}

fn finish(mut line: Vec<u8>, too_long: bool) -> Option<Vec<u8>> {
    if too_long {
        tracing::warn!("cut a header line longer than {MAX_HEADER_LINE} bytes to its end");
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], limit: usize) -> Vec<Result<String, (i64, String)>> {
        let mut reader = FrameReader::with_limit(input, limit);
        let mut out = Vec::new();
        while let Some(frame) = reader.next().await.unwrap() {
            out.push(match frame {
                Frame::Body(b) => Ok(String::from_utf8(b).unwrap()),
                Frame::Malformed(e) => Err((e.code.code(), e.message.into_owned())),
            });
        }
        out
    }

    /// Frames of any bytes, bodies read as lossy text (arbitrary input is
    /// not UTF-8).
    fn frames_of(input: &[u8]) -> Vec<Result<String, i64>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut reader = FrameReader::with_limit(input, 4096);
            let mut out = Vec::new();
            while let Some(frame) = reader.next().await.unwrap() {
                out.push(match frame {
                    Frame::Body(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
                    Frame::Malformed(e) => Err(e.code.code()),
                });
            }
            out
        })
    }

    proptest::proptest! {
        // Any bytes: the reader ends (at the end of the input) without a
        // panic, and never yields more frames than the input has bytes.
        #[test]
        fn any_bytes_are_read_to_their_end(input in proptest::collection::vec(proptest::num::u8::ANY, 0..20_000)) {
            let got = frames_of(&input);
            proptest::prop_assert!(got.len() <= input.len());
        }

        // Garbage without a newline, straight before a frame or a line
        // before it: the frame is still read.
        #[test]
        fn garbage_never_swallows_the_frame_after_it(
            garbage in "[a-z ]{0,30000}",
            newline in proptest::bool::ANY,
        ) {
            let mut input = garbage.into_bytes();
            if newline {
                input.extend_from_slice(b"\r\n\r\n");
            }
            input.extend_from_slice(b"Content-Length: 7\r\n\r\n{\"a\":1}");
            let got = frames_of(&input);
            proptest::prop_assert_eq!(got.last(), Some(&Ok("{\"a\":1}".to_string())), "{:?}", got);
        }
    }

    #[tokio::test]
    async fn good_frames_and_every_kind_of_bad_one() {
        let input = b"Content-Length: 2\r\n\r\n{}\
Content-Length: abc\r\n\r\n{\"x\":1}\
Content-Length: 3\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n[1]\
X-Other: 1\r\n\r\n\
Content-Length: 20\r\n\r\n01234567890123456789\
\r\ncontent-length: 4\r\n\r\nnull";
        let got = frames(input, 10).await;
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], Ok("{}".into()));
        assert!(
            matches!(&got[1], Err((-32700, m)) if m.contains("invalid Content-Length \"abc\"")),
            "{got:?}"
        );
        // The bad frame's body had no newline: the next header is found in it.
        assert_eq!(got[2], Ok("[1]".into()));
        assert!(
            matches!(&got[3], Err((-32700, m)) if m.contains("without a Content-Length")),
            "{got:?}"
        );
        assert!(
            matches!(&got[4], Err((-32600, m)) if m.contains("20 bytes is over the limit of 10")),
            "{got:?}"
        );
        assert_eq!(got[5], Ok("null".into()));
    }

    #[tokio::test]
    async fn truncated_input_ends_cleanly() {
        assert!(
            frames(b"Content-Length: 10\r\n\r\n{}", 100)
                .await
                .is_empty()
        );
        assert!(frames(b"Content-Length: 1", 100).await.is_empty());
        assert!(frames(b"", 100).await.is_empty());
    }

    #[tokio::test]
    async fn long_garbage_lines_are_skipped_without_buffering() {
        let mut input = vec![b'x'; MAX_HEADER_LINE * 3];
        input.extend_from_slice(b"\r\n\r\nContent-Length: 2\r\n\r\n{}");
        let got = frames(&input, 100).await;
        assert!(matches!(&got[0], Err((-32700, _))), "{got:?}");
        assert_eq!(got[1], Ok("{}".into()));
    }

    #[test]
    fn classifies_messages() {
        assert!(
            matches!(classify(br#"{"jsonrpc":"2.0","id":1,"method":"atmos/status"}"#), Incoming::Request(r) if r.params() == Some(&json!({})))
        );
        assert!(
            matches!(classify(br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#), Incoming::Request(r) if r.id().is_none())
        );
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":3,"result":null}"#),
            Incoming::Response(_)
        ));
        for (body, code, id) in [
            (&b"{not json"[..], -32700, json!(null)),
            (b"[1,2]", -32600, json!(null)),
            (br#"{"jsonrpc":"2.0","id":7}"#, -32600, json!(7)),
            (
                br#"{"jsonrpc":"1.0","id":"a","method":"x"}"#,
                -32600,
                json!("a"),
            ),
            (b"\xff\xfe", -32700, json!(null)),
        ] {
            let Incoming::Invalid(r) = classify(body) else {
                panic!("{body:?} accepted")
            };
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(
                (v["error"]["code"].as_i64().unwrap(), &v["id"]),
                (code, &id),
                "{v}"
            );
        }
    }
}
