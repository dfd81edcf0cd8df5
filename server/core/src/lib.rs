//! The atmos-ai core: the project's configuration, its sessions and their
//! history, skills, and (with providers) chat turns and compaction.
//!
//! The faces (CLI, TUI, JSON-RPC server) call into this crate and render;
//! they never talk to SQLite or to a provider themselves. Nothing here knows
//! JSON-RPC or the terminal.

pub mod catalog;
pub mod chat;
pub mod compact;
pub mod config;
pub mod duration;
pub mod engine;
mod error;
pub mod history;
mod lease;
pub mod names;
pub mod redact;
pub mod sessions;
pub mod skills;
#[cfg(feature = "testing")]
mod testing;
pub mod titles;
pub mod transfer;
pub mod watch;

pub use atmos_store as store;
pub use atmos_store::{
    ContextKind, ContextRef, ListFilter, Listed, Message, Role, Session, SessionKey, TokenUsage,
    TranscriptPage, TranscriptQuery,
};
pub use config::{Config, LoadOptions, Project};
pub use engine::{CancellationToken, Engine, TurnEvent, TurnEvents};
pub use error::{Error, Result};
pub use sessions::{CreateOptions, Resumed, Sessions, Status, UpdateOptions};
pub use transfer::Format;
