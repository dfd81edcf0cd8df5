//! Sessions no other tool has, end to end through the real binary (issue
//! 14): one session live across processes (two servers and the CLI),
//! pinned messages through three compactions, titles, a backup during a
//! streaming turn, and secrets kept out of every place a transcript goes.
//!
//! No assertion depends on a timing: slow replies only make sure a turn is
//! still running while the test looks, and each wait is for an event.

use atmos_tests::fake_provider::{FakeProvider, Reply};
use atmos_tests::project::{Run, TestProject};
use atmos_tests::rpc_client::RpcServer;
use serde_json::{Value, json};
use std::time::Duration;

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");

fn config(fake: &FakeProvider, sessions: &str) -> String {
    format!(
        "ai:\n  default_provider: anthropic\n  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_TEST_KEY\n  sessions:\n    enabled: true\n{sessions}",
        fake.base_url()
    )
}

fn server(p: &TestProject) -> RpcServer {
    let mut cmd = p.command(ATMOS);
    cmd.env("ATMOS_TEST_KEY", "k").args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    s.initialize(p.root());
    s
}

fn atmos(p: &TestProject, args: &[&str]) -> Run {
    Run::from(
        p.command(ATMOS)
            .env("ATMOS_TEST_KEY", "k")
            .args(args)
            .output()
            .unwrap(),
    )
}

fn ask(p: &TestProject, session: &str, question: &str) -> Run {
    atmos(p, &["ai", "ask", "--session", session, question])
}

fn is_update(n: &Value) -> bool {
    n["method"] == "atmos/session/updated"
}

/// Messages of `atmos/session/updated` notifications, by (role, content).
fn has_message(n: &Value, role: &str, content: &str) -> bool {
    is_update(n)
        && n["params"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == role && m["content"] == content)
}

fn slow(deltas: &[&str]) -> Reply {
    Reply {
        delay: Some(Duration::from_millis(400)),
        ..Reply::new(deltas, 30, 6)
    }
}

/// What the server logged, and everything else a transcript could leak to.
fn long_text() -> String {
    "because the shared services VPC peers with it and the ranges must not overlap. ".repeat(6)
}

