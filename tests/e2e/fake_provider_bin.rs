//! The `fake-provider` binary as the editor clients' tests use it: started as a process, its
//! URL read from the first line of its output, scripted over HTTP under `/__fake/`.
//!
//! Being an integration test of `atmos-tests` also makes `cargo test` build the binary, so
//! `scripts/test.sh` hands the editor tests binaries without a second build.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use atmos_tests::fake_provider::http;
use serde_json::Value;

#[test]
fn the_binary_prints_its_url_and_is_scripted_over_http() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-provider"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start fake-provider");
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let (status, _) = http(
        &url,
        "POST",
        "/__fake/reply",
        r#"{"deltas":["slow ","reply"],"delayMs":5}"#,
    );
    assert_eq!(status, 200);
    let chat = r#"{"model":"claude","max_tokens":5,"stream":false,"messages":[{"role":"user","content":"hello"}]}"#;
    let (status, answer) = http(&url, "POST", "/v1/messages", chat);
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["content"][0]["text"], "slow reply");
    // With nothing queued: the echo.
    let (_, answer) = http(&url, "POST", "/v1/messages", chat);
    assert!(answer.contains("echo: hello"), "{answer}");

    let (_, log) = http(&url, "GET", "/__fake/requests", "");
    let log: Value = serde_json::from_str(&log).unwrap();
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert_eq!(log[1]["path"], "/v1/messages");
    assert_eq!(log[1]["body"]["messages"][0]["content"], "hello");

    child.kill().unwrap();
    child.wait().unwrap();
}
