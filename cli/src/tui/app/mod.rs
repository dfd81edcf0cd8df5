//! The TUI's state and its update function: `App::handle(Event) -> Vec<Effect>`.
//!
//! No IO here. Terminal input and the driver's results come in as [`Event`]s;
//! what should happen outside (store calls, turns, quitting) goes out as
//! [`Effect`]s that the driver performs, reporting back with more events.
//! The app is the one source of truth for what the screen shows: the driver
//! keeps no notion of "the current session"; each effect names its target.

//!
//! One file per screen: `chat.rs` (the transcript and the input), `picker.rs`
//! (sessions: filter, rename, delete), `form.rs` (a new session),
//! `switchers.rs` (skill and provider); `entry.rs` is a transcript block and
//! `text_field.rs` the editable line they share.

mod chat;
mod commands;
mod entry;
mod form;
mod live;
mod picker;
mod switchers;
#[cfg(test)]
mod tests;
mod text_field;

pub use entry::{Entry, EntryKind};
pub use form::{Form, FormField};
pub use live::LiveUpdate;
pub use picker::{PREVIEW_MIN_WIDTH, Picker};
pub use switchers::Switcher;
pub use text_field::TextField;

use super::keys::{self, Action, Mode};
use atmos_ai::Session;
use crossterm::event::{KeyEvent, KeyEventKind};

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
    /// Prices per million tokens (input, output), when atmos.yaml gives them.
    pub pricing: Option<(f64, f64)>,
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
    /// What bounds the history sent (the status bar's gauge).
    pub window: Window,
}

/// What bounds the history a turn sends: `max_history_tokens` (compaction's
/// token limit), else `max_history_messages`, else nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    #[default]
    Unbounded,
    Messages(u64),
    Tokens(u64),
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
    /// The sessions matching a picker search, with where each matched.
    Searched {
        query: String,
        matches: Vec<(Session, Option<String>)>,
    },
    /// The newest messages of a session, for the picker's preview.
    Previewed {
        id: String,
        messages: Vec<(EntryKind, String)>,
    },
    /// The turn could not start (nothing was sent); the message is given back.
    SendFailed {
        text: String,
        error: Failure,
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
    Created(Result<Box<Loaded>, Failure>),
    Renamed(Result<Session, Failure>),
    Deleted(Result<Session, Failure>),
    /// Skill, provider, model or title changed.
    Updated(Result<(Session, u64), Failure>),
    /// What another process changed in the session shown.
    Live(Box<LiveUpdate>),
    /// The session list changed in another process.
    ListChanged,
    /// A session changed in the background (its AI title).
    SessionSeen(Box<Session>),
    /// A message was pinned (true) or unpinned: the session, the id.
    Pinned(Result<(Session, i64, bool), Failure>),
    /// What the editor Ctrl+G opened left in its file (the new draft), or
    /// why there is none (the draft is then unchanged).
    Composed(Result<String, String>),
    /// The providers and skills as atmos.yaml and the skills folder say now
    /// (re-read when a selector opens, so an edit shows without a restart).
    Catalog {
        providers: Vec<ProviderInfo>,
        skills: Vec<SkillInfo>,
    },
}

/// What went wrong in an effect, typed so that a screen can react to what it
/// was (the form puts the cursor on the field at fault, the picker drops a
/// session someone else deleted); `message` is what the user reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

/// The kinds of [`Failure`] a screen treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The name is taken or breaks the naming rule.
    Name,
    /// The session is gone (deleted by another process).
    NotFound,
    /// Another turn or a compaction holds the session.
    Busy,
    /// The provider lacks a key or a setting.
    Provider,
    Other,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// How a turn ended.