#[test]
fn two_servers_and_the_cli_see_each_others_turns_live() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut a = server(&p);
    let mut b = server(&p);
    let created = a.call("atmos/session/create", json!({"name": "shared"}));
    let id = created["session"]["id"].as_str().unwrap().to_string();
    let followed = a.call("atmos/session/subscribe", json!({"name": "shared"}));
    assert_eq!(followed["replyingElsewhere"], false);
    assert_eq!(followed["session"]["id"], id.as_str());
    b.call("atmos/session/subscribe", json!({"name": "shared"}));
    a.take_notifications();

    // B's turn, streamed slowly: A sees the question, the reply growing
    // while B holds the turn, then the whole reply.
    let reply = ["Use ", "three ", "availability ", "zones ", "for ", "prod."];
    fake.push_reply(slow(&reply));
    let turn = b.send_request(
        "atmos/chat",
        json!({"name": "shared", "message": "How many AZs?"}),
    );
    let seen = a.notifications_until(|n| {
        has_message(n, "assistant", "Use three availability zones for prod.")
            && n["params"]["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["interrupted"] == false && m["role"] == "assistant")
    });
    let updates: Vec<&Value> = seen.iter().filter(|n| is_update(n)).collect();
    assert!(
        updates
            .iter()
            .any(|n| n["params"]["replyingElsewhere"] == true
                && has_message(n, "user", "How many AZs?")),
        "the question and 'replying elsewhere' came first: {seen:#?}"
    );
    assert!(
        updates
            .iter()
            .any(|n| n["params"]["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["role"] == "assistant"
                    && m["interrupted"] == true
                    && !m["content"].as_str().unwrap().is_empty())),
        "the reply showed while it streamed: {seen:#?}"
    );
    for n in &updates {
        assert!(
            atmos_protocol::notification_conforms("atmos/session/updated", &n["params"]).unwrap(),
            "{n}"
        );
    }
    assert!(
        seen.iter().any(|n| n["method"] == "atmos/sessions/changed"
            && n["params"]["reason"] == "chat"
            && n["params"]["name"] == "shared"),
        "the list changed too: {seen:#?}"
    );
    let result = b.response(&turn);
    assert_eq!(
        result["result"]["reply"]["content"],
        "Use three availability zones for prod."
    );
    // Once B lets go, A is told (with the whole reply, or just after).
    if seen.last().unwrap()["params"]["replyingElsewhere"] != false {
        a.notifications_until(|n| is_update(n) && n["params"]["replyingElsewhere"] == false);
    }

    // A turn from the CLI (a third process): both servers see it.
    ask(&p, "shared", "And the CIDR?").ok();
    for s in [&mut a, &mut b] {
        s.notifications_until(|n| has_message(n, "assistant", "echo: And the CIDR?"));
    }

    // A session made elsewhere shows in the list.
    atmos(&p, &["ai", "sessions", "create", "other"]).ok();
    a.notifications_until(|n| {
        n["method"] == "atmos/sessions/changed"
            && n["params"]["reason"] == "created"
            && n["params"]["name"] == "other"
    });

    // Unsubscribed: the list still changes, the session is not followed.
    let off = a.call("atmos/session/unsubscribe", json!({"name": "shared"}));
    assert_eq!(off["unsubscribed"], true);
    a.take_notifications();
    ask(&p, "shared", "Anything else?").ok();
    let seen = a.notifications_until(|n| {
        n["method"] == "atmos/sessions/changed" && n["params"]["reason"] == "chat"
    });
    assert!(!seen.iter().any(is_update), "{seen:#?}");
    let again = a.call("atmos/session/unsubscribe", json!({"name": "shared"}));
    assert_eq!(again["unsubscribed"], false);

    // Following again from a known message: what is newer comes at once.
    let page = a.call(
        "atmos/session/messages",
        json!({"name": "shared", "limit": 100}),
    );
    let first = page["messages"][0]["id"].as_str().unwrap().to_string();
    a.call(
        "atmos/session/subscribe",
        json!({"name": "shared", "after": first}),
    );
    let caught = a.notifications_until(is_update);
    let messages = caught.last().unwrap()["params"]["messages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(messages, 5, "{caught:#?}");
    a.shutdown();
    b.shutdown();
}

#[test]
fn a_pinned_message_survives_three_compactions_and_is_in_every_request() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(
        &fake,
        "    auto_compact:\n      enabled: true\n      preserve_recent: 2\n      use_ai_summary: false\n",
    ).replace("ai:\n", "ai:\n  max_history_messages: 6\n"));
    ask(&p, "pins", "PIN-ME: every stack stays in eu-west-1").ok();
    let shown = atmos(&p, &["ai", "sessions", "show", "pins", "--format", "json"]).json();
    let id = shown["messages"][0]["id"].as_str().unwrap().to_string();
    let out = atmos(&p, &["ai", "sessions", "pin", "pins", &id]);
    assert!(
        out.ok().contains("never compacted and always sent"),
        "{}",
        out.stdout
    );
    let from = fake.requests().len();
    let mut turns = 0;
    let summaries = |p: &TestProject| {
        atmos(p, &["ai", "sessions", "list", "--format", "json"]).json()["sessions"][0]
            ["summaryCount"]
            .as_u64()
            .unwrap()
    };
    while summaries(&p) < 3 {
        turns += 1;
        assert!(turns < 40, "three compactions never happened");
        ask(&p, "pins", &format!("q{turns}: {}", long_text())).ok();
    }
    let requests = fake.requests();
    assert!(requests.len() - from >= 3);
    for r in &requests[from..] {
        assert!(
            r.raw_body
                .contains("PIN-ME: every stack stays in eu-west-1"),
            "a request without the pinned message: {}",
            r.raw_body
        );
    }
    // Still active, still pinned, shown as such.
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let (archived, pinned): (bool, bool) = conn
        .query_row(
            "SELECT archived, pinned FROM messages WHERE id = ?1",
            [id.parse::<i64>().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((archived, pinned), (false, true));
    let text = atmos(&p, &["ai", "sessions", "show", "pins", "--ids"])
        .ok()
        .to_string();
    assert!(text.contains(&format!("#{id} [pinned]")), "{text}");
    // The totals are the sum of the stored usage.
    let (kept, summed): ((i64, i64), (i64, i64)) = (
        conn.query_row(
            "SELECT input_tokens, output_tokens FROM sessions WHERE name = 'pins'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap(),
        conn.query_row(
            "SELECT SUM(input_tokens), SUM(output_tokens) FROM messages",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap(),
    );
    assert_eq!(kept, summed);
    assert!(kept.0 > 0);

    // Over the protocol: unpin, pin again, and clear errors.
    let mut s = server(&p);
    let unpinned = s.call(
        "atmos/session/pin",
        json!({"name": "pins", "messageId": id, "pinned": false}),
    );
    assert!(unpinned["message"].get("pinned").is_none(), "{unpinned}");
    let pinned = s.call(
        "atmos/session/pin",
        json!({"name": "pins", "messageId": id}),
    );
    assert_eq!(pinned["message"]["pinned"], true);
    let summary: i64 = conn
        .query_row(
            "SELECT MAX(id) FROM messages WHERE is_summary = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let error = s.error(
        "atmos/session/pin",
        json!({"name": "pins", "messageId": summary.to_string()}),
    );
    assert_eq!(error["code"], -32602, "{error}");
    assert_eq!(error["data"]["field"], "messageId");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("summaries cannot"), "{message}");
    s.shutdown();
    let bad = atmos(&p, &["ai", "sessions", "pin", "pins", "999999"]);
    assert!(bad.fails(2).contains("--ids"), "{}", bad.stderr);
    // Export and import keep the pin and the title.
    let file = p.root().join("pins.json");
    atmos(
        &p,
        &[
            "ai",
            "sessions",
            "export",
            "pins",
            "--output",
            file.to_str().unwrap(),
        ],
    )
    .ok();
    atmos(
        &p,
        &[
            "ai",
            "sessions",
            "import",
            file.to_str().unwrap(),
            "--name",
            "pins-copy",
        ],
    )
    .ok();
    let copy = atmos(
        &p,
        &["ai", "sessions", "show", "pins-copy", "--format", "json"],
    )
    .json();
    assert_eq!(
        copy["session"]["title"],
        "PIN-ME: every stack stays in eu-west-1"
    );
    let pinned: Vec<&Value> = copy["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["pinned"] == true)
        .collect();
    assert_eq!(pinned.len(), 1);
    assert_eq!(
        pinned[0]["content"],
        "PIN-ME: every stack stays in eu-west-1"
    );
}

#[test]
fn titles_come_from_the_first_exchange_and_never_replace_a_name_or_the_users_title() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let title = |p: &TestProject, name: &str| -> Value {
        let list = atmos(p, &["ai", "sessions", "list", "--format", "json"]).json();
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["title"].clone())
            .unwrap_or(Value::Null)
    };
    // The CLI: the first line of the first question.
    ask(
        &p,
        "vpc",
        "## How should I lay out the production VPC?\nWith three AZs.",
    )
    .ok();
    assert_eq!(title(&p, "vpc"), "How should I lay out the production VPC?");
    let table = atmos(&p, &["ai", "sessions", "list"]).ok().to_string();
    assert!(
        table.contains("TITLE") && table.contains("How should I lay out"),
        "{table}"
    );
    // A rename keeps the title, and the title never renames.
    atmos(&p, &["ai", "sessions", "rename", "vpc", "network"]).ok();
    ask(&p, "network", "And the subnets?").ok();
    assert_eq!(
        title(&p, "network"),
        "How should I lay out the production VPC?"
    );
    // The user's title stays; cleared, none is made again.
    atmos(&p, &["ai", "sessions", "title", "network", "Prod network"]).ok();
    ask(&p, "network", "Peering?").ok();
    assert_eq!(title(&p, "network"), "Prod network");
    // A fork keeps the title of the history it copies.
    atmos(
        &p,
        &["ai", "sessions", "fork", "network", "--name", "net-fork"],
    )
    .ok();
    assert_eq!(title(&p, "net-fork"), "Prod network");
    assert_eq!(
        atmos(&p, &["ai", "sessions", "title", "network"]).ok(),
        "Prod network\n"
    );
    atmos(&p, &["ai", "sessions", "title", "network", "--clear"]).ok();
    ask(&p, "network", "NAT?").ok();
    assert_eq!(title(&p, "network"), Value::Null);
    let bad = atmos(&p, &["ai", "sessions", "title", "network", "two\nlines"]);
    assert!(bad.fails(2).contains("one line"), "{}", bad.stderr);

    // A server, with use_ai_summary on (the default): an AI title follows
    // the first exchange, announced as a change.
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "eks"}));
    fake.push_reply(Reply::new(&["Pin the node groups to 1.31."], 20, 8));
    fake.push_title(Reply::new(&["\"EKS upgrade plan.\""], 20, 4));
    s.take_notifications();
    s.call(
        "atmos/chat",
        json!({"name": "eks", "message": "how do I upgrade eks safely?"}),
    );
    s.notifications_until(|n| {
        n["method"] == "atmos/sessions/changed"
            && n["params"]["reason"] == "updated"
            && n["params"]["name"] == "eks"
    });
    assert_eq!(title(&p, "eks"), "EKS upgrade plan");
    assert_eq!(fake.title_requests().len(), 1);
    // Set before the first exchange: kept, and no title is asked for.
    s.call("atmos/session/create", json!({"name": "mine"}));
    let set = s.call(
        "atmos/session/update",
        json!({"name": "mine", "title": "My plan"}),
    );
    assert_eq!(set["title"], "My plan");
    s.call("atmos/chat", json!({"name": "mine", "message": "hello"}));
    s.call("atmos/session/list", json!({}));
    assert_eq!(title(&p, "mine"), "My plan");
    assert_eq!(fake.title_requests().len(), 1);
    s.shutdown();
}

