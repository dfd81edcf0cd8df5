//! Schema migrations, tracked with `PRAGMA user_version`.
//!
//! Migrations are forward-only: migration `i` (0-based) takes a database from
//! `user_version = i` to `i + 1`. Never edit a migration that has shipped; add
//! a new one. `tests/migrations.rs` opens a database of every earlier version.

use rusqlite::Connection;

/// Every migration, oldest first. The schema version of a database is the
/// number of migrations applied to it.
pub const MIGRATIONS: &[&str] = &[
    // 1: sessions and messages, with the counters kept on the session row so
    // that listing never counts messages row by row.
    r#"
    CREATE TABLE sessions (
        id             TEXT PRIMARY KEY,
        name           TEXT NOT NULL UNIQUE,
        provider       TEXT NOT NULL,
        model          TEXT NOT NULL,
        skill          TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        message_count  INTEGER NOT NULL DEFAULT 0,
        archived_count INTEGER NOT NULL DEFAULT 0,
        summary_count  INTEGER NOT NULL DEFAULT 0,
        metadata       TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX sessions_by_update ON sessions (updated_at DESC);
    CREATE INDEX sessions_by_provider ON sessions (provider, updated_at DESC);

    CREATE TABLE messages (
        id            INTEGER PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        role          TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        content       TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        archived      INTEGER NOT NULL DEFAULT 0,
        interrupted   INTEGER NOT NULL DEFAULT 0,
        is_summary    INTEGER NOT NULL DEFAULT 0,
        summary_from  INTEGER,
        summary_to    INTEGER,
        input_tokens  INTEGER,
        output_tokens INTEGER,
        tokens_estimated INTEGER NOT NULL DEFAULT 0
    );
    -- The active window of a session (its live summaries, then its newest
    -- unarchived messages) is two range scans of this index, whatever the
    -- size of the history.
    CREATE INDEX messages_active ON messages (session_id, archived, is_summary, id);
    -- Paging the full transcript.
    CREATE INDEX messages_by_session ON messages (session_id, id);
    "#,
    // 2: context references attached to a message, the compaction figures
    // of summaries, and full-text search over names and message text.
    r#"
    CREATE TABLE context_refs (
        id         INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        kind       TEXT NOT NULL CHECK (kind IN ('file', 'selection', 'text')),
        uri        TEXT,
        range      TEXT,
        text       TEXT NOT NULL
    );
    CREATE INDEX context_refs_by_message ON context_refs (message_id);
    CREATE INDEX context_refs_by_session ON context_refs (session_id);

    ALTER TABLE messages ADD COLUMN tokens_before INTEGER;
    ALTER TABLE messages ADD COLUMN tokens_after INTEGER;

    -- Trigram tokens give case-insensitive substring search, as `query`
    -- promises; external content keeps the text stored once.
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        content, content = 'messages', content_rowid = 'id', tokenize = 'trigram'
    );
    INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages;
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END;
    "#,
    // 3: one turn at a time per session, across processes. A row here is a
    // lease held by a running turn; a lease whose holder stopped renewing it
    // expires.
    r#"
    CREATE TABLE turn_leases (
        session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
        holder     TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    "#,
    // 4: listing without a sort. Listing is "newest activity first, then
    // newest row"; an index on `updated_at DESC` left the rowid tie-break to
    // a temporary B-tree on every listing, while an ascending index read
    // backwards gives exactly that order.
    r#"
    DROP INDEX sessions_by_update;
    CREATE INDEX sessions_by_update ON sessions (updated_at);
    DROP INDEX sessions_by_provider;
    CREATE INDEX sessions_by_provider ON sessions (provider, updated_at);
    "#,
    // 5: forks remember where they came from: the origin's name when forked
    // and the id of the origin's message they were forked at.
    r#"
    ALTER TABLE sessions ADD COLUMN forked_from TEXT;
    ALTER TABLE sessions ADD COLUMN forked_at INTEGER;
    "#,
    // 6: what a session cost, as counters (a listing reads them, it does not
    // add up messages): the tokens its replies reported (or estimated).
    r#"
    ALTER TABLE sessions ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
    UPDATE sessions SET
        input_tokens = (SELECT COALESCE(SUM(input_tokens), 0) FROM messages m WHERE m.session_id = sessions.id),
        output_tokens = (SELECT COALESCE(SUM(output_tokens), 0) FROM messages m WHERE m.session_id = sessions.id);
    "#,
    // 7: pinned messages (never compacted, always sent; a partial index
    // finds a session's few pins without reading its history) and titles
    // (NULL: not made yet; '' cleared by the user, never made again). A
    // session that already has an exchange gets the first line of its first
    // question, as a new one would.
    r#"
    ALTER TABLE messages ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_pinned ON messages (session_id, id) WHERE pinned = 1;
    ALTER TABLE sessions ADD COLUMN title TEXT;
    UPDATE sessions SET title = (
        SELECT substr(trim(substr(m.content, 1, instr(m.content || char(10), char(10)) - 1)), 1, 60)
        FROM messages m WHERE m.session_id = sessions.id AND m.role = 'user' AND m.is_summary = 0
        ORDER BY m.id LIMIT 1
    ) WHERE EXISTS (
        SELECT 1 FROM messages m WHERE m.session_id = sessions.id AND m.role = 'assistant'
    );
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version`.
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies the migrations this database has not seen, each in its own
/// transaction together with the version bump, up to `target`.
pub fn migrate_to(conn: &mut Connection, target: u32) -> rusqlite::Result<u32> {
    let mut current = version(conn)?;
    while current < target {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now = version(&tx)?;
        if now > current {
            current = now;
            continue;
        }
        tx.execute_batch(MIGRATIONS[current as usize])?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
        tracing::debug!(version = current + 1, "applied migration");
        current += 1;
    }
    Ok(current)
}
