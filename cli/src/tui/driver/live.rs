//! What other processes change in the session shown (a turn from an editor,
//! `atmos ai ask`, another terminal), seen without a refresh: the core's
//! [`Watch`] polled on the event loop's live tick, and the engine's
//! background notices (AI titles). Also pinning, which the live view shows.

use super::{Driver, entries, entry_of, failure};
use crate::tui::app::{Event, LiveUpdate};
use atmos_ai::SessionKey;
use atmos_ai::engine::Notice;
use atmos_ai::watch::Watch;
use std::sync::{Arc, Mutex};

/// The driver's live state.
#[derive(Debug, Default)]
pub struct Live {
    watch: Arc<Mutex<Watch>>,
    /// The session followed (the one the chat shows).
    followed: Option<String>,
    notices: Option<tokio::sync::broadcast::Receiver<Notice>>,
}

impl Live {
    /// The live state of a driver on `engine`: its notices are followed
    /// from now (none is missed before the first tick).
    pub fn new(engine: Option<&atmos_ai::Engine>) -> Live {
        Live {
            notices: engine.map(atmos_ai::Engine::notices),
            ..Live::default()
        }
    }
}

impl Driver {
    /// One live tick: follows `current` (the session shown), and reports
    /// what other processes changed as the app's events.
    pub fn live(&mut self, current: Option<&str>) -> Vec<Event> {
        let Some(engine) = self.engine.clone() else {
            return vec![];
        };
        let mut events = Vec::new();
        let notices = self.live.notices.get_or_insert_with(|| engine.notices());
        while let Ok(Notice::Titled(session)) = notices.try_recv() {
            events.push(Event::SessionSeen(session));
        }
        let watch = self.live.watch.clone();
        let switch = (current.map(str::to_string) != self.live.followed)
            .then(|| (self.live.followed.take(), current.map(str::to_string)));
        if let Some((_, now)) = &switch {
            self.live.followed = now.clone();
        }
        let seen = engine.call_blocking(move |s| {
            let mut watch = watch.lock().expect("watch lock");
            if let Some((before, now)) = switch {
                if let Some(id) = before {
                    watch.unfollow(&id);
                }
                if let Some(id) = now {
                    // A session deleted meanwhile is simply not followed.
                    let _ = watch.follow(s, &SessionKey::Id(id), None);
                }
            }
            watch.poll(s)
        });
        let seen = match seen {
            Ok(seen) => seen,
            Err(e) => {
                tracing::warn!("watching the database failed: {e}");
                return events;
            }
        };
        if !seen.sessions.is_empty() {
            events.push(Event::ListChanged);
        }
        for update in seen.followed {
            let reloaded = match update.reload {
                true => match self.whole(&SessionKey::Id(update.session.id.clone())) {
                    Ok((all, _, tokens)) => Some((entries(&all, self.markers()), tokens)),
                    Err(_) => continue,
                },
                false => None,
            };
            let replying = update.replying_elsewhere;
            events.push(Event::Live(Box::new(LiveUpdate {
                entries: update
                    .messages
                    .iter()
                    .filter(|m| !m.is_summary)
                    // A reply still streaming elsewhere is not interrupted.
                    .map(|m| entry_of(m, m.interrupted && !replying))
                    .collect(),
                session: update.session,
                replying_elsewhere: replying,
                reloaded,
            })));
        }
        events
    }

    /// Pins (or unpins) message `message` of session `id`.
    pub(super) fn pin(&mut self, id: String, message: i64, pinned: bool) -> Vec<Event> {
        let result = self.call(move |s| s.pin(&SessionKey::Id(id), message, pinned));
        vec![Event::Pinned(
            result
                .map(|(session, m)| (session, m.id, m.pinned))
                .map_err(|e| failure(&e)),
        )]
    }
}
