//! The TUI driven by key events against a real `Sessions` on a temp-dir
//! project and the fake provider on 127.0.0.1, drawn into ratatui's
//! `TestBackend`: every key of the keymap, and what the screen shows after.

use super::app::{App, EntryKind, Event};
use super::driver::{Bg, Driver};
use super::{dispatch, widgets};
use crate::args::TurnArgs;
use atmos_ai::{CreateOptions, LoadOptions, Project, SessionKey, Sessions, TranscriptQuery};
use atmos_tests::fake_provider::{FakeProvider, Fault, Reply};
use atmos_tests::project::TestProject;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Duration;
use tokio::sync::mpsc;

/// A variable no test sets: the anthropic provider stays without a key.
const MISSING: &str = "ATMOS_TUI_TEST_MISSING_KEY";

fn config(fake: &FakeProvider, extra: &str) -> String {
    format!(
        "ai:\n  default_provider: ollama\n  timeout_seconds: 5\n{extra}  providers:\n    ollama:\n      base_url: {}\n      model: llama-test\n    anthropic:\n      api_key_env: {MISSING}\n  skills:\n    security:\n      display_name: Security\n      description: Reviews IAM policies\n      system_prompt: You audit IAM policies.\n  sessions:\n    enabled: true\n",
        fake.base_url()
    )
}

struct Harness {
    project: TestProject,
    fake: FakeProvider,
    runtime: tokio::runtime::Runtime,
    app: App,
    driver: Driver,
    rx: mpsc::UnboundedReceiver<Bg>,
    terminal: Terminal<TestBackend>,
    quit: bool,
}

fn no_args() -> TurnArgs {
    TurnArgs {
        session: None,
        provider: None,
        model: None,
        skill: None,
    }
}

impl Harness {
    fn new(extra: &str) -> Harness {
        let fake = FakeProvider::start();
        let project = TestProject::new(&config(&fake, extra));
        Harness::start(project, fake, no_args())
    }

