//! `atmos ai ask` / `exec` end to end: the real binary against the fake
//! provider on 127.0.0.1, checking what was sent and what was stored.

use atmos_tests::fake_provider::{FakeProvider, Fault, Reply};
use atmos_tests::project::TestProject;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");
const KEY: &str = "sk-test-not-a-real-key";

fn config(fake: &FakeProvider, kind: &str, extra: &str) -> String {
    format!(
        "ai:\n  default_provider: {kind}\n  timeout_seconds: 1\n{extra}  providers:\n    {kind}:\n      base_url: {}{}\n      api_key_env: ATMOS_TEST_KEY\n  skills:\n    security:\n      description: Reviews IAM\n      system_prompt: You audit IAM policies.\n  sessions:\n    enabled: true\n",
        fake.base_url(),
        if kind == "openai" { "/v1" } else { "" }
    )
}

/// Runs a prepared `atmos ai chat …` with `input` piped to it (line mode).
fn chat_piped(cmd: &mut std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn ask(p: &TestProject, args: &[&str]) -> atmos_tests::project::Run {
    let mut all = vec!["ai", "ask"];
    all.extend_from_slice(args);
    atmos_tests::project::Run::from(
        p.command(ATMOS)
            .env("ATMOS_TEST_KEY", KEY)
            .args(&all)
            .output()
            .unwrap(),
    )
}

/// (role, content, archived, interrupted) of every stored message of a session.
fn stored(p: &TestProject, session: &str) -> Vec<(String, String, bool)> {
    let conn = rusqlite::Connection::open(p.db_path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT m.role, m.content, m.interrupted FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.name = ?1 ORDER BY m.id")
        .unwrap();
    stmt.query_map([session], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn roles_and_text(messages: &Value) -> Vec<(String, String)> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(role: &str, text: &str) -> (String, String) {
    (role.to_string(), text.to_string())
}

#[test]
fn every_turn_sends_the_whole_history_across_processes() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "anthropic", ""));
    fake.push_reply(Reply::new(
        &["Atmos stacks are ", "configuration files."],
        50,
        6,
    ));
    let out = ask(&p, &["--session", "vpc-design", "What are Atmos stacks?"]);
    assert_eq!(out.ok(), "Atmos stacks are configuration files.\n");
    fake.push_reply(Reply::new(&["Sure! Production: ..."], 80, 4));
    ask(
        &p,
        &[
            "--session",
            "vpc-design",
            "can you show me an example for production?",
        ],
    )
    .ok();
    // "Day 2": yet another process.
    ask(
        &p,
        &[
            "--session",
            "vpc-design",
            "let's continue with the staging variant",
        ],
    )
    .ok();

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    let third = &requests[2];
    assert_eq!(third.path, "/v1/messages");
    assert_eq!(third.header("x-api-key"), Some(KEY));
    assert!(
        third.body["system"]
            .as_str()
            .unwrap()
            .contains("infrastructure engineers"),
        "the general skill's prompt"
    );
    assert_eq!(
        roles_and_text(&third.body["messages"]),
        vec![
            pair("user", "What are Atmos stacks?"),
            pair("assistant", "Atmos stacks are configuration files."),
            pair("user", "can you show me an example for production?"),
            pair("assistant", "Sure! Production: ..."),
            pair("user", "let's continue with the staging variant"),
        ]
    );
    assert_eq!(roles_and_text(&requests[0].body["messages"]).len(), 1);
    assert_eq!(roles_and_text(&requests[1].body["messages"]).len(), 3);
    let rows = stored(&p, "vpc-design");
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| !r.2));
}

#[test]
fn max_history_messages_sends_only_the_newest() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "openai", "  max_history_messages: 4\n"));
    for i in 1..=5 {
        ask(&p, &["--session", "w", &format!("q{i}")]).ok();
    }
    let last = fake.requests().pop().unwrap();
    let sent = roles_and_text(&last.body["messages"]);
    // OpenAI gets the system prompt as its first message, then the window.
    assert_eq!(sent[0].0, "system");
    // The newest 4 are echo q3, q4, echo q4, q5; a window never starts with
    // a reply whose question fell outside it, so echo q3 is left out.
    assert_eq!(
        sent[1..],
        [
            pair("user", "q4"),
            pair("assistant", "echo: q4"),
            pair("user", "q5")
        ]
    );
    assert_eq!(stored(&p, "w").len(), 10, "nothing is removed from storage");
}

