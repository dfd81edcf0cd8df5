//! `atmos/chat` and `atmos/session/compact` end to end: the real server
//! against the fake provider on 127.0.0.1. Deltas (order, concatenation,
//! token), usage, cancel mid-stream, busy (in one server and across two),
//! concurrent turns, provider errors, compaction and its notifications.
//!
//! No assertion depends on a timing: a "slow" provider only makes sure a
//! turn is still running when the test acts on it, and each test waits for
//! an event (the first delta) before it does.

use atmos_tests::fake_provider::{FakeProvider, Fault, Reply};
use atmos_tests::project::TestProject;
use atmos_tests::rpc_client::RpcServer;
use serde_json::{Value, json};
use std::time::Duration;

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");

fn config(fake: &FakeProvider, extra: &str) -> String {
    format!(
        "ai:\n  default_provider: anthropic\n{extra}  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_TEST_KEY\n  sessions:\n    enabled: true\n",
        fake.base_url()
    )
}

/// A server on `p` whose provider key is set.
fn server(p: &TestProject) -> RpcServer {
    let mut cmd = p.command(ATMOS);
    cmd.env("ATMOS_TEST_KEY", "k").args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    s.initialize(p.root());
    s
}

/// (role, content, interrupted) of every stored message of a session.
fn stored(p: &TestProject, session: &str) -> Vec<(String, String, bool)> {
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT m.role, m.content, m.interrupted FROM messages m JOIN sessions s ON s.id = m.session_id \
             WHERE s.name = ?1 AND m.is_summary = 0 ORDER BY m.id",
        )
        .unwrap();
    stmt.query_map([session], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn is_delta(n: &Value) -> bool {
    n["method"] == "atmos/chat/delta"
}

#[test]
fn deltas_arrive_in_order_before_the_response_and_add_up_to_the_reply() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = server(&p);
    let session = s.call("atmos/session/create", json!({"name": "vpc"}))["session"].clone();
    s.take_notifications();

    fake.push_reply(Reply::new(
        &["Use ", "10.40.0.0/16 ", "for ", "prod."],
        120,
        9,
    ));
    let seen = s.received.len();
    let id = s.send_request("atmos/chat", json!({"name": "vpc", "message": "Which CIDR?", "token": "t-1",
        "context": [{"kind": "selection", "uri": "file:///infra/vpc.yaml", "range": {"start": 1, "end": 3}, "text": "cidr: ?"}]}));
    let response = s.response(&id);
    let result = &response["result"];
    assert_eq!(
        result["reply"]["content"], "Use 10.40.0.0/16 for prod.",
        "{response}"
    );
    assert_eq!(
        (&result["reply"]["role"], &result["reply"]["interrupted"]),
        (&json!("assistant"), &json!(false))
    );
    assert_eq!(result["sessionId"], session["id"]);
    assert_eq!(
        result["usage"],
        json!({"inputTokens": 120, "outputTokens": 9, "estimated": false})
    );
    assert!(result.get("compaction").is_none());

    // Everything that arrived for this request, in order: deltas 0..3, the
    // `chat` change, then the response.
    let arrived: Vec<Value> = s.received[seen..].to_vec();
    let deltas: Vec<&Value> = arrived.iter().filter(|m| is_delta(m)).collect();
    let texts: Vec<&str> = deltas
        .iter()
        .map(|d| d["params"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.concat(), "Use 10.40.0.0/16 for prod.");
    for (i, d) in deltas.iter().enumerate() {
        assert_eq!(d["params"]["index"], i, "{d}");
        assert_eq!(
            (&d["params"]["sessionId"], &d["params"]["token"]),
            (&session["id"], &json!("t-1"))
        );
    }
    assert_eq!(
        arrived.last().unwrap(),
        &response,
        "the response comes last"
    );
    let change = arrived
        .iter()
        .find(|m| m["method"] == "atmos/sessions/changed")
        .expect("a chat change");
    assert_eq!(change["params"]["reason"], "chat");
    assert_eq!(change["params"]["sessionId"], session["id"]);

    // What was stored and sent: the context went with the turn.
    assert_eq!(
        stored(&p, "vpc"),
        vec![
            ("user".into(), "Which CIDR?".into(), false),
            (
                "assistant".into(),
                "Use 10.40.0.0/16 for prod.".into(),
                false
            )
        ]
    );
    assert!(
        fake.requests()[0].raw_body.contains("cidr: ?"),
        "{}",
        fake.requests()[0].raw_body
    );

    // Without usage from the provider the figures are estimated; a numeric
    // token is echoed; `stream: false` sends no deltas.
    fake.push_reply(Reply::without_usage(&["ok"]));
    s.take_notifications();
    let r = s.call(
        "atmos/chat",
        json!({"id": session["id"], "message": "and staging?", "token": 7}),
    );
    assert_eq!(r["usage"]["estimated"], true);
    let notes = s.take_notifications();
    assert_eq!(
        notes
            .iter()
            .filter(|n| is_delta(n))
            .map(|n| n["params"]["token"].clone())
            .collect::<Vec<_>>(),
        vec![json!(7)]
    );
    fake.push_reply(Reply::new(&["quiet", " reply"], 1, 1));
    let r = s.call(
        "atmos/chat",
        json!({"name": "vpc", "message": "no stream", "stream": false}),
    );
    assert_eq!(r["reply"]["content"], "quiet reply");
    assert!(!s.take_notifications().iter().any(is_delta));
    assert!(s.shutdown().success());
}

#[test]
fn cancel_mid_stream_answers_32800_and_stores_the_partial_reply() {
    let fake = FakeProvider::start_with_delay(Duration::from_millis(200));
    let p = TestProject::new(&config(&fake, ""));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "long"}));
    let pieces: Vec<String> = (0..50).map(|i| format!("piece{i} ")).collect();
    fake.push_reply(Reply::new(
        &pieces.iter().map(String::as_str).collect::<Vec<_>>(),
        1,
        1,
    ));

    let id = s.send_request(
        "atmos/chat",
        json!({"name": "long", "message": "write a lot"}),
    );
    let first = s.notifications_until(is_delta);
    assert_eq!(first.last().unwrap()["params"]["text"], "piece0 ");
    s.notify("$/cancelRequest", json!({"id": id}));
    let response = s.response(&id);
    assert_eq!(response["error"]["code"], -32800, "{response}");

    // The partial reply is stored, marked interrupted, once the turn has
    // wound down (the `chat` change says so).
    s.notifications_until(|n| n["params"]["reason"] == "chat");
    let rows = stored(&p, "long");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], ("user".into(), "write a lot".into(), false));
    let (role, partial, interrupted) = &rows[1];
    assert_eq!((role.as_str(), *interrupted), ("assistant", true));
    assert!(
        partial.starts_with("piece0 ") && partial.len() < pieces.concat().len(),
        "{partial}"
    );

    // The session is free again and the transcript shows the flag.
    fake.push_reply(Reply::new(&["done"], 1, 1));
    assert_eq!(
        s.call("atmos/chat", json!({"name": "long", "message": "shorter"}))["reply"]["content"],
        "done"
    );
    let page = s.call("atmos/session/messages", json!({"name": "long"}));
    assert_eq!(page["messages"][1]["interrupted"], true);
}

