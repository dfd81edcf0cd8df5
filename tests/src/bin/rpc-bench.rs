//! `rpc-bench ATMOS`: measures the editor server (`ATMOS ai serve`, a release
//! build) over its stdio and prints a markdown section for docs/benchmarks.md:
//!
//! 1. requests per second and latency of `atmos/session/list` with 1,000
//!    sessions, one request in flight and 64 in flight;
//! 2. the latency the server adds between the fake provider writing a delta
//!    and this process reading the matching `atmos/chat/delta` notification
//!    (both clocks are this process's, so the two instants subtract);
//! 3. the server's VmRSS and VmHWM idle after `initialize` and over 10,000
//!    chat turns;
//! 4. live sessions: from this process committing a message to a session
//!    (another process, as a TUI or a second server would) to reading the
//!    server's `atmos/session/updated` for it, with 1 and 1,000 sessions.
//!
//! Everything runs on 127.0.0.1 in throwaway projects. Every loop is bounded in
//! count, every wait by [`WAIT`] and every phase by [`PHASE`]; on any failure
//! it says what went wrong on stderr and exits 1.
//!
//! The client here is its own (rather than `atmos_tests::rpc_client`) so that
//! its reader thread can stamp each frame the moment it has been read, before
//! it is parsed or queued, and so that the server's pid is at hand for /proc.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atmos_tests::fake_provider::{FakeProvider, Reply};
use atmos_tests::project::TestProject;
use atmos_tests::rpc_client::file_uri;
use serde_json::{Value, json};

/// Longest wait for any one message from the server.
const WAIT: Duration = Duration::from_secs(30);
/// Longest any phase may run.
const PHASE: Duration = Duration::from_secs(300);

const SESSIONS: usize = 1_000;
const LIST_WARMUP: usize = 200;
const LIST_REQUESTS: usize = 2_000;
const LIST_IN_FLIGHT: usize = 64;

const DELTA_DELAY: Duration = Duration::from_millis(20);
const DELTA_TURNS: usize = 50;
const DELTAS_PER_TURN: usize = 5;

const MEMORY_TURNS: usize = 10_000;
const MEMORY_SESSIONS: usize = 10;

type Res<T> = Result<T, String>;

fn main() {
    let Some(atmos) = std::env::args().nth(1) else {
        eprintln!(
            "usage: rpc-bench PATH_TO_ATMOS [live]   (e.g. target/release/atmos; live: only the live-sessions phase)"
        );
        std::process::exit(2);
    };
    // The server runs in the project's folder: make a relative path absolute.
    let atmos = match std::fs::canonicalize(&atmos) {
        Ok(path) if path.is_file() => path.to_string_lossy().into_owned(),
        _ => {
            eprintln!(
                "rpc-bench: {atmos} is not a file; build it with `cargo build --release -p atmos-cli`"
            );
            std::process::exit(2);
        }
    };
    // `rpc-bench ATMOS live`: only the live-sessions phase.
    let only_live = std::env::args().nth(2).as_deref() == Some("live");
    if let Err(e) = run(&atmos, only_live) {
        eprintln!("rpc-bench: {e}");
        std::process::exit(1);
    }
}

