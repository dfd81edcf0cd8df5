//! `atmos ai serve` end to end: the real binary over stdio with LSP framing.
//! Every non-chat method's success path, every error code those methods can
//! produce, the `atmos/sessions/changed` notifications, malformed frames,
//! two servers on one database, restart and resume.

use atmos_protocol::{ListParams, SessionList};
use atmos_tests::project::{SESSIONS_ON, TestProject};
use atmos_tests::rpc_client::{RpcServer, file_uri};
use serde_json::{Value, json};

const ATMOS: &str = env!("CARGO_BIN_EXE_atmos");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

/// A server on `project`, initialized with the project as `rootUri`.
fn server(project: &TestProject) -> RpcServer {
    let mut s = RpcServer::start(ATMOS, project);
    s.initialize(project.root());
    s
}

fn names(s: &mut RpcServer) -> Vec<String> {
    let list = s.call("atmos/session/list", json!({}));
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// The `(code, data)` of an error.
fn code_data(e: &Value) -> (i64, Value) {
    (
        e["code"].as_i64().unwrap(),
        e.get("data").cloned().unwrap_or(Value::Null),
    )
}

fn changed(reason: &str, session: &Value) -> Value {
    json!({"jsonrpc": "2.0", "method": "atmos/sessions/changed",
           "params": {"reason": reason, "sessionId": session["id"], "name": session["name"]}})
}

#[test]
fn initialize_life_cycle_and_unknown_methods() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = RpcServer::start(ATMOS, &p);
    let early = s.error("atmos/status", json!({}));
    assert_eq!(early["code"], -32002, "{early}");

    let init = s.initialize(p.root());
    assert_eq!(init["serverInfo"]["name"], "atmos-ai");
    assert_eq!(init["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    let atmos = &init["capabilities"]["experimental"]["atmos"];
    assert_eq!(atmos["protocolVersion"], 1);
    let methods: Vec<&str> = atmos["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for m in [
        "atmos/session/create",
        "atmos/session/resume",
        "atmos/session/messages",
        "atmos/session/list",
        "atmos/session/rename",
        "atmos/session/update",
        "atmos/session/delete",
        "atmos/session/clean",
        "atmos/session/export",
        "atmos/session/import",
        "atmos/providers/list",
        "atmos/skills/list",
        "atmos/status",
    ] {
        assert!(methods.contains(&m), "{m} missing from {methods:?}");
    }
    assert!(
        atmos["notifications"]
            .as_array()
            .unwrap()
            .contains(&json!("atmos/sessions/changed"))
    );

    let unknown = s.error("atmos/nope", json!({}));
    assert_eq!(unknown["code"], -32601);
    // Params may be omitted where the protocol says so.
    assert_eq!(s.call("atmos/session/list", Value::Null)["total"], 0);
    assert!(s.take_notifications().is_empty(), "nothing changed yet");
    assert!(s.shutdown().success());
}

#[test]
fn every_session_method_and_its_notification() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = server(&p);

    let created = s.call(
        "atmos/session/create",
        json!({"name": "vpc-design", "provider": "ollama", "metadata": {"ticket": "INFRA-1"}}),
    );
    let vpc = created["session"].clone();
    assert_eq!(created["evicted"], json!([]));
    assert_eq!(
        (&vpc["name"], &vpc["provider"], &vpc["model"], &vpc["skill"]),
        (
            &json!("vpc-design"),
            &json!("ollama"),
            &json!("llama3.3"),
            &json!("general")
        )
    );
    assert_eq!(
        (
            &vpc["messageCount"],
            &vpc["archivedCount"],
            &vpc["summaryCount"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(vpc["metadata"], json!({"ticket": "INFRA-1"}));
    assert!(vpc["id"].is_string());
    assert!(vpc["createdAt"].as_str().unwrap().ends_with('Z'), "{vpc}");
    assert_eq!(s.take_notifications(), vec![changed("created", &vpc)]);

    let anon = s.call("atmos/session/create", json!({"name": null}))["session"].clone();
    assert!(
        anon["name"].as_str().unwrap().starts_with("chat-"),
        "{anon}"
    );
    s.take_notifications();

    // Import brings messages, an archived run and a summary.
    let imported = s.call(
        "atmos/session/import",
        json!({"content": fixture("full-session.json"), "name": "full"}),
    );
    let full = imported["session"].clone();
    let counts = (
        &full["name"],
        &full["messageCount"],
        &full["archivedCount"],
        &full["summaryCount"],
    );
    assert_eq!(
        counts,
        (&json!("full"), &json!(4), &json!(2), &json!(1)),
        "{full}"
    );
    assert_eq!(s.take_notifications(), vec![changed("imported", &full)]);
    let again = s.call("atmos/session/import", json!({"content": fixture("atmos-checkpoint-1.0.yaml"), "format": "yaml", "name": "eks yaml"}));
    assert_eq!(again["session"]["name"], "eks yaml");
    s.take_notifications();

    // List: newest activity first, filters, search with snippet.
    // (Typed calls: each result is read as atmos-protocol declares it.)
    let list = s.typed::<SessionList>(&ListParams::default());
    assert_eq!(list.total, 4);
    let by_provider = s.typed::<SessionList>(&ListParams {
        provider: Some("ollama".into()),
        ..ListParams::default()
    });
    assert_eq!(by_provider.total, 1);
    assert_eq!(by_provider.sessions[0].session.name, "vpc-design");
    let page = s.typed::<SessionList>(&ListParams {
        limit: Some(1),
        offset: Some(1),
        ..ListParams::default()
    });
    assert_eq!((page.total, page.sessions.len()), (4, 1));
    let found = s.call("atmos/session/list", json!({"query": "PROD vpc"}));
    let hit = found["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == full["id"])
        .expect("matched by text");
    assert!(
        hit["snippet"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("prod vpc"),
        "{hit}"
    );

    // Resume: the active history (summary first), switching, limit.
    let resumed = s.call("atmos/session/resume", json!({"name": full["name"]}));
    assert_eq!(resumed["created"], false);
    let roles: Vec<_> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].clone(), m["isSummary"].clone()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (json!("system"), json!(true)),
            (json!("user"), json!(false)),
            (json!("assistant"), json!(false))
        ]
    );
    assert!(resumed["messages"][0]["summaryRange"]["from"].is_string());
    assert!(
        s.take_notifications().is_empty(),
        "a plain resume changes nothing"
    );
    let last = s.call(
        "atmos/session/resume",
        json!({"id": full["id"], "limit": 1}),
    );
    assert_eq!(last["messages"].as_array().unwrap().len(), 1);
    let switched = s.call(
        "atmos/session/resume",
        json!({"id": full["id"], "provider": "openai", "skill": "general"}),
    );
    assert_eq!(
        (
            &switched["session"]["provider"],
            &switched["session"]["model"]
        ),
        (&json!("openai"), &json!("gpt-4o"))
    );
    assert_eq!(
        s.take_notifications(),
        vec![changed("updated", &switched["session"])]
    );
    let fresh = s.call(
        "atmos/session/resume",
        json!({"name": "brand new", "createIfMissing": true}),
    );
    assert_eq!(
        (&fresh["created"], &fresh["messages"], &fresh["evicted"]),
        (&json!(true), &json!([]), &json!([]))
    );
    assert_eq!(
        s.take_notifications(),
        vec![changed("created", &fresh["session"])]
    );

    // Messages: the full transcript, paged from the newest end.
    let newest = s.call(
        "atmos/session/messages",
        json!({"id": full["id"], "limit": 2}),
    );
    assert_eq!(newest["hasMore"], true);
    let ids: Vec<String> = newest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    let older = s.call(
        "atmos/session/messages",
        json!({"id": full["id"], "before": ids[0], "limit": 10}),
    );
    assert_eq!(older["hasMore"], false);
    assert!(
        older["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["archived"] == true)
    );
    let with_summaries = s.call(
        "atmos/session/messages",
        json!({"id": full["id"], "includeSummaries": true}),
    );
    assert_eq!(with_summaries["messages"].as_array().unwrap().len(), 5);
    let active = s.call(
        "atmos/session/messages",
        json!({"id": full["id"], "includeArchived": false}),
    );
    assert_eq!(active["messages"].as_array().unwrap().len(), 2);

    // Rename, update, export.
    let renamed = s.call(
        "atmos/session/rename",
        json!({"name": "vpc-design", "newName": "vpc design 2026"}),
    );
    assert_eq!(
        (&renamed["name"], &renamed["id"]),
        (&json!("vpc design 2026"), &vpc["id"])
    );
    assert_eq!(s.take_notifications(), vec![changed("renamed", &renamed)]);
    let updated = s.call(
        "atmos/session/update",
        json!({"id": vpc["id"], "model": "qwen3", "metadata": {"ticket": "INFRA-2"}}),
    );
    assert_eq!(
        (&updated["model"], &updated["metadata"]),
        (&json!("qwen3"), &json!({"ticket": "INFRA-2"}))
    );
    assert_eq!(s.take_notifications(), vec![changed("updated", &updated)]);
    let exported = s.call(
        "atmos/session/export",
        json!({"id": full["id"], "format": "json"}),
    )["content"]
        .as_str()
        .unwrap()
        .to_string();
    let checkpoint: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(checkpoint["summaries"].as_array().unwrap().len(), 1);
    let yaml = s.call(
        "atmos/session/export",
        json!({"id": full["id"], "format": "yaml"}),
    )["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(yaml.contains("version:"), "{yaml}");
    let md = s.call(
        "atmos/session/export",
        json!({"name": "eks yaml", "format": "markdown"}),
    )["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(md.contains("Which stacks import the eks mixin?"), "{md}");
    let round = s.call(
        "atmos/session/import",
        json!({"content": exported, "name": "round trip"}),
    );
    assert_eq!(
        (
            &round["session"]["messageCount"],
            &round["session"]["summaryCount"]
        ),
        (&json!(4), &json!(1))
    );
    s.take_notifications();

    // Delete and clean.
    assert_eq!(
        s.call("atmos/session/delete", json!({"id": anon["id"]})),
        json!({"deleted": true})
    );
    assert_eq!(s.take_notifications(), vec![changed("deleted", &anon)]);
    p.age_session("eks yaml", 40);
    let dry = s.call(
        "atmos/session/clean",
        json!({"olderThan": "30d", "dryRun": true}),
    );
    assert_eq!(
        dry,
        json!({"deleted": ["eks yaml"], "count": 1}),
        "aged 40 days"
    );
    assert!(
        s.take_notifications().is_empty(),
        "a dry run changes nothing"
    );
    let eks = s.call("atmos/session/list", json!({"query": "eks yaml"}))["sessions"][0].clone();
    let cleaned = s.call("atmos/session/clean", json!({"olderThan": "30d"}));
    assert_eq!(cleaned, json!({"deleted": ["eks yaml"], "count": 1}));
    assert_eq!(s.take_notifications(), vec![changed("cleaned", &eks)]);
    let everything = s.call("atmos/session/clean", json!({"olderThan": "0d"}));
    assert_eq!(everything["count"], 4);
    assert_eq!(s.take_notifications().len(), 4);
    assert!(names(&mut s).is_empty());
    assert!(s.shutdown().success());
}

#[test]
fn providers_skills_and_status() {
    let p = TestProject::new(
        "ai:\n  default_provider: work\n  providers:\n    work:\n      kind: openai\n      model: gpt-4.1\n      api_key_env: ATMOS_TEST_WORK_KEY\n  skills:\n    security:\n      display_name: Security\n      description: Audits IAM\n      system_prompt: Audit IAM.\n  sessions:\n    enabled: true\n",
    );
    let mut s = server(&p);
    let providers = s.call("atmos/providers/list", json!({}));
    assert_eq!(providers["default"], "work");
    let work = &providers["providers"][0];
    assert_eq!(
        work,
        &json!({"name": "work", "model": "gpt-4.1", "configured": false, "reason": "ATMOS_TEST_WORK_KEY is not set"})
    );
    let ollama = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "ollama")
        .unwrap();
    assert_eq!(ollama["configured"], true);
    assert!(ollama.get("reason").is_none());

    let skills = s.call("atmos/skills/list", json!({}));
    assert_eq!(skills["default"], "general");
    assert_eq!(
        skills["skills"][1],
        json!({"name": "security", "displayName": "Security", "description": "Audits IAM"})
    );

    s.call(
        "atmos/session/create",
        json!({"name": "a", "skill": "security"}),
    );
    let status = s.call("atmos/status", json!({}));
    let root = p.root().canonicalize().unwrap();
    assert_eq!(
        std::path::Path::new(status["projectRoot"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        root
    );
    assert!(
        status["configPath"]
            .as_str()
            .unwrap()
            .ends_with("atmos.yaml")
    );
    assert!(
        status["databasePath"]
            .as_str()
            .unwrap()
            .ends_with(".atmos/sessions/sessions.db")
    );
    assert_eq!(
        (&status["sessionsEnabled"], &status["sessionCount"]),
        (&json!(true), &json!(1))
    );
    assert!(status["schemaVersion"].as_u64().unwrap() >= 1);
}

#[test]
fn errors_carry_codes_and_data() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = server(&p);
    let a = s.call("atmos/session/create", json!({"name": "a"}))["session"].clone();
    s.call("atmos/session/create", json!({"name": "b"}));
    s.take_notifications();

    // 1001 by name and by id, from every method that targets a session.
    for method in [
        "atmos/session/resume",
        "atmos/session/messages",
        "atmos/session/delete",
        "atmos/session/update",
    ] {
        let e = s.error(method, json!({"name": "nope"}));
        assert_eq!(
            code_data(&e),
            (1001, json!({"kind": "sessionNotFound", "name": "nope"})),
            "{method}"
        );
    }
    let e = s.error(
        "atmos/session/export",
        json!({"id": "0000", "format": "json"}),
    );
    assert_eq!(
        code_data(&e),
        (1001, json!({"kind": "sessionNotFound", "id": "0000"}))
    );
    let e = s.error(
        "atmos/session/rename",
        json!({"id": "0000", "newName": "c"}),
    );
    assert_eq!(e["code"], 1001);
    assert!(e["message"].as_str().unwrap().contains("not found"), "{e}");

    // 1002: create, rename, import.
    let e = s.error("atmos/session/create", json!({"name": "a"}));
    assert_eq!(
        code_data(&e),
        (1002, json!({"kind": "sessionExists", "name": "a"}))
    );
    let e = s.error("atmos/session/rename", json!({"name": "b", "newName": "a"}));
    assert_eq!(
        code_data(&e),
        (1002, json!({"kind": "sessionExists", "name": "a"}))
    );
    s.call(
        "atmos/session/import",
        json!({"content": fixture("atmos-checkpoint-1.0.json")}),
    );
    s.take_notifications();
    let e = s.error(
        "atmos/session/import",
        json!({"content": fixture("atmos-checkpoint-1.0.json")}),
    );
    assert_eq!(
        code_data(&e),
        (1002, json!({"kind": "sessionExists", "name": "eks-review"}))
    );

    // 1003: invalid names, with the rule.
    for bad in ["", " padded", "a/b", &"x".repeat(129)] {
        let e = s.error("atmos/session/create", json!({"name": bad}));
        let (code, data) = code_data(&e);
        assert_eq!(
            (code, &data["kind"], &data["name"]),
            (1003, &json!("invalidName"), &json!(bad)),
            "{bad:?}: {e}"
        );
        assert!(data["rule"].is_string());
    }
    assert_eq!(
        s.error(
            "atmos/session/rename",
            json!({"name": "a", "newName": "tab\there"})
        )["code"],
        1003
    );

    // 1008: every refused duration.
    for bad in ["30", "5s", "1y", "-1d", "1.5d", ""] {
        let e = s.error("atmos/session/clean", json!({"olderThan": bad}));
        assert_eq!(
            code_data(&e),
            (1008, json!({"kind": "invalidDuration", "value": bad})),
            "{bad:?}"
        );
    }

    // 1011: content that does not parse or validate, and markdown.
    let e = s.error("atmos/session/import", json!({"content": "{ not json"}));
    let (code, data) = code_data(&e);
    assert_eq!(
        (code, &data["kind"], &data["format"]),
        (1011, &json!("invalidImport"), &json!("json")),
        "{e}"
    );
    let e = s.error(
        "atmos/session/import",
        json!({"content": "# a chat", "format": "markdown"}),
    );
    assert_eq!(e["code"], 1011);

    // -32602: neither or both of name/id, wrong types, unknown skill/provider, bad values.
    let field = |s: &mut RpcServer, method: &str, params: Value| {
        let e = s.error(method, params.clone());
        assert_eq!(e["code"], -32602, "{method} {params}: {e}");
        e["data"]["field"]
            .as_str()
            .unwrap_or_else(|| panic!("no data.field: {e}"))
            .to_string()
    };
    assert_eq!(field(&mut s, "atmos/session/resume", json!({})), "name");
    assert_eq!(
        field(
            &mut s,
            "atmos/session/delete",
            json!({"name": "a", "id": a["id"]})
        ),
        "name"
    );
    assert_eq!(
        field(&mut s, "atmos/session/messages", json!({"name": 42})),
        "name"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/resume",
            json!({"name": "a", "limit": "ten"})
        ),
        "limit"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/resume",
            json!({"name": "a", "createIfMissing": 1})
        ),
        "createIfMissing"
    );
    assert_eq!(
        field(&mut s, "atmos/session/rename", json!({"name": "a"})),
        "newName"
    );
    assert_eq!(
        field(&mut s, "atmos/session/clean", json!({"dryRun": true})),
        "olderThan"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/create",
            json!({"name": "c", "skill": "nope"})
        ),
        "skill"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/create",
            json!({"name": "c", "provider": "nope"})
        ),
        "provider"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/update",
            json!({"name": "a", "provider": "nope"})
        ),
        "provider"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/create",
            json!({"name": "c", "metadata": [1]})
        ),
        "metadata"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/export",
            json!({"name": "a", "format": "pdf"})
        ),
        "format"
    );
    assert_eq!(
        field(
            &mut s,
            "atmos/session/messages",
            json!({"name": "a", "before": "x"})
        ),
        "before"
    );
    assert_eq!(
        field(&mut s, "atmos/session/list", json!({"limit": -1})),
        "limit"
    );
    assert_eq!(field(&mut s, "atmos/session/create", json!("a")), "params");
    assert!(
        s.take_notifications().is_empty(),
        "failed requests change nothing"
    );
}

