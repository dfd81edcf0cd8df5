//! Every request and notification: name, params and result in one line.

use crate::types::*;
use crate::{Notification, PROTOCOL_VERSION, Request};
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

macro_rules! requests {
    ($( $(#[$doc:meta])* $ty:ident = $name:literal, $params:ty => $result:ty; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $ty {}

            impl Request for $ty {
                const METHOD: &'static str = $name;
                type Params = $params;
                type Result = $result;
            }
        )*

        /// Every request the server answers, in the order of `docs/protocol.md`
        /// (clients feature-detect from this list in `initialize`).
        pub const METHODS: &[&str] = &[$($name),*];

        /// Whether a request's params (and its result, when given) are what
        /// the method declares: each parses into the declared type, the
        /// params carry no field it does not know, and the result is exactly
        /// the declared type serialised (nothing more, nothing missing).
        /// `Ok(false)` for a method that is not declared here.
        pub fn conforms(method: &str, params: &Value, result: Option<&Value>) -> Result<bool, String> {
            $(
                if method == $name {
                    only_known_fields::<$params>(params).map_err(|e| format!("{method} params: {e}"))?;
                    if let Some(result) = result {
                        round_trips::<$result>(result).map_err(|e| format!("{method} result: {e}"))?;
                    }
                    return Ok(true);
                }
            )*
            Ok(false)
        }

        fn request_schemas(generator: &mut SchemaGenerator) -> Map<String, Value> {
            let mut out = Map::new();
            $(
                out.insert($name.to_string(), json!({
                    "params": generator.subschema_for::<$params>(),
                    "result": generator.subschema_for::<$result>(),
                }));
            )*
            out
        }
    };
}

macro_rules! notifications {
    ($( $(#[$doc:meta])* $ty:ident = $name:literal, $params:ty; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $ty {}

            impl Notification for $ty {
                const METHOD: &'static str = $name;
                type Params = $params;
            }
        )*

        /// Every notification the server sends.
        pub const NOTIFICATIONS: &[&str] = &[$($name),*];

        /// Whether a notification's params are exactly what it declares.
        /// `Ok(false)` for a notification that is not declared here.
        pub fn notification_conforms(method: &str, params: &Value) -> Result<bool, String> {
            $(
                if method == $name {
                    round_trips::<$params>(params).map_err(|e| format!("{method} params: {e}"))?;
                    return Ok(true);
                }
            )*
            Ok(false)
        }

        fn notification_schemas(generator: &mut SchemaGenerator) -> Map<String, Value> {
            let mut out = Map::new();
            $(
                out.insert($name.to_string(), json!({
                    "params": generator.subschema_for::<$params>(),
                }));
            )*
            out
        }
    };
}

/// `value` parses as `T`, and `T` serialises back to exactly `value`.
fn round_trips<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: &Value,
) -> Result<(), String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if &back != value {
        return Err(format!(
            "{value} is not what the declared type says: {back}"
        ));
    }
    Ok(())
}

/// `value` parses as `T`, and every field it has (other than `null` or an
/// empty list, which mean "not given") is one `T` knows.
fn only_known_fields<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: &Value,
) -> Result<(), String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if let (Some(given), Some(known)) = (value.as_object(), back.as_object()) {
        for (key, v) in given {
            let empty = v.is_null() || v.as_array().is_some_and(Vec::is_empty);
            if !empty && !known.contains_key(key) {
                return Err(format!("unknown field `{key}`"));
            }
        }
    }
    Ok(())
}

requests! {
    /// Creates a named or anonymous session.
    SessionCreate = "atmos/session/create", CreateParams => CreatedResult;
    /// Resumes a session (creating it when asked), with its active history.
    SessionResume = "atmos/session/resume", ResumeParams => ResumeResult;
    /// A page of a session's transcript, newest last.
    SessionMessages = "atmos/session/messages", MessagesParams => MessagesResult;
    /// Sessions, most recently active first, with the total.
    SessionList = "atmos/session/list", ListParams => ListResult;
    /// Renames a session.
    SessionRename = "atmos/session/rename", RenameParams => Session;
    /// A new session with another's history up to one message.
    SessionFork = "atmos/session/fork", ForkParams => CreatedResult;
    /// Switches a session's skill, provider, model or metadata.
    SessionUpdate = "atmos/session/update", UpdateParams => Session;
    /// Deletes a session and its history.
    SessionDelete = "atmos/session/delete", TargetParams => DeleteResult;
    /// Deletes the sessions idle longer than an age.
    SessionClean = "atmos/session/clean", CleanParams => CleanResult;
    /// A session as JSON, YAML or Markdown.
    SessionExport = "atmos/session/export", ExportParams => ExportResult;
    /// A session from an export.
    SessionImport = "atmos/session/import", ImportParams => CreatedResult;
    /// Undoes a compaction: what a summary replaced is active again.
    SessionUncompact = "atmos/session/uncompact", UncompactParams => UncompactResult;
    /// Pins a message (never compacted, always sent), or unpins it.
    SessionPin = "atmos/session/pin", PinParams => PinResult;
    /// Follows a session: `atmos/session/updated` for what other processes change.
    SessionSubscribe = "atmos/session/subscribe", SubscribeParams => SubscribeResult;
    /// Stops following a session.
    SessionUnsubscribe = "atmos/session/unsubscribe", TargetParams => UnsubscribeResult;
    /// Compacts a session now, whatever the threshold.
    SessionCompact = "atmos/session/compact", TargetParams => CompactionResult;
    /// One chat turn (deltas as `atmos/chat/delta`) and the compaction it triggers.
    Chat = "atmos/chat", ChatParams => ChatResult;
    /// The providers, with whether each is ready.
    ProvidersList = "atmos/providers/list", NoParams => ProvidersResult;
    /// The skills sessions can use.
    SkillsList = "atmos/skills/list", NoParams => SkillsResult;
    /// The project, its database and whether sessions are on.
    Status = "atmos/status", NoParams => StatusResult;
    /// A consistent copy of the sessions database (safe while turns run).
    Backup = "atmos/backup", BackupParams => BackupResult;
}

notifications! {
    /// A piece of a streaming reply.
    ChatDelta = "atmos/chat/delta", ChatDeltaParams;
    /// A stage of a compaction.
    CompactStatus = "atmos/compact/status", CompactStatusParams;
    /// The session list changed (from this server or another process's turn).
    SessionsChanged = "atmos/sessions/changed", SessionsChangedParams;
    /// A followed session changed in another process.
    SessionUpdated = "atmos/session/updated", SessionUpdatedParams;
}

/// The JSON Schema (draft 2020-12) of the protocol: under `methods`, each
/// request's `params` and `result`; under `notifications`, each
/// notification's `params`; the types in `$defs`.
pub fn schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let methods = request_schemas(&mut generator);
    let notifications = notification_schemas(&mut generator);
    let defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://atmos.tools/schemas/atmos-ai/protocol.schema.json",
        "title": "atmos-ai editor protocol",
        "description": "Generated from server/protocol (atmos-protocol); docs/protocol.md is the prose. Do not edit: run `UPDATE_PROTOCOL_SCHEMA=1 cargo test -p atmos-protocol`.",
        "protocolVersion": PROTOCOL_VERSION,
        "methods": methods,
        "notifications": notifications,
        "$defs": defs,
    })
}
