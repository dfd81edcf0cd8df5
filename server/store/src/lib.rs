//! SQLite storage for atmos-ai sessions.
//!
//! This crate is the only one that knows SQL. It owns the schema and its
//! migrations, opens the database with the pragmas the design asks for, and
//! offers one method per query. Every statement binds its parameters; none is
//! built with `format!` from input.
//!
//! Architecture invariants:
//! - a chat turn reads O(window) rows: the live summaries and the newest
//!   unarchived messages, through the `messages_active` index;
//! - listing reads the counters kept on the session row, never `COUNT(*)`
//!   over messages; the counters change in the same transaction as the rows;
//! - nothing here deletes a message except deleting its whole session:
//!   compaction archives.

mod error;
mod fork;
mod leases;
mod messages;
pub mod schema;
mod sessions;
mod types;

pub use error::{Result, SessionKey, StoreError, Trouble};
pub use leases::Lease;
pub use types::*;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The file name of the database inside the sessions folder.
pub const DB_FILE: &str = "sessions.db";

/// An open session database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, its folder created
    /// 0700 and the file 0600, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        create_private_file(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| error::classify(path, e))?;
        Store::init(conn, path.to_path_buf(), SCHEMA_VERSION_TARGET)
    }

    /// Opens the database at `path` migrated only up to `version` (tests of
    /// the migrations build databases of every older version with this).
    #[doc(hidden)]
    pub fn open_at_version(path: &Path, version: u32) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| error::classify(path, e))?;
        Store::init(conn, path.to_path_buf(), version)
    }

    /// A private in-memory database (tests and benchmarks).
    pub fn open_in_memory() -> Result<Store> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| error::classify(&path, e))?;
        Store::init(conn, path, SCHEMA_VERSION_TARGET)
    }

    fn init(mut conn: Connection, path: PathBuf, target: u32) -> Result<Store> {
        let map = |e| error::classify(&path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(map)?;
        // The first statement that reads the file: a file that is not a
        // database fails here, and is reported as corrupt. Switching a new
        // file to WAL takes a lock that the busy timeout does not wait for
        // (SQLite answers SQLITE_BUSY at once while another connection
        // switches it), so this step waits for its turn here.
        let mode: String =
            retry_while_busy(|| conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)))
                .map_err(map)?;
        if mode != "wal" && mode != "memory" {
            tracing::warn!(%mode, "could not switch the session database to WAL");
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{}; \
             PRAGMA journal_size_limit = {};",
            PAGE_CACHE_KIB, WAL_SIZE_LIMIT
        ))
        .map_err(map)?;
        keep_wal_file(&conn);
        let found = schema::version(&conn).map_err(map)?;
        if found > schema::SCHEMA_VERSION {
            return Err(StoreError::Database {
                path: path.clone(),
                trouble: Trouble::TooNew,
                message: format!(
                    "the database has schema version {found}, newer than this atmos ({})",
                    schema::SCHEMA_VERSION
                ),
            });
        }
        schema::migrate_to(&mut conn, target).map_err(map)?;
        Ok(Store { conn, path })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    /// Changes when the database does: `PRAGMA data_version` (commits by
    /// other connections, other processes included) with this connection's
    /// own `total_changes`. Equal values mean nothing was written in between,
    /// so a result read then is still true.
    pub fn data_version(&self) -> Result<(i64, u64)> {
        let others: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok((others, self.conn.total_changes()))
    }

    pub fn schema_version(&self) -> Result<u32> {
        schema::version(&self.conn).map_err(|e| self.err(e))
    }

    /// Whether `path` is this database's file, or its WAL, shared-memory or
    /// journal file, by whatever name (a symbolic or a hard link included).
    pub fn is_own_file(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(path), std::fs::metadata(&self.path))
            && a.dev() == b.dev()
            && a.ino() == b.ino()
        {
            return true;
        }
        // Not there yet (or not the same inode): compare where it would be.
        let folder = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => p.to_path_buf(),
            None => PathBuf::from("."),
        };
        let target = path
            .canonicalize()
            .ok()
            .or_else(|| Some(folder.canonicalize().ok()?.join(path.file_name()?)));
        let db = self
            .path
            .canonicalize()
            .unwrap_or_else(|_| self.path.clone());
        target.is_some_and(|target| {
            ["", "-wal", "-shm", "-journal"].iter().any(|suffix| {
                let mut name = db.clone().into_os_string();
                name.push(suffix);
                name == target.as_os_str()
            })
        })
    }

    /// Copies the database to `dest` with SQLite's online backup API: a
    /// consistent copy while other processes read and write (it restarts
    /// when they commit meanwhile), the WAL's content included. `dest` is
    /// replaced and made private (0600). Returns its size in bytes.
    pub fn backup_to(&self, dest: &Path) -> Result<u64> {
        use std::os::unix::fs::PermissionsExt;
        let io = |source| StoreError::Io {
            path: dest.to_path_buf(),
            source,
        };
        // Never over the database itself: removing it would lose what is
        // being copied.
        if self.is_own_file(dest) {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is the sessions database itself; name a new file for the backup",
            )));
        }
        // Created private first: the copy holds every conversation.
        let _ = std::fs::remove_file(dest);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o600)))
            .map_err(io)?;
        let mut target = Connection::open(dest).map_err(|e| error::classify(dest, e))?;
        {
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut target)
                .map_err(|e| error::classify(dest, e))?;
            backup
                .run_to_completion(256, std::time::Duration::from_millis(10), None)
                .map_err(|e| error::classify(dest, e))?;
        }
        drop(target);
        std::fs::metadata(dest).map(|m| m.len()).map_err(io)
    }

    /// Runs `PRAGMA integrity_check`; `Ok(vec![])` when the file is sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().filter(|r| r != "ok").collect())
    }

    /// Direct access for tests of this crate's invariants.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        error::classify(&self.path, e)
    }

    pub(crate) fn begin(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| error::classify(&path, e))
    }
}

const SCHEMA_VERSION_TARGET: u32 = schema::SCHEMA_VERSION;

/// SQLite's page cache per connection, in KiB. A turn reads O(window) rows through indexes
/// and a listing reads the session rows, so 1 MiB holds what is hot; SQLite's default (2 MiB)
/// only fills as the database grows, which showed as a long-running server's memory rising
/// with every turn until the database passed that size.
const PAGE_CACHE_KIB: u32 = 1024;

/// How long a statement waits for another connection's lock before failing as locked.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `f` again while SQLite answers "busy", for at most [`BUSY_TIMEOUT`]: for the few
/// statements whose locks SQLite's own busy handler does not wait for.
fn retry_while_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        match f() {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// The size the WAL file is cut back to after a checkpoint resets it.
const WAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;

/// Keeps the `-wal` file when the last connection closes. SQLite still
/// checkpoints it into the database then (so a copy of `sessions.db` alone
/// is complete) and cuts it to zero bytes; what is saved is creating it
/// again, with the directory `fsync` that brings, on every command.
fn keep_wal_file(conn: &Connection) {
    let mut on: std::ffi::c_int = 1;
    // SAFETY: the handle is this open connection's, used on this thread for
    // the call only; SQLITE_FCNTL_PERSIST_WAL takes a pointer to an int that
    // outlives the call.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut on as *mut std::ffi::c_int).cast(),
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        tracing::debug!(rc, "the WAL file will be removed on close");
    }
}
