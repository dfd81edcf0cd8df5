//! Forking a session: a new session with a copy of its history up to one
//! message, in one transaction.

use crate::error::{Result, SessionKey, StoreError};
use crate::messages::{Extra, MESSAGE_COLUMNS, insert_message, message_from_row};
use crate::sessions::{evict, find_in, insert_session};
use crate::types::{Message, NewMessage, NewSession, Session};
use crate::{Store, now_millis};
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

impl Store {
    /// Copies `origin`'s messages up to and including message `at` (its
    /// newest when `None`) into a new session `new`, which remembers where
    /// it came from. Summaries come along with what they archived; a
    /// message archived by a summary that is not copied (one written after
    /// `at`) is live again in the fork, so the fork's model sees exactly the
    /// history of that moment. Evicts beyond `max_sessions` (sparing the
    /// fork). `NotFound` when `at` is not a message of `origin`.
    pub fn fork_session(
        &mut self,
        origin: &SessionKey,
        at: Option<i64>,
        new: &NewSession,
        max_sessions: u32,
    ) -> Result<(Session, Vec<String>)> {
        let path = self.path.clone();
        let map = |e: rusqlite::Error| {
            if crate::sessions::is_unique_violation(&e) {
                StoreError::NameTaken(new.name.clone())
            } else {
                crate::error::classify(&path, e)
            }
        };
        let tx = self.begin()?;
        let from = find_in(&tx, origin)
            .map_err(map)?
            .ok_or_else(|| StoreError::NotFound(origin.clone()))?;
        let at = match at {
            Some(id) => tx
                .query_row(
                    "SELECT id FROM messages WHERE id = ?1 AND session_id = ?2 AND is_summary = 0",
                    params![id, from.id],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
                .map_err(map)?
                .ok_or_else(|| StoreError::MessageNotFound {
                    session: from.name.clone(),
                    id,
                })?,
            None => tx
                .query_row(
                    "SELECT COALESCE(MAX(id), 0) FROM messages WHERE session_id = ?1",
                    [&from.id],
                    |r| r.get(0),
                )
                .map_err(map)?,
        };
        let rows: Vec<Message> = tx
            .prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ?1 AND id <= ?2 \
                 ORDER BY id"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(params![from.id, at], message_from_row)?
                    .collect()
            })
            .map_err(map)?;
        let session = insert_session(&tx, new).map_err(map)?;
        // What stays archived: what a copied summary stands for (a summary
        // folded into a later copied one included).
        let summaries: Vec<(i64, (i64, i64))> = rows
            .iter()
            .filter(|r| r.is_summary)
            .filter_map(|r| r.summary_range.map(|range| (r.id, range)))
            .collect();
        let covered = |row: &Message| {
            summaries.iter().any(|&(sid, (a, b))| {
                sid > row.id
                    && match row.summary_range {
                        Some((ra, rb)) if row.is_summary => a <= ra && rb <= b,
                        _ => a <= row.id && row.id <= b,
                    }
            })
        };
        let mut ids: HashMap<i64, i64> = HashMap::new();
        let (mut count, mut archived, mut summary_count) = (0i64, 0i64, 0i64);
        let (mut input, mut output) = (0i64, 0i64);
        for row in &rows {
            let usage = row.usage.unwrap_or_default();
            input += usage.input as i64;
            output += usage.output as i64;
            let keep_archived = row.archived && covered(row);
            let copy = NewMessage {
                role: row.role,
                content: row.content.clone(),
                interrupted: row.interrupted,
                usage: row.usage,
                context: Vec::new(),
                created_at: Some(row.created_at),
            };
            let extra = Extra {
                archived: keep_archived,
                pinned: row.pinned && !keep_archived,
                is_summary: row.is_summary,
                // Pointing at the copies: set once all are written.
                range: None,
                tokens_before: row.tokens_before,
                tokens_after: row.tokens_after,
            };
            let id = insert_message(&tx, &session.id, &copy, &extra).map_err(map)?;
            ids.insert(row.id, id);
            tx.execute(
                "INSERT INTO context_refs (session_id, message_id, kind, uri, range, text) \
                 SELECT ?1, ?2, kind, uri, range, text FROM context_refs WHERE message_id = ?3",
                params![session.id, id, row.id],
            )
            .map_err(map)?;
            if row.is_summary {
                summary_count += 1;
            } else {
                count += 1;
                archived += i64::from(keep_archived);
            }
        }
        for row in rows.iter().filter(|r| r.is_summary) {
            if let Some((a, b)) = row.summary_range {
                tx.execute(
                    "UPDATE messages SET summary_from = ?1, summary_to = ?2 WHERE id = ?3",
                    params![ids.get(&a), ids.get(&b), ids[&row.id]],
                )
                .map_err(map)?;
            }
        }
        tx.execute(
            "UPDATE sessions SET message_count = ?1, archived_count = ?2, summary_count = ?3, \
             forked_from = ?4, forked_at = ?5, updated_at = ?6, input_tokens = ?8, \
             output_tokens = ?9, title = ?10 WHERE id = ?7",
            params![
                count,
                archived,
                summary_count,
                from.name,
                (at > 0).then_some(at),
                now_millis(),
                session.id,
                input,
                output,
                from.title
            ],
        )
        .map_err(map)?;
        let evicted = evict(&tx, max_sessions, &session.id).map_err(map)?;
        let session = find_in(&tx, &SessionKey::Id(session.id))
            .map_err(map)?
            .expect("the fork was just written");
        tx.commit().map_err(map)?;
        Ok((session, evicted))
    }
}
