//! Export and import of whole sessions.
//!
//! The file format is a superset of the checkpoint Atmos itself writes
//! (`version: "1.0"`, `session`, `messages`, `context`, `statistics`): Atmos
//! can read our files, and we read Atmos's. What Atmos's format loses we add
//! beside it: message ids, `archived` and `interrupted` flags, usage, context
//! references, and the summaries (in their own `summaries` list, so that
//! `statistics.message_count` still equals the length of `messages`).
//! JSON and YAML are lossless but for one field on purpose: an import counts
//! as activity, so the session's `updated_at` becomes the time of the import
//! (an old file would otherwise be cleaned or evicted at once). Markdown is
//! for reading.

use crate::error::{Error, Result};
use crate::sessions::{Sessions, check_name};
use atmos_store::{
    ContextRef, ImportedMessage, ImportedSession, Message, NewMessage, NewSession, Role, Session,
    SessionKey, TokenUsage,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The checkpoint format version (Atmos's).
pub const FORMAT_VERSION: &str = "1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Markdown,
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "yaml" | "yml" => Ok(Format::Yaml),
            "markdown" | "md" => Ok(Format::Markdown),
            _ => Err(Error::invalid_param(
                "format",
                format!("unknown format '{s}': use json, yaml or markdown"),
            )),
        }
    }
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Markdown => "markdown",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_by: Option<String>,
    pub session: CheckpointSession,
    pub messages: Vec<CheckpointMessage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summaries: Vec<CheckpointSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
    pub statistics: Option<Statistics>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// The session's title (an addition of ours to the checkpoint format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub role: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub interrupted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ContextRef>,
    /// Never compacted, always sent (an addition of ours).
    #[serde(default, skip_serializing_if = "is_false")]
    pub pinned: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Folded into a later summary.
    #[serde(default)]
    pub archived: bool,
    /// Ids of the first and last message it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_after: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Statistics {
    pub message_count: Option<u64>,
    #[serde(default)]
    pub user_messages: u64,
    #[serde(default)]
    pub assistant_messages: u64,
    #[serde(default)]
    pub archived_messages: u64,
    #[serde(default)]
    pub summaries: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Builds the checkpoint of a session from its rows.
pub fn checkpoint(session: &Session, rows: &[Message], project_path: &str) -> Checkpoint {
    let (summaries, messages): (Vec<&Message>, Vec<&Message>) =
        rows.iter().partition(|m| m.is_summary);
    let count = |role| messages.iter().filter(|m| m.role == role).count() as u64;
    Checkpoint {
        version: FORMAT_VERSION.into(),
        exported_at: Some(Utc::now()),
        exported_by: std::env::var("USER").ok().filter(|u| !u.is_empty()),
        session: CheckpointSession {
            id: Some(session.id.clone()),
            name: session.name.clone(),
            provider: session.provider.clone(),
            model: session.model.clone(),
            skill: Some(session.skill.clone()),
            project_path: Some(project_path.to_string()),
            created_at: Some(session.created_at),
            updated_at: Some(session.updated_at),
            metadata: Some(session.metadata.clone()),
            title: session.title.clone(),
        },
        statistics: Some(Statistics {
            message_count: Some(messages.len() as u64),
            user_messages: count(Role::User),
            assistant_messages: count(Role::Assistant),
            archived_messages: messages.iter().filter(|m| m.archived).count() as u64,
            summaries: summaries.len() as u64,
        }),
        messages: messages
            .into_iter()
            .map(|m| CheckpointMessage {
                id: Some(m.id),
                role: m.role.as_str().into(),
                content: m.content.clone(),
                created_at: Some(m.created_at),
                archived: m.archived,
                interrupted: m.interrupted,
                usage: m.usage,
                context: m.context.clone(),
                pinned: m.pinned,
            })
            .collect(),
        summaries: summaries
            .into_iter()
            .map(|s| CheckpointSummary {
                id: Some(s.id),
                content: s.content.clone(),
                created_at: Some(s.created_at),
                archived: s.archived,
                from: s.summary_range.map(|r| r.0),
                to: s.summary_range.map(|r| r.1),
                tokens_before: s.tokens_before,
                tokens_after: s.tokens_after,
            })
            .collect(),
        context: Some(serde_json::json!({ "working_directory": project_path })),
    }
}

/// The first line of the first question, when the history has an exchange.
fn first_exchange_title(rows: &[(i64, ImportedMessage)]) -> Option<String> {
    let messages = || rows.iter().map(|r| &r.1).filter(|m| !m.is_summary);
    messages()
        .any(|m| m.message.role == Role::Assistant)
        .then_some(())?;
    let question = messages().find(|m| m.message.role == Role::User)?;
    Some(crate::titles::plain_title(&question.message.content)).filter(|t| !t.is_empty())
}