fn run(atmos: &str, only_live: bool) -> Res<()> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (list, delta, memory) = match only_live {
        true => (Vec::new(), Vec::new(), Vec::new()),
        false => (
            bench_list(atmos)?,
            bench_delta(atmos)?,
            bench_memory(atmos)?,
        ),
    };
    let live: Vec<(usize, Vec<Duration>)> = [1, SESSIONS]
        .into_iter()
        .map(|n| bench_live(atmos, n).map(|d| (n, d)))
        .collect::<Res<_>>()?;
    if only_live {
        print!("{}", live_section(&live));
        return Ok(());
    }

    let mut out = String::new();
    out.push_str("## Editor server (atmos ai serve)\n\n");
    out.push_str(&format!(
        "`rpc-bench` (tests/src/bin/rpc-bench.rs) against `{atmos}`, {cores} cores. The client \
         (one process: writer, reader thread, fake provider on 127.0.0.1) shares the cores \
         with the server. Latency runs from writing a request to having read its whole \
         response frame (stamped by the reader thread before parsing); the client parses \
         every frame into `serde_json::Value` unless a row says otherwise.\n\n"
    ));

    out.push_str(&format!(
        "### `atmos/session/list`, {} sessions, over stdio\n\n",
        thousands(SESSIONS)
    ));
    out.push_str(&format!(
        "{} requests after {} of warm-up, per row.\n\n",
        thousands(LIST_REQUESTS),
        LIST_WARMUP
    ));
    out.push_str(
        "The server answers a listing from JSON it keeps while the database is unchanged \
         (`server/rpc/src/listing.rs`); the warm-up leaves it kept, so these rows measure \
         that path. \"client parses\": the client builds every answer as a \
         `serde_json::Value`, as an editor does; \"id only\": it finds each answer's id and \
         skips the rest, so the rate is the server's and the pipe's.\n\n",
    );
    out.push_str(
        "| params | response | client | in flight | req/s | p50 | p99 |\n|---|---|---|---|---|---|---|\n",
    );
    for r in &list {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            r.params,
            r.response,
            if r.parsed { "parses" } else { "id only" },
            r.in_flight,
            thousands(r.per_second.round() as usize),
            ms(r.p50),
            ms(r.p99)
        ));
    }

    out.push_str("\n### Provider delta → `atmos/chat/delta`\n\n");
    out.push_str(&format!(
        "From the fake provider (Anthropic SSE) writing a delta to this process reading the \
         matching notification: {} turns × {} deltas = {} deltas, {} ms between deltas, one \
         session, one turn at a time.\n\n",
        DELTA_TURNS,
        DELTAS_PER_TURN,
        delta.len(),
        DELTA_DELAY.as_millis()
    ));
    let mut d = delta.clone();
    d.sort();
    out.push_str("| p50 | p90 | p99 | max |\n|---|---|---|---|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} |\n",
        ms(pct(&d, 0.50)),
        ms(pct(&d, 0.90)),
        ms(pct(&d, 0.99)),
        ms(*d.last().unwrap_or(&Duration::ZERO))
    ));

    out.push_str("\n### Resident memory of the server\n\n");
    out.push_str(&format!(
        "`sessions.enabled: true`, `max_history_messages: 50`, instant fake provider; \
         {} turns over {} sessions, one turn in flight per session ({} at once). \
         From /proc/<pid>/status.\n\n",
        thousands(MEMORY_TURNS),
        MEMORY_SESSIONS,
        MEMORY_SESSIONS
    ));
    out.push_str("| when | VmRSS | VmHWM |\n|---|---|---|\n");
    for (when, rss, hwm) in &memory {
        out.push_str(&format!("| {when} | {} | {} |\n", mib(*rss), mib(*hwm)));
    }
    out.push_str(&live_section(&live));
    print!("{out}");
    Ok(())
}

// ---------------------------------------------------------------- phases