    fn start(project: TestProject, fake: FakeProvider, args: TurnArgs) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let loaded = Project::load(&LoadOptions {
            explicit: Some(project.root().to_path_buf()),
            env_path: None,
            start_dir: project.root().to_path_buf(),
        })
        .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut driver = Driver::open(loaded, tx).unwrap();
        let (init, first) = driver.start(&args).unwrap();
        let mut app = App::new(init);
        if let Some(l) = first {
            app.handle(Event::Loaded(l));
        }
        let mut h = Harness {
            project,
            fake,
            runtime,
            app,
            driver,
            rx,
            terminal: Terminal::new(TestBackend::new(100, 30)).unwrap(),
            quit: false,
        };
        h.send(Event::Resize(100, 30));
        h
    }

    fn send(&mut self, event: Event) {
        let (app, driver) = (&mut self.app, &mut self.driver);
        let quit = self
            .runtime
            .block_on(async { dispatch(app, driver, vec![event]) });
        self.quit |= quit;
    }

    fn key(&mut self, code: KeyCode, mods: KeyModifiers) {
        self.send(Event::Key(KeyEvent::new(code, mods)));
    }

    fn press(&mut self, code: KeyCode) {
        self.key(code, KeyModifiers::NONE);
    }

    fn ctrl(&mut self, c: char) {
        self.key(KeyCode::Char(c), KeyModifiers::CONTROL);
    }

    fn typ(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// Handles background reports until `done` holds (a hang guard, not a
    /// timing check: the deadline is far beyond any expected wait).
    fn wait_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !done(&self.app) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let bg = self
                .runtime
                .block_on(async { tokio::time::timeout(left, self.rx.recv()).await });
            match bg {
                Ok(Some(bg)) => {
                    let (app, driver) = (&mut self.app, &mut self.driver);
                    let quit = self.runtime.block_on(async {
                        let events = driver.background(bg);
                        dispatch(app, driver, events)
                    });
                    self.quit |= quit;
                }
                _ => panic!("gave up waiting for {what}; screen:\n{}", self.screen()),
            }
        }
    }

    fn idle(&mut self) {
        self.wait_until("the reply and compaction to end", |a| {
            a.streaming.is_none() && a.compacting.is_none()
        });
    }

    /// The terminal at another size, as a resize event brings it.
    fn resize(&mut self, width: u16, height: u16) {
        self.terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        self.send(Event::Resize(width, height));
    }

    fn say(&mut self, text: &str) {
        self.typ(text);
        self.press(KeyCode::Enter);
        self.idle();
    }

    fn screen(&mut self) -> String {
        self.terminal.draw(|f| widgets::draw(f, &self.app)).unwrap();
        let buffer = self.terminal.backend().buffer();
        let width = buffer.area.width as usize;
        buffer
            .content
            .chunks(width)
            .map(|row| {
                row.iter()
                    .map(|c| c.symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[track_caller]
    fn shows(&mut self, text: &str) {
        let screen = self.screen();
        assert!(screen.contains(text), "{text:?} not on screen:\n{screen}");
    }

    #[track_caller]
    fn hides(&mut self, text: &str) {
        let screen = self.screen();
        assert!(!screen.contains(text), "{text:?} on screen:\n{screen}");
    }

    fn sessions(&self) -> Sessions {
        let project = Project::load(&LoadOptions {
            explicit: Some(self.project.root().to_path_buf()),
            env_path: None,
            start_dir: self.project.root().to_path_buf(),
        })
        .unwrap();
        Sessions::open(project).unwrap()
    }

    /// (role, content, interrupted) of every stored message of a session.
    fn stored(&self, name: &str) -> Vec<(String, String, bool)> {
        let (_, page) = self
            .sessions()
            .messages(
                &SessionKey::Name(name.into()),
                &TranscriptQuery {
                    before: None,
                    limit: 1000,
                    include_archived: true,
                    include_summaries: false,
                },
            )
            .unwrap();
        page.messages
            .into_iter()
            .map(|m| (m.role.as_str().to_string(), m.content, m.interrupted))
            .collect()
    }

    fn session_name(&self) -> String {
        self.app.session.as_ref().expect("a session").name.clone()
    }

    /// The current session as stored.
    fn session(&self) -> atmos_ai::Session {
        self.sessions()
            .get(&SessionKey::Name(self.session_name()))
            .unwrap()
    }
}

#[test]
fn a_message_streams_in_and_the_status_bar_follows() {
    let mut h = Harness::new("");
    h.shows("new session");
    h.shows(" ollama ");
    h.shows("llama-test · skill general · 0 msgs");
    h.typ("hello there");
    h.shows("hello there");
    h.press(KeyCode::Enter);
    // Until the first token: a spinner in the transcript.
    h.shows("waiting for ollama…");
    h.idle();
    h.shows("▶ You");
    h.shows("◆ Assistant");
    h.shows("echo: hello there");
    h.shows("· 2 msgs · ~");
    let name = h.session_name();
    assert!(name.starts_with("chat-"), "{name}");
    h.shows(&name);
    assert_eq!(
        h.stored(&name),
        vec![
            ("user".into(), "hello there".into(), false),
            ("assistant".into(), "echo: hello there".into(), false),
        ]
    );
    // The second turn sends both sides of the first.
    h.say("and again");
    let requests: Vec<_> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/api/chat"))
        .collect();
    let last = &requests.last().unwrap().body["messages"];
    let texts: Vec<&str> = last
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello there", "echo: hello there", "and again"]);
}

#[test]
fn replies_render_as_markdown() {
    let mut h = Harness::new("");
    h.fake.push_reply(Reply::without_usage(&[
        "# VPC plan\n\nUse **two** subnets:\n\n",
        "- public\n- private\n\n",
        "```yaml\ncidr: 10.0.0.0/16\n```\n",
    ]));
    h.say("plan it");
    h.shows("  VPC plan");
    h.hides("# VPC plan");
    h.shows("  Use two subnets:");
    h.shows("  • public");
    h.shows("  • private");
    h.shows("  ╭─yaml");
    h.shows("  │ cidr: 10.0.0.0/16");
    h.shows("  ╰─");
}

#[test]
fn newline_keys_history_and_help() {
    let mut h = Harness::new("");
    h.typ("line one");
    h.ctrl('j');
    h.typ("line two");
    h.key(KeyCode::Enter, KeyModifiers::ALT);
    h.typ("three");
    h.key(KeyCode::Enter, KeyModifiers::SHIFT);
    assert_eq!(h.app.input.text, "line one\nline two\nthree\n");
    h.shows("│line two");
    h.press(KeyCode::Enter);
    h.idle();
    let name = h.session_name();
    assert_eq!(h.stored(&name)[0].1, "line one\nline two\nthree\n");
    h.say("second");
    // Up on an empty input recalls earlier messages, Down comes back.
    h.press(KeyCode::Up);
    assert_eq!(h.app.input.text, "second");
    h.press(KeyCode::Up);
    assert_eq!(h.app.input.text, "line one\nline two\nthree\n");
    h.press(KeyCode::Down);
    assert_eq!(h.app.input.text, "second");
    h.press(KeyCode::Down);
    assert_eq!(h.app.input.text, "");
    // `?` on an empty input opens the help, generated from the keymap.
    h.typ("?");
    h.shows("Session picker (Ctrl+L)");
    h.shows("Ctrl+J / Alt+Enter / Shift+Enter");
    h.shows("cycle the provider filter");
    h.press(KeyCode::Esc);
    h.hides("Session picker (Ctrl+L)");
    h.press(KeyCode::F(1));
    h.shows("Keys");
    h.typ("q");
    h.hides("cycle the provider filter");
    // With text typed, `?` is just a character.
    h.typ("why?");
    assert_eq!(h.app.input.text, "why?");
    h.hides("cycle the provider filter");
}

#[test]
fn the_help_scrolls_to_every_screens_keys_at_80_by_24() {
    let mut h = Harness::new("");
    h.terminal.backend_mut().resize(80, 24);
    h.send(Event::Resize(80, 24));
    h.press(KeyCode::F(1));
    h.shows("Keys");
    h.shows("send the message");
    h.shows("↓ more");
    h.shows("F1 help");
    // Scrolling down brings every other screen's keys into view, one by one.
    let wanted = [
        "cycle the provider filter",
        "keep the new name",
        "delete it",
        "create the session and switch to it",
        "use it (saved to the session)",
        "Provider and model (Ctrl+P)",
    ];
    for text in wanted {
        let mut seen = false;
        for _ in 0..80 {
            if h.screen().contains(text) {
                seen = true;
                break;
            }
            h.press(KeyCode::Down);
        }
        assert!(seen, "{text:?} never scrolled into view");
    }
    // At the end the hint goes away; PgUp goes back up.
    for _ in 0..10 {
        h.press(KeyCode::PageDown);
    }
    h.hides("↓ more");
    for _ in 0..10 {
        h.press(KeyCode::PageUp);
    }
    h.shows("send the message");
    h.press(KeyCode::Esc);
    h.hides("Keys");
}

#[test]
fn esc_cancels_a_reply_and_keeps_the_part_that_arrived() {
    let fake = FakeProvider::start_with_delay(Duration::from_millis(150));
    let project = TestProject::new(&config(&fake, ""));
    let mut h = Harness::start(project, fake, no_args());
    let deltas: Vec<String> = (0..200).map(|i| format!("part{i} ")).collect();
    let refs: Vec<&str> = deltas.iter().map(String::as_str).collect();
    h.fake.push_reply(Reply::without_usage(&refs));
    h.typ("tell me a long story");
    h.press(KeyCode::Enter);
    h.wait_until("the first token", |a| {
        a.streaming.as_ref().is_some_and(|s| !s.text.is_empty())
    });
    h.shows("Esc cancels the reply");
    h.press(KeyCode::Esc);
    h.idle();
    h.shows("◆ Assistant  (interrupted)");
    h.shows("Cancelled: the reply so far is kept, marked interrupted");
    let name = h.session_name();
    let stored = h.stored(&name);
    assert_eq!(stored.len(), 2);
    assert!(stored[1].1.starts_with("part0 "), "{stored:?}");
    assert!(stored[1].2, "marked interrupted");
    // Ctrl+C cancels too, and Ctrl+C when idle quits.
    h.fake.push_reply(Reply::without_usage(&refs));
    h.typ("again");
    h.press(KeyCode::Enter);
    h.wait_until("the first token", |a| {
        a.streaming.as_ref().is_some_and(|s| !s.text.is_empty())
    });
    h.ctrl('c');
    h.idle();
    assert!(!h.quit, "Ctrl+C during a reply only cancels it");
    assert_eq!(h.stored(&name).len(), 4);
    h.ctrl('c');
    assert!(h.quit);
}

#[test]
fn ctrl_d_quits_when_idle() {
    let mut h = Harness::new("");
    h.ctrl('d');
    assert!(h.quit);
}

#[test]
fn a_provider_without_its_key_explains_what_would_enable_each() {
    let mut h = Harness::new("");
    // Ctrl+P: the switcher lists providers and which have credentials.
    h.ctrl('p');
    h.shows("Provider and model");
    // ollama needs no key, but nothing says its server runs: not "ready".
    h.shows("no key needed");
    h.shows(&format!("needs {MISSING}"));
    // ollama is first (configured), anthropic second.
    h.press(KeyCode::Down);
    h.shows("claude");
    h.press(KeyCode::Enter);
    h.shows(" anthropic ");
    h.typ("hi");
    h.press(KeyCode::Enter);
    h.idle();
    h.shows("provider 'anthropic' is not configured");
    h.shows("What enables each provider:");
    h.shows(&format!("anthropic    set {MISSING}"));
    h.shows("ollama       no key needed");
    // Nothing was kept, and the message is given back.
    assert_eq!(h.app.input.text, "hi");
    assert!(h.app.session.is_none());
    assert!(h.sessions().list(&Default::default()).unwrap().0.is_empty());
}

#[test]
fn the_create_form_offers_providers_and_shows_clashes_inline() {
    let mut h = Harness::new("");
    h.ctrl('n');
    h.shows("New session");
    h.shows("(empty: an anonymous name)");
    h.shows("no key needed");
    h.shows(&format!("needs {MISSING}"));
    h.typ("vpc-design");
    h.press(KeyCode::Tab);
    // Down/Up choose the provider, as in the Ctrl+P switcher.
    h.press(KeyCode::Down);
    // The model follows the provider.
    let super::app::Overlay::Form(f) = &h.app.overlay else {
        panic!("the form is open")
    };
    assert_eq!(h.providers_name(f.provider), "anthropic");
    assert!(f.model.text.starts_with("claude"), "{}", f.model.text);
    h.press(KeyCode::Up);
    h.press(KeyCode::Tab);
    h.ctrl('u');
    h.typ("llama-custom");
    h.press(KeyCode::Enter);
    h.hides("New session");
    h.shows(" vpc-design ");
    h.shows("llama-custom");
    let s = h
        .sessions()
        .get(&SessionKey::Name("vpc-design".into()))
        .unwrap();
    assert_eq!(
        (s.provider.as_str(), s.model.as_str()),
        ("ollama", "llama-custom")
    );
    // A taken name: the error shows in the form, which stays open.
    h.ctrl('n');
    h.typ("vpc-design");
    h.press(KeyCode::Enter);
    h.shows("New session");
    h.shows("a session named 'vpc-design' already exists");
    h.press(KeyCode::Esc);
    h.hides("New session");
}

impl Harness {
    fn providers_name(&self, i: usize) -> String {
        self.app.providers[i].name.clone()
    }
}

/// Three sessions made through the core before the TUI starts.
fn seeded() -> Harness {
    let fake = FakeProvider::start();
    let project = TestProject::new(&config(&fake, ""));
    let h = Harness::start(project, fake, no_args());
    let mut s = h.sessions();
    for (name, provider) in [
        ("alpha", "ollama"),
        ("bravo", "anthropic"),
        ("charlie", "ollama"),
    ] {
        s.create(CreateOptions {
            name: Some(name.into()),
            provider: Some(provider.into()),
            ..CreateOptions::default()
        })
        .unwrap();
    }
    h
}

#[test]
fn the_picker_lists_filters_renames_deletes_and_switches() {
    let mut h = seeded();
    h.say("remember alpha-two");
    let first = h.session_name();
    h.ctrl('l');
    h.shows("Sessions · all providers (f) · 4 of 4");
    h.shows("NAME");
    h.shows("charlie");
    h.shows(" anthropic ");
    // When each was last active, as a person says it.
    h.shows("LAST ACTIVE");
    h.shows("just now");
    // The current session is marked and selected.
    h.shows(&format!("● {first}"));
    // f cycles the provider filter.
    h.typ("f");
    h.shows("Sessions · anthropic (f) · 1 of 4");
    h.hides("charlie");
    h.typ("f");
    h.shows("Sessions · ollama (f) · 3 of 4");
    h.hides("bravo");
    h.typ("f");
    h.shows("all providers");
    // j/k and the arrows move; r renames inline.
    h.typ("jj");
    h.press(KeyCode::Up);
    h.typ("k");
    h.typ("j");
    let picked = h.picked();
    h.typ("r");
    h.shows("Enter keeps the new name · Esc cancels");
    h.ctrl('u');
    h.typ("zulu");
    // The field shows where the cursor is: a reversed cell after "zulu".
    h.screen();
    let buffer = h.terminal.backend().buffer().clone();
    let cursor = buffer
        .content
        .iter()
        .position(|c| c.modifier.contains(ratatui::style::Modifier::REVERSED))
        .expect("a cursor in the rename field");
    let before: String = buffer.content[cursor - 4..cursor]
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert_eq!(before, "zulu");
    h.press(KeyCode::Esc);
    h.hides("zulu");
    h.shows(&picked);
    h.typ("r");
    h.ctrl('u');
    h.typ("alpha");
    h.press(KeyCode::Enter);
    if picked != "alpha" {
        // A clash: the error shows inline and the field stays open.
        h.shows("a session named 'alpha' already exists");
        h.ctrl('u');
        h.typ("zulu");
        h.press(KeyCode::Enter);
        h.hides("Enter keeps the new name");
        h.shows("zulu");
        assert!(h.sessions().get(&SessionKey::Name("zulu".into())).is_ok());
    }
    // d asks first; n keeps it, y deletes it.
    let doomed = h.picked();
    h.typ("d");
    h.shows(&format!(
        "Delete '{doomed}' and all its history? This cannot be undone. y / n"
    ));
    h.typ("n");
    h.hides("This cannot be undone");
    h.typ("d");
    h.typ("y");
    h.shows("of 3");
    assert!(h.sessions().get(&SessionKey::Name(doomed.clone())).is_err());
    // Enter switches; switching back restores the transcript.
    while h.picked() == first {
        h.typ("j");
    }
    let other = h.picked();
    h.press(KeyCode::Enter);
    h.hides("NAME");
    assert_eq!(h.session_name(), other);
    h.hides("remember alpha-two");
    h.ctrl('l');
    while h.picked() != first {
        h.typ("k");
    }
    h.press(KeyCode::Enter);
    h.shows("remember alpha-two");
    h.shows("echo: remember alpha-two");
    // Esc and q go back to the chat.
    h.ctrl('l');
    h.typ("q");
    h.hides("NAME");
    h.ctrl('l');
    h.press(KeyCode::Esc);
    h.hides("NAME");
    // n in the picker opens the create form.
    h.ctrl('l');
    h.typ("n");
    h.shows("New session");
    h.press(KeyCode::Esc);
    h.ctrl('l');
    h.ctrl('n');
    h.shows("New session");
}

impl Harness {
    fn picked(&self) -> String {
        let super::app::Overlay::Picker(p) = &self.app.overlay else {
            panic!("the picker is open")
        };
        p.current().expect("a row").name.clone()
    }
}

#[test]
fn deleting_the_current_session_starts_afresh() {
    let mut h = seeded();
    h.say("soon gone");
    let name = h.session_name();
    h.ctrl('l');
    h.typ("d");
    h.typ("y");
    h.press(KeyCode::Esc);
    h.shows(&format!("Session '{name}' was deleted"));
    h.shows("new session");
    assert!(h.app.session.is_none());
}

#[test]
fn the_skill_selector_saves_at_once_and_the_next_message_uses_it() {
    let mut h = Harness::new("");
    h.say("first");
    h.ctrl('a');
    h.shows("Skill");
    h.shows("General");
    h.shows("Security");
    h.shows("Reviews IAM policies");
    h.typ("j");
    h.press(KeyCode::Enter);
    h.hides("Reviews IAM policies");
    h.shows("skill security");
    h.shows("Skill: security (used from the next message)");
    let name = h.session_name();
    let s = h.sessions().get(&SessionKey::Name(name)).unwrap();
    assert_eq!(s.skill, "security");
    h.say("second");
    let body = h.fake.requests().last().unwrap().body.clone();
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("You audit IAM policies."), "{system}");
    // Esc and q leave without changing.
    h.ctrl('a');
    h.typ("k");
    h.typ("q");
    h.ctrl('a');
    h.press(KeyCode::Esc);
    h.shows("skill security");
}

#[test]
fn switching_the_model_keeps_the_conversation() {
    let mut h = Harness::new("");
    h.say("about vpcs");
    h.ctrl('p');
    h.press(KeyCode::Tab);
    h.ctrl('u');
    h.typ("llama-big");
    h.press(KeyCode::Enter);
    h.shows("llama-big");
    h.shows("Now using ollama / llama-big; the conversation so far is kept");
    h.say("and subnets?");
    let body = h.fake.requests().last().unwrap().body.clone();
    assert_eq!(body["model"], "llama-big");
    let texts: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["about vpcs", "echo: about vpcs", "and subnets?"]);
    let s = h
        .sessions()
        .get(&SessionKey::Name(h.session_name()))
        .unwrap();
    assert_eq!(s.model, "llama-big");
}

#[test]
fn page_keys_and_the_wheel_scroll_and_resizing_rewraps() {
    let mut h = Harness::new("");
    let long: String = (0..60).map(|i| format!("line{i}\n\n")).collect();
    h.fake.push_reply(Reply::without_usage(&[&long]));
    h.say("many lines");
    h.shows("line59");
    h.press(KeyCode::PageUp);
    h.shows("more lines below: PgDn");
    h.hides("line59");
    h.send(Event::Scroll(1));
    h.send(Event::Scroll(1));
    h.press(KeyCode::PageDown);
    h.press(KeyCode::PageDown);
    h.shows("line59");
    h.hides("more lines below");
    h.send(Event::Scroll(-1));
    h.shows("more lines below");
    // A narrower terminal: everything is drawn again at the new width.
    h.terminal.backend_mut().resize(50, 20);
    h.send(Event::Resize(50, 20));
    h.press(KeyCode::PageDown);
    h.press(KeyCode::PageDown);
    h.shows("line59");
    h.shows(" ollama ");
}

#[test]
fn compaction_shows_a_status_line_then_a_note_with_markers() {
    let extra = "  max_history_messages: 4\n";
    let fake = FakeProvider::start();
    let yaml = config(&fake, extra).replace(
        "  sessions:\n    enabled: true\n",
        "  sessions:\n    enabled: true\n    auto_compact:\n      enabled: true\n      preserve_recent: 1\n      use_ai_summary: false\n      show_summary_markers: true\n",
    );
    let project = TestProject::new(&yaml);
    let mut h = Harness::start(project, fake, no_args());
    // Long enough that a summary of it is shorter (a summary that saves
    // nothing is not made).
    h.say(&format!(
        "one: {}",
        "the staging VPC uses 10.0.0.0/16. ".repeat(14)
    ));
    h.typ("two");
    h.press(KeyCode::Enter);
    h.wait_until("the compaction to start", |a| {
        a.compacting.is_some() || a.transcript.iter().any(|e| e.text.starts_with("Compacted"))
    });
    h.idle();
    h.shows("Compacted 2 messages into a summary");
    h.shows("[SUMMARY: Messages 1-2]");
    assert!(
        h.app
            .transcript
            .iter()
            .any(|e| e.kind == EntryKind::Summary)
    );
    // Switching to it again shows the same notes where it happened.
    let name = h.session_name();
    let project = std::mem::replace(&mut h.project, TestProject::bare());
    let fake = std::mem::replace(&mut h.fake, FakeProvider::start());
    drop(h);
    let mut again = Harness::start(
        project,
        fake,
        TurnArgs {
            session: Some(name),
            ..no_args()
        },
    );
    again.shows("Messages 1–2 were compacted into a summary");
    again.shows("[SUMMARY: Messages 1-2]");
    again.shows("echo: two");
    // Where the conversation stands, and which messages the summary stands for.
    again.shows("Resumed · last message just now · 4 messages (2 archived)");
    let summarised: Vec<bool> = again
        .app
        .transcript
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::User | EntryKind::Assistant { .. }))
        .map(|e| e.summarised)
        .collect();
    assert_eq!(summarised, [true, true, false, false]);
}

