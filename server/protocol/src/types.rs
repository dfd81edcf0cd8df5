//! The wire types: every params and result object of `docs/protocol.md`,
//! with its camelCase spelling. Optional params are left out when `None`;
//! message and session ids are opaque strings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Params.

/// Targets one session: exactly one of `name` and `id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Methods without params take `{}` (and ignore what else is there).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoParams {}

/// `atmos/session/create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateParams {
    /// Left out: an anonymous name like `chat-20261124-034943`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// A JSON object kept with the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `atmos/session/resume`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResumeParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Create the session (by `name`) when there is none. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_if_missing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// At most this many of the newest active messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `atmos/session/messages`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagesParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A message id: the page ends just before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_archived: Option<bool>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_summaries: Option<bool>,
}

/// The default page size of `atmos/session/messages`.
pub const DEFAULT_PAGE: u32 = 100;

/// `atmos/session/list` (params may be omitted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Case-insensitive substring of a name or of any message's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// `atmos/session/rename`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenameParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub new_name: String,
}

/// `atmos/session/fork`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForkParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The id of the message to fork at (it included); default the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The fork's name; default `NAME-fork` (then `-fork-2`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
}

/// `atmos/session/uncompact`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UncompactParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The summary to undo; default the live one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_id: Option<String>,
}

/// The result of `atmos/session/uncompact`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UncompactResult {
    pub session: Session,
    /// The ids of the messages active again, oldest first.
    pub restored: Vec<String>,
}

/// `atmos/session/update`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// A new provider without a model takes that provider's model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The session's title; `""` clears it (no title is made for it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `atmos/session/pin`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PinParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The message to pin (not a summary).
    pub message_id: String,
    /// False unpins; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
}

/// The result of `atmos/session/pin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PinResult {
    pub session: Session,
    pub message: Message,
}

/// `atmos/session/subscribe`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The newest message id the client shows: newer messages are sent at
    /// once in an `atmos/session/updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The result of `atmos/session/subscribe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeResult {
    pub session: Session,
    /// Another process holds the session's turn (a reply is being written
    /// elsewhere).
    pub replying_elsewhere: bool,
}

/// The result of `atmos/session/unsubscribe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnsubscribeResult {
    /// False when the session was not followed.
    pub unsubscribed: bool,
}

/// `atmos/backup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BackupParams {
    /// Where to write it; default
    /// `.atmos/sessions/backups/sessions-YYYYMMDD-HHMMSS.db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The result of `atmos/backup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BackupResult {
    /// The file written (absolute).
    pub path: String,
    pub bytes: u64,
}

/// The params of `atmos/session/updated`: what another process changed in
/// a followed session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionUpdatedParams {
    pub session_id: String,
    pub session: Session,
    /// New or changed messages (summaries included), oldest first; one
    /// whose id the client shows replaces it (a reply streaming elsewhere
    /// comes again with more text, `interrupted` until it is complete).
    pub messages: Vec<Message>,
    /// Another process holds the session's turn.
    pub replying_elsewhere: bool,
    /// The history was rewritten elsewhere (a compaction, an uncompaction, a
    /// retry, a pin): read it again with `atmos/session/messages`.
    pub reload: bool,
}

/// `atmos/session/clean`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanParams {
    /// `30d`, `12h`, `2w`, `6m`; `0d`: all. Any JSON scalar is judged as
    /// written (`30` is invalid like `"30"`).
    pub older_than: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

impl CleanParams {
    /// The age as the text the duration rule judges (a number or a boolean
    /// as written; a structured value is empty, hence invalid).
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `json`, `yaml` or `markdown`.
    pub format: String,
}

/// `atmos/session/import`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportParams {
    pub content: String,
    /// Left out: read from the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Left out: the exported name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the editor attaches to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContextRef {
    pub kind: ContextKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// An LSP range, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Value>,
    pub text: String,
}

/// `ContextRef.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    File,
    Selection,
    Text,
}

/// `atmos/chat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ContextRef>,
    /// Send `atmos/chat/delta` notifications. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// A string or a number, echoed in each delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Value>,
    /// Ask the session's last question again (`message` is ignored; "" is
    /// fine): its reply, if any, is archived (kept, no longer sent) and a
    /// new one is asked for. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<bool>,
}

// ---------------------------------------------------------------------------
// Results.

