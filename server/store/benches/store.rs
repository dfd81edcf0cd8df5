//! Store benchmarks: appending a message and reading a turn's window in
//! sessions of 10, 10,000 and 100,000 messages, and listing 10,000 sessions.
//! Run: `cargo bench -p atmos-store`. Figures go to docs/benchmarks.md.

use atmos_store::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn session(name: &str) -> NewSession {
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

/// A database with one session of `n` messages, written in one transaction.
fn with_history(n: usize) -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("sessions.db")).unwrap();
    let messages = (0..n)
        .map(|i| ImportedMessage {
            old_id: None,
            message: NewMessage::new(
                if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                },
                format!(
                    "message {i}: the staging VPC uses 10.{}.0.0/16 and three private subnets",
                    i % 250
                ),
            ),
            archived: false,
            is_summary: false,
            summary_range: None,
            tokens_before: None,
            tokens_after: None,
            pinned: false,
        })
        .collect();
    let (s, _) = store
        .import_session(
            &ImportedSession {
                session: session("bench"),
                messages,
                title: None,
            },
            0,
        )
        .unwrap();
    (dir, store, s.id)
}

fn turn(c: &mut Criterion) {
    let mut group = c.benchmark_group("turn");
    for n in [10usize, 10_000, 100_000] {
        let (_dir, mut store, id) = with_history(n);
        // The same number of rows at every size: the history must not matter.
        group.bench_with_input(BenchmarkId::new("window_10", n), &n, |b, _| {
            b.iter(|| black_box(store.active_window(&id, Some(10)).unwrap()))
        });
        group.bench_with_input(BenchmarkId::new("window_50", n), &n, |b, _| {
            b.iter(|| black_box(store.active_window(&id, Some(50)).unwrap()))
        });
        group.bench_with_input(BenchmarkId::new("append", n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    store
                        .append_message(&id, &NewMessage::new(Role::User, "what about staging?"))
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
}

fn list(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("sessions.db")).unwrap();
    for i in 0..10_000 {
        store
            .create_session(&session(&format!("session-{i}")), 0)
            .unwrap();
    }
    let mut group = c.benchmark_group("list");
    group.bench_function("all_10000_sessions", |b| {
        b.iter(|| black_box(store.list(&ListFilter::default()).unwrap()))
    });
    group.bench_function("first_50_of_10000", |b| {
        b.iter(|| {
            black_box(
                store
                    .list(&ListFilter {
                        limit: Some(50),
                        ..Default::default()
                    })
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = turn, list
}
criterion_main!(benches);
