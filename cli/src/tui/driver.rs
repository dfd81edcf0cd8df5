//! The driver performs the app's effects against the core and reports back
//! with events. Session operations are quick calls on the engine's store
//! thread (`Engine::call_blocking`); a turn is the engine's
//! (`Engine::chat`): a task forwards its events through the channel the
//! event loop selects on ([`Bg`]), and [`Driver::background`] converts each
//! into the app's events. The driver sequences nothing itself.

use super::app::{
    Effect, Entry, EntryKind, Event, Failure, FailureKind, Init, Loaded, ProviderInfo, ReplyEnd,
    SkillInfo, Window,
};
use crate::args::TurnArgs;
use atmos_ai::chat::TurnRequest;
use atmos_ai::compact::{self, Stage};
use atmos_ai::engine::{self, CancellationToken, OneShot, TurnEvent, TurnEvents};
use atmos_ai::skills::Skills;
use atmos_ai::{
    CreateOptions, Engine, Error, ListFilter, Message, Project, Role, Session, SessionKey,
    TranscriptQuery, UpdateOptions, catalog, history,
};
use std::collections::HashMap;
use tokio::sync::mpsc;

mod live;

/// What background tasks report: a turn's events, then its end.
/// A report of the turn (or compaction) numbered by the first field: one
/// that is no longer the running one (its end arrived after a new turn
/// began) is ignored.
pub enum Bg {
    Turn(u64, TurnEvent),
    TurnEnded(u64),
}

/// The sessions (or, with sessions off, the project) and the running turn.
pub struct Driver {
    project: Project,
    engine: Option<Engine>,
    skills: Skills,
    tx: mpsc::UnboundedSender<Bg>,
    running: Option<Running>,
    /// Whether stdout is the chat's terminal (escape sequences for the
    /// clipboard and the mouse go there); false under tests.
    pub on_terminal: bool,
    /// With sessions off, the conversation of this run, oldest first: the
    /// model sees it as it would a session's history, and it is gone when
    /// the chat ends.
    memory: Vec<(Role, String)>,
    /// A draft to hand to the editor (Ctrl+G): the event loop, which owns
    /// the terminal, takes it.
    compose: Option<String>,
    /// The number of the last turn started (see [`Bg`]).
    turns: u64,
    /// What other processes change (see `live`).
    live: live::Live,
}

/// What the driver keeps of the running turn to convert its events.
struct Running {
    /// Its number (see [`Bg`]).
    seq: u64,
    /// The stored question's id, once the turn started.
    question: Option<i64>,
    cancel: CancellationToken,
    /// The message, given back to the input if the turn cannot start.
    text: String,
    /// A session made for this message, deleted if the turn cannot start.
    created: Option<SessionKey>,
    started: bool,
    /// The session and its next request's tokens, as last reported.
    changed: Option<(Session, u64)>,
    /// The reply, held until the engine says whether a compaction follows
    /// (so that the app never sees the turn idle between the two).
    ended: Option<Vec<Event>>,
    /// Messages in the compaction under way.
    compacting: Option<usize>,
}

/// The most sessions a picker search shows.
const SEARCH_LIMIT: u32 = 200;
/// How many of a session's newest messages the picker's preview reads.
const PREVIEW_MESSAGES: u32 = 6;

/// The transcript page size used to read a whole transcript.
const PAGE: u32 = 1000;

impl Driver {
    /// Opens the project's sessions. With sessions disabled the driver still
    /// works: nothing is stored, and the conversation is kept in memory for
    /// the run.
    pub fn open(project: Project, tx: mpsc::UnboundedSender<Bg>) -> atmos_ai::Result<Driver> {
        let engine = match project.config.sessions.enabled {
            true => Some(Engine::open(project.clone())?),
            false => None,
        };
        if let Some(engine) = &engine {
            // The chat keeps running: a first exchange gets an AI title.
            engine.set_ai_titles(true);
        }
        Ok(Driver {
            skills: Skills::load(&project)?,
            project,
            tx,
            running: None,
            on_terminal: false,
            memory: Vec::new(),
            compose: None,
            turns: 0,
            live: live::Live::new(engine.as_ref()),
            engine,
        })
    }

