//! Seeing what other processes change: one session shared live by the
//! terminal and the editors, each its own process on one database.
//!
//! A [`Watch`] is polled on the store thread (every [`POLL_INTERVAL`], by
//! the face that owns it: the server, the TUI). Each poll reads `PRAGMA
//! data_version` of the engine's connection, which changes only when
//! another connection commits: an idle poll is that one read. When it
//! changed, the watch compares the sessions' counters with what it saw
//! last (one listing, O(sessions), only after a change) and reads the
//! messages newer than what each followed session's follower has seen
//! (O(new rows)), plus the replies that were still streaming elsewhere.
//!
//! Changes this process made itself do not move `data_version`; they may
//! come again with the next change seen from elsewhere. Followers replace
//! messages by id, so that repetition is harmless.

use crate::error::Result;
use crate::sessions::Sessions;
use atmos_store::{ListFilter, Message, Role, Session, SessionKey};
use std::collections::HashMap;
use std::time::Duration;

/// How often a face polls its [`Watch`]. A commit elsewhere is seen within
/// this, plus the poll's reads.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What changed in the session list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChange {
    Created,
    Deleted,
    Renamed,
    /// Messages were added.
    Chat,
    /// Anything else (title, model, compaction, tokens).
    Updated,
}

/// A session changed elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSeen {
    pub change: ListChange,
    pub session_id: String,
    pub name: String,
}

/// What another process changed in a followed session.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpdate {
    pub session: Session,
    /// New or changed messages (summaries included), oldest first.
    pub messages: Vec<Message>,
    /// Another process holds the session's turn.
    pub replying_elsewhere: bool,
    /// The history was rewritten (compaction, uncompaction, retry, pin):
    /// read it again.
    pub reload: bool,
}

/// What one poll saw.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Seen {
    pub sessions: Vec<SessionSeen>,
    pub followed: Vec<FollowUpdate>,
}

#[derive(Debug)]
struct Follow {
    /// The newest message id the follower has.
    cursor: i64,
    /// Replies seen still streaming (stored interrupted) while another
    /// process held the turn: read again until they are complete.
    streaming: Vec<i64>,
    replying: bool,
    session: Session,
}

/// The state of one face's view of the database; see the module doc.
#[derive(Debug, Default)]
pub struct Watch {
    version: Option<i64>,
    known: HashMap<String, Session>,
    follows: HashMap<String, Follow>,
}

impl Watch {
    pub fn new() -> Watch {
        Watch::default()
    }

    /// One poll: what other processes changed since the last one. The first
    /// poll only takes note of how things are.
    pub fn poll(&mut self, sessions: &Sessions) -> Result<Seen> {
        let (version, _) = sessions.data_version()?;
        let changed = self.version != Some(version);
        let first = self.version.is_none();
        self.version = Some(version);
        let mut seen = Seen::default();
        if first {
            self.known = snapshot(sessions)?;
            return Ok(seen);
        }
        if changed {
            let now = snapshot(sessions)?;
            seen.sessions = diff(&self.known, &now);
            self.known = now;
        }
        let ids: Vec<String> = self.follows.keys().cloned().collect();
        for id in ids {
            let follow = &self.follows[&id];
            if !changed && !follow.replying {
                continue;
            }
            let Some(session) = self.known.get(&id).cloned() else {
                // Deleted elsewhere: the list change says so.
                self.follows.remove(&id);
                continue;
            };
            if let Some(update) = self.catch_up(sessions, session, changed)? {
                seen.followed.push(update);
            }
        }
        Ok(seen)
    }

    /// Starts following a session: returns it, whether another process is
    /// replying in it, and what is newer than `after` (when given and there
    /// is something).
    pub fn follow(
        &mut self,
        sessions: &Sessions,
        key: &SessionKey,
        after: Option<i64>,
    ) -> Result<(Session, bool, Option<FollowUpdate>)> {
        let session = sessions.get(key)?;
        if self.version.is_none() {
            self.poll(sessions)?;
        }
        self.known.insert(session.id.clone(), session.clone());
        let cursor = match after {
            Some(id) => id,
            None => sessions.store().newest_message_id(&session.id)?,
        };
        self.follows.insert(
            session.id.clone(),
            Follow {
                cursor,
                streaming: Vec::new(),
                replying: false,
                session: session.clone(),
            },
        );
        let update = self.catch_up(sessions, session.clone(), after.is_some())?;
        let replying = self.follows[&session.id].replying;
        Ok((session, replying, update.filter(|u| !u.messages.is_empty())))
    }

    /// Stops following a session; false when it was not followed.
    pub fn unfollow(&mut self, session_id: &str) -> bool {
        self.follows.remove(session_id).is_some()
    }

    /// Reads what a follower of `session` has not seen; `None` when nothing
    /// changed for it.
    fn catch_up(
        &mut self,
        sessions: &Sessions,
        session: Session,
        read_messages: bool,
    ) -> Result<Option<FollowUpdate>> {
        let follow = self.follows.get_mut(&session.id).expect("followed");
        let holder = sessions.store().lease_holder(&session.id)?;
        let replying = holder.is_some_and(|h| !crate::chat::is_own_holder(&h));
        let messages = if read_messages {
            sessions
                .store()
                .messages_since(&session.id, follow.cursor, &follow.streaming)?
        } else {
            Vec::new()
        };
        let before = &follow.session;
        let reload = session.archived_count != before.archived_count
            || session.summary_count != before.summary_count
            || session.message_count < before.message_count
            || (messages.is_empty()
                && session.message_count == before.message_count
                && session.updated_at != before.updated_at);
        let changed = !messages.is_empty()
            || reload
            || replying != follow.replying
            || session != follow.session;
        follow.cursor = messages.iter().map(|m| m.id).fold(follow.cursor, i64::max);
        follow.streaming = if replying {
            messages
                .iter()
                .filter(|m| m.interrupted && m.role == Role::Assistant)
                .map(|m| m.id)
                .chain(
                    follow
                        .streaming
                        .iter()
                        .copied()
                        .filter(|id| !messages.iter().any(|m| m.id == *id)),
                )
                .collect()
        } else {
            Vec::new()
        };
        follow.replying = replying;
        follow.session = session.clone();
        Ok(changed.then_some(FollowUpdate {
            session,
            messages,
            replying_elsewhere: replying,
            reload,
        }))
    }
}

fn snapshot(sessions: &Sessions) -> Result<HashMap<String, Session>> {
    let (listed, _) = sessions.list(&ListFilter::default())?;
    Ok(listed
        .into_iter()
        .map(|l| (l.session.id.clone(), l.session))
        .collect())
}

fn diff(before: &HashMap<String, Session>, now: &HashMap<String, Session>) -> Vec<SessionSeen> {
    let mut out: Vec<SessionSeen> = Vec::new();
    for (id, s) in now {
        let change = match before.get(id) {
            None => Some(ListChange::Created),
            Some(b) if b.name != s.name => Some(ListChange::Renamed),
            Some(b) if b.message_count != s.message_count => Some(ListChange::Chat),
            Some(b) if b != s => Some(ListChange::Updated),
            Some(_) => None,
        };
        if let Some(change) = change {
            out.push(SessionSeen {
                change,
                session_id: id.clone(),
                name: s.name.clone(),
            });
        }
    }
    for (id, s) in before {
        if !now.contains_key(id) {
            out.push(SessionSeen {
                change: ListChange::Deleted,
                session_id: id.clone(),
                name: s.name.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