#[test]
fn the_session_remembers_its_skill_provider_and_model() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "openai", ""));
    ask(
        &p,
        &[
            "--session",
            "sec",
            "--skill",
            "security",
            "--model",
            "gpt-4.1",
            "check this policy",
        ],
    )
    .ok();
    ask(&p, &["--session", "sec", "and this one"]).ok();
    let reqs = fake.requests();
    for r in &reqs {
        assert_eq!(
            r.body["messages"][0],
            json!({"role": "system", "content": "You audit IAM policies."})
        );
        assert_eq!(r.body["model"], "gpt-4.1");
    }
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(list["sessions"][0]["skill"], "security");
    assert_eq!(list["sessions"][0]["model"], "gpt-4.1");
}

#[test]
fn faults_keep_the_user_message_and_the_partial_reply() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "anthropic", ""));
    ask(&p, &["--session", "f", "first"]).ok();

    // Three 500s: the first try and two retries fail.
    for _ in 0..3 {
        fake.push_fault(Fault::Status500);
    }
    let err = ask(&p, &["--session", "f", "second"]).fails(1).to_string();
    assert!(err.contains("500"), "{err}");
    assert_eq!(
        stored(&p, "f").last().unwrap(),
        &("user".to_string(), "second".to_string(), false)
    );

    // A stream cut after two pieces: those are stored, marked interrupted.
    fake.push_fault(Fault::CutMidStream { after_deltas: 2 });
    fake.push_reply(Reply::new(&["one ", "two ", "three"], 10, 3));
    let run = ask(&p, &["--session", "f", "third"]);
    assert!(run.fails(1).contains("anthropic"), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("one two "),
        "streamed before the cut: {}",
        run.stdout
    );
    assert_eq!(
        stored(&p, "f").last().unwrap(),
        &("assistant".to_string(), "one two ".to_string(), true)
    );

    // An invalid JSON chunk.
    fake.push_fault(Fault::InvalidJsonChunk { after_deltas: 1 });
    fake.push_reply(Reply::new(&["alpha ", "beta"], 10, 2));
    ask(&p, &["--session", "f", "fourth"]).fails(1);
    assert_eq!(
        stored(&p, "f").last().unwrap(),
        &("assistant".to_string(), "alpha ".to_string(), true)
    );

    // A slow first byte beyond timeout_seconds (1 s): the user message alone.
    fake.push_fault(Fault::SlowFirstByte { ms: 2500 });
    let err = ask(&p, &["--session", "f", "fifth"]).fails(1).to_string();
    assert!(
        err.to_lowercase().contains("timed out")
            || err.contains("timeout")
            || err.contains("no data"),
        "{err}"
    );
    assert_eq!(
        stored(&p, "f").last().unwrap(),
        &("user".to_string(), "fifth".to_string(), false)
    );

    // A 429 with Retry-After is retried and the turn succeeds.
    fake.push_fault(Fault::Status429 {
        retry_after_secs: 1,
    });
    ask(&p, &["--session", "f", "sixth"]).ok();
    assert_eq!(
        stored(&p, "f").last().unwrap(),
        &(
            "assistant".to_string(),
            "echo: fifth\n\nsixth".to_string(),
            false
        )
    );

    // The history sent next still holds everything, interrupted replies included.
    ask(&p, &["--session", "f", "seventh"]).ok();
    let sent = roles_and_text(&fake.requests().last().unwrap().body["messages"]);
    assert!(sent.contains(&pair("assistant", "one two ")), "{sent:?}");
    // A turn that failed left its user message; the next one is sent with it, as one.
    assert!(sent.contains(&pair("user", "fifth\n\nsixth")), "{sent:?}");
    let rows = stored(&p, "f");
    assert_eq!(rows.iter().filter(|r| r.0 == "user").count(), 7);
}

#[test]
fn a_missing_key_names_the_variable_and_stores_nothing() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "anthropic", ""));
    let run = atmos_tests::project::Run::from(
        p.command(ATMOS)
            .args(["ai", "ask", "--session", "k", "hello"])
            .output()
            .unwrap(),
    );
    let err = run.fails(1);
    assert!(err.contains("ATMOS_TEST_KEY"), "{err}");
    assert!(!err.contains(KEY));
    assert!(stored(&p, "k").is_empty());
    assert!(fake.requests().is_empty(), "no request without a key");
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(list["total"], 0, "no empty session is left behind");
}