    /// What the app starts with, and the session `--session` names (created
    /// or resumed, switched to `--provider`/`--model`/`--skill`).
    pub fn start(&mut self, args: &TurnArgs) -> atmos_ai::Result<(Init, Option<Box<Loaded>>)> {
        let (providers, skills) = self.catalog();
        let config = &self.project.config;
        let entry = catalog::resolve(config, args.provider.as_deref())?;
        let skill = match &args.skill {
            Some(s) if self.skills.get(s).is_none() => {
                return Err(Error::InvalidParam {
                    field: "skill".into(),
                    message: format!("unknown skill '{s}': run `atmos ai skills` to see them"),
                });
            }
            Some(s) => s.clone(),
            None => self.skills.default_name().to_string(),
        };
        let mut notes = Vec::new();
        let mut loaded = None;
        let mut init_provider = entry.name.clone();
        match (&self.engine, &args.session) {
            (None, _) => {
                notes.push(Entry::note(
                    "Sessions are disabled in this project, so this chat is kept in memory \
                     only until you quit. Set `ai.sessions.enabled: true` in atmos.yaml to \
                     keep conversations.",
                ));
                if args.session.is_some() {
                    return Err(Error::SessionsDisabled {
                        config_path: self.project.config_path.clone(),
                    });
                }
            }
            (Some(engine), Some(name)) => {
                let switch = UpdateOptions {
                    provider: args.provider.clone(),
                    model: args.model.clone(),
                    skill: args.skill.clone(),
                    metadata: None,
                    title: None,
                };
                let key = SessionKey::Name(name.clone());
                let resumed =
                    engine.call_blocking(move |s| s.resume(&key, true, switch, Some(0)))?;
                if resumed.created {
                    let line = crate::commands::new_session_line(name, &resumed.similar);
                    notes.push(Entry::note(line.trim_end_matches('.')));
                }
                for gone in &resumed.evicted {
                    notes.push(evicted_note(gone));
                }
                init_provider = resumed.session.provider.clone();
                let key = SessionKey::Id(resumed.session.id.clone());
                let mut l = self.load(&key)?;
                let mut all = notes.clone();
                all.append(&mut l.entries);
                l.entries = all;
                loaded = Some(Box::new(l));
            }
            (Some(_), None) => {}
        }
        if let Some(p) = catalog::entries(&self.project.config)
            .into_iter()
            .find(|p| p.name == init_provider)
            && let Err(var) = &p.credentials
        {
            notes.push(Entry::note(format!(
                "Provider '{}' needs {var}: set it before starting, or press Ctrl+P to pick a \
                 provider marked ready. Sending a message lists what enables each provider.",
                p.name
            )));
            if let Some(l) = &mut loaded {
                l.entries.push(notes.last().cloned().expect("just pushed"));
            }
        }
        let prompt = self.skills.system_prompt(&skill);
        let init = Init {
            sessions_enabled: self.engine.is_some(),
            providers,
            skills,
            model: args.model.clone().unwrap_or(entry.model),
            provider: entry.name,
            skill,
            tokens: history::estimate_request(&prompt, &[]),
            window: match (
                self.project.config.sessions.auto_compact.max_history_tokens,
                self.project.config.max_history_messages,
            ) {
                (Some(t), _) => Window::Tokens(t),
                (None, 0) => Window::Unbounded,
                (None, n) => Window::Messages(u64::from(n)),
            },
            notes,
        };
        Ok((init, loaded))
    }

    /// The draft Ctrl+G asked to edit, if any (taken once).
    pub fn take_compose(&mut self) -> Option<String> {
        self.compose.take()
    }

    /// The providers and skills the selectors offer.
    fn catalog(&self) -> (Vec<ProviderInfo>, Vec<SkillInfo>) {
        let providers = catalog::entries(&self.project.config)
            .into_iter()
            .map(|e| ProviderInfo {
                pricing: e.pricing.map(|p| (p.input, p.output)),
                needs_key: e.needs_key(),
                missing: e.credentials.err(),
                name: e.name,
                model: e.model,
            })
            .collect();
        let skills = self
            .skills
            .iter()
            .map(|s| SkillInfo {
                name: s.name.clone(),
                display_name: s.display_name.clone(),
                description: s.description.clone(),
            })
            .collect();
        (providers, skills)
    }

