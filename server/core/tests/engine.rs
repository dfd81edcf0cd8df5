//! The conversation engine against the fake provider on 127.0.0.1 and a
//! real database file: the order of a turn's events, compaction after a
//! turn, cancelling, failures, one-shot turns, and leases given back by
//! their guard when a turn's task is dropped.

use atmos_ai::chat::TurnRequest;
use atmos_ai::compact::Stage;
use atmos_ai::engine::{CancellationToken, OneShot, TurnEvent, TurnEvents};
use atmos_ai::{CreateOptions, Engine, Error, LoadOptions, Project, SessionKey, TranscriptQuery};
use atmos_tests::fake_provider::{FakeProvider, Fault, Reply};
use atmos_tests::project::TestProject;
use std::time::Duration;

fn setup(extra: &str) -> (FakeProvider, TestProject, Project) {
    let fake = FakeProvider::start();
    let yaml = format!(
        "ai:\n  default_provider: ollama\n  max_history_messages: 4\n  timeout_seconds: 5\n  providers:\n    ollama:\n      base_url: {}\n      model: llama-test\n  sessions:\n    enabled: true\n{extra}",
        fake.base_url()
    );
    let p = TestProject::new(&yaml);
    let project = Project::load(&LoadOptions {
        explicit: None,
        env_path: None,
        start_dir: p.root().to_path_buf(),
    })
    .unwrap();
    (fake, p, project)
}

const COMPACT: &str = "    auto_compact:\n      enabled: true\n      preserve_recent: 2\n      use_ai_summary: false\n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Every event until the stream ends (a hang guard, not a timing check).
fn collect(rt: &tokio::runtime::Runtime, mut events: TurnEvents) -> Vec<TurnEvent> {
    rt.block_on(async {
        let mut all = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                Ok(Some(e)) => all.push(e),
                Ok(None) => return all,
                Err(_) => panic!("the turn did not end; so far: {all:?}"),
            }
        }
    })
}

/// The events as short names, for comparing sequences.
fn names(events: &[TurnEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            TurnEvent::Started(_) => "started".to_string(),
            TurnEvent::Delta { index, text } => format!("delta {index} {text}"),
            TurnEvent::SessionChanged { change, .. } => format!("changed {change:?}"),
            TurnEvent::Replied(t) => format!("replied {}", t.reply.content),
            TurnEvent::Failed { error, partial } => format!("failed {error:?} [{partial}]"),
            TurnEvent::Compaction(c) => format!("compaction {}", c.stage.as_str()),
            TurnEvent::Compacted(r) => format!("compacted {}", r.compacted),
            TurnEvent::CompactionFailed { error } => format!("compaction failed {error}"),
        })
        .collect()
}

fn session(engine: &Engine, name: &str) -> SessionKey {
    let options = CreateOptions {
        name: Some(name.into()),
        ..Default::default()
    };
    let (s, _) = engine.call_blocking(move |s| s.create(options)).unwrap();
    SessionKey::Id(s.id)
}

/// A question with a pasted plan: long enough that a summary of it is
/// shorter (a few words would not be compacted: no summary saves on them).
fn which_cidr() -> String {
    let plan =
        "  + resource \"aws_subnet\" \"private\" { cidr_block = \"10.0.1.0/24\" }\n".repeat(12);
    format!("which CIDR? Here is the plan:\n{plan}")
}

fn turn(key: &SessionKey, text: &str) -> TurnRequest {
    TurnRequest::new(key.clone(), text)
}

