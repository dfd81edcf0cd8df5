//! Auto-compaction end to end: a session walked through 200 turns with
//! `max_history_messages: 50` against the fake provider.

use atmos_tests::fake_provider::{FakeProvider, Fault, Reply};
use atmos_tests::project::TestProject;
use serde_json::Value;

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");

fn config(fake: &FakeProvider, auto_compact: &str) -> String {
    format!(
        "ai:\n  default_provider: anthropic\n  max_history_messages: 50\n  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_TEST_KEY\n  sessions:\n    enabled: true\n    auto_compact:\n{auto_compact}",
        fake.base_url()
    )
}

fn ask(p: &TestProject, session: &str, q: &str) -> atmos_tests::project::Run {
    atmos_tests::project::Run::from(
        p.command(ATMOS)
            .env("ATMOS_TEST_KEY", "k")
            .args(["ai", "ask", "--session", session, q])
            .output()
            .unwrap(),
    )
}

fn is_summary_request(body: &Value) -> bool {
    body["system"]
        .as_str()
        .is_some_and(|s| s.starts_with("You compact the history"))
}

/// The turns at which the seed's settings compact: 38 active messages
/// trigger, 20 are archived.
fn expected_triggers(turns: usize) -> Vec<usize> {
    let mut active = 0;
    let mut at = Vec::new();
    for t in 1..=turns {
        active += 2;
        if active >= 38 {
            active -= 20;
            at.push(t);
        }
    }
    at
}

#[test]
fn two_hundred_turns_stay_bounded_and_lose_nothing() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "      enabled: true\n"));
    let triggers = expected_triggers(200);
    assert_eq!(triggers[..3], [19, 29, 39]);
    for t in 1..=200 {
        if triggers.contains(&t) {
            fake.push_reply(Reply::new(&[&format!("echo: q{t}")], 10, 2));
            fake.push_reply(Reply::new(
                &[&format!("SUMMARY#{t}: prod VPC 10.40.0.0/16 decided")],
                100,
                10,
            ));
        }
        let run = ask(&p, "long", &format!("q{t}"));
        run.ok();
        assert_eq!(
            run.stderr.contains("compacted 20 messages"),
            triggers.contains(&t),
            "turn {t}: {}",
            run.stderr
        );
    }

    let requests = fake.requests();
    let mut turn = 0;
    let mut summaries_seen = 0;
    for r in &requests {
        if is_summary_request(&r.body) {
            summaries_seen += 1;
            assert_eq!(
                triggers[summaries_seen - 1],
                turn,
                "compaction right after the triggering turn"
            );
            let text = r.body["messages"][0]["content"].as_str().unwrap();
            // The first compaction summarises turns 1-10, the k-th the next ten.
            let first = 1 + (summaries_seen - 1) * 10;
            let last = first + 9;
            assert!(
                text.contains(&format!("User: q{first}\n"))
                    && text.contains(&format!("Assistant: echo: q{last}\n")),
                "{text}"
            );
            assert!(
                !text.contains(&format!("User: q{}\n", last + 1)),
                "only the oldest 20: {text}"
            );
            if summaries_seen > 1 {
                let prev = triggers[summaries_seen - 2];
                assert!(
                    text.contains(&format!("Previous summary:\nSUMMARY#{prev}:")),
                    "folds the previous summary"
                );
            }
            continue;
        }
        turn += 1;
        let messages = r.body["messages"].as_array().unwrap();
        assert!(messages.len() <= 50, "turn {turn} sent {}", messages.len());
        assert_eq!(messages.last().unwrap()["content"], format!("q{turn}"));
        if triggers.contains(&turn) {
            // The turn that crosses the threshold still sends everything
            // active: 36 messages and the new one; the compaction comes after.
            assert_eq!(messages.len(), 37, "turn {turn}");
            assert!(
                !r.body["system"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("SUMMARY#{turn}:"))
            );
        }
        if let Some(k) = triggers.iter().position(|&t| t + 1 == turn) {
            // The turn after a compaction: the summary leads, 18 messages + the new one follow.
            let system = r.body["system"].as_str().unwrap();
            assert!(
                system.contains(&format!("SUMMARY#{}:", triggers[k])),
                "{system}"
            );
            assert_eq!(messages.len(), 19, "turn {turn}");
            assert_eq!(messages[0]["content"], format!("q{}", turn - 9));
        }
    }
    assert_eq!(turn, 200);
    assert_eq!(summaries_seen, triggers.len());

    // All 400 messages are still stored and exported; only the newest are active.
    let export = p.run(ATMOS, &["ai", "sessions", "export", "long"]).json();
    let messages = export["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 400);
    assert_eq!(export["statistics"]["message_count"], 400);
    for t in 1..=200 {
        assert_eq!(messages[2 * (t - 1)]["content"], format!("q{t}"));
    }
    let archived = messages.iter().filter(|m| m["archived"] == true).count();
    assert_eq!(archived, 20 * triggers.len());
    let summaries = export["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), triggers.len());
    assert_eq!(
        summaries.iter().filter(|s| s["archived"] == false).count(),
        1,
        "earlier summaries are folded"
    );
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    let s = &list["sessions"][0];
    assert_eq!(
        (s["messageCount"].as_u64(), s["archivedCount"].as_u64()),
        (Some(400), Some(20 * triggers.len() as u64))
    );
    let shown = p
        .run(ATMOS, &["ai", "sessions", "show", "long"])
        .ok()
        .to_string();
    assert!(
        shown.contains("── Summary")
            && shown.contains("[archived]")
            && !shown.contains("[SUMMARY:"),
        "markers are off by default"
    );
}

/// What makes a message long enough for a summary to be shorter than it (a
/// few words are not compacted: no summary saves on them).
fn reasons() -> String {
    "because the shared services VPC peers with it and the ranges must not overlap. ".repeat(6)
}

#[test]
fn without_ai_summaries_the_plain_summary_is_used() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(
        &fake,
        "      enabled: true\n      use_ai_summary: false\n      show_summary_markers: true\n",
    ));
    for t in 1..=19 {
        ask(
            &p,
            "plain",
            &format!("decision {t}: subnet 10.0.{t}.0/24, {}", reasons()),
        )
        .ok();
    }
    assert!(
        !fake.requests().iter().any(|r| is_summary_request(&r.body)),
        "no summary request"
    );
    let shown = p
        .run(ATMOS, &["ai", "sessions", "show", "plain"])
        .ok()
        .to_string();
    assert!(shown.contains("[SUMMARY: Messages 1-20]"), "{shown}");
    assert!(
        shown.contains("- User: decision 1: subnet 10.0.1.0/24"),
        "{shown}"
    );
    let next = {
        ask(&p, "plain", "and now?").ok();
        fake.requests().pop().unwrap()
    };
    assert!(
        next.body["system"]
            .as_str()
            .unwrap()
            .contains("decision 10: subnet 10.0.10.0/24")
    );
}

