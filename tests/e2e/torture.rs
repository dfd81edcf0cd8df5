//! The torture suite (issue 13): SQLite promises atomic commits and crash
//! safety; these tests check, through the real binary, that atmos keeps them.
//!
//! - `kills`: 60 SIGKILLs at random points of streaming turns (CLI and server),
//!   compactions and imports; after each: `PRAGMA integrity_check`, the FTS
//!   index's own integrity check, every user message at most once, no reply
//!   cut short unless marked interrupted, the counters (messages, archived,
//!   summaries, tokens) equal to the rows, and
//!   an immediate next turn.
//! - `racing_processes`: two servers and two CLIs, 100 turns each over shared
//!   and separate sessions, then racing creates, renames and evictions: exact
//!   counts, no duplicates, no interleaving, busy refusals counted, names
//!   unique.
//!
//! Random choices come from a seed (printed; `ATMOS_TORTURE_SEED` replays
//! one). The figures of a run are printed on stderr and kept in
//! docs/reliability.md.

use atmos_tests::fake_provider::FakeProvider;
use atmos_tests::project::{Run, TestProject};
use atmos_tests::rpc_client::RpcServer;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");

/// xorshift64*: small, seedable, good enough to pick kill points.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("ATMOS_TORTURE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(7, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("torture seed: {seed} (ATMOS_TORTURE_SEED={seed} replays it)");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn config(fake: &FakeProvider) -> String {
    format!(
        "ai:\n  default_provider: anthropic\n  max_history_messages: 8\n  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_TEST_KEY\n  sessions:\n    enabled: true\n    max_sessions: 0\n    auto_compact:\n      enabled: true\n      preserve_recent: 2\n      use_ai_summary: true\n",
        fake.base_url()
    )
}

fn atmos(p: &TestProject, args: &[&str]) -> Command {
    let mut cmd = p.command(ATMOS);
    cmd.env("ATMOS_TEST_KEY", "k").args(args);
    cmd
}

