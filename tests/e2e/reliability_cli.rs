//! Reliability defects found from the outside (issue 13), each through the
//! real binary: a process killed or stopped mid-work, sessions in use, the
//! files it writes, and input it must refuse without echoing secrets.

use atmos_tests::fake_provider::{FakeProvider, Reply};
use atmos_tests::project::{Run, TestProject};
use atmos_tests::rpc_client::RpcServer;
use serde_json::{Value, json};
use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");

fn config(fake: &FakeProvider, extra: &str) -> String {
    format!(
        "ai:\n  default_provider: anthropic\n{extra}  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_TEST_KEY\n  sessions:\n    enabled: true\n",
        fake.base_url()
    )
}

fn atmos(p: &TestProject, args: &[&str]) -> Command {
    let mut cmd = p.command(ATMOS);
    cmd.env("ATMOS_TEST_KEY", "k").args(args);
    cmd
}

fn run(p: &TestProject, args: &[&str]) -> Run {
    Run::from(atmos(p, args).output().unwrap())
}

/// Waits (a hang guard, not a timing check) until `done` holds.
#[track_caller]
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// (content, interrupted, archived) of a session's stored messages.
fn stored(p: &TestProject, session: &str) -> Vec<(String, bool)> {
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT m.content, m.interrupted FROM messages m JOIN sessions s ON s.id = m.session_id \
             WHERE s.name = ?1 AND m.is_summary = 0 ORDER BY m.id",
        )
        .unwrap();
    stmt.query_map([session], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn is_summary_request(body: &Value) -> bool {
    body["system"]
        .as_str()
        .is_some_and(|s| s.starts_with("You compact the history"))
}

/// A session of two long turns whose compaction was SIGKILLed while its AI
/// summary was being written (the summary reply takes 20 s).
fn killed_mid_compaction(fake: &FakeProvider) -> TestProject {
    let p = TestProject::new(&config(fake, "  max_history_messages: 50\n").replace(
        "    enabled: true\n",
        "    enabled: true\n    auto_compact:\n      enabled: false\n      preserve_recent: 2\n      use_ai_summary: true\n",
    ));
    let long = "the staging VPC peers with shared services and must not overlap. ".repeat(6);
    for t in 1..=2 {
        run(
            &p,
            &["ai", "ask", "--session", "s", &format!("q{t}: {long}")],
        )
        .ok();
    }
    let mut slow = Reply::new(&["SUMMARY: prod 10.40.0.0/16"], 10, 5);
    slow.delay = Some(Duration::from_secs(20));
    fake.push_reply(slow);
    let mut compact = atmos(&p, &["ai", "sessions", "compact", "s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the summary request", || {
        fake.requests().iter().any(|r| is_summary_request(&r.body))
    });
    signal(&compact, "-KILL");
    compact.wait().unwrap();
    p
}

#[test]
fn a_compaction_killed_mid_summary_does_not_lock_the_session() {
    let fake = FakeProvider::start();
    let p = killed_mid_compaction(&fake);
    // doctor says which lock it gave back; the next turn is not refused.
    let doctor = run(&p, &["ai", "sessions", "doctor"]).ok().to_string();
    assert!(
        doctor.contains("Released the locks of ended processes on: s"),
        "{doctor}"
    );
    fake.push_reply(Reply::new(&["three"], 5, 1));
    assert_eq!(
        run(&p, &["ai", "ask", "--session", "s", "three"]).ok(),
        "three\n"
    );
}

#[test]
fn a_killed_compaction_is_taken_over_by_the_next_turn_without_doctor() {
    let fake = FakeProvider::start();
    let p = killed_mid_compaction(&fake);
    fake.push_reply(Reply::new(&["free"], 5, 1));
    assert_eq!(
        run(&p, &["ai", "ask", "--session", "s", "again"]).ok(),
        "free\n"
    );
}

#[test]
fn eviction_skips_a_session_whose_turn_is_running() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "").replace(
        "    enabled: true\n",
        "    enabled: true\n    max_sessions: 2\n",
    ));
    let mut slow = Reply::new(&["a slow ", "answer"], 5, 2);
    slow.delay = Some(Duration::from_millis(700));
    fake.push_reply(slow);
    let ask = atmos(&p, &["ai", "ask", "--session", "a", "hello"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the turn to reach the provider", || {
        !fake.requests().is_empty()
    });
    run(&p, &["ai", "sessions", "create", "b"]).ok();
    let c = run(&p, &["ai", "sessions", "create", "c"]);
    c.ok();
    // `a` is the least recently used but busy: `b` goes instead.
    assert!(c.stderr.contains("'b'"), "{}", c.stderr);
    let out = ask.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a slow answer\n");
    assert_eq!(
        stored(&p, "a"),
        [
            ("hello".to_string(), false),
            ("a slow answer".to_string(), false)
        ]
    );
}