#[test]
fn a_named_session_resumes_with_its_transcript_provider_model_and_skill() {
    let mut h = Harness::new("");
    h.ctrl('n');
    h.typ("ops");
    h.press(KeyCode::Enter);
    h.say("kept across runs");
    h.ctrl('a');
    h.typ("j");
    h.press(KeyCode::Enter);
    let project = std::mem::replace(&mut h.project, TestProject::bare());
    let fake = std::mem::replace(&mut h.fake, FakeProvider::start());
    drop(h);
    let mut again = Harness::start(
        project,
        fake,
        TurnArgs {
            session: Some("ops".into()),
            ..no_args()
        },
    );
    again.shows(" ops ");
    again.shows("kept across runs");
    again.shows("echo: kept across runs");
    again.shows("llama-test · skill security · 2 msgs");
    again.press(KeyCode::Up);
    assert_eq!(again.app.input.text, "kept across runs");
}

#[test]
fn with_sessions_off_the_chat_is_a_conversation_kept_in_memory() {
    let fake = FakeProvider::start();
    let yaml = config(&fake, "  max_history_messages: 4\n")
        .replace("    enabled: true\n", "    enabled: false\n");
    let project = TestProject::new(&yaml);
    let mut h = Harness::start(project, fake, no_args());
    h.shows("Sessions are disabled in this project");
    h.shows("kept in memory only until you quit");
    h.say("first: the prod VPC is 10.40.0.0/16");
    h.shows("echo: first");
    h.say("second: and staging?");
    h.shows("echo: second");
    h.shows("4 msgs");
    // The second question went with the first and its reply.
    let texts = |h: &Harness, i: usize| -> Vec<String> {
        h.fake.requests()[i].body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] != "system")
            .map(|m| m["content"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        texts(&h, 1),
        [
            "first: the prod VPC is 10.40.0.0/16",
            "echo: first: the prod VPC is 10.40.0.0/16",
            "second: and staging?"
        ]
    );
    // max_history_messages (4) holds, the new message included.
    h.say("third");
    let third = texts(&h, 2);
    assert_eq!(third.len(), 4, "{third:?}");
    assert_eq!(third.last().unwrap(), "third");
    assert_eq!(third[0], "echo: first: the prod VPC is 10.40.0.0/16");
    h.ctrl('l');
    h.shows("sessions are disabled, so nothing is kept");
    h.press(KeyCode::Esc);
    h.ctrl('n');
    h.shows("✗ sessions are disabled");
    assert!(!h.project.db_path().exists());
}