#[test]
fn a_backup_taken_during_a_streaming_turn_opens_and_passes_integrity_check() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "live"}));
    fake.push_reply(slow(&["one ", "two ", "three ", "four ", "five"]));
    let turn = s.send_request(
        "atmos/chat",
        json!({"name": "live", "message": "count to five"}),
    );
    s.notifications_until(|n| n["method"] == "atmos/chat/delta");
    // From another process while the reply streams, and from the server.
    let dest = p.root().join("during.db");
    let out = atmos(&p, &["ai", "sessions", "backup", dest.to_str().unwrap()]);
    assert!(
        out.ok().starts_with("Backed up 1 session"),
        "{}",
        out.stdout
    );
    let by_server = s.call("atmos/backup", json!({"path": "via-server.db"}));
    assert!(by_server["bytes"].as_u64().unwrap() > 0);
    let server_copy = std::path::PathBuf::from(by_server["path"].as_str().unwrap());
    assert_eq!(server_copy, p.root().join("via-server.db"));
    for copy in [&dest, &server_copy] {
        let conn = rusqlite::Connection::open(copy).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let question: String = conn
            .query_row(
                "SELECT content FROM messages WHERE role = 'user'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(question, "count to five");
    }
    let done = s.response(&turn);
    assert_eq!(
        done["result"]["reply"]["content"],
        "one two three four five"
    );
    // Never over the database itself, whatever the name it is given by;
    // nothing is touched, and the message says what to do.
    let db = p.db_path();
    std::os::unix::fs::symlink(&db, p.root().join("link.db")).unwrap();
    std::fs::hard_link(&db, p.root().join("hard.db")).unwrap();
    for name in [
        "link.db",
        "hard.db",
        ".atmos/sessions/sessions.db-wal",
        ".atmos/sessions/sessions.db",
    ] {
        let error = s.error("atmos/backup", json!({"path": name}));
        assert_eq!(error["code"], -32602, "{name}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("the sessions database itself"),
            "{message}"
        );
        let cli = atmos(&p, &["ai", "sessions", "backup", name]);
        assert!(cli.fails(2).contains("name a new file"), "{}", cli.stderr);
    }
    let error = s.error("atmos/backup", json!({"path": "no/such/folder/copy.db"}));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{error}"
    );
    let listed = s.call("atmos/session/list", json!({}));
    assert_eq!(listed["sessions"][0]["messageCount"], 2);
    s.shutdown();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let kept: i64 = conn
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 2);
}

