//! The keymap, as data: for each screen, which keys do what, with the text
//! the help overlay shows. The app looks keys up here and the help overlay
//! is generated from the same tables, so the two cannot drift.
//!
//! Keys that no binding claims fall through to the focused text field (the
//! chat input, the rename field, the form's name and model fields).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. Which state it changes is the app's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Send,
    Newline,
    /// Esc while a reply streams.
    CancelReply,
    /// Ctrl+C / Ctrl+D: cancels a reply, else keeps a draft, else quits.
    CancelOrQuit,
    HistoryPrev,
    HistoryNext,
    PageUp,
    PageDown,
    OpenForm,
    OpenPicker,
    OpenSkills,
    OpenProviders,
    /// Copy the last reply to the clipboard (OSC 52).
    CopyReply,
    /// Copy the last code block of the replies.
    CopyCode,
    /// Release (or take back) the mouse, for the terminal's own selection.
    ToggleMouse,
    /// `/` in the picker: search names and message text.
    Search,
    /// `F` in the picker: fork the selected session at its newest message.
    Fork,
    /// Ctrl+G: write the message in `$VISUAL` / `$EDITOR`.
    Compose,
    /// Ctrl+R: ask the last question again (a new reply).
    Retry,
    /// Ctrl+T: pin the last reply (again: unpin it).
    Pin,
    /// `?`: help, but only when the chat input is empty (else it is typed).
    HelpIfEmpty,
    Help,
    Up,
    Down,
    Left,
    Right,
    NextField,
    PrevField,
    Select,
    Back,
    Create,
    Delete,
    Rename,
    CycleFilter,
    Yes,
    No,
}

/// One key: a code and its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    pub const fn ch(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    /// Whether a key event is this key. Shift is ignored for characters (the
    /// character already says it) and for BackTab.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT;
        let mut mods = ev.modifiers & relevant;
        if matches!(ev.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        let code = match ev.code {
            // Some terminals report Ctrl+letter with an upper-case letter.
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            c => c,
        };
        code == self.code && mods == self.mods
    }

    /// How the help overlay writes it: `Ctrl+N`, `Alt+Enter`, `PgUp`, `j`.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl+");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt+");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("Shift+");
        }
        let name = match self.code {
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                c.to_ascii_uppercase().to_string()
            }
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift+Tab".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        s.push_str(&name);
        s
    }
}

/// Keys, what they do, and the help line.
#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub help: &'static str,
}

/// The screens, each with its own keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Chat,
    Picker,
    Searching,
    Renaming,
    ConfirmDelete,
    Form,
    Skills,
    Providers,
    Help,
}

impl Mode {
    pub fn title(self) -> &'static str {
        match self {
            Mode::Chat => "Chat",
            Mode::Picker => "Session picker (Ctrl+L)",
            Mode::Searching => "Searching in the picker (/)",
            Mode::Renaming => "Renaming in the picker",
            Mode::ConfirmDelete => "Confirming a delete",
            Mode::Form => "New session form (Ctrl+N)",
            Mode::Skills => "Skill selector (Ctrl+A)",
            Mode::Providers => "Provider and model (Ctrl+P)",
            Mode::Help => "This help",
        }
    }

    /// The screens the help overlay lists, in order.
    pub const ALL: [Mode; 8] = [
        Mode::Chat,
        Mode::Picker,
        Mode::Searching,
        Mode::Renaming,
        Mode::ConfirmDelete,
        Mode::Form,
        Mode::Skills,
        Mode::Providers,
    ];
}

use KeyCode::*;

const ENTER: Key = Key::plain(Enter);
const ESC: Key = Key::plain(Esc);
const UP: Key = Key::plain(Up);
const DOWN: Key = Key::plain(Down);
const F1: Key = Key::plain(F(1));
const F2: Key = Key::plain(F(2));

