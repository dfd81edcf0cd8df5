//! The examples in `docs/protocol.md` are captured from the real server: this
//! test runs `atmos ai serve` through a scripted conversation and compares
//! each exchange with the block of the same name in the page. Run it with
//! `UPDATE_PROTOCOL_DOCS=1` to rewrite the blocks after a deliberate change:
//!
//! ```text
//! UPDATE_PROTOCOL_DOCS=1 cargo test -p atmos-cli --test rpc_protocol_docs
//! ```
//!
//! What differs from run to run is replaced by fixed stand-ins: session ids
//! (`0193a0c0-…-000N`, in order of appearance), the times of things made
//! during the run (`2026-11-24T09:30:00Z`), and the project's temp folder
//! (`/home/me/infra`). Each block shows the request (`-->`), the
//! notifications the server sent while answering it (`<--`), and the
//! response (`<--`), in the order they arrived.

use atmos_tests::fake_provider::{FakeProvider, Reply};
use atmos_tests::project::{SESSIONS_ON, TestProject};
use atmos_tests::rpc_client::{RpcServer, file_uri};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");

/// Times after this are "now" in a run (the fixtures are all older).
const NEWEST_FIXTURE_TIME: &str = "2026-11-02T23:59:59Z";
const NOW: &str = "2026-11-24T09:30:00Z";
const ROOT: &str = "/home/me/infra";

/// The scripted conversation: (example name, method, params).
fn script(root: &str) -> Vec<(&'static str, &'static str, Value)> {
    let history: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/full-session.json")).unwrap(),
    )
    .unwrap();
    vec![
        (
            "initialize",
            "initialize",
            json!({"processId": null, "capabilities": {}, "rootUri": root, "clientInfo": {"name": "docs"}}),
        ),
        ("status", "atmos/status", json!({})),
        ("providers-list", "atmos/providers/list", json!({})),
        ("skills-list", "atmos/skills/list", json!({})),
        (
            "session-create",
            "atmos/session/create",
            json!({"name": "vpc-design", "metadata": {"ticket": "INFRA-42"}}),
        ),
        (
            "session-import",
            "atmos/session/import",
            json!({"content": history.to_string(), "name": "vpc-history"}),
        ),
        (
            "session-export",
            "atmos/session/export",
            json!({"name": "vpc-history", "format": "markdown"}),
        ),
        ("session-list", "atmos/session/list", json!({"limit": 10})),
        (
            "session-list-query",
            "atmos/session/list",
            json!({"query": "prod vpc"}),
        ),
        (
            "session-resume",
            "atmos/session/resume",
            json!({"name": "vpc-history"}),
        ),
        (
            "session-resume-create",
            "atmos/session/resume",
            json!({"name": "eks-upgrade", "createIfMissing": true, "skill": "general"}),
        ),
        (
            "session-messages",
            "atmos/session/messages",
            json!({"name": "vpc-history", "limit": 2}),
        ),
        (
            "chat",
            "atmos/chat",
            json!({"name": "vpc-design", "message": "Which CIDR for prod? It peers with shared services (10.0.0.0/16) and staging (10.20.0.0/16), and on-prem 172.16.0.0/12 comes over the VPN: it must overlap none of them.", "token": "req-7",
                   "context": [{"kind": "selection", "uri": "file:///home/me/infra/stacks/prod.yaml",
                                "range": {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 0}},
                                "text": "vpc:\n  cidr: ?"}]}),
        ),
        (
            "session-compact",
            "atmos/session/compact",
            json!({"name": "vpc-design"}),
        ),
        (
            "session-compact-nothing",
            "atmos/session/compact",
            json!({"name": "vpc-design"}),
        ),
        (
            "session-rename",
            "atmos/session/rename",
            json!({"name": "eks-upgrade", "newName": "eks-upgrade-1.31"}),
        ),
        (
            "session-update",
            "atmos/session/update",
            json!({"name": "vpc-design", "model": "qwen3"}),
        ),
        (
            "session-delete",
            "atmos/session/delete",
            json!({"name": "eks-upgrade-1.31"}),
        ),
        (
            "session-clean",
            "atmos/session/clean",
            json!({"olderThan": "30d", "dryRun": true}),
        ),
        (
            "session-fork",
            "atmos/session/fork",
            json!({"name": "vpc-history", "newName": "vpc-history-ipv6"}),
        ),
        (
            "session-uncompact",
            "atmos/session/uncompact",
            json!({"name": "vpc-design"}),
        ),
        (
            "session-pin",
            "atmos/session/pin",
            // The message id is the chat question's, filled in when run.
            json!({"name": "vpc-design", "messageId": null}),
        ),
        (
            "session-update-title",
            "atmos/session/update",
            json!({"name": "vpc-design", "title": "Prod VPC CIDR"}),
        ),
        (
            "session-subscribe",
            "atmos/session/subscribe",
            // `after`: the chat question's id, filled in when run.
            json!({"name": "vpc-design", "after": null}),
        ),
        (
            "session-unsubscribe",
            "atmos/session/unsubscribe",
            json!({"name": "vpc-design"}),
        ),
        (
            "backup",
            "atmos/backup",
            json!({"path": "sessions-before-upgrade.db"}),
        ),
        (
            "error-not-found",
            "atmos/session/resume",
            json!({"name": "nope"}),
        ),
        (
            "error-exists",
            "atmos/session/create",
            json!({"name": "vpc-design"}),
        ),
        (
            "error-invalid-name",
            "atmos/session/rename",
            json!({"name": "vpc-design", "newName": " padded"}),
        ),
        (
            "error-invalid-params",
            "atmos/session/delete",
            json!({"name": "vpc-design", "id": "x"}),
        ),
        (
            "error-invalid-duration",
            "atmos/session/clean",
            json!({"olderThan": "1y"}),
        ),
        (
            "error-invalid-import",
            "atmos/session/import",
            json!({"content": "{\"version\": \"1.0\"}"}),
        ),
        ("shutdown", "shutdown", Value::Null),
    ]
}

