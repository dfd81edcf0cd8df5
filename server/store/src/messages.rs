//! Message rows: append (with the session's counters in the same
//! transaction), the active window a turn reads, transcript pages, and the
//! writes of compaction and import.

use crate::error::{Result, SessionKey, StoreError};
use crate::sessions::{evict, find_in, insert_session};
use crate::types::{
    ContextKind, ContextRef, ImportedSession, Message, NewMessage, NewSummary, Role, Session,
    TokenUsage, TranscriptPage, TranscriptQuery,
};
use crate::{Store, from_millis, now_millis, to_millis};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use std::collections::HashMap;

pub(crate) const MESSAGE_COLUMNS: &str = "id, session_id, role, content, created_at, archived, interrupted, \
     is_summary, summary_from, summary_to, input_tokens, output_tokens, tokens_estimated, \
     tokens_before, tokens_after, pinned";

pub(crate) fn message_from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let role: String = r.get(2)?;
    let from: Option<i64> = r.get(8)?;
    let to: Option<i64> = r.get(9)?;
    let input: Option<i64> = r.get(10)?;
    let output: Option<i64> = r.get(11)?;
    Ok(Message {
        id: r.get(0)?,
        session_id: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::System),
        content: r.get(3)?,
        created_at: from_millis(r.get(4)?),
        archived: r.get(5)?,
        interrupted: r.get(6)?,
        is_summary: r.get(7)?,
        summary_range: from.zip(to),
        usage: match (input, output) {
            (None, None) => None,
            (i, o) => Some(TokenUsage {
                input: i.unwrap_or(0) as u64,
                output: o.unwrap_or(0) as u64,
                estimated: r.get(12)?,
            }),
        },
        tokens_before: r.get::<_, Option<i64>>(13)?.map(|v| v as u64),
        tokens_after: r.get::<_, Option<i64>>(14)?.map(|v| v as u64),
        context: Vec::new(),
        pinned: r.get(15)?,
    })
}

/// What a row has beyond its [`NewMessage`].
pub(crate) struct Extra {
    pub(crate) archived: bool,
    pub(crate) pinned: bool,
    pub(crate) is_summary: bool,
    pub(crate) range: Option<(i64, i64)>,
    pub(crate) tokens_before: Option<u64>,
    pub(crate) tokens_after: Option<u64>,
}

const PLAIN: Extra = Extra {
    archived: false,
    pinned: false,
    is_summary: false,
    range: None,
    tokens_before: None,
    tokens_after: None,
};

pub(crate) fn insert_message(
    tx: &Transaction<'_>,
    session_id: &str,
    m: &NewMessage,
    extra: &Extra,
) -> rusqlite::Result<i64> {
    let created = m.created_at.map(to_millis).unwrap_or_else(now_millis);
    tx.prepare_cached(
        "INSERT INTO messages (session_id, role, content, created_at, archived, interrupted, \
         is_summary, summary_from, summary_to, input_tokens, output_tokens, tokens_estimated, \
         tokens_before, tokens_after, pinned) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        session_id,
        m.role.as_str(),
        m.content,
        created,
        extra.archived,
        m.interrupted,
        extra.is_summary,
        extra.range.map(|r| r.0),
        extra.range.map(|r| r.1),
        m.usage.map(|u| u.input as i64),
        m.usage.map(|u| u.output as i64),
        m.usage.is_some_and(|u| u.estimated),
        extra.tokens_before.map(|v| v as i64),
        extra.tokens_after.map(|v| v as i64),
        extra.pinned,
    ])?;
    let id = tx.last_insert_rowid();
    for c in &m.context {
        tx.prepare_cached(
            "INSERT INTO context_refs (session_id, message_id, kind, uri, range, text) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            session_id,
            id,
            c.kind.as_str(),
            c.uri,
            c.range.as_ref().map(|r| r.to_string()),
            c.text
        ])?;
    }
    Ok(id)
}

