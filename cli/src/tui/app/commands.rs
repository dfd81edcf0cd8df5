//! Slash commands typed in the chat input, for those who prefer typing to
//! chords: `/compact`, `/uncompact`, `/skill [NAME]`, `/model [NAME]`,
//! `/sessions`, `/new`, `/retry`, `/pin`, `/unpin`, `/title`, `/fork`, `/help`. Tab completes a command's name. A message that only
//! looks like a path (`/etc/hosts is…`) is sent as it is, and `//text` sends
//! `/text`.

use super::*;

/// Each command and what it does (shown by an unknown command and `/help`).
pub const COMMANDS: &[(&str, &str)] = &[
    ("compact", "summarise the oldest messages now"),
    (
        "uncompact",
        "undo the last compaction: its messages are sent again",
    ),
    ("skill", "choose the skill, or /skill NAME"),
    (
        "model",
        "switch provider and model, or /model NAME (same provider)",
    ),
    ("sessions", "the session picker"),
    ("new", "a new session: name, provider, model"),
    ("retry", "ask the last question again"),
    (
        "pin",
        "pin the last reply, or /pin ID: never compacted, always sent",
    ),
    ("unpin", "unpin the last reply, or /unpin ID"),
    ("title", "show the session's title, or /title TEXT sets it"),
    (
        "fork",
        "fork this session at its newest message and switch to the fork",
    ),
    ("help", "the keys and these commands"),
];

/// What the input holds: a command (name, argument), or a message.
enum Typed<'a> {
    Command(&'a str, &'a str),
    Unknown(&'a str),
    Message,
}

fn parse(input: &str) -> Typed<'_> {
    let text = input.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Typed::Message;
    };
    let (name, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if COMMANDS.iter().any(|(c, _)| *c == name) {
        return Typed::Command(name, arg.trim());
    }
    // `/etc/hosts`, `//text`, `/ x`: not a command word, a message.
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic() || c == '-') {
        return Typed::Message;
    }
    Typed::Unknown(name)
}

