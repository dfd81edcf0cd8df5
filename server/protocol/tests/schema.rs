//! `docs/protocol.schema.json` is generated from the declarations; this test
//! keeps it true. After a deliberate change to the protocol's types:
//!
//! ```text
//! UPDATE_PROTOCOL_SCHEMA=1 cargo test -p atmos-protocol
//! ```

use atmos_protocol::{METHODS, NOTIFICATIONS, schema};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/protocol.schema.json"
);

#[test]
fn the_checked_in_schema_is_current() {
    let generated = serde_json::to_string_pretty(&schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_PROTOCOL_SCHEMA").is_some() {
        std::fs::write(FILE, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(FILE).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/protocol.schema.json is not what the protocol's types declare: run \
         `UPDATE_PROTOCOL_SCHEMA=1 cargo test -p atmos-protocol` and commit it"
    );
}

#[test]
fn every_method_and_notification_is_in_the_schema_once() {
    let s = schema();
    let mut all: Vec<&str> = METHODS.iter().chain(NOTIFICATIONS).copied().collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "a name is declared twice");
    for m in METHODS {
        let entry = &s["methods"][m];
        assert!(
            entry["params"].is_object() && entry["result"].is_object(),
            "{m}"
        );
    }
    for m in NOTIFICATIONS {
        assert!(s["notifications"][m]["params"].is_object(), "{m}");
    }
    // Every reference resolves.
    let text = s.to_string();
    for piece in text.split("\"$ref\":\"#/$defs/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(s["$defs"][name].is_object(), "dangling $ref {name}");
    }
}

#[test]
fn wire_spellings_are_camel_case_and_optional_params_are_left_out() {
    let p = atmos_protocol::ResumeParams {
        name: Some("vpc".into()),
        create_if_missing: Some(true),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        serde_json::json!({"name": "vpc", "createIfMissing": true})
    );
    let s = schema();
    let required = &s["$defs"]["RenameParams"]["required"];
    assert_eq!(required, &serde_json::json!(["newName"]));
}