/// Renders a session for reading: a heading, then each message.
pub fn markdown(session: &Session, rows: &[Message]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "# Session: {}\n", session.name);
    let _ = writeln!(
        out,
        "- Provider: {} ({})\n- Skill: {}\n- Created: {}\n- Updated: {}\n- Messages: {} ({} archived, {} summaries)\n",
        session.provider,
        session.model,
        session.skill,
        session.created_at.format("%Y-%m-%d %H:%M UTC"),
        session.updated_at.format("%Y-%m-%d %H:%M UTC"),
        session.message_count,
        session.archived_count,
        session.summary_count
    );
    for m in rows {
        let when = m.created_at.format("%Y-%m-%d %H:%M");
        let who = match (m.role, m.is_summary) {
            (_, true) => "Summary",
            (Role::User, _) => "You",
            (Role::Assistant, _) => "AI",
            (Role::System, _) => "System",
        };
        let mut notes = Vec::new();
        if m.archived {
            notes.push("archived");
        }
        if m.interrupted {
            notes.push("interrupted");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        let _ = writeln!(out, "## {who} · {when}{notes}\n");
        if let (true, Some((a, b))) = (m.is_summary, m.summary_range) {
            let _ = writeln!(out, "_Replaces messages {a}–{b}._\n");
        }
        for c in &m.context {
            let _ = writeln!(
                out,
                "_Context ({}{})_\n\n```\n{}\n```\n",
                c.kind.as_str(),
                c.uri
                    .as_deref()
                    .map(|u| format!(": {u}"))
                    .unwrap_or_default(),
                c.text
            );
        }
        let _ = writeln!(out, "{}\n", m.content.trim_end());
    }
    out
}

impl Sessions {
    /// The session as a file's content.
    pub fn export(&self, key: &SessionKey, format: Format) -> Result<String> {
        let session = self.get(key)?;
        let rows = self.store().all_messages(&session.id)?;
        let root = self.project().root.display().to_string();
        Ok(match format {
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&checkpoint(&session, &rows, &root))
                    .expect("a checkpoint serialises");
                s.push('\n');
                s
            }
            Format::Yaml => serde_yaml_ng::to_string(&checkpoint(&session, &rows, &root))
                .expect("a checkpoint serialises"),
            Format::Markdown => markdown(&session, &rows),
        })
    }

    /// Imports a checkpoint (ours or Atmos's version 1.0). `name` renames it
    /// on the way in; a clash is `SessionExists`.
    pub fn import(
        &mut self,
        content: &str,
        format: Option<Format>,
        name: Option<&str>,
    ) -> Result<(Session, Vec<String>)> {
        let (format, checkpoint) = parse_checkpoint(content, format)?;
        let imported = to_import(checkpoint, format, name)?;
        // Provider and skill are kept as written: an imported session may
        // name a provider this project has not configured yet.
        check_name(&imported.session.name)?;
        let max = self.project().config.sessions.max_sessions;
        Ok(self.store_mut().import_session(&imported, max)?)
    }
}

fn parse_checkpoint(content: &str, format: Option<Format>) -> Result<(Format, Checkpoint)> {
    let format = match format {
        Some(Format::Markdown) => {
            return Err(Error::InvalidImport {
                format: "markdown".into(),
                reason: "markdown exports are for reading; import a json or yaml export".into(),
            });
        }
        Some(f) => f,
        // Our own Markdown export (`# Session: NAME`), given without a format.
        None if content.trim_start().starts_with("# Session:") => {
            return Err(Error::InvalidImport {
                format: "markdown".into(),
                reason: "this is a Markdown export, which is for reading; import a json or \
                         yaml export (`atmos ai sessions export NAME --format json`)"
                    .into(),
            });
        }
        None if content.trim_start().starts_with('{') => Format::Json,
        None => Format::Yaml,
    };
    let parsed = match format {
        Format::Json => {
            serde_json::from_str::<Checkpoint>(content).map_err(|e| plain(&e.to_string()))
        }
        _ => serde_yaml_ng::from_str::<Checkpoint>(content).map_err(|e| plain(&e.to_string())),
    };
    parsed
        .map(|c| (format, c))
        .map_err(|reason| Error::InvalidImport {
            format: format.as_str().into(),
            reason,
        })
}

