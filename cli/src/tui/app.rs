//! The TUI's state and its update function: `App::handle(Event) -> Vec<Effect>`.
//!
//! No IO here. Terminal input and the driver's results come in as [`Event`]s;
//! what should happen outside (store calls, turns, quitting) goes out as
//! [`Effect`]s that the driver performs, reporting back with more events.
//! The app is the one source of truth for what the screen shows: the driver
//! keeps no notion of "the current session"; each effect names its target.

use super::keys::{self, Action, Mode};
use atmos_ai::Session;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// One block of the transcript. Entries do not change once in the transcript (they are
/// pushed, popped or replaced whole), so each keeps its drawing at the last width: a scroll,
/// a new message or a spinner tick never renders the others' markdown again.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: EntryKind,
    pub text: String,
    pub(crate) drawn: Drawn,
}

/// An entry's lines as drawn at one width (see [`Entry`]). Never part of equality.
#[derive(Clone, Default)]
pub(crate) struct Drawn(
    std::cell::RefCell<Option<(usize, std::rc::Rc<[ratatui::text::Line<'static>]>)>>,
);

impl Drawn {
    /// The lines at `width`, drawn by `draw` only when the width changed.
    pub(crate) fn at(
        &self,
        width: usize,
        draw: impl FnOnce() -> Vec<ratatui::text::Line<'static>>,
    ) -> std::rc::Rc<[ratatui::text::Line<'static>]> {
        let mut cell = self.0.borrow_mut();
        match &*cell {
            Some((w, lines)) if *w == width => lines.clone(),
            _ => {
                let lines: std::rc::Rc<[_]> = draw().into();
                *cell = Some((width, lines.clone()));
                lines
            }
        }
    }
}

impl PartialEq for Drawn {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Drawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Drawn")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    User,
    Assistant {
        interrupted: bool,
    },
    /// A compaction summary, shown with its `[SUMMARY: …]` markers.
    Summary,
    Note,
    Error,
}

impl Entry {
    pub fn new(kind: EntryKind, text: impl Into<String>) -> Entry {
        Entry {
            kind,
            text: text.into(),
            drawn: Drawn::default(),
        }
    }

    pub fn note(text: impl Into<String>) -> Entry {
        Entry::new(EntryKind::Note, text)
    }

    pub fn error(text: impl Into<String>) -> Entry {
        Entry::new(EntryKind::Error, text)
    }
}

/// A provider the form and the switcher offer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInfo {
    pub name: String,
    pub model: String,
    /// The key variable that is missing, when credentials are.
    pub missing: Option<String>,
    /// False for a provider that needs no key (Ollama): nothing says its
    /// server runs, so it is not shown as ready.
    pub needs_key: bool,
}

/// A skill the selector offers.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillInfo {
    pub name: String,
    pub display_name: String,
    pub description: String,
}

/// What the app starts with.
#[derive(Debug, Clone)]
pub struct Init {
    pub sessions_enabled: bool,
    pub providers: Vec<ProviderInfo>,
    pub skills: Vec<SkillInfo>,
    /// Provider, model and skill for a session not created yet.
    pub provider: String,
    pub model: String,
    pub skill: String,
    /// Estimated tokens of the skill prompt alone (what an empty session sends).
    pub tokens: u64,
    pub notes: Vec<Entry>,
}

/// A session with everything the chat screen shows of it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub session: Session,
    pub entries: Vec<Entry>,
    pub tokens: u64,
}

/// What comes in: terminal input and the driver's reports.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Paste(String),
    /// Mouse wheel: negative is up.
    Scroll(i32),
    Resize(u16, u16),
    Tick,
    /// SIGTERM / SIGINT / SIGHUP: leave as cleanly as Ctrl+C would.
    Terminate,
    /// A session to show (start, switch, create).
    Loaded(Box<Loaded>),
    /// The picker's rows, most recently used first.
    Listed(Vec<Session>),
    /// The turn could not start (nothing was sent); the message is given back.
    SendFailed {
        text: String,
        error: String,
    },
    /// The turn started: the session it runs in (created on first send).
    ReplyStarted {
        session: Option<Session>,
    },
    Delta(String),
    ReplyEnded(Box<ReplyEnd>),
    CompactionStarted(String),
    /// The compaction of a session ended: notes for its transcript.
    CompactionEnded {
        session_id: String,
        entries: Vec<Entry>,
        tokens: u64,
    },
    /// A line for the transcript (an eviction, a cancellation, an error).
    Notice(Entry),
    Created(Result<Box<Loaded>, String>),
    Renamed(Result<Session, String>),
    Deleted(Result<Session, String>),
    /// Skill, provider or model changed.
    Updated(Result<(Session, u64), String>),
}