#[test]
fn an_unreachable_server_is_named() {
    let p = TestProject::new(
        "ai:\n  default_provider: ollama\n  providers:\n    ollama:\n      base_url: http://127.0.0.1:9\n  sessions:\n    enabled: true\n",
    );
    let err = ask(&p, &["hello"]).fails(1).to_string();
    assert!(err.contains("127.0.0.1:9"), "{err}");
    assert!(err.contains("check that it is running"), "{err}");
}

#[test]
fn a_host_name_that_does_not_resolve_is_said_as_such() {
    // `.invalid` never resolves (RFC 6761).
    let p = TestProject::new(
        "ai:\n  default_provider: openai\n  providers:\n    openai:\n      base_url: https://api.opneai.invalid/v1\n      api_key_env: ATMOS_TEST_KEY\n",
    );
    let err = ask(&p, &["hello"]).fails(1).to_string();
    assert!(
        err.contains("the host name api.opneai.invalid was not found")
            && err.contains("ai.providers.openai.base_url")
            && !err.contains("check that it is running"),
        "{err}"
    );
}

#[test]
fn a_busy_session_refuses_a_second_turn_from_another_process() {
    let fake = FakeProvider::start();
    let p = TestProject::new(
        &config(&fake, "anthropic", "").replace("timeout_seconds: 1", "timeout_seconds: 30"),
    );
    ask(&p, &["--session", "b", "warm up"]).ok();
    fake.push_fault(Fault::SlowFirstByte { ms: 3000 });
    let first = p
        .command(ATMOS)
        .env("ATMOS_TEST_KEY", KEY)
        .args(["ai", "ask", "--session", "b", "slow one"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.requests().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the first turn never reached the provider"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = ask(&p, &["--session", "b", "impatient"])
        .fails(1)
        .to_string();
    assert!(err.contains("busy"), "{err}");
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        fake.requests().len(),
        2,
        "the refused turn never called the provider"
    );
    let users: Vec<_> = stored(&p, "b")
        .into_iter()
        .filter(|r| r.0 == "user")
        .map(|r| r.1)
        .collect();
    assert_eq!(
        users,
        ["warm up", "slow one"],
        "the refused message is not stored"
    );
}

#[test]
fn ctrl_c_keeps_the_partial_reply_marked_interrupted() {
    let fake = FakeProvider::start_with_delay(Duration::from_millis(400));
    let p = TestProject::new(
        &config(&fake, "anthropic", "").replace("timeout_seconds: 1", "timeout_seconds: 30"),
    );
    fake.push_reply(Reply::new(
        &["first ", "second ", "third ", "fourth ", "fifth"],
        10,
        5,
    ));
    let mut child = p
        .command(ATMOS)
        .env("ATMOS_TEST_KEY", KEY)
        .args(["ai", "ask", "--session", "c", "tell me a long story"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("first ") {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "stdout closed early");
        seen.push(byte[0]);
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    let _ = stdout.read_line(&mut rest);
    let out = child.wait_with_output().unwrap();
    // 130 as for any interrupted command, and one message, not an error too.
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{out:?}");
    assert!(!stderr.contains("error: cancelled"), "{stderr}");
    let last = stored(&p, "c").pop().unwrap();
    assert_eq!(last.0, "assistant");
    assert!(last.2, "marked interrupted");
    assert!(
        last.1.starts_with("first ") && !last.1.contains("fifth"),
        "{last:?}"
    );
}

#[test]
fn without_sessions_ask_works_but_keeps_nothing() {
    let fake = FakeProvider::start();
    let yaml = config(&fake, "gemini", "").replace("  sessions:\n    enabled: true\n", "");
    let p = TestProject::new(&yaml);
    assert_eq!(
        ask(&p, &["what", "is", "atmos?"]).ok(),
        "echo: what is atmos?\n"
    );
    let req = &fake.requests()[0];
    assert!(req.path.contains(":streamGenerateContent"), "{}", req.path);
    assert!(
        req.body["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Atmos")
    );
    let err = ask(&p, &["--session", "x", "hello"]).fails(1).to_string();
    assert!(
        err.contains("sessions are disabled") && err.contains("enabled: true"),
        "{err}"
    );
    assert!(!p.db_path().exists());
}

#[test]
fn exec_reads_stdin_and_reports_json() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "ollama", ""));
    fake.push_reply(Reply::without_usage(&["four ", "stacks"]));
    let mut child = p
        .command(ATMOS)
        .args(["ai", "exec", "--session", "scripted", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"How many stacks?")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reply"], "four stacks");
    assert_eq!(
        (
            v["provider"].as_str(),
            v["model"].as_str(),
            v["session"].as_str()
        ),
        (Some("ollama"), Some("llama3.3"), Some("scripted"))
    );
    assert_eq!(
        v["usage"]["estimated"], true,
        "no usage on the wire: estimated"
    );
    assert!(v["usage"]["inputTokens"].as_u64().unwrap() > 0);
    assert!(v["durationMs"].is_u64());
    let file = p.root().join("answer.md");
    p.command(ATMOS)
        .args([
            "ai",
            "exec",
            "--session",
            "scripted",
            "--format",
            "markdown",
            "--output",
            file.to_str().unwrap(),
            "again",
        ])
        .status()
        .unwrap();
    assert_eq!(std::fs::read_to_string(file).unwrap(), "echo: again\n");
}

#[test]
fn with_no_key_and_no_default_the_choice_is_said_and_the_fix_named() {
    // Nothing configured, no key set, and (on a test machine) no Ollama
    // answering on localhost:11434: anthropic is picked, and its key is missing.
    let p = TestProject::new("ai:\n  sessions:\n    enabled: true\n");
    let run = atmos_tests::project::Run::from(
        p.command(ATMOS)
            .args(["ai", "ask", "hello"])
            .output()
            .unwrap(),
    );
    let err = run.fails(1);
    assert!(err.contains("Using provider 'anthropic'"), "{err}");
    assert!(err.contains("ANTHROPIC_API_KEY"), "{err}");
}

#[test]
fn a_configured_ollama_needs_no_key_and_is_the_default() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&format!(
        "ai:\n  providers:\n    ollama:\n      base_url: {}\n  sessions:\n    enabled: true\n",
        fake.base_url()
    ));
    let run = ask(&p, &["--session", "local", "hello"]);
    assert_eq!(run.ok(), "echo: hello\n");
    assert!(
        run.stderr.contains("Using provider 'ollama'"),
        "{}",
        run.stderr
    );
    assert_eq!(fake.requests()[0].path, "/api/chat");
}