#[test]
fn sigterm_stops_ask_and_serve_keeping_the_partial_reply() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    // ask: the first piece arrives, then SIGTERM.
    let mut slow = Reply::new(&["first piece ", "never"], 5, 2);
    slow.delay = Some(Duration::from_millis(1500));
    fake.push_reply(slow);
    let mut ask = atmos(&p, &["ai", "ask", "--session", "t", "tell me"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(ask.stdout.take().unwrap());
    let mut first = vec![0u8; "first piece ".len()];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    signal(&ask, "-TERM");
    let status = ask.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut ask.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("Stopped (SIGTERM)"), "{err}");
    assert_eq!(
        stored(&p, "t"),
        [
            ("tell me".to_string(), false),
            ("first piece ".to_string(), true)
        ]
    );

    // serve: the same for a turn of an editor.
    let mut slow = Reply::new(&["editor piece ", "never"], 5, 2);
    slow.delay = Some(Duration::from_millis(1500));
    fake.push_reply(slow);
    let mut s = RpcServer::spawn(atmos(&p, &["ai", "serve"]));
    s.initialize(p.root());
    s.call("atmos/session/create", json!({"name": "e"}));
    s.send_request(
        "atmos/chat",
        json!({"name": "e", "message": "from the editor"}),
    );
    s.notifications_until(|n| n["method"] == "atmos/chat/delta");
    let pid = s.pid();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(s.wait().code(), Some(0), "{}", s.stderr());
    assert_eq!(
        stored(&p, "e"),
        [
            ("from the editor".to_string(), false),
            ("editor piece ".to_string(), true)
        ]
    );
}

#[test]
fn flags_after_the_question_are_flags() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    fake.push_reply(Reply::new(&["kept"], 5, 1));
    run(
        &p,
        &["ai", "ask", "what is kept?", "--session", "late-flag"],
    )
    .ok();
    assert_eq!(
        stored(&p, "late-flag"),
        [
            ("what is kept?".to_string(), false),
            ("kept".to_string(), false)
        ]
    );
}

#[test]
fn exported_files_are_private_whatever_the_umask() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    run(&p, &["ai", "sessions", "create", "x"]).ok();
    for (format, file) in [("json", "x.json"), ("markdown", "x.md")] {
        let script =
            format!("umask 000; '{ATMOS}' ai sessions export x --format {format} --output {file}");
        let mut cmd = p.command("sh");
        cmd.args(["-c", &script]);
        Run::from(cmd.output().unwrap()).ok();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(p.root().join(file))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}

#[test]
fn a_key_in_api_key_env_is_never_echoed() {
    let secret = "sk-ant-api03-AbCdEf0123456789-not-real";
    let p = TestProject::new(&format!(
        "ai:\n  default_provider: anthropic\n  providers:\n    anthropic:\n      api_key_env: {secret}\n  sessions:\n    enabled: true\n"
    ));
    let out = run(&p, &["ai", "ask", "hello"]);
    let err = out.fails(1).to_string();
    assert!(!err.contains("AbCdEf0123456789"), "{err}");
    assert!(err.contains("ai.providers.anthropic.api_key_env"), "{err}");
}

#[test]
fn oversized_metadata_and_messages_are_refused_with_the_limit() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = RpcServer::spawn(atmos(&p, &["ai", "serve"]));
    s.initialize(p.root());
    let big = "x".repeat(200 * 1024);
    let err = s.request(
        "atmos/session/create",
        json!({"name": "meta", "metadata": {"notes": big}}),
    );
    assert_eq!(err["error"]["code"], -32602, "{err}");
    assert_eq!(err["error"]["data"]["field"], "metadata");
    assert!(err["error"]["message"].as_str().unwrap().contains("64 KiB"));
    s.call("atmos/session/create", json!({"name": "m"}));
    let huge = "y".repeat(5 * 1024 * 1024);
    let err = s.request("atmos/chat", json!({"name": "m", "message": huge}));
    assert_eq!(err["error"]["code"], -32602);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("4 MiB"),
        "{err}"
    );
    assert!(fake.requests().is_empty(), "nothing was sent");
    assert!(stored(&p, "m").is_empty(), "nothing was stored");
    // A listing stays small.
    let list = s.call("atmos/session/list", json!({}));
    assert!(list.to_string().len() < 4096);
}