/// Replaces what changes from run to run with fixed stand-ins.
struct Normalizer {
    root: String,
    ids: HashMap<String, String>,
}

impl Normalizer {
    fn value(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.string(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.value(x))).collect())
            }
            other => other.clone(),
        }
    }

    fn string(&mut self, s: &str) -> String {
        if is_uuid(s) {
            let n = self.ids.len() + 1;
            return self
                .ids
                .entry(s.to_string())
                .or_insert_with(|| format!("0193a0c0-0000-7000-8000-{n:012}"))
                .clone();
        }
        if is_time(s) && s > NEWEST_FIXTURE_TIME {
            return NOW.to_string();
        }
        let mut out = s.replace(&self.root, ROOT).replace(
            &file_uri(std::path::Path::new(&self.root)),
            &format!("file://{ROOT}"),
        );
        out = recent_markdown_times(&out);
        for (id, stand_in) in &self.ids {
            out = out.replace(id.as_str(), stand_in);
        }
        out
    }
}

/// Markdown exports write times as `2026-11-24 05:34 UTC`: those of the run
/// become the stand-in too.
fn recent_markdown_times(text: &str) -> String {
    const LEN: usize = "2026-11-24 05:34 UTC".len();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" UTC") {
        let start = (at + 4).saturating_sub(LEN);
        let candidate = rest.get(start..at + 4).unwrap_or("");
        let b = candidate.as_bytes();
        let is_time = candidate.is_ascii()
            && candidate.len() == LEN
            && b[4] == b'-'
            && b[10] == b' '
            && b[13] == b':';
        if is_time && candidate[..16] > NEWEST_FIXTURE_TIME[..16].replace('T', " ")[..] {
            out.push_str(&rest[..start]);
            out.push_str(&format!("{} {} UTC", &NOW[..10], &NOW[11..16]));
        } else {
            out.push_str(&rest[..at + 4]);
        }
        rest = &rest[at + 4..];
    }
    out.push_str(rest);
    out
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z'
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// Runs the script; returns each example's text by name.
fn capture() -> BTreeMap<&'static str, String> {
    let fake = FakeProvider::start();
    let p = TestProject::new(&format!(
        "ai:\n  default_provider: anthropic\n  providers:\n    anthropic:\n      base_url: {}\n      api_key_env: ATMOS_DOCS_KEY\n  sessions:\n    enabled: true\n    auto_compact:\n      use_ai_summary: false\n      preserve_recent: 0\n",
        fake.base_url()
    ));
    let root = p.root().canonicalize().unwrap();
    let mut normalizer = Normalizer {
        root: root.display().to_string(),
        ids: HashMap::new(),
    };
    let mut cmd = p.command(ATMOS);
    cmd.env("ATMOS_DOCS_KEY", "k").args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    let mut examples = BTreeMap::new();
    for (name, method, params) in script(&file_uri(&root)) {
        match name {
            "session-clean" => p.age_session("vpc-history", 60),
            "chat" => fake.push_reply(Reply::new(
                &["Use ", "10.40.0.0/16", " for prod: it overlaps none of shared services, staging or on-prem, and leaves room for three AZs."],
                1250,
                14,
            )),
            _ => {}
        }
        let mut params = params;
        if name == "session-pin" || name == "session-subscribe" {
            let page = s.call(
                "atmos/session/messages",
                json!({"name": "vpc-design", "includeArchived": true}),
            );
            let first = page["messages"][0]["id"].clone();
            match name {
                "session-pin" => params["messageId"] = first,
                _ => params["after"] = first,
            }
        }
        let seen = s.received.len();
        let id = s.send_request(method, params.clone());
        let response = s.response(&id);
        if method == "initialize" {
            s.notify("initialized", json!({}));
        }
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            request["params"] = params;
        }
        let mut text = format!("--> {}\n", pretty(&normalizer.value(&request)));
        // What the page shows is what the protocol declares: params, result
        // and every notification have exactly their declared types.
        if method.starts_with("atmos/") {
            let result = response.get("result");
            let declared = atmos_protocol::conforms(method, &request["params"], result)
                .unwrap_or_else(|e| panic!("example {name}: {e}"));
            assert!(
                declared,
                "example {name}: {method} is not declared in atmos-protocol"
            );
        }
        for message in &s.received[seen..] {
            if let Some(m) = message.get("method").and_then(Value::as_str) {
                let declared = atmos_protocol::notification_conforms(m, &message["params"])
                    .unwrap_or_else(|e| panic!("example {name}: {e}"));
                assert!(
                    declared,
                    "example {name}: {m} is not declared in atmos-protocol"
                );
            }
        }
        // Notifications sent while answering, then the response, as they arrived.
        for message in &s.received[seen..] {
            if message.get("method").is_some() || *message == response {
                text.push_str(&format!("<-- {}\n", pretty(&normalizer.value(message))));
            }
        }
        examples.insert(name, text);
    }
    s.take_notifications();
    s.notify("exit", Value::Null);
    assert!(s.wait().success());
    examples
}

