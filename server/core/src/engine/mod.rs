//! The conversation engine: the one place where a chat turn and the
//! compaction it triggers are sequenced.
//!
//! An [`Engine`] owns the project's [`Sessions`] on a thread of its own (the
//! "store thread"): SQLite is synchronous, so every store call is a closure
//! sent there, run in order, and its result sent back. Calls are short and
//! never span a provider await. Faces use it three ways:
//!
//! - [`Engine::call`] (async) or [`Engine::call_blocking`] run one of the
//!   `Sessions` operations (list, rename, resume, …) on the store thread;
//! - [`Engine::chat`] runs a turn: store the user message, stream the reply,
//!   store it (or the part that arrived, marked interrupted), then compact
//!   when the session is due. Everything that happens comes back as one
//!   stream of [`TurnEvent`]s, in order; the stream ends when the turn and
//!   its compaction are over;
//! - [`Engine::compact`] compacts a session now, with the same events.
//!
//! [`one_shot`] runs a turn that keeps nothing (sessions off, or `ask`
//! without `--session`) with the same events and no store.
//!
//! A turn runs in a tokio task of its own: the face that started it may go
//! away (a cancelled request, a closed terminal) and the turn still stores
//! what arrived. Cancelling is the `CancellationToken` given to the call.
//! Leases are held by guards (`crate::lease`): a task that dies between two
//! phases leaves its lease to be given back after the next store call.

mod events;
mod thread;
mod turn;

pub use events::{Change, Started, TurnEvent, TurnEvents};
pub use tokio_util::sync::CancellationToken;
pub use turn::{OneShot, one_shot};

use crate::chat::TurnRequest;
use crate::config::Project;
use crate::error::{Error, Result};
use crate::sessions::Sessions;
use atmos_store::{Session, SessionKey};

/// The conversation service of one project. Cheap to clone: every clone
/// talks to the same store thread, which closes when the last clone is gone
/// (a turn still storing its reply keeps it open).
#[derive(Debug, Clone)]
pub struct Engine {
    thread: thread::Handle,
    /// The turns and compactions running, so that a shutdown can wait for
    /// them to store what they have (see [`Engine::wait_idle`]).
    tasks: tokio_util::task::TaskTracker,
    /// Whether a first exchange gets an AI title in the background (faces
    /// that keep running; see [`Engine::set_ai_titles`]).
    ai_titles: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// What background work changed (see [`Engine::notices`]).
    notices: tokio::sync::broadcast::Sender<Notice>,
}

/// A change made in the background, after the turn that caused it ended.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A session got its AI title.
    Titled(Box<Session>),
}

impl Engine {
    /// Opens the project's sessions (creating the database on first use) on
    /// a new store thread. Fails with `SessionsDisabled` unless
    /// `ai.sessions.enabled` is true.
    pub fn open(project: Project) -> Result<Engine> {
        Ok(Engine {
            thread: thread::Handle::spawn(Sessions::open(project)?)?,
            tasks: tokio_util::task::TaskTracker::new(),
            ai_titles: Default::default(),
            notices: tokio::sync::broadcast::channel(64).0,
        })
    }

    /// Lets a session's first exchange get an AI title, written in the
    /// background after the turn, when `auto_compact.use_ai_summary` is on.
    /// For faces that keep running (the server, the TUI): a one-shot
    /// command keeps the first line of the question instead of waiting for
    /// another request.
    pub fn set_ai_titles(&self, on: bool) {
        self.ai_titles
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// The changes background work makes ([`Notice`]), for a face to show.
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// After a first exchange that gave the session its plain title: asks
    /// the session's provider for a better one in a tracked task, and
    /// announces it as [`Notice::Titled`].
    pub(crate) fn title_later(
        &self,
        session: Session,
        plain: String,
        question: String,
        reply: String,
    ) {
        if !self.ai_titles.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let engine = self.clone();
        self.tasks.spawn(async move {
            let provider = engine
                .call(move |s| {
                    let config = &s.project().config;
                    if !config.sessions.auto_compact.use_ai_summary {
                        return Ok(None);
                    }
                    Ok(
                        crate::chat::provider_for(config, &session.provider, &session.model)
                            .ok()
                            .map(|(_, p)| (p, session)),
                    )
                })
                .await;
            let Ok(Some((provider, session))) = provider else {
                return;
            };
            let Some(title) =
                crate::titles::ai_title(provider.as_ref(), &session.model, &question, &reply).await
            else {
                return;
            };
            let id = session.id.clone();
            match engine
                .call(move |s| s.improve_title(&id, &plain, &title))
                .await
            {
                Ok(Some(session)) => {
                    let _ = engine.notices.send(Notice::Titled(Box::new(session)));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("storing the AI title failed: {e}"),
            }
        });
    }

    /// Runs `f` on the store thread and returns its result.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Sessions) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.thread.call(f).await
    }

    /// Queues `f` on the store thread without waiting for it: a streaming
    /// reply's checkpoint, which must not hold the stream up. Calls queued
    /// after it run after it.
    pub(crate) fn queue<F>(&self, what: &'static str, f: F)
    where
        F: FnOnce(&mut Sessions) -> Result<()> + Send + 'static,
    {
        let sent = self.thread.send(f, move |r: Result<()>| {
            if let Err(e) = r {
                tracing::warn!("{what} failed: {e}");
            }
        });
        if let Err(e) = sent {
            tracing::warn!("{what} failed: {e}");
        }
    }

    /// [`Engine::call`] for code that is not async (the CLI, the TUI's
    /// effects): blocks this thread until the store thread has answered.
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Sessions) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.thread.call_blocking(f)
    }

    /// Runs one chat turn and the compaction it makes due, in a task of its
    /// own (call it inside a tokio runtime). See [`TurnEvent`] for what
    /// comes back, in which order. `cancel` stops the turn: the provider
    /// call is dropped, what arrived is stored marked interrupted, and the
    /// stream ends with `Failed` carrying `Error::Cancelled`.
    pub fn chat(&self, request: TurnRequest, cancel: CancellationToken) -> TurnEvents {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.tasks
            .spawn(turn::chat(self.clone(), request, cancel, tx));
        rx
    }

    /// Compacts a session now, whatever the threshold: `Compaction` stages,
    /// then `SessionChanged` and `Compacted`, or `CompactionFailed`. With
    /// nothing to compact, `Compacted` says `compacted: false`. `cancel`
    /// while the summary is written gives the compaction up (nothing is
    /// changed).
    pub fn compact(&self, key: SessionKey, cancel: CancellationToken) -> TurnEvents {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.tasks
            .spawn(turn::compact_now(self.clone(), key, cancel, tx));
        rx
    }

    /// Waits until every turn and compaction started has ended (each stores
    /// what it has when it is cancelled). A server shutting down cancels its
    /// turns, then waits here before it closes the database.
    pub async fn wait_idle(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    /// Gives up this handle. The last handle to go (closed or dropped) waits,
    /// blocking, until the store thread has finished the calls queued and
    /// closed the database, so a command that returns has checkpointed its
    /// writes. Clones still held elsewhere (a turn storing its reply) keep it
    /// open until they go.
    pub fn close(self) {
        self.thread.close();
    }
}

/// `SessionsDisabled` for a project, for faces that open no engine.
pub fn disabled(project: &Project) -> Error {
    Error::SessionsDisabled {
        config_path: project.config_path.clone(),
    }
}
