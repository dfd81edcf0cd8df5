//! The core's errors on the wire: `atmos_ai::Error` → a JSON-RPC error with
//! the code, the message (one sentence a person can act on) and the `data`
//! object of PROTOCOL.md, plus the few errors only the server produces.

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode};

/// A core error as a JSON-RPC error: `code()`, `Display` and `data()`.
pub fn to_rpc(e: atmos_ai::Error) -> Error {
    let data = match e.data() {
        Value::Null => None,
        data => Some(data),
    };
    Error {
        code: ErrorCode::from(e.code()),
        message: e.to_string().into(),
        data,
    }
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
    use atmos_ai::SessionKey;

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
        });
        assert_eq!(
            (e.code.code(), e.data),
            (1009, Some(json!({"kind": "busy", "sessionId": "s1"})))
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
