//! The core's errors on the wire: `atmos_ai::Error` → a JSON-RPC error with the code, the
//! message (one sentence a person can act on) and the `data` object of docs/protocol.md,
//! plus the few errors only the server produces. The only place that knows the codes.

use atmos_ai::{Error as CoreError, SessionKey};
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode};

/// A core error as a JSON-RPC error: its code, its message (`Display`) and its `data`.
pub fn to_rpc(e: atmos_ai::Error) -> Error {
    let data = match data(&e) {
        Value::Null => None,
        data => Some(data),
    };
    Error {
        code: ErrorCode::from(code(&e)),
        message: e.to_string().into(),
        data,
    }
}

/// The error code of docs/protocol.md.
pub fn code(e: &CoreError) -> i64 {
    match e {
        CoreError::SessionNotFound { .. } => 1001,
        CoreError::SessionExists { .. } => 1002,
        CoreError::InvalidName { .. } => 1003,
        CoreError::SessionsDisabled { .. } => SESSIONS_DISABLED,
        CoreError::Provider { .. } => 1005,
        CoreError::ProviderNotConfigured { .. } => 1006,
        CoreError::Storage { .. } => 1007,
        CoreError::InvalidDuration { .. } => 1008,
        CoreError::Busy { .. } => 1009,
        CoreError::ConfigInvalid { .. } => 1010,
        CoreError::InvalidImport { .. } => 1011,
        CoreError::InvalidParam { .. } => -32602,
        CoreError::Cancelled => -32800,
        CoreError::Internal { .. } => -32603,
    }
}

/// 1004: every session method while `ai.sessions.enabled` is not true.
pub const SESSIONS_DISABLED: i64 = 1004;

/// The `data.kind` of docs/protocol.md.
pub fn kind(e: &CoreError) -> &'static str {
    match e {
        CoreError::SessionNotFound { .. } => "sessionNotFound",
        CoreError::SessionExists { .. } => "sessionExists",
        CoreError::InvalidName { .. } => "invalidName",
        CoreError::SessionsDisabled { .. } => "sessionsDisabled",
        CoreError::Provider { .. } => "providerError",
        CoreError::ProviderNotConfigured { .. } => "providerNotConfigured",
        CoreError::Storage { .. } => "storageError",
        CoreError::InvalidDuration { .. } => "invalidDuration",
        CoreError::Busy { .. } => "busy",
        CoreError::ConfigInvalid { .. } => "configInvalid",
        CoreError::InvalidImport { .. } => "invalidImport",
        CoreError::InvalidParam { .. } => "invalidParams",
        CoreError::Cancelled => "cancelled",
        CoreError::Internal { .. } => "internal",
    }
}

/// The `error.data` object of docs/protocol.md, with the wire's camelCase spellings.
pub fn data(e: &CoreError) -> Value {
    let mut data = match e {
        CoreError::SessionNotFound { key } => match key {
            SessionKey::Name(name) => json!({ "name": name }),
            SessionKey::Id(id) => json!({ "id": id }),
        },
        CoreError::SessionExists { name } => json!({ "name": name }),
        CoreError::InvalidName { name, rule } => json!({ "name": name, "rule": rule }),
        CoreError::SessionsDisabled { config_path } => {
            json!({ "configPath": config_path.as_ref().map(|p| p.display().to_string()) })
        }
        CoreError::Provider {
            provider,
            status,
            retryable,
            retry_after_ms,
            ..
        } => json!({
            "provider": provider, "status": status, "retryable": retryable,
            "retryAfterMs": retry_after_ms,
        }),
        CoreError::ProviderNotConfigured {
            provider, missing, ..
        } => json!({ "provider": provider, "missing": missing }),
        CoreError::Storage { path, hint, .. } => {
            json!({ "path": path.display().to_string(), "hint": hint })
        }
        CoreError::InvalidDuration { value } => json!({ "value": value }),
        CoreError::Busy { session_id, name } => json!({ "sessionId": session_id, "name": name }),
        CoreError::ConfigInvalid { key, value, rule } => {
            json!({ "key": key, "value": value, "rule": rule })
        }
        CoreError::InvalidImport { format, reason } => {
            json!({ "format": format, "reason": reason })
        }
        CoreError::InvalidParam { field, .. } => return json!({ "field": field }),
        CoreError::Cancelled | CoreError::Internal { .. } => return Value::Null,
    };
    if let Value::Object(map) = &mut data {
        // Optional fields are left out when unknown; `configPath` is always there (null:
        // no atmos.yaml was found).
        map.retain(|k, v| !v.is_null() || k == "configPath");
        map.insert("kind".into(), json!(kind(e)));
    }
    data
}

/// -32602 naming the offending parameter in `data.field`.
pub fn invalid_params(field: &str, message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: message.into().into(),
        data: Some(json!({ "field": field })),
    }
}

/// -32603, for what should not happen (the store thread is gone).
pub fn internal(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: message.into().into(),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_messages_and_data() {
        let e = to_rpc(atmos_ai::Error::SessionNotFound {
            key: SessionKey::Name("vpc".into()),
        });
        assert_eq!(e.code.code(), 1001);
        assert!(e.message.contains("'vpc' not found"), "{}", e.message);
        assert_eq!(
            e.data,
            Some(json!({"kind": "sessionNotFound", "name": "vpc"}))
        );

        let e = to_rpc(atmos_ai::Error::Busy {
            session_id: "s1".into(),
            name: "vpc".into(),
        });
        assert!(e.message.contains("session 'vpc' is busy"), "{}", e.message);
        assert_eq!(
            (e.code.code(), e.data),
            (
                1009,
                Some(json!({"kind": "busy", "sessionId": "s1", "name": "vpc"}))
            )
        );

        let e = to_rpc(atmos_ai::Error::Cancelled);
        assert_eq!((e.code, e.data), (ErrorCode::RequestCancelled, None));

        let e = invalid_params("name", "give one");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"code": -32602, "message": "give one", "data": {"field": "name"}})
        );
    }
}
