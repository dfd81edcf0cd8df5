//! The session picker: filter, switch, rename, delete.

use super::*;

/// The session picker.
#[derive(Debug, Clone, Default)]
pub struct Picker {
    pub all: Vec<Session>,
    pub loading: bool,
    /// `None`: every provider.
    pub filter: Option<String>,
    pub selected: usize,
    pub renaming: Option<TextField>,
    pub confirm_delete: bool,
    /// The last rename or delete error, shown under the row.
    pub error: Option<String>,
    /// `/`: the search being typed; `None` when not searching.
    pub search: Option<TextField>,
    /// What the store found for the search (names and message text, with
    /// where each matched); `None` until it answers or without a search.
    pub matches: Option<Vec<(Session, Option<String>)>>,
    /// The newest messages of a session, shown beside the list when the
    /// terminal is wide enough.
    pub preview: Option<(String, Vec<(EntryKind, String)>)>,
}

/// How wide the terminal must be for the picker to show a preview.
pub const PREVIEW_MIN_WIDTH: u16 = 120;

impl Picker {
    /// The rows the search and the filter let through.
    pub fn rows(&self) -> Vec<&Session> {
        let base: Vec<&Session> = match (&self.search, &self.matches) {
            (Some(q), Some(m)) if !q.text.trim().is_empty() => m.iter().map(|(s, _)| s).collect(),
            _ => self.all.iter().collect(),
        };
        base.into_iter()
            .filter(|s| self.filter.as_ref().is_none_or(|f| &s.provider == f))
            .collect()
    }

    /// Where the search matched session `id` (`None`: by its name).
    pub fn snippet(&self, id: &str) -> Option<&str> {
        self.search.as_ref()?;
        self.matches
            .as_ref()?
            .iter()
            .find(|(s, _)| s.id == id)
            .and_then(|(_, snippet)| snippet.as_deref())
    }

    pub fn current(&self) -> Option<&Session> {
        self.rows().get(self.selected).copied()
    }

    /// The filters `f` cycles through: all, then each provider present.
    pub fn filters(&self) -> Vec<Option<String>> {
        let mut names: Vec<String> = self.all.iter().map(|s| s.provider.clone()).collect();
        names.sort();
        names.dedup();
        std::iter::once(None)
            .chain(names.into_iter().map(Some))
            .collect()
    }
}