#[test]
fn switching_provider_keeps_the_history_and_a_failed_switch_changes_nothing() {
    let fake = FakeProvider::start();
    let yaml = format!(
        "ai:\n  default_provider: anthropic\n  providers:\n    anthropic:\n      base_url: {url}\n      api_key_env: ATMOS_TEST_KEY\n    openai:\n      base_url: {url}/v1\n      api_key_env: ATMOS_TEST_KEY\n    gemini:\n      api_key_env: ATMOS_TEST_GEMINI_UNSET\n  sessions:\n    enabled: true\n",
        url = fake.base_url()
    );
    let p = TestProject::new(&yaml);
    ask(&p, &["--session", "sw", "first question"]).ok();
    // Switch to openai: the whole conversation, both sides, goes to the new model.
    let switched = ask(
        &p,
        &["--session", "sw", "--provider", "openai", "second question"],
    );
    switched.ok();
    assert!(
        switched
            .stderr
            .contains("Switched session 'sw' to provider openai (gpt-4o)"),
        "the switch is said: {}",
        switched.stderr
    );
    let last = fake.requests().pop().unwrap();
    assert_eq!(last.path, "/v1/chat/completions");
    assert_eq!(last.body["model"], "gpt-4o", "the new provider's model");
    let sent = roles_and_text(&last.body["messages"]);
    assert_eq!(
        sent[1..],
        [
            pair("user", "first question"),
            pair("assistant", "echo: first question"),
            pair("user", "second question"),
        ]
    );
    // A switch to a provider without its key fails and leaves the session as it was.
    let err = ask(&p, &["--session", "sw", "--provider", "gemini", "third"])
        .fails(1)
        .to_string();
    assert!(err.contains("ATMOS_TEST_GEMINI_UNSET"), "{err}");
    let list = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(
        (
            list["sessions"][0]["provider"].as_str(),
            list["sessions"][0]["model"].as_str()
        ),
        (Some("openai"), Some("gpt-4o"))
    );
    assert_eq!(
        stored(&p, "sw").len(),
        4,
        "nothing stored for the failed switch"
    );
    ask(&p, &["--session", "sw", "still works"]).ok();
}