    /// Re-reads atmos.yaml and the skills (the engine's store thread does
    /// when they changed; without sessions, here) and reports the lists. A
    /// broken edit keeps the last good settings and says why.
    fn refresh_catalog(&mut self) -> Vec<Event> {
        let fresh = match &self.engine {
            Some(engine) => engine.call_blocking(|s| match s.config_problem() {
                Some(problem) => Err(atmos_ai::Error::Internal {
                    message: problem.to_string(),
                }),
                None => Ok((s.project().clone(), s.skills().clone())),
            }),
            None => self.project.config_path.clone().map_or_else(
                || Ok((self.project.clone(), self.skills.clone())),
                |path| {
                    let project = Project::load(&atmos_ai::config::LoadOptions {
                        explicit: Some(path),
                        env_path: None,
                        start_dir: self.project.root.clone(),
                    })?;
                    let skills = Skills::load(&project)?;
                    Ok((project, skills))
                },
            ),
        };
        let mut events = Vec::new();
        match fresh {
            Ok((project, skills)) => {
                self.project = project;
                self.skills = skills;
            }
            Err(e) => events.push(Event::Notice(Entry::error(format!(
                "atmos.yaml changed but cannot be used, so the previous settings stay: {e}"
            )))),
        }
        let (providers, skills) = self.catalog();
        events.push(Event::Catalog { providers, skills });
        events
    }

