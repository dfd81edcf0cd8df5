//! The wire format of the editor protocol: method and notification names,
//! the camelCase serde twins of the core's types, and the conversions between
//! them (`From` impls, rust-analyzer's `to_proto` / `from_proto` in one file).
//!
//! This is the only place where a field name of `PROTOCOL.md` is spelled. The
//! core's types never derive the wire format; a handler converts its params in
//! with these types, calls the core, and converts the result out.

use crate::errors;
use atmos_ai::{self as core, SessionKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::jsonrpc;

/// The `protocolVersion` announced in `capabilities.experimental.atmos`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The name announced in `serverInfo`.
pub const SERVER_NAME: &str = "atmos-ai";

/// Request names (client → server).
pub mod method {
    pub const SESSION_CREATE: &str = "atmos/session/create";
    pub const SESSION_RESUME: &str = "atmos/session/resume";
    pub const SESSION_MESSAGES: &str = "atmos/session/messages";
    pub const SESSION_LIST: &str = "atmos/session/list";
    pub const SESSION_RENAME: &str = "atmos/session/rename";
    pub const SESSION_UPDATE: &str = "atmos/session/update";
    pub const SESSION_DELETE: &str = "atmos/session/delete";
    pub const SESSION_CLEAN: &str = "atmos/session/clean";
    pub const SESSION_EXPORT: &str = "atmos/session/export";
    pub const SESSION_IMPORT: &str = "atmos/session/import";
    pub const SESSION_COMPACT: &str = "atmos/session/compact";
    pub const CHAT: &str = "atmos/chat";
    pub const PROVIDERS_LIST: &str = "atmos/providers/list";
    pub const SKILLS_LIST: &str = "atmos/skills/list";
    pub const STATUS: &str = "atmos/status";
}

/// Notification names (server → client).
pub mod notification {
    pub const SESSIONS_CHANGED: &str = "atmos/sessions/changed";
    pub const CHAT_DELTA: &str = "atmos/chat/delta";
    pub const COMPACT_STATUS: &str = "atmos/compact/status";
}

/// Every request this server answers, as announced in `initialize` (clients
/// feature-detect from this list, so a method is listed once it is served).
pub const METHODS: &[&str] = &[
    method::SESSION_CREATE,
    method::SESSION_RESUME,
    method::SESSION_MESSAGES,
    method::SESSION_LIST,
    method::SESSION_RENAME,
    method::SESSION_UPDATE,
    method::SESSION_DELETE,
    method::SESSION_CLEAN,
    method::SESSION_EXPORT,
    method::SESSION_IMPORT,
    method::SESSION_COMPACT,
    method::CHAT,
    method::PROVIDERS_LIST,
    method::SKILLS_LIST,
    method::STATUS,
];

/// Every notification this server sends, as announced in `initialize`.
pub const NOTIFICATIONS: &[&str] = &[
    notification::CHAT_DELTA,
    notification::COMPACT_STATUS,
    notification::SESSIONS_CHANGED,
];

// ---------------------------------------------------------------------------
// Params in.

/// Deserialises a request's params; a serde failure is -32602 naming the
/// offending field (its path, as `context[0].kind`), or `params` when the
/// params are not an object at all.
pub fn parse<T: serde::de::DeserializeOwned>(params: Value) -> jsonrpc::Result<T> {
    let not_object = !params.is_object();
    serde_path_to_error::deserialize::<_, T>(params).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if not_object {
            "params".to_string()
        } else if let Some(missing) = missing_field(&inner) {
            if path == "." {
                missing.to_string()
            } else {
                format!("{path}.{missing}")
            }
        } else if path == "." {
            "params".to_string()
        } else {
            path
        };
        errors::invalid_params(&field, format!("invalid params: {field}: {inner}"))
    })
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// The session a request targets: exactly one of `name` and `id`.
pub fn session_key(name: Option<String>, id: Option<String>) -> jsonrpc::Result<SessionKey> {
    match (name, id) {
        (Some(name), None) => Ok(SessionKey::Name(name)),
        (None, Some(id)) => Ok(SessionKey::Id(id)),
        (None, None) => Err(errors::invalid_params(
            "name",
            "give the session's name or its id: neither was given",
        )),
        (Some(_), Some(_)) => Err(errors::invalid_params(
            "name",
            "give the session's name or its id, not both",
        )),
    }
}

