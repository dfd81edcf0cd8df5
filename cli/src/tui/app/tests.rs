//! `App::handle` as a table: a starting state, the events that come in, the
//! effects that must go out, and what must then hold of the state. No
//! driver, no IO: the app alone (the driver and the screens are tested in
//! `tui/tests.rs` against the real core and the fake provider).

use super::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn init(sessions_enabled: bool) -> Init {
    Init {
        window: Window::Unbounded,
        sessions_enabled,
        providers: vec![
            ProviderInfo {
                name: "ollama".into(),
                model: "llama3.3".into(),
                missing: None,
                needs_key: false,
                pricing: None,
            },
            ProviderInfo {
                name: "anthropic".into(),
                model: "claude-sonnet-4-5".into(),
                missing: Some("ANTHROPIC_API_KEY".into()),
                needs_key: true,
                pricing: None,
            },
        ],
        skills: vec![
            SkillInfo {
                name: "general".into(),
                display_name: "General".into(),
                description: "Infrastructure questions".into(),
            },
            SkillInfo {
                name: "security".into(),
                display_name: "Security".into(),
                description: "Reviews IAM policies".into(),
            },
        ],
        provider: "ollama".into(),
        model: "llama3.3".into(),
        skill: "general".into(),
        tokens: 10,
        notes: Vec::new(),
    }
}

