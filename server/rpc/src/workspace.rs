//! The project a server serves, and its conversation engine.
//!
//! The engine (`atmos_ai::Engine`) owns the project's sessions on a store
//! thread of its own, so the server never calls SQLite on the async
//! executor.
//!
//! The config is read when a request needs it, until the engine opens: a
//! broken `atmos.yaml` (1010), disabled sessions (1004) or a damaged database
//! (1007) is answered on each request that needs it, and a fixed file is
//! picked up by the next request without restarting the server.

use crate::errors;
use atmos_ai::{Engine, LoadOptions, Project, Sessions};
use tokio::sync::Mutex;
use tower_lsp_server::jsonrpc;

/// Where the server looks for its project, and the engine once open.
#[derive(Debug, Default)]
pub struct Workspace {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Set by `initialize`.
    load: Option<LoadOptions>,
    engine: Option<Engine>,
    /// The engine's background notices, subscribed to as it opens (so that
    /// none is missed), until the live view takes them.
    notices: Option<tokio::sync::broadcast::Receiver<atmos_ai::engine::Notice>>,
    /// Set when the server stops: the engine is not opened again.
    closed: bool,
}

impl Workspace {
    /// Remembers where the project is (from `initialize`).
    pub async fn set_load_options(&self, load: LoadOptions) {
        self.state.lock().await.load = Some(load);
    }

    /// The project, read afresh (1010 when its config is invalid).
    pub async fn project(&self) -> jsonrpc::Result<Project> {
        self.with_project(|p| Ok(p.clone())).await
    }

    /// Runs `f` with the project, read afresh, off the executor (it may read
    /// files, as skills do).
    pub async fn with_project<T, F>(&self, f: F) -> jsonrpc::Result<T>
    where
        F: FnOnce(&Project) -> atmos_ai::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let load = self.load_options().await?;
        tokio::task::spawn_blocking(move || Project::load(&load).and_then(|p| f(&p)))
            .await
            .map_err(|e| errors::internal(format!("reading the project failed: {e}")))?
            .map_err(errors::to_rpc)
    }

    async fn load_options(&self) -> jsonrpc::Result<LoadOptions> {
        self.state
            .lock()
            .await
            .load
            .clone()
            .ok_or_else(|| errors::internal("the server has no project before `initialize`"))
    }

    /// Runs `f` on the engine's store thread, opening the engine first if it
    /// is not open yet. Core errors become their protocol codes.
    pub async fn sessions<T, F>(&self, f: F) -> jsonrpc::Result<T>
    where
        F: FnOnce(&mut Sessions) -> atmos_ai::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.engine().await?.call(f).await.map_err(errors::to_rpc)
    }

    /// The engine (opening it if needed). A task that must finish its writes
    /// even when the server stops (a cancelled chat turn) holds a clone: the
    /// database closes only after the last one is gone.
    pub async fn engine(&self) -> jsonrpc::Result<Engine> {
        let mut state = self.state.lock().await;
        if state.closed {
            return Err(errors::internal("the server is stopping"));
        }
        if let Some(engine) = &state.engine {
            return Ok(engine.clone());
        }
        let load = state
            .load
            .clone()
            .ok_or_else(|| errors::internal("the server has no project before `initialize`"))?;
        let engine =
            tokio::task::spawn_blocking(move || Project::load(&load).and_then(Engine::open))
                .await
                .map_err(|e| errors::internal(format!("opening the sessions failed: {e}")))?
                .map_err(errors::to_rpc)?;
        // A server keeps running: a first exchange's AI title is worth
        // the background request.
        engine.set_ai_titles(true);
        state.notices = Some(engine.notices());
        state.engine = Some(engine.clone());
        Ok(engine)
    }

    /// The engine's notices since it opened (once).
    pub async fn take_notices(
        &self,
    ) -> Option<tokio::sync::broadcast::Receiver<atmos_ai::engine::Notice>> {
        self.state.lock().await.notices.take()
    }

    /// The engine when it is open (without opening it).
    pub async fn engine_if_open(&self) -> Option<Engine> {
        let state = self.state.lock().await;
        state.engine.clone().filter(|_| !state.closed)
    }

    /// Closes the engine: no new calls, the ones queued finish, and the
    /// database is closed when its store thread ends. Waits until it has.
    pub async fn close(&self) {
        let engine = {
            let mut state = self.state.lock().await;
            state.closed = true;
            state.engine.take()
        };
        if let Some(engine) = engine {
            // Cancelled turns store what arrived first; a compaction's AI
            // summary is given a while, not forever.
            if tokio::time::timeout(std::time::Duration::from_secs(10), engine.wait_idle())
                .await
                .is_err()
            {
                tracing::warn!("a turn or compaction was still running at shutdown");
            }
            let _ = tokio::task::spawn_blocking(move || engine.close()).await;
        }
    }
}