#[derive(Debug, Clone)]
pub struct ReplyEnd {
    /// The session after the turn (counts updated); `None` for one-shot turns.
    pub session: Option<Session>,
    /// The reply, or the part that arrived.
    pub text: String,
    pub interrupted: bool,
    pub error: Option<Failure>,
    /// What the next turn would send.
    pub tokens: Option<u64>,
    /// The stored question's and reply's ids (a stored, complete turn).
    pub ids: Option<(i64, i64)>,
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
    /// Find the sessions whose name or messages contain `query`.
    SearchSessions {
        query: String,
    },
    /// Read the newest messages of session `id` for the picker's preview.
    Preview {
        id: String,
    },
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
    /// Put `text` on the clipboard; `what` says what it is, for the note.
    Copy {
        what: String,
        text: String,
    },
    /// Take (true) or release (false) the mouse.
    MouseCapture(bool),
    /// Re-read the providers and skills (a selector is opening).
    RefreshCatalog,
    /// Ask the last question again: `session`'s (its reply is archived),
    /// or, with sessions off, the conversation kept in memory.
    Retry {
        session: Option<String>,
        provider: String,
        model: String,
        skill: String,
    },
    /// Fork session `id` at its newest message and switch to the fork.
    Fork {
        id: String,
    },
    /// Pin (or unpin) message `message` of session `id`.
    Pin {
        id: String,
        message: i64,
        pinned: bool,
    },
    /// Set session `id`'s title (`""` clears it).
    SetTitle {
        id: String,
        title: String,
    },
    /// Undo session `id`'s last compaction (`/uncompact`).
    Uncompact {
        id: String,
    },
    /// Compact session `id` now (`/compact`).
    Compact {
        id: String,
    },
    /// Hand the terminal to `$VISUAL` / `$EDITOR` with the draft.
    Compose {
        draft: String,
    },
    Quit,
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
    pub window: Window,
    /// Messages typed while a reply streamed (or a compaction ran), sent in
    /// order once the session is free.
    pub queued: std::collections::VecDeque<String>,
    /// The mouse is released to the terminal (F2) for selecting text.
    pub mouse_released: bool,
    /// Another process holds the session's turn (its reply shows as it is
    /// written; a message typed meanwhile is queued).
    pub elsewhere: bool,
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
            window: init.window,
            queued: Default::default(),
            mouse_released: false,
            elsewhere: false,
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
            Overlay::Picker(p) if p.search.is_some() => Mode::Searching,
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

    /// How full the window is: (used, limit), in messages or tokens as
    /// [`Window`] says; `None` without a limit.
    pub fn gauge(&self) -> Option<(u64, u64)> {
        match self.window {
            Window::Unbounded => None,
            Window::Tokens(max) => Some((self.tokens, max)),
            Window::Messages(max) => {
                let active = match &self.session {
                    Some(s) => s.active_count(),
                    None => self.message_count(),
                };
                Some((active.min(max), max))
            }
        }
    }

    /// The tokens the session's turns used so far, and their estimated cost
    /// when its provider has a price (`None`: nothing used yet).
    pub fn spent(&self) -> Option<(u64, Option<f64>)> {
        let s = self.session.as_ref()?;
        let used = s.input_tokens + s.output_tokens;
        if used == 0 {
            return None;
        }
        let pricing = self
            .providers
            .iter()
            .find(|p| p.name == s.provider)
            .and_then(|p| p.pricing);
        let cost = pricing.map(|(input, output)| {
            (s.input_tokens as f64 * input + s.output_tokens as f64 * output) / 1_000_000.0
        });
        Some((used, cost))
    }