#[test]
fn unknown_dollar_requests_are_answered_and_oversized_frames_at_once() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = RpcServer::spawn(atmos(&p, &["ai", "serve"]));
    s.initialize(p.root());
    let err = s.request("$/atmos/nothing", json!({}));
    assert_eq!(err["error"]["code"], -32601, "{err}");
    // A frame announcing more than the limit is answered from its header,
    // before (and without) its body.
    s.send_raw(b"Content-Length: 999999999\r\n\r\n");
    let answer = s.response(&Value::Null);
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit")
    );
}

#[test]
fn unframed_bytes_without_a_newline_do_not_swallow_the_next_frame() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = RpcServer::spawn(atmos(&p, &["ai", "serve"]));
    s.initialize(p.root());
    s.send_raw(&vec![b'z'; 200 * 1024]);
    let status = s.call("atmos/status", json!({}));
    assert_eq!(status["sessionsEnabled"], true, "{status}");
}

#[test]
fn a_reply_killed_mid_stream_leaves_what_arrived_and_the_next_turn_works() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut slow = Reply::new(&["one ", "two ", "three ", "four"], 5, 2);
    slow.delay = Some(Duration::from_millis(800));
    fake.push_reply(slow);
    let mut ask = atmos(&p, &["ai", "ask", "--session", "k", "count"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(ask.stdout.take().unwrap());
    let mut seen = vec![0u8; "one two three ".len()];
    std::io::Read::read_exact(&mut out, &mut seen).unwrap();
    signal(&ask, "-KILL");
    ask.wait().unwrap();
    // Stored while it streamed (every ~500 ms): at least the first two
    // pieces, marked interrupted.
    let kept = stored(&p, "k");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0], ("count".to_string(), false));
    assert!(kept[1].0.starts_with("one two "), "{kept:?}");
    assert!(kept[1].1, "marked interrupted: {kept:?}");
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // The killed process's lock is taken over at once.
    fake.push_reply(Reply::new(&["next"], 5, 1));
    assert_eq!(
        run(&p, &["ai", "ask", "--session", "k", "again"]).ok(),
        "next\n"
    );
    // A slow reply that finishes (checkpointed on the way) is one row,
    // whole, not interrupted, with its usage.
    let mut slow = Reply::new(&["slow ", "but ", "whole"], 7, 3);
    slow.delay = Some(Duration::from_millis(600));
    fake.push_reply(slow);
    assert_eq!(
        run(&p, &["ai", "ask", "--session", "k", "slowly"]).ok(),
        "slow but whole
"
    );
    let kept = stored(&p, "k");
    assert_eq!(kept.len(), 6, "{kept:?}");
    assert_eq!(kept.last().unwrap(), &("slow but whole".to_string(), false));
    let (input, output): (i64, i64) = conn
        .query_row(
            "SELECT input_tokens, output_tokens FROM messages ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((input, output), (7, 3));
}

/// A project whose database holds one session with a turn, for breaking.
fn project_with_history(fake: &FakeProvider) -> TestProject {
    let p = TestProject::new(&config(fake, ""));
    fake.push_reply(Reply::new(&["kept"], 5, 1));
    run(&p, &["ai", "ask", "--session", "keep", "remember this"]).ok();
    p
}