#[test]
fn disabled_sessions_answer_1004_and_the_rest_still_works() {
    let p = TestProject::new("ai:\n  default_provider: ollama\n");
    let mut s = server(&p);
    for (method, params) in [
        ("atmos/session/create", json!({})),
        ("atmos/session/list", json!({})),
        (
            "atmos/session/resume",
            json!({"name": "a", "createIfMissing": true}),
        ),
        ("atmos/session/clean", json!({"olderThan": "1d"})),
        ("atmos/session/import", json!({"content": "{}"})),
    ] {
        let e = s.error(method, params);
        let (code, data) = code_data(&e);
        assert_eq!(
            (code, &data["kind"]),
            (1004, &json!("sessionsDisabled")),
            "{method}"
        );
        assert!(
            data["configPath"].as_str().unwrap().ends_with("atmos.yaml"),
            "{e}"
        );
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("ai.sessions.enabled: true"),
            "{e}"
        );
    }
    let status = s.call("atmos/status", json!({}));
    assert_eq!(
        (&status["sessionsEnabled"], &status["sessionCount"]),
        (&json!(false), &json!(0))
    );
    assert_eq!(
        s.call("atmos/providers/list", json!({}))["default"],
        "ollama"
    );
    assert_eq!(s.call("atmos/skills/list", json!({}))["default"], "general");
    assert!(
        !p.db_path().exists(),
        "no database while sessions are disabled"
    );
}

