//! Plain data the store reads and writes. No SQL and no wire format here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "system" => Some(Role::System),
            _ => None,
        }
    }
}

/// A stored session with its counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub model: String,
    pub skill: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every stored user/assistant/system message, archived ones included;
    /// summaries are not counted.
    pub message_count: u64,
    /// Messages folded into a summary.
    pub archived_count: u64,
    /// Summaries stored for this session (live or folded into a later one).
    pub summary_count: u64,
    pub metadata: serde_json::Value,
    /// For a fork: the origin session's name when it was forked.
    pub forked_from: Option<String>,
    /// For a fork: the id of the origin's message it was forked at.
    pub forked_at: Option<i64>,
    /// Tokens sent and received by its turns, as the providers reported them
    /// (or as estimated when they did not).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// A short title: made from the first exchange, or set by the user.
    /// `None` until then; never empty (a cleared title is `None` here).
    pub title: Option<String>,
}

impl Session {
    /// Messages the model may still see verbatim (not yet archived).
    pub fn active_count(&self) -> u64 {
        self.message_count.saturating_sub(self.archived_count)
    }
}

/// Token counts of one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    /// True when the provider did not report them and they were estimated.
    pub estimated: bool,
}

/// What an editor attached to a message: the open file, a selection, text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextRef {
    pub kind: ContextKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<serde_json::Value>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    File,
    Selection,
    Text,
}

impl ContextKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContextKind::File => "file",
            ContextKind::Selection => "selection",
            ContextKind::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<ContextKind> {
        match s {
            "file" => Some(ContextKind::File),
            "selection" => Some(ContextKind::Selection),
            "text" => Some(ContextKind::Text),
            _ => None,
        }
    }
}

/// A stored message, or a summary (`is_summary`, role `System`).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: i64,
    pub session_id: String,
    pub role: Role,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub archived: bool,
    pub interrupted: bool,
    pub is_summary: bool,
    /// On summaries: the ids of the first and last message they replace.
    pub summary_range: Option<(i64, i64)>,
    pub usage: Option<TokenUsage>,
    /// On summaries: estimated tokens of what they replaced, and of themselves.
    pub tokens_before: Option<u64>,
    pub tokens_after: Option<u64>,
    pub context: Vec<ContextRef>,
    /// Never compacted, always sent.
    pub pinned: bool,
}

/// A message to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub role: Role,
    pub content: String,
    pub interrupted: bool,
    pub usage: Option<TokenUsage>,
    pub context: Vec<ContextRef>,
    /// `None`: now.
    pub created_at: Option<DateTime<Utc>>,
}

impl NewMessage {
    pub fn new(role: Role, content: impl Into<String>) -> NewMessage {
        NewMessage {
            role,
            content: content.into(),
            interrupted: false,
            usage: None,
            context: Vec::new(),
            created_at: None,
        }
    }
}

/// A session to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    pub name: String,
    pub provider: String,
    pub model: String,
    pub skill: String,
    pub metadata: serde_json::Value,
    /// `None`: now (imports keep their original times).
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Fields to change on a session; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionUpdate {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub skill: Option<String>,
    pub metadata: Option<serde_json::Value>,
    /// The user's title; `Some("")` clears it for good (no title is made
    /// again).
    pub title: Option<String>,
}

impl SessionUpdate {
    pub fn is_empty(&self) -> bool {
        self.provider.is_none()
            && self.model.is_none()
            && self.skill.is_none()
            && self.metadata.is_none()
            && self.title.is_none()
    }
}

/// Which sessions to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub provider: Option<String>,
    /// Case-insensitive substring of the name or of any message's text.
    pub query: Option<String>,
    pub limit: Option<u32>,
    pub offset: u32,
}

/// One row of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub session: Session,
    /// Where the query matched a message's text.
    pub snippet: Option<String>,
}

/// A page of a transcript.
#[derive(Debug, Clone, Default)]
pub struct TranscriptPage {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Older messages exist before the first one of this page.
    pub has_more: bool,
}

/// Which messages a transcript page holds.
#[derive(Debug, Clone, Copy)]
pub struct TranscriptQuery {
    pub before: Option<i64>,
    pub limit: u32,
    pub include_archived: bool,
    pub include_summaries: bool,
}

/// A summary to store in place of a run of messages.
#[derive(Debug, Clone)]
pub struct NewSummary {
    pub content: String,
    /// The messages (and earlier summaries) it replaces; they are archived.
    pub replaces: Vec<i64>,
    pub range: (i64, i64),
    pub tokens_before: u64,
    pub tokens_after: u64,
}

/// A whole session to write at once (import).
#[derive(Debug, Clone)]
pub struct ImportedSession {
    pub session: NewSession,
    pub messages: Vec<ImportedMessage>,
    pub title: Option<String>,
}

/// A message of an import; `old_id` lets summaries keep their ranges.
#[derive(Debug, Clone)]
pub struct ImportedMessage {
    pub old_id: Option<i64>,
    pub message: NewMessage,
    pub archived: bool,
    pub is_summary: bool,
    pub summary_range: Option<(i64, i64)>,
    pub tokens_before: Option<u64>,
    pub tokens_after: Option<u64>,
    pub pinned: bool,
}
