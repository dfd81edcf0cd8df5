//! The sequence of a turn and of a compaction, once for every face.

use super::events::{Change, Started, TurnEvent};
use super::{CancellationToken, Engine, TurnEvents};
use crate::chat::{self, PreparedTurn, ReplyOutcome, TurnRequest};
use crate::compact::{self, CompactionResult, Stage};
use crate::config::Project;
use crate::error::Error;
use crate::history;
use crate::lease::LeaseGuard;
use crate::skills::Skills;
use atmos_store::SessionKey;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

type Tx = UnboundedSender<TurnEvent>;

/// Sends an event; a face that stopped listening does not stop the turn,
/// which still stores what it has.
fn send(tx: &Tx, event: TurnEvent) {
    let _ = tx.send(event);
}

pub(super) async fn chat(engine: Engine, request: TurnRequest, cancel: CancellationToken, tx: Tx) {
    let prepared = match engine.call(move |s| s.begin_turn(request)).await {
        Ok(p) => p,
        Err(error) => {
            return send(
                &tx,
                TurnEvent::Failed {
                    error,
                    partial: String::new(),
                },
            );
        }
    };
    let key = SessionKey::Id(
        prepared
            .session
            .as_ref()
            .map(|s| s.id.clone())
            .expect("a session turn"),
    );
    send(&tx, TurnEvent::Started(Box::new(started(&prepared))));
    let checkpoints = Checkpoints {
        engine: &engine,
        session_id: key_id(&key),
        row: prepared.checkpoint.clone(),
    };
    let (outcome, partial) = stream(&prepared, &cancel, &tx, Some(checkpoints)).await;
    if matches!(outcome, ReplyOutcome::Cancelled { .. }) {
        tracing::info!(session = ?key, "turn cancelled; storing the {} bytes that arrived", partial.len());
    }
    let estimated = prepared.estimated_input;
    // A session without a title may get one from this exchange.
    let question = prepared
        .session
        .as_ref()
        .filter(|s| s.title.is_none())
        .and(prepared.user_message.as_ref())
        .map(|m| m.content.clone());
    let finished = engine
        .call(move |s| Ok(s.finish_turn(prepared, outcome)))
        .await;
    let (finished, handover) = match finished {
        Ok(pair) => pair,
        Err(error) => return send(&tx, TurnEvent::Failed { error, partial }),
    };
    match finished {
        Ok(turn) => {
            if let Some(session) = &turn.session {
                let tokens = estimated + history::estimate_tokens(&turn.reply.content) + 4;
                send(
                    &tx,
                    TurnEvent::SessionChanged {
                        change: Change::Chat,
                        session: Box::new(session.clone()),
                        tokens,
                    },
                );
            }
            let titling = turn.titled.clone().zip(turn.session.clone()).zip(question);
            let reply = titling.as_ref().map(|_| turn.reply.content.clone());
            send(&tx, TurnEvent::Replied(Box::new(turn)));
            // `finish_turn` hands the lease over only when the reply made the
            // session due: otherwise there is nothing to ask the store.
            if handover.is_some() {
                compaction(&engine, key, false, handover, &cancel, &tx).await;
            }
            if let (Some(((plain, session), question)), Some(reply)) = (titling, reply) {
                engine.title_later(session, plain, question, reply);
            }
        }
        Err(error) => {
            // The user message (and any partial reply) is stored: the
            // session changed all the same.
            let now = engine.call(move |s| s.next_request_tokens(&key)).await;
            if let Ok((session, tokens)) = now {
                send(
                    &tx,
                    TurnEvent::SessionChanged {
                        change: Change::Chat,
                        session: Box::new(session),
                        tokens,
                    },
                );
            }
            send(&tx, TurnEvent::Failed { error, partial });
        }
    }
}

pub(super) async fn compact_now(
    engine: Engine,
    key: SessionKey,
    cancel: CancellationToken,
    tx: Tx,
) {
    compaction(&engine, key, true, None, &cancel, &tx).await;
}

fn started(p: &PreparedTurn) -> Started {
    Started {
        session: p.session.clone(),
        user_message: p.user_message.clone(),
        provider: p.provider_name.clone(),
        model: p.model.clone(),
        estimated_input: p.estimated_input,
        redacted: p.redacted,
    }
}

/// How often a streaming reply is stored while it arrives: after this long
/// since the last time, or this many new bytes, whichever comes first (never
/// per delta).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
const CHECKPOINT_BYTES: usize = 4096;

/// Where a session turn stores its reply while it streams.
struct Checkpoints<'a> {
    engine: &'a Engine,
    session_id: String,
    row: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

fn key_id(key: &SessionKey) -> String {
    match key {
        SessionKey::Id(id) | SessionKey::Name(id) => id.clone(),
    }
}

/// Phase 2 with the deltas sent as events, until the reply ends or `cancel`
/// fires; a session turn also stores what has arrived now and then (see
/// [`CHECKPOINT_EVERY`]). Returns the outcome and the text that arrived.
async fn stream(
    prepared: &PreparedTurn,
    cancel: &CancellationToken,
    tx: &Tx,
    checkpoints: Option<Checkpoints<'_>>,
) -> (ReplyOutcome, String) {
    let mut partial = String::new();
    let mut index = 0;
    let mut last = (std::time::Instant::now(), 0usize);
    let outcome = {
        let mut on_delta = |text: &str| {
            partial.push_str(text);
            if let Some(c) = &checkpoints {
                let (at, stored) = last;
                if at.elapsed() >= CHECKPOINT_EVERY || partial.len() - stored >= CHECKPOINT_BYTES {
                    let (id, row, text) = (c.session_id.clone(), c.row.clone(), partial.clone());
                    c.engine.queue("storing the reply so far", move |s| {
                        s.checkpoint_reply(&id, &row, &text)
                    });
                    last = (std::time::Instant::now(), partial.len());
                }
            }
            send(
                tx,
                TurnEvent::Delta {
                    index,
                    text: text.to_string(),
                },
            );
            index += 1;
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            outcome = chat::stream_reply(prepared, &mut on_delta) => Some(outcome),
        }
    };
    match outcome {
        Some(outcome) => (outcome, partial),
        None => (
            ReplyOutcome::Cancelled {
                partial: partial.clone(),
            },
            partial,
        ),
    }
}

