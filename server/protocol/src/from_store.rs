//! The wire shapes of the store's plain types (feature `store`): the server
//! and the CLI's `--format json` print sessions and messages through these.

use crate::types::{ListedSession, Message, Role, Session, SummaryRange, Usage};
use atmos_store as store;

/// RFC 3339 in UTC, to the second (`2026-11-24T03:49:43Z`).
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl From<&store::Session> for Session {
    fn from(s: &store::Session) -> Self {
        Session {
            id: s.id.clone(),
            name: s.name.clone(),
            provider: s.provider.clone(),
            model: s.model.clone(),
            skill: s.skill.clone(),
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
            message_count: s.message_count,
            archived_count: s.archived_count,
            summary_count: s.summary_count,
            metadata: s.metadata.clone(),
            forked_from: s.forked_from.as_ref().map(|name| crate::types::ForkedFrom {
                name: name.clone(),
                at: s.forked_at.map(|id| id.to_string()),
            }),
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            title: s.title.clone(),
        }
    }
}

impl From<store::Session> for Session {
    fn from(s: store::Session) -> Self {
        Session::from(&s)
    }
}

impl From<&store::Listed> for ListedSession {
    fn from(l: &store::Listed) -> Self {
        ListedSession {
            session: (&l.session).into(),
            snippet: l.snippet.clone(),
        }
    }
}

impl From<store::Listed> for ListedSession {
    fn from(l: store::Listed) -> Self {
        ListedSession::from(&l)
    }
}

impl From<store::Role> for Role {
    fn from(r: store::Role) -> Self {
        match r {
            store::Role::User => Role::User,
            store::Role::Assistant => Role::Assistant,
            store::Role::System => Role::System,
        }
    }
}

impl From<&store::Message> for Message {
    fn from(m: &store::Message) -> Self {
        Message {
            id: m.id.to_string(),
            role: m.role.into(),
            content: m.content.clone(),
            created_at: time(m.created_at),
            archived: m.archived,
            is_summary: m.is_summary,
            interrupted: m.interrupted,
            summary_range: m.summary_range.map(|(from, to)| SummaryRange {
                from: from.to_string(),
                to: to.to_string(),
            }),
            pinned: m.pinned,
        }
    }
}

impl From<store::Message> for Message {
    fn from(m: store::Message) -> Self {
        Message::from(&m)
    }
}

impl From<store::TokenUsage> for Usage {
    fn from(u: store::TokenUsage) -> Self {
        Usage {
            input_tokens: u.input,
            output_tokens: u.output,
            estimated: u.estimated,
        }
    }
}