struct ListRow {
    params: String,
    response: String,
    /// Whether the client parsed each answer whole (as an editor does) or
    /// only found its id (the server's own rate).
    parsed: bool,
    in_flight: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn bench_list(atmos: &str) -> Res<Vec<ListRow>> {
    let phase = Instant::now() + PHASE;
    let p = TestProject::new("ai:\n  sessions:\n    enabled: true\n    max_sessions: 0\n");
    let mut s = Server::start(atmos, &p, &[])?;
    s.initialize(p.root())?;
    let names: Vec<String> = (1..=SESSIONS).map(|i| format!("s{i:04}")).collect();
    let creates = names
        .iter()
        .map(|n| ("atmos/session/create", json!({ "name": n })))
        .collect::<Vec<_>>();
    s.pipeline(&creates, LIST_IN_FLIGHT, phase)?;
    let first = s.call("atmos/session/list", json!({}))?;
    if first["total"] != json!(SESSIONS) {
        return Err(format!(
            "expected {SESSIONS} sessions, the list says {first}"
        ));
    }

    let mut rows = Vec::new();
    for params in [json!({}), json!({ "limit": 50 })] {
        let one = s.call("atmos/session/list", params.clone())?;
        let listed = one["sessions"].as_array().map_or(0, Vec::len);
        let bytes = one.to_string().len();
        let warm: Vec<_> = (0..LIST_WARMUP)
            .map(|_| ("atmos/session/list", params.clone()))
            .collect();
        s.pipeline(&warm, 1, phase)?;
        for (parsed, in_flight) in [
            (true, 1),
            (true, LIST_IN_FLIGHT),
            (false, 1),
            (false, LIST_IN_FLIGHT),
        ] {
            s.skim.store(!parsed, std::sync::atomic::Ordering::Relaxed);
            let reqs: Vec<_> = (0..LIST_REQUESTS)
                .map(|_| ("atmos/session/list", params.clone()))
                .collect();
            let run = s.pipeline(&reqs, in_flight, phase)?;
            let mut lat = run.latencies.clone();
            lat.sort();
            rows.push(ListRow {
                params: params.to_string(),
                response: format!(
                    "{} sessions, {} KB",
                    thousands(listed),
                    bytes.div_ceil(1024)
                ),
                parsed,
                in_flight,
                per_second: LIST_REQUESTS as f64 / run.elapsed.as_secs_f64(),
                p50: pct(&lat, 0.50),
                p99: pct(&lat, 0.99),
            });
        }
        s.skim.store(false, std::sync::atomic::Ordering::Relaxed);
    }
    s.shutdown()?;
    Ok(rows)
}

fn provider_config(fake: &FakeProvider, extra: &str) -> String {
    format!(
        "ai:\n  default_provider: anthropic\n{extra}  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_BENCH_KEY\n  sessions:\n    enabled: true\n    max_sessions: 0\n",
        fake.base_url()
    )
}

/// One added latency per delta.
fn bench_delta(atmos: &str) -> Res<Vec<Duration>> {
    let phase = Instant::now() + PHASE;
    let fake = FakeProvider::start_with_delay(DELTA_DELAY);
    let p = TestProject::new(&provider_config(&fake, ""));
    let mut s = Server::start(atmos, &p, &[("ATMOS_BENCH_KEY", "bench")])?;
    s.initialize(p.root())?;
    s.call("atmos/session/create", json!({ "name": "latency" }))?;
    let mut added = Vec::new();
    for turn in 0..DELTA_TURNS {
        let pieces: Vec<String> = (0..DELTAS_PER_TURN)
            .map(|k| format!("piece {k} of turn {turn}; "))
            .collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        fake.push_reply(Reply::new(&pieces, 100, DELTAS_PER_TURN as u64));
        let before = fake.delta_instants().len();
        let id = s.send(
            "atmos/chat",
            json!({ "name": "latency", "message": format!("turn {turn}"), "token": turn }),
        )?;
        let mut arrived: Vec<Option<Instant>> = vec![None; DELTAS_PER_TURN];
        loop {
            let (at, msg) = s.recv(phase)?;
            if msg["method"] == "atmos/chat/delta" && msg["params"]["token"] == json!(turn) {
                let index = msg["params"]["index"].as_u64().unwrap_or(u64::MAX) as usize;
                if let Some(slot) = arrived.get_mut(index) {
                    *slot = Some(at);
                }
            } else if msg["id"] == id {
                if msg.get("error").is_some() {
                    return Err(format!("atmos/chat failed: {msg}\n{}", s.stderr()));
                }
                break;
            }
        }
        let written = fake.delta_instants();
        let written = written.get(before..).unwrap_or(&[]);
        if written.len() != DELTAS_PER_TURN {
            return Err(format!(
                "turn {turn}: the fake wrote {} deltas, expected {DELTAS_PER_TURN}",
                written.len()
            ));
        }
        for (k, w) in written.iter().enumerate() {
            let at = arrived[k].ok_or(format!("turn {turn}: no delta {k} arrived"))?;
            added.push(at.saturating_duration_since(*w));
        }
    }
    s.shutdown()?;
    Ok(added)
}

/// The markdown of the live-sessions phase.
fn live_section(live: &[(usize, Vec<Duration>)]) -> String {
    let mut out = String::new();
    out.push_str("\n### Live sessions across processes\n\n");
    out.push_str(&format!(
        "From this process committing a message to a followed session (its own SQLite \
         connection: another process, as the TUI, `atmos ai ask` or a second server is) to \
         reading the server's `atmos/session/updated` carrying it. {LIVE_COMMITS} commits, each \
         after a pause of 0–{} ms (so that commits fall anywhere in the server's {} ms poll).\n\n",
        LIVE_MAX_PAUSE.as_millis(),
        atmos_ai::watch::POLL_INTERVAL.as_millis()
    ));
    out.push_str("| sessions in the database | p50 | p90 | p99 | max |\n|---|---|---|---|---|\n");
    for (n, d) in live {
        let mut d = d.clone();
        d.sort();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            thousands(*n),
            ms(pct(&d, 0.50)),
            ms(pct(&d, 0.90)),
            ms(pct(&d, 0.99)),
            ms(*d.last().unwrap_or(&Duration::ZERO))
        ));
    }
    out
}

