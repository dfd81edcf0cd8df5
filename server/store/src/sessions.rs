//! Session rows: create (with eviction), find, list and search, rename,
//! update, delete and clean.

use crate::error::{Result, SessionKey, StoreError};
use crate::types::{ListFilter, Listed, NewSession, Session, SessionUpdate};
use crate::{Store, from_millis, now_millis, to_millis};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use std::collections::HashMap;

pub(crate) const SESSION_COLUMNS: &str = "id, name, provider, model, skill, created_at, updated_at, \
     message_count, archived_count, summary_count, metadata, forked_from, forked_at, \
     input_tokens, output_tokens, title";

pub(crate) fn session_from_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    // Read in place; most sessions have none (`{}`), which needs no parsing.
    let metadata = match r.get_ref(10)?.as_str()? {
        "{}" => serde_json::Value::Object(serde_json::Map::new()),
        text => serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
    };
    Ok(Session {
        id: r.get(0)?,
        name: r.get(1)?,
        provider: r.get(2)?,
        model: r.get(3)?,
        skill: r.get(4)?,
        created_at: from_millis(r.get(5)?),
        updated_at: from_millis(r.get(6)?),
        message_count: r.get::<_, i64>(7)? as u64,
        archived_count: r.get::<_, i64>(8)? as u64,
        summary_count: r.get::<_, i64>(9)? as u64,
        metadata,
        forked_from: r.get(11)?,
        forked_at: r.get(12)?,
        input_tokens: r.get::<_, i64>(13)? as u64,
        output_tokens: r.get::<_, i64>(14)? as u64,
        title: r.get::<_, Option<String>>(15)?.filter(|t| !t.is_empty()),
    })
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Inserts a session row inside `tx`; a taken name is `NameTaken`.
pub(crate) fn insert_session(tx: &Transaction<'_>, new: &NewSession) -> rusqlite::Result<Session> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = now_millis();
    let created = new.created_at.map(to_millis).unwrap_or(now);
    let updated = new.updated_at.map(to_millis).unwrap_or(created.max(now));
    tx.execute(
        "INSERT INTO sessions (id, name, provider, model, skill, created_at, updated_at, metadata) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            new.name,
            new.provider,
            new.model,
            new.skill,
            created,
            updated,
            new.metadata.to_string()
        ],
    )?;
    find_in(tx, &SessionKey::Id(id)).map(|s| s.expect("row just inserted"))
}

