//! The new-session form.

use super::*;

/// Which field of the create form has the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Name,
    Provider,
    Model,
}

/// The create form.
#[derive(Debug, Clone)]
pub struct Form {
    pub name: TextField,
    pub provider: usize,
    pub model: TextField,
    pub focus: FormField,
    pub error: Option<String>,
    pub busy: bool,
}

impl App {
    pub(super) fn open_form(&mut self) -> Vec<Effect> {
        if !self.sessions_enabled {
            self.overlay = Overlay::None;
            self.transcript.push(Entry::error(SESSIONS_OFF));
            return vec![];
        }
        let provider = self.provider_index(&self.provider);
        let model = self
            .providers
            .get(provider)
            .map(|p| p.model.clone())
            .unwrap_or_default();
        self.overlay = Overlay::Form(Form {
            name: TextField::default(),
            provider,
            model: TextField::with(model),
            focus: FormField::Name,
            error: None,
            busy: false,
        });
        vec![]
    }

    pub(super) fn form_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
        let providers_len = self.providers.len();
        let skill = self.skill.clone();
        let busy = self.streaming.is_some();
        let Overlay::Form(f) = &mut self.overlay else {
            return vec![];
        };
        if f.busy {
            return vec![];
        }
        let step = |f: &mut Form, forward: bool| {
            if providers_len == 0 {
                return;
            }
            f.provider = if forward {
                (f.provider + 1) % providers_len
            } else {
                (f.provider + providers_len - 1) % providers_len
            };
        };
        // Up/Down choose on the provider list (as in the Ctrl+P switcher)
        // and move between fields elsewhere.
        let action = match (action, f.focus) {
            (Some(Action::Up), FormField::Provider) => Some(Action::Left),
            (Some(Action::Down), FormField::Provider) => Some(Action::Right),
            (Some(Action::Up), _) => Some(Action::PrevField),
            (Some(Action::Down), _) => Some(Action::NextField),
            (a, _) => a,
        };
        match action {
            Some(Action::NextField) => {
                f.focus = match f.focus {
                    FormField::Name => FormField::Provider,
                    FormField::Provider => FormField::Model,
                    FormField::Model => FormField::Name,
                }
            }
            Some(Action::PrevField) => {
                f.focus = match f.focus {
                    FormField::Name => FormField::Model,
                    FormField::Provider => FormField::Name,
                    FormField::Model => FormField::Provider,
                }
            }
            Some(a @ (Action::Left | Action::Right)) if f.focus == FormField::Provider => {
                step(f, a == Action::Right);
                let model = self.providers[f.provider].model.clone();
                f.model.set(model);
            }
            Some(Action::Select) if busy => f.error = Some(BUSY.into()),
            Some(Action::Select) => {
                let Some(p) = self.providers.get(f.provider) else {
                    return vec![];
                };
                f.busy = true;
                f.error = None;
                let name = f.name.text.trim();
                return vec![Effect::Create {
                    name: (!name.is_empty()).then(|| name.to_string()),
                    provider: p.name.clone(),
                    model: f.model.text.trim().to_string(),
                    skill,
                }];
            }
            Some(Action::Back) => self.overlay = Overlay::None,
            Some(Action::Help) => self.help = true,
            _ => {
                let field = match f.focus {
                    FormField::Name => &mut f.name,
                    FormField::Model => &mut f.model,
                    FormField::Provider => return vec![],
                };
                if field.edit(k) {
                    f.error = None;
                }
            }
        }
        vec![]
    }
}