#[test]
fn scrolling_and_new_messages_do_not_redraw_the_transcript_and_a_resize_redraws_it_once() {
    use super::widgets::transcript::ENTRY_DRAWS;
    let draws = || ENTRY_DRAWS.with(|n| n.get());
    let mut h = Harness::new("");
    for q in ["one", "two", "three"] {
        h.say(&format!(
            "{q}: a question long enough to wrap {}",
            "and wrap ".repeat(12)
        ));
    }
    h.screen();
    let before = draws();
    // Scrolling and redrawing draw no entry again.
    h.press(KeyCode::PageUp);
    h.screen();
    h.press(KeyCode::PageDown);
    h.screen();
    assert_eq!(draws(), before, "scrolling redrew entries");
    // A new message draws only the new entries (the question and its reply).
    h.say("four");
    h.screen();
    assert_eq!(draws(), before + 2, "a new message redrew old entries");
    // A resize draws each entry once at the new width, then no more.
    let entries = h.app.transcript.len();
    h.send(Event::Resize(80, 30));
    h.terminal.backend_mut().resize(80, 30);
    h.screen();
    h.screen();
    assert_eq!(draws(), before + 2 + entries);
}

// Every screen, snapshot-tested (insta): what a person sees, drawn from the state the keys
// led to. Dates, times and generated names are masked; everything else is verbatim. After
// a deliberate change, review and accept with `INSTA_UPDATE=always cargo test -p atmos-cli
// --bin atmos tui::tests::screen`, then read the diff of `cli/src/tui/snapshots/`.

