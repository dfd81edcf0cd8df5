//! The editor protocol of `atmos ai serve`, declared once.
//!
//! Each request is a type implementing [`Request`] (its method name, params
//! and result together) and each notification one implementing
//! [`Notification`]; the wire types are in [`types`]. From these
//! declarations come:
//!
//! - [`METHODS`] and [`NOTIFICATIONS`], which the server announces in
//!   `initialize` and routes (`server/rpc/src/server.rs`);
//! - [`schema`], the JSON Schema of every method, checked in as
//!   `docs/protocol.schema.json` (a test keeps it true) for editor clients
//!   to mirror and check against;
//! - the typed calls of the tests' JSON-RPC client and the JSON the CLI
//!   prints with `--format json`, which are these same types.
//!
//! Types only: no transport, no async runtime. `docs/protocol.md` is the
//! prose contract; this crate is its machine-readable half.

mod declare;
#[cfg(feature = "store")]
mod from_store;
#[cfg(feature = "store")]
pub use from_store::time;
pub mod types;

pub use declare::*;
pub use types::*;

/// The `protocolVersion` announced in `capabilities.experimental.atmos`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The name announced in `serverInfo`.
pub const SERVER_NAME: &str = "atmos-ai";

/// A method of the protocol (client → server).
pub trait Request {
    /// The JSON-RPC method name.
    const METHOD: &'static str;
    type Params: serde::Serialize + serde::de::DeserializeOwned + schemars::JsonSchema;
    type Result: serde::Serialize + serde::de::DeserializeOwned + schemars::JsonSchema;
}

/// A notification of the protocol (server → client).
pub trait Notification {
    /// The JSON-RPC method name.
    const METHOD: &'static str;
    type Params: serde::Serialize + serde::de::DeserializeOwned + schemars::JsonSchema;
}
