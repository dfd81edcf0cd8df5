//! The chat screen: keys on the transcript and the input, sending.

use super::*;

impl App {
    pub(super) fn chat_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
        if k.code == crossterm::event::KeyCode::Tab && self.complete_command() {
            return vec![];
        }
        let Some(action) = action else {
            if self.input.edit(k) {
                self.history_pos = None;
            }
            return vec![];
        };
        match action {
            Action::Send => return self.send(),
            Action::Newline => self.input.insert("\n"),
            Action::CancelReply if self.streaming.is_some() => return vec![Effect::Cancel],
            Action::CancelOrQuit => {
                if self.streaming.is_some() {
                    return vec![Effect::Cancel];
                }
                // A draft is never lost: the first press keeps it in the Up
                // history and clears the input; the next one quits.
                if !self.input.text.trim().is_empty() {
                    let draft = self.input.take();
                    self.history.push(draft);
                    self.history_pos = None;
                    self.transcript.push(Entry::note(
                        "Draft kept: press Up to get it back, or Ctrl+C again to quit",
                    ));
                    return vec![];
                }
                return vec![Effect::Quit];
            }
            // In a message of several lines, Up and Down move between them
            // first; at its top (or bottom) line they go through the history.
            Action::HistoryPrev if self.history_pos.is_none() && self.input.line_up() => {}
            Action::HistoryNext if self.history_pos.is_none() && self.input.line_down() => {}
            Action::HistoryPrev if self.input.text.is_empty() || self.history_pos.is_some() => {
                let pos = match self.history_pos {
                    None => self.history.len().checked_sub(1),
                    Some(p) => Some(p.saturating_sub(1)),
                };
                if let Some(p) = pos {
                    self.history_pos = Some(p);
                    self.input.set(self.history[p].clone());
                }
            }
            Action::HistoryNext => {
                if let Some(p) = self.history_pos {
                    if p + 1 < self.history.len() {
                        self.history_pos = Some(p + 1);
                        self.input.set(self.history[p + 1].clone());
                    } else {
                        self.history_pos = None;
                        self.input.set("");
                    }
                }
            }
            Action::PageUp => {
                self.scroll += self.page();
                self.clamp_scroll();
            }
            Action::PageDown => self.scroll = self.scroll.saturating_sub(self.page()),
            Action::OpenForm => {
                let mut effects = self.open_form();
                effects.push(Effect::RefreshCatalog);
                return effects;
            }
            Action::OpenPicker => {
                self.overlay = Overlay::Picker(Picker {
                    loading: true,
                    ..Picker::default()
                });
                if self.sessions_enabled {
                    return vec![Effect::ListSessions];
                }
            }
            Action::OpenSkills => {
                let selected = self
                    .skills
                    .iter()
                    .position(|s| s.name == self.skill)
                    .unwrap_or(0);
                self.overlay = Overlay::Skills { selected };
                return vec![Effect::RefreshCatalog];
            }
            Action::Retry => return self.retry(),
            Action::Pin => return self.pin(None, None),
            Action::Compose => {
                return vec![Effect::Compose {
                    draft: self.input.text.clone(),
                }];
            }
            Action::CopyReply => return self.copy(false),
            Action::CopyCode => return self.copy(true),
            Action::ToggleMouse => {
                self.mouse_released = !self.mouse_released;
                self.transcript.push(Entry::note(if self.mouse_released {
                    "Mouse released: select text with it as usual; F2 takes it back for scrolling"
                } else {
                    "Mouse taken back: the wheel scrolls the transcript"
                }));
                return vec![Effect::MouseCapture(!self.mouse_released)];
            }
            Action::OpenProviders => {
                let provider = self.provider_index(&self.provider);
                self.overlay = Overlay::Providers(Switcher {
                    provider,
                    model: TextField::with(self.model.clone()),
                    on_model: false,
                    error: None,
                });
                return vec![Effect::RefreshCatalog];
            }
            Action::Help => self.help = true,
            Action::HelpIfEmpty => {
                if self.input.text.is_empty() {
                    self.help = true;
                } else {
                    self.input.insert("?");
                }
            }
            _ => {}
        }
        vec![]
    }

    pub(super) fn send(&mut self) -> Vec<Effect> {
        if self.input.text.trim().is_empty() {
            return vec![];
        }
        if let Some(effects) = self.command() {
            return effects;
        }
        // `//text` sends `/text` (a message that would read as a command).
        if self.input.text.trim_start().starts_with("//") {
            let text = self.input.text.trim_start()[1..].to_string();
            self.input.set(text);
        }
        // While a reply streams or a compaction runs, the message waits its
        // turn instead of being refused.
        if self.streaming.is_some() || self.compacting.is_some() || self.elsewhere {
            let text = self.input.take();
            self.history.push(text.clone());
            self.history_pos = None;
            self.queued.push_back(text.clone());
            let first = text.lines().next().unwrap_or_default();
            self.transcript.push(Entry::note(format!(
                "Queued, sent when the session is free ({} waiting): {first}",
                self.queued.len()
            )));
            return vec![];
        }
        let text = self.input.take();
        self.history.push(text.clone());
        self.send_text(text)
    }

    /// Ctrl+R: the last question again. Its reply stays on screen, dimmed
    /// and marked archived (so it is in the session), and a new one streams.
    pub(super) fn retry(&mut self) -> Vec<Effect> {
        if self.streaming.is_some() || self.compacting.is_some() {
            self.transcript.push(Entry::error(
                "a reply is under way: wait for it (or press Esc), then Ctrl+R asks again",
            ));
            return vec![];
        }
        let Some(question) = self
            .transcript
            .iter()
            .rposition(|e| e.kind == EntryKind::User && !e.summarised)
        else {
            self.transcript.push(Entry::error(
                "nothing to ask again yet: send a message first",
            ));
            return vec![];
        };
        let text = self.transcript[question].text.clone();
        for e in &mut self.transcript[question + 1..] {
            if matches!(e.kind, EntryKind::Assistant { .. }) {
                *e = Entry::summarised(e.kind, std::mem::take(&mut e.text));
            }
        }
        let first = text.lines().next().unwrap_or_default();
        self.transcript
            .push(Entry::note(format!("Asking again: {first}")));
        self.scroll = 0;
        self.streaming = Some(Streaming {
            provider: self.provider.clone(),
            ..Streaming::default()
        });
        vec![Effect::Retry {
            session: self.session.as_ref().map(|s| s.id.clone()),
            provider: self.provider.clone(),
            model: self.model.clone(),
            skill: self.skill.clone(),
        }]
    }

    /// Sends `text` as the next turn (the session is free).
    pub(super) fn send_text(&mut self, text: String) -> Vec<Effect> {
        self.history_pos = None;
        self.scroll = 0;
        self.transcript
            .push(Entry::new(EntryKind::User, text.clone()));
        self.streaming = Some(Streaming {
            provider: self.provider.clone(),
            ..Streaming::default()
        });
        vec![Effect::Send {
            session: self.session.as_ref().map(|s| s.id.clone()),
            provider: self.provider.clone(),
            model: self.model.clone(),
            skill: self.skill.clone(),
            text,
        }]
    }

    pub(super) fn provider_index(&self, name: &str) -> usize {
        self.providers
            .iter()
            .position(|p| p.name == name)
            .unwrap_or(0)
    }

    /// The last reply (or its last code block) to the clipboard.
    pub(super) fn copy(&mut self, code: bool) -> Vec<Effect> {
        let reply = self
            .transcript
            .iter()
            .rev()
            .find(|e| matches!(e.kind, EntryKind::Assistant { .. }));
        let found = match (reply, code) {
            (None, _) => None,
            (Some(r), false) => Some(("the last reply".to_string(), r.text.clone())),
            (Some(_), true) => self
                .transcript
                .iter()
                .rev()
                .filter(|e| matches!(e.kind, EntryKind::Assistant { .. }))
                .find_map(|e| last_code_block(&e.text))
                .map(|c| ("the last code block".to_string(), c)),
        };
        match found {
            Some((what, text)) => vec![Effect::Copy { what, text }],
            None => {
                self.transcript.push(Entry::error(if code {
                    "no reply has a code block to copy yet"
                } else {
                    "there is no reply to copy yet"
                }));
                vec![]
            }
        }
    }
}

/// The content of the last fenced code block in `markdown`, if any.
fn last_code_block(markdown: &str) -> Option<String> {
    let mut last = None;
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        let fence = line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~");
        match (&mut current, fence) {
            (None, true) => current = Some(Vec::new()),
            (Some(lines), true) => {
                last = Some(lines.join("\n"));
                current = None;
            }
            (Some(lines), false) => lines.push(line),
            (None, false) => {}
        }
    }
    last
}