    /// Performs one effect; what it produced right away comes back as events.
    pub fn perform(&mut self, effect: Effect) -> Vec<Event> {
        match effect {
            Effect::Send {
                session,
                provider,
                model,
                skill,
                text,
            } => self.send(session, provider, model, skill, text, false),
            Effect::Retry {
                session,
                provider,
                model,
                skill,
            } => self.retry(session, provider, model, skill),
            Effect::Cancel => {
                if let Some(r) = &self.running {
                    r.cancel.cancel();
                }
                vec![]
            }
            Effect::RefreshCatalog => self.refresh_catalog(),
            Effect::Pin {
                id,
                message,
                pinned,
            } => self.pin(id, message, pinned),
            Effect::SetTitle { id, title } => self.update(
                id,
                UpdateOptions {
                    title: Some(title),
                    ..UpdateOptions::default()
                },
            ),
            Effect::Uncompact { id } => {
                let undone = self.call(move |s| s.uncompact(&SessionKey::Id(id), None));
                match undone.and_then(|(session, restored)| {
                    let mut l = self.load(&SessionKey::Id(session.id))?;
                    l.entries.push(Entry::note(format!(
                        "Compaction undone: {} sent again from the next message (the summary \
                         is kept, archived)",
                        crate::output::count(restored.len() as u64, "message is", "messages are")
                    )));
                    Ok(l)
                }) {
                    Ok(l) => vec![Event::Loaded(Box::new(l))],
                    Err(e) => vec![notice(Entry::error(e.to_string()))],
                }
            }
            Effect::Compact { id } => {
                let Some(engine) = &self.engine else {
                    return vec![];
                };
                if self.running.is_some() {
                    return vec![notice(Entry::error(
                        "a reply is under way: /compact again when it ends",
                    ))];
                }
                let cancel = CancellationToken::new();
                let events = engine.compact(SessionKey::Id(id), cancel.clone());
                self.follow(events, cancel, String::new(), None);
                vec![]
            }
            Effect::Compose { draft } => {
                self.compose = Some(draft);
                vec![]
            }
            Effect::ListSessions => match self.call(|s| s.list(&ListFilter::default())) {
                Ok((listed, _)) => vec![Event::Listed(
                    listed.into_iter().map(|l| l.session).collect(),
                )],
                Err(e) => vec![
                    Event::Listed(Vec::new()),
                    notice(Entry::error(e.to_string())),
                ],
            },
            Effect::SearchSessions { query } => {
                let filter = ListFilter {
                    query: Some(query.clone()),
                    limit: Some(SEARCH_LIMIT),
                    ..ListFilter::default()
                };
                match self.call(move |s| s.list(&filter)) {
                    Ok((listed, _)) => vec![Event::Searched {
                        query,
                        matches: listed.into_iter().map(|l| (l.session, l.snippet)).collect(),
                    }],
                    Err(e) => vec![notice(Entry::error(e.to_string()))],
                }
            }
            Effect::Preview { id } => {
                let key = SessionKey::Id(id.clone());
                let read = self.call(move |s| {
                    s.messages(
                        &key,
                        &TranscriptQuery {
                            before: None,
                            limit: PREVIEW_MESSAGES,
                            include_archived: false,
                            include_summaries: true,
                        },
                    )
                });
                match read {
                    Ok((_, page)) => vec![Event::Previewed {
                        id,
                        messages: page
                            .messages
                            .into_iter()
                            .map(|m| {
                                let kind = match (m.role, m.is_summary) {
                                    (_, true) => EntryKind::Summary,
                                    (Role::User, _) => EntryKind::User,
                                    _ => EntryKind::Assistant {
                                        interrupted: m.interrupted,
                                    },
                                };
                                (kind, m.content)
                            })
                            .collect(),
                    }],
                    // A preview is a nicety: a session deleted meanwhile
                    // shows none, the picker says the rest.
                    Err(_) => vec![Event::Previewed {
                        id,
                        messages: Vec::new(),
                    }],
                }
            }
            Effect::Switch { id } => match self.load(&SessionKey::Id(id)) {
                Ok(l) => vec![Event::Loaded(Box::new(l))],
                Err(e) => vec![notice(Entry::error(e.to_string()))],
            },
            Effect::Create {
                name,
                provider,
                model,
                skill,
            } => {
                let options = CreateOptions {
                    name,
                    provider: Some(provider),
                    model: (!model.is_empty()).then_some(model),
                    skill: Some(skill),
                    metadata: None,
                };
                let created = self.call(move |s| s.create(options));
                let result = created.and_then(|(session, evicted)| {
                    let mut l = self.load(&SessionKey::Id(session.id))?;
                    l.entries.extend(evicted.iter().map(|g| evicted_note(g)));
                    Ok(Box::new(l))
                });
                vec![Event::Created(result.map_err(|e| failure(&e)))]
            }
            Effect::Fork { id } => {
                let forked = self.call(move |s| s.fork(&SessionKey::Id(id), None, None));
                let result = forked.and_then(|(session, evicted)| {
                    let mut l = self.load(&SessionKey::Id(session.id.clone()))?;
                    l.entries.push(Entry::note(format!(
                        "Forked '{}' into '{}': this copy goes its own way, the original \
                         stays as it was",
                        session.forked_from.as_deref().unwrap_or_default(),
                        session.name
                    )));
                    l.entries.extend(evicted.iter().map(|g| evicted_note(g)));
                    Ok(Box::new(l))
                });
                vec![Event::Created(result.map_err(|e| failure(&e)))]
            }
            Effect::Rename { id, name } => vec![Event::Renamed(
                self.call(move |s| s.rename(&SessionKey::Id(id), &name))
                    .map_err(|e| failure(&e)),
            )],
            Effect::Delete { id } => vec![Event::Deleted(
                self.call(move |s| s.delete(&SessionKey::Id(id)))
                    .map_err(|e| failure(&e)),
            )],
            Effect::SetSkill { id, skill } => self.update(
                id,
                UpdateOptions {
                    skill: Some(skill),
                    ..UpdateOptions::default()
                },
            ),
            Effect::SetProvider {
                id,
                provider,
                model,
            } => self.update(
                id,
                UpdateOptions {
                    provider: Some(provider),
                    model: Some(model),
                    ..UpdateOptions::default()
                },
            ),
            Effect::Copy { what, text } => vec![notice(copy(&what, &text, self.on_terminal))],
            Effect::MouseCapture(take) => {
                if self.on_terminal {
                    let mut out = std::io::stdout();
                    let _ = if take {
                        crossterm::execute!(out, crossterm::event::EnableMouseCapture)
                    } else {
                        crossterm::execute!(out, crossterm::event::DisableMouseCapture)
                    };
                }
                vec![]
            }
            Effect::Quit => vec![],
        }
    }

    /// Handles a background task's report.
    pub fn background(&mut self, bg: Bg) -> Vec<Event> {
        match bg {
            Bg::Turn(seq, _) | Bg::TurnEnded(seq)
                if self.running.as_ref().is_none_or(|r| r.seq != seq) =>
            {
                vec![]
            }
            Bg::Turn(_, event) => self.turn_event(event),
            Bg::TurnEnded(_) => {
                let ended = self.running.take().and_then(|r| r.ended);
                ended.unwrap_or_default()
            }
        }
    }

    /// Whether summaries are shown in `[SUMMARY: …]` markers.
    fn markers(&self) -> bool {
        self.project
            .config
            .sessions
            .auto_compact
            .show_summary_markers
    }

