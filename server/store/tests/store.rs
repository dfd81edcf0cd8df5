//! The store on real database files in temp dirs.

use atmos_store::*;
use chrono::{Duration, Utc};

fn new_session(name: &str) -> NewSession {
    NewSession {
        name: name.into(),
        provider: "anthropic".into(),
        model: "claude-sonnet-4-5".into(),
        skill: "general".into(),
        metadata: serde_json::json!({}),
        created_at: None,
        updated_at: None,
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join(".atmos/sessions/sessions.db")).unwrap();
    (dir, store)
}

fn name(n: &str) -> SessionKey {
    SessionKey::Name(n.into())
}

#[test]
fn creates_folder_0700_and_file_0600() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, store) = open();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join(".atmos/sessions")), 0o700);
    assert_eq!(mode(store.path()), 0o600);
    assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
}

#[test]
fn names_are_unique_and_case_sensitive() {
    let (_d, mut store) = open();
    store.create_session(&new_session("vpc"), 0).unwrap();
    assert!(
        matches!(store.create_session(&new_session("vpc"), 0), Err(StoreError::NameTaken(n)) if n == "vpc")
    );
    store.create_session(&new_session("VPC"), 0).unwrap();
    assert_eq!(store.session_count().unwrap(), 2);
}

#[test]
fn creating_past_the_limit_evicts_the_least_recently_updated() {
    let (_d, mut store) = open();
    for n in ["a", "b", "c"] {
        store.create_session(&new_session(n), 3).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    // Activity on "a" makes "b" the least recently updated.
    let a = store.get(&name("a")).unwrap();
    store
        .append_message(&a.id, &NewMessage::new(Role::User, "hi"))
        .unwrap();
    let (_, evicted) = store.create_session(&new_session("d"), 3).unwrap();
    assert_eq!(evicted, vec!["b"]);
    let (_, evicted) = store.create_session(&new_session("e"), 0).unwrap();
    assert!(evicted.is_empty(), "0 means no limit");
    let (_, evicted) = store.create_session(&new_session("f"), 2).unwrap();
    assert_eq!(
        evicted.len(),
        3,
        "down to the limit, the new one spared: {evicted:?}"
    );
    assert!(store.find(&name("f")).unwrap().is_some());
    assert_eq!(store.session_count().unwrap(), 2);
}

#[test]
fn appending_keeps_the_counters_and_the_window_reads_the_tail() {
    let (_d, mut store) = open();
    let (s, _) = store.create_session(&new_session("w"), 0).unwrap();
    for i in 0..25 {
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        store
            .append_message(&s.id, &NewMessage::new(role, format!("m{i}")))
            .unwrap();
    }
    let s = store.get(&name("w")).unwrap();
    assert_eq!(s.message_count, 25);
    let window = store.active_window(&s.id, Some(4)).unwrap();
    let texts: Vec<_> = window.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["m21", "m22", "m23", "m24"]);
    assert_eq!(store.active_window(&s.id, None).unwrap().len(), 25);
}

