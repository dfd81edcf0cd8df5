//! The store thread: one OS thread that owns the project's `Sessions` and
//! runs the closures sent to it, in order.

use crate::error::{Error, Result};
use crate::sessions::Sessions;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce(&mut Sessions) + Send>;

/// A sender of jobs to the thread. When the last clone goes, the thread is
/// told to stop and joined: it finishes the jobs queued and closes the
/// database (checkpointing the WAL) before the process may exit.
#[derive(Debug, Clone)]
pub(super) struct Handle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Hang up first: the thread's loop ends when the queue is empty.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            // A job that held the last handle cannot wait for its own thread.
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

impl Handle {
    pub(super) fn spawn(sessions: Sessions) -> Result<Handle> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("atmos-store".into())
            .spawn(move || serve(sessions, queue))
            .map_err(|e| Error::Internal {
                message: format!("cannot start the store thread: {e}"),
            })?;
        Ok(Handle {
            inner: Arc::new(Inner {
                jobs: Some(jobs),
                thread: Some(thread),
            }),
        })
    }

    pub(super) fn send<T, F>(
        &self,
        f: F,
        reply: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()>
    where
        F: FnOnce(&mut Sessions) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let job: Job = Box::new(move |sessions| reply(f(sessions)));
        let jobs = self.inner.jobs.as_ref().ok_or_else(gone)?;
        jobs.send(job).map_err(|_| gone())
    }

    pub(super) async fn call<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Sessions) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await.map_err(|_| gone())?
    }

    pub(super) fn call_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Sessions) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv().map_err(|_| gone())?
    }

    /// Gives up this handle; the last one to go joins the thread.
    pub(super) fn close(self) {
        drop(self);
    }
}

fn serve(mut sessions: Sessions, queue: mpsc::Receiver<Job>) {
    for job in queue {
        // An edited atmos.yaml (or skills folder) applies from the next
        // call; a broken edit keeps the last good one.
        match sessions.refresh() {
            Ok(true) => tracing::info!("atmos.yaml changed: settings reloaded"),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                "atmos.yaml changed but cannot be used, keeping the previous settings: {e}"
            ),
        }
        // Leases whose guard was dropped (an error path, a task that went
        // away) are given back before and after each call.
        sessions.settle();
        // A panic in the core fails that call (its reply is dropped), not
        // the thread.
        if catch_unwind(AssertUnwindSafe(|| job(&mut sessions))).is_err() {
            tracing::error!("a store call panicked; the store goes on");
        }
        sessions.settle();
    }
    tracing::debug!("store closed");
}

fn gone() -> Error {
    Error::Internal {
        message: "the session store stopped unexpectedly; start again (see the log on stderr)"
            .into(),
    }
}