#[test]
fn a_busy_session_answers_1009_while_other_sessions_chat_at_once() {
    let fake = FakeProvider::start_with_delay(Duration::from_millis(100));
    let p = TestProject::new(&config(&fake, ""));
    let mut s = server(&p);
    let mut other = server(&p);
    let a = s.call("atmos/session/create", json!({"name": "a"}))["session"].clone();
    s.call("atmos/session/create", json!({"name": "b"}));
    let pieces: Vec<String> = (0..20).map(|i| format!("a{i} ")).collect();
    fake.push_reply(Reply::new(
        &pieces.iter().map(String::as_str).collect::<Vec<_>>(),
        1,
        1,
    ));

    let long = s.send_request("atmos/chat", json!({"name": "a", "message": "long one"}));
    s.notifications_until(is_delta);
    // The same session, from this server and from another one: busy.
    let e = s.error("atmos/chat", json!({"name": "a", "message": "again"}));
    assert_eq!(
        (e["code"].clone(), e["data"].clone()),
        (
            json!(1009),
            json!({"kind": "busy", "sessionId": a["id"], "name": "a"})
        ),
        "{e}"
    );
    let e = other.error(
        "atmos/chat",
        json!({"name": "a", "message": "from the other editor"}),
    );
    assert_eq!(e["code"], 1009);
    // Another session runs while the first is still streaming.
    fake.push_reply(Reply::new(&["b done"], 1, 1));
    let b = other.call("atmos/chat", json!({"name": "b", "message": "short one"}));
    assert_eq!(b["reply"]["content"], "b done");

    let done = s.response(&long);
    assert_eq!(
        done["result"]["reply"]["content"],
        pieces.concat(),
        "{done}"
    );
    // Busy turns stored nothing.
    assert_eq!(stored(&p, "a").len(), 2);
}