/// A wire message id (an opaque string) as the core's number.
pub fn message_id(field: &str, id: &str) -> jsonrpc::Result<i64> {
    id.parse().map_err(|_| {
        errors::invalid_params(
            field,
            format!("{field} {id:?} is not a message id from this server"),
        )
    })
}

/// Targets one session by name or by id (exactly one of them).
#[derive(Debug, Default, Deserialize)]
pub struct TargetParams {
    pub name: Option<String>,
    pub id: Option<String>,
}

impl TargetParams {
    pub fn key(self) -> jsonrpc::Result<SessionKey> {
        session_key(self.name, self.id)
    }
}

/// Methods without params take `{}` (and ignore what else is there).
#[derive(Debug, Default, Deserialize)]
pub struct NoParams {}

/// `atmos/session/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateParams {
    pub name: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub skill: Option<String>,
    pub metadata: Option<Value>,
}

impl From<CreateParams> for core::CreateOptions {
    fn from(p: CreateParams) -> Self {
        core::CreateOptions {
            name: p.name,
            provider: p.provider,
            model: p.model,
            skill: p.skill,
            metadata: p.metadata,
        }
    }
}

/// `atmos/session/resume`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeParams {
    pub name: Option<String>,
    pub id: Option<String>,
    pub create_if_missing: Option<bool>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub skill: Option<String>,
    pub limit: Option<u32>,
}

/// What `Sessions::resume` takes.
pub struct ResumeArgs {
    pub key: SessionKey,
    pub create_if_missing: bool,
    pub switch: core::UpdateOptions,
    pub limit: Option<u32>,
}

impl TryFrom<ResumeParams> for ResumeArgs {
    type Error = jsonrpc::Error;
    fn try_from(p: ResumeParams) -> jsonrpc::Result<ResumeArgs> {
        Ok(ResumeArgs {
            key: session_key(p.name, p.id)?,
            create_if_missing: p.create_if_missing.unwrap_or(false),
            switch: core::UpdateOptions {
                provider: p.provider,
                model: p.model,
                skill: p.skill,
                metadata: None,
            },
            limit: p.limit,
        })
    }
}

/// `atmos/session/messages`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesParams {
    pub name: Option<String>,
    pub id: Option<String>,
    pub before: Option<String>,
    pub limit: Option<u32>,
    pub include_archived: Option<bool>,
    pub include_summaries: Option<bool>,
}

/// The default page size of `atmos/session/messages`.
pub const DEFAULT_PAGE: u32 = 100;

impl TryFrom<MessagesParams> for (SessionKey, core::TranscriptQuery) {
    type Error = jsonrpc::Error;
    fn try_from(p: MessagesParams) -> jsonrpc::Result<Self> {
        let before = p
            .before
            .as_deref()
            .map(|b| message_id("before", b))
            .transpose()?;
        Ok((
            session_key(p.name, p.id)?,
            core::TranscriptQuery {
                before,
                limit: p.limit.unwrap_or(DEFAULT_PAGE),
                include_archived: p.include_archived.unwrap_or(true),
                include_summaries: p.include_summaries.unwrap_or(false),
            },
        ))
    }
}

/// `atmos/session/list` (params may be omitted).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub provider: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    pub query: Option<String>,
}

impl From<ListParams> for core::ListFilter {
    fn from(p: ListParams) -> Self {
        core::ListFilter {
            provider: p.provider,
            query: p.query.filter(|q| !q.is_empty()),
            limit: p.limit,
            offset: p.offset.unwrap_or(0),
        }
    }
}

/// `atmos/session/rename`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenameParams {
    pub name: Option<String>,
    pub id: Option<String>,
    pub new_name: String,
}

/// `atmos/session/update`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateParams {
    pub name: Option<String>,
    pub id: Option<String>,
    pub skill: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub metadata: Option<Value>,
}