#[test]
fn a_bad_config_does_not_fail_initialize_and_is_picked_up_when_fixed() {
    let p = TestProject::new(
        "ai:\n  sessions:\n    enabled: true\n    auto_compact:\n      trigger_threshold: 7\n",
    );
    let mut s = server(&p);
    for method in [
        "atmos/session/list",
        "atmos/status",
        "atmos/providers/list",
        "atmos/skills/list",
    ] {
        let e = s.error(method, json!({}));
        let (code, data) = code_data(&e);
        assert_eq!(
            (code, &data["kind"], &data["key"]),
            (
                1010,
                &json!("configInvalid"),
                &json!("ai.sessions.auto_compact.trigger_threshold")
            ),
            "{method}: {e}"
        );
        assert_eq!(data["value"], "7");
        assert!(data["rule"].is_string());
    }
    p.write_config(SESSIONS_ON);
    assert_eq!(s.call("atmos/session/list", json!({}))["total"], 0);
}

#[test]
fn a_corrupt_database_is_a_storage_error() {
    let p = TestProject::new(SESSIONS_ON);
    std::fs::create_dir_all(p.db_path().parent().unwrap()).unwrap();
    std::fs::write(p.db_path(), vec![b'x'; 8192]).unwrap();
    let mut s = server(&p);
    let e = s.error("atmos/session/list", json!({}));
    let (code, data) = code_data(&e);
    assert_eq!((code, &data["kind"]), (1007, &json!("storageError")), "{e}");
    assert!(
        data["path"].as_str().unwrap().ends_with("sessions.db"),
        "{e}"
    );
    assert!(
        data["hint"].as_str().unwrap().contains("integrity_check"),
        "{e}"
    );
    // The server itself is fine.
    assert_eq!(s.call("atmos/skills/list", json!({}))["default"], "general");
}