#[track_caller]
fn snapshot(h: &mut Harness, name: &str) {
    let screen = h.screen();
    insta::with_settings!({
        filters => vec![
            // Masks as wide as what they hide, so the columns stay as drawn.
            (r"chat-\d{8}-\d{6}", "chat-YYYYMMDD-HHMMSS"),
            (r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD"),
            (r"\b\d{2}:\d{2}\b", "HH:MM"),
            // Whether the built-in providers the tests do not configure have credentials
            // depends on the environment the tests run in.
            (
                r"(?m)^(  │    (?:openai|gemini|azureopenai|grok|github|bedrock) +\S+ +).*$",
                "$1[credentials: the environment's]",
            ),
        ],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, screen);
    });
}

#[test]
fn screen_chat_after_a_reply() {
    let mut h = Harness::new("");
    h.say("How should I lay out the production VPC?");
    h.typ("and staging?");
    snapshot(&mut h, "screen_chat");
}

#[test]
fn screen_create_form() {
    let mut h = Harness::new("");
    h.ctrl('n');
    h.typ("vpc-design");
    snapshot(&mut h, "screen_create_form");
}

#[test]
fn an_edited_atmos_yaml_shows_in_the_selectors_without_a_restart() {
    for sessions in [true, false] {
        let fake = FakeProvider::start();
        let yaml = config(&fake, "");
        let yaml = if sessions {
            yaml
        } else {
            yaml.replace("    enabled: true\n", "    enabled: false\n")
        };
        let project = TestProject::new(&yaml);
        let mut h = Harness::start(project, fake, no_args());
        h.ctrl('a');
        h.hides("Terraform plans");
        h.press(KeyCode::Esc);
        // A new skill and a new provider, added while the chat runs.
        let edited = yaml
            .replace(
                "  skills:\n",
                "  skills:\n    planner:\n      display_name: Planner\n      description: Reads Terraform plans\n      system_prompt: You read plans.\n",
            )
            .replace(
                "  providers:\n",
                "  providers:\n    lmstudio:\n      kind: openai\n      base_url: http://127.0.0.1:9/v1\n      model: qwen-local\n",
            );
        h.project.write_config(&edited);
        h.ctrl('a');
        h.shows("Reads Terraform plans");
        h.press(KeyCode::Esc);
        h.ctrl('p');
        h.shows("qwen-local");
        h.press(KeyCode::Esc);
        // A broken edit keeps what worked and says so.
        h.project.write_config("ai: [\n");
        h.ctrl('a');
        h.shows("cannot be used");
        h.shows("Reads Terraform plans");
    }
}