#[test]
fn provider_errors_keep_the_user_message() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "x"}));

    fake.push_fault(Fault::Status401);
    let e = s.error("atmos/chat", json!({"name": "x", "message": "hello"}));
    let data = &e["data"];
    assert_eq!(
        (
            &e["code"],
            &data["kind"],
            &data["provider"],
            &data["status"],
            &data["retryable"]
        ),
        (
            &json!(1005),
            &json!("providerError"),
            &json!("anthropic"),
            &json!(401),
            &json!(false)
        ),
        "{e}"
    );
    assert_eq!(
        stored(&p, "x"),
        vec![("user".into(), "hello".into(), false)]
    );

    fake.push_fault(Fault::CutMidStream { after_deltas: 2 });
    fake.push_reply(Reply::new(&["one ", "two ", "three"], 1, 1));
    let e = s.error("atmos/chat", json!({"name": "x", "message": "again"}));
    assert_eq!(e["code"], 1005, "{e}");
    let rows = stored(&p, "x");
    assert_eq!(
        rows.last().unwrap(),
        &("assistant".to_string(), "one two ".to_string(), true),
        "{rows:?}"
    );

    // Bad params.
    let e = s.error("atmos/chat", json!({"name": "x"}));
    assert_eq!(
        (e["code"].clone(), e["data"]["field"].clone()),
        (json!(-32602), json!("message"))
    );
    let e = s.error("atmos/chat", json!({"name": "x", "message": "  "}));
    assert_eq!(
        (e["code"].clone(), e["data"]["field"].clone()),
        (json!(-32602), json!("message"))
    );
    let e = s.error(
        "atmos/chat",
        json!({"name": "x", "message": "m", "token": [1]}),
    );
    assert_eq!(e["data"]["field"], "token");
    let e = s.error(
        "atmos/chat",
        json!({"name": "x", "message": "m", "context": [{"kind": "image", "text": ""}]}),
    );
    assert_eq!(e["data"]["field"], "context[0].kind");
    let e = s.error("atmos/chat", json!({"name": "nope", "message": "m"}));
    assert_eq!(e["code"], 1001);
}

#[test]
fn a_provider_without_its_key_is_1006() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = RpcServer::start(ATMOS, &p); // no ATMOS_TEST_KEY
    s.initialize(p.root());
    s.call("atmos/session/create", json!({"name": "x"}));
    let e = s.error("atmos/chat", json!({"name": "x", "message": "hello"}));
    assert_eq!(
        (e["code"].clone(), e["data"].clone()),
        (
            json!(1006),
            json!({"kind": "providerNotConfigured", "provider": "anthropic", "missing": "ATMOS_TEST_KEY"})
        ),
        "{e}"
    );
    assert!(stored(&p, "x").is_empty(), "nothing is stored");
}