    /// Runs `f` on the engine's store thread.
    fn call<T, F>(&self, f: F) -> atmos_ai::Result<T>
    where
        F: FnOnce(&mut atmos_ai::Sessions) -> atmos_ai::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.engine {
            Some(engine) => engine.call_blocking(f),
            None => Err(engine::disabled(&self.project)),
        }
    }

    /// A session with its whole transcript (archived messages and summaries
    /// included) and the estimate of what its next turn sends.
    fn load(&mut self, key: &SessionKey) -> atmos_ai::Result<Loaded> {
        let (all, session, tokens) = self.whole(key)?;
        let mut entries = entries(&all, self.markers());
        if let Some(last) = all.iter().rev().find(|m| !m.is_summary) {
            entries.push(Entry::note(resumed_line(&session, last.created_at)));
        }
        Ok(Loaded {
            session,
            entries,
            tokens,
        })
    }

    /// A session's whole transcript (archived messages and summaries
    /// included), the session and the estimate of its next request.
    fn whole(&mut self, key: &SessionKey) -> atmos_ai::Result<(Vec<Message>, Session, u64)> {
        let key = key.clone();
        self.call(move |sessions| {
            let mut all: Vec<Message> = Vec::new();
            let mut before = None;
            loop {
                let (_, page) = sessions.messages(
                    &key,
                    &TranscriptQuery {
                        before,
                        limit: PAGE,
                        include_archived: true,
                        include_summaries: true,
                    },
                )?;
                before = page.messages.first().map(|m| m.id);
                let mut older = page.messages;
                older.append(&mut all);
                all = older;
                if !page.has_more || before.is_none() {
                    break;
                }
            }
            let (session, tokens) = sessions.next_request_tokens(&key)?;
            Ok((all, session, tokens))
        })
    }

    fn update(&mut self, id: String, options: UpdateOptions) -> Vec<Event> {
        let result = self.call(move |s| {
            let key = SessionKey::Id(id);
            s.update(&key, options)?;
            s.next_request_tokens(&key)
        });
        vec![Event::Updated(result.map_err(|e| failure(&e)))]
    }

    /// Ctrl+R: in a session, the engine asks its last question again; with
    /// sessions off, the question is taken back out of the memory (with its
    /// reply) and sent again.
    fn retry(
        &mut self,
        session: Option<String>,
        provider: String,
        model: String,
        skill: String,
    ) -> Vec<Event> {
        if self.engine.is_none() {
            if matches!(self.memory.last(), Some((Role::Assistant, _))) {
                self.memory.pop();
            }
            return match self.memory.pop() {
                Some((Role::User, text)) => self.send(None, provider, model, skill, text, false),
                other => {
                    self.memory.extend(other);
                    vec![Event::SendFailed {
                        text: String::new(),
                        error: Failure::new(FailureKind::Other, "nothing to ask again yet"),
                    }]
                }
            };
        }
        match session {
            Some(id) => self.send(Some(id), provider, model, skill, String::new(), true),
            None => vec![Event::SendFailed {
                text: String::new(),
                error: Failure::new(FailureKind::Other, "nothing to ask again yet"),
            }],
        }
    }

    fn send(
        &mut self,
        session: Option<String>,
        provider: String,
        model: String,
        skill: String,
        text: String,
        retry: bool,
    ) -> Vec<Event> {
        let cancel = CancellationToken::new();
        let Some(engine) = &self.engine else {
            // The conversation kept in memory holds the masked text, as a
            // session would (it is sent again with each later message).
            let (text, masked) =
                match atmos_ai::redact::Redactor::configured(&self.project.config.sessions) {
                    Ok(None) => (text, 0),
                    Ok(Some(r)) => r.redact(&text),
                    // Never sent unmasked.
                    Err(e) => {
                        return vec![Event::SendFailed {
                            text,
                            error: failure(&e),
                        }];
                    }
                };
            let mut events = Vec::new();
            if masked > 0 {
                events.push(notice(Entry::note(
                    crate::commands::redacted_line(masked).trim_end_matches('.'),
                )));
            }
            let one = OneShot {
                history: self.memory.clone(),
                provider: Some(provider),
                model: Some(model),
                skill: Some(skill),
                message: text.clone(),
                stream: true,
            };
            let turn = engine::one_shot(&self.project, &self.skills, one, cancel.clone());
            self.follow(turn, cancel, text, None);
            return events;
        };
        let mut events = Vec::new();
        let (key, created) = match session {
            Some(id) => (SessionKey::Id(id), None),
            None => {
                let options = CreateOptions {
                    name: None,
                    provider: Some(provider),
                    model: Some(model),
                    skill: Some(skill),
                    metadata: None,
                };
                match engine.call_blocking(move |s| s.create(options)) {
                    Ok((s, evicted)) => {
                        events.extend(evicted.iter().map(|g| notice(evicted_note(g))));
                        let key = SessionKey::Id(s.id);
                        (key.clone(), Some(key))
                    }
                    Err(e) => {
                        return vec![Event::SendFailed {
                            text,
                            error: explain(&e, &self.project.config),
                        }];
                    }
                }
            }
        };
        let request = match retry {
            true => TurnRequest::retry(key),
            false => TurnRequest::new(key, text.clone()),
        };
        let turn = engine.chat(request, cancel.clone());
        self.follow(turn, cancel, text, created);
        events
    }

    /// Forwards a turn's events to the event loop, then its end.
    fn follow(
        &mut self,
        mut events: TurnEvents,
        cancel: CancellationToken,
        text: String,
        created: Option<SessionKey>,
    ) {
        self.turns += 1;
        let seq = self.turns;
        self.running = Some(Running {
            seq,
            question: None,
            cancel,
            text,
            created,
            started: false,
            changed: None,
            ended: None,
            compacting: None,
        });
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let _ = tx.send(Bg::Turn(seq, event));
            }
            let _ = tx.send(Bg::TurnEnded(seq));
        });
    }

    /// One event of the running turn as the app's.
    fn turn_event(&mut self, event: TurnEvent) -> Vec<Event> {
        let config = self.project.config.clone();
        let Some(run) = &mut self.running else {
            return vec![];
        };
        match event {
            TurnEvent::Started(started) => {
                run.started = true;
                run.question = started.user_message.as_ref().map(|m| m.id);
                let mut events = vec![Event::ReplyStarted {
                    session: started.session,
                }];
                if started.redacted > 0 {
                    events.push(notice(Entry::note(
                        crate::commands::redacted_line(started.redacted).trim_end_matches('.'),
                    )));
                }
                events
            }
            TurnEvent::Delta { text, .. } => vec![Event::Delta(text)],
            // After the turn (`Chat`) or its compaction (`Compacted`): the
            // counters and tokens that the reply or the compaction's end
            // carries to the app.
            TurnEvent::SessionChanged {
                session, tokens, ..
            } => {
                run.changed = Some((*session, tokens));
                vec![]
            }
            TurnEvent::Replied(turn) => {
                if self.engine.is_none() {
                    self.memory.push((Role::User, run.text.clone()));
                    self.memory
                        .push((Role::Assistant, turn.reply.content.clone()));
                }
                let tokens = run.changed.as_ref().map(|(_, t)| *t);
                let ids = turn
                    .session
                    .as_ref()
                    .and(run.question)
                    .map(|q| (q, turn.reply.id));
                run.ended = Some(vec![Event::ReplyEnded(Box::new(ReplyEnd {
                    session: turn.session,
                    text: turn.reply.content,
                    interrupted: false,
                    error: None,
                    tokens,
                    ids,
                }))]);
                vec![]
            }
            TurnEvent::Failed { error, .. } if !run.started => {
                // Nothing was sent: a session made just for this message goes.
                if let (Some(key), Some(engine)) = (run.created.take(), &self.engine) {
                    let _ = engine.call_blocking(move |s| s.delete(&key));
                }
                vec![Event::SendFailed {
                    text: std::mem::take(&mut run.text),
                    error: explain(&error, &config),
                }]
            }
            TurnEvent::Failed { error, partial } => {
                // As a session keeps them: the message, and what arrived.
                if self.engine.is_none() {
                    self.memory.push((Role::User, run.text.clone()));
                    if !partial.is_empty() {
                        self.memory.push((Role::Assistant, partial.clone()));
                    }
                }
                let cancelled = matches!(error, Error::Cancelled);
                let (session, tokens) = match run.changed.clone() {
                    Some((s, t)) => (Some(s), Some(t)),
                    None => (None, None),
                };
                let mut events = vec![Event::ReplyEnded(Box::new(ReplyEnd {
                    session,
                    text: partial.clone(),
                    interrupted: cancelled,
                    error: (!cancelled).then(|| explain(&error, &config)),
                    tokens,
                    ids: None,
                }))];
                if cancelled {
                    events.push(notice(Entry::note(if partial.is_empty() {
                        "Cancelled before the reply started"
                    } else {
                        "Cancelled: the reply so far is kept, marked interrupted"
                    })));
                }
                run.ended = Some(events);
                vec![]
            }
            TurnEvent::Compaction(e) if e.stage == Stage::Starting => {
                run.compacting = Some(e.message_count);
                let mut events = run.ended.take().unwrap_or_default();
                events.push(Event::CompactionStarted(format!(
                    "compacting the {} oldest messages into a summary…",
                    e.message_count
                )));
                events
            }
            TurnEvent::Compaction(_) => vec![],
            TurnEvent::Compacted(result) => self.compacted(&result),
            TurnEvent::CompactionFailed { error } => {
                let line = Entry::error(format!("the session was not compacted: {error}"));
                let mut events = run.ended.take().unwrap_or_default();
                match (run.compacting.take(), &run.changed) {
                    (Some(_), Some((session, tokens))) => events.push(Event::CompactionEnded {
                        session_id: session.id.clone(),
                        entries: vec![line],
                        tokens: *tokens,
                    }),
                    _ => events.push(notice(line)),
                }
                events
            }
        }
    }

    /// The end of a compaction: its line, and the summary (in markers when
    /// `show_summary_markers`) for the transcript.
    fn compacted(&mut self, r: &compact::CompactionResult) -> Vec<Event> {
        let Some(run) = &mut self.running else {
            return vec![];
        };
        if !r.compacted {
            return vec![notice(Entry::note(
                "Nothing to compact: the newest messages are always kept verbatim, and older \
                 ones only when a summary is shorter than they are",
            ))];
        }
        let count = run.compacting.take().unwrap_or_default();
        let Some((session, tokens)) = run.changed.clone() else {
            return vec![];
        };
        let mut line = format!(
            "Compacted {count} messages into a summary (~{} → ~{} tokens); they stay in \
             the transcript and the archive",
            crate::commands::thousands(r.tokens_before),
            crate::commands::thousands(r.tokens_after)
        );
        if let Some(why) = &r.fallback_reason {
            line.push_str(&format!(" (plain summary: {why})"));
        }
        let mut entries = vec![Entry::note(line)];
        // The summary is the one the result carries (no transcript reload).
        // Archived messages are always the oldest ones, so the summary ends
        // at message `archived_count`; it starts after those archived
        // before, or where the summaries it folded in started (message 1).
        if let Some(summary) = &r.summary {
            let last = session.archived_count as usize;
            let folded = r.archived_ids.len().saturating_sub(count) > 0;
            let first = if folded {
                1
            } else {
                last.saturating_sub(count) + 1
            };
            entries.push(Entry::new(
                EntryKind::Summary,
                match self.markers() {
                    true => compact::with_markers(&summary.content, first, last),
                    false => summary.content.clone(),
                },
            ));
        }
        vec![Event::CompactionEnded {
            session_id: session.id,
            entries,
            tokens,
        }]
    }
}

