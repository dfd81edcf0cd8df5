//! Turn leases: one chat turn at a time per session, across processes.
//!
//! A turn takes a lease row before it calls the provider and drops it when
//! it ends (or hands it to the compaction it triggered). The lease carries an
//! expiry; a process that died leaves a lease that expires on its own (and,
//! on Linux, is taken over at once, see `acquire_lease_with`), so a crash
//! never locks a session for good. Running turns do not renew their lease
//! yet: one longer than its expiry (15 minutes in the core) loses it.

use crate::error::{Result, StoreError};
use crate::{Store, now_millis};
use rusqlite::{OptionalExtension, params};

/// A held lease; give it back with [`Store::release_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub session_id: String,
    pub holder: String,
}

impl Store {
    /// Takes the turn lease of a session for `ttl_ms`, or fails with `Busy`
    /// when another holder's lease has not expired.
    pub fn acquire_lease(&mut self, session_id: &str, holder: &str, ttl_ms: i64) -> Result<Lease> {
        self.acquire_lease_with(session_id, holder, ttl_ms, &|_| false)
    }

    /// As [`Store::acquire_lease`], and a lease whose holder `is_gone` says
    /// has ended (its process died) is taken over even before it expires.
    pub fn acquire_lease_with(
        &mut self,
        session_id: &str,
        holder: &str,
        ttl_ms: i64,
        is_gone: &dyn Fn(&str) -> bool,
    ) -> Result<Lease> {
        let path = self.path.clone();
        let map = |e| crate::error::classify(&path, e);
        let tx = self.begin()?;
        let now = now_millis();
        let current: Option<(String, i64)> = tx
            .query_row(
                "SELECT holder, expires_at FROM turn_leases WHERE session_id = ?1",
                [session_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(map)?;
        if let Some((other, expires)) = current
            && other != holder
            && expires > now
            && !is_gone(&other)
        {
            return Err(StoreError::Busy {
                session_id: session_id.to_string(),
            });
        }
        tx.execute(
            "INSERT INTO turn_leases (session_id, holder, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (session_id) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at",
            params![session_id, holder, now + ttl_ms],
        )
        .map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(Lease {
            session_id: session_id.to_string(),
            holder: holder.to_string(),
        })
    }

    /// Pushes a held lease's expiry forward.
    pub fn renew_lease(&mut self, lease: &Lease, ttl_ms: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE turn_leases SET expires_at = ?1 WHERE session_id = ?2 AND holder = ?3",
                params![now_millis() + ttl_ms, lease.session_id, lease.holder],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The leases not yet expired (sessions whose turn or compaction is
    /// under way, or whose holder died less than a lease ago).
    pub fn live_leases(&self) -> Result<Vec<Lease>> {
        let mut stmt = self
            .conn
            .prepare("SELECT session_id, holder FROM turn_leases WHERE expires_at > ?1")
            .map_err(|e| self.err(e))?;
        stmt.query_map([now_millis()], |r| {
            Ok(Lease {
                session_id: r.get(0)?,
                holder: r.get(1)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Who holds a session's lease, when it has a live one.
    pub fn lease_holder(&self, session_id: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached(
                "SELECT holder FROM turn_leases WHERE session_id = ?1 AND expires_at > ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![session_id, now_millis()], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Gives a lease back (a no-op when it was already taken over).
    pub fn release_lease(&mut self, lease: &Lease) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM turn_leases WHERE session_id = ?1 AND holder = ?2",
                params![lease.session_id, lease.holder],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