fn kill9(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// Every invariant of a database after a crash; returns what it found.
/// Replies are the fake's echoes (`echo: QUESTION`), so a whole one is known.
fn check(p: &TestProject) -> Checked {
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "PRAGMA integrity_check");
    conn.execute(
        "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')",
        [],
    )
    .expect("the search index matches the messages");
    // Counters equal the rows.
    let mut stmt = conn
        .prepare(
            "SELECT s.name, s.message_count, s.archived_count, s.summary_count, \
             s.input_tokens, s.output_tokens, \
             (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id AND m.is_summary = 0), \
             (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id AND m.is_summary = 0 AND m.archived = 1), \
             (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id AND m.is_summary = 1), \
             (SELECT COALESCE(SUM(input_tokens), 0) FROM messages m WHERE m.session_id = s.id), \
             (SELECT COALESCE(SUM(output_tokens), 0) FROM messages m WHERE m.session_id = s.id) \
             FROM sessions s",
        )
        .unwrap();
    let rows: Vec<(String, [i64; 10])> = stmt
        .query_map([], |r| {
            let mut c = [0i64; 10];
            for (i, v) in c.iter_mut().enumerate() {
                *v = r.get(i + 1)?;
            }
            Ok((r.get(0)?, c))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (name, c) in &rows {
        assert_eq!(
            c[..5],
            c[5..],
            "counters of {name} (messages, archived, summaries, tokens in and out)"
        );
    }
    // Each question at most once; each reply whole unless interrupted.
    let mut stmt = conn
        .prepare(
            "SELECT s.name, m.role, m.content, m.interrupted FROM messages m \
             JOIN sessions s ON s.id = m.session_id WHERE m.is_summary = 0 ORDER BY m.id",
        )
        .unwrap();
    let messages: Vec<(String, String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut questions = HashSet::new();
    let mut interrupted = 0;
    let mut last_question: HashMap<&str, &str> = HashMap::new();
    for (session, role, content, cut) in &messages {
        if !session.starts_with('s') {
            continue; // imported sessions hold their file's text
        }
        if role == "user" {
            assert!(
                questions.insert(content.clone()),
                "{content:?} stored twice"
            );
            last_question.insert(session, content);
        } else if *cut {
            interrupted += 1;
        } else {
            // An echo of the question (two questions in a row, the first
            // left without a reply, are sent joined: it ends with the last).
            let q = last_question.get(session.as_str()).copied().unwrap_or("");
            assert!(
                content.starts_with("echo: ") && content.ends_with(q),
                "{session}: a reply not marked interrupted is whole: {content:?} after {q:?}"
            );
        }
    }
    Checked {
        messages: messages.len(),
        interrupted,
    }
}

struct Checked {
    messages: usize,
    interrupted: usize,
}

#[test]
fn kills() {
    let mut rng = Rng::from_env();
    // Echo replies, each in three pieces 250 ms apart (stored while they
    // stream every 500 ms): every kill point of a streaming reply is
    // reachable, checkpointed ones included, and a whole reply is known.
    let fake = FakeProvider::start_with_delay(Duration::from_millis(250));
    let p = TestProject::new(&config(&fake));
    let history = p.root().join("history.json");
    let imported: Vec<serde_json::Value> = (0..400)
        .map(|i| {
            json!({"role": if i % 2 == 0 { "user" } else { "assistant" },
                   "content": format!("imported {i}: the staging VPC uses 10.{}.0.0/16", i % 250)})
        })
        .collect();
    std::fs::write(
        &history,
        json!({"version": "1.0", "session": {"name": "seed", "provider": "anthropic", "model": "m"},
               "messages": imported, "statistics": {"message_count": 400}})
        .to_string(),
    )
    .unwrap();
    let (mut kills, mut by_kind) = (0, HashMap::<&str, usize>::new());
    let started = Instant::now();
    for n in 0..60 {
        let kind = ["ask", "ask", "serve", "compact", "import"][rng.below(5) as usize];
        let session = format!("s{}", n % 3);
        let question = format!("q{n}: {}", "what about the staging VPC? ".repeat(3));
        let mut server: Option<RpcServer> = None;
        let mut child: Option<std::process::Child> = None;
        let quiet = |mut cmd: Command| {
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let pid = match kind {
            "ask" => child
                .insert(quiet(atmos(
                    &p,
                    &["ai", "ask", "--session", &session, &question],
                )))
                .id(),
            "serve" => {
                let mut s = RpcServer::spawn(atmos(&p, &["ai", "serve"]));
                s.initialize(p.root());
                s.call(
                    "atmos/session/resume",
                    json!({"name": session, "createIfMissing": true}),
                );
                s.send_request("atmos/chat", json!({"name": session, "message": question}));
                let pid = s.pid();
                server = Some(s);
                pid
            }
            "compact" => child
                .insert(quiet(atmos(&p, &["ai", "sessions", "compact", &session])))
                .id(),
            _ => child
                .insert(quiet(atmos(
                    &p,
                    &[
                        "ai",
                        "sessions",
                        "import",
                        history.to_str().unwrap(),
                        "--name",
                        &format!("imported-{n}"),
                    ],
                )))
                .id(),
        };
        std::thread::sleep(Duration::from_millis(rng.below(900)));
        kill9(pid);
        // Reaped: gone for good before the checks (a server by its client).
        if let Some(mut c) = child {
            let _ = c.wait();
        }
        if let Some(mut s) = server {
            s.wait();
        }
        kills += 1;
        *by_kind.entry(kind).or_default() += 1;
        check(&p);
        // The next turn works at once: nothing the killed process held is
        // left locked.
        let next = format!("after kill {n}");
        let out = Run::from(
            atmos(&p, &["ai", "ask", "--session", &session, &next])
                .output()
                .unwrap(),
        );
        assert!(
            out.ok().ends_with(&format!("{next}\n")),
            "the turn after kill {n} ({kind}): {}",
            out.stdout
        );
    }
    let last = check(&p);
    eprintln!(
        "torture kills: {kills} SIGKILLs ({by_kind:?}) in {:.1} s; {} messages stored, {} replies kept interrupted; integrity ok after each",
        started.elapsed().as_secs_f64(),
        last.messages,
        last.interrupted
    );
    assert!(kills >= 50);
}

#[test]
fn racing_processes() {
    let fake = FakeProvider::start();
    let p = TestProject::new(
        &config(&fake)
            .replace("  max_history_messages: 8\n", "  max_history_messages: 0\n")
            .replace(
                "      enabled: true\n      preserve_recent",
                "      enabled: false\n      preserve_recent",
            ),
    );
    for name in ["shared", "cli-0", "cli-1", "srv-0", "srv-1"] {
        Run::from(
            atmos(&p, &["ai", "sessions", "create", name])
                .output()
                .unwrap(),
        )
        .ok();
    }
    let started = Instant::now();
    let turns = 100;
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..2 {
        // A CLI: one process per turn.
        let root = p.root().to_path_buf();
        let busy = busy.clone();
        workers.push(std::thread::spawn(move || {
            let mut done = Vec::new();
            for n in 0..turns {
                let session = if n % 2 == 0 {
                    "shared".to_string()
                } else {
                    format!("cli-{w}")
                };
                let q = format!("cli{w}-{n}");
                let mut cmd = Command::new(ATMOS);
                cmd.current_dir(&root)
                    .env("HOME", &root)
                    .env("ATMOS_TEST_KEY", "k")
                    .env("NO_COLOR", "1")
                    .stdin(Stdio::null())
                    .args(["ai", "ask", "--session", &session, &q]);
                let out = cmd.output().unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                if out.status.success() {
                    done.push((session, q));
                } else if err.contains("busy") {
                    busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                } else {
                    panic!("cli {w} turn {n}: {err}");
                }
            }
            done
        }));
    }
    for w in 0..2 {
        // A server: one process, its turns one after the other.
        let mut cmd = Command::new(ATMOS);
        cmd.current_dir(p.root())
            .env("HOME", p.root())
            .env("ATMOS_TEST_KEY", "k")
            .args(["ai", "serve"]);
        let mut s = RpcServer::spawn(cmd);
        s.initialize(p.root());
        let busy = busy.clone();
        workers.push(std::thread::spawn(move || {
            let mut done = Vec::new();
            for n in 0..turns {
                let session = if n % 2 == 0 {
                    "shared".to_string()
                } else {
                    format!("srv-{w}")
                };
                let q = format!("srv{w}-{n}");
                let answer = s.request("atmos/chat", json!({"name": session, "message": q}));
                match answer["error"]["code"].as_i64() {
                    None => done.push((session, q)),
                    Some(1009) => {
                        busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Some(_) => panic!("server {w} turn {n}: {answer}"),
                }
            }
            s.shutdown();
            done
        }));
    }
    let mut done: Vec<(String, String)> = Vec::new();
    for w in workers {
        done.extend(w.join().unwrap());
    }
    let refused = busy.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        done.len() + refused,
        4 * turns,
        "every turn either ran or was refused as busy"
    );
    // Exact counts, no duplicates, no interleaving: each session is its
    // questions, each followed at once by its own reply.
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    for session in ["shared", "cli-0", "cli-1", "srv-0", "srv-1"] {
        let mut stmt = conn
            .prepare(
                "SELECT m.role, m.content FROM messages m JOIN sessions s ON s.id = m.session_id \
                 WHERE s.name = ?1 ORDER BY m.id",
            )
            .unwrap();
        let rows: Vec<(String, String)> = stmt
            .query_map([session], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let expected: Vec<&String> = done
            .iter()
            .filter(|(s, _)| s == session)
            .map(|(_, q)| q)
            .collect();
        assert_eq!(rows.len(), 2 * expected.len(), "{session}: two rows a turn");
        let mut seen = HashSet::new();
        for pair in rows.chunks(2) {
            let (q, a) = (&pair[0], &pair[1]);
            assert_eq!(q.0, "user", "{session}: {pair:?}");
            assert_eq!(a.0, "assistant", "{session}: {pair:?}");
            assert_eq!(
                a.1,
                format!("echo: {}", q.1),
                "{session}: a reply follows its question"
            );
            assert!(seen.insert(q.1.clone()), "{session}: {} twice", q.1);
        }
        let want: HashSet<String> = expected.iter().map(|q| q.to_string()).collect();
        assert_eq!(seen, want, "{session}: exactly the turns that ran");
    }
    // Racing creates, then racing renames: names stay unique.
    let race = |args: fn(usize) -> Vec<String>| {
        let mut racers = Vec::new();
        for _ in 0..4 {
            let root = p.root().to_path_buf();
            racers.push(std::thread::spawn(move || {
                let mut won = 0;
                for k in 0..15 {
                    let out = Command::new(ATMOS)
                        .current_dir(&root)
                        .env("HOME", &root)
                        .stdin(Stdio::null())
                        .args(args(k))
                        .output()
                        .unwrap();
                    let err = String::from_utf8_lossy(&out.stderr);
                    if out.status.success() {
                        won += 1;
                    } else {
                        assert!(
                            err.contains("already exists") || err.contains("not found"),
                            "{:?}: {err}",
                            args(k)
                        );
                    }
                }
                won
            }));
        }
        racers.into_iter().map(|r| r.join().unwrap()).sum::<usize>()
    };
    let made = race(|k| {
        ["ai", "sessions", "create"]
            .map(String::from)
            .into_iter()
            .chain([format!("race-{k}")])
            .collect()
    });
    assert_eq!(made, 15, "each name created once");
    let renamed = race(|k| {
        ["ai", "sessions", "rename"]
            .map(String::from)
            .into_iter()
            .chain([format!("race-{k}"), format!("renamed-{k}")])
            .collect()
    });
    assert_eq!(renamed, 15, "each session renamed once");
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let unique: HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // Evictions racing new sessions under a limit.
    std::fs::write(
        p.root().join("atmos.yaml"),
        std::fs::read_to_string(p.root().join("atmos.yaml"))
            .unwrap()
            .replace("    max_sessions: 0\n", "    max_sessions: 10\n"),
    )
    .unwrap();
    let mut evictors = Vec::new();
    for w in 0..4 {
        let root = p.root().to_path_buf();
        evictors.push(std::thread::spawn(move || {
            for k in 0..5 {
                let out = Command::new(ATMOS)
                    .current_dir(&root)
                    .env("HOME", &root)
                    .stdin(Stdio::null())
                    .args(["ai", "sessions", "create", &format!("late-{w}-{k}")])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }));
    }
    for e in evictors {
        e.join().unwrap();
    }
    let left: i64 = conn
        .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 10, "evictions keep max_sessions");
    eprintln!(
        "torture racing: 4 processes × {turns} turns in {:.1} s: {} ran, {refused} refused as busy; 60 racing creates made 15; 20 creates under max_sessions 10 left 10",
        started.elapsed().as_secs_f64(),
        done.len()
    );
}