const LIVE_COMMITS: usize = 100;
const LIVE_MAX_PAUSE: Duration = Duration::from_millis(150);

/// Commit-to-notification latencies of a followed session, with `sessions`
/// sessions in the database.
fn bench_live(atmos: &str, sessions: usize) -> Res<Vec<Duration>> {
    let phase = Instant::now() + PHASE;
    let p = TestProject::new("ai:\n  sessions:\n    enabled: true\n    max_sessions: 0\n");
    let mut s = Server::start(atmos, &p, &[])?;
    s.initialize(p.root())?;
    let creates: Vec<_> = (1..sessions)
        .map(|i| {
            (
                "atmos/session/create",
                json!({ "name": format!("other-{i:04}") }),
            )
        })
        .collect();
    s.pipeline(&creates, LIST_IN_FLIGHT, phase)?;
    let created = s.call("atmos/session/create", json!({ "name": "live" }))?;
    let id = created["session"]["id"]
        .as_str()
        .ok_or("no session id")?
        .to_string();
    s.call("atmos/session/subscribe", json!({ "name": "live" }))?;
    let mut db = rusqlite::Connection::open(p.db_path()).map_err(|e| e.to_string())?;
    db.busy_timeout(WAIT).map_err(|e| e.to_string())?;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::new();
    for i in 0..LIVE_COMMITS {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        std::thread::sleep(LIVE_MAX_PAUSE.mul_f64((seed >> 33) as f64 / (1u64 << 31) as f64));
        let text = format!("live {i}");
        let tx = db.transaction().map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO messages (session_id, role, content, created_at) VALUES (?1, 'user', ?2, ?3)",
            rusqlite::params![id, text, chrono::Utc::now().timestamp_millis()],
        )
        .map_err(|e| e.to_string())?;
        tx.execute(
            "UPDATE sessions SET message_count = message_count + 1 WHERE id = ?1",
            [&id],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        let committed = Instant::now();
        loop {
            let (at, msg) = s.recv(phase)?;
            let carries = msg["method"] == "atmos/session/updated"
                && msg["params"]["messages"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["content"] == json!(text)));
            if carries {
                out.push(at.saturating_duration_since(committed));
                break;
            }
        }
    }
    s.shutdown()?;
    Ok(out)
}