#[test]
fn a_failed_summary_call_falls_back_and_compact_works_on_demand() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(
        &fake,
        "      enabled: false\n      preserve_recent: 4\n",
    ));
    for t in 1..=8 {
        ask(&p, "manual", &format!("q{t}: {}", reasons())).ok();
    }
    assert!(
        !fake.requests().iter().any(|r| is_summary_request(&r.body)),
        "disabled: no automatic compaction"
    );
    for _ in 0..3 {
        fake.push_fault(Fault::Status500);
    }
    let out = p.run(ATMOS, &["ai", "sessions", "compact", "manual"]);
    let text = out.ok().to_string();
    assert!(
        text.contains("compacted 12 messages") && text.contains("plain summary"),
        "{text}"
    );
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(list["sessions"][0]["archivedCount"], 12);
    assert_eq!(list["sessions"][0]["messageCount"], 16);
    // Forcing again keeps preserve_recent (4): nothing left to compact.
    let again = p
        .run(ATMOS, &["ai", "sessions", "compact", "manual"])
        .ok()
        .to_string();
    assert!(again.contains("nothing to compact"), "{again}");
}

#[test]
fn with_compaction_off_old_messages_are_only_truncated() {
    let fake = FakeProvider::start();
    let p = TestProject::new(
        &config(&fake, "      enabled: false\n")
            .replace("max_history_messages: 50", "max_history_messages: 6"),
    );
    for t in 1..=10 {
        ask(&p, "trunc", &format!("q{t}")).ok();
    }
    let last = fake.requests().pop().unwrap();
    // The newest 6 are echo q7 .. q10; the window starts at a user message,
    // so echo q7 (whose question fell outside it) is left out.
    let sent = last.body["messages"].as_array().unwrap();
    assert_eq!(sent.len(), 5);
    assert_eq!(sent[0]["content"], "q8");
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(
        (
            list["sessions"][0]["messageCount"].as_u64(),
            list["sessions"][0]["archivedCount"].as_u64()
        ),
        (Some(20), Some(0))
    );
}