#[test]
fn appending_to_a_missing_session_is_not_found() {
    let (_d, mut store) = open();
    let err = store
        .append_message("nope", &NewMessage::new(Role::User, "x"))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

#[test]
fn summaries_archive_and_lead_the_window() {
    let (_d, mut store) = open();
    let (s, _) = store.create_session(&new_session("c"), 0).unwrap();
    let ids: Vec<i64> = (0..10)
        .map(|i| {
            store
                .append_message(&s.id, &NewMessage::new(Role::User, format!("m{i}")))
                .unwrap()
                .id
        })
        .collect();
    let summary = store
        .store_summary(
            &s.id,
            &NewSummary {
                content: "decided 10.0.0.0/16".into(),
                replaces: ids[..4].to_vec(),
                range: (ids[0], ids[3]),
                tokens_before: 400,
                tokens_after: 20,
            },
        )
        .unwrap();
    assert!(summary.is_summary && summary.role == Role::System);
    let s2 = store.get(&name("c")).unwrap();
    assert_eq!(
        (s2.message_count, s2.archived_count, s2.summary_count),
        (10, 4, 1)
    );
    let window = store.active_window(&s.id, Some(3)).unwrap();
    let texts: Vec<_> = window.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["decided 10.0.0.0/16", "m7", "m8", "m9"]);
    // A second summary folds the first.
    let folded = store
        .store_summary(
            &s.id,
            &NewSummary {
                content: "all decisions".into(),
                replaces: vec![summary.id, ids[4], ids[5]],
                range: (ids[0], ids[5]),
                tokens_before: 100,
                tokens_after: 10,
            },
        )
        .unwrap();
    let s3 = store.get(&name("c")).unwrap();
    assert_eq!((s3.archived_count, s3.summary_count), (6, 2));
    let window = store.active_window(&s.id, None).unwrap();
    assert_eq!(window[0].id, folded.id);
    assert_eq!(window.len(), 5);
    // Nothing was deleted.
    assert_eq!(store.all_messages(&s.id).unwrap().len(), 12);
}

#[test]
fn transcript_pages_from_the_newest_end() {
    let (_d, mut store) = open();
    let (s, _) = store.create_session(&new_session("t"), 0).unwrap();
    let ids: Vec<i64> = (0..7)
        .map(|i| {
            store
                .append_message(&s.id, &NewMessage::new(Role::User, format!("m{i}")))
                .unwrap()
                .id
        })
        .collect();
    let q = |before, limit| TranscriptQuery {
        before,
        limit,
        include_archived: true,
        include_summaries: false,
    };
    let p1 = store.transcript(&s.id, &q(None, 3)).unwrap();
    assert_eq!(
        p1.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[4..7]
    );
    assert!(p1.has_more);
    let p2 = store.transcript(&s.id, &q(Some(ids[4]), 3)).unwrap();
    assert_eq!(
        p2.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[1..4]
    );
    assert!(p2.has_more);
    let p3 = store.transcript(&s.id, &q(Some(ids[1]), 3)).unwrap();
    assert_eq!(
        p3.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[0..1]
    );
    assert!(!p3.has_more);
}

#[test]
fn context_refs_are_kept_with_their_message() {
    let (_d, mut store) = open();
    let (s, _) = store.create_session(&new_session("ctx"), 0).unwrap();
    let mut m = NewMessage::new(Role::User, "what does this do?");
    m.context.push(ContextRef {
        kind: ContextKind::Selection,
        uri: Some("file:///infra/stacks/prod.yaml".into()),
        range: Some(serde_json::json!({"start": {"line": 1, "character": 0}, "end": {"line": 3, "character": 0}})),
        text: "vars:\n  cidr: 10.0.0.0/16".into(),
    });
    store.append_message(&s.id, &m).unwrap();
    let all = store.all_messages(&s.id).unwrap();
    assert_eq!(all[0].context, m.context);
}