#[test]
fn a_redacted_secret_appears_nowhere() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(
        &fake,
        "    redact: true\n    redact_patterns: ['TICKET-[0-9]+']\n",
    ));
    let secrets = [
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "hunter2-prod",
        "TICKET-4242",
        "s3cr3t-db-pass",
    ];
    let mut cmd = p.command(ATMOS);
    cmd.env("ATMOS_TEST_KEY", "k")
        .env("RUST_LOG", "debug")
        .args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    s.initialize(p.root());
    s.call("atmos/session/create", json!({"name": "creds"}));
    let chat = s.call(
        "atmos/chat",
        json!({"name": "creds", "message": format!(
            "key {} secret aws_secret_access_key = {} and password: {} for TICKET-4242",
            secrets[0], secrets[1], secrets[2]
        )}),
    );
    assert!(chat["redacted"].as_u64().unwrap() >= 4, "{chat}");
    let cli = Run::from(
        p.command(ATMOS)
            .env("ATMOS_TEST_KEY", "k")
            .env("RUST_LOG", "debug")
            .args([
                "ai",
                "ask",
                "--session",
                "creds",
                "connect with postgres://app:s3cr3t-db-pass@db.internal:5432/app",
            ])
            .output()
            .unwrap(),
    );
    cli.ok();
    let mut places: Vec<(String, String)> = Vec::new();
    for format in ["json", "yaml", "markdown"] {
        let out = atmos(
            &p,
            &["ai", "sessions", "export", "creds", "--format", format],
        );
        places.push((format!("export {format}"), out.ok().to_string()));
    }
    places.push((
        "show".into(),
        atmos(&p, &["ai", "sessions", "show", "creds"])
            .ok()
            .to_string(),
    ));
    places.push((
        "cli stdout+stderr".into(),
        format!("{}{}", cli.stdout, cli.stderr),
    ));
    for r in fake.requests().into_iter().chain(fake.title_requests()) {
        places.push(("provider request".into(), r.raw_body));
    }
    places.push(("server log".into(), s.stderr()));
    s.shutdown();
    let dir = p.db_path().parent().unwrap().to_path_buf();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        places.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    for (place, text) in &places {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret:?} found in {place}");
        }
    }
    assert!(places.len() > 8);
}