/// (when, VmRSS kB, VmHWM kB) rows.
fn bench_memory(atmos: &str) -> Res<Vec<(String, u64, u64)>> {
    let phase = Instant::now() + PHASE;
    let fake = FakeProvider::start();
    let p = TestProject::new(&provider_config(&fake, "  max_history_messages: 50\n"));
    let mut s = Server::start(atmos, &p, &[("ATMOS_BENCH_KEY", "bench")])?;
    s.initialize(p.root())?;
    std::thread::sleep(Duration::from_millis(500));
    let mut rows = Vec::new();
    let (rss, hwm) = s.memory()?;
    rows.push(("idle, right after `initialize`".to_string(), rss, hwm));

    let names: Vec<String> = (0..MEMORY_SESSIONS).map(|i| format!("m{i}")).collect();
    for n in &names {
        s.call("atmos/session/create", json!({ "name": n }))?;
    }
    // Turn t goes to session t % 10; a session gets its next turn only once
    // its previous one has been answered.
    let checkpoints = [100, 1_000, 2_500, 5_000, 7_500, MEMORY_TURNS];
    let mut in_flight: Vec<Option<Value>> = vec![None; MEMORY_SESSIONS];
    let mut sent = 0usize;
    let mut done = 0usize;
    let send_next = |s: &mut Server, slot: usize, sent: &mut usize| -> Res<Option<Value>> {
        if *sent >= MEMORY_TURNS {
            return Ok(None);
        }
        let t = *sent;
        *sent += 1;
        let msg = format!(
            "turn {t}: what changed in the staging VPC 10.{}.0.0/16 since yesterday?",
            t % 250
        );
        Ok(Some(s.send(
            "atmos/chat",
            json!({ "name": names[slot], "message": msg }),
        )?))
    };
    for (slot, f) in in_flight.iter_mut().enumerate() {
        *f = send_next(&mut s, slot, &mut sent)?;
    }
    while done < MEMORY_TURNS {
        let (_, msg) = s.recv(phase)?;
        if msg.get("method").is_some() {
            continue;
        }
        let Some(slot) = in_flight
            .iter()
            .position(|f| f.as_ref() == Some(&msg["id"]))
        else {
            continue;
        };
        if msg.get("error").is_some() {
            return Err(format!("atmos/chat failed: {msg}\n{}", s.stderr()));
        }
        done += 1;
        in_flight[slot] = send_next(&mut s, slot, &mut sent)?;
        if checkpoints.contains(&done) {
            let (rss, hwm) = s.memory()?;
            rows.push((format!("after {} turns", thousands(done)), rss, hwm));
        }
    }
    let listed = s.call("atmos/session/list", json!({}))?;
    let stored: u64 = listed["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["messageCount"].as_u64())
        .sum();
    if stored != 2 * MEMORY_TURNS as u64 {
        return Err(format!(
            "expected {} stored messages, found {stored}",
            2 * MEMORY_TURNS
        ));
    }
    s.shutdown()?;
    Ok(rows)
}

// ---------------------------------------------------------------- client

/// What [`Server::pipeline`] measured.
struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// A response read for its id only: the result is checked to be JSON and
/// skipped, not built.
#[derive(serde::Deserialize)]
struct Skimmed {
    id: Option<Value>,
    method: Option<String>,
    error: Option<Value>,
    result: Option<serde::de::IgnoredAny>,
}

impl Skimmed {
    fn value(self) -> Value {
        let mut v = json!({ "id": self.id });
        if let Some(m) = self.method {
            v["method"] = json!(m);
        }
        if let Some(e) = self.error {
            v["error"] = e;
        }
        if self.result.is_some() {
            v["result"] = json!(true);
        }
        v
    }
}

/// `atmos ai serve` on a pipe; a reader thread stamps each frame on arrival.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<(Instant, Value)>,
    /// When set, the reader skims responses: it finds the id and whether
    /// there is a result or an error without building the result's value.
    skim: Arc<std::sync::atomic::AtomicBool>,
    stderr: Arc<Mutex<String>>,
    next_id: i64,
}

impl Server {
    fn start(atmos: &str, p: &TestProject, env: &[(&str, &str)]) -> Res<Server> {
        let mut cmd = p.command(atmos);
        cmd.args(["ai", "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {atmos} ai serve: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr_pipe = child.stderr.take().ok_or("no stderr")?;
        let (tx, incoming) = channel();
        let skim = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let skimming = skim.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, stdout);
            while let Some(body) = read_frame(&mut reader) {
                let at = Instant::now();
                let parsed = if skimming.load(std::sync::atomic::Ordering::Relaxed) {
                    serde_json::from_slice::<Skimmed>(&body).map(Skimmed::value)
                } else {
                    serde_json::from_slice(&body)
                };
                let value = parsed.unwrap_or_else(|e| json!({ "clientError": e.to_string() }));
                if tx.send((at, value)).is_err() {
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
                let mut all = sink.lock().unwrap();
                if all.len() < 64 * 1024 {
                    all.push_str(&line);
                }
                line.clear();
            }
        });
        Ok(Server {
            stdin: child.stdin.take(),
            child,
            incoming,
            skim,
            stderr,
            next_id: 0,
        })
    }

    fn stderr(&self) -> String {
        format!("server stderr:\n{}", self.stderr.lock().unwrap())
    }