#[test]
fn a_turn_and_the_compaction_it_triggers_report_in_order() {
    let (fake, _p, project) = setup(COMPACT);
    let engine = Engine::open(project).unwrap();
    let rt = runtime();
    let key = session(&engine, "vpc");
    let _entered = rt.enter();

    fake.push_reply(Reply::new(&["Use ", "10.0.0.0/16"], 12, 4));
    let first = collect(
        &rt,
        engine.chat(turn(&key, &which_cidr()), CancellationToken::new()),
    );
    assert_eq!(
        names(&first),
        [
            "started",
            "delta 0 Use ",
            "delta 1 10.0.0.0/16",
            "changed Chat",
            "replied Use 10.0.0.0/16"
        ]
    );
    let TurnEvent::SessionChanged { session, .. } = &first[3] else {
        unreachable!()
    };
    assert_eq!(session.message_count, 2, "the counters after the turn");

    // Four active messages reach 0.75 × 4: the oldest two are compacted.
    fake.push_reply(Reply::new(&["Three ", "AZs"], 20, 2));
    let second = collect(
        &rt,
        engine.chat(turn(&key, "how many AZs?"), CancellationToken::new()),
    );
    assert_eq!(
        names(&second),
        [
            "started",
            "delta 0 Three ",
            "delta 1 AZs",
            "changed Chat",
            "replied Three AZs",
            "compaction starting",
            "compaction summarizing",
            "compaction completed",
            "changed Compacted",
            "compacted true"
        ]
    );
    let TurnEvent::Compacted(result) = &second[9] else {
        unreachable!()
    };
    assert_eq!(result.archived_ids.len(), 2);
    assert!(
        result
            .summary
            .as_ref()
            .unwrap()
            .content
            .contains("which CIDR?")
    );
    let TurnEvent::Compaction(started) = &second[5] else {
        unreachable!()
    };
    assert_eq!((started.stage, started.message_count), (Stage::Starting, 2));

    // The model saw the whole history on turn 2, and the session is free.
    let requests = fake.requests();
    assert!(requests[1].body.to_string().contains("which CIDR?"));
    fake.push_reply(Reply::new(&["ok"], 1, 1));
    let third = collect(
        &rt,
        engine.chat(turn(&key, "thanks"), CancellationToken::new()),
    );
    assert!(
        names(&third).contains(&"replied ok".to_string()),
        "{third:?}"
    );
}

#[test]
fn a_cancelled_turn_keeps_what_arrived_and_frees_the_session() {
    let (fake, _p, project) = setup("");
    let engine = Engine::open(project).unwrap();
    let rt = runtime();
    let key = session(&engine, "slow");
    let _entered = rt.enter();
    let mut reply = Reply::new(&["partial ", "never ", "seen"], 1, 1);
    reply.delay = Some(Duration::from_millis(300));
    fake.push_reply(reply);
    let cancel = CancellationToken::new();
    let mut events = engine.chat(turn(&key, "a long answer"), cancel.clone());
    let mut seen = Vec::new();
    rt.block_on(async {
        while let Some(e) = events.recv().await {
            let first_delta = matches!(e, TurnEvent::Delta { .. });
            seen.push(e);
            if first_delta {
                cancel.cancel();
            }
        }
    });
    assert_eq!(
        names(&seen),
        [
            "started",
            "delta 0 partial ",
            "changed Chat",
            "failed Cancelled [partial ]"
        ]
    );
    let stored = engine
        .call_blocking({
            let key = key.clone();
            move |s| {
                s.messages(
                    &key,
                    &TranscriptQuery {
                        before: None,
                        limit: 10,
                        include_archived: true,
                        include_summaries: true,
                    },
                )
            }
        })
        .unwrap()
        .1
        .messages;
    assert_eq!(stored.len(), 2);
    assert_eq!(
        (stored[1].content.as_str(), stored[1].interrupted),
        ("partial ", true)
    );
    // The lease was given back: the next turn runs.
    fake.push_reply(Reply::new(&["done"], 1, 1));
    let next = collect(
        &rt,
        engine.chat(turn(&key, "again"), CancellationToken::new()),
    );
    assert!(
        names(&next).contains(&"replied done".to_string()),
        "{next:?}"
    );
}

