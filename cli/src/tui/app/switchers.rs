//! The skill selector and the provider switcher.

use super::*;

/// The provider and model switcher.
#[derive(Debug, Clone)]
pub struct Switcher {
    pub provider: usize,
    pub model: TextField,
    pub on_model: bool,
    pub error: Option<String>,
}

impl App {
    pub(super) fn skills_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let Overlay::Skills { selected } = &mut self.overlay else {
            return vec![];
        };
        match action {
            Some(Action::Up) => *selected = selected.saturating_sub(1),
            Some(Action::Down) => {
                *selected = (*selected + 1).min(self.skills.len().saturating_sub(1))
            }
            Some(Action::Select) => {
                let Some(skill) = self.skills.get(*selected).map(|s| s.name.clone()) else {
                    return vec![];
                };
                self.overlay = Overlay::None;
                if skill == self.skill {
                    return vec![];
                }
                match &self.session {
                    Some(s) => {
                        return vec![Effect::SetSkill {
                            id: s.id.clone(),
                            skill,
                        }];
                    }
                    None => {
                        self.skill = skill;
                        self.note_switch(true, false);
                    }
                }
            }
            Some(Action::Back) => self.overlay = Overlay::None,
            Some(Action::Help) => self.help = true,
            _ => {}
        }
        vec![]
    }

    pub(super) fn providers_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
        let n = self.providers.len();
        let Overlay::Providers(s) = &mut self.overlay else {
            return vec![];
        };
        match action {
            Some(a @ (Action::Up | Action::Down)) if n > 0 => {
                s.provider = if a == Action::Down {
                    (s.provider + 1) % n
                } else {
                    (s.provider + n - 1) % n
                };
                s.model.set(self.providers[s.provider].model.clone());
                s.error = None;
            }
            Some(Action::NextField) => s.on_model = !s.on_model,
            Some(Action::Select) => {
                let Some(p) = self.providers.get(s.provider) else {
                    return vec![];
                };
                let (provider, model) = (p.name.clone(), s.model.text.trim().to_string());
                if model.is_empty() {
                    s.error = Some("the model cannot be empty".into());
                    return vec![];
                }
                if provider == self.provider && model == self.model {
                    self.overlay = Overlay::None;
                    return vec![];
                }
                match &self.session {
                    Some(session) => {
                        return vec![Effect::SetProvider {
                            id: session.id.clone(),
                            provider,
                            model,
                        }];
                    }
                    None => {
                        self.overlay = Overlay::None;
                        self.provider = provider;
                        self.model = model;
                        self.note_switch(false, true);
                    }
                }
            }
            Some(Action::Back) => self.overlay = Overlay::None,
            Some(Action::Help) => self.help = true,
            _ => {
                if s.on_model && s.model.edit(k) {
                    s.error = None;
                }
            }
        }
        vec![]
    }
}

impl App {
    /// Takes the providers and skills as they are now, keeping what each
    /// open selector points at (by name) when it is still there.
    pub(super) fn catalog(&mut self, providers: Vec<ProviderInfo>, skills: Vec<SkillInfo>) {
        let name_at = |list: &[ProviderInfo], i: usize| list.get(i).map(|p| p.name.clone());
        let find = |list: &[ProviderInfo], name: Option<String>| {
            name.and_then(|n| list.iter().position(|p| p.name == n))
                .unwrap_or(0)
        };
        match &mut self.overlay {
            Overlay::Form(f) => {
                let name = name_at(&self.providers, f.provider);
                f.provider = find(&providers, name);
            }
            Overlay::Providers(s) => {
                let name = name_at(&self.providers, s.provider);
                s.provider = find(&providers, name);
            }
            Overlay::Skills { selected } => {
                let name = self.skills.get(*selected).map(|s| s.name.clone());
                *selected = name
                    .and_then(|n| skills.iter().position(|s| s.name == n))
                    .unwrap_or(0);
            }
            _ => {}
        }
        self.providers = providers;
        self.skills = skills;
    }
}