fn list() -> String {
    COMMANDS
        .iter()
        .map(|(c, _)| format!("/{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl App {
    /// Runs the input as a command when it is one (the input is cleared);
    /// `None`: it is a message to send.
    pub(super) fn command(&mut self) -> Option<Vec<Effect>> {
        let input = self.input.text.clone();
        match parse(&input) {
            Typed::Message => None,
            Typed::Unknown(name) => {
                self.transcript.push(Entry::error(format!(
                    "unknown command /{name}: the commands are {}; to send a message that \
                     starts with /, begin it with //",
                    list()
                )));
                Some(vec![])
            }
            Typed::Command(name, arg) => {
                self.history.push(input.trim().to_string());
                self.history_pos = None;
                self.input.set("");
                Some(self.run_command(name, arg))
            }
        }
    }

    fn run_command(&mut self, name: &str, arg: &str) -> Vec<Effect> {
        match (name, arg) {
            ("compact", _) => match &self.session {
                _ if self.streaming.is_some() || self.compacting.is_some() => {
                    self.transcript.push(Entry::error(
                        "a reply or a compaction is under way: /compact again when it ends",
                    ));
                    vec![]
                }
                Some(s) => vec![Effect::Compact { id: s.id.clone() }],
                None => {
                    self.transcript.push(Entry::error(
                        "nothing to compact yet: this chat has no stored messages",
                    ));
                    vec![]
                }
            },
            ("uncompact", _) => match &self.session {
                _ if self.streaming.is_some() || self.compacting.is_some() => {
                    self.transcript.push(Entry::error(
                        "a reply or a compaction is under way: /uncompact again when it ends",
                    ));
                    vec![]
                }
                Some(s) => vec![Effect::Uncompact { id: s.id.clone() }],
                None => {
                    self.transcript.push(Entry::error(
                        "nothing to undo: this chat has no stored messages",
                    ));
                    vec![]
                }
            },
            ("skill", "") => self.chat_key(Some(Action::OpenSkills), &no_key()),
            ("skill", skill) => {
                if !self.skills.iter().any(|s| s.name == skill) {
                    let known: Vec<&str> = self.skills.iter().map(|s| s.name.as_str()).collect();
                    self.transcript.push(Entry::error(format!(
                        "unknown skill '{skill}': the skills are {}",
                        known.join(", ")
                    )));
                    return vec![];
                }
                match &self.session {
                    _ if skill == self.skill => vec![],
                    Some(s) => vec![Effect::SetSkill {
                        id: s.id.clone(),
                        skill: skill.to_string(),
                    }],
                    None => {
                        self.skill = skill.to_string();
                        self.note_switch(true, false);
                        vec![]
                    }
                }
            }
            ("model", "") => self.chat_key(Some(Action::OpenProviders), &no_key()),
            ("model", model) => match &self.session {
                _ if model == self.model => vec![],
                Some(s) => vec![Effect::SetProvider {
                    id: s.id.clone(),
                    provider: self.provider.clone(),
                    model: model.to_string(),
                }],
                None => {
                    self.model = model.to_string();
                    self.note_switch(false, true);
                    vec![]
                }
            },
            ("sessions", _) => self.chat_key(Some(Action::OpenPicker), &no_key()),
            ("new", _) => self.chat_key(Some(Action::OpenForm), &no_key()),
            ("retry", _) => self.retry(),
            ("pin" | "unpin", arg) => {
                let id = match arg {
                    "" => None,
                    n => match n.trim_start_matches('#').parse::<i64>() {
                        Ok(id) => Some(id),
                        Err(_) => {
                            self.transcript.push(Entry::error(format!(
                                "/{name} takes a message id (`atmos ai sessions show NAME --ids`), \
                                 not {n:?}"
                            )));
                            return vec![];
                        }
                    },
                };
                self.pin(id, Some(name == "pin"))
            }
            ("title", title) => match &self.session {
                Some(s) if title.is_empty() => {
                    let line = match &s.title {
                        Some(t) => format!("Title: {t} (/title TEXT changes it)"),
                        None => {
                            "No title yet: the first exchange gives one, or /title TEXT".to_string()
                        }
                    };
                    self.transcript.push(Entry::note(line));
                    vec![]
                }
                Some(s) => vec![Effect::SetTitle {
                    id: s.id.clone(),
                    title: title.to_string(),
                }],
                None => {
                    self.transcript.push(Entry::error(
                        "no session yet: send a message first, then /title TEXT",
                    ));
                    vec![]
                }
            },
            ("fork", _) => match &self.session {
                _ if self.streaming.is_some() => {
                    self.transcript.push(Entry::error(BUSY));
                    vec![]
                }
                Some(s) => vec![Effect::Fork { id: s.id.clone() }],
                None => {
                    self.transcript.push(Entry::error(
                        "nothing to fork yet: this chat has no stored messages",
                    ));
                    vec![]
                }
            },
            _ => {
                let lines: Vec<String> = COMMANDS
                    .iter()
                    .map(|(c, what)| format!("/{c:<9} {what}"))
                    .collect();
                self.transcript.push(Entry::note(format!(
                    "Commands (Tab completes a name):\n{}",
                    lines.join("\n")
                )));
                vec![]
            }
        }
    }

    /// Tab on `/na`: the command's whole name when one matches, else the
    /// names that do. `false` when the input is not a command being typed.
    pub(super) fn complete_command(&mut self) -> bool {
        let text = self.input.text.clone();
        let Some(prefix) = text.strip_prefix('/') else {
            return false;
        };
        if prefix.contains(char::is_whitespace) {
            return false;
        }
        let found: Vec<&str> = COMMANDS
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| c.starts_with(prefix))
            .collect();
        match found.as_slice() {
            [] => self.transcript.push(Entry::error(format!(
                "no command starts with /{prefix}: the commands are {}",
                list()
            ))),
            [one] => self.input.set(format!("/{one} ")),
            many => self.transcript.push(Entry::note(format!(
                "/{prefix}…: {}",
                many.iter()
                    .map(|c| format!("/{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
        true
    }
}

/// A key event for actions run on behalf of a command (none is read).
fn no_key() -> KeyEvent {
    KeyEvent::new(
        crossterm::event::KeyCode::Null,
        crossterm::event::KeyModifiers::NONE,
    )
}