fn load_context(conn: &Connection, messages: &mut [Message]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, uri, range, text FROM context_refs WHERE message_id = ?1 ORDER BY id",
    )?;
    for m in messages.iter_mut().filter(|m| m.role == Role::User) {
        m.context = stmt
            .query_map([m.id], |r| {
                let kind: String = r.get(0)?;
                let range: Option<String> = r.get(2)?;
                Ok(ContextRef {
                    kind: ContextKind::parse(&kind).unwrap_or(ContextKind::Text),
                    uri: r.get(1)?,
                    range: range.and_then(|s| serde_json::from_str(&s).ok()),
                    text: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    Ok(())
}

fn get_message(conn: &Connection, id: i64) -> rusqlite::Result<Message> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
    ))?
    .query_row([id], message_from_row)
}

impl Store {
    /// Appends a message to a session, bumping its counter and its last
    /// activity in the same transaction. Committed when this returns.
    pub fn append_message(&mut self, session_id: &str, message: &NewMessage) -> Result<Message> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let id = insert_message(&tx, session_id, message, &PLAIN).map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                StoreError::NotFound(SessionKey::Id(session_id.to_string()))
            }
            e => map(e),
        })?;
        tx.prepare_cached(
            "UPDATE sessions SET message_count = message_count + 1, \
             input_tokens = input_tokens + ?3, output_tokens = output_tokens + ?4, \
             updated_at = MAX(updated_at, ?1) WHERE id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                now_millis(),
                session_id,
                message.usage.map_or(0, |u| u.input as i64),
                message.usage.map_or(0, |u| u.output as i64)
            ])
        })
        .map_err(map)?;
        let mut stored = get_message(&tx, id).map_err(map)?;
        stored.context = message.context.clone();
        tx.commit().map_err(map)?;
        Ok(stored)
    }

    /// Rewrites a reply stored while it streamed (a checkpoint): its text,
    /// whether it is still interrupted, and its usage once complete. The
    /// search index follows (its update trigger).
    pub fn update_reply(
        &mut self,
        id: i64,
        content: &str,
        interrupted: bool,
        usage: Option<&crate::TokenUsage>,
    ) -> Result<Message> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        tx.prepare_cached(
            "UPDATE messages SET content = ?1, interrupted = ?2, input_tokens = ?3, \
             output_tokens = ?4, tokens_estimated = ?5 WHERE id = ?6",
        )
        .and_then(|mut s| {
            s.execute(params![
                content,
                interrupted,
                usage.map(|u| u.input as i64),
                usage.map(|u| u.output as i64),
                usage.is_some_and(|u| u.estimated),
                id
            ])
        })
        .map_err(map)?;
        if let Some(u) = usage {
            tx.prepare_cached(
                "UPDATE sessions SET input_tokens = input_tokens + ?1, \
                 output_tokens = output_tokens + ?2, updated_at = MAX(updated_at, ?3) \
                 WHERE id = (SELECT session_id FROM messages WHERE id = ?4)",
            )
            .and_then(|mut s| s.execute(params![u.input as i64, u.output as i64, now_millis(), id]))
            .map_err(map)?;
        }
        let stored = get_message(&tx, id).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(stored)
    }

    /// What a turn reads: the live summaries (oldest first), then the newest
    /// `limit` unarchived messages (all when `None`), oldest first. Two range
    /// scans of an index: the cost does not grow with the archived history.
    pub fn active_window(&self, session_id: &str, limit: Option<u32>) -> Result<Vec<Message>> {
        let map = |e| self.err(e);
        // One read transaction: one snapshot for both reads, one WAL lookup.
        let tx = self.conn.unchecked_transaction().map_err(map)?;
        let mut out = tx
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE session_id = ?1 AND archived = 0 AND is_summary = 1 ORDER BY id"
            ))
            .and_then(|mut s| {
                s.query_map([session_id], message_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map)?;
        let mut recent = tx
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE session_id = ?1 AND archived = 0 AND is_summary = 0 \
                 ORDER BY id DESC LIMIT ?2"
            ))
            .and_then(|mut s| {
                s.query_map(
                    params![session_id, limit.map(i64::from).unwrap_or(-1)],
                    message_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map)?;
        recent.reverse();
        // Pinned messages older than that window are sent too, in order,
        // before it (a partial index: as many rows as there are pins).
        let oldest_recent = recent.first().map_or(i64::MAX, |m| m.id);
        let pins = tx
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ?1 AND pinned = 1 \
                 AND archived = 0 AND id < ?2 ORDER BY id"
            ))
            .and_then(|mut s| {
                s.query_map(params![session_id, oldest_recent], message_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map)?;
        tx.finish().map_err(map)?;
        out.extend(pins);
        out.extend(recent);
        Ok(out)
    }

    /// The id of a session's newest message or summary (0 when it has none).
    pub fn newest_message_id(&self, session_id: &str) -> Result<i64> {
        self.conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM messages WHERE session_id = ?1")
            .and_then(|mut s| s.query_row([session_id], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }

    /// How many of a session's active messages are pinned.
    pub fn pinned_count(&self, session_id: &str) -> Result<u64> {
        self.conn
            .prepare_cached(
                "SELECT COUNT(*) FROM messages WHERE session_id = ?1 AND pinned = 1 AND archived = 0",
            )
            .and_then(|mut s| s.query_row([session_id], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Pins (or unpins) a message of a session. A pinned message is never
    /// compacted and always sent: pinning an archived one makes it active
    /// again. `MessageNotFound` for an id that is not one of the session's
    /// messages (summaries cannot be pinned).
    pub fn pin_message(
        &mut self,
        session_id: &str,
        session_name: &str,
        id: i64,
        pinned: bool,
    ) -> Result<Message> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let archived: Option<bool> = tx
            .query_row(
                "SELECT archived FROM messages WHERE id = ?1 AND session_id = ?2 AND is_summary = 0",
                params![id, session_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(map)?;
        let Some(archived) = archived else {
            return Err(StoreError::MessageNotFound {
                session: session_name.to_string(),
                id,
            });
        };
        let restore = pinned && archived;
        tx.execute(
            "UPDATE messages SET pinned = ?1, archived = archived AND NOT ?1 WHERE id = ?2",
            params![pinned, id],
        )
        .map_err(map)?;
        tx.execute(
            "UPDATE sessions SET archived_count = archived_count - ?1, \
             updated_at = MAX(updated_at, ?2) WHERE id = ?3",
            params![i64::from(restore), now_millis(), session_id],
        )
        .map_err(map)?;
        let stored = get_message(&tx, id).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(stored)
    }

    /// A session's messages and summaries newer than `after`, and those of
    /// `ids` (replies that were still streaming), oldest first: what a
    /// follower of the session has not seen.
    pub fn messages_since(
        &self,
        session_id: &str,
        after: i64,
        ids: &[i64],
    ) -> Result<Vec<Message>> {
        let map = |e| self.err(e);
        let mut out = self
            .conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ?1 AND id > ?2 \
                 ORDER BY id LIMIT 1000"
            ))
            .and_then(|mut s| {
                s.query_map(params![session_id, after], message_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map)?;
        for &id in ids.iter().filter(|&&id| id <= after) {
            match get_message(&self.conn, id) {
                Ok(m) if m.session_id == session_id => out.push(m),
                Ok(_) | Err(rusqlite::Error::QueryReturnedNoRows) => {}
                Err(e) => return Err(map(e)),
            }
        }
        out.sort_by_key(|m| m.id);
        load_context(&self.conn, &mut out).map_err(map)?;
        Ok(out)
    }

    /// The live summaries and the oldest `limit` unarchived messages, oldest
    /// first: what a compaction takes from (index range scans).
    pub fn oldest_active(
        &self,
        session_id: &str,
        limit: u32,
    ) -> Result<(Vec<Message>, Vec<Message>)> {
        let map = |e| self.err(e);
        let tx = self.conn.unchecked_transaction().map_err(map)?;
        let query = |summary: bool, limit: i64| {
            tx.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE session_id = ?1 AND archived = 0 AND is_summary = ?2 AND pinned = 0 \
                 ORDER BY id LIMIT ?3"
            ))
            .and_then(|mut s| {
                s.query_map(params![session_id, summary, limit], message_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
        };
        let summaries = query(true, -1).map_err(map)?;
        let oldest = query(false, i64::from(limit)).map_err(map)?;
        tx.finish().map_err(map)?;
        Ok((summaries, oldest))
    }

    /// One page of the full transcript, from the newest end.
    pub fn transcript(&self, session_id: &str, q: &TranscriptQuery) -> Result<TranscriptPage> {
        let map = |e| self.err(e);
        let mut messages = self
            .conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ?1 \
                 AND (?2 OR archived = 0) AND (?3 OR is_summary = 0) \
                 AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5"
            ))
            .and_then(|mut s| {
                s.query_map(
                    params![
                        session_id,
                        q.include_archived,
                        q.include_summaries,
                        q.before,
                        i64::from(q.limit) + 1
                    ],
                    message_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map)?;
        let has_more = messages.len() > q.limit as usize;
        messages.truncate(q.limit as usize);
        messages.reverse();
        load_context(&self.conn, &mut messages).map_err(map)?;
        Ok(TranscriptPage { messages, has_more })
    }

    /// Every row of a session, summaries included, oldest first (export).
    pub fn all_messages(&self, session_id: &str) -> Result<Vec<Message>> {
        let map = |e| self.err(e);
        let mut messages = self
            .conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ?1 ORDER BY id"
            ))
            .and_then(|mut s| {
                s.query_map([session_id], message_from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map)?;
        load_context(&self.conn, &mut messages).map_err(map)?;
        Ok(messages)
    }

    /// Archives one message that is not a summary (a reply asked for again:
    /// kept, no longer sent), updating the counters. `false` when it was
    /// archived already or is not this session's.
    pub fn archive_message(&mut self, session_id: &str, id: i64) -> Result<bool> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let changed = tx
            .execute(
                "UPDATE messages SET archived = 1, pinned = 0 \
                 WHERE id = ?1 AND session_id = ?2 AND archived = 0 AND is_summary = 0",
                params![id, session_id],
            )
            .map_err(map)?;
        if changed > 0 {
            tx.execute(
                "UPDATE sessions SET archived_count = archived_count + 1 WHERE id = ?1",
                params![session_id],
            )
            .map_err(map)?;
        }
        tx.commit().map_err(map)?;
        Ok(changed > 0)
    }

    /// Undoes a compaction: the messages summary `summary_id` (the live one
    /// when `None`) archived are active again, and the summary is archived
    /// (kept, no longer sent), in one transaction. Summaries it had folded
    /// in stay archived: the messages they stood for are back themselves.
    /// Returns the ids of the messages restored; `MessageNotFound` when the
    /// session has no such live summary.
    pub fn uncompact(
        &mut self,
        session_id: &str,
        session_name: &str,
        summary_id: Option<i64>,
    ) -> Result<Vec<i64>> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let found: Option<(i64, i64, i64)> = tx
            .query_row(
                "SELECT id, summary_from, summary_to FROM messages \
                 WHERE session_id = ?1 AND is_summary = 1 AND archived = 0 \
                 AND (?2 IS NULL OR id = ?2) ORDER BY id DESC LIMIT 1",
                params![session_id, summary_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(map)?;
        let Some((id, from, to)) = found else {
            return Err(StoreError::MessageNotFound {
                session: session_name.to_string(),
                id: summary_id.unwrap_or(0),
            });
        };
        let restored: Vec<i64> = tx
            .prepare(
                "UPDATE messages SET archived = 0 WHERE session_id = ?1 AND is_summary = 0 \
                 AND archived = 1 AND id BETWEEN ?2 AND ?3 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_map(params![session_id, from, to], |r| r.get(0))?
                    .collect()
            })
            .map_err(map)?;
        tx.execute("UPDATE messages SET archived = 1 WHERE id = ?1", [id])
            .map_err(map)?;
        tx.execute(
            "UPDATE sessions SET archived_count = archived_count - ?1 WHERE id = ?2",
            params![restored.len() as i64, session_id],
        )
        .map_err(map)?;
        tx.commit().map_err(map)?;
        let mut restored = restored;
        restored.sort_unstable();
        Ok(restored)
    }

    /// Stores a summary and archives what it replaces (messages and earlier
    /// summaries), updating the counters, in one transaction.
    pub fn store_summary(&mut self, session_id: &str, summary: &NewSummary) -> Result<Message> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let mut archived_messages = 0i64;
        {
            let mut archive = tx
                .prepare_cached(
                    "UPDATE messages SET archived = 1 \
                     WHERE id = ?1 AND session_id = ?2 AND archived = 0 AND pinned = 0 \
                     RETURNING is_summary",
                )
                .map_err(map)?;
            for id in &summary.replaces {
                let was_summary: Option<bool> = archive
                    .query_row(params![id, session_id], |r| r.get(0))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })
                    .map_err(map)?;
                if was_summary == Some(false) {
                    archived_messages += 1;
                }
            }
        }
        let message = NewMessage::new(Role::System, summary.content.clone());
        let id = insert_message(
            &tx,
            session_id,
            &message,
            &Extra {
                archived: false,
                pinned: false,
                is_summary: true,
                range: Some(summary.range),
                tokens_before: Some(summary.tokens_before),
                tokens_after: Some(summary.tokens_after),
            },
        )
        .map_err(map)?;
        tx.execute(
            "UPDATE sessions SET archived_count = archived_count + ?1, \
             summary_count = summary_count + 1 WHERE id = ?2",
            params![archived_messages, session_id],
        )
        .map_err(map)?;
        let stored = get_message(&tx, id).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(stored)
    }

    /// Writes a whole session (import) in one transaction, keeping summary
    /// ranges pointing at the right messages, then evicts beyond
    /// `max_sessions`.
    pub fn import_session(
        &mut self,
        imported: &ImportedSession,
        max_sessions: u32,
    ) -> Result<(Session, Vec<String>)> {
        let path = self.path.clone();
        let name = imported.session.name.clone();
        let map = |e: rusqlite::Error| match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                StoreError::NameTaken(name.clone())
            }
            _ => crate::error::classify(&path, e),
        };
        let tx = self.begin()?;
        let session = insert_session(&tx, &imported.session).map_err(map)?;
        let mut ids: HashMap<i64, i64> = HashMap::new();
        let (mut count, mut archived, mut summaries) = (0i64, 0i64, 0i64);
        let (mut input, mut output) = (0i64, 0i64);
        for m in &imported.messages {
            if let Some(u) = m.message.usage {
                input += u.input as i64;
                output += u.output as i64;
            }
            let range = m
                .summary_range
                .and_then(|(a, b)| Some((*ids.get(&a)?, *ids.get(&b)?)));
            let id = insert_message(
                &tx,
                &session.id,
                &m.message,
                &Extra {
                    archived: m.archived,
                    pinned: m.pinned && !m.archived,
                    is_summary: m.is_summary,
                    range,
                    tokens_before: m.tokens_before,
                    tokens_after: m.tokens_after,
                },
            )
            .map_err(map)?;
            if let Some(old) = m.old_id {
                ids.insert(old, id);
            }
            if m.is_summary {
                summaries += 1;
            } else {
                count += 1;
                archived += i64::from(m.archived);
            }
        }
        tx.execute(
            "UPDATE sessions SET message_count = ?1, archived_count = ?2, summary_count = ?3, \
             input_tokens = ?5, output_tokens = ?6, title = ?7 WHERE id = ?4",
            params![
                count,
                archived,
                summaries,
                session.id,
                input,
                output,
                imported.title
            ],
        )
        .map_err(map)?;
        let evicted = evict(&tx, max_sessions, &session.id).map_err(map)?;
        let session = find_in(&tx, &SessionKey::Id(session.id)).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok((session.expect("row just written"), evicted))
    }
}