#[test]
fn failures_say_whether_anything_was_stored() {
    let (fake, _p, project) = setup("");
    let engine = Engine::open(project).unwrap();
    let rt = runtime();
    let _entered = rt.enter();

    // The turn cannot start: `Failed` alone, nothing stored.
    let missing = collect(
        &rt,
        engine.chat(
            turn(&SessionKey::Name("nope".into()), "hello"),
            CancellationToken::new(),
        ),
    );
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(matches!(
        &missing[0],
        TurnEvent::Failed {
            error: Error::SessionNotFound { .. },
            ..
        }
    ));

    // The provider fails: the user message is stored, the session changed.
    let key = session(&engine, "flaky");
    fake.push_fault(Fault::Status401);
    let failed = collect(
        &rt,
        engine.chat(turn(&key, "hello"), CancellationToken::new()),
    );
    let names = names(&failed);
    assert_eq!(names[..2], ["started", "changed Chat"], "{failed:?}");
    assert!(matches!(
        failed.last(),
        Some(TurnEvent::Failed {
            error: Error::Provider {
                status: Some(401),
                ..
            },
            ..
        })
    ));
    let count = engine
        .call_blocking(move |s| s.get(&key))
        .unwrap()
        .message_count;
    assert_eq!(count, 1);
}

#[test]
fn a_turn_whose_task_is_dropped_gives_its_lease_back() {
    let (fake, _p, project) = setup("");
    let engine = Engine::open(project).unwrap();
    let key = session(&engine, "dropped");
    {
        // A runtime shut down mid-reply drops the turn's task between its
        // phases, with the lease held.
        let rt = runtime();
        let _entered = rt.enter();
        let mut reply = Reply::new(&["one ", "two"], 1, 1);
        reply.delay = Some(Duration::from_millis(500));
        fake.push_reply(reply);
        let mut events = engine.chat(turn(&key, "first"), CancellationToken::new());
        rt.block_on(async {
            while let Some(e) = events.recv().await {
                if matches!(e, TurnEvent::Delta { .. }) {
                    break;
                }
            }
        });
        drop(_entered);
        // Dropping the runtime waits until its tasks are dropped.
        drop(rt);
    }
    // The next store call gives the dropped lease back: no `Busy`.
    let rt = runtime();
    let _entered = rt.enter();
    fake.push_reply(Reply::new(&["fine"], 1, 1));
    let after = collect(
        &rt,
        engine.chat(turn(&key, "second"), CancellationToken::new()),
    );
    assert!(
        names(&after).contains(&"replied fine".to_string()),
        "{after:?}"
    );
}

#[test]
fn a_one_shot_turn_keeps_nothing() {
    let (fake, p, project) = setup("");
    let rt = runtime();
    let _entered = rt.enter();
    let skills = atmos_ai::skills::Skills::load(&project).unwrap();
    fake.push_reply(Reply::new(&["hi"], 1, 1));
    let one = OneShot {
        message: "hello".into(),
        stream: true,
        ..OneShot::default()
    };
    let events = collect(
        &rt,
        atmos_ai::engine::one_shot(&project, &skills, one, CancellationToken::new()),
    );
    assert_eq!(names(&events), ["started", "delta 0 hi", "replied hi"]);
    let TurnEvent::Started(started) = &events[0] else {
        unreachable!()
    };
    assert!(started.session.is_none() && started.user_message.is_none());
    assert!(!p.db_path().exists(), "no database for a one-shot turn");
}

#[test]
fn compact_now_reports_nothing_to_do_with_the_tokens() {
    let (fake, _p, project) = setup(COMPACT);
    let engine = Engine::open(project).unwrap();
    let rt = runtime();
    let _entered = rt.enter();
    let key = session(&engine, "short");
    fake.push_reply(Reply::new(&["a"], 1, 1));
    collect(&rt, engine.chat(turn(&key, "q"), CancellationToken::new()));
    let events = collect(&rt, engine.compact(key.clone(), CancellationToken::new()));
    assert_eq!(names(&events), ["compacted false"]);
    let TurnEvent::Compacted(r) = &events[0] else {
        unreachable!()
    };
    assert!(r.tokens_before > 0 && r.tokens_before == r.tokens_after);
}
