//! Opens a database of every earlier schema version (the first one counts)
//! with data in it, and checks the current code migrates it intact.

use atmos_store::*;

/// Writes rows that every schema version since 1 can hold, with plain SQL so
/// that the test does not depend on today's insert code.
fn seed_v1(conn: &rusqlite::Connection) {
    conn.execute_batch(
        "INSERT INTO sessions (id, name, provider, model, skill, created_at, updated_at, message_count)
           VALUES ('s1', 'legacy', 'openai', 'gpt-4o', 'general', 1700000000000, 1700000000000, 2);
         INSERT INTO messages (session_id, role, content, created_at)
           VALUES ('s1', 'user', 'Which CIDR for prod?', 1700000000000),
                  ('s1', 'assistant', 'Use 10.40.0.0/16 for prod', 1700000001000);",
    )
    .unwrap();
}

#[test]
fn every_older_version_migrates_with_its_data() {
    for version in 0..schema::SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.db");
        {
            let store = Store::open_at_version(&path, version).unwrap();
            assert_eq!(store.schema_version().unwrap(), version);
            if version >= 1 {
                seed_v1(store.connection());
            }
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            schema::SCHEMA_VERSION,
            "from v{version}"
        );
        if version >= 1 {
            let s = store.get(&SessionKey::Name("legacy".into())).unwrap();
            assert_eq!(s.message_count, 2);
            let window = store.active_window(&s.id, None).unwrap();
            assert_eq!(window.len(), 2);
            // Old messages are searchable after the FTS migration.
            let (hits, _) = store
                .list(&ListFilter {
                    query: Some("10.40.0.0".into()),
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(hits.len(), 1, "from v{version}");
            // And the new tables work.
            store.acquire_lease(&s.id, "me", 1000).unwrap();
            store
                .append_message(&s.id, &NewMessage::new(Role::User, "more"))
                .unwrap();
        }
        assert!(store.integrity_problems().unwrap().is_empty());
    }
}

#[test]
fn reopening_a_current_database_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    Store::open(&path).unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
}