#[test]
fn a_piped_chat_with_sessions_off_is_still_a_conversation() {
    let fake = FakeProvider::start();
    let p = TestProject::new(
        &config(&fake, "anthropic", "").replace("    enabled: true\n", "    enabled: false\n"),
    );
    let out = chat_piped(
        p.command(ATMOS)
            .env("ATMOS_TEST_KEY", "k")
            .args(["ai", "chat"]),
        b"the prod VPC is 10.40.0.0/16\nand staging?\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = &fake.requests()[1].body["messages"];
    let texts: Vec<&str> = second
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        [
            "the prod VPC is 10.40.0.0/16",
            "echo: the prod VPC is 10.40.0.0/16",
            "and staging?"
        ],
        "{second}"
    );
    assert!(!p.db_path().exists());
}

#[test]
fn an_empty_model_is_refused_before_anything_happens() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "ollama", ""));
    for args in [
        &["ai", "ask", "--model", "", "hi"][..],
        &["ai", "sessions", "create", "x", "--model", " "][..],
    ] {
        let err = p.run(ATMOS, args).fails(2).to_string();
        assert!(err.contains("a model name cannot be empty"), "{err}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn a_new_session_says_so_and_names_the_one_it_may_have_meant() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "ollama", ""));
    let first = ask(&p, &["--session", "vpc-design", "hello"]);
    first.ok();
    assert!(
        first.stderr.contains("New session 'vpc-design'."),
        "{}",
        first.stderr
    );
    let typo = ask(&p, &["--session", "vpc-desgin", "hello again"]);
    typo.ok();
    assert!(
        typo.stderr
            .contains("New session 'vpc-desgin' (did you mean 'vpc-design'?)."),
        "{}",
        typo.stderr
    );
    let again = ask(&p, &["--session", "vpc-design", "and again"]);
    again.ok();
    assert!(!again.stderr.contains("New session"), "{}", again.stderr);
}

#[test]
fn resuming_counts_as_use_and_every_eviction_is_said() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "ollama", "").replace(
        "    enabled: true\n",
        "    enabled: true\n    max_sessions: 2\n",
    ));
    ask(&p, &["--session", "daily", "one"]).ok();
    ask(&p, &["--session", "other", "two"]).ok();
    // "daily" is only resumed (a chat with nothing typed): that is use, so
    // it is now the most recently used and "other" goes.
    let resumed = p
        .command(ATMOS)
        .args(["ai", "chat", "--session", "daily"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{resumed:?}");
    let out = chat_piped(
        p.command(ATMOS).args(["ai", "chat", "--session", "piped3"]),
        b"x\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Removed the least recently used session 'other'"),
        "{stderr}"
    );
    let names = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    let names: Vec<&str> = names["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["piped3", "daily"]);
}

#[test]
fn chat_continue_resumes_the_most_recently_used_session() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "ollama", ""));
    let none = p
        .run(ATMOS, &["ai", "chat", "--continue"])
        .fails(1)
        .to_string();
    assert!(
        none.contains("there is no session to continue yet"),
        "{none}"
    );
    ask(&p, &["--session", "older", "one"]).ok();
    ask(&p, &["--session", "newer", "the prod VPC is 10.40.0.0/16"]).ok();
    let out = chat_piped(
        p.command(ATMOS).args(["ai", "chat", "-c"]),
        b"and staging?\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("New session"), "{stderr}");
    let body = fake.requests().last().unwrap().body.clone();
    assert!(
        body.to_string().contains("the prod VPC is 10.40.0.0/16"),
        "the newer session's history: {body}"
    );
    let both = p
        .run(ATMOS, &["ai", "chat", "-c", "--session", "x"])
        .fails(2)
        .to_string();
    assert!(both.contains("cannot be used with"), "{both}");
}