#[test]
fn max_sessions_evicts_the_least_recently_updated() {
    let p = TestProject::new("ai:\n  sessions:\n    enabled: true\n    max_sessions: 2\n");
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "one"}));
    s.call("atmos/session/create", json!({"name": "two"}));
    s.take_notifications();
    let three = s.call("atmos/session/create", json!({"name": "three"}));
    assert_eq!(three["evicted"], json!(["one"]));
    assert_eq!(
        s.take_notifications(),
        vec![
            changed("created", &three["session"]),
            json!({"jsonrpc": "2.0", "method": "atmos/sessions/changed", "params": {"reason": "evicted", "name": "one"}}),
        ]
    );
    let imported = s.call(
        "atmos/session/import",
        json!({"content": fixture("atmos-checkpoint-1.0.json")}),
    );
    assert_eq!(imported["evicted"], json!(["two"]));
}

#[test]
fn malformed_frames_are_answered_and_the_next_request_works() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = server(&p);
    let null = Value::Null;

    s.send_raw(b"Content-Length: 9\r\n\r\n{not json");
    let e = s.response(&null);
    assert_eq!(e["error"]["code"], -32700, "{e}");

    s.send_raw(b"Content-Length: nine\r\n\r\n");
    assert_eq!(s.response(&null)["error"]["code"], -32700);

    s.send_raw(b"Content-Type: application/json\r\n\r\n");
    let e = s.response(&null);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Content-Length"),
        "{e}"
    );

    s.send_raw(b"Content-Length: 2\r\n\r\n\xff\xfe");
    assert_eq!(s.response(&null)["error"]["code"], -32700);

    s.send_raw(b"Content-Length: 5\r\n\r\n[1,2]");
    assert_eq!(s.response(&null)["error"]["code"], -32600);

    let wrong_version = json!({"jsonrpc": "1.0", "id": "v1", "method": "atmos/status"});
    s.send(&wrong_version);
    assert_eq!(s.response(&json!("v1"))["error"]["code"], -32600);

    // Over the 16 MiB cap: skipped without being kept, answered -32600.
    let over = 16 * 1024 * 1024 + 1;
    s.send_raw(format!("Content-Length: {over}\r\n\r\n").as_bytes());
    let chunk = vec![b' '; 1 << 20];
    let mut left = over;
    while left > 0 {
        let n = left.min(chunk.len());
        s.send_raw(&chunk[..n]);
        left -= n;
    }
    let e = s.response(&null);
    assert_eq!(e["error"]["code"], -32600, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit"),
        "{e}"
    );

    // Garbage before a header is skipped.
    let body = json!({"jsonrpc": "2.0", "id": "g", "method": "atmos/status"}).to_string();
    s.send_raw(format!("garbage!Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    assert!(
        s.response(&json!("g"))["result"]["sessionsEnabled"]
            .as_bool()
            .unwrap()
    );

    let created = s.call("atmos/session/create", json!({"name": "still here"}));
    assert_eq!(created["session"]["name"], "still here");
    assert!(s.shutdown().success());
}