/// A session, with the counters kept on its row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub model: String,
    pub skill: String,
    /// RFC 3339, UTC, to the second.
    pub created_at: String,
    /// RFC 3339, UTC, to the second: the last activity.
    pub updated_at: String,
    /// Messages stored (archived ones included, summaries not).
    pub message_count: u64,
    pub archived_count: u64,
    pub summary_count: u64,
    /// Always a JSON object (the server refuses any other metadata).
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub metadata: Value,
    /// For a fork: where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkedFrom>,
    /// Tokens its turns sent and received, as the providers reported them
    /// (estimated when they did not). Their cost: `atmos/providers/list`
    /// gives each provider's `pricing` when atmos.yaml sets it.
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    /// A short title, made from the first exchange (the first line of the
    /// question, or an AI title when `use_ai_summary` is on) or set by the
    /// user. Shown next to the name, never instead of it. Left out until
    /// the first exchange, and when the user cleared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Where a fork came from: the origin's name when it was forked, and the id
/// of the message it was forked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForkedFrom {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// A session of a listing, with the `snippet` where a query matched text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListedSession {
    #[serde(flatten)]
    pub session: Session,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// Who wrote a message (`system`: a summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub role: Role,
    pub content: String,
    pub created_at: String,
    /// Replaced by a summary for the model; still in the transcript.
    pub archived: bool,
    pub is_summary: bool,
    /// A reply cut short (cancelled, or the provider failed mid-stream).
    pub interrupted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_range: Option<SummaryRange>,
    /// Present (and true) on a pinned message: never compacted, always sent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pinned: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The first and last message a summary replaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryRange {
    pub from: String,
    pub to: String,
}

/// Tokens of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The provider reported none: estimated at four bytes a token.
    pub estimated: bool,
}

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompactionResult {
    pub compacted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Message>,
    pub archived_ids: Vec<String>,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub used_ai: bool,
    /// Why an AI summary was wanted but the plain one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// The result of `atmos/chat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatResult {
    pub session_id: String,
    pub reply: Message,
    pub usage: Usage,
    /// The compaction this turn triggered, when it compacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compaction: Option<CompactionResult>,
    /// How many secrets were masked in the message before it was stored or
    /// sent (`ai.sessions.redact`); absent when none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<usize>,
}

/// The result of `atmos/session/create` and `atmos/session/import`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedResult {
    pub session: Session,
    /// Sessions removed to stay within `max_sessions`.
    pub evicted: Vec<String>,
}

/// The result of `atmos/session/resume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResumeResult {
    pub session: Session,
    /// The active history: summaries, then the newest messages.
    pub messages: Vec<Message>,
    pub created: bool,
    pub evicted: Vec<String>,
}

/// The result of `atmos/session/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagesResult {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

/// The result of `atmos/session/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListResult {
    pub sessions: Vec<ListedSession>,
    /// How many match in all (beyond `limit`).
    pub total: u64,
}

/// The result of `atmos/session/delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteResult {
    pub deleted: bool,
}

/// The result of `atmos/session/clean`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CleanResult {
    /// The names of the sessions deleted (or, with `dryRun`, that would be).
    pub deleted: Vec<String>,
    pub count: usize,
}

/// The result of `atmos/session/export`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExportResult {
    pub content: String,
}

/// The result of `atmos/providers/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProvidersResult {
    pub default: String,
    pub providers: Vec<Provider>,
}

/// One provider of `atmos/providers/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Provider {
    pub name: String,
    pub model: String,
    /// Its credentials are set (or it needs none).
    pub configured: bool,
    /// What is missing, when not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Prices per million tokens, when atmos.yaml gives them
    /// (`ai.providers.NAME.pricing`): a session's cost is
    /// `(inputTokens × input + outputTokens × output) / 1,000,000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
}

/// Prices per million tokens, in the currency atmos.yaml uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pricing {
    pub input: f64,
    pub output: f64,
}

/// The result of `atmos/skills/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SkillsResult {
    pub default: String,
    pub skills: Vec<Skill>,
}

/// One skill of `atmos/skills/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    pub name: String,
    pub display_name: String,
    pub description: String,
}

/// The result of `atmos/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    pub project_root: String,
    /// `null`: no atmos.yaml was found.
    #[schemars(required)]
    pub config_path: Option<String>,
    pub database_path: String,
    pub sessions_enabled: bool,
    pub session_count: u64,
    pub schema_version: u32,
}

// ---------------------------------------------------------------------------
// Notifications.

/// Why the session list changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionsChangedParams {
    pub reason: ChangeReason,
    /// Left out for a session known by name only (evicted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The params of `atmos/chat/delta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatDeltaParams {
    pub session_id: String,
    /// The request's `token`, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Value>,
    /// From 0, in order.
    pub index: u64,
    pub text: String,
}

/// A stage of a compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompactStage {
    Starting,
    Summarizing,
    Completed,
    Failed,
}

/// The params of `atmos/compact/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompactStatusParams {
    pub session_id: String,
    pub stage: CompactStage,
    pub message_count: usize,
    pub estimated_savings: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