impl TryFrom<UpdateParams> for (SessionKey, core::UpdateOptions) {
    type Error = jsonrpc::Error;
    fn try_from(p: UpdateParams) -> jsonrpc::Result<Self> {
        Ok((
            session_key(p.name, p.id)?,
            core::UpdateOptions {
                provider: p.provider,
                model: p.model,
                skill: p.skill,
                metadata: p.metadata,
            },
        ))
    }
}

/// `atmos/session/clean`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanParams {
    /// Any JSON scalar: `30` (a number) is answered 1008 like `"30"`.
    pub older_than: Value,
    pub dry_run: Option<bool>,
}

impl CleanParams {
    /// The age as the text the duration rule judges (a number or a boolean
    /// as written; an absent or structured value is empty, hence invalid).
    pub fn older_than_text(&self) -> String {
        match &self.older_than {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        }
    }
}

/// `atmos/session/export`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportParams {
    pub name: Option<String>,
    pub id: Option<String>,
    pub format: String,
}

impl TryFrom<ExportParams> for (SessionKey, core::Format) {
    type Error = jsonrpc::Error;
    fn try_from(p: ExportParams) -> jsonrpc::Result<Self> {
        let format = p.format.parse::<core::Format>().map_err(errors::to_rpc)?;
        Ok((session_key(p.name, p.id)?, format))
    }
}

/// `atmos/session/import`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportParams {
    pub content: String,
    pub format: Option<String>,
    pub name: Option<String>,
}

/// What `Sessions::import` takes.
pub struct ImportArgs {
    pub content: String,
    pub format: Option<core::Format>,
    pub name: Option<String>,
}

impl TryFrom<ImportParams> for ImportArgs {
    type Error = jsonrpc::Error;
    fn try_from(p: ImportParams) -> jsonrpc::Result<ImportArgs> {
        let format = p
            .format
            .map(|f| f.parse::<core::Format>())
            .transpose()
            .map_err(errors::to_rpc)?;
        Ok(ImportArgs {
            content: p.content,
            format,
            name: p.name,
        })
    }
}

/// `ContextRef`: what the editor attaches to a message.
#[derive(Debug, Clone, Deserialize)]
pub struct ContextRef {
    pub kind: ContextKind,
    pub uri: Option<String>,
    pub range: Option<Value>,
    pub text: String,
}

/// `ContextRef.kind`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    File,
    Selection,
    Text,
}

impl From<ContextRef> for core::ContextRef {
    fn from(c: ContextRef) -> Self {
        core::ContextRef {
            kind: match c.kind {
                ContextKind::File => core::ContextKind::File,
                ContextKind::Selection => core::ContextKind::Selection,
                ContextKind::Text => core::ContextKind::Text,
            },
            uri: c.uri,
            range: c.range,
            text: c.text,
        }
    }
}

/// `atmos/chat`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatParams {
    pub name: Option<String>,
    pub id: Option<String>,
    pub message: String,
    #[serde(default)]
    pub context: Vec<ContextRef>,
    pub stream: Option<bool>,
    pub token: Option<Value>,
}

/// A chat turn to run: what the core takes, and how to report it.
#[derive(Debug)]
pub struct ChatArgs {
    pub turn: core::chat::TurnRequest,
    /// Send `atmos/chat/delta` notifications.
    pub stream: bool,
    /// Echoed in each delta.
    pub token: Option<Value>,
}

impl TryFrom<ChatParams> for ChatArgs {
    type Error = jsonrpc::Error;
    fn try_from(p: ChatParams) -> jsonrpc::Result<ChatArgs> {
        if let Some(token) = &p.token
            && !(token.is_string() || token.is_number())
        {
            return Err(errors::invalid_params(
                "token",
                "token must be a string or a number",
            ));
        }
        Ok(ChatArgs {
            turn: core::chat::TurnRequest {
                key: session_key(p.name, p.id)?,
                message: p.message,
                context: p.context.into_iter().map(core::ContextRef::from).collect(),
                stream: true,
            },
            stream: p.stream.unwrap_or(true),
            token: p.token,
        })
    }
}

// ---------------------------------------------------------------------------
// Results out.

/// RFC 3339 in UTC, to the second (`2026-11-24T03:49:43Z`).
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `Session`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub model: String,
    pub skill: String,
    pub created_at: String,
    pub updated_at: String,
    pub message_count: u64,
    pub archived_count: u64,
    pub summary_count: u64,
    pub metadata: Value,
}