/// Both servers create the same name at once: exactly one wins, the other gets 1002.
#[track_caller]
fn assert_one_wins(a: &mut RpcServer, b: &mut RpcServer, name: Value, round: usize) {
    let ia = a.send_request("atmos/session/create", name.clone());
    let ib = b.send_request("atmos/session/create", name);
    let (ra, rb) = (a.response(&ia), b.response(&ib));
    let codes: Vec<i64> = [&ra, &rb]
        .iter()
        .filter_map(|r| r["error"]["code"].as_i64())
        .collect();
    assert_eq!(codes, vec![1002], "round {round}: {ra} {rb}");
}

#[test]
fn two_servers_share_one_database() {
    let p = TestProject::new(SESSIONS_ON);
    let mut a = server(&p);
    let mut b = server(&p);
    a.call("atmos/session/create", json!({"name": "from a"}));
    assert_eq!(names(&mut b), vec!["from a"]);
    b.call("atmos/session/create", json!({"name": "from b"}));
    let mut seen = names(&mut a);
    seen.sort();
    assert_eq!(seen, vec!["from a", "from b"]);
    // Changes made by the other server are not announced here.
    assert_eq!(a.take_notifications().len(), 1);

    // The same name from both at once: exactly one wins.
    for round in 0..5 {
        let name = json!({"name": format!("race {round}")});
        assert_one_wins(&mut a, &mut b, name, round);
    }
    assert_eq!(names(&mut a).len(), 7);
    // The CLI on the same database, while both servers run.
    p.run(ATMOS, &["ai", "sessions", "create", "from the cli"])
        .ok();
    assert!(names(&mut b).contains(&"from the cli".to_string()));
    let e = a.error("atmos/session/create", json!({"name": "from the cli"}));
    assert_eq!(e["code"], 1002);
    assert!(a.shutdown().success());
    assert!(b.close().success());
}