/// Deletes the least recently updated sessions beyond `max`, sparing `keep`.
pub(crate) fn evict(tx: &Transaction<'_>, max: u32, keep: &str) -> rusqlite::Result<Vec<String>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let total: i64 = tx.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))?;
    let excess = total - i64::from(max);
    if excess <= 0 {
        return Ok(Vec::new());
    }
    // A session whose turn (or compaction) holds its lease is in use: the
    // next least recently used goes instead (or, if all are, none for now).
    let mut stmt = tx.prepare(
        "SELECT id, name FROM sessions WHERE id != ?1 \
         AND id NOT IN (SELECT session_id FROM turn_leases WHERE expires_at > ?3) \
         ORDER BY updated_at ASC, rowid ASC LIMIT ?2",
    )?;
    let victims = stmt
        .query_map(params![keep, excess, crate::now_millis()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, _) in &victims {
        tx.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
    }
    Ok(victims.into_iter().map(|(_, name)| name).collect())
}

pub(crate) fn find_in(
    conn: &rusqlite::Connection,
    key: &SessionKey,
) -> rusqlite::Result<Option<Session>> {
    let (sql, value) = match key {
        SessionKey::Name(n) => ("WHERE name = ?1", n),
        SessionKey::Id(i) => ("WHERE id = ?1", i),
    };
    conn.query_row(
        &format!("SELECT {SESSION_COLUMNS} FROM sessions {sql}"),
        [value],
        session_from_row,
    )
    .optional()
}

impl Store {
    /// Creates a session and, when that takes the project past
    /// `max_sessions` (0: no limit), deletes the least recently updated
    /// others, all in one transaction. Returns the session and the names
    /// evicted.
    pub fn create_session(
        &mut self,
        new: &NewSession,
        max_sessions: u32,
    ) -> Result<(Session, Vec<String>)> {
        let path = self.path.clone();
        let map = |e: rusqlite::Error| {
            if is_unique_violation(&e) {
                StoreError::NameTaken(new.name.clone())
            } else {
                crate::error::classify(&path, e)
            }
        };
        let tx = self.begin()?;
        let session = insert_session(&tx, new).map_err(map)?;
        let evicted = evict(&tx, max_sessions, &session.id).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok((session, evicted))
    }

    /// The session with this name or id, if any.
    pub fn find(&self, key: &SessionKey) -> Result<Option<Session>> {
        find_in(&self.conn, key).map_err(|e| self.err(e))
    }

    /// The session with this name or id, or `NotFound`.
    pub fn get(&self, key: &SessionKey) -> Result<Session> {
        self.find(key)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))
    }

    /// How many sessions the project has.
    pub fn session_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Every name in use (for generating anonymous names).
    pub fn name_exists(&self, name: &str) -> Result<bool> {
        self.conn
            .query_row("SELECT 1 FROM sessions WHERE name = ?1", [name], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }

    /// Sessions, most recently updated first, with the total that match.
    pub fn list(&self, filter: &ListFilter) -> Result<(Vec<Listed>, u64)> {
        match filter
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            None => self.list_plain(filter),
            Some(q) => self.list_matching(filter, q),
        }
    }

    fn list_plain(&self, filter: &ListFilter) -> Result<(Vec<Listed>, u64)> {
        let limit = filter.limit.map(i64::from).unwrap_or(-1);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE (?1 IS NULL OR provider = ?1) \
                 ORDER BY updated_at DESC, rowid DESC LIMIT ?2 OFFSET ?3"
            ))
            .map_err(|e| self.err(e))?;
        let sessions = stmt
            .query_map(
                params![filter.provider, limit, filter.offset],
                session_from_row,
            )
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        let total: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE (?1 IS NULL OR provider = ?1)",
                params![filter.provider],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let listed = sessions
            .into_iter()
            .map(|session| Listed {
                session,
                snippet: None,
            })
            .collect();
        Ok((listed, total as u64))
    }

    fn list_matching(&self, filter: &ListFilter, query: &str) -> Result<(Vec<Listed>, u64)> {
        let snippets = self.text_matches(query)?;
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE (?1 IS NULL OR provider = ?1) \
                 ORDER BY updated_at DESC, rowid DESC"
            ))
            .map_err(|e| self.err(e))?;
        let needle = query.to_lowercase();
        let mut matched = Vec::new();
        let rows = stmt
            .query_map(params![filter.provider], session_from_row)
            .map_err(|e| self.err(e))?;
        for row in rows {
            let session = row.map_err(|e| self.err(e))?;
            let by_name = session.name.to_lowercase().contains(&needle);
            if let Some(snippet) = snippets.get(&session.id) {
                matched.push(Listed {
                    session,
                    snippet: Some(snippet.clone()),
                });
            } else if by_name {
                matched.push(Listed {
                    session,
                    snippet: None,
                });
            }
        }
        let total = matched.len() as u64;
        let page = matched
            .into_iter()
            .skip(filter.offset as usize)
            .take(filter.limit.map(|l| l as usize).unwrap_or(usize::MAX))
            .collect();
        Ok((page, total))
    }

    /// Sessions whose message text contains `query` (case-insensitively),
    /// each with a snippet of its newest match. One row per session comes
    /// back from SQLite; only those messages are read for their snippets.
    fn text_matches(&self, query: &str) -> Result<HashMap<String, String>> {
        let map = |e| self.err(e);
        let newest: Vec<(String, i64)> = if query.chars().count() >= 3 {
            // A trigram phrase query: the index finds substrings.
            let phrase = format!("\"{}\"", query.replace('"', "\"\""));
            self.conn
                .prepare_cached(
                    "SELECT m.session_id, MAX(m.id) FROM messages_fts \
                     JOIN messages m ON m.id = messages_fts.rowid \
                     WHERE messages_fts MATCH ?1 GROUP BY m.session_id",
                )
                .and_then(|mut st| {
                    st.query_map([phrase], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(map)?
        } else {
            // Too short for trigrams: scan (queries of one or two characters).
            let pattern = format!("%{}%", escape_like(query));
            self.conn
                .prepare_cached(
                    "SELECT session_id, MAX(id) FROM messages \
                     WHERE content LIKE ?1 ESCAPE '\\' GROUP BY session_id",
                )
                .and_then(|mut st| {
                    st.query_map([pattern], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(map)?
        };
        let mut content = self
            .conn
            .prepare_cached("SELECT content FROM messages WHERE id = ?1")
            .map_err(map)?;
        let mut found = HashMap::with_capacity(newest.len());
        for (session, id) in newest {
            let text: String = content.query_row([id], |r| r.get(0)).map_err(map)?;
            found.insert(session, snippet_around(&text, query));
        }
        Ok(found)
    }

    /// Renames a session; a taken name is `NameTaken`.
    pub fn rename(&mut self, key: &SessionKey, new_name: &str) -> Result<Session> {
        let path = self.path.clone();
        let tx = self.begin()?;
        let map = |e: rusqlite::Error| {
            if is_unique_violation(&e) {
                StoreError::NameTaken(new_name.to_string())
            } else {
                crate::error::classify(&path, e)
            }
        };
        let session = find_in(&tx, key)
            .map_err(map)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        tx.execute(
            "UPDATE sessions SET name = ?1, updated_at = ?2 WHERE id = ?3",
            params![
                new_name,
                now_millis().max(to_millis(session.updated_at)),
                session.id
            ],
        )
        .map_err(map)?;
        let renamed = find_in(&tx, &SessionKey::Id(session.id)).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(renamed.expect("row exists"))
    }

    /// Changes provider, model, skill or metadata.
    pub fn update(&mut self, key: &SessionKey, update: &SessionUpdate) -> Result<Session> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let session = find_in(&tx, key)
            .map_err(map)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        if !update.is_empty() {
            tx.execute(
                "UPDATE sessions SET provider = COALESCE(?1, provider), model = COALESCE(?2, model), \
                 skill = COALESCE(?3, skill), metadata = COALESCE(?4, metadata), updated_at = ?5, \
                 title = COALESCE(?7, title) WHERE id = ?6",
                params![
                    update.provider,
                    update.model,
                    update.skill,
                    update.metadata.as_ref().map(|m| m.to_string()),
                    now_millis().max(to_millis(session.updated_at)),
                    session.id,
                    update.title.as_deref().map(str::trim)
                ],
            )
            .map_err(map)?;
        }
        let updated = find_in(&tx, &SessionKey::Id(session.id)).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(updated.expect("row exists"))
    }

    /// Gives a session the title made from its first exchange, unless it
    /// has one (or the user cleared it). `None` when it was left alone.
    pub fn set_title_if_unset(&mut self, session_id: &str, title: &str) -> Result<Option<Session>> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let changed = tx
            .execute(
                "UPDATE sessions SET title = ?1 WHERE id = ?2 AND title IS NULL",
                params![title, session_id],
            )
            .map_err(map)?;
        let session = find_in(&tx, &SessionKey::Id(session_id.to_string())).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(session.filter(|_| changed > 0))
    }

    /// Replaces title `old` with `new`, unless the title is no longer `old`
    /// (the user changed it). The session when it was replaced.
    pub fn replace_title(
        &mut self,
        session_id: &str,
        old: &str,
        new: &str,
    ) -> Result<Option<Session>> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let changed = tx
            .execute(
                "UPDATE sessions SET title = ?1 WHERE id = ?2 AND title = ?3",
                params![new, session_id, old],
            )
            .map_err(map)?;
        let session = find_in(&tx, &SessionKey::Id(session_id.to_string())).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(session.filter(|_| changed > 0))
    }

    /// Whether the session's title is still to be made (NULL, not cleared).
    pub fn title_unset(&self, session_id: &str) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT title IS NULL FROM sessions WHERE id = ?1")
            .and_then(|mut s| s.query_row([session_id], |r| r.get(0)))
            .optional()
            .map(|v| v.unwrap_or(false))
            .map_err(|e| self.err(e))
    }

    /// Marks a session used now (its `updated_at`): resuming counts as
    /// activity for least-recently-used eviction and for `clean`.
    pub fn touch(&mut self, session_id: &str) -> Result<Session> {
        self.set_time(&SessionKey::Id(session_id.to_string()), now_millis(), true)
    }

    /// Every session's name, for suggestions.
    pub fn names(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM sessions")
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// Sets when a session was last active (its `updated_at`), as if its
    /// last change had happened then. For tools that replay history and for
    /// tests of age-based cleaning.
    pub fn set_updated_at(&mut self, key: &SessionKey, at: DateTime<Utc>) -> Result<Session> {
        self.set_time(key, to_millis(at), false)
    }

    /// Sets `updated_at` to `at` (never earlier than it was, with
    /// `only_later`) and returns the session.
    fn set_time(&mut self, key: &SessionKey, at: i64, only_later: bool) -> Result<Session> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let session = find_in(&tx, key)
            .map_err(map)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        tx.execute(
            "UPDATE sessions SET updated_at = CASE WHEN ?3 THEN MAX(updated_at, ?1) ELSE ?1 END \
             WHERE id = ?2",
            params![at, session.id, only_later],
        )
        .map_err(map)?;
        let updated = find_in(&tx, &SessionKey::Id(session.id)).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(updated.expect("row exists"))
    }

    /// Deletes a session with its messages, summaries and context.
    pub fn delete(&mut self, key: &SessionKey) -> Result<Session> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let session = find_in(&tx, key)
            .map_err(map)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        tx.execute("DELETE FROM sessions WHERE id = ?1", [&session.id])
            .map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(session)
    }

    /// Deletes (or with `dry_run` only names) the sessions last updated at or
    /// before `cutoff`, oldest first.
    pub fn clean(&mut self, cutoff: DateTime<Utc>, dry_run: bool) -> Result<Vec<Session>> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let victims = {
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE updated_at <= ?1 \
                     ORDER BY updated_at ASC, rowid ASC"
                ))
                .map_err(map)?;
            stmt.query_map([to_millis(cutoff)], session_from_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(map)?
        };
        if !dry_run {
            for s in &victims {
                tx.execute("DELETE FROM sessions WHERE id = ?1", [&s.id])
                    .map_err(map)?;
            }
        }
        tx.commit().map_err(map)?;
        Ok(victims)
    }
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// About ten words of `content` around the first case-insensitive match.
fn snippet_around(content: &str, query: &str) -> String {
    let lower = content.to_lowercase();
    let at = lower.find(&query.to_lowercase()).unwrap_or(0);
    // `to_lowercase` can change byte lengths; fall back to char positions.
    let chars: Vec<char> = content.chars().collect();
    let char_at = lower[..at.min(lower.len())]
        .chars()
        .count()
        .min(chars.len());
    let start = char_at.saturating_sub(40);
    let end = (char_at + 40).min(chars.len());
    let mut s: String = chars[start..end].iter().collect();
    if start > 0 {
        s.insert(0, '…');
    }
    if end < chars.len() {
        s.push('…');
    }
    s
}