/// Puts `text` on the clipboard with OSC 52 (terminals, tmux and SSH
/// sessions that allow it pass it to the system clipboard) and, as a
/// fallback for those that do not, in a file only this user can read.
fn copy(what: &str, text: &str, on_terminal: bool) -> Entry {
    use base64::Engine as _;
    if on_terminal {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        let mut out = std::io::stdout();
        let _ = std::io::Write::write_all(&mut out, format!("\x1b]52;c;{encoded}\x07").as_bytes());
        let _ = std::io::Write::flush(&mut out);
    }
    let lines = text.lines().count().max(1);
    let lines = if lines == 1 {
        "1 line".to_string()
    } else {
        format!("{lines} lines")
    };
    let file = clipboard_file();
    let saved = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&file)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
    };
    match saved {
        Ok(()) => Entry::note(format!(
            "Copied {what} ({lines}) to the clipboard; also saved in {}",
            file.display()
        )),
        Err(e) => Entry::note(format!(
            "Copied {what} ({lines}) to the clipboard (it could not also be saved in {}: {e})",
            file.display()
        )),
    }
}

/// Where copies are saved too: `$XDG_RUNTIME_DIR` (private to the user) or
/// the temporary folder.
pub fn clipboard_file() -> std::path::PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    dir.join(format!("atmos-clipboard-{user}.txt"))
}