const CHAT: &[Binding] = &[
    Binding {
        keys: &[ENTER],
        action: Action::Send,
        help: "send the message",
    },
    Binding {
        keys: &[
            Key::ctrl('j'),
            Key {
                code: Enter,
                mods: KeyModifiers::ALT,
            },
            Key {
                code: Enter,
                mods: KeyModifiers::SHIFT,
            },
        ],
        action: Action::Newline,
        help: "new line in the message",
    },
    Binding {
        keys: &[ESC],
        action: Action::CancelReply,
        help: "cancel the reply (partial kept)",
    },
    Binding {
        keys: &[Key::ctrl('c'), Key::ctrl('d')],
        action: Action::CancelOrQuit,
        help: "cancel a reply, keep a draft, or quit",
    },
    Binding {
        keys: &[UP],
        action: Action::HistoryPrev,
        help: "earlier messages (on empty input)",
    },
    Binding {
        keys: &[DOWN],
        action: Action::HistoryNext,
        help: "back to later messages",
    },
    Binding {
        keys: &[Key::plain(PageUp)],
        action: Action::PageUp,
        help: "scroll up (also the mouse wheel)",
    },
    Binding {
        keys: &[Key::plain(PageDown)],
        action: Action::PageDown,
        help: "scroll the transcript down",
    },
    Binding {
        keys: &[Key::ctrl('n')],
        action: Action::OpenForm,
        help: "new session: name, provider, model",
    },
    Binding {
        keys: &[Key::ctrl('l')],
        action: Action::OpenPicker,
        help: "sessions: switch, rename, delete",
    },
    Binding {
        keys: &[Key::ctrl('a')],
        action: Action::OpenSkills,
        help: "choose the skill (saved at once)",
    },
    Binding {
        keys: &[Key::ctrl('p')],
        action: Action::OpenProviders,
        help: "switch provider/model (chat kept)",
    },
    Binding {
        keys: &[Key::ctrl('y')],
        action: Action::CopyReply,
        help: "copy the last reply",
    },
    Binding {
        keys: &[Key::ctrl('o')],
        action: Action::CopyCode,
        help: "copy the last code block",
    },
    Binding {
        keys: &[Key::ctrl('r')],
        action: Action::Retry,
        help: "ask the last question again (the reply is archived, a new one comes)",
    },
    Binding {
        keys: &[Key::ctrl('t')],
        action: Action::Pin,
        help: "pin the last reply: never compacted, always sent (again: unpin)",
    },
    Binding {
        keys: &[Key::ctrl('g')],
        action: Action::Compose,
        help: "write the message in $VISUAL or $EDITOR (the draft goes along)",
    },
    Binding {
        keys: &[F2],
        action: Action::ToggleMouse,
        help: "release the mouse to select text (again: take it back)",
    },
    Binding {
        keys: &[F1],
        action: Action::Help,
        help: "this help",
    },
    Binding {
        keys: &[Key::ch('?')],
        action: Action::HelpIfEmpty,
        help: "this help (on empty input)",
    },
];

const PICKER: &[Binding] = &[
    Binding {
        keys: &[UP, Key::ch('k')],
        action: Action::Up,
        help: "previous session",
    },
    Binding {
        keys: &[DOWN, Key::ch('j')],
        action: Action::Down,
        help: "next session",
    },
    Binding {
        keys: &[ENTER],
        action: Action::Select,
        help: "switch to the session",
    },
    Binding {
        keys: &[Key::ch('n'), Key::ctrl('n')],
        action: Action::Create,
        help: "create a session",
    },
    Binding {
        keys: &[Key::ch('d')],
        action: Action::Delete,
        help: "delete (asks first; permanent)",
    },
    Binding {
        keys: &[Key::ch('r')],
        action: Action::Rename,
        help: "rename the session inline",
    },
    Binding {
        keys: &[Key::ch('f')],
        action: Action::CycleFilter,
        help: "cycle the provider filter",
    },
    Binding {
        keys: &[Key::ch('/')],
        action: Action::Search,
        help: "search names and message text",
    },
    Binding {
        keys: &[Key::ch('F')],
        action: Action::Fork,
        help: "fork: a copy of the session to try another way",
    },
    Binding {
        keys: &[ESC, Key::ch('q')],
        action: Action::Back,
        help: "back to the chat",
    },
    Binding {
        keys: &[F1, Key::ch('?')],
        action: Action::Help,
        help: "this help",
    },
];

const SEARCHING: &[Binding] = &[
    Binding {
        keys: &[UP],
        action: Action::Up,
        help: "previous match",
    },
    Binding {
        keys: &[DOWN],
        action: Action::Down,
        help: "next match",
    },
    Binding {
        keys: &[ENTER],
        action: Action::Select,
        help: "switch to the session",
    },
    Binding {
        keys: &[ESC],
        action: Action::Back,
        help: "leave the search (all sessions again)",
    },
];

const RENAMING: &[Binding] = &[
    Binding {
        keys: &[ENTER],
        action: Action::Select,
        help: "keep the new name",
    },
    Binding {
        keys: &[ESC],
        action: Action::Back,
        help: "cancel the rename",
    },
];

const CONFIRM_DELETE: &[Binding] = &[
    Binding {
        keys: &[Key::ch('y')],
        action: Action::Yes,
        help: "delete it",
    },
    Binding {
        keys: &[Key::ch('n'), ESC],
        action: Action::No,
        help: "keep it",
    },
];

const FORM: &[Binding] = &[
    Binding {
        keys: &[Key::plain(Tab)],
        action: Action::NextField,
        help: "next field",
    },
    Binding {
        keys: &[Key::plain(BackTab)],
        action: Action::PrevField,
        help: "previous field",
    },
    Binding {
        keys: &[UP],
        action: Action::Up,
        help: "previous provider (on the list), else previous field",
    },
    Binding {
        keys: &[DOWN],
        action: Action::Down,
        help: "next provider (the model follows), else next field",
    },
    Binding {
        keys: &[ENTER],
        action: Action::Select,
        help: "create the session and switch to it",
    },
    Binding {
        keys: &[ESC],
        action: Action::Back,
        help: "back without creating",
    },
    Binding {
        keys: &[F1],
        action: Action::Help,
        help: "this help",
    },
];