    fn initialize(&mut self, root: &Path) -> Res<()> {
        self.call(
            "initialize",
            json!({ "capabilities": {}, "rootUri": file_uri(root) }),
        )?;
        self.write(&json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }))
    }

    fn write(&mut self, message: &Value) -> Res<()> {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let stdin = self.stdin.as_mut().ok_or("stdin is closed")?;
        stdin
            .write_all(frame.as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("cannot write to the server: {e}"))
    }

    /// Sends a request; returns its id.
    fn send(&mut self, method: &str, params: Value) -> Res<Value> {
        self.next_id += 1;
        let id = json!(self.next_id);
        self.write(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))?;
        Ok(id)
    }

    /// The next message and when it was read; fails after [`WAIT`] or at `deadline`.
    fn recv(&mut self, deadline: Instant) -> Res<(Instant, Value)> {
        let now = Instant::now();
        if now >= deadline {
            return Err(format!("the phase ran over {PHASE:?}"));
        }
        match self.incoming.recv_timeout(WAIT.min(deadline - now)) {
            Ok(m) => Ok(m),
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "no message from the server in time\n{}",
                self.stderr()
            )),
            Err(RecvTimeoutError::Disconnected) => {
                Err(format!("the server closed stdout\n{}", self.stderr()))
            }
        }
    }

    /// A request's result (notifications on the way are dropped).
    fn call(&mut self, method: &str, params: Value) -> Res<Value> {
        let id = self.send(method, params)?;
        let deadline = Instant::now() + WAIT;
        loop {
            let (_, m) = self.recv(deadline)?;
            if m.get("method").is_none() && m["id"] == id {
                return match m.get("result") {
                    Some(r) if m.get("error").is_none() => Ok(r.clone()),
                    _ => Err(format!("{method} failed: {m}\n{}", self.stderr())),
                };
            }
        }
    }

    /// Sends `requests` keeping at most `in_flight` unanswered; every one must
    /// succeed. Elapsed time runs from the first write to the last response.
    fn pipeline(
        &mut self,
        requests: &[(&str, Value)],
        in_flight: usize,
        deadline: Instant,
    ) -> Res<Run> {
        let first = self.next_id + 1;
        let mut sent_at: Vec<Instant> = Vec::with_capacity(requests.len());
        let mut latencies = Vec::with_capacity(requests.len());
        let start = Instant::now();
        let mut last = start;
        while sent_at.len() < requests.len().min(in_flight) {
            let (method, params) = &requests[sent_at.len()];
            sent_at.push(Instant::now());
            self.send(method, params.clone())?;
        }
        while latencies.len() < requests.len() {
            let (at, m) = self.recv(deadline)?;
            if m.get("method").is_some() {
                continue;
            }
            let k = m["id"].as_i64().map(|id| id - first);
            let Some(k) = k.filter(|k| (0..sent_at.len() as i64).contains(k)) else {
                return Err(format!("unexpected response {m}"));
            };
            if m.get("error").is_some() || m.get("result").is_none() {
                return Err(format!(
                    "{} failed: {m}\n{}",
                    requests[k as usize].0,
                    self.stderr()
                ));
            }
            latencies.push(at.saturating_duration_since(sent_at[k as usize]));
            last = at;
            if sent_at.len() < requests.len() {
                let (method, params) = &requests[sent_at.len()];
                sent_at.push(Instant::now());
                self.send(method, params.clone())?;
            }
        }
        Ok(Run {
            elapsed: last.saturating_duration_since(start),
            latencies,
        })
    }

    /// (VmRSS, VmHWM) in kB.
    fn memory(&self) -> Res<(u64, u64)> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .ok_or(format!("no {name} in {path}"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// `shutdown`, `exit`, and the process's end (killed if it does not end).
    fn shutdown(mut self) -> Res<()> {
        self.call("shutdown", Value::Null)?;
        self.write(&json!({ "jsonrpc": "2.0", "method": "exit" }))?;
        self.stdin = None;
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(format!("the server ended with {status}\n{}", self.stderr()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("cannot wait for the server: {e}")),
            }
        }
        Err(format!(
            "the server did not end after exit\n{}",
            self.stderr()
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One LSP frame's body; `None` at EOF or on a frame that cannot be read.
fn read_frame(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut length = None;
    for _ in 0..32 {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            let mut body = vec![0; length?];
            reader.read_exact(&mut body).ok()?;
            return Some(body);
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    None
}

// ---------------------------------------------------------------- figures

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