/// How a turn ended.
#[derive(Debug, Clone)]
pub struct ReplyEnd {
    /// The session after the turn (counts updated); `None` for one-shot turns.
    pub session: Option<Session>,
    /// The reply, or the part that arrived.
    pub text: String,
    pub interrupted: bool,
    pub error: Option<String>,
    /// What the next turn would send.
    pub tokens: Option<u64>,
}

/// What the driver should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a message: in `session`, or in a new session made from the rest.
    Send {
        session: Option<String>,
        provider: String,
        model: String,
        skill: String,
        text: String,
    },
    Cancel,
    ListSessions,
    Switch {
        id: String,
    },
    Create {
        name: Option<String>,
        provider: String,
        model: String,
        skill: String,
    },
    Rename {
        id: String,
        name: String,
    },
    Delete {
        id: String,
    },
    SetSkill {
        id: String,
        skill: String,
    },
    SetProvider {
        id: String,
        provider: String,
        model: String,
    },
    Quit,
}

/// A one-or-more-line text field with a cursor (a byte index).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextField {
    pub text: String,
    pub cursor: usize,
}

impl TextField {
    pub fn with(text: impl Into<String>) -> TextField {
        let text = text.into();
        TextField {
            cursor: text.len(),
            text,
        }
    }

    pub fn set(&mut self, text: impl Into<String>) {
        *self = TextField::with(text);
    }

    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    pub fn insert(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    /// Edits for a key no binding claimed; false when the key is not an edit.
    pub fn edit(&mut self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Char('u') if ctrl => {
                self.text.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let before = &self.text[..self.cursor];
                let start = before
                    .trim_end()
                    .rfind(char::is_whitespace)
                    .map_or(0, |i| i + 1);
                self.text.drain(start..self.cursor);
                self.cursor = start;
            }
            KeyCode::Char(_) if ctrl || ev.modifiers.contains(KeyModifiers::ALT) => return false,
            KeyCode::Char(c) => {
                let mut buf = [0u8; 4];
                self.insert(c.encode_utf8(&mut buf));
            }
            KeyCode::Backspace => {
                if let Some(c) = self.text[..self.cursor].chars().next_back() {
                    self.cursor -= c.len_utf8();
                    self.text.remove(self.cursor);
                }
            }
            KeyCode::Delete => {
                if self.cursor < self.text.len() {
                    self.text.remove(self.cursor);
                }
            }
            KeyCode::Left => {
                if let Some(c) = self.text[..self.cursor].chars().next_back() {
                    self.cursor -= c.len_utf8();
                }
            }
            KeyCode::Right => {
                if let Some(c) = self.text[self.cursor..].chars().next() {
                    self.cursor += c.len_utf8();
                }
            }
            KeyCode::Home => {
                self.cursor = self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1);
            }
            KeyCode::End => {
                self.cursor += self.text[self.cursor..]
                    .find('\n')
                    .unwrap_or(self.text.len() - self.cursor);
            }
            _ => return false,
        }
        true
    }
}

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

/// The provider and model switcher.
#[derive(Debug, Clone)]
pub struct Switcher {
    pub provider: usize,
    pub model: TextField,
    pub on_model: bool,
    pub error: Option<String>,
}

/// What is open over the chat.
#[derive(Debug, Clone)]
pub enum Overlay {
    None,
    Picker(Picker),
    Form(Form),
    Skills { selected: usize },
    Providers(Switcher),
}