fn notice(entry: Entry) -> Event {
    Event::Notice(entry)
}

/// "Resumed · last message yesterday 22:46 · 10 messages (4 archived)":
/// where a resumed conversation stands.
fn resumed_line(session: &Session, last: chrono::DateTime<chrono::Utc>) -> String {
    let mut line = format!(
        "Resumed · last message {} · {}",
        crate::output::ago(last, chrono::Utc::now()),
        crate::output::count(session.message_count, "message", "messages")
    );
    if session.archived_count > 0 {
        line.push_str(&format!(" ({} archived)", session.archived_count));
    }
    line
}

fn evicted_note(name: &str) -> Entry {
    Entry::note(crate::commands::evicted_line(name).trim_end_matches('.'))
}

/// The transcript entries of stored messages, oldest first. A summary is a
/// note where it happened, with its text in `[SUMMARY: …]` markers when
/// `markers` (`show_summary_markers`).
pub fn entries(messages: &[Message], markers: bool) -> Vec<Entry> {
    let positions: HashMap<i64, usize> = messages
        .iter()
        .filter(|m| !m.is_summary)
        .enumerate()
        .map(|(i, m)| (m.id, i + 1))
        .collect();
    let position = |id: i64| positions.get(&id).copied().unwrap_or(0);
    let mut out = Vec::new();
    for m in messages {
        if m.is_summary {
            let (first, last) = m
                .summary_range
                .map_or((0, 0), |(a, b)| (position(a), position(b)));
            out.push(Entry::note(format!(
                "Messages {first}–{last} were compacted into a summary (the model sees the \
                 summary; the messages stay here, dimmed, and in the archive)"
            )));
            // Only the live summary: earlier ones were folded into it.
            if !m.archived {
                out.push(Entry::new(
                    EntryKind::Summary,
                    match markers {
                        true => compact::with_markers(&m.content, first, last),
                        false => m.content.clone(),
                    },
                ));
            }
            continue;
        }
        out.push(entry_of(m, m.interrupted));
    }
    out
}