/// The page with each `<!-- example: NAME -->` block replaced by `examples`.
fn render(page: &str, examples: &BTreeMap<&str, String>) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut used = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<!-- example: ") {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let name_end = after.find(" -->").expect("example marker closes");
        let name = &after["<!-- example: ".len()..name_end];
        let block_end = after
            .find("<!-- /example -->")
            .unwrap_or_else(|| panic!("example {name} has no <!-- /example -->"));
        let text = examples.get(name).unwrap_or_else(|| {
            panic!("docs/protocol.md has an example {name:?} the script does not produce")
        });
        out.push_str(&format!("<!-- example: {name} -->\n```jsonc\n{text}```\n"));
        used.push(name.to_string());
        rest = &after[block_end..];
    }
    out.push_str(rest);
    (out, used)
}

#[test]
fn protocol_docs_examples_match_the_real_server() {
    let examples = capture();
    let page = std::fs::read_to_string(DOC).expect("docs/protocol.md");
    let (rendered, used) = render(&page, &examples);
    let missing: Vec<_> = examples
        .keys()
        .filter(|k| !used.iter().any(|u| u == *k))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/protocol.md lacks the examples {missing:?}"
    );
    if std::env::var_os("UPDATE_PROTOCOL_DOCS").is_some() {
        std::fs::write(DOC, rendered).unwrap();
        return;
    }
    if rendered != page {
        let diff = page
            .lines()
            .zip(rendered.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b);
        panic!(
            "docs/protocol.md is out of date with the server (first difference at {diff:?}); \
             run `UPDATE_PROTOCOL_DOCS=1 cargo test -p atmos-cli --test rpc_protocol_docs` and review the diff"
        );
    }
}

#[test]
fn every_announced_method_and_notification_is_documented() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = RpcServer::start(ATMOS, &p);
    let init = s.initialize(p.root());
    let page = std::fs::read_to_string(DOC).expect("docs/protocol.md");
    let atmos = &init["capabilities"]["experimental"]["atmos"];
    for name in atmos["methods"]
        .as_array()
        .unwrap()
        .iter()
        .chain(atmos["notifications"].as_array().unwrap())
    {
        let heading = format!("### `{}`", name.as_str().unwrap());
        assert!(
            page.contains(&heading),
            "docs/protocol.md has no section {heading}"
        );
    }
}