/// Two servers started together on a project whose database does not exist yet: both open
/// (create, switch to WAL, migrate) at once, and the loser of the same name gets 1002, never
/// a storage error (SQLite does not wait for the WAL switch's lock by itself).
#[test]
fn two_new_servers_on_a_new_database_race_cleanly() {
    for round in 0..10 {
        let p = TestProject::new(SESSIONS_ON);
        let (mut a, mut b) = (server(&p), server(&p));
        let name = json!({"name": "first"});
        assert_one_wins(&mut a, &mut b, name, round);
        assert!(a.shutdown().success());
        assert!(b.shutdown().success());
    }
}

#[test]
fn restart_and_resume() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = server(&p);
    let imported = s.call(
        "atmos/session/import",
        json!({"content": fixture("full-session.json"), "name": "kept"}),
    );
    let before = s.call("atmos/session/resume", json!({"name": "kept"}));
    // EOF ends the server cleanly, with the database closed.
    assert!(s.close().success());

    let mut s = server(&p);
    let after = s.call(
        "atmos/session/resume",
        json!({"id": imported["session"]["id"]}),
    );
    assert_eq!(after["messages"], before["messages"]);
    assert_eq!(after["session"]["name"], "kept");
    assert!(s.shutdown().success());
}

#[test]
fn the_project_comes_from_root_uri_workspace_folders_or_the_working_directory() {
    let p = TestProject::new(SESSIONS_ON);
    let elsewhere = TestProject::bare();
    let nested = p.root().join("stacks/prod");
    std::fs::create_dir_all(&nested).unwrap();

    // rootUri names a folder below the project: the nearest atmos.yaml above it.
    let mut cmd = elsewhere.command(ATMOS);
    cmd.args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    s.call(
        "initialize",
        json!({"capabilities": {}, "rootUri": file_uri(&nested)}),
    );
    s.call("atmos/session/create", json!({"name": "via rootUri"}));
    assert!(p.db_path().exists());

    let mut cmd = elsewhere.command(ATMOS);
    cmd.args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    s.call("initialize", json!({"capabilities": {}, "workspaceFolders": [{"uri": file_uri(p.root()), "name": "infra"}]}));
    assert_eq!(names(&mut s), vec!["via rootUri"]);

    // No root: the working directory, walking up.
    let mut cmd = p.command(ATMOS);
    cmd.current_dir(&nested).args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    s.call("initialize", json!({"capabilities": {}}));
    assert_eq!(names(&mut s), vec!["via rootUri"]);

    // initializationOptions.configPath wins.
    let other = TestProject::new("ai:\n  sessions:\n    enabled: true\n    path: .other\n");
    let mut cmd = elsewhere.command(ATMOS);
    cmd.args(["ai", "serve"]);
    let mut s = RpcServer::spawn(cmd);
    s.call("initialize", json!({"capabilities": {}, "rootUri": file_uri(p.root()),
                                "initializationOptions": {"configPath": other.root().join("atmos.yaml"), "clientName": "test"}}));
    let status = s.call("atmos/status", json!({}));
    assert!(
        status["databasePath"].as_str().unwrap().contains(".other"),
        "{status}"
    );
}

