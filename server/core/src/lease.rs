//! Turn leases held by a guard.
//!
//! A chat turn, or a compaction, holds its session's lease (see
//! `atmos_store::leases`) from its first write to its last. The lease lives in
//! a [`LeaseGuard`]: the normal end of the work gives it back with
//! [`Sessions::release`]; any other end (an error on the way, a task dropped
//! or panicking between two phases) drops the guard, which queues the lease,
//! and the next [`Sessions::settle`] gives it back. Nobody releases a lease by
//! hand on each error path.
//!
//! The engine settles before and after every store call, so a lease dropped
//! with its task is free for the very next call.

use crate::sessions::Sessions;
use atmos_store::Lease;
use std::sync::{Arc, Mutex};

/// Leases whose guard was dropped before their work ended.
pub(crate) type Orphans = Arc<Mutex<Vec<Lease>>>;

/// A held lease; dropping it without [`Sessions::release`] queues it for
/// release.
pub(crate) struct LeaseGuard {
    lease: Option<Lease>,
    orphans: Orphans,
}

impl std::fmt::Debug for LeaseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LeaseGuard").field(&self.lease).finish()
    }
}

impl LeaseGuard {
    pub(crate) fn new(lease: Lease, orphans: &Orphans) -> LeaseGuard {
        LeaseGuard {
            lease: Some(lease),
            orphans: orphans.clone(),
        }
    }

    pub(crate) fn lease(&self) -> &Lease {
        self.lease.as_ref().expect("held until released")
    }

    fn disarm(mut self) -> Lease {
        self.lease.take().expect("held until released")
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            tracing::debug!(session = %lease.session_id, "a lease was dropped before its work ended; releasing it");
            if let Ok(mut queue) = self.orphans.lock() {
                queue.push(lease);
            }
        }
    }
}

impl Sessions {
    /// Takes `session`'s turn lease for `holder`; a session held by another
    /// turn or compaction is `Busy`, named.
    pub(crate) fn take_lease(
        &mut self,
        session: &atmos_store::Session,
        holder: &str,
    ) -> crate::error::Result<LeaseGuard> {
        let lease = self
            .store_mut()
            .acquire_lease_with(
                &session.id,
                holder,
                crate::chat::LEASE_TTL.as_millis() as i64,
                &crate::chat::holder_is_gone,
            )
            .map_err(|e| match crate::error::Error::from(e) {
                crate::error::Error::Busy { session_id, .. } => crate::error::Error::Busy {
                    session_id,
                    name: session.name.clone(),
                },
                other => other,
            })?;
        Ok(LeaseGuard::new(lease, self.orphans()))
    }

    /// Sessions whose turn or compaction holds their lease now, by name;
    /// the leases of processes that have ended are given back first (and
    /// their sessions' names returned as the second list).
    pub fn busy_sessions(&mut self) -> crate::error::Result<(Vec<String>, Vec<String>)> {
        let mut busy = Vec::new();
        let mut freed = Vec::new();
        for lease in self.store().live_leases()? {
            let name = self
                .get(&atmos_store::SessionKey::Id(lease.session_id.clone()))
                .map(|s| s.name)
                .unwrap_or_else(|_| lease.session_id.clone());
            if crate::chat::holder_is_gone(&lease.holder) {
                self.store_mut().release_lease(&lease)?;
                freed.push(name);
            } else {
                busy.push(name);
            }
        }
        Ok((busy, freed))
    }

    /// Gives a lease back at the normal end of its work.
    pub(crate) fn release(&mut self, guard: LeaseGuard) {
        let lease = guard.disarm();
        if let Err(e) = self.store_mut().release_lease(&lease) {
            tracing::warn!(session = %lease.session_id, "could not release the turn lease: {e}");
        }
    }

    /// Gives back the leases whose guards were dropped. The engine calls it
    /// before and after every store call; dropping `Sessions` calls it too.
    pub fn settle(&mut self) {
        let orphans = match self.orphans().lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(_) => return,
        };
        for lease in orphans {
            if let Err(e) = self.store_mut().release_lease(&lease) {
                tracing::warn!(session = %lease.session_id, "could not release a dropped lease: {e}");
            }
        }
    }
}
