//! Drives the core's three-phase chat turn and compaction for the server:
//! phase 1 and 3 on the store thread, phase 2 (the provider call) on the
//! executor with no store held, and the notifications around them
//! (`atmos/chat/delta`, `atmos/compact/status`, `atmos/sessions/changed`).
//!
//! A turn runs in a task of its own, apart from the request's handler: when
//! `$/cancelRequest` (or `exit`) drops the handler, the turn is told to stop,
//! the provider call is dropped (which cancels the HTTP request), and the
//! part of the reply that arrived is still stored as interrupted and the
//! session's turn lease released. The request itself answers -32800.

use crate::proto::{self, ChangeReason, ChatArgs, ChatDelta, CompactStatus, SessionsChangedParams};
use crate::workspace::Store;
use atmos_ai::chat::{self, PreparedTurn, ReplyOutcome};
use atmos_ai::compact::{self, Stage};
use atmos_ai::{SessionKey, history};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc::Result;

/// Runs one chat turn and its automatic compaction; answers when both are
/// done. Dropping the returned future cancels the turn (see the module doc).
pub async fn chat(client: Client, store: Store, args: ChatArgs) -> Result<proto::ChatResult> {
    let (stop, stopped) = oneshot::channel::<()>();
    let turn = tokio::spawn(run_turn(client, store, args, stopped));
    // Held until the turn answers: if this future is dropped first, `stop`
    // goes with it and the turn stops.
    let _stop_on_drop = stop;
    turn.await
        .map_err(|e| crate::errors::internal(format!("the chat turn failed: {e}")))?
}

async fn run_turn(
    client: Client,
    store: Store,
    args: ChatArgs,
    mut stopped: oneshot::Receiver<()>,
) -> Result<proto::ChatResult> {
    let key = args.turn.key.clone();
    let turn = args.turn;
    let prepared = store.call(move |s| s.begin_turn(turn)).await?;
    let session = prepared.session.clone().expect("a session turn");
    let (deltas, queue) = mpsc::unbounded_channel::<String>();
    let forwarder = tokio::spawn(forward_deltas(
        client.clone(),
        queue,
        session.id.clone(),
        args.token,
        args.stream,
    ));

    let mut partial = String::new();
    let outcome = {
        let (prepared, partial) = (&prepared, &mut partial);
        let streaming = async move {
            let mut on_delta = move |text: &str| {
                partial.push_str(text);
                let _ = deltas.send(text.to_string());
            };
            chat::stream_reply(prepared, &mut on_delta).await
        };
        tokio::select! {
            biased;
            _ = &mut stopped => None,
            outcome = streaming => Some(outcome),
        }
    };
    let finished = match outcome {
        Some(outcome) => {
            // Every delta is out before the response.
            let _ = forwarder.await;
            finish(&store, prepared, outcome).await
        }
        None => {
            forwarder.abort();
            tracing::info!(session = %session.id, "chat cancelled; storing the {} bytes that arrived", partial.len());
            finish(&store, prepared, ReplyOutcome::Cancelled { partial }).await
        }
    };
    // The user message is stored in every case, so the session changed.
    let now = store.call(move |s| s.get(&key)).await.unwrap_or(session);
    client
        .send_notification::<proto::SessionsChanged>(SessionsChangedParams::of(
            ChangeReason::Chat,
            &now,
        ))
        .await;
    let finished = finished?;
    let compaction = match compaction(&client, &store, SessionKey::Id(now.id.clone()), false).await
    {
        Ok(result) => {
            let result = result.filter(|r| r.compacted);
            if let Some(r) = &result {
                let _ = announce_compaction(&client, &store, r).await;
            }
            result
        }
        Err(e) => {
            tracing::warn!(session = %now.id, "the automatic compaction failed: {}", e.message);
            None
        }
    };
    Ok(proto::ChatResult {
        session_id: now.id,
        reply: finished.reply.into(),
        usage: finished.usage.into(),
        compaction: compaction.map(proto::CompactionResult::from),
    })
}