#[test]
fn a_finished_command_leaves_everything_in_the_database_file() {
    // The seed's backup is `cp sessions.db`: once a command has returned,
    // its writes must be in that file, not only in the WAL beside it.
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "anthropic", ""));
    fake.push_reply(Reply::new(&["Stored."], 5, 1));
    ask(&p, &["--session", "backup", "keep this"]).ok();
    let wal = p.db_path().with_extension("db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL was checkpointed and emptied at exit");
    let copied = p.root().join("backup.db");
    std::fs::copy(p.db_path(), &copied).unwrap();
    let conn = rusqlite::Connection::open(&copied).unwrap();
    let texts: Vec<String> = conn
        .prepare("SELECT content FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(texts, ["keep this", "Stored."]);
}

#[test]
fn a_session_counts_its_tokens_and_prices_them() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "anthropic", "").replace(
        "      api_key_env: ATMOS_TEST_KEY\n",
        "      api_key_env: ATMOS_TEST_KEY\n      pricing:\n        input: 3.0\n        output: 15.0\n",
    ));
    fake.push_reply(Reply::new(&["one"], 1000, 200));
    ask(&p, &["--session", "priced", "first"]).ok();
    fake.push_reply(Reply::new(&["two"], 3000, 800));
    ask(&p, &["--session", "priced", "second"]).ok();
    let listed = p
        .run(ATMOS, &["ai", "sessions", "list", "--format", "json"])
        .json();
    assert_eq!(listed["sessions"][0]["inputTokens"], 4000);
    assert_eq!(listed["sessions"][0]["outputTokens"], 1000);
    let table = p.run(ATMOS, &["ai", "sessions", "list"]).ok().to_string();
    // 4,000 × 3 + 1,000 × 15 per million: 0.027.
    assert!(
        table.contains("TOKENS") && table.contains("5,000"),
        "{table}"
    );
    assert!(
        table.contains("COST") && table.contains("0.0270"),
        "{table}"
    );
    let shown = p
        .run(ATMOS, &["ai", "sessions", "show", "priced"])
        .ok()
        .to_string();
    assert!(
        shown.contains("Used 4,000 tokens in and 1,000 out (about 0.0270 at anthropic's pricing)"),
        "{shown}"
    );
    // A price given by half is refused, naming the key.
    p.write_config(&config(&fake, "anthropic", "").replace(
        "      api_key_env: ATMOS_TEST_KEY\n",
        "      api_key_env: ATMOS_TEST_KEY\n      pricing:\n        input: 3.0\n",
    ));
    let err = p
        .run(ATMOS, &["ai", "sessions", "list"])
        .fails(1)
        .to_string();
    assert!(
        err.contains("ai.providers.anthropic.pricing.output"),
        "{err}"
    );
}

#[test]
fn with_redact_on_secrets_are_masked_before_they_are_stored_or_sent() {
    let fake = FakeProvider::start();
    let p = TestProject::new(&config(&fake, "anthropic", "").replace(
        "    enabled: true\n",
        "    enabled: true\n    redact: true\n    redact_patterns: ['TICKET-[0-9]+']\n",
    ));
    fake.push_reply(Reply::new(&["noted"], 5, 1));
    let out = ask(
        &p,
        &[
            "--session",
            "secret",
            "why does AKIAIOSFODNN7EXAMPLE fail with password: hunter2 on TICKET-42?",
        ],
    );
    out.ok();
    assert!(out.stderr.contains("Masked 3 secrets"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("hunter2") && !out.stderr.contains("AKIA"),
        "{}",
        out.stderr
    );
    let sent = fake.requests().pop().unwrap().body.to_string();
    assert!(
        !sent.contains("AKIAIOSFODNN7EXAMPLE")
            && !sent.contains("hunter2")
            && !sent.contains("TICKET-42"),
        "{sent}"
    );
    let kept = stored(&p, "secret");
    assert_eq!(
        kept[0].1,
        "why does [REDACTED] fail with password: [REDACTED] on [REDACTED]?"
    );
    // A pattern that does not compile is named when atmos.yaml is read.
    p.write_config(&config(&fake, "anthropic", "").replace(
        "    enabled: true\n",
        "    enabled: true\n    redact: true\n    redact_patterns: ['(unclosed']\n",
    ));
    let err = ask(&p, &["hello"]).fails(1).to_string();
    assert!(err.contains("ai.sessions.redact_patterns"), "{err}");
}