#[test]
fn the_picker_searches_names_and_message_text_and_previews_the_selection() {
    let mut h = seeded();
    h.resize(140, 36);
    h.say("the staging VPC uses 10.20.0.0/16 and peers with shared services");
    let current = h.session_name();
    h.ctrl('l');
    // Wide enough: a preview of the selected (current) session.
    h.shows("Preview");
    h.shows("10.20.0.0/16 and peers");
    h.typ("/");
    h.shows("a name, or words from a message");
    h.typ("10.20");
    // Found by its message text, with the words that matched.
    h.shows(&current);
    h.hides("charlie");
    h.shows("staging VPC uses");
    snapshot(&mut h, "screen_picker_search");
    // By name too; Esc leaves the search, and all are back.
    h.ctrl('u');
    h.typ("brav");
    h.shows("bravo");
    h.shows("(its name)");
    h.hides("charlie");
    h.press(KeyCode::Esc);
    h.shows("charlie");
    h.shows("bravo");
    // Enter on a match switches to it.
    h.typ("/");
    h.typ("charl");
    h.shows("charlie");
    h.press(KeyCode::Enter);
    h.hides("Sessions ·");
    assert_eq!(h.session_name(), "charlie");
}

#[test]
fn a_message_typed_during_a_reply_is_queued_and_sent_after_it() {
    let fake = FakeProvider::start_with_delay(Duration::from_millis(50));
    let project = TestProject::new(&config(&fake, ""));
    let mut h = Harness::start(project, fake, no_args());
    h.typ("first question");
    h.press(KeyCode::Enter);
    h.typ("second question");
    h.press(KeyCode::Enter);
    h.shows("Queued, sent when the session is free (1 waiting): second question");
    h.wait_until("both replies", |a| {
        a.streaming.is_none()
            && a.queued.is_empty()
            && a.transcript
                .iter()
                .any(|e| e.text == "echo: second question")
    });
    let texts: Vec<&str> = h
        .app
        .transcript
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::User | EntryKind::Assistant { .. }))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "first question",
            "echo: first question",
            "second question",
            "echo: second question"
        ]
    );
}