async fn finish(
    store: &Store,
    prepared: PreparedTurn,
    outcome: ReplyOutcome,
) -> Result<chat::FinishedTurn> {
    store.call(move |s| s.finish_turn(prepared, outcome)).await
}

/// Sends each piece as `atmos/chat/delta`, numbered from 0, until the
/// stream ends (the sender is dropped).
async fn forward_deltas(
    client: Client,
    mut queue: mpsc::UnboundedReceiver<String>,
    session_id: String,
    token: Option<Value>,
    send: bool,
) {
    let mut index = 0;
    while let Some(text) = queue.recv().await {
        if send {
            let params = proto::ChatDeltaParams {
                session_id: session_id.clone(),
                token: token.clone(),
                index,
                text,
            };
            client.send_notification::<ChatDelta>(params).await;
        }
        index += 1;
    }
}

/// Compacts a session now, whatever the threshold (`atmos/session/compact`),
/// and announces the change when there was one.
pub async fn compact(
    client: &Client,
    store: &Store,
    key: SessionKey,
) -> Result<compact::CompactionResult> {
    // In a task of its own: a cancelled request must not drop a compaction
    // half-way (its lease would stay taken); it runs to its end, and the
    // request answers -32800.
    let (client, store) = (client.clone(), store.clone());
    tokio::spawn(async move {
        let result = compaction(&client, &store, key, true)
            .await?
            .unwrap_or_else(|| compact::CompactionResult::nothing(0));
        announce_compaction(&client, &store, &result).await?;
        Ok(result)
    })
    .await
    .map_err(|e| crate::errors::internal(format!("the compaction failed: {e}")))?
}

/// `atmos/sessions/changed` (updated) after a compaction changed a session's
/// counters.
async fn announce_compaction(
    client: &Client,
    store: &Store,
    result: &compact::CompactionResult,
) -> Result<()> {
    if let Some(summary) = result.summary.as_ref().filter(|_| result.compacted) {
        let id = SessionKey::Id(summary.session_id.clone());
        let session = store.call(move |s| s.get(&id)).await?;
        client
            .send_notification::<proto::SessionsChanged>(SessionsChangedParams::of(
                ChangeReason::Updated,
                &session,
            ))
            .await;
    }
    Ok(())
}

/// Compacts a session when it is due (always with `force`), reporting each
/// stage as `atmos/compact/status`. `Ok(None)` when there was nothing to do
/// and `force` was not given; with `force`, nothing to do is a result with
/// `compacted: false`.
pub async fn compaction(
    client: &Client,
    store: &Store,
    key: SessionKey,
    force: bool,
) -> Result<Option<atmos_ai::compact::CompactionResult>> {
    let begun = store
        .call(move |s| match s.begin_compaction(&key, force)? {
            Some(prepared) => Ok(Err(prepared)),
            // After a turn, "nothing due" must stay O(1): no history read.
            None if !force => Ok(Ok(0)),
            None => {
                let session = s.get(&key)?;
                let window = s.store().active_window(&session.id, None)?;
                let tokens = window
                    .iter()
                    .map(|m| history::estimate_tokens(&m.content))
                    .sum();
                Ok(Ok(tokens))
            }
        })
        .await?;
    let prepared = match begun {
        Ok(tokens) => return Ok(force.then(|| compact::CompactionResult::nothing(tokens))),
        Err(prepared) => prepared,
    };
    for stage in [Stage::Starting, Stage::Summarizing] {
        status(client, prepared.event(stage, None, None)).await;
    }
    let summary = compact::summarize(&prepared).await;
    let (result, events) = store
        .call(move |s| {
            let mut events = Vec::new();
            let result = s.finish_compaction_reporting(prepared, summary, &mut |e| events.push(e));
            Ok((result, events))
        })
        .await?;
    for event in events {
        status(client, event).await;
    }
    result.map(Some).map_err(crate::errors::to_rpc)
}

async fn status(client: &Client, event: compact::CompactionEvent) {
    client
        .send_notification::<CompactStatus>(event.into())
        .await;
}