#[test]
fn compaction_runs_before_the_chat_response_and_on_request() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&format!(
        "{}    auto_compact:\n      enabled: true\n      use_ai_summary: false\n      preserve_recent: 2\n",
        config(&fake, "  max_history_messages: 8\n")
    ));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "c"}));
    s.take_notifications();

    let mut compacted = None;
    for turn in 0..20 {
        let id = s.send_request(
            "atmos/chat",
            // Long enough for a summary to be shorter (a few words are
            // not compacted: no summary would save anything).
            json!({"name": "c", "message": format!("q{turn}: {}", "the VPC peers with shared services. ".repeat(16))}),
        );
        let seen = s.received.len();
        let response = s.response(&id);
        if let Some(c) = response["result"].get("compaction") {
            let arrived = s.received[seen..].to_vec();
            compacted = Some((c.clone(), arrived));
            break;
        }
        s.take_notifications();
    }
    let (c, arrived) = compacted.expect("a compaction within 20 turns");
    assert_eq!(
        (&c["compacted"], &c["usedAi"]),
        (&json!(true), &json!(false)),
        "{c}"
    );
    assert_eq!(c["summary"]["isSummary"], true);
    assert!(!c["archivedIds"].as_array().unwrap().is_empty());
    assert!(c["tokensAfter"].as_u64().unwrap() < c["tokensBefore"].as_u64().unwrap());
    let stages: Vec<&str> = arrived
        .iter()
        .filter(|m| m["method"] == "atmos/compact/status")
        .map(|m| m["params"]["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["starting", "summarizing", "completed"]);

    // On request, whatever the threshold; nothing to do on an empty session.
    for turn in 0..3 {
        s.call(
            "atmos/chat",
            json!({"name": "c", "message": format!("more {turn}")}),
        );
    }
    let forced = s.call("atmos/session/compact", json!({"name": "c"}));
    assert_eq!(forced["compacted"], true, "{forced}");
    s.call("atmos/session/create", json!({"name": "empty"}));
    let nothing = s.call("atmos/session/compact", json!({"name": "empty"}));
    assert_eq!(
        (&nothing["compacted"], &nothing["archivedIds"]),
        (&json!(false), &json!([]))
    );
    assert_eq!(
        s.error("atmos/session/compact", json!({"name": "nope"}))["code"],
        1001
    );
}

#[test]
fn retry_asks_the_last_question_again_and_archives_its_reply() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "r"}));
    // Nothing to ask again in an empty session.
    let err = s.request(
        "atmos/chat",
        json!({"name": "r", "message": "", "retry": true}),
    );
    assert_eq!(err["error"]["code"], -32602, "{err}");
    assert_eq!(err["error"]["data"]["field"], "retry", "{err}");
    fake.push_reply(Reply::new(&["first answer"], 5, 2));
    s.call(
        "atmos/chat",
        json!({"name": "r", "message": "which region?"}),
    );
    fake.push_reply(Reply::new(&["second answer"], 5, 2));
    let again = s.call(
        "atmos/chat",
        json!({"name": "r", "message": "", "retry": true}),
    );
    assert_eq!(again["reply"]["content"], "second answer");
    // The question was sent once, without the first answer.
    let sent = fake.requests().pop().unwrap().body.to_string();
    assert_eq!(sent.matches("which region?").count(), 1, "{sent}");
    assert!(!sent.contains("first answer"), "{sent}");
    let messages = s.call(
        "atmos/session/messages",
        json!({"name": "r", "includeArchived": true}),
    );
    let kept: Vec<(String, bool)> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["content"].as_str().unwrap().to_string(),
                m["archived"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            ("which region?".to_string(), false),
            ("first answer".to_string(), true),
            ("second answer".to_string(), false),
        ]
    );
}

