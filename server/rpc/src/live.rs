//! What other processes change, as notifications: the core's
//! [`Watch`](atmos_ai::watch::Watch) polled every
//! [`POLL_INTERVAL`](atmos_ai::watch::POLL_INTERVAL) once the engine is
//! open, and the engine's background [`Notice`]s (AI titles).
//!
//! - a session created, deleted, renamed or changed elsewhere →
//!   `atmos/sessions/changed`;
//! - a followed session (`atmos/session/subscribe`) changed elsewhere →
//!   `atmos/session/updated`, with its new messages and whether another
//!   process is replying in it.

use crate::proto::{self, ChangeReason, Notify, SessionUpdated, SessionsChanged};
use crate::workspace::Workspace;
use atmos_ai::engine::{CancellationToken, Notice};
use atmos_ai::watch::{FollowUpdate, ListChange, POLL_INTERVAL, Seen, Watch};
use atmos_ai::{Engine, Session, SessionKey};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::TryRecvError;
use tower_lsp_server::Client;

/// The watch of one server, and its polling task.
#[derive(Debug, Default)]
pub struct Live {
    watch: Arc<Mutex<Watch>>,
    stop: CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Live {
    /// Starts polling (once; later calls do nothing).
    pub fn start(&self, client: Client, workspace: Arc<Workspace>) {
        let mut task = self.task.lock().expect("live task lock");
        if task.is_some() || self.stop.is_cancelled() {
            return;
        }
        let watch = self.watch.clone();
        let stop = self.stop.clone();
        *task = Some(tokio::spawn(async move {
            let mut notices = None;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                }
                // The engine opens on the first request that needs it; the
                // watch starts then. Each tick holds it only for its call.
                let Some(engine) = workspace.engine_if_open().await else {
                    continue;
                };
                if notices.is_none() {
                    notices = workspace.take_notices().await;
                }
                if let Some(notices) = &mut notices {
                    forward_notices(&client, notices).await;
                }
                let watch = watch.clone();
                match engine
                    .call(move |s| watch.lock().expect("watch lock").poll(s))
                    .await
                {
                    Ok(seen) => forward(&client, seen).await,
                    Err(e) => tracing::warn!("watching the database failed: {e}"),
                }
            }
        }));
    }

    /// Stops polling and waits for the task to end (before the engine
    /// closes, so that it holds no handle of it).
    pub async fn stop(&self) {
        self.stop.cancel();
        let task = self.task.lock().expect("live task lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Follows a session; what is newer than `after` goes out at once as
    /// `atmos/session/updated`.
    pub async fn follow(
        &self,
        client: &Client,
        engine: &Engine,
        key: SessionKey,
        after: Option<i64>,
    ) -> atmos_ai::Result<(Session, bool)> {
        let watch = self.watch.clone();
        let (session, replying, update) = engine
            .call(move |s| watch.lock().expect("watch lock").follow(s, &key, after))
            .await?;
        if let Some(update) = update {
            send_update(client, update).await;
        }
        Ok((session, replying))
    }

    /// Stops following a session; false when it was not followed.
    pub async fn unfollow(&self, engine: &Engine, key: SessionKey) -> atmos_ai::Result<bool> {
        let watch = self.watch.clone();
        engine
            .call(move |s| {
                let id = s.get(&key)?.id;
                Ok(watch.lock().expect("watch lock").unfollow(&id))
            })
            .await
    }
}

async fn forward(client: &Client, seen: Seen) {
    for s in seen.sessions {
        let reason = match s.change {
            ListChange::Created => ChangeReason::Created,
            ListChange::Deleted => ChangeReason::Deleted,
            ListChange::Renamed => ChangeReason::Renamed,
            ListChange::Chat => ChangeReason::Chat,
            ListChange::Updated => ChangeReason::Updated,
        };
        client
            .send_notification::<Notify<SessionsChanged>>(proto::SessionsChangedParams {
                reason,
                session_id: Some(s.session_id),
                name: Some(s.name),
            })
            .await;
    }
    for update in seen.followed {
        send_update(client, update).await;
    }
}

async fn send_update(client: &Client, u: FollowUpdate) {
    client
        .send_notification::<Notify<SessionUpdated>>(proto::SessionUpdatedParams {
            session_id: u.session.id.clone(),
            session: (&u.session).into(),
            messages: u.messages.iter().map(Into::into).collect(),
            replying_elsewhere: u.replying_elsewhere,
            reload: u.reload,
        })
        .await;
}

async fn forward_notices(client: &Client, notices: &mut tokio::sync::broadcast::Receiver<Notice>) {
    loop {
        match notices.try_recv() {
            Ok(Notice::Titled(session)) => {
                client
                    .send_notification::<Notify<SessionsChanged>>(proto::changed(
                        ChangeReason::Updated,
                        &session,
                    ))
                    .await;
            }
            Err(TryRecvError::Lagged(_)) => continue,
            Err(_) => break,
        }
    }
}
