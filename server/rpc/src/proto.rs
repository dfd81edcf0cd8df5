//! The editor protocol's types (`atmos-protocol`, declared once) and the
//! conversions between them and the core's (rust-analyzer's `to_proto` /
//! `from_proto` in one file): params in (parse, then into what the core
//! takes), results out ([`ToWire`]).
//!
//! No field name of `PROTOCOL.md` is spelled here: the wire types spell
//! them, in `server/protocol`.

use crate::errors;
use atmos_ai::{self as core, SessionKey};
pub use atmos_protocol::*;
use serde_json::Value;
use tower_lsp_server::jsonrpc;

/// A protocol notification as tower-lsp-server's, so that `Client` can send
/// it: `client.send_notification::<Notify<ChatDelta>>(params)`.
pub struct Notify<N>(std::marker::PhantomData<N>);

impl<N> tower_lsp_server::ls_types::notification::Notification for Notify<N>
where
    N: atmos_protocol::Notification,
    N::Params: Send + Sync + 'static,
{
    type Params = N::Params;
    const METHOD: &'static str = N::METHOD;
}

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

/// The session a `TargetParams` names.
pub fn target(p: TargetParams) -> jsonrpc::Result<SessionKey> {
    session_key(p.name, p.id)
}

pub fn create_options(p: CreateParams) -> core::CreateOptions {
    core::CreateOptions {
        name: p.name,
        provider: p.provider,
        model: p.model,
        skill: p.skill,
        metadata: p.metadata,
    }
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
                title: None,
            },
            limit: p.limit,
        })
    }
}

pub fn transcript_query(p: MessagesParams) -> jsonrpc::Result<(SessionKey, core::TranscriptQuery)> {
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

pub fn list_filter(p: ListParams) -> core::ListFilter {
    core::ListFilter {
        provider: p.provider,
        query: p.query.filter(|q| !q.is_empty()),
        limit: p.limit,
        offset: p.offset.unwrap_or(0),
    }
}

pub fn update_options(p: UpdateParams) -> jsonrpc::Result<(SessionKey, core::UpdateOptions)> {
    Ok((
        session_key(p.name, p.id)?,
        core::UpdateOptions {
            provider: p.provider,
            model: p.model,
            skill: p.skill,
            metadata: p.metadata,
            title: p.title,
        },
    ))
}

pub fn export_args(p: ExportParams) -> jsonrpc::Result<(SessionKey, core::Format)> {
    let format = p.format.parse::<core::Format>().map_err(errors::to_rpc)?;
    Ok((session_key(p.name, p.id)?, format))
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

fn context_ref(c: ContextRef) -> core::ContextRef {
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
                context: p.context.into_iter().map(context_ref).collect(),
                stream: true,
                retry: p.retry.unwrap_or(false),
            },
            stream: p.stream.unwrap_or(true),
            token: p.token,
        })
    }
}

// ---------------------------------------------------------------------------
// Results out.

/// A core value as its wire type. (Sessions, messages and usage convert
/// with `From`, in `atmos-protocol`'s `store` feature, which the CLI shares.)
pub trait ToWire {
    type Wire;
    fn to_wire(self) -> Self::Wire;
}

impl ToWire for core::compact::CompactionResult {
    type Wire = CompactionResult;
    fn to_wire(self) -> CompactionResult {
        CompactionResult {
            compacted: self.compacted,
            summary: self.summary.map(Message::from),
            archived_ids: self.archived_ids.iter().map(i64::to_string).collect(),
            tokens_before: self.tokens_before,
            tokens_after: self.tokens_after,
            used_ai: self.used_ai,
            fallback_reason: self.fallback_reason,
        }
    }
}

impl ToWire for (core::Session, Vec<String>) {
    type Wire = CreatedResult;
    fn to_wire(self) -> CreatedResult {
        CreatedResult {
            session: self.0.into(),
            evicted: self.1,
        }
    }
}

impl ToWire for core::Resumed {
    type Wire = ResumeResult;
    fn to_wire(self) -> ResumeResult {
        ResumeResult {
            session: self.session.into(),
            messages: self.messages.into_iter().map(Message::from).collect(),
            created: self.created,
            evicted: self.evicted,
        }
    }
}

impl ToWire for core::TranscriptPage {
    type Wire = MessagesResult;
    fn to_wire(self) -> MessagesResult {
        MessagesResult {
            messages: self.messages.into_iter().map(Message::from).collect(),
            has_more: self.has_more,
        }
    }
}

impl ToWire for (Vec<core::Listed>, u64) {
    type Wire = ListResult;
    fn to_wire(self) -> ListResult {
        ListResult {
            sessions: self.0.into_iter().map(ListedSession::from).collect(),
            total: self.1,
        }
    }
}

impl ToWire for &[core::Session] {
    type Wire = CleanResult;
    fn to_wire(self) -> CleanResult {
        CleanResult {
            deleted: self.iter().map(|s| s.name.clone()).collect(),
            count: self.len(),
        }
    }
}

impl ToWire for core::catalog::ProviderEntry {
    type Wire = Provider;
    fn to_wire(self) -> Provider {
        Provider {
            configured: self.credentials.is_ok(),
            reason: self
                .credentials
                .err()
                .map(|var| format!("{var} is not set")),
            name: self.name,
            model: self.model,
            pricing: self.pricing.map(|p| atmos_protocol::Pricing {
                input: p.input,
                output: p.output,
            }),
        }
    }
}

impl ToWire
    for (
        core::catalog::ProviderEntry,
        Vec<core::catalog::ProviderEntry>,
    )
{
    type Wire = ProvidersResult;
    fn to_wire(self) -> ProvidersResult {
        ProvidersResult {
            default: self.0.name,
            providers: self.1.into_iter().map(ToWire::to_wire).collect(),
        }
    }
}

impl ToWire for &core::skills::Skills {
    type Wire = SkillsResult;
    fn to_wire(self) -> SkillsResult {
        SkillsResult {
            default: self.default_name().to_string(),
            skills: self
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

impl ToWire for core::Status {
    type Wire = StatusResult;
    fn to_wire(self) -> StatusResult {
        StatusResult {
            project_root: self.project_root.display().to_string(),
            config_path: self.config_path.map(|p| p.display().to_string()),
            database_path: self.database_path.display().to_string(),
            sessions_enabled: self.sessions_enabled,
            session_count: self.session_count,
            schema_version: self.schema_version,
        }
    }
}

impl ToWire for core::compact::CompactionEvent {
    type Wire = CompactStatusParams;
    fn to_wire(self) -> CompactStatusParams {
        CompactStatusParams {
            session_id: self.session_id,
            stage: match self.stage {
                core::compact::Stage::Starting => CompactStage::Starting,
                core::compact::Stage::Summarizing => CompactStage::Summarizing,
                core::compact::Stage::Completed => CompactStage::Completed,
                core::compact::Stage::Failed => CompactStage::Failed,
            },
            message_count: self.message_count,
            estimated_savings: self.estimated_savings,
            error: self.error,
        }
    }
}

/// `atmos/sessions/changed` about a session.
pub fn changed(reason: ChangeReason, session: &core::Session) -> SessionsChangedParams {
    SessionsChangedParams {
        reason,
        session_id: Some(session.id.clone()),
        name: Some(session.name.clone()),
    }
}

/// `atmos/sessions/changed` about a session that is gone and known by name
/// only (evicted).
pub fn changed_named(reason: ChangeReason, name: &str) -> SessionsChangedParams {
    SessionsChangedParams {
        reason,
        session_id: None,
        name: Some(name.to_string()),
    }
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
            pinned: false,
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
}