#[test]
fn bad_storage_gets_a_clear_error_and_the_file_is_left_as_it_was() {
    let fake = FakeProvider::start();
    let big = {
        let messages: Vec<Value> = (0..3000)
            .map(|i| {
                json!({"role": if i % 2 == 0 { "user" } else { "assistant" },
                            "content": format!("{i}: {}", "x".repeat(400))})
            })
            .collect();
        json!({"version": "1.0", "session": {"name": "big", "provider": "anthropic", "model": "m"},
               "messages": messages, "statistics": {"message_count": 3000}})
        .to_string()
    };
    // (what, how to break it, the command, what the error must say)
    type Break = fn(&TestProject);
    let cases: Vec<(&str, Break, &str)> = vec![
        (
            "not a database",
            |p| {
                std::fs::write(p.db_path(), "this is a text file, not SQLite\n".repeat(200))
                    .unwrap()
            },
            "damaged or is not a session database",
        ),
        (
            "truncated",
            |p| {
                let bytes = std::fs::read(p.db_path()).unwrap();
                std::fs::write(p.db_path(), &bytes[..bytes.len() / 3]).unwrap();
            },
            "damaged or is not a session database",
        ),
        (
            "newer schema",
            |p| {
                let conn = rusqlite::Connection::open(p.db_path()).unwrap();
                conn.pragma_update(None, "user_version", 99).unwrap();
            },
            "upgrade atmos",
        ),
        (
            ".atmos is a file",
            |p| {
                std::fs::remove_dir_all(p.root().join(".atmos")).unwrap();
                std::fs::write(p.root().join(".atmos"), "not a folder").unwrap();
            },
            "is a folder you own",
        ),
    ];
    for (what, break_it, says) in cases {
        let p = project_with_history(&fake);
        break_it(&p);
        let target = if what == ".atmos is a file" {
            p.root().join(".atmos")
        } else {
            p.db_path()
        };
        let before = std::fs::read(&target).unwrap();
        for args in [
            &["ai", "sessions", "list"][..],
            &["ai", "ask", "--session", "keep", "more"],
            &["ai", "sessions", "create", "new"],
        ] {
            let out = run(&p, args);
            let err = out.fails(1).to_string();
            assert!(err.contains(says), "{what}, {args:?}: {err}");
            assert!(!err.contains("panicked"), "{what}: {err}");
            if what != ".atmos is a file" {
                assert!(
                    err.contains(&p.db_path().display().to_string()),
                    "{what}: names the file: {err}"
                );
            }
        }
        assert_eq!(
            std::fs::read(&target).unwrap(),
            before,
            "{what}: the file is unchanged"
        );
        assert!(
            fake.requests()
                .iter()
                .all(|r| !r.body.to_string().contains("more")),
            "{what}: nothing sent"
        );
    }

    // A WAL of garbage (a crash mid-write of a bad disk): SQLite ignores
    // frames whose checksums fail; the history is whole.
    let p = project_with_history(&fake);
    std::fs::write(
        p.db_path().with_extension("db-wal"),
        vec![0xA5u8; 64 * 1024],
    )
    .unwrap();
    let shown = run(&p, &["ai", "sessions", "show", "keep"])
        .ok()
        .to_string();
    assert!(
        shown.contains("remember this") && shown.contains("kept"),
        "{shown}"
    );

    // An empty file is a new database: it is set up, not refused.
    let p = project_with_history(&fake);
    std::fs::write(p.db_path(), b"").unwrap();
    run(&p, &["ai", "sessions", "create", "fresh"]).ok();

    // Locked by another process for longer than the busy timeout (5 s).
    let p = project_with_history(&fake);
    let holder = rusqlite::Connection::open(p.db_path()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = run(&p, &["ai", "sessions", "create", "blocked"])
        .fails(1)
        .to_string();
    assert!(err.contains("locked") && err.contains("try again"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    run(&p, &["ai", "sessions", "create", "blocked"]).ok();

    // A full disk (a file size limit: SQLite's write fails as the disk's
    // would): the import is refused whole, the database keeps what it had.
    let p = project_with_history(&fake);
    let file = p.root().join("big.json");
    std::fs::write(&file, &big).unwrap();
    let before = std::fs::read(p.db_path()).unwrap();
    let script = format!(
        "trap '' XFSZ; ulimit -f 512; exec '{ATMOS}' ai sessions import '{}'",
        file.display()
    );
    let mut cmd = p.command("sh");
    cmd.args(["-c", &script]);
    let out = Run::from(cmd.output().unwrap());
    let err = out.fails(1).to_string();
    assert!(
        err.contains("the disk refused the write") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        std::fs::read(p.db_path()).unwrap(),
        before,
        "the database file is unchanged"
    );
    let shown = run(&p, &["ai", "sessions", "show", "keep"])
        .ok()
        .to_string();
    assert!(shown.contains("remember this"), "{shown}");
    assert!(!run(&p, &["ai", "sessions", "list"]).ok().contains("big"));
}

/// Hostile params for every method, and the nasty corpus as frame bodies:
/// each gets an answer (a result or a JSON-RPC error), and the server goes on.
#[test]
fn hostile_params_and_bodies_are_answered_and_the_server_goes_on() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = RpcServer::spawn(atmos(&p, &["ai", "serve"]));
    s.initialize(p.root());
    s.call("atmos/session/create", json!({"name": "victim"}));
    // Deeper nesting goes as raw bytes (the corpus): a Value this test builds
    // must stay within its own stack.
    let deep = (0..100).fold(json!(1), |v, _| json!([v]));
    let values = vec![
        Value::Null,
        json!([]),
        json!(1),
        json!("x"),
        json!({}),
        json!({"name": 123}),
        json!({"name": "victim", "id": "victim"}),
        json!({"name": "x'; DROP TABLE sessions;--"}),
        json!({"name": "a\u{0}b", "newName": "\u{0}"}),
        json!({"name": "victim", "limit": -1, "offset": 1e308, "before": "zz"}),
        json!({"name": "victim", "message": "", "context": [{"kind": "nope"}]}),
        json!({"name": "victim", "message": "hi", "context": [{"kind": "text", "text": 5}]}),
        json!({"name": "victim", "metadata": [1, 2]}),
        json!({"name": "victim", "olderThan": "-5d", "dryRun": "yes"}),
        json!({"content": "{\"version\": 1}", "format": "exe"}),
        json!({"name": "victim", "format": "markdown", "extra": deep}),
        json!({"query": "%' OR 1=1 --", "provider": "\u{202e}", "limit": 4294967296u64}),
        json!({"name": "n".repeat(100_000)}),
    ];
    let mut answered = 0;
    for method in atmos_protocol::METHODS {
        if ["initialize", "shutdown", "atmos/chat"].contains(method) {
            continue;
        }
        for params in &values {
            let answer = s.request(method, params.clone());
            assert!(
                answer.get("result").is_some() || answer["error"]["code"].is_i64(),
                "{method} {params}: {answer}"
            );
            answered += 1;
        }
    }
    // Bodies from the corpus, framed as they are.
    let nasty = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/nasty");
    for entry in std::fs::read_dir(nasty).unwrap() {
        let body = std::fs::read(entry.unwrap().path()).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        s.send_raw(&frame);
        let answer = s.response(&Value::Null);
        assert!(answer["error"]["code"].is_i64(), "{answer}");
        answered += 1;
    }
    // Still serving (some of those params were legal: `victim` may have been
    // deleted or renamed on the way), and the database sound.
    let status = s.call("atmos/status", json!({}));
    assert_eq!(status["sessionsEnabled"], true, "{status}");
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let peak = std::fs::read_to_string(format!("/proc/{}/status", s.pid()))
        .ok()
        .and_then(|st| {
            st.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    eprintln!("hostile inputs answered: {answered}; server peak memory {peak}");
    assert!(answered > 200);
}

#[test]
fn backup_is_complete_while_a_server_writes() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = RpcServer::spawn(atmos(&p, &["ai", "serve"]));
    s.initialize(p.root());
    s.call("atmos/session/create", json!({"name": "live"}));
    fake.push_reply(Reply::new(&["in the WAL"], 5, 2));
    s.call(
        "atmos/chat",
        json!({"name": "live", "message": "still open"}),
    );
    // The server keeps its connection (and the WAL) open meanwhile.
    let dest = p.root().join("copy.db");
    let out = run(&p, &["ai", "sessions", "backup", dest.to_str().unwrap()]);
    assert!(
        out.ok().starts_with("Backed up 1 session to"),
        "{}",
        out.stdout
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dest).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let conn = rusqlite::Connection::open(&dest).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let texts: Vec<String> = conn
        .prepare("SELECT content FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(texts, ["still open", "in the WAL"]);
    // The default place, beside the database; written again over an old one.
    run(&p, &["ai", "sessions", "backup"]).ok();
    run(&p, &["ai", "sessions", "backup"]).ok();
    assert!(p.db_path().with_file_name("sessions.db.backup").exists());
    s.shutdown();
}
