//! Shortcuts for tests (feature `testing`, which only test builds turn on):
//! writing history without a provider, and making sessions old. The faces
//! never see these.

use crate::compact::{CompactionResult, SummaryText};
use crate::error::Result;
use crate::sessions::Sessions;
use atmos_store::{Message, NewMessage, Session, SessionKey};
use chrono::{DateTime, Utc};

impl Sessions {
    /// Appends a message as a turn would, without a provider.
    pub fn append_for_tests(&mut self, session_id: &str, message: &NewMessage) -> Result<Message> {
        Ok(self.store_mut().append_message(session_id, message)?)
    }

    /// Makes a session look last active at `at`.
    pub fn set_last_active(&mut self, key: &SessionKey, at: DateTime<Utc>) -> Result<Session> {
        Ok(self.store_mut().set_updated_at(key, at)?)
    }

    /// Compacts when due (always with `force`) with the plain summary, all
    /// on this thread. `Ok(None)`: nothing to compact.
    pub fn compact_plainly(
        &mut self,
        key: &SessionKey,
        force: bool,
    ) -> Result<Option<CompactionResult>> {
        let Some(p) = self.begin_compaction(key, force, None)? else {
            return Ok(None);
        };
        let summary = SummaryText {
            content: p.plain.clone(),
            used_ai: false,
            fallback_reason: None,
        };
        self.finish_compaction(p, summary).map(Some)
    }
}