    /// The message count the status bar shows.
    pub fn message_count(&self) -> u64 {
        match &self.session {
            Some(s) => s.message_count,
            // Sessions off: the messages of this run, on screen.
            None if !self.sessions_enabled => self
                .transcript
                .iter()
                .filter(|e| matches!(e.kind, EntryKind::User | EntryKind::Assistant { .. }))
                .count() as u64,
            None => 0,
        }
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
            Event::Composed(Ok(text)) => {
                // Editors end a file with a newline; a message does not.
                let text = text.strip_suffix('\n').unwrap_or(&text);
                self.input.set(text.strip_suffix('\r').unwrap_or(text));
                vec![]
            }
            Event::Composed(Err(why)) => {
                self.transcript
                    .push(Entry::error(format!("{why}; the draft is unchanged")));
                vec![]
            }
            Event::Catalog { providers, skills } => {
                self.catalog(providers, skills);
                vec![]
            }
            Event::Searched { query, matches } => self.searched(query, matches),
            Event::Previewed { id, messages } => {
                if let Overlay::Picker(p) = &mut self.overlay {
                    p.preview = Some((id, messages));
                }
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
                self.preview_effect()
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
                self.transcript.push(Entry::error(error.message));
                self.after_reply(true)
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
                if let Some((question, _)) = end.ids
                    && let Some(q) = self
                        .transcript
                        .iter_mut()
                        .rfind(|e| e.kind == EntryKind::User && e.id.is_none())
                {
                    q.id = Some(question);
                }
                if !end.text.is_empty() {
                    let reply = Entry::new(
                        EntryKind::Assistant {
                            interrupted: end.interrupted || end.error.is_some(),
                        },
                        end.text,
                    );
                    self.transcript.push(match end.ids {
                        Some((_, id)) => reply.with_id(id, false),
                        None => reply,
                    });
                }
                let failed = end.error.is_some();
                if let Some(e) = end.error {
                    self.transcript.push(Entry::error(e.message));
                }
                if let Some(s) = end.session {
                    self.adopt(s);
                }
                if let Some(t) = end.tokens {
                    self.tokens = t;
                }
                self.after_reply(failed)
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
                self.send_queued()
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
                            // The cursor goes where the fix is.
                            match e.kind {
                                FailureKind::Name => f.focus = FormField::Name,
                                FailureKind::Provider => f.focus = FormField::Provider,
                                _ => {}
                            }
                            f.error = Some(e.message);
                        } else {
                            self.transcript.push(Entry::error(e.message));
                        }
                    }
                }
                vec![]
            }
            Event::Live(update) => self.live(*update),
            Event::ListChanged => self.relist(),
            Event::SessionSeen(session) => self.seen(*session),
            Event::Pinned(result) => self.pinned(result),
            Event::Renamed(result) => self.renamed(result),
            Event::Deleted(result) => self.deleted(result),
            Event::Updated(result) => {
                match result {
                    Ok((session, tokens)) => {
                        let skill_changed = session.skill != self.skill;
                        let provider_changed =
                            session.provider != self.provider || session.model != self.model;
                        let retitled =
                            self.session.as_ref().map(|s| &s.title) != Some(&session.title);
                        if retitled {
                            self.transcript.push(Entry::note(match &session.title {
                                Some(t) => format!("Title: {t}"),
                                None => {
                                    "Title cleared (none is made for this session again)".into()
                                }
                            }));
                        }
                        self.adopt(session);
                        self.tokens = tokens;
                        self.overlay = Overlay::None;
                        self.note_switch(skill_changed, provider_changed);
                    }
                    Err(e) => match &mut self.overlay {
                        Overlay::Providers(s) => s.error = Some(e.message),
                        _ => {
                            self.overlay = Overlay::None;
                            self.transcript.push(Entry::error(e.message));
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
        self.elsewhere = false;
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

    /// After a reply (or a turn that could not start): quit if asked, else
    /// send the next queued message once no compaction holds the session.
    /// After a failure the queue is not sent on its own: its messages go to
    /// the input history (Up brings them back), and a note says so.
    fn after_reply(&mut self, failed: bool) -> Vec<Effect> {
        if self.quitting {
            return vec![Effect::Quit];
        }
        if failed && !self.queued.is_empty() {
            let n = self.queued.len();
            self.history.extend(self.queued.drain(..));
            self.history_pos = None;
            self.transcript.push(Entry::note(format!(
                "{} not sent after the failure: Up brings {} back",
                if n == 1 {
                    "The queued message was"
                } else {
                    "The queued messages were"
                },
                if n == 1 { "it" } else { "them" }
            )));
            return vec![];
        }
        self.send_queued()
    }

    /// Sends the oldest queued message when the session is free.
    pub(super) fn send_queued(&mut self) -> Vec<Effect> {
        if self.streaming.is_some() || self.compacting.is_some() || self.elsewhere {
            return vec![];
        }
        match self.queued.pop_front() {
            Some(text) => self.send_text(text),
            None => vec![],
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
            Mode::Picker | Mode::Searching | Mode::Renaming | Mode::ConfirmDelete => {
                self.picker_key(action, &k)
            }
            Mode::Form => self.form_key(action, &k),
            Mode::Skills => self.skills_key(action),
            Mode::Providers => self.providers_key(action, &k),
            Mode::Help => vec![],
        }
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