impl App {
    pub(super) fn picker_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
        let current_id = self.session.as_ref().map(|s| s.id.clone());
        let busy = self.streaming.is_some();
        let Overlay::Picker(p) = &mut self.overlay else {
            return vec![];
        };
        if let Some(field) = &mut p.renaming {
            match action {
                Some(Action::Select) => {
                    let name = field.text.trim().to_string();
                    if let Some(s) = p.current() {
                        if name == s.name {
                            p.renaming = None;
                            return vec![];
                        }
                        return vec![Effect::Rename {
                            id: s.id.clone(),
                            name,
                        }];
                    }
                }
                Some(Action::Back) => {
                    p.renaming = None;
                    p.error = None;
                }
                _ => {
                    if field.edit(k) {
                        p.error = None;
                    }
                }
            }
            return vec![];
        }
        // Searching: typing edits the search, Esc leaves it; moving and
        // Enter work on the matches as on the whole list (below).
        if let Some(field) = &mut p.search {
            match action {
                Some(Action::Back) => {
                    p.search = None;
                    p.matches = None;
                    p.selected = 0;
                    return self.preview_effect();
                }
                Some(Action::Up | Action::Down | Action::Select) => {}
                _ => {
                    if field.edit(k) {
                        p.selected = 0;
                        let query = field.text.trim().to_string();
                        if query.is_empty() {
                            p.matches = None;
                        } else {
                            return vec![Effect::SearchSessions { query }];
                        }
                    }
                    return self.preview_effect();
                }
            }
        }
        if p.confirm_delete {
            p.confirm_delete = false;
            if action == Some(Action::Yes)
                && let Some(s) = p.current()
            {
                return vec![Effect::Delete { id: s.id.clone() }];
            }
            return vec![];
        }
        let count = p.rows().len();
        match action {
            Some(Action::Up) => p.selected = p.selected.saturating_sub(1),
            Some(Action::Down) => p.selected = (p.selected + 1).min(count.saturating_sub(1)),
            Some(Action::Select) if busy => p.error = Some(BUSY.into()),
            Some(Action::Select) => {
                if let Some(s) = p.current() {
                    let id = s.id.clone();
                    self.overlay = Overlay::None;
                    if Some(&id) != current_id.as_ref() {
                        return vec![Effect::Switch { id }];
                    }
                }
            }
            Some(Action::Create) => return self.open_form(),
            Some(Action::Delete) if p.current().is_some() => {
                p.error = None;
                p.confirm_delete = true;
            }
            Some(Action::Rename) => {
                if let Some(name) = p.current().map(|s| s.name.clone()) {
                    p.error = None;
                    p.renaming = Some(TextField::with(name));
                }
            }
            Some(Action::CycleFilter) => {
                let filters = p.filters();
                let at = filters.iter().position(|f| *f == p.filter).unwrap_or(0);
                p.filter = filters[(at + 1) % filters.len()].clone();
                p.selected = 0;
            }
            Some(Action::Fork) if busy => p.error = Some(BUSY.into()),
            Some(Action::Fork) => {
                if let Some(s) = p.current() {
                    return vec![Effect::Fork { id: s.id.clone() }];
                }
            }
            Some(Action::Search) => {
                p.error = None;
                p.search = Some(TextField::default());
            }
            Some(Action::Back) => self.overlay = Overlay::None,
            Some(Action::Help) => self.help = true,
            _ => {}
        }
        self.preview_effect()
    }

    /// The store's answer to a search; one for an older query is dropped.
    pub(super) fn searched(
        &mut self,
        query: String,
        matches: Vec<(Session, Option<String>)>,
    ) -> Vec<Effect> {
        if let Overlay::Picker(p) = &mut self.overlay
            && p.search.as_ref().is_some_and(|f| f.text.trim() == query)
        {
            p.matches = Some(matches);
            p.selected = 0;
        }
        self.preview_effect()
    }

    /// Asks for the selected session's preview when the terminal is wide
    /// enough to show it and it is not the one shown.
    pub(super) fn preview_effect(&self) -> Vec<Effect> {
        let Overlay::Picker(p) = &self.overlay else {
            return vec![];
        };
        if self.size.0 < PREVIEW_MIN_WIDTH {
            return vec![];
        }
        match p.current() {
            Some(s) if p.preview.as_ref().is_none_or(|(id, _)| *id != s.id) => {
                vec![Effect::Preview { id: s.id.clone() }]
            }
            _ => vec![],
        }
    }

    pub(super) fn renamed(&mut self, result: Result<Session, Failure>) -> Vec<Effect> {
        match result {
            Ok(s) => {
                if self.session.as_ref().is_some_and(|c| c.id == s.id) {
                    self.session = Some(s.clone());
                }
                if let Overlay::Picker(p) = &mut self.overlay {
                    p.renaming = None;
                    p.error = None;
                    if let Some(row) = p.all.iter_mut().find(|r| r.id == s.id) {
                        *row = s;
                    }
                }
            }
            Err(e) => {
                if let Overlay::Picker(p) = &mut self.overlay {
                    p.error = Some(e.message);
                }
            }
        }
        vec![]
    }

    pub(super) fn deleted(&mut self, result: Result<Session, Failure>) -> Vec<Effect> {
        match result {
            Ok(gone) => {
                if self.session.as_ref().is_some_and(|c| c.id == gone.id) {
                    self.session = None;
                    self.transcript = vec![Entry::note(format!(
                        "Session '{}' was deleted; your next message starts a new session",
                        gone.name
                    ))];
                    self.history.clear();
                    self.history_pos = None;
                    self.scroll = 0;
                }
                if let Overlay::Picker(p) = &mut self.overlay {
                    p.all.retain(|s| s.id != gone.id);
                    p.selected = p.selected.min(p.rows().len().saturating_sub(1));
                }
            }
            Err(e) => {
                if let Overlay::Picker(p) = &mut self.overlay {
                    // Deleted elsewhere already: it goes from the list too.
                    if e.kind == FailureKind::NotFound
                        && let Some(id) = p.current().map(|s| s.id.clone())
                    {
                        p.all.retain(|s| s.id != id);
                        p.selected = p.selected.min(p.rows().len().saturating_sub(1));
                        p.confirm_delete = false;
                    }
                    p.error = Some(e.message);
                }
            }
        }
        vec![]
    }
}