impl From<core::Session> for Session {
    fn from(s: core::Session) -> Self {
        Session {
            id: s.id,
            name: s.name,
            provider: s.provider,
            model: s.model,
            skill: s.skill,
            created_at: time(s.created_at),
            updated_at: time(s.updated_at),
            message_count: s.message_count,
            archived_count: s.archived_count,
            summary_count: s.summary_count,
            metadata: s.metadata,
        }
    }
}

/// A `Session` of a listing, with the `snippet` where a query matched text.
#[derive(Debug, Clone, Serialize)]
pub struct ListedSession {
    #[serde(flatten)]
    pub session: Session,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

impl From<core::Listed> for ListedSession {
    fn from(l: core::Listed) -> Self {
        ListedSession {
            session: l.session.into(),
            snippet: l.snippet,
        }
    }
}

/// `Message`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub role: &'static str,
    pub content: String,
    pub created_at: String,
    pub archived: bool,
    pub is_summary: bool,
    pub interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary_range: Option<SummaryRange>,
}

/// `summaryRange`: the first and last message a summary replaces.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRange {
    pub from: String,
    pub to: String,
}

impl From<core::Message> for Message {
    fn from(m: core::Message) -> Self {
        Message {
            id: m.id.to_string(),
            role: m.role.as_str(),
            content: m.content,
            created_at: time(m.created_at),
            archived: m.archived,
            is_summary: m.is_summary,
            interrupted: m.interrupted,
            summary_range: m.summary_range.map(|(from, to)| SummaryRange {
                from: from.to_string(),
                to: to.to_string(),
            }),
        }
    }
}

/// `Usage`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub estimated: bool,
}

impl From<core::TokenUsage> for Usage {
    fn from(u: core::TokenUsage) -> Self {
        Usage {
            input_tokens: u.input,
            output_tokens: u.output,
            estimated: u.estimated,
        }
    }
}

/// `CompactionResult`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionResult {
    pub compacted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Message>,
    pub archived_ids: Vec<String>,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub used_ai: bool,
    /// Why an AI summary was wanted but the plain one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

impl From<core::compact::CompactionResult> for CompactionResult {
    fn from(r: core::compact::CompactionResult) -> Self {
        CompactionResult {
            compacted: r.compacted,
            summary: r.summary.map(Message::from),
            archived_ids: r.archived_ids.iter().map(i64::to_string).collect(),
            tokens_before: r.tokens_before,
            tokens_after: r.tokens_after,
            used_ai: r.used_ai,
            fallback_reason: r.fallback_reason,
        }
    }
}

/// The result of `atmos/chat`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatResult {
    pub session_id: String,
    pub reply: Message,
    pub usage: Usage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compaction: Option<CompactionResult>,
}

/// The result of `atmos/session/create` and `atmos/session/import`.
#[derive(Debug, Serialize)]
pub struct CreatedResult {
    pub session: Session,
    pub evicted: Vec<String>,
}

impl From<(core::Session, Vec<String>)> for CreatedResult {
    fn from((session, evicted): (core::Session, Vec<String>)) -> Self {
        CreatedResult {
            session: session.into(),
            evicted,
        }
    }
}

/// The result of `atmos/session/resume`.
#[derive(Debug, Serialize)]
pub struct ResumeResult {
    pub session: Session,
    pub messages: Vec<Message>,
    pub created: bool,
    pub evicted: Vec<String>,
}

impl From<core::Resumed> for ResumeResult {
    fn from(r: core::Resumed) -> Self {
        ResumeResult {
            session: r.session.into(),
            messages: r.messages.into_iter().map(Message::from).collect(),
            created: r.created,
            evicted: r.evicted,
        }
    }
}

/// The result of `atmos/session/messages`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesResult {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

impl From<core::TranscriptPage> for MessagesResult {
    fn from(p: core::TranscriptPage) -> Self {
        MessagesResult {
            messages: p.messages.into_iter().map(Message::from).collect(),
            has_more: p.has_more,
        }
    }
}

/// The result of `atmos/session/list`.
#[derive(Debug, Serialize)]
pub struct ListResult {
    pub sessions: Vec<ListedSession>,
    pub total: u64,
}