#[test]
fn ctrl_r_asks_the_last_question_again_after_a_failure_or_a_reply() {
    let mut h = Harness::new("");
    // A 500 is tried again twice by the provider client before it fails.
    for _ in 0..3 {
        h.fake.push_fault(Fault::Status500);
    }
    h.say("which CIDR for prod?");
    h.shows("HTTP 500");
    // After the failure: the question is asked again, not stored twice.
    h.fake.push_reply(Reply::new(&["Use 10.40.0.0/16."], 10, 4));
    h.ctrl('r');
    h.shows("Asking again: which CIDR for prod?");
    h.wait_until("the new reply", |a| a.streaming.is_none());
    h.shows("Use 10.40.0.0/16.");
    let last = h.fake.requests().pop().unwrap();
    assert_eq!(
        last.body
            .to_string()
            .matches("which CIDR for prod?")
            .count(),
        1
    );
    // After a reply: it is archived (kept, dimmed) and a new one comes.
    h.fake
        .push_reply(Reply::new(&["Use 10.50.0.0/16 instead."], 10, 4));
    h.ctrl('r');
    h.wait_until("the second reply", |a| a.streaming.is_none());
    h.shows("Use 10.50.0.0/16 instead.");
    let name = h.session_name();
    let (_, page) = h
        .sessions()
        .messages(
            &SessionKey::Name(name),
            &TranscriptQuery {
                before: None,
                limit: 50,
                include_archived: true,
                include_summaries: true,
            },
        )
        .unwrap();
    let stored: Vec<(String, bool)> = page
        .messages
        .iter()
        .map(|m| (m.content.clone(), m.archived))
        .collect();
    assert_eq!(
        stored,
        [
            ("which CIDR for prod?".to_string(), false),
            ("Use 10.40.0.0/16.".to_string(), true),
            ("Use 10.50.0.0/16 instead.".to_string(), false),
        ]
    );
    let last = h.fake.requests().pop().unwrap();
    assert!(
        !last.body.to_string().contains("10.40.0.0/16"),
        "the archived reply is not sent"
    );
    assert!(
        h.app
            .transcript
            .iter()
            .any(|e| e.summarised && e.text == "Use 10.40.0.0/16.")
    );
}