/// A parser's message in the user's terms: what is missing or wrong in the
/// file, and what the file should be.
fn plain(message: &str) -> String {
    const WHAT: &str = "it is not a session export (from `atmos ai sessions export` or an Atmos \
                        checkpoint)";
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        return format!("{WHAT}: it has no `{field}` field");
    }
    if message.contains("expected struct Checkpoint") {
        return format!(
            "{WHAT}: the top level must be a mapping with `version`, `session` and `messages`"
        );
    }
    message.replace("struct Checkpoint", "a session export")
}

fn to_import(c: Checkpoint, format: Format, name: Option<&str>) -> Result<ImportedSession> {
    let bad = |reason: String| Error::InvalidImport {
        format: format.as_str().into(),
        reason,
    };
    if c.version != FORMAT_VERSION {
        return Err(bad(format!(
            "version is {:?}; only \"1.0\" is supported",
            c.version
        )));
    }
    let name = name.map(str::to_string).unwrap_or(c.session.name.clone());
    if name.trim().is_empty() {
        return Err(bad("session.name is empty".into()));
    }
    if c.session.provider.trim().is_empty() {
        return Err(bad("session.provider is empty".into()));
    }
    if c.session.model.trim().is_empty() {
        return Err(bad("session.model is empty".into()));
    }
    // Atmos's own checkpoints always hold a message; ours (they carry the
    // session's id) may be of a session that has none yet.
    if c.messages.is_empty() && c.session.id.is_none() {
        return Err(bad("it has no messages".into()));
    }
    match c.statistics.as_ref().and_then(|s| s.message_count) {
        None => return Err(bad("statistics.message_count is missing".into())),
        Some(n) if n != c.messages.len() as u64 => {
            return Err(bad(format!(
                "statistics.message_count is {n} but there are {} messages",
                c.messages.len()
            )));
        }
        Some(_) => {}
    }
    let mut rows: Vec<(i64, ImportedMessage)> =
        Vec::with_capacity(c.messages.len() + c.summaries.len());
    for (i, m) in c.messages.into_iter().enumerate() {
        let role = Role::parse(&m.role).ok_or_else(|| {
            bad(format!(
                "messages[{i}].role is {:?}; use user, assistant or system",
                m.role
            ))
        })?;
        let order = m.id.unwrap_or(i as i64);
        rows.push((
            order,
            ImportedMessage {
                old_id: m.id,
                message: NewMessage {
                    role,
                    content: m.content,
                    interrupted: m.interrupted,
                    usage: m.usage,
                    context: m.context,
                    created_at: m.created_at,
                },
                archived: m.archived,
                is_summary: false,
                summary_range: None,
                tokens_before: None,
                tokens_after: None,
                pinned: m.pinned,
            },
        ));
    }
    let last = rows.iter().map(|r| r.0).max().unwrap_or(0);
    for (i, s) in c.summaries.into_iter().enumerate() {
        // Without ids, summaries go after the messages, in their order.
        let order = s.id.unwrap_or(last + 1 + i as i64);
        rows.push((
            order,
            ImportedMessage {
                old_id: s.id,
                message: NewMessage {
                    created_at: s.created_at,
                    ..NewMessage::new(Role::System, s.content)
                },
                archived: s.archived,
                is_summary: true,
                summary_range: s.from.zip(s.to),
                tokens_before: s.tokens_before,
                tokens_after: s.tokens_after,
                pinned: false,
            },
        ));
    }
    rows.sort_by_key(|r| r.0);
    Ok(ImportedSession {
        session: NewSession {
            name,
            provider: c.session.provider,
            model: c.session.model,
            skill: c
                .session
                .skill
                .unwrap_or_else(|| crate::skills::BUILTIN_SKILL.into()),
            metadata: c
                .session
                .metadata
                .filter(|m| m.is_object())
                .unwrap_or_else(|| serde_json::json!({})),
            // A clock ahead on the exporting machine must not put a session
            // in the future, out of reach of clean and eviction.
            created_at: c.session.created_at.map(|t| t.min(Utc::now())),
            // An import is activity: a fresh import is neither cleaned nor
            // evicted at once because the file is old.
            updated_at: None,
        },
        title: match c.session.title {
            Some(t) => Some(
                crate::titles::check_title(&t).map_err(|e| bad(format!("session.title: {e}")))?,
            )
            .filter(|t| !t.is_empty()),
            // A file without one (Atmos's checkpoints): the title its first
            // exchange would have given it.
            None => first_exchange_title(&rows),
        },
        messages: rows.into_iter().map(|r| r.1).collect(),
    })
}