/// A reply being streamed.
#[derive(Debug, Clone, Default)]
pub struct Streaming {
    pub text: String,
    pub provider: String,
    /// True once the driver said the turn started.
    pub started: bool,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct App {
    pub sessions_enabled: bool,
    pub providers: Vec<ProviderInfo>,
    pub skills: Vec<SkillInfo>,
    /// The session shown, `None` until the first message creates one.
    pub session: Option<Session>,
    pub provider: String,
    pub model: String,
    pub skill: String,
    pub tokens: u64,
    pub transcript: Vec<Entry>,
    pub streaming: Option<Streaming>,
    pub compacting: Option<String>,
    pub input: TextField,
    /// Earlier inputs (oldest first) and where Up has got to.
    pub history: Vec<String>,
    pub history_pos: Option<usize>,
    /// Lines scrolled up from the bottom of the transcript.
    pub scroll: usize,
    pub spinner: usize,
    pub overlay: Overlay,
    pub help: bool,
    /// Lines the help overlay is scrolled down by.
    pub help_scroll: u16,
    pub size: (u16, u16),
    /// Quit once the running reply has been stored.
    pub quitting: bool,
}

/// Lines a mouse-wheel notch scrolls.
pub const WHEEL_LINES: usize = 3;

impl App {
    pub fn new(init: Init) -> App {
        App {
            sessions_enabled: init.sessions_enabled,
            providers: init.providers,
            skills: init.skills,
            session: None,
            provider: init.provider,
            model: init.model,
            skill: init.skill,
            tokens: init.tokens,
            transcript: init.notes,
            streaming: None,
            compacting: None,
            input: TextField::default(),
            history: Vec::new(),
            history_pos: None,
            scroll: 0,
            spinner: 0,
            overlay: Overlay::None,
            help: false,
            help_scroll: 0,
            size: (80, 24),
            quitting: false,
        }
    }

    /// The screen whose keymap applies now.
    pub fn mode(&self) -> Mode {
        if self.help {
            return Mode::Help;
        }
        self.mode_beneath_help()
    }

    /// The screen under the help overlay (the current one when it is shut).
    pub fn mode_beneath_help(&self) -> Mode {
        match &self.overlay {
            Overlay::None => Mode::Chat,
            Overlay::Picker(p) if p.renaming.is_some() => Mode::Renaming,
            Overlay::Picker(p) if p.confirm_delete => Mode::ConfirmDelete,
            Overlay::Picker(_) => Mode::Picker,
            Overlay::Form(_) => Mode::Form,
            Overlay::Skills { .. } => Mode::Skills,
            Overlay::Providers(_) => Mode::Providers,
        }
    }

    /// Whether something animates (the spinner needs ticks).
    pub fn animating(&self) -> bool {
        self.streaming.as_ref().is_some_and(|s| s.text.is_empty()) || self.compacting.is_some()
    }

