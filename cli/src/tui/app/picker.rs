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
}

impl Picker {
    /// The rows the filter lets through.
    pub fn rows(&self) -> Vec<&Session> {
        self.all
            .iter()
            .filter(|s| self.filter.as_ref().is_none_or(|f| &s.provider == f))
            .collect()
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
            Some(Action::Back) => self.overlay = Overlay::None,
            Some(Action::Help) => self.help = true,
            _ => {}
        }
        vec![]
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