#[test]
fn an_edited_config_applies_without_a_restart() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "before"}));
    let e = s.error(
        "atmos/session/create",
        json!({"name": "x", "skill": "security"}),
    );
    assert_eq!(code_data(&e), (-32602, json!({"field": "skill"})));
    // Make sure the file's modification time moves on coarse clocks.
    std::thread::sleep(std::time::Duration::from_millis(20));
    p.write_config(&format!(
        "{SESSIONS_ON}  skills:\n    security:\n      system_prompt: Audit IAM.\n"
    ));
    let created = s.call(
        "atmos/session/create",
        json!({"name": "x", "skill": "security"}),
    );
    assert_eq!(created["session"]["skill"], "security");
    // A broken edit keeps the last good settings.
    p.write_config("ai:\n  sessions:\n    enabled: maybe\n");
    let again = s.call(
        "atmos/session/create",
        json!({"name": "y", "skill": "security"}),
    );
    assert_eq!(again["session"]["skill"], "security");
    s.shutdown();
}

#[test]
fn a_listing_is_never_stale_after_a_write_here_or_in_another_process() {
    let p = TestProject::new(SESSIONS_ON);
    let mut s = server(&p);
    s.call("atmos/session/create", json!({"name": "one"}));
    s.take_notifications();
    assert_eq!(names(&mut s), ["one"]);
    // The same listing again, unchanged database: the same answer.
    assert_eq!(names(&mut s), ["one"]);

    // Another process writes: the next listing sees it.
    let other = p.run(
        ATMOS,
        &[
            "ai",
            "sessions",
            "import",
            &format!("{FIXTURES}/full-session.json"),
            "--name",
            "two",
        ],
    );
    other.ok();
    assert_eq!(names(&mut s), ["two", "one"]);
    p.run(ATMOS, &["ai", "sessions", "delete", "one", "--yes"])
        .ok();
    assert_eq!(names(&mut s), ["two"]);

    // This server writes: likewise.
    s.call(
        "atmos/session/rename",
        json!({"name": "two", "newName": "three"}),
    );
    assert_eq!(names(&mut s), ["three"]);
    let limited = s.call("atmos/session/list", json!({"limit": 1}));
    assert_eq!(limited["total"], 1);

    // Bad params are still named, and ids of any type are echoed.
    let e = s.error("atmos/session/list", json!({"limit": "all"}));
    assert_eq!(code_data(&e), (-32602, json!({"field": "limit"})));
    s.send(
        &json!({"jsonrpc": "2.0", "id": "list-1", "method": "atmos/session/list", "params": {}}),
    );
    let response = s.response(&json!("list-1"));
    assert_eq!(response["result"]["total"], 1, "{response}");
    assert_eq!(response["jsonrpc"], "2.0");
}
