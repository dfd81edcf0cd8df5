//! `atmos/session/list`, answered from bytes kept while the database is
//! unchanged.
//!
//! Editors list sessions again on every `atmos/sessions/changed` (and each
//! window of each editor does), so the same listing is asked for far more
//! often than the database changes. A listing is serialised once, straight
//! to JSON bytes, and kept with the database's data version
//! (`Sessions::data_version`: `PRAGMA data_version` and this connection's
//! change count). The next identical request asks the store thread only
//! for the version; while it is equal — nothing was written by this server
//! or any other process — the same bytes are the answer. The transport
//! writes them as the response's `result` without building a
//! `serde_json::Value` of a thousand sessions first.

use crate::errors;
use crate::proto::{self, ListParams, ToWire, parse};
use crate::workspace::Workspace;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tower_lsp_server::jsonrpc;

/// How many different listings (params) are kept.
const KEPT: usize = 16;

/// The server's life cycle, as far as the fast path needs it.
#[derive(Debug, Default)]
pub struct Lifecycle(AtomicU8);

const RUNNING: u8 = 1;
const STOPPED: u8 = 2;

impl Lifecycle {
    pub fn initialized(&self) {
        let _ = self
            .0
            .compare_exchange(0, RUNNING, Ordering::SeqCst, Ordering::SeqCst);
    }

    pub fn shut_down(&self) {
        self.0.store(STOPPED, Ordering::SeqCst);
    }

    fn running(&self) -> bool {
        self.0.load(Ordering::SeqCst) == RUNNING
    }
}

/// A listing's JSON and the data version it was read at.
type Kept = ((i64, u64), Arc<[u8]>);

/// Serialised listings by their params.
#[derive(Debug, Default)]
pub struct Listings {
    kept: Mutex<HashMap<String, Kept>>,
}

/// What the transport needs to answer a listing itself.
#[derive(Debug, Clone)]
pub struct Lister {
    workspace: Arc<Workspace>,
    listings: Arc<Listings>,
    lifecycle: Arc<Lifecycle>,
}

impl Lister {
    pub fn new(
        workspace: Arc<Workspace>,
        listings: Arc<Listings>,
        lifecycle: Arc<Lifecycle>,
    ) -> Lister {
        Lister {
            workspace,
            listings,
            lifecycle,
        }
    }

    /// Whether the transport may answer a listing itself: between
    /// `initialize` and `shutdown` (outside them the service answers with
    /// the life cycle's errors).
    pub fn ready(&self) -> bool {
        self.lifecycle.running()
    }

    /// The JSON bytes of the `result` of `atmos/session/list` with `params`.
    pub async fn list(&self, params: Value) -> jsonrpc::Result<Arc<[u8]>> {
        let key = params.to_string();
        let filter = proto::list_filter(parse::<ListParams>(params)?);
        let kept = self
            .listings
            .kept
            .lock()
            .ok()
            .and_then(|k| k.get(&key).cloned());
        let known = kept.as_ref().map(|(v, _)| *v);
        let (version, fresh) = self
            .workspace
            .sessions(move |s| {
                let version = s.data_version()?;
                if Some(version) == known {
                    return Ok((version, None));
                }
                Ok((version, Some(s.list(&filter)?)))
            })
            .await?;
        let Some(listed) = fresh else {
            return Ok(kept.expect("a known version is a kept listing").1);
        };
        let bytes: Arc<[u8]> = serde_json::to_vec(&listed.to_wire())
            .map_err(|e| errors::internal(format!("cannot write the listing: {e}")))?
            .into();
        if let Ok(mut kept) = self.listings.kept.lock() {
            if kept.len() >= KEPT && !kept.contains_key(&key) {
                kept.clear();
            }
            kept.insert(key, (version, bytes.clone()));
        }
        Ok(bytes)
    }
}
