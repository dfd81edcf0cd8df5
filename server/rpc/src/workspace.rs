//! The project a server serves, and its session store on a thread of its own.
//!
//! SQLite is synchronous, so the server never calls the store on the async
//! executor: every store call is a closure sent to one dedicated thread that
//! owns the project's [`Sessions`], and its result comes back on a oneshot.
//! Calls are short and never span a provider await (a chat turn is three
//! store calls around the stream, not one).
//!
//! The config is read when a request needs it, until the store opens: a
//! broken `atmos.yaml` (1010), disabled sessions (1004) or a damaged database
//! (1007) is answered on each request that needs it, and a fixed file is
//! picked up by the next request without restarting the server.

use crate::errors;
use atmos_ai::{LoadOptions, Project, Sessions};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::{Mutex, oneshot};
use tower_lsp_server::jsonrpc;

type Job = Box<dyn FnOnce(&mut Sessions) + Send>;

/// Where the server looks for its project, and the store once open.
#[derive(Debug, Default)]
pub struct Workspace {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Set by `initialize`.
    load: Option<LoadOptions>,
    store: Option<StoreThread>,
    /// Set when the server stops: the store is not opened again.
    closed: bool,
}

/// A handle on the store thread: each call runs there, in order.
#[derive(Debug, Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
}

impl Store {
    /// Runs `f` on the store thread; core errors become protocol errors.
    pub async fn call<T, F>(&self, f: F) -> jsonrpc::Result<T>
    where
        F: FnOnce(&mut Sessions) -> atmos_ai::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |sessions| {
            let _ = tx.send(f(sessions));
        });
        self.jobs.send(job).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(errors::to_rpc)
    }
}

#[derive(Debug)]
struct StoreThread {
    jobs: mpsc::Sender<Job>,
    thread: JoinHandle<()>,
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

    /// Runs `f` on the store thread, opening the store first if it is not
    /// open yet. Core errors become their protocol codes.
    pub async fn sessions<T, F>(&self, f: F) -> jsonrpc::Result<T>
    where
        F: FnOnce(&mut Sessions) -> atmos_ai::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.store().await?.call(f).await
    }

    /// A handle on the store thread (opening it if needed). A task that must
    /// finish its writes even when the server stops (a cancelled chat turn)
    /// holds one: the database closes only after the last handle is gone.
    pub async fn store(&self) -> jsonrpc::Result<Store> {
        let mut state = self.state.lock().await;
        if state.closed {
            return Err(errors::internal("the server is stopping"));
        }
        if let Some(store) = &state.store {
            return Ok(Store {
                jobs: store.jobs.clone(),
            });
        }
        let load = state
            .load
            .clone()
            .ok_or_else(|| errors::internal("the server has no project before `initialize`"))?;
        let store = StoreThread::open(load).await?;
        let jobs = store.jobs.clone();
        state.store = Some(store);
        Ok(Store { jobs })
    }

    /// Closes the store: no new calls, the ones queued finish, and the
    /// database is closed when the thread ends. Blocks until it has.
    pub async fn close(&self) {
        let store = {
            let mut state = self.state.lock().await;
            state.closed = true;
            state.store.take()
        };
        if let Some(StoreThread { jobs, thread }) = store {
            drop(jobs);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl StoreThread {
    /// Loads the project and opens its sessions on a new thread; the thread
    /// then serves jobs until every sender is gone.
    async fn open(load: LoadOptions) -> jsonrpc::Result<StoreThread> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened_tx, opened) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("atmos-store".into())
            .spawn(move || {
                let sessions = Project::load(&load).and_then(Sessions::open);
                let mut sessions = match sessions {
                    Ok(s) => {
                        let _ = opened_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                for job in queue {
                    // An edited atmos.yaml (or skills folder) applies from
                    // the next request; a broken edit keeps the last good one.
                    match sessions.refresh() {
                        Ok(true) => tracing::info!("atmos.yaml changed: settings reloaded"),
                        Ok(false) => {}
                        Err(e) => tracing::warn!(
                            "atmos.yaml changed but cannot be used, keeping the previous settings: {e}"
                        ),
                    }
                    // A panic in the core fails that call (its oneshot is
                    // dropped), not the server.
                    if catch_unwind(AssertUnwindSafe(|| job(&mut sessions))).is_err() {
                        tracing::error!("a store call panicked; the server goes on");
                    }
                }
                tracing::debug!("store closed");
            })
            .map_err(|e| errors::internal(format!("cannot start the store thread: {e}")))?;
        match opened.await {
            Ok(Ok(())) => Ok(StoreThread { jobs, thread }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(errors::to_rpc(e))
            }
            Err(_) => Err(gone()),
        }
    }
}

fn gone() -> jsonrpc::Error {
    errors::internal(
        "the session store stopped unexpectedly; restart the server (see its log on stderr)",
    )
}