#[test]
fn a_summary_never_makes_the_request_longer() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(
        &fake,
        "      enabled: false\n      preserve_recent: 2\n      use_ai_summary: true\n",
    ));
    for t in 1..=3 {
        ask(
            &p,
            "short",
            &format!("decision {t}: the staging VPC is 10.{t}.0.0/16"),
        )
        .ok();
    }
    // The summariser answers with more than it was given.
    fake.push_reply(Reply::new(&[&"A very long summary. ".repeat(40)], 100, 200));
    let text = atmos_tests::project::Run::from(
        p.command(ATMOS)
            .env("ATMOS_TEST_KEY", "k")
            .args(["ai", "sessions", "compact", "short"])
            .output()
            .unwrap(),
    )
    .ok()
    .to_string();
    assert!(
        text.contains("compacted 4 messages")
            && text.contains("plain summary")
            && text.contains("was not smaller than what it would replace"),
        "{text}"
    );
    let shown = p
        .run(
            ATMOS,
            &["ai", "sessions", "show", "short", "--format", "json"],
        )
        .json();
    let summary = shown["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["isSummary"] == true)
        .expect("a summary")
        .clone();
    assert!(
        !summary["content"]
            .as_str()
            .unwrap()
            .contains("A very long summary")
    );
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(list["sessions"][0]["archivedCount"], 4);

    // Two greetings cannot be summarised shorter: they are left alone.
    let greet = TestProject::new(&config(
        &fake,
        "      enabled: false\n      preserve_recent: 0\n      use_ai_summary: false\n",
    ));
    ask(&greet, "hi", "hi").ok();
    let text = greet
        .run(ATMOS, &["ai", "sessions", "compact", "hi"])
        .ok()
        .to_string();
    assert!(text.contains("nothing to compact"), "{text}");
}

#[test]
fn uncompact_restores_exactly_what_a_summary_replaced_and_compaction_works_after() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(
        &fake,
        "      enabled: false\n      preserve_recent: 2\n      use_ai_summary: false\n",
    ));
    for t in 1..=4 {
        ask(&p, "undo", &format!("q{t}: {}", reasons())).ok();
    }
    let active = |p: &TestProject| {
        let conn = rusqlite::Connection::open(p.db_path()).unwrap();
        let mut stmt = conn
            .prepare("SELECT id FROM messages WHERE archived = 0 AND is_summary = 0 ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect::<Vec<i64>>()
    };
    let before = active(&p);
    assert_eq!(before.len(), 8);
    p.run(ATMOS, &["ai", "sessions", "compact", "undo"]).ok();
    let compacted = active(&p);
    let archived: Vec<i64> = before
        .iter()
        .copied()
        .filter(|id| !compacted.contains(id))
        .collect();
    assert!(!archived.is_empty());
    // show --compacted names what the summary replaced.
    let shown = p
        .run(ATMOS, &["ai", "sessions", "show", "undo", "--compacted"])
        .ok()
        .to_string();
    assert!(
        shown.contains("live") && shown.contains("undo: atmos ai sessions uncompact"),
        "{shown}"
    );
    for id in &archived {
        assert!(shown.contains(&format!("#{id} ")), "{shown}");
    }
    // Undo: exactly those are active again; the summary is kept, archived.
    let out = p
        .run(ATMOS, &["ai", "sessions", "uncompact", "undo"])
        .ok()
        .to_string();
    assert!(
        out.contains(&format!("{} messages are active again", archived.len())),
        "{out}"
    );
    assert_eq!(active(&p), before);
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(list["sessions"][0]["archivedCount"], 0);
    assert_eq!(list["sessions"][0]["summaryCount"], 1);
    // Nothing left to undo, said plainly.
    let err = p
        .run(ATMOS, &["ai", "sessions", "uncompact", "undo"])
        .fails(2)
        .to_string();
    assert!(err.contains("no live summary"), "{err}");
    // A later compaction works, and the next turn sends the new summary.
    p.run(ATMOS, &["ai", "sessions", "compact", "undo"]).ok();
    assert_eq!(active(&p), compacted);
    ask(&p, "undo", "and now?").ok();
    let sent = fake.requests().pop().unwrap();
    assert!(
        sent.body["system"]
            .as_str()
            .unwrap()
            .contains("Summary of the earlier conversation")
    );
}
