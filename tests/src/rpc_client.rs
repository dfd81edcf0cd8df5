//! A small client of the editor protocol for end-to-end tests: it runs the
//! real `atmos ai serve` and talks LSP framing (`Content-Length: N\r\n\r\n` +
//! JSON) over its stdin and stdout.
//!
//! A reader thread parses every frame the server writes and hands it over in
//! arrival order; the client sorts responses (by id) from notifications
//! (anything with a `method`), and keeps the whole arrival order in
//! [`RpcServer::received`] for ordering checks. Every wait has a timeout, so a
//! server that hangs fails the test with its stderr instead of hanging it.

use crate::project::TestProject;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any single wait lasts before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A running `atmos ai serve`.
pub struct RpcServer {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    stderr: Arc<Mutex<String>>,
    next_id: i64,
    /// Responses that arrived while waiting for another, by their id's JSON.
    stash: HashMap<String, Value>,
    /// Notifications not yet taken, oldest first.
    notes: VecDeque<Value>,
    /// Everything received so far, in arrival order.
    pub received: Vec<Value>,
}

impl RpcServer {
    /// Calls a method of the protocol with its declared params type and
    /// reads the answer as its declared result type: a field the server
    /// spells differently from `atmos-protocol` fails here.
    pub fn typed<R: atmos_protocol::Request>(&mut self, params: &R::Params) -> R::Result {
        let params = serde_json::to_value(params).expect("params serialise");
        let result = self.call(R::METHOD, params);
        serde_json::from_value(result.clone()).unwrap_or_else(|e| {
            panic!(
                "{} answered what its declared result type is not ({e}): {result}",
                R::METHOD
            )
        })
    }

    /// Starts `bin ai serve` in the project's folder, with a scrubbed
    /// environment (see [`TestProject::command`]).
    pub fn start(bin: &str, project: &TestProject) -> RpcServer {
        let mut cmd = project.command(bin);
        cmd.args(["ai", "serve"]);
        RpcServer::spawn(cmd)
    }

    /// Starts a prepared command (its args must already say `ai serve`).
    pub fn spawn(mut cmd: Command) -> RpcServer {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn atmos ai serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_frame(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        RpcServer {
            stdin: child.stdin.take(),
            child,
            incoming,
            stderr,
            next_id: 0,
            stash: HashMap::new(),
            notes: VecDeque::new(),
            received: Vec::new(),
        }
    }

    /// The server's process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `initialize` with `rootUri` = `root`, then `initialized`; returns the
    /// `initialize` result.
    pub fn initialize(&mut self, root: &Path) -> Value {
        let result = self.call(
            "initialize",
            json!({ "capabilities": {}, "rootUri": file_uri(root) }),
        );
        self.notify("initialized", json!({}));
        result
    }

    /// Writes raw bytes to the server's stdin.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(bytes)
            .and_then(|_| stdin.flush())
            .expect("write to the server");
    }

    /// Writes one framed JSON message.
    pub fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    /// Sends a request and returns its id without waiting.
    pub fn send_request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = json!(self.next_id);
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.send(&message);
        id
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and waits for its whole response.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(&id)
    }

    /// A request's `result`; fails the test on an error response.
    #[track_caller]
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        match response.get("result") {
            Some(result) if response.get("error").is_none() => result.clone(),
            _ => panic!("{method} failed: {response}\nstderr:\n{}", self.stderr()),
        }
    }

    /// A request's `error`; fails the test when it succeeds.
    #[track_caller]
    pub fn error(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        match response.get("error") {
            Some(error) => error.clone(),
            None => panic!("{method} succeeded where it should fail: {response}"),
        }
    }

    /// Waits for the response with this id (`null` for errors about frames
    /// that had no usable id).
    #[track_caller]
    pub fn response(&mut self, id: &Value) -> Value {
        let key = id.to_string();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(found) = self.stash.remove(&key) {
                return found;
            }
            let message = self.next_message(deadline, &format!("the response to request {id}"));
            self.sort(message);
        }
    }

    /// The next notification (of any method), waiting for it.
    #[track_caller]
    pub fn notification(&mut self) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(note) = self.notes.pop_front() {
                return note;
            }
            let message = self.next_message(deadline, "a notification");
            self.sort(message);
        }
    }

    /// The notifications received so far (without waiting), oldest first.
    pub fn take_notifications(&mut self) -> Vec<Value> {
        while let Ok(message) = self.incoming.try_recv() {
            self.sort(message);
        }
        self.notes.drain(..).collect()
    }

    /// Waits until a notification for which `matches` holds has arrived and
    /// returns the ones received up to it (it included), oldest first.
    #[track_caller]
    pub fn notifications_until(&mut self, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut taken = Vec::new();
        loop {
            let note = self.notification();
            let done = matches(&note);
            taken.push(note);
            if done {
                return taken;
            }
        }
    }

    /// `shutdown`, then `exit`; returns how the process ended.
    #[track_caller]
    pub fn shutdown(mut self) -> ExitStatus {
        self.call("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.wait()
    }

    /// Closes stdin (EOF) and waits for the process to end.
    #[track_caller]
    pub fn close(mut self) -> ExitStatus {
        self.stdin = None;
        self.wait()
    }

    /// Waits for the process to end (fails the test after [`TIMEOUT`]).
    #[track_caller]
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not stop\nstderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[track_caller]
    fn next_message(&mut self, deadline: Instant, what: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(message) => {
                self.received.push(message.clone());
                message
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("no {what} within {TIMEOUT:?}\nstderr:\n{}", self.stderr())
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!(
                    "the server closed stdout while waiting for {what}\nstderr:\n{}",
                    self.stderr()
                )
            }
        }
    }

    fn sort(&mut self, message: Value) {
        if message.get("method").is_some() {
            self.notes.push_back(message);
        } else {
            let id = message
                .get("id")
                .cloned()
                .unwrap_or(Value::Null)
                .to_string();
            self.stash.insert(id, message);
        }
    }
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `file://` URI of a path, percent-encoding what a URI path cannot hold.
pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(b as char)
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri
}

/// Reads one LSP frame; `None` at EOF or on a frame that cannot be read.
fn read_frame(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    match serde_json::from_slice(&body) {
        Ok(v) => Some(v),
        Err(e) => Some(json!({ "clientError": format!("the server wrote invalid JSON: {e}") })),
    }
}