#[test]
fn fork_over_the_protocol_copies_up_to_a_message_and_says_where_from() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, ""));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "trunk"}));
    fake.push_reply(Reply::new(&["use 10.40.0.0/16"], 5, 2));
    let first = s.call(
        "atmos/chat",
        json!({"name": "trunk", "message": "which CIDR?"}),
    );
    fake.push_reply(Reply::new(&["three AZs"], 5, 2));
    s.call(
        "atmos/chat",
        json!({"name": "trunk", "message": "how many AZs?"}),
    );
    s.take_notifications();
    let at = first["reply"]["id"].as_str().unwrap().to_string();
    let forked = s.call(
        "atmos/session/fork",
        json!({"name": "trunk", "at": at, "newName": "ipv6-branch"}),
    );
    assert_eq!(forked["session"]["name"], "ipv6-branch");
    assert_eq!(forked["session"]["messageCount"], 2);
    assert_eq!(
        forked["session"]["forkedFrom"],
        json!({"name": "trunk", "at": at})
    );
    let notes = s.notifications_until(|n| n["method"] == "atmos/sessions/changed");
    assert_eq!(notes.last().unwrap()["params"]["reason"], "created");
    let page = s.call("atmos/session/messages", json!({"name": "ipv6-branch"}));
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["which CIDR?", "use 10.40.0.0/16"]);
    let err = s.request(
        "atmos/session/fork",
        json!({"name": "trunk", "at": "12345678"}),
    );
    assert_eq!(err["error"]["code"], -32602);
    assert_eq!(err["error"]["data"]["field"], "at");
}

#[test]
fn with_redact_on_the_chat_result_says_how_many_secrets_were_masked() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "").replace(
        "    enabled: true\n",
        "    enabled: true\n    redact: true\n",
    ));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "r"}));
    fake.push_reply(Reply::new(&["ok"], 5, 1));
    let result = s.call(
        "atmos/chat",
        json!({"name": "r", "message": "connect with postgres://app:s3cret@db:5432/x",
               "context": [{"kind": "text", "text": "Authorization: Bearer abcdefgh12345678"}]}),
    );
    assert_eq!(result["redacted"], 2, "{result}");
    let sent = fake.requests().pop().unwrap().body.to_string();
    assert!(
        !sent.contains("s3cret") && !sent.contains("abcdefgh12345678"),
        "{sent}"
    );
    fake.push_reply(Reply::new(&["ok"], 5, 1));
    let plain = s.call(
        "atmos/chat",
        json!({"name": "r", "message": "nothing secret"}),
    );
    assert!(plain.get("redacted").is_none(), "{plain}");
}

#[test]
fn uncompact_over_the_protocol_restores_what_the_summary_replaced() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&format!(
        "{}    auto_compact:\n      use_ai_summary: false\n      preserve_recent: 2\n",
        config(&fake, "")
    ));
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "u"}));
    for t in 0..3 {
        s.call(
            "atmos/chat",
            json!({"name": "u", "message": format!("q{t}: {}", "the VPC peers with shared services. ".repeat(16))}),
        );
    }
    let compaction = s.call("atmos/session/compact", json!({"name": "u"}));
    let archived = compaction["archivedIds"].clone();
    let summary_id = compaction["summary"]["id"].as_str().unwrap().to_string();
    let undone = s.call(
        "atmos/session/uncompact",
        json!({"name": "u", "summaryId": summary_id}),
    );
    assert_eq!(undone["restored"], archived, "{undone}");
    assert_eq!(undone["session"]["archivedCount"], 0);
    let again = s.request("atmos/session/uncompact", json!({"name": "u"}));
    assert_eq!(again["error"]["code"], -32602);
    assert_eq!(again["error"]["data"]["field"], "summary");
}