/// The entry of a stored message (not a summary); `interrupted` as it
/// should show (a reply still streaming elsewhere is not).
fn entry_of(m: &Message, interrupted: bool) -> Entry {
    let entry = if m.archived {
        Entry::summarised
    } else {
        Entry::new
    };
    entry(
        match m.role {
            Role::User => EntryKind::User,
            Role::Assistant => EntryKind::Assistant { interrupted },
            Role::System => EntryKind::Note,
        },
        m.content.clone(),
    )
    .with_id(m.id, m.pinned)
}

/// A core error as the app's typed failure, with its message.
pub fn failure(e: &Error) -> Failure {
    let kind = match e {
        Error::SessionExists { .. } | Error::InvalidName { .. } => FailureKind::Name,
        Error::SessionNotFound { .. } => FailureKind::NotFound,
        Error::Busy { .. } => FailureKind::Busy,
        Error::ProviderNotConfigured { .. } => FailureKind::Provider,
        _ => FailureKind::Other,
    };
    Failure::new(kind, e.to_string())
}

/// An error for the transcript. A provider that is not configured also
/// gets the list of what would enable each provider.
pub fn explain(e: &Error, config: &atmos_ai::Config) -> Failure {
    let Failure { kind, message } = failure(e);
    let mut s = message;
    if let Error::ProviderNotConfigured { .. } = e {
        s.push_str("\n\nWhat enables each provider:");
        for p in catalog::entries(config) {
            let what = match &p.credentials {
                Ok(()) if !p.needs_key() => {
                    "no key needed (its server must be running)".to_string()
                }
                Ok(()) => "ready".to_string(),
                Err(var) => format!("set {var}"),
            };
            s.push_str(&format!("\n  {:<12} {what}", p.name));
        }
        s.push_str(
            "\nThen press Ctrl+P to switch this session to it (or set ai.default_provider in \
             atmos.yaml). Keys are read from the environment, never stored.",
        );
    }
    Failure::new(kind, s)
}