#[test]
fn the_status_bar_shows_how_full_the_window_is() {
    let mut h = Harness::new("  max_history_messages: 4\n");
    h.shows("▱▱▱▱▱ 0/4");
    h.say("one");
    h.shows("▰▰▰▱▱ 2/4");
    h.say("two");
    h.shows("▰▰▰▰▰ 4/4");
    // Without a limit there is no gauge.
    let mut plain = Harness::new("");
    plain.say("one");
    plain.hides("▱");
    plain.hides("▰");
}

#[test]
fn slash_commands_compact_switch_and_complete() {
    let extra = "  max_history_messages: 40\n";
    let fake = FakeProvider::start();
    let yaml = config(&fake, extra).replace(
        "  sessions:\n    enabled: true\n",
        "  sessions:\n    enabled: true\n    auto_compact:\n      preserve_recent: 2\n      use_ai_summary: false\n",
    );
    let mut h = Harness::start(TestProject::new(&yaml), fake, no_args());
    let long = "the staging VPC uses 10.0.0.0/16 and peers with shared services. ".repeat(8);
    h.say(&format!("one: {long}"));
    h.say(&format!("two: {long}"));
    // Tab completes a command's name.
    h.typ("/comp");
    h.press(KeyCode::Tab);
    assert_eq!(h.app.input.text, "/compact ");
    h.press(KeyCode::Enter);
    h.wait_until("the compaction", |a| {
        a.compacting.is_none()
            && a.transcript
                .iter()
                .any(|e| e.text.starts_with("Compacted 2"))
    });
    h.shows("Compacted 2 messages into a summary");
    assert_eq!(h.session().archived_count, 2);
    // /skill NAME and /model NAME switch the session.
    h.say("/skill security");
    h.wait_until("the skill switch", |a| a.skill == "security");
    assert_eq!(h.session().skill, "security");
    // An unknown command says which there are (the text stays, to fix);
    // a path is a message.
    h.say("/compcat");
    h.shows("unknown command /compcat: the commands are /compact, /uncompact, /skill");
    assert_eq!(h.app.input.text, "/compcat");
    h.ctrl('u');
    h.say("/etc/hosts maps names to addresses");
    h.shows("echo: /etc/hosts maps names to addresses");
    h.say("//compact is a command");
    h.shows("echo: /compact is a command");
    // /uncompact puts them back: nothing archived, the summary kept.
    h.say("/uncompact");
    h.shows("Compaction undone: 2 messages are sent again");
    assert_eq!(h.session().archived_count, 0);
    h.say("/model llama-bigger");
    h.wait_until("the model switch", |a| a.model == "llama-bigger");
    assert_eq!(h.session().model, "llama-bigger");
}

#[test]
fn shift_f_in_the_picker_forks_the_session_and_switches_to_the_fork() {
    let mut h = Harness::new("");
    h.say("the trunk's question");
    let origin = h.session_name();
    h.ctrl('l');
    h.shows("F fork");
    h.typ("F");
    h.hides("Sessions ·");
    assert_eq!(h.session_name(), format!("{origin}-fork"));
    h.shows(&format!("Forked '{origin}' into '{origin}-fork'"));
    h.shows("the trunk's question");
    let fork = h.session();
    assert_eq!(fork.forked_from.as_deref(), Some(origin.as_str()));
    assert_eq!(fork.message_count, 2);
}

#[test]
fn screen_create_form_at_80_columns() {
    let mut h = Harness::new("");
    h.resize(80, 24);
    h.ctrl('n');
    h.typ("vpc-design");
    snapshot(&mut h, "screen_create_form_80");
}

#[test]
fn screen_picker_filter_rename_delete() {
    let mut h = seeded();
    h.ctrl('l');
    snapshot(&mut h, "screen_picker");
    h.typ("f");
    snapshot(&mut h, "screen_picker_filtered");
    h.typ("f");
    h.typ("f");
    h.typ("r");
    h.typ("-2");
    snapshot(&mut h, "screen_picker_rename");
    h.press(KeyCode::Esc);
    h.typ("d");
    snapshot(&mut h, "screen_picker_delete");
}

#[test]
fn screen_skill_selector() {
    let mut h = Harness::new("");
    h.ctrl('a');
    snapshot(&mut h, "screen_skills");
}

#[test]
fn screen_provider_switcher() {
    let mut h = Harness::new("");
    h.ctrl('p');
    snapshot(&mut h, "screen_provider_switch");
}

#[test]
fn screen_help() {
    let mut h = Harness::new("");
    h.press(KeyCode::Char('?'));
    snapshot(&mut h, "screen_help");
}

#[test]
fn the_picker_shows_each_sessions_title_under_its_name() {
    let mut h = Harness::new("");
    h.say("How should I lay out the production VPC?\nwith three zones");
    let name = h.session_name();
    assert_eq!(
        h.session().title.as_deref(),
        Some("How should I lay out the production VPC?")
    );
    h.ctrl('l');
    h.shows("Sessions ·");
    let screen = h.screen();
    let lines: Vec<&str> = screen.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains(&name) && l.contains('│'))
        .unwrap_or_else(|| panic!("no row for {name}:\n{screen}"));
    assert!(
        lines[row + 1].contains("How should I lay out the production VPC?"),
        "the title is under the name:\n{screen}"
    );
}
