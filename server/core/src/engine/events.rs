//! What a turn (or a compaction) reports, in the order it happens.

use crate::chat::FinishedTurn;
use crate::compact::{CompactionEvent, CompactionResult};
use crate::error::Error;
use atmos_store::{Message, Session};

/// The events of one [`Engine::chat`](super::Engine::chat) call, in this
/// order:
///
/// 1. `Started` once the user message is stored and the provider called
///    (or `Failed` alone when the turn could not start: nothing was stored);
/// 2. `Delta`s as the reply streams (numbered from 0);
/// 3. `SessionChanged` (`Chat`) with the session's new counters, in a session
///    turn, whatever the outcome (the user message is stored in every case);
/// 4. `Replied` with the stored reply, or `Failed` (a cancel is
///    `Error::Cancelled`; what arrived is stored marked interrupted);
/// 5. after a reply that made the session due: `Compaction` stages
///    (starting, summarizing, completed or failed), then `SessionChanged`
///    (`Compacted`) and `Compacted`, or `CompactionFailed`. A failed
///    compaction does not fail the turn, whose reply is stored already.
///
/// The stream ends when all is done.
#[derive(Debug)]
pub enum TurnEvent {
    Started(Box<Started>),
    Delta {
        index: u64,
        text: String,
    },
    SessionChanged {
        change: Change,
        session: Box<Session>,
        /// The estimated tokens of the session's next request.
        tokens: u64,
    },
    Replied(Box<FinishedTurn>),
    Failed {
        error: Error,
        /// The part of the reply that arrived (stored, marked interrupted,
        /// in a session turn).
        partial: String,
    },
    Compaction(CompactionEvent),
    Compacted(Box<CompactionResult>),
    CompactionFailed {
        error: Error,
    },
}

/// A turn that began.
#[derive(Debug, Clone)]
pub struct Started {
    /// `None` for a one-shot turn.
    pub session: Option<Session>,
    /// The stored user message (`None` for a one-shot turn).
    pub user_message: Option<Message>,
    pub provider: String,
    pub model: String,
    /// The estimated tokens of the request.
    pub estimated_input: u64,
    /// Secrets masked in the message before it was stored or sent
    /// (`ai.sessions.redact`).
    pub redacted: usize,
}

/// Why a session changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A turn stored its messages.
    Chat,
    /// A compaction archived messages under a summary.
    Compacted,
}

/// The receiving end of a turn's events.
pub type TurnEvents = tokio::sync::mpsc::UnboundedReceiver<TurnEvent>;
