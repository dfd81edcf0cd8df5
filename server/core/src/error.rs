//! The core's one error type: a variant per thing that can go wrong, in the user's terms.
//!
//! Each message is one sentence a person can act on, without a trailing period. The core
//! knows nothing of the wire: `atmos-rpc` maps each variant to its JSON-RPC code, `kind` and
//! `data` (`server/rpc/src/errors.rs`); the CLI prints the message.

use atmos_store::{SessionKey, StoreError, Trouble};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("session {key} not found: run `atmos ai sessions` to see the sessions there are")]
    SessionNotFound { key: SessionKey },
    #[error("a session named '{name}' already exists: pick another name, or resume it")]
    SessionExists { name: String },
    #[error("invalid session name {name:?}: {rule}")]
    InvalidName { name: String, rule: String },
    #[error("sessions are disabled{}: set `ai.sessions.enabled: true` in atmos.yaml", in_config(.config_path))]
    SessionsDisabled { config_path: Option<PathBuf> },
    #[error("{source}")]
    Provider {
        provider: String,
        status: Option<u16>,
        retryable: bool,
        retry_after_ms: Option<u64>,
        /// What the provider client reported (its message is this error's).
        source: Box<atmos_providers::ProviderError>,
    },
    #[error("provider '{provider}' is not configured: {hint}")]
    ProviderNotConfigured {
        provider: String,
        /// What is missing: the key variable's name, or a config key.
        missing: String,
        /// What to do about it, for people.
        hint: String,
    },
    #[error("{message} ({path}): {hint}", path = .path.display())]
    Storage {
        path: PathBuf,
        message: String,
        hint: String,
        /// What the store reported.
        source: Box<StoreError>,
    },
    #[error(
        "invalid duration {value:?}: use a whole number and one unit of h, d, w or m (30-day months), as in 30d"
    )]
    InvalidDuration { value: String },
    #[error(
        "session '{name}' is busy with another turn or a compaction: wait for it to finish, or cancel it"
    )]
    Busy {
        session_id: String,
        /// The session's name (its id when the name is not known).
        name: String,
    },
    #[error("invalid configuration: {key} = {value}: {rule}")]
    ConfigInvalid {
        key: String,
        value: String,
        rule: String,
    },
    #[error("cannot import this {format} file: {reason}")]
    InvalidImport { format: String, reason: String },
    #[error("invalid {field}: {message}")]
    InvalidParam { field: String, message: String },
    #[error("cancelled")]
    Cancelled,
    /// Something in atmos itself went wrong (a thread that stopped); the
    /// message says what to do.
    #[error("{message}")]
    Internal { message: String },
}

fn in_config(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!(" in {}", p.display()),
        None => " (no atmos.yaml was found)".to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid_param(field: &str, message: impl Into<String>) -> Error {
        Error::InvalidParam {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// How to fix each kind of trouble with the database file.
pub(crate) fn storage_hint(path: &Path, trouble: Trouble) -> String {
    let p = path.display();
    match trouble {
        Trouble::Corrupt => format!(
            "the file is damaged or is not a session database; check it with \
             `sqlite3 {p} \"PRAGMA integrity_check;\"`, then restore a backup \
             (`cp {p}.backup {p}`) or move it aside to start afresh"
        ),
        Trouble::ReadOnly => format!(
            "the database is read-only; make it writable with `chmod 600 {p}` \
             and its folder with `chmod 700 {}` (or run `atmos ai sessions doctor`)",
            path.parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ),
        Trouble::CannotOpen => format!(
            "check that {} is a folder you own and can write (`chmod 700`), \
             or set `ai.sessions.path` to another folder",
            path.parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ),
        Trouble::Full => format!(
            "the disk refused the write (it is full, the file reached a size limit such as \
             `ulimit -f`, or the disk is failing); nothing was changed: free space, then run \
             `atmos ai sessions clean --older-than 30d` and `sqlite3 {p} \"VACUUM;\"`"
        ),
        Trouble::Locked => {
            "another process kept the database locked; try again when it is done".to_string()
        }
        Trouble::TooNew => {
            "upgrade atmos to open it, or point `ai.sessions.path` elsewhere".to_string()
        }
        Trouble::Other => format!("check the file with `sqlite3 {p} \"PRAGMA integrity_check;\"`"),
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        let (path, trouble, message) = match &e {
            StoreError::NotFound(key) => return Error::SessionNotFound { key: key.clone() },
            StoreError::NameTaken(name) => return Error::SessionExists { name: name.clone() },
            StoreError::MessageNotFound { session, id } => {
                return Error::invalid_param(
                    "at",
                    format!(
                        "session '{session}' has no message {id}: `atmos ai sessions show \
                         {session} --ids` shows each message's id"
                    ),
                );
            }
            StoreError::Busy { session_id } => {
                return Error::Busy {
                    session_id: session_id.clone(),
                    name: session_id.clone(),
                };
            }
            StoreError::Database {
                path,
                trouble,
                message,
            } => (
                path.clone(),
                *trouble,
                format!("session database error: {message}"),
            ),
            StoreError::Io { path, source } => {
                let trouble = match source.kind() {
                    std::io::ErrorKind::PermissionDenied => Trouble::CannotOpen,
                    std::io::ErrorKind::ReadOnlyFilesystem => Trouble::ReadOnly,
                    std::io::ErrorKind::StorageFull => Trouble::Full,
                    _ => Trouble::CannotOpen,
                };
                (
                    path.clone(),
                    trouble,
                    format!("cannot create the session database: {source}"),
                )
            }
        };
        Error::Storage {
            hint: storage_hint(&path, trouble),
            message,
            path,
            source: Box::new(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn storage_and_provider_errors_keep_their_sources() {
        let e = Error::from(StoreError::Database {
            path: "/p/sessions.db".into(),
            trouble: Trouble::Locked,
            message: "database is locked".into(),
        });
        assert!(
            e.to_string()
                .contains("another process kept the database locked")
        );
        let source = e.source().expect("the store's error is the source");
        assert!(
            source.to_string().contains("database is locked"),
            "{source}"
        );

        let e = crate::chat::provider_error(atmos_providers::ProviderError::Http {
            provider: "anthropic".into(),
            status: 500,
            message: "overloaded".into(),
            retryable: true,
            retry_after_ms: None,
        });
        assert!(
            matches!(
                e,
                Error::Provider {
                    status: Some(500),
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), e.source().unwrap().to_string());
    }
}