#[test]
fn list_is_newest_first_filters_by_provider_and_searches_text() {
    let (_d, mut store) = open();
    let (a, _) = store.create_session(&new_session("alpha"), 0).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    let mut other = new_session("beta-VPC");
    other.provider = "ollama".into();
    store.create_session(&other, 0).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    store
        .append_message(
            &a.id,
            &NewMessage::new(
                Role::Assistant,
                "Use CIDR 10.20.0.0/16 for the Production VPC peering",
            ),
        )
        .unwrap();
    let (all, total) = store.list(&ListFilter::default()).unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        all[0].session.name, "alpha",
        "alpha had the latest activity"
    );

    let (only, total) = store
        .list(&ListFilter {
            provider: Some("ollama".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((only.len(), total), (1, 1));

    let (hits, total) = store
        .list(&ListFilter {
            query: Some("production vpc".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(hits[0].session.name, "alpha");
    assert!(
        hits[0]
            .snippet
            .as_deref()
            .unwrap()
            .contains("Production VPC"),
        "{:?}",
        hits[0].snippet
    );

    let (hits, total) = store
        .list(&ListFilter {
            query: Some("vpc".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(total, 2, "text match and name match");
    assert!(
        hits.iter()
            .any(|h| h.session.name == "beta-VPC" && h.snippet.is_none())
    );

    let (hits, _) = store
        .list(&ListFilter {
            query: Some("/1".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.len(), 1, "two-character queries scan");
    assert!(hits[0].snippet.as_deref().unwrap().contains("/16"));

    let (page, total) = store
        .list(&ListFilter {
            limit: Some(1),
            offset: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!((page[0].session.name.as_str(), total), ("beta-VPC", 2));
}

#[test]
fn rename_update_delete() {
    let (_d, mut store) = open();
    let (s, _) = store.create_session(&new_session("one"), 0).unwrap();
    store.create_session(&new_session("two"), 0).unwrap();
    store
        .append_message(&s.id, &NewMessage::new(Role::User, "secret text"))
        .unwrap();
    assert!(matches!(
        store.rename(&name("one"), "two"),
        Err(StoreError::NameTaken(_))
    ));
    assert!(matches!(
        store.rename(&name("zzz"), "x"),
        Err(StoreError::NotFound(_))
    ));
    let renamed = store.rename(&name("one"), "uno").unwrap();
    assert_eq!(renamed.id, s.id);
    let updated = store
        .update(
            &SessionKey::Id(s.id.clone()),
            &SessionUpdate {
                skill: Some("ops".into()),
                model: Some("m2".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (
            updated.skill.as_str(),
            updated.model.as_str(),
            updated.provider.as_str()
        ),
        ("ops", "m2", "anthropic")
    );
    store.delete(&name("uno")).unwrap();
    let rows: i64 = store
        .connection()
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "messages went with the session");
    let fts: i64 = store
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH '\"secret\"'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(fts, 0, "and their search index entries");
}

#[test]
fn clean_by_last_activity() {
    let (_d, mut store) = open();
    let now = Utc::now();
    for (n, days) in [("old", 40), ("mid", 10), ("new", 0)] {
        let mut s = new_session(n);
        s.created_at = Some(now - Duration::days(days));
        s.updated_at = Some(now - Duration::days(days));
        store.create_session(&s, 0).unwrap();
    }
    let dry = store.clean(now - Duration::days(30), true).unwrap();
    assert_eq!(
        dry.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["old"]
    );
    assert_eq!(
        store.session_count().unwrap(),
        3,
        "a dry run deletes nothing"
    );
    let gone = store.clean(now - Duration::days(7), false).unwrap();
    assert_eq!(
        gone.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["old", "mid"]
    );
    let all = store.clean(Utc::now(), false).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(store.session_count().unwrap(), 0);
}

#[test]
fn leases_make_a_session_busy_until_released_or_expired() {
    let (_d, mut store) = open();
    let (s, _) = store.create_session(&new_session("l"), 0).unwrap();
    let lease = store.acquire_lease(&s.id, "proc-1", 60_000).unwrap();
    assert!(matches!(
        store.acquire_lease(&s.id, "proc-2", 60_000),
        Err(StoreError::Busy { .. })
    ));
    store.release_lease(&lease).unwrap();
    let stale = store.acquire_lease(&s.id, "proc-2", -1).unwrap();
    assert_eq!(stale.holder, "proc-2");
    // An expired lease (its holder died) does not block.
    store.acquire_lease(&s.id, "proc-3", 60_000).unwrap();
}

#[test]
fn two_connections_racing_for_one_name_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    Store::open(&path).unwrap();
    for round in 0..20 {
        let results: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path).unwrap();
                    store
                        .create_session(&new_session(&format!("race-{round}")), 0)
                        .map(|_| ())
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(StoreError::NameTaken(_))))
        );
    }
}

#[test]
fn a_file_that_is_not_a_database_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    std::fs::write(
        &path,
        "this is not sqlite, just some text that is long enough to be a header..",
    )
    .unwrap();
    match Store::open(&path) {
        Err(StoreError::Database {
            trouble: Trouble::Corrupt,
            path: p,
            ..
        }) => assert_eq!(p, path),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_read_only_database_is_reported_read_only() {
    use std::os::unix::fs::PermissionsExt;
    if is_root() {
        eprintln!("root ignores file modes; checking with a read-only open instead");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    {
        let mut store = Store::open(&path).unwrap();
        store.create_session(&new_session("x"), 0).unwrap();
    }
    if is_root() {
        // Open the file read-only through SQLite itself.
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let err = conn.execute("DELETE FROM sessions", []).unwrap_err();
        assert_eq!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::ReadOnly));
        return;
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    let err =
        Store::open(&path).and_then(|mut s| s.create_session(&new_session("y"), 0).map(|_| ()));
    assert!(
        matches!(
            err,
            Err(StoreError::Database {
                trouble: Trouble::ReadOnly | Trouble::CannotOpen,
                ..
            })
        ),
        "{err:?}"
    );
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn a_database_from_a_newer_atmos_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.db");
    Store::open(&path).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::Database {
            trouble: Trouble::TooNew,
            ..
        })
    ));
}

/// Several processes opening a brand-new database at once (two editor servers started
/// together, a server and the CLI): every open waits its turn, none fails as locked.
/// Switching the new file to WAL takes a lock that SQLite's busy timeout does not wait
/// for, so the store retries that step itself.
#[test]
fn opening_a_new_database_from_many_connections_at_once_never_fails_as_locked() {
    for round in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions").join("sessions.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut store = Store::open(&path)?;
                    store.create_session(&new_session(&format!("s{i}")), 0)
                })
            })
            .collect();
        for h in handles {
            let result = h.join().unwrap();
            assert!(result.is_ok(), "round {round}: {:?}", result.err());
        }
    }
}

/// The page cache is bounded explicitly (a long-running server's memory must not grow with
/// the database): what `Store::open` sets is what SQLite uses.
#[test]
fn the_page_cache_is_bounded() {
    let (_dir, store) = open();
    let kib: i64 = store
        .connection()
        .query_row("PRAGMA cache_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kib, -1024, "a negative cache_size is KiB");
}

#[test]
fn the_data_version_changes_with_every_write_from_any_connection() {
    let (dir, mut a) = open();
    let mut b = Store::open(&dir.path().join(".atmos/sessions/sessions.db")).unwrap();
    let start = a.data_version().unwrap();
    a.list(&ListFilter::default()).unwrap();
    assert_eq!(a.data_version().unwrap(), start, "reading changes nothing");
    a.create_session(&new_session("mine"), 0).unwrap();
    let after_own = a.data_version().unwrap();
    assert_ne!(after_own, start, "this connection's write");
    b.create_session(&new_session("theirs"), 0).unwrap();
    let after_other = a.data_version().unwrap();
    assert_ne!(after_other, after_own, "another connection's commit");
    assert_eq!(a.data_version().unwrap(), after_other);
}

#[test]
fn listing_reads_an_index_in_order_without_sorting() {
    let (_d, store) = open();
    let plan = |sql: &str| -> String {
        let mut stmt = store
            .connection()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.join("; ")
    };
    for sql in [
        "SELECT id FROM sessions WHERE (NULL IS NULL OR provider = NULL) ORDER BY updated_at DESC, rowid DESC",
        "SELECT id FROM sessions WHERE provider = 'x' ORDER BY updated_at DESC, rowid DESC",
    ] {
        let p = plan(sql);
        assert!(p.contains("USING INDEX"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "a sort on every listing: {p}");
    }
}
