//! `atmos/chat` and `atmos/session/compact`: the engine's events as
//! JSON-RPC. The engine (`atmos_ai::engine`) sequences the turn and its
//! compaction; this module only converts what it reports:
//!
//! - `Delta` → `atmos/chat/delta` (numbered from 0, with the request's token);
//! - `SessionChanged` → `atmos/sessions/changed` (`chat`, or `updated` after a
//!   compaction);
//! - `Compaction` → `atmos/compact/status`;
//! - `Replied`/`Failed` and `Compacted` → the response.
//!
//! The turn runs in the engine's task, apart from the request's handler:
//! when `$/cancelRequest` (or `exit`) drops the handler, its cancellation
//! token fires, the engine stops the provider call and still stores the part
//! of the reply that arrived, marked interrupted, and releases the lease.
//! The request itself answers -32800.

use crate::proto::{
    self, ChangeReason, ChatArgs, ChatDelta, CompactStatus, Notify, SessionsChanged, ToWire,
};
use atmos_ai::engine::{CancellationToken, Change, TurnEvent, TurnEvents};
use atmos_ai::{Engine, SessionKey, compact};
use serde_json::Value;
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc::Result;

/// Runs one chat turn and its automatic compaction; answers when both are
/// done. Dropping the returned future cancels the turn (see the module doc).
pub async fn chat(client: Client, engine: Engine, args: ChatArgs) -> Result<proto::ChatResult> {
    let cancel = CancellationToken::new();
    // Held until the turn answers: if this future is dropped first, the
    // guard cancels the turn.
    let _cancel_on_drop = cancel.clone().drop_guard();
    let events = engine.chat(args.turn, cancel.clone());
    // The events are forwarded in a task of its own, so that the
    // notifications of a cancelled turn (`sessions/changed`) still go out.
    tokio::spawn(forward_turn(
        client,
        events,
        args.token,
        args.stream,
        cancel,
    ))
    .await
    .map_err(|e| crate::errors::internal(format!("the chat turn failed: {e}")))?
}

async fn forward_turn(
    client: Client,
    mut events: TurnEvents,
    token: Option<Value>,
    stream: bool,
    cancel: CancellationToken,
) -> Result<proto::ChatResult> {
    let mut session_id = String::new();
    let mut replied = None;
    let mut failure = None;
    let mut compaction = None;
    let mut redacted = None;
    while let Some(event) = events.recv().await {
        match event {
            TurnEvent::Started(started) => {
                redacted = (started.redacted > 0).then_some(started.redacted);
                session_id = started.session.map(|s| s.id).unwrap_or_default();
            }
            // Once stopped, what is still queued is not sent.
            TurnEvent::Delta { index, text } if stream && !cancel.is_cancelled() => {
                let params = proto::ChatDeltaParams {
                    session_id: session_id.clone(),
                    token: token.clone(),
                    index,
                    text,
                };
                client.send_notification::<Notify<ChatDelta>>(params).await;
            }
            TurnEvent::Delta { .. } => {}
            TurnEvent::Replied(turn) => replied = Some(turn),
            TurnEvent::Failed { error, .. } => failure = Some(error),
            // The reply is stored: a failed automatic compaction does not
            // fail the turn.
            TurnEvent::CompactionFailed { error } => {
                tracing::warn!(session = %session_id, "the automatic compaction failed: {error}");
            }
            other => {
                if let Some(result) = forward_compaction(&client, other).await? {
                    compaction = Some(result).filter(|r| r.compacted);
                }
            }
        }
    }
    if let Some(error) = failure {
        return Err(crate::errors::to_rpc(error));
    }
    let turn =
        replied.ok_or_else(|| crate::errors::internal("the chat turn ended without a reply"))?;
    Ok(proto::ChatResult {
        session_id: turn.session.map(|s| s.id).unwrap_or(session_id),
        reply: turn.reply.into(),
        usage: turn.usage.into(),
        compaction: compaction.map(ToWire::to_wire),
        redacted,
    })
}

/// Compacts a session now, whatever the threshold (`atmos/session/compact`),
/// and announces the change when there was one. A cancelled request does not
/// stop the compaction: it runs to its end, and the request answers -32800.
pub async fn compact(
    client: &Client,
    engine: &Engine,
    key: SessionKey,
) -> Result<compact::CompactionResult> {
    let mut events = engine.compact(key, CancellationToken::new());
    let client = client.clone();
    tokio::spawn(async move {
        let mut result = None;
        while let Some(event) = events.recv().await {
            if let Some(r) = forward_compaction(&client, event).await? {
                result = Some(r);
            }
        }
        result.ok_or_else(|| crate::errors::internal("the compaction ended without a result"))
    })
    .await
    .map_err(|e| crate::errors::internal(format!("the compaction failed: {e}")))?
}

/// Sends the notification of a session or compaction event; returns the
/// compaction's result when the event is its end.
async fn forward_compaction(
    client: &Client,
    event: TurnEvent,
) -> Result<Option<compact::CompactionResult>> {
    match event {
        TurnEvent::SessionChanged {
            change, session, ..
        } => {
            let reason = match change {
                Change::Chat => ChangeReason::Chat,
                Change::Compacted => ChangeReason::Updated,
            };
            client
                .send_notification::<Notify<SessionsChanged>>(proto::changed(reason, &session))
                .await;
        }
        TurnEvent::Compaction(event) => {
            client
                .send_notification::<Notify<CompactStatus>>(event.to_wire())
                .await;
        }
        TurnEvent::Compacted(result) => return Ok(Some(*result)),
        TurnEvent::CompactionFailed { error } => {
            tracing::warn!("the compaction failed: {error}");
            return Err(crate::errors::to_rpc(error));
        }
        _ => {}
    }
    Ok(None)
}