fn session(id: &str, name: &str) -> Session {
    let at = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("a time");
    Session {
        id: id.into(),
        name: name.into(),
        provider: "ollama".into(),
        model: "llama3.3".into(),
        skill: "general".into(),
        created_at: at,
        updated_at: at,
        message_count: 2,
        archived_count: 0,
        summary_count: 0,
        metadata: serde_json::json!({}),
        forked_from: None,
        forked_at: None,
        input_tokens: 0,
        output_tokens: 0,
        title: None,
    }
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(text: &str) -> Vec<Event> {
    text.chars().map(|c| key(KeyCode::Char(c))).collect()
}

fn with(mut events: Vec<Event>, more: impl IntoIterator<Item = Event>) -> Vec<Event> {
    events.extend(more);
    events
}

fn send_effect(session: Option<&str>, text: &str) -> Effect {
    Effect::Send {
        session: session.map(str::to_string),
        provider: "ollama".into(),
        model: "llama3.3".into(),
        skill: "general".into(),
        text: text.into(),
    }
}

/// An app showing the session `s1` ("vpc").
fn in_session(app: &mut App) {
    app.handle(Event::Loaded(Box::new(Loaded {
        session: session("s1", "vpc"),
        entries: vec![Entry::new(EntryKind::User, "earlier")],
        tokens: 40,
    })));
}

/// An app with a reply streaming in `s1`.
fn streaming(app: &mut App) {
    in_session(app);
    for e in with(typed("hi"), [key(KeyCode::Enter)]) {
        app.handle(e);
    }
}

fn last_text(app: &App) -> &str {
    app.transcript.last().map_or("", |e| e.text.as_str())
}

struct Case {
    name: &'static str,
    sessions_enabled: bool,
    setup: fn(&mut App),
    events: Vec<Event>,
    effects: Vec<Effect>,
    then: fn(&App) -> bool,
}

fn nothing(_: &mut App) {}

fn live(entries: Vec<Entry>, replying: bool) -> Event {
    Event::Live(Box::new(LiveUpdate {
        session: Session {
            message_count: 3,
            ..session("s1", "vpc")
        },
        entries,
        replying_elsewhere: replying,
        reloaded: None,
    }))
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a turn elsewhere: its messages appear, a growing reply replaces itself by id",
            sessions_enabled: true,
            setup: in_session,
            events: vec![
                live(
                    vec![
                        Entry::new(EntryKind::User, "from the editor").with_id(7, false),
                        Entry::new(EntryKind::Assistant { interrupted: false }, "Use")
                            .with_id(8, false),
                    ],
                    true,
                ),
                live(
                    vec![
                        Entry::new(EntryKind::Assistant { interrupted: false }, "Use three AZs")
                            .with_id(8, false),
                    ],
                    false,
                ),
            ],
            effects: vec![],
            then: |a| {
                !a.elsewhere
                    && a.transcript.len() == 3
                    && last_text(a) == "Use three AZs"
                    && a.message_count() == 3
            },
        },
        Case {
            name: "Enter while another process replies queues the message; it goes when that ends",
            sessions_enabled: true,
            setup: in_session,
            events: with(
                vec![live(vec![], true)],
                with(typed("mine"), [key(KeyCode::Enter), live(vec![], false)]),
            ),
            effects: vec![send_effect(Some("s1"), "mine")],
            then: |a| a.streaming.is_some() && !a.elsewhere && a.queued.is_empty(),
        },
        Case {
            name: "updates of another session, or during this chat's own turn, are ignored",
            sessions_enabled: true,
            setup: streaming,
            events: vec![live(
                vec![Entry::new(EntryKind::User, "dup").with_id(9, false)],
                true,
            )],
            effects: vec![],
            then: |a| !a.elsewhere && !a.transcript.iter().any(|e| e.text == "dup"),
        },
        Case {
            name: "Ctrl+T pins the last stored reply; the result marks it",
            sessions_enabled: true,
            setup: |a| {
                in_session(a);
                a.handle(live(
                    vec![
                        Entry::new(EntryKind::Assistant { interrupted: false }, "the plan")
                            .with_id(5, false),
                    ],
                    false,
                ));
            },
            events: vec![
                ctrl('t'),
                Event::Pinned(Ok((session("s1", "vpc"), 5, true))),
            ],
            effects: vec![Effect::Pin {
                id: "s1".into(),
                message: 5,
                pinned: true,
            }],
            then: |a| a.transcript.iter().any(|e| e.id == Some(5) && e.pinned),
        },
        Case {
            name: "a list changed elsewhere lists an open picker again",
            sessions_enabled: true,
            setup: |a| {
                in_session(a);
                a.handle(ctrl('l'));
                a.handle(Event::Listed(vec![session("s1", "vpc")]));
            },
            events: vec![Event::ListChanged],
            effects: vec![Effect::ListSessions],
            then: |a| matches!(a.overlay, Overlay::Picker(_)),
        },
        Case {
            name: "…but not while a delete waits for its confirmation",
            sessions_enabled: true,
            setup: |a| {
                in_session(a);
                a.handle(ctrl('l'));
                a.handle(Event::Listed(vec![session("s1", "vpc")]));
                a.handle(key(KeyCode::Char('d')));
            },
            events: vec![Event::ListChanged],
            effects: vec![],
            then: |a| matches!(&a.overlay, Overlay::Picker(p) if p.confirm_delete),
        },
        Case {
            name: "/unpin 5 and /title set go to the driver",
            sessions_enabled: true,
            setup: in_session,
            events: with(
                typed("/unpin 5"),
                with(
                    vec![key(KeyCode::Enter)],
                    with(typed("/title Prod VPC"), [key(KeyCode::Enter)]),
                ),
            ),
            effects: vec![
                Effect::Pin {
                    id: "s1".into(),
                    message: 5,
                    pinned: false,
                },
                Effect::SetTitle {
                    id: "s1".into(),
                    title: "Prod VPC".into(),
                },
            ],
            then: |_| true,
        },
        Case {
            name: "Enter sends the input in a new session and starts streaming",
            sessions_enabled: true,
            setup: nothing,
            events: with(typed("which CIDR?"), [key(KeyCode::Enter)]),
            effects: vec![send_effect(None, "which CIDR?")],
            then: |a| {
                a.input.text.is_empty()
                    && a.streaming.is_some()
                    && a.transcript
                        .last()
                        .is_some_and(|e| e.kind == EntryKind::User)
            },
        },
        Case {
            name: "Enter in a session sends in that session",
            sessions_enabled: true,
            setup: in_session,
            events: with(typed("and the AZs?"), [key(KeyCode::Enter)]),
            effects: vec![send_effect(Some("s1"), "and the AZs?")],
            then: |a| a.history.last().is_some_and(|h| h == "and the AZs?"),
        },
        Case {
            name: "Enter on an empty input does nothing",
            sessions_enabled: true,
            setup: nothing,
            events: vec![key(KeyCode::Enter)],
            effects: vec![],
            then: |a| a.streaming.is_none() && a.transcript.is_empty(),
        },
        Case {
            name: "Enter while a reply streams queues the message; it goes when the reply ends",
            sessions_enabled: true,
            setup: streaming,
            events: with(
                typed("next"),
                [
                    key(KeyCode::Enter),
                    Event::ReplyEnded(Box::new(ReplyEnd {
                        session: None,
                        text: "hello".into(),
                        interrupted: false,
                        error: None,
                        tokens: None,
                        ids: None,
                    })),
                ],
            ),
            effects: vec![send_effect(Some("s1"), "next")],
            then: |a| {
                a.input.text.is_empty()
                    && a.queued.is_empty()
                    && a.streaming.is_some()
                    && a.transcript
                        .iter()
                        .any(|e| e.text.starts_with("Queued, sent when"))
            },
        },
        Case {
            name: "after a failed reply the queue is not sent: Up brings it back",
            sessions_enabled: true,
            setup: streaming,
            events: with(
                typed("next"),
                [
                    key(KeyCode::Enter),
                    Event::ReplyEnded(Box::new(ReplyEnd {
                        session: None,
                        text: String::new(),
                        interrupted: false,
                        error: Some(Failure::new(FailureKind::Other, "HTTP 500")),
                        tokens: None,
                        ids: None,
                    })),
                    key(KeyCode::Up),
                ],
            ),
            effects: vec![],
            then: |a| {
                a.queued.is_empty()
                    && a.streaming.is_none()
                    && a.input.text == "next"
                    && a.transcript.iter().any(|e| e.text.contains("was not sent"))
            },
        },
        Case {
            name: "Esc while streaming cancels the reply",
            sessions_enabled: true,
            setup: streaming,
            events: vec![key(KeyCode::Esc)],
            effects: vec![Effect::Cancel],
            then: |a| a.streaming.is_some(),
        },
        Case {
            name: "Ctrl+C while streaming cancels, when idle quits",
            sessions_enabled: true,
            setup: streaming,
            events: vec![
                ctrl('c'),
                Event::ReplyEnded(Box::new(ReplyEnd {
                    session: None,
                    text: "part".into(),
                    interrupted: true,
                    error: None,
                    tokens: None,
                    ids: None,
                })),
                ctrl('c'),
            ],
            effects: vec![Effect::Cancel, Effect::Quit],
            then: |a| a.streaming.is_none(),
        },
        Case {
            name: "Ctrl+C with a draft keeps it in the history; Up brings it back",
            sessions_enabled: true,
            setup: nothing,
            events: with(typed("half a thought"), [ctrl('c'), key(KeyCode::Up)]),
            effects: vec![],
            then: |a| a.input.text == "half a thought" && last_text(a).contains("Draft kept"),
        },
        Case {
            name: "Ctrl+D with a draft does not quit either; a second press does",
            sessions_enabled: true,
            setup: nothing,
            events: with(typed("draft"), [ctrl('d'), ctrl('d')]),
            effects: vec![Effect::Quit],
            then: |a| a.history.last().is_some_and(|h| h == "draft"),
        },
        Case {
            name: "a reply streams in and ends as an assistant entry with the new counts",
            sessions_enabled: true,
            setup: streaming,
            events: vec![
                Event::ReplyStarted { session: None },
                Event::Delta("Use ".into()),
                Event::Delta("10.0.0.0/16".into()),
                Event::ReplyEnded(Box::new(ReplyEnd {
                    session: Some(Session {
                        message_count: 4,
                        ..session("s1", "vpc")
                    }),
                    text: "Use 10.0.0.0/16".into(),
                    interrupted: false,
                    error: None,
                    tokens: Some(77),
                    ids: Some((3, 4)),
                })),
            ],
            effects: vec![],
            then: |a| {
                a.streaming.is_none()
                    && a.tokens == 77
                    && a.message_count() == 4
                    && a.transcript.last().is_some_and(|e| {
                        e.id == Some(4)
                            && e.kind == EntryKind::Assistant { interrupted: false }
                            && e.text == "Use 10.0.0.0/16"
                    })
            },
        },
        Case {
            name: "a turn that could not start gives the message back with the error",
            sessions_enabled: true,
            setup: streaming,
            events: vec![Event::SendFailed {
                text: "hi".into(),
                error: Failure::new(
                    FailureKind::Provider,
                    "provider 'anthropic' is not configured",
                ),
            }],
            effects: vec![],
            then: |a| {
                a.input.text == "hi"
                    && a.streaming.is_none()
                    && last_text(a).contains("not configured")
                    && !a
                        .transcript
                        .iter()
                        .any(|e| e.kind == EntryKind::User && e.text == "hi")
            },
        },
        Case {
            name: "a provider failure mid-reply keeps the part, marked, and the error",
            sessions_enabled: true,
            setup: streaming,
            events: vec![Event::ReplyEnded(Box::new(ReplyEnd {
                session: None,
                text: "half".into(),
                interrupted: false,
                error: Some(Failure::new(FailureKind::Other, "HTTP 500")),
                tokens: None,
                ids: None,
            }))],
            effects: vec![],
            then: |a| {
                let n = a.transcript.len();
                a.transcript[n - 2].kind == EntryKind::Assistant { interrupted: true }
                    && a.transcript[n - 1].text == "HTTP 500"
            },
        },
        Case {
            name: "a message sent while compacting waits, then goes",
            sessions_enabled: true,
            setup: in_session,
            events: with(
                vec![Event::CompactionStarted("compacting…".into())],
                with(
                    typed("q"),
                    [
                        key(KeyCode::Enter),
                        Event::CompactionEnded {
                            session_id: "s1".into(),
                            entries: vec![],
                            tokens: 10,
                        },
                    ],
                ),
            ),
            effects: vec![send_effect(Some("s1"), "q")],
            then: |a| a.compacting.is_none() && a.streaming.is_some(),
        },
        Case {
            name: "the end of a compaction of another session leaves this one alone",
            sessions_enabled: true,
            setup: in_session,
            events: vec![
                Event::CompactionStarted("compacting…".into()),
                Event::CompactionEnded {
                    session_id: "other".into(),
                    entries: vec![Entry::note("Compacted 20 messages")],
                    tokens: 5,
                },
            ],
            effects: vec![],
            then: |a| a.compacting.is_none() && a.tokens == 40 && last_text(a) == "earlier",
        },
        Case {
            name: "Ctrl+L opens the picker and asks for the sessions",
            sessions_enabled: true,
            setup: nothing,
            events: vec![ctrl('l')],
            effects: vec![Effect::ListSessions],
            then: |a| matches!(a.overlay, Overlay::Picker(_)),
        },
        Case {
            name: "Ctrl+L with sessions off opens the picker without asking the store",
            sessions_enabled: false,
            setup: nothing,
            events: vec![ctrl('l')],
            effects: vec![],
            then: |a| matches!(a.overlay, Overlay::Picker(_)),
        },
        Case {
            name: "picking a row switches to it",
            sessions_enabled: true,
            setup: nothing,
            events: vec![
                ctrl('l'),
                Event::Listed(vec![session("s1", "vpc"), session("s2", "eks")]),
                key(KeyCode::Down),
                key(KeyCode::Enter),
            ],
            effects: vec![Effect::ListSessions, Effect::Switch { id: "s2".into() }],
            then: |_| true,
        },
        Case {
            name: "r renames the selected row; a taken name keeps the field open",
            sessions_enabled: true,
            setup: nothing,
            events: with(
                vec![
                    ctrl('l'),
                    Event::Listed(vec![session("s1", "vpc")]),
                    key(KeyCode::Char('r')),
                ],
                with(
                    typed("-2"),
                    [
                        key(KeyCode::Enter),
                        Event::Renamed(Err(Failure::new(
                            FailureKind::Name,
                            "a session named 'vpc-2' already exists",
                        ))),
                    ],
                ),
            ),
            effects: vec![
                Effect::ListSessions,
                Effect::Rename {
                    id: "s1".into(),
                    name: "vpc-2".into(),
                },
            ],
            then: |a| match &a.overlay {
                Overlay::Picker(p) => {
                    p.renaming.is_some() && p.error.as_deref().is_some_and(|e| e.contains("exists"))
                }
                _ => false,
            },
        },
        Case {
            name: "/ searches as one types; an answer to an older query is dropped",
            sessions_enabled: true,
            setup: nothing,
            events: with(
                vec![
                    ctrl('l'),
                    Event::Listed(vec![session("s1", "vpc"), session("s2", "eks")]),
                    key(KeyCode::Char('/')),
                ],
                with(
                    typed("ek"),
                    [
                        // Stale: typed on since.
                        Event::Searched {
                            query: "e".into(),
                            matches: vec![(session("s1", "vpc"), Some("e".into()))],
                        },
                        Event::Searched {
                            query: "ek".into(),
                            matches: vec![(session("s2", "eks"), None)],
                        },
                    ],
                ),
            ),
            effects: vec![
                Effect::ListSessions,
                Effect::SearchSessions { query: "e".into() },
                Effect::SearchSessions { query: "ek".into() },
            ],
            then: |a| match &a.overlay {
                Overlay::Picker(p) => {
                    let rows: Vec<&str> = p.rows().iter().map(|s| s.name.as_str()).collect();
                    rows == ["eks"] && a.mode() == Mode::Searching
                }
                _ => false,
            },
        },
        Case {
            name: "d then y deletes; a session deleted elsewhere leaves the list",
            sessions_enabled: true,
            setup: nothing,
            events: vec![
                ctrl('l'),
                Event::Listed(vec![session("s1", "vpc"), session("s2", "eks")]),
                key(KeyCode::Char('d')),
                key(KeyCode::Char('y')),
                Event::Deleted(Err(Failure::new(
                    FailureKind::NotFound,
                    "session 'vpc' not found",
                ))),
            ],
            effects: vec![Effect::ListSessions, Effect::Delete { id: "s1".into() }],
            then: |a| match &a.overlay {
                Overlay::Picker(p) => p.all.len() == 1 && p.all[0].id == "s2",
                _ => false,
            },
        },
        Case {
            name: "the form creates a named session; a bad name puts the cursor on it",
            sessions_enabled: true,
            setup: nothing,
            events: with(
                with(vec![ctrl('n')], typed("vpc design")),
                [
                    key(KeyCode::Tab),
                    key(KeyCode::Enter),
                    Event::Created(Err(Failure::new(
                        FailureKind::Name,
                        "invalid session name \"vpc design\"",
                    ))),
                ],
            ),
            effects: vec![
                Effect::RefreshCatalog,
                Effect::Create {
                    name: Some("vpc design".into()),
                    provider: "ollama".into(),
                    model: "llama3.3".into(),
                    skill: "general".into(),
                },
            ],
            then: |a| match &a.overlay {
                Overlay::Form(f) => f.focus == FormField::Name && !f.busy && f.error.is_some(),
                _ => false,
            },
        },
        Case {
            name: "Ctrl+G hands the draft to the editor and takes back what it wrote",
            sessions_enabled: true,
            setup: nothing,
            events: with(
                typed("draft"),
                [
                    ctrl('g'),
                    Event::Composed(Ok("draft, finished in the editor\n".into())),
                ],
            ),
            effects: vec![Effect::Compose {
                draft: "draft".into(),
            }],
            then: |a| a.input.text == "draft, finished in the editor",
        },
        Case {
            name: "an editor that fails leaves the draft and says why",
            sessions_enabled: true,
            setup: nothing,
            events: with(
                typed("draft"),
                [
                    ctrl('g'),
                    Event::Composed(Err("the editor 'vim' exited with status 1".into())),
                ],
            ),
            effects: vec![Effect::Compose {
                draft: "draft".into(),
            }],
            then: |a| {
                a.input.text == "draft"
                    && a.transcript.last().is_some_and(|e| {
                        e.text
                            .contains("exited with status 1; the draft is unchanged")
                    })
            },
        },
        Case {
            name: "Ctrl+A picks another skill for the session",
            sessions_enabled: true,
            setup: in_session,
            events: vec![ctrl('a'), key(KeyCode::Down), key(KeyCode::Enter)],
            effects: vec![
                Effect::RefreshCatalog,
                Effect::SetSkill {
                    id: "s1".into(),
                    skill: "security".into(),
                },
            ],
            then: |_| true,
        },
        Case {
            name: "Ctrl+P switches the session's provider and model",
            sessions_enabled: true,
            setup: in_session,
            events: vec![ctrl('p'), key(KeyCode::Down), key(KeyCode::Enter)],
            effects: vec![
                Effect::RefreshCatalog,
                Effect::SetProvider {
                    id: "s1".into(),
                    provider: "anthropic".into(),
                    model: "claude-sonnet-4-5".into(),
                },
            ],
            then: |_| true,
        },
        Case {
            name: "a failed switch is shown in the switcher",
            sessions_enabled: true,
            setup: in_session,
            events: vec![
                ctrl('p'),
                key(KeyCode::Down),
                key(KeyCode::Enter),
                Event::Updated(Err(Failure::new(FailureKind::Busy, "session s1 is busy"))),
            ],
            effects: vec![
                Effect::RefreshCatalog,
                Effect::SetProvider {
                    id: "s1".into(),
                    provider: "anthropic".into(),
                    model: "claude-sonnet-4-5".into(),
                },
            ],
            then: |a| match &a.overlay {
                Overlay::Providers(s) => s.error.as_deref() == Some("session s1 is busy"),
                _ => false,
            },
        },
        Case {
            name: "? on an empty input opens the help; Esc closes it",
            sessions_enabled: true,
            setup: nothing,
            events: vec![key(KeyCode::Char('?')), key(KeyCode::Esc)],
            effects: vec![],
            then: |a| !a.help && a.input.text.is_empty(),
        },
        Case {
            name: "? in a sentence is a character",
            sessions_enabled: true,
            setup: nothing,
            events: typed("why?"),
            effects: vec![],
            then: |a| !a.help && a.input.text == "why?",
        },
        Case {
            name: "Ctrl+Y copies the last reply, Ctrl+O its last code block",
            sessions_enabled: true,
            setup: |a| {
                a.transcript.push(Entry::new(
                    EntryKind::Assistant { interrupted: false },
                    "Use this:\n\n```hcl\ncidr = \"10.0.0.0/16\"\n```\nDone.",
                ));
            },
            events: vec![ctrl('y'), ctrl('o')],
            effects: vec![
                Effect::Copy {
                    what: "the last reply".into(),
                    text: "Use this:\n\n```hcl\ncidr = \"10.0.0.0/16\"\n```\nDone.".into(),
                },
                Effect::Copy {
                    what: "the last code block".into(),
                    text: "cidr = \"10.0.0.0/16\"".into(),
                },
            ],
            then: |_| true,
        },
        Case {
            name: "copying with nothing to copy says so",
            sessions_enabled: true,
            setup: nothing,
            events: vec![ctrl('o')],
            effects: vec![],
            then: |a| last_text(a).contains("no reply has a code block"),
        },
        Case {
            name: "F2 releases the mouse and takes it back",
            sessions_enabled: true,
            setup: nothing,
            events: vec![key(KeyCode::F(2)), key(KeyCode::F(2))],
            effects: vec![Effect::MouseCapture(false), Effect::MouseCapture(true)],
            then: |a| !a.mouse_released,
        },
        Case {
            name: "Up and Down move between the lines of a message before the history",
            sessions_enabled: true,
            setup: |a| {
                a.history.push("an earlier message".into());
            },
            events: vec![
                Event::Paste("first line\nsecond".into()),
                key(KeyCode::Up),
                Event::Paste("X".into()),
                key(KeyCode::Down),
                Event::Paste("Y".into()),
            ],
            effects: vec![],
            then: |a| a.input.text == "first Xline\nsecondY" && a.history_pos.is_none(),
        },
        Case {
            name: "a pasted CRLF text keeps its lines",
            sessions_enabled: true,
            setup: nothing,
            events: vec![Event::Paste("a\r\nb".into())],
            effects: vec![],
            then: |a| a.input.text == "a\nb",
        },
        Case {
            name: "a terminal signal quits at once when idle",
            sessions_enabled: true,
            setup: nothing,
            events: vec![Event::Terminate],
            effects: vec![Effect::Quit],
            then: |_| true,
        },
    ]
}

#[test]
fn handle_as_a_table() {
    let mut failures = Vec::new();
    for case in cases() {
        let mut app = App::new(init(case.sessions_enabled));
        app.handle(Event::Resize(100, 30));
        (case.setup)(&mut app);
        let effects: Vec<Effect> = case
            .events
            .into_iter()
            .flat_map(|e| app.handle(e))
            .collect();
        if effects != case.effects {
            failures.push(format!(
                "{}: effects {effects:?}, expected {:?}",
                case.name, case.effects
            ));
        } else if !(case.then)(&app) {
            failures.push(format!(
                "{}: the state is not as expected; transcript: {:?}",
                case.name,
                app.transcript.iter().map(|e| &e.text).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
