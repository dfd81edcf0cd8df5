//! The store's error type. The core turns these into the protocol's kinds.

use std::path::PathBuf;

/// Which session a call was about, by name or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKey {
    Name(String),
    Id(String),
}

impl std::fmt::Display for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionKey::Name(n) => write!(f, "'{n}'"),
            SessionKey::Id(id) => write!(f, "with id {id}"),
        }
    }
}

/// What went wrong with the database file itself, so the caller can say how
/// to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// Not a database, or `PRAGMA integrity_check` failed.
    Corrupt,
    /// The file or its folder is not writable.
    ReadOnly,
    /// The file or its folder cannot be opened (missing permissions, a file
    /// where a folder should be).
    CannotOpen,
    /// A write was refused: the disk is full, or the file reached a size
    /// limit, or the disk is failing.
    Full,
    /// Another process held the lock for longer than the busy timeout.
    Locked,
    /// The database was written by a newer atmos-ai.
    TooNew,
    /// Anything else SQLite reports.
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("session {0} not found")]
    NotFound(SessionKey),
    #[error("a session named '{0}' already exists")]
    NameTaken(String),
    #[error("session '{session}' has no message {id}")]
    MessageNotFound { session: String, id: i64 },
    #[error("session {session_id} is busy with another turn")]
    Busy { session_id: String },
    #[error("{path}: {message}")]
    Database {
        path: PathBuf,
        trouble: Trouble,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Classifies a SQLite error for the database at `path`.
pub(crate) fn classify(path: &std::path::Path, err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    use rusqlite::ffi;
    // A write that the disk refused: full (ENOSPC is SQLITE_FULL), but also a
    // file-size limit or a failing disk, which SQLite reports as an I/O error.
    let write_failed = matches!(
        &err,
        rusqlite::Error::SqliteFailure(f, _)
            if [ffi::SQLITE_IOERR_WRITE, ffi::SQLITE_IOERR_FSYNC, ffi::SQLITE_IOERR_TRUNCATE]
                .contains(&f.extended_code)
    );
    let trouble = match err.sqlite_error_code() {
        _ if write_failed => Trouble::Full,
        Some(C::NotADatabase | C::DatabaseCorrupt) => Trouble::Corrupt,
        Some(C::ReadOnly) => Trouble::ReadOnly,
        Some(C::CannotOpen | C::PermissionDenied) => Trouble::CannotOpen,
        Some(C::DiskFull) => Trouble::Full,
        Some(C::DatabaseBusy | C::DatabaseLocked) => Trouble::Locked,
        _ => Trouble::Other,
    };
    StoreError::Database {
        path: path.to_path_buf(),
        trouble,
        message: err.to_string(),
    }
}