const SKILLS: &[Binding] = &[
    Binding {
        keys: &[UP, Key::ch('k')],
        action: Action::Up,
        help: "previous skill",
    },
    Binding {
        keys: &[DOWN, Key::ch('j')],
        action: Action::Down,
        help: "next skill",
    },
    Binding {
        keys: &[ENTER],
        action: Action::Select,
        help: "use it (saved to the session)",
    },
    Binding {
        keys: &[ESC, Key::ch('q')],
        action: Action::Back,
        help: "back without changing",
    },
    Binding {
        keys: &[F1, Key::ch('?')],
        action: Action::Help,
        help: "this help",
    },
];

const PROVIDERS: &[Binding] = &[
    Binding {
        keys: &[UP],
        action: Action::Up,
        help: "previous provider (the model follows)",
    },
    Binding {
        keys: &[DOWN],
        action: Action::Down,
        help: "next provider",
    },
    Binding {
        keys: &[Key::plain(Tab), Key::plain(BackTab)],
        action: Action::NextField,
        help: "between provider list and model",
    },
    Binding {
        keys: &[ENTER],
        action: Action::Select,
        help: "switch; the conversation is kept",
    },
    Binding {
        keys: &[ESC],
        action: Action::Back,
        help: "back without changing",
    },
    Binding {
        keys: &[F1],
        action: Action::Help,
        help: "this help",
    },
];

const HELP: &[Binding] = &[
    Binding {
        keys: &[UP, Key::ch('k')],
        action: Action::Up,
        help: "scroll the help up",
    },
    Binding {
        keys: &[DOWN, Key::ch('j')],
        action: Action::Down,
        help: "scroll the help down",
    },
    Binding {
        keys: &[Key::plain(PageUp)],
        action: Action::PageUp,
        help: "a page up",
    },
    Binding {
        keys: &[Key::plain(PageDown)],
        action: Action::PageDown,
        help: "a page down",
    },
    Binding {
        keys: &[ESC, Key::ch('q'), Key::ch('?'), F1],
        action: Action::Back,
        help: "close the help",
    },
];

/// The bindings of a screen.
pub fn bindings(mode: Mode) -> &'static [Binding] {
    match mode {
        Mode::Chat => CHAT,
        Mode::Picker => PICKER,
        Mode::Searching => SEARCHING,
        Mode::Renaming => RENAMING,
        Mode::ConfirmDelete => CONFIRM_DELETE,
        Mode::Form => FORM,
        Mode::Skills => SKILLS,
        Mode::Providers => PROVIDERS,
        Mode::Help => HELP,
    }
}

/// What a key does on a screen, if anything.
pub fn lookup(mode: Mode, ev: &KeyEvent) -> Option<Action> {
    bindings(mode)
        .iter()
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
        .map(|b| b.action)
}

/// `Ctrl+J / Alt+Enter / Shift+Enter`.
pub fn labels(b: &Binding) -> String {
    b.keys
        .iter()
        .map(Key::label)
        .collect::<Vec<_>>()
        .join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn lookups() {
        let table = [
            (
                Mode::Chat,
                ev(Enter, KeyModifiers::NONE),
                Some(Action::Send),
            ),
            (
                Mode::Chat,
                ev(Enter, KeyModifiers::ALT),
                Some(Action::Newline),
            ),
            (
                Mode::Chat,
                ev(Char('j'), KeyModifiers::CONTROL),
                Some(Action::Newline),
            ),
            (
                Mode::Chat,
                ev(Char('N'), KeyModifiers::CONTROL | KeyModifiers::SHIFT),
                Some(Action::OpenForm),
            ),
            (
                Mode::Chat,
                ev(Char('?'), KeyModifiers::SHIFT),
                Some(Action::HelpIfEmpty),
            ),
            (Mode::Chat, ev(Char('j'), KeyModifiers::NONE), None),
            (
                Mode::Picker,
                ev(Char('j'), KeyModifiers::NONE),
                Some(Action::Down),
            ),
            (
                Mode::Picker,
                ev(Char('n'), KeyModifiers::CONTROL),
                Some(Action::Create),
            ),
            (
                Mode::ConfirmDelete,
                ev(Char('y'), KeyModifiers::NONE),
                Some(Action::Yes),
            ),
            (
                Mode::Form,
                ev(BackTab, KeyModifiers::SHIFT),
                Some(Action::PrevField),
            ),
        ];
        for (mode, key, want) in table {
            assert_eq!(lookup(mode, &key), want, "{mode:?} {key:?}");
        }
    }

    #[test]
    fn labels_read_like_the_docs() {
        assert_eq!(labels(&CHAT[1]), "Ctrl+J / Alt+Enter / Shift+Enter");
        assert_eq!(labels(&PICKER[9]), "Esc / q");
    }
}
