//! The session shown, as other processes change it (their turns appear as
//! they are written, and a turn held elsewhere is shown and waited for),
//! and pinning.

use super::*;

/// What another process changed in the session shown.
#[derive(Debug, Clone)]
pub struct LiveUpdate {
    pub session: Session,
    /// New or changed messages, oldest first: one whose id is on screen
    /// replaces it.
    pub entries: Vec<Entry>,
    /// Another process holds the session's turn.
    pub replying_elsewhere: bool,
    /// The whole transcript again (and the next request's tokens): the
    /// history was rewritten elsewhere (a compaction, an uncompaction).
    pub reloaded: Option<(Vec<Entry>, u64)>,
}

impl App {
    /// The session the live view follows (the one shown).
    pub fn followed(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.id.as_str())
    }

    pub(super) fn live(&mut self, u: LiveUpdate) -> Vec<Effect> {
        if self.followed() != Some(u.session.id.as_str()) {
            return vec![];
        }
        // While this chat's own turn runs, what comes is its own.
        if self.streaming.is_some() || self.compacting.is_some() {
            return vec![];
        }
        let was = self.elsewhere;
        self.elsewhere = u.replying_elsewhere;
        match u.reloaded {
            Some((entries, tokens)) => {
                self.transcript = entries;
                self.tokens = tokens;
            }
            None => {
                for e in u.entries {
                    match self
                        .transcript
                        .iter()
                        .rposition(|t| t.id.is_some() && t.id == e.id)
                    {
                        Some(i) => self.transcript[i] = e,
                        None => self.transcript.push(e),
                    }
                }
            }
        }
        self.adopt(u.session);
        if was && !self.elsewhere {
            return self.send_queued();
        }
        vec![]
    }

    /// A session changed in the background (its AI title): the one shown
    /// takes it, and an open picker lists again.
    pub(super) fn seen(&mut self, session: Session) -> Vec<Effect> {
        if self.followed() == Some(session.id.as_str()) && self.streaming.is_none() {
            self.adopt(session);
        }
        self.relist()
    }

    /// The session list changed elsewhere: an open picker lists again.
    pub(super) fn relist(&mut self) -> Vec<Effect> {
        match &self.overlay {
            // Not while a rename, a search or a delete's confirmation is
            // open: the row they act on must not move under them.
            Overlay::Picker(p)
                if p.renaming.is_none() && p.search.is_none() && !p.confirm_delete =>
            {
                vec![Effect::ListSessions]
            }
            _ => vec![],
        }
    }

    /// Ctrl+T, `/pin`, `/unpin`: pins (or unpins) message `id`, or the last
    /// reply when `None`. `pin: None` toggles.
    pub(super) fn pin(&mut self, id: Option<i64>, pin: Option<bool>) -> Vec<Effect> {
        let Some(session) = &self.session else {
            self.transcript.push(Entry::error(
                "nothing to pin yet: this chat has no stored messages",
            ));
            return vec![];
        };
        let target = match id {
            Some(id) => self.transcript.iter().rfind(|e| e.id == Some(id)),
            None => self
                .transcript
                .iter()
                .rfind(|e| matches!(e.kind, EntryKind::Assistant { .. }) && e.id.is_some()),
        };
        let (message, pinned) = match (target, id) {
            (Some(e), _) => (e.id.expect("stored"), e.pinned),
            // Not on screen (an id from `sessions show --ids`): the store
            // says whether it exists.
            (None, Some(id)) => (id, false),
            (None, None) => {
                self.transcript.push(Entry::error(
                    "no stored reply to pin yet: /pin ID pins another message \
                     (`atmos ai sessions show NAME --ids` lists them)",
                ));
                return vec![];
            }
        };
        vec![Effect::Pin {
            id: session.id.clone(),
            message,
            pinned: pin.unwrap_or(!pinned),
        }]
    }

    pub(super) fn pinned(&mut self, result: Result<(Session, i64, bool), Failure>) -> Vec<Effect> {
        match result {
            Ok((session, id, pinned)) => {
                for e in self.transcript.iter_mut().filter(|e| e.id == Some(id)) {
                    *e = Entry {
                        pinned,
                        summarised: e.summarised && !pinned,
                        drawn: Default::default(),
                        ..e.clone()
                    };
                }
                self.transcript.push(Entry::note(if pinned {
                    format!("Pinned message {id}: never compacted, always sent (Ctrl+T or /unpin undoes it)")
                } else {
                    format!("Unpinned message {id}: a later compaction may summarise it")
                }));
                if self.followed() == Some(session.id.as_str()) {
                    self.adopt(session);
                }
            }
            Err(e) => self.transcript.push(Entry::error(e.message)),
        }
        vec![]
    }
}
