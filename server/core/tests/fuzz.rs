//! Property tests of what reads untrusted text (issue 13's fuzzing, on
//! stable with proptest): the config parser, the name and duration rules and
//! imports never panic, and refuse with an error of their own kind; then the
//! checked-in corpus of hostile inputs (tests/fixtures/nasty) as a regression
//! test. Each property runs 256 cases (`PROPTEST_CASES` changes it).

use atmos_ai::{Error, LoadOptions, Project, Sessions};
use proptest::prelude::*;

const NASTY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/nasty");

/// YAML-shaped text: keys of the config, odd values, nesting, anchors.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("ai"),
        Just("sessions"),
        Just("enabled"),
        Just("providers"),
        Just("auto_compact"),
        Just("max_history_messages"),
        Just("trigger_threshold"),
        Just("api_key_env"),
        Just("base_url"),
        Just("skills"),
        Just("&a"),
        Just("*a"),
        Just("<<"),
    ];
    let value = prop_oneof![
        Just("true".to_string()),
        Just("-1".to_string()),
        Just("1e309".to_string()),
        Just("~".to_string()),
        Just("[1, {a: b}]".to_string()),
        Just("\"\\u0000\"".to_string()),
        "[ -~]{0,20}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    prop::collection::vec((key, value, 0usize..4), 0..12).prop_map(|lines| {
        let mut out = String::from("ai:\n");
        for (k, v, depth) in lines {
            out.push_str(&"  ".repeat(depth + 1));
            out.push_str(&format!("{k}: {v}\n"));
        }
        out
    })
}

proptest! {
    #[test]
    fn the_config_parser_never_panics(text in prop_oneof![yamlish(), ".{0,200}"]) {
        match atmos_ai::config::parse(&text) {
            Ok(_) | Err(Error::ConfigInvalid { .. }) => {}
            Err(other) => prop_assert!(false, "an error of another kind: {other:?}"),
        }
    }

    #[test]
    fn the_duration_rule_never_panics_and_reads_what_it_promises(
        text in ".{0,12}",
        n in 0u64..100_000,
        unit in prop::sample::select(vec!["h", "d", "w", "m"]),
    ) {
        let _ = atmos_ai::duration::parse_age(&text);
        let age = format!("{n}{unit}");
        prop_assert!(atmos_ai::duration::parse_age(&age).is_some(), "{}", age);
    }

    #[test]
    fn the_name_rule_never_panics_and_takes_plain_names(
        text in ".{0,80}",
        plain in "[a-z][a-z0-9-]{0,40}",
    ) {
        let _ = atmos_ai::names::validate(&text);
        prop_assert!(atmos_ai::names::validate(&plain).is_ok(), "{}", plain);
    }
}

/// A project with sessions on, for imports.
fn sessions() -> (tempfile::TempDir, Sessions) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("atmos.yaml"),
        "ai:\n  sessions:\n    enabled: true\n    max_sessions: 0\n",
    )
    .unwrap();
    let project = Project::load(&LoadOptions {
        explicit: None,
        env_path: None,
        start_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    let sessions = Sessions::open(project).unwrap();
    (dir, sessions)
}

/// JSON shaped like a checkpoint, with odd fields and values.
fn checkpointish() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,30}".prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "name",
                    "role",
                    "content",
                    "provider",
                    "model",
                    "archived",
                    "id",
                    "from",
                    "to",
                    "summaries",
                    "message_count",
                ])
                .prop_map(String::from),
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    (value.clone(), value.clone(), value).prop_map(|(session, messages, stats)| {
        serde_json::json!({"version": "1.0", "session": session, "messages": messages,
                           "statistics": stats})
        .to_string()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn imports_never_panic_and_leave_the_store_sound(
        content in prop_oneof![checkpointish(), ".{0,300}"],
    ) {
        let (_dir, mut sessions) = sessions();
        match sessions.import(&content, None, None) {
            Ok(_) => {}
            Err(Error::InvalidImport { .. } | Error::InvalidName { .. }
                | Error::SessionExists { .. } | Error::InvalidParam { .. }) => {}
            Err(other) => prop_assert!(false, "an error of another kind: {other:?}"),
        }
        prop_assert!(sessions.integrity_problems().unwrap().is_empty());
    }
}

/// Every file of the corpus, through every reader that takes it: a clear
/// error or a sound result, never a panic, a hang or a damaged store.
#[test]
fn the_nasty_corpus_is_refused_or_read_soundly() {
    let mut seen = 0;
    for entry in std::fs::read_dir(NASTY).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        seen += 1;
        match atmos_ai::config::parse(&text) {
            Ok(_) | Err(Error::ConfigInvalid { .. }) => {}
            Err(other) => panic!("{name}: config: {other:?}"),
        }
        let (_dir, mut sessions) = sessions();
        match sessions.import(&text, None, None) {
            Ok((session, _)) => {
                // What was imported reads back, and the store is sound.
                let shown = sessions.get(&atmos_ai::SessionKey::Id(session.id)).unwrap();
                assert!(!shown.name.is_empty(), "{name}");
            }
            Err(Error::InvalidImport { reason, .. }) => {
                assert!(!reason.contains("Checkpoint"), "{name}: {reason}");
            }
            Err(Error::InvalidName { .. } | Error::InvalidParam { .. }) => {}
            Err(other) => panic!("{name}: import: {other:?}"),
        }
        assert!(sessions.integrity_problems().unwrap().is_empty(), "{name}");
        let _ = atmos_ai::names::validate(&text);
        let _ = atmos_ai::duration::parse_age(&text);
    }
    assert!(seen >= 10, "the corpus is there ({seen} files)");
    // A 20 MB message: imported whole (an import is not a turn), or refused
    // plainly; nothing in between.
    let big = serde_json::json!({"version": "1.0",
        "session": {"name": "big", "provider": "anthropic", "model": "m"},
        "messages": [{"role": "user", "content": "x".repeat(20 * 1024 * 1024)}],
        "statistics": {"message_count": 1}})
    .to_string();
    let (_dir, mut sessions) = sessions();
    match sessions.import(&big, None, None) {
        Ok(_) | Err(Error::InvalidImport { .. }) => {}
        Err(other) => panic!("20 MB: {other:?}"),
    }
    assert!(sessions.integrity_problems().unwrap().is_empty());
}