impl From<(Vec<core::Listed>, u64)> for ListResult {
    fn from((listed, total): (Vec<core::Listed>, u64)) -> Self {
        ListResult {
            sessions: listed.into_iter().map(ListedSession::from).collect(),
            total,
        }
    }
}

/// The result of `atmos/session/delete`.
#[derive(Debug, Serialize)]
pub struct DeleteResult {
    pub deleted: bool,
}

/// The result of `atmos/session/clean`.
#[derive(Debug, Serialize)]
pub struct CleanResult {
    pub deleted: Vec<String>,
    pub count: usize,
}

impl From<&[core::Session]> for CleanResult {
    fn from(sessions: &[core::Session]) -> Self {
        CleanResult {
            deleted: sessions.iter().map(|s| s.name.clone()).collect(),
            count: sessions.len(),
        }
    }
}

/// The result of `atmos/session/export`.
#[derive(Debug, Serialize)]
pub struct ExportResult {
    pub content: String,
}

/// The result of `atmos/providers/list`.
#[derive(Debug, Serialize)]
pub struct ProvidersResult {
    pub default: String,
    pub providers: Vec<Provider>,
}

/// One provider of `atmos/providers/list`.
#[derive(Debug, Serialize)]
pub struct Provider {
    pub name: String,
    pub model: String,
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<core::catalog::ProviderEntry> for Provider {
    fn from(e: core::catalog::ProviderEntry) -> Self {
        Provider {
            configured: e.credentials.is_ok(),
            reason: e.credentials.err().map(|var| format!("{var} is not set")),
            name: e.name,
            model: e.model,
        }
    }
}

impl
    From<(
        core::catalog::ProviderEntry,
        Vec<core::catalog::ProviderEntry>,
    )> for ProvidersResult
{
    fn from(
        (default, all): (
            core::catalog::ProviderEntry,
            Vec<core::catalog::ProviderEntry>,
        ),
    ) -> Self {
        ProvidersResult {
            default: default.name,
            providers: all.into_iter().map(Provider::from).collect(),
        }
    }
}

/// The result of `atmos/skills/list`.
#[derive(Debug, Serialize)]
pub struct SkillsResult {
    pub default: String,
    pub skills: Vec<Skill>,
}

/// One skill of `atmos/skills/list`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    pub name: String,
    pub display_name: String,
    pub description: String,
}

impl From<&core::skills::Skills> for SkillsResult {
    fn from(skills: &core::skills::Skills) -> Self {
        SkillsResult {
            default: skills.default_name().to_string(),
            skills: skills
                .iter()
                .map(|s| Skill {
                    name: s.name.clone(),
                    display_name: s.display_name.clone(),
                    description: s.description.clone(),
                })
                .collect(),
        }
    }
}

/// The result of `atmos/status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    pub project_root: String,
    pub config_path: Option<String>,
    pub database_path: String,
    pub sessions_enabled: bool,
    pub session_count: u64,
    pub schema_version: u32,
}

impl From<core::Status> for StatusResult {
    fn from(s: core::Status) -> Self {
        StatusResult {
            project_root: s.project_root.display().to_string(),
            config_path: s.config_path.map(|p| p.display().to_string()),
            database_path: s.database_path.display().to_string(),
            sessions_enabled: s.sessions_enabled,
            session_count: s.session_count,
            schema_version: s.schema_version,
        }
    }
}

// ---------------------------------------------------------------------------
// Notifications.

/// Why the session list changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeReason {
    Created,
    Renamed,
    Deleted,
    Updated,
    Cleaned,
    Imported,
    Evicted,
    Chat,
}

/// The params of `atmos/sessions/changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsChangedParams {
    pub reason: ChangeReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl SessionsChangedParams {
    /// A change to this session.
    pub fn of(reason: ChangeReason, session: &core::Session) -> Self {
        SessionsChangedParams {
            reason,
            session_id: Some(session.id.clone()),
            name: Some(session.name.clone()),
        }
    }

    /// A session that is gone and known by name only (evicted).
    pub fn named(reason: ChangeReason, name: &str) -> Self {
        SessionsChangedParams {
            reason,
            session_id: None,
            name: Some(name.to_string()),
        }
    }
}