/// What phase 1 of a compaction found.
enum Begun {
    Due(Box<compact::PreparedCompaction>),
    NotDue,
    /// Forced, with nothing to compact: the tokens of what is active.
    Nothing(u64),
}

/// Compacts the session when it is due (always with `force`), reporting
/// each stage.
async fn compaction(
    engine: &Engine,
    key: SessionKey,
    force: bool,
    handover: Option<LeaseGuard>,
    cancel: &CancellationToken,
    tx: &Tx,
) {
    let begun = engine
        .call(move |s| match s.begin_compaction(&key, force, handover)? {
            Some(p) => Ok(Begun::Due(Box::new(p))),
            // After a turn, "nothing due" stays O(1): no history read.
            None if !force => Ok(Begun::NotDue),
            None => {
                let session = s.get(&key)?;
                Ok(Begun::Nothing(s.active_tokens(&session)?))
            }
        })
        .await;
    let prepared = match begun {
        Ok(Begun::Due(p)) => *p,
        Ok(Begun::NotDue) => return,
        Ok(Begun::Nothing(tokens)) => {
            return send(
                tx,
                TurnEvent::Compacted(Box::new(CompactionResult::nothing(tokens))),
            );
        }
        // Another process is compacting it (or chatting in it) now.
        Err(Error::Busy { .. }) if !force => return,
        Err(error) => return send(tx, TurnEvent::CompactionFailed { error }),
    };
    for stage in [Stage::Starting, Stage::Summarizing] {
        send(tx, TurnEvent::Compaction(prepared.event(stage, None, None)));
    }
    let summary = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        summary = compact::summarize(&prepared) => Some(summary),
    };
    let Some(summary) = summary else {
        let event = prepared.event(
            Stage::Failed,
            None,
            Some("cancelled: nothing was changed".into()),
        );
        let _ = engine
            .call(move |s| {
                s.abandon_compaction(prepared);
                Ok(())
            })
            .await;
        send(tx, TurnEvent::Compaction(event));
        return send(
            tx,
            TurnEvent::CompactionFailed {
                error: Error::Cancelled,
            },
        );
    };
    let id = SessionKey::Id(prepared.session.id.clone());
    let finished = engine
        .call(move |s| {
            let mut events = Vec::new();
            let result = s.finish_compaction_reporting(prepared, summary, &mut |e| events.push(e));
            let now = result
                .as_ref()
                .ok()
                .and_then(|_| s.next_request_tokens(&id).ok());
            Ok((result, events, now))
        })
        .await;
    let (result, events, now) = match finished {
        Ok(f) => f,
        Err(error) => return send(tx, TurnEvent::CompactionFailed { error }),
    };
    for event in events {
        send(tx, TurnEvent::Compaction(event));
    }
    match result {
        Ok(result) => {
            if let Some((session, tokens)) = now {
                send(
                    tx,
                    TurnEvent::SessionChanged {
                        change: Change::Compacted,
                        session: Box::new(session),
                        tokens,
                    },
                );
            }
            send(tx, TurnEvent::Compacted(Box::new(result)));
        }
        Err(error) => send(tx, TurnEvent::CompactionFailed { error }),
    }
}

/// A turn that stores nothing.
#[derive(Debug, Clone, Default)]
pub struct OneShot {
    /// The conversation so far, kept by the caller for the run (oldest
    /// first; empty for a single question).
    pub history: Vec<(atmos_store::Role, String)>,
    /// `None`: the project's default provider.
    pub provider: Option<String>,
    /// `None`: the provider's default model.
    pub model: Option<String>,
    /// `None`: the default skill.
    pub skill: Option<String>,
    pub message: String,
    pub stream: bool,
}

/// Runs a turn that keeps nothing (sessions off, or `ask` without
/// `--session`), with the events of a session turn but no `SessionChanged`
/// and no compaction. Call it inside a tokio runtime.
pub fn one_shot(
    project: &Project,
    skills: &Skills,
    turn: OneShot,
    cancel: CancellationToken,
) -> TurnEvents {
    let (tx, rx) = unbounded_channel();
    let prepared = chat::prepare_one_shot(project, skills, &turn);
    match prepared {
        Err(error) => send(
            &tx,
            TurnEvent::Failed {
                error,
                partial: String::new(),
            },
        ),
        Ok(mut prepared) => {
            prepared.request.stream = turn.stream;
            tokio::spawn(async move {
                send(&tx, TurnEvent::Started(Box::new(started(&prepared))));
                let (outcome, partial) = stream(&prepared, &cancel, &tx, None).await;
                match chat::finish_one_shot(prepared, outcome) {
                    Ok(turn) => send(&tx, TurnEvent::Replied(Box::new(turn))),
                    Err(error) => send(&tx, TurnEvent::Failed { error, partial }),
                }
            });
        }
    }
    rx
}