    /// The message count the status bar shows.
    pub fn message_count(&self) -> u64 {
        self.session.as_ref().map_or(0, |s| s.message_count)
    }

    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(k) if k.kind == KeyEventKind::Release => vec![],
            Event::Key(k) => self.key(k),
            Event::Paste(text) => {
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                match &mut self.overlay {
                    Overlay::None if !self.help => self.input.insert(&text),
                    Overlay::Picker(Picker {
                        renaming: Some(f), ..
                    }) => f.insert(text.lines().next().unwrap_or("")),
                    _ => {}
                }
                vec![]
            }
            Event::Scroll(n) => {
                if n < 0 {
                    self.scroll += n.unsigned_abs() as usize * WHEEL_LINES;
                } else {
                    self.scroll = self.scroll.saturating_sub(n as usize * WHEEL_LINES);
                }
                self.clamp_scroll();
                vec![]
            }
            Event::Resize(w, h) => {
                self.size = (w, h);
                self.clamp_scroll();
                vec![]
            }
            Event::Tick => {
                self.spinner = self.spinner.wrapping_add(1);
                vec![]
            }
            Event::Terminate => self.quit(),
            Event::Loaded(loaded) => {
                self.show(*loaded);
                vec![]
            }
            Event::Listed(sessions) => {
                if let Overlay::Picker(p) = &mut self.overlay {
                    let keep = p.current().map(|s| s.id.clone());
                    p.all = sessions;
                    p.loading = false;
                    if !p.filters().contains(&p.filter) {
                        p.filter = None;
                    }
                    let rows = p.rows();
                    p.selected = keep
                        .and_then(|id| rows.iter().position(|s| s.id == id))
                        .or_else(|| {
                            let id = self.session.as_ref()?.id.clone();
                            rows.iter().position(|s| s.id == id)
                        })
                        .unwrap_or(0)
                        .min(rows.len().saturating_sub(1));
                }
                vec![]
            }
            Event::SendFailed { text, error } => {
                self.streaming = None;
                // The message was not sent: drop its echo, give it back.
                if let Some(last) = self.transcript.last()
                    && last.kind == EntryKind::User
                    && last.text == text
                {
                    self.transcript.pop();
                }
                if self.input.text.is_empty() {
                    self.input.set(text);
                }
                self.transcript.push(Entry::error(error));
                self.after_reply()
            }
            Event::ReplyStarted { session } => {
                if let Some(s) = session {
                    self.adopt(s);
                }
                if let Some(st) = &mut self.streaming {
                    st.started = true;
                }
                vec![]
            }
            Event::Delta(text) => {
                if let Some(st) = &mut self.streaming {
                    st.text.push_str(&text);
                }
                vec![]
            }
            Event::ReplyEnded(end) => {
                self.streaming = None;
                if !end.text.is_empty() {
                    self.transcript.push(Entry::new(
                        EntryKind::Assistant {
                            interrupted: end.interrupted || end.error.is_some(),
                        },
                        end.text,
                    ));
                }
                if let Some(e) = end.error {
                    self.transcript.push(Entry::error(e));
                }
                if let Some(s) = end.session {
                    self.adopt(s);
                }
                if let Some(t) = end.tokens {
                    self.tokens = t;
                }
                self.after_reply()
            }
            Event::CompactionStarted(line) => {
                self.compacting = Some(line);
                vec![]
            }
            Event::CompactionEnded {
                session_id,
                entries,
                tokens,
            } => {
                self.compacting = None;
                if self.session.as_ref().is_some_and(|s| s.id == session_id) {
                    self.transcript.extend(entries);
                    self.tokens = tokens;
                }
                vec![]
            }
            Event::Notice(entry) => {
                self.transcript.push(entry);
                vec![]
            }
            Event::Created(result) => {
                match result {
                    Ok(loaded) => {
                        self.overlay = Overlay::None;
                        self.show(*loaded);
                    }
                    Err(e) => {
                        if let Overlay::Form(f) = &mut self.overlay {
                            f.busy = false;
                            f.error = Some(e);
                        } else {
                            self.transcript.push(Entry::error(e));
                        }
                    }
                }
                vec![]
            }
            Event::Renamed(result) => self.renamed(result),
            Event::Deleted(result) => self.deleted(result),
            Event::Updated(result) => {
                match result {
                    Ok((session, tokens)) => {
                        let skill_changed = session.skill != self.skill;
                        let provider_changed =
                            session.provider != self.provider || session.model != self.model;
                        self.adopt(session);
                        self.tokens = tokens;
                        self.overlay = Overlay::None;
                        self.note_switch(skill_changed, provider_changed);
                    }
                    Err(e) => match &mut self.overlay {
                        Overlay::Providers(s) => s.error = Some(e),
                        _ => {
                            self.overlay = Overlay::None;
                            self.transcript.push(Entry::error(e));
                        }
                    },
                }
                vec![]
            }
        }
    }

    fn note_switch(&mut self, skill: bool, provider: bool) {
        if skill {
            self.transcript.push(Entry::note(format!(
                "Skill: {} (used from the next message)",
                self.skill
            )));
        }
        if provider {
            self.transcript.push(Entry::note(format!(
                "Now using {} / {}; the conversation so far is kept and sent to it",
                self.provider, self.model
            )));
        }
    }

    /// Takes a session's fields as the current ones.
    fn adopt(&mut self, s: Session) {
        self.provider = s.provider.clone();
        self.model = s.model.clone();
        self.skill = s.skill.clone();
        self.session = Some(s);
    }

    /// Shows a (switched-to) session: its whole transcript and settings.
    fn show(&mut self, loaded: Loaded) {
        self.history = loaded
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::User)
            .map(|e| e.text.clone())
            .collect();
        self.history_pos = None;
        self.transcript = loaded.entries;
        self.tokens = loaded.tokens;
        self.scroll = 0;
        self.adopt(loaded.session);
    }

    fn after_reply(&mut self) -> Vec<Effect> {
        if self.quitting {
            vec![Effect::Quit]
        } else {
            vec![]
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        if self.streaming.is_some() {
            self.quitting = true;
            vec![Effect::Cancel]
        } else {
            vec![Effect::Quit]
        }
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let mode = self.mode();
        let action = keys::lookup(mode, &k);
        if self.help {
            let page = self.size.1.saturating_sub(6).max(1);
            match action {
                Some(Action::Back) => {
                    self.help = false;
                    self.help_scroll = 0;
                }
                Some(Action::Up) => self.help_scroll = self.help_scroll.saturating_sub(1),
                Some(Action::Down) => self.help_scroll = self.help_scroll.saturating_add(1),
                Some(Action::PageUp) => self.help_scroll = self.help_scroll.saturating_sub(page),
                Some(Action::PageDown) => self.help_scroll = self.help_scroll.saturating_add(page),
                _ => {}
            }
            self.help_scroll = self
                .help_scroll
                .min(crate::tui::widgets::help::max_scroll(self));
            return vec![];
        }
        match mode {
            Mode::Chat => self.chat_key(action, &k),
            Mode::Picker | Mode::Renaming | Mode::ConfirmDelete => self.picker_key(action, &k),
            Mode::Form => self.form_key(action, &k),
            Mode::Skills => self.skills_key(action),
            Mode::Providers => self.providers_key(action, &k),
            Mode::Help => vec![],
        }
    }

    fn chat_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
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
                return vec![Effect::Quit];
            }
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
            Action::OpenForm => return self.open_form(),
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
            }
            Action::OpenProviders => {
                let provider = self.provider_index(&self.provider);
                self.overlay = Overlay::Providers(Switcher {
                    provider,
                    model: TextField::with(self.model.clone()),
                    on_model: false,
                    error: None,
                });
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

    fn send(&mut self) -> Vec<Effect> {
        if self.input.text.trim().is_empty() {
            return vec![];
        }
        if self.streaming.is_some() {
            self.transcript.push(Entry::error(
                "a reply is still streaming: wait for it, or press Esc to cancel it",
            ));
            return vec![];
        }
        if self.compacting.is_some() {
            self.transcript.push(Entry::error(
                "the session is being compacted: send again in a moment",
            ));
            return vec![];
        }
        let text = self.input.take();
        self.history.push(text.clone());
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

    fn provider_index(&self, name: &str) -> usize {
        self.providers
            .iter()
            .position(|p| p.name == name)
            .unwrap_or(0)
    }

    fn open_form(&mut self) -> Vec<Effect> {
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

    fn picker_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
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

    fn renamed(&mut self, result: Result<Session, String>) -> Vec<Effect> {
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
                    p.error = Some(e);
                }
            }
        }
        vec![]
    }

    fn deleted(&mut self, result: Result<Session, String>) -> Vec<Effect> {
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
                    p.error = Some(e);
                }
            }
        }
        vec![]
    }

    fn form_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
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

    fn skills_key(&mut self, action: Option<Action>) -> Vec<Effect> {
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

    fn providers_key(&mut self, action: Option<Action>, k: &KeyEvent) -> Vec<Effect> {
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

    /// Transcript lines a page scroll moves.
    fn page(&self) -> usize {
        (self.size.1 as usize).saturating_sub(8).max(1)
    }

    /// Keeps the scroll within the transcript (as drawn at the last size).
    fn clamp_scroll(&mut self) {
        let (w, h) = super::widgets::transcript_area(self);
        let total = super::widgets::transcript::line_count(self, w);
        self.scroll = self.scroll.min(total.saturating_sub(h as usize));
    }
}

/// Shown when switching sessions while a reply streams.
pub const BUSY: &str =
    "a reply is still streaming: wait for it, or press Esc in the chat to cancel it";

/// Shown when the picker or the form is opened with sessions off.
pub const SESSIONS_OFF: &str = "sessions are disabled, so nothing is kept and there is nothing to \
browse: set `ai.sessions.enabled: true` in atmos.yaml to keep conversations";