/// The params of `atmos/chat/delta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatDeltaParams {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Value>,
    pub index: u64,
    pub text: String,
}

/// `atmos/chat/delta`.
pub enum ChatDelta {}

impl tower_lsp_server::ls_types::notification::Notification for ChatDelta {
    type Params = ChatDeltaParams;
    const METHOD: &'static str = notification::CHAT_DELTA;
}

/// The params of `atmos/compact/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactStatusParams {
    pub session_id: String,
    pub stage: String,
    pub message_count: usize,
    pub estimated_savings: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<core::compact::CompactionEvent> for CompactStatusParams {
    fn from(e: core::compact::CompactionEvent) -> Self {
        CompactStatusParams {
            session_id: e.session_id,
            stage: e.stage.as_str().to_string(),
            message_count: e.message_count,
            estimated_savings: e.estimated_savings,
            error: e.error,
        }
    }
}

/// `atmos/compact/status`.
pub enum CompactStatus {}

impl tower_lsp_server::ls_types::notification::Notification for CompactStatus {
    type Params = CompactStatusParams;
    const METHOD: &'static str = notification::COMPACT_STATUS;
}

/// `atmos/sessions/changed`.
pub enum SessionsChanged {}

impl tower_lsp_server::ls_types::notification::Notification for SessionsChanged {
    type Params = SessionsChangedParams;
    const METHOD: &'static str = notification::SESSIONS_CHANGED;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(v: Value) -> Value {
        let e = parse::<T>(v).unwrap_err();
        assert_eq!(e.code.code(), -32602);
        e.data.unwrap()["field"].clone()
    }

    #[test]
    fn bad_params_name_their_field() {
        let cases: [(Value, &str); 6] = [
            (json!({"name": 5}), "name"),
            (json!({"newName": "x", "name": ["a"]}), "name"),
            (json!({"name": "a"}), "newName"),
            (json!("rename me"), "params"),
            (json!([1, 2]), "params"),
            (json!({"newName": 1}), "newName"),
        ];
        for (params, field) in cases {
            assert_eq!(
                field_of::<RenameParams>(params.clone()),
                json!(field),
                "{params}"
            );
        }
        assert_eq!(
            field_of::<ResumeParams>(json!({"name": "a", "limit": -1})),
            json!("limit")
        );
        assert_eq!(
            field_of::<ResumeParams>(json!({"name": "a", "createIfMissing": "yes"})),
            json!("createIfMissing")
        );
        assert_eq!(field_of::<CleanParams>(json!({})), json!("olderThan"));
    }

    #[test]
    fn exactly_one_of_name_and_id() {
        assert_eq!(
            session_key(Some("a".into()), None).unwrap(),
            SessionKey::Name("a".into())
        );
        assert_eq!(
            session_key(None, Some("i".into())).unwrap(),
            SessionKey::Id("i".into())
        );
        for (name, id) in [(None, None), (Some("a".to_string()), Some("i".to_string()))] {
            let e = session_key(name, id).unwrap_err();
            assert_eq!(e.code.code(), -32602);
            assert_eq!(e.data.unwrap(), json!({"field": "name"}));
        }
    }

    #[test]
    fn message_ids_are_strings_on_the_wire() {
        let m = core::Message {
            id: 42,
            session_id: "s".into(),
            role: core::Role::System,
            content: "summary".into(),
            created_at: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
            archived: false,
            interrupted: false,
            is_summary: true,
            summary_range: Some((3, 9)),
            usage: None,
            tokens_before: None,
            tokens_after: None,
            context: Vec::new(),
        };
        let v = serde_json::to_value(Message::from(m)).unwrap();
        assert_eq!(
            v,
            json!({"id": "42", "role": "system", "content": "summary", "createdAt": "2026-11-18T11:06:40Z",
                   "archived": false, "isSummary": true, "interrupted": false,
                   "summaryRange": {"from": "3", "to": "9"}})
        );
        assert!(message_id("before", "x1").is_err());
    }

    #[test]
    fn names_are_listed_once() {
        let mut all: Vec<_> = METHODS.iter().chain(NOTIFICATIONS).collect();
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
