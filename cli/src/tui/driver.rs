//! The driver performs the app's effects against the core and reports back
//! with events. Store calls are synchronous and quick (SQLite on the local
//! disk); the slow parts, the provider's reply and the AI summary, run in
//! tokio tasks that send their results through a channel ([`Bg`]) which the
//! event loop selects on. A task hands its `PreparedTurn` (or
//! `PreparedCompaction`) back whole, cancelled or not, so that phase 3 can
//! store what arrived and release the session's lease.

use super::app::{
    Effect, Entry, EntryKind, Event, Init, Loaded, ProviderInfo, ReplyEnd, SkillInfo,
};
use crate::args::TurnArgs;
use atmos_ai::chat::{self, PreparedTurn, ReplyOutcome, TurnRequest};
use atmos_ai::compact::{self, PreparedCompaction, SummaryText};
use atmos_ai::skills::Skills;
use atmos_ai::{
    CreateOptions, Error, ListFilter, Message, Project, Role, Session, SessionKey, Sessions,
    TranscriptQuery, UpdateOptions, catalog, history,
};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// What background tasks report.
pub enum Bg {
    Delta(String),
    ReplyEnded(Box<PreparedTurn>, ReplyOutcome),
    Summarized(Box<PreparedCompaction>, SummaryText),
}

/// The sessions (or, with sessions off, the project) and the running turn.
pub struct Driver {
    project: Project,
    sessions: Option<Sessions>,
    skills: Skills,
    tx: mpsc::UnboundedSender<Bg>,
    cancel: Option<oneshot::Sender<()>>,
}

/// The transcript page size used to read a whole transcript.
const PAGE: u32 = 1000;

impl Driver {
    /// Opens the project's sessions. With sessions disabled the driver still
    /// works: turns are one-shot and nothing is kept.
    pub fn open(project: Project, tx: mpsc::UnboundedSender<Bg>) -> atmos_ai::Result<Driver> {
        let (sessions, skills) = if project.config.sessions.enabled {
            let s = Sessions::open(project.clone())?;
            let skills = s.skills().clone();
            (Some(s), skills)
        } else {
            (None, Skills::load(&project)?)
        };
        Ok(Driver {
            project,
            sessions,
            skills,
            tx,
            cancel: None,
        })
    }

    /// What the app starts with, and the session `--session` names (created
    /// or resumed, switched to `--provider`/`--model`/`--skill`).
    pub fn start(&mut self, args: &TurnArgs) -> atmos_ai::Result<(Init, Option<Box<Loaded>>)> {
        let config = &self.project.config;
        let providers = catalog::entries(config)
            .into_iter()
            .map(|e| ProviderInfo {
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
        match (&mut self.sessions, &args.session) {
            (None, _) => {
                notes.push(Entry::note(
                    "Sessions are disabled in this project, so this chat is not kept and each \
                     message is sent on its own. Set `ai.sessions.enabled: true` in atmos.yaml \
                     to keep conversations.",
                ));
                if args.session.is_some() {
                    return Err(Error::SessionsDisabled {
                        config_path: self.project.config_path.clone(),
                    });
                }
            }
            (Some(sessions), Some(name)) => {
                let switch = UpdateOptions {
                    provider: args.provider.clone(),
                    model: args.model.clone(),
                    skill: args.skill.clone(),
                    metadata: None,
                };
                let resumed =
                    sessions.resume(&SessionKey::Name(name.clone()), true, switch, Some(0))?;
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
        let prompt = self.skill_prompt(&skill);
        let init = Init {
            sessions_enabled: self.sessions.is_some(),
            providers,
            skills,
            model: args.model.clone().unwrap_or(entry.model),
            provider: entry.name,
            skill,
            tokens: history::estimate_request(&prompt, &[]),
            notes,
        };
        Ok((init, loaded))
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
            } => self.send(session, provider, model, skill, text),
            Effect::Cancel => {
                if let Some(c) = self.cancel.take() {
                    let _ = c.send(());
                }
                vec![]
            }
            Effect::ListSessions => {
                match self.sessions().and_then(|s| s.list(&ListFilter::default())) {
                    Ok((listed, _)) => vec![Event::Listed(
                        listed.into_iter().map(|l| l.session).collect(),
                    )],
                    Err(e) => vec![
                        Event::Listed(Vec::new()),
                        notice(Entry::error(e.to_string())),
                    ],
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
                let created = self.sessions_mut().and_then(|s| {
                    s.create(CreateOptions {
                        name,
                        provider: Some(provider),
                        model: (!model.is_empty()).then_some(model),
                        skill: Some(skill),
                        metadata: None,
                    })
                });
                let result = created.and_then(|(session, evicted)| {
                    let mut l = self.load(&SessionKey::Id(session.id))?;
                    l.entries.extend(evicted.iter().map(|g| evicted_note(g)));
                    Ok(Box::new(l))
                });
                vec![Event::Created(result.map_err(|e| e.to_string()))]
            }
            Effect::Rename { id, name } => vec![Event::Renamed(
                self.sessions_mut()
                    .and_then(|s| s.rename(&SessionKey::Id(id), &name))
                    .map_err(|e| e.to_string()),
            )],
            Effect::Delete { id } => vec![Event::Deleted(
                self.sessions_mut()
                    .and_then(|s| s.delete(&SessionKey::Id(id)))
                    .map_err(|e| e.to_string()),
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
            Effect::Quit => vec![],
        }
    }

    /// Handles a background task's report.
    pub fn background(&mut self, bg: Bg) -> Vec<Event> {
        match bg {
            Bg::Delta(text) => vec![Event::Delta(text)],
            Bg::ReplyEnded(prepared, outcome) => self.reply_ended(*prepared, outcome),
            Bg::Summarized(prepared, summary) => self.summarized(*prepared, summary),
        }
    }

    fn sessions(&self) -> atmos_ai::Result<&Sessions> {
        self.sessions
            .as_ref()
            .ok_or_else(|| Error::SessionsDisabled {
                config_path: self.project.config_path.clone(),
            })
    }

    fn sessions_mut(&mut self) -> atmos_ai::Result<&mut Sessions> {
        self.sessions
            .as_mut()
            .ok_or_else(|| Error::SessionsDisabled {
                config_path: self.project.config_path.clone(),
            })
    }

    fn skill_prompt(&self, skill: &str) -> String {
        self.skills
            .get(skill)
            .or_else(|| self.skills.get(self.skills.default_name()))
            .map(|s| s.system_prompt.clone())
            .unwrap_or_default()
    }

    /// A session with its whole transcript (archived messages and summaries
    /// included) and the estimate of what its next turn sends.
    fn load(&mut self, key: &SessionKey) -> atmos_ai::Result<Loaded> {
        let sessions = self.sessions()?;
        let mut all: Vec<Message> = Vec::new();
        let mut before = None;
        loop {
            let (_, page) = sessions.messages(
                key,
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
        let (session, tokens) = self.window(key)?;
        let markers = self
            .project
            .config
            .sessions
            .auto_compact
            .show_summary_markers;
        Ok(Loaded {
            session,
            entries: entries(&all, markers),
            tokens,
        })
    }

    /// The session and the estimated tokens of its next request (skill
    /// prompt, summaries, active window): O(window), not O(history).
    fn window(&mut self, key: &SessionKey) -> atmos_ai::Result<(Session, u64)> {
        let sessions = self.sessions_mut()?;
        let session = sessions.get(key)?;
        // What a turn would send: the summaries and the newest
        // max_history_messages (all when 0), as `begin_turn` reads them.
        let max = sessions.project().config.max_history_messages;
        let window = sessions
            .store()
            .active_window(&session.id, (max > 0).then_some(max))?;
        let prompt = self.skill_prompt(&session.skill);
        let tokens = history::estimate_request(
            &history::system_prompt(&prompt, &window),
            &history::messages(&window, &[]),
        );
        Ok((session, tokens))
    }

    fn update(&mut self, id: String, options: UpdateOptions) -> Vec<Event> {
        let key = SessionKey::Id(id);
        let result = self
            .sessions_mut()
            .and_then(|s| s.update(&key, options))
            .and_then(|_| self.window(&key));
        vec![Event::Updated(result.map_err(|e| e.to_string()))]
    }

    fn send(
        &mut self,
        session: Option<String>,
        provider: String,
        model: String,
        skill: String,
        text: String,
    ) -> Vec<Event> {
        let failed = |text: String, e: &Error, config: &atmos_ai::Config| {
            vec![Event::SendFailed {
                text,
                error: explain(e, config),
            }]
        };
        let Some(sessions) = &mut self.sessions else {
            let prepared = chat::prepare_one_shot(
                &self.project,
                &self.skills,
                Some(&provider),
                Some(&model),
                Some(&skill),
                &text,
            );
            return match prepared {
                Ok(p) => {
                    self.spawn_turn(p);
                    vec![Event::ReplyStarted { session: None }]
                }
                Err(e) => failed(text, &e, &self.project.config),
            };
        };
        let mut events = Vec::new();
        let (key, created) = match session {
            Some(id) => (SessionKey::Id(id), false),
            None => {
                let made = sessions.create(CreateOptions {
                    name: None,
                    provider: Some(provider),
                    model: Some(model),
                    skill: Some(skill),
                    metadata: None,
                });
                match made {
                    Ok((s, evicted)) => {
                        events.extend(evicted.iter().map(|g| notice(evicted_note(g))));
                        (SessionKey::Id(s.id), true)
                    }
                    Err(e) => return failed(text, &e, &self.project.config),
                }
            }
        };
        let begun = sessions.begin_turn(TurnRequest {
            key: key.clone(),
            message: text.clone(),
            context: Vec::new(),
        });
        match begun {
            Ok(p) => {
                let session = sessions.get(&key).ok();
                self.spawn_turn(p);
                events.push(Event::ReplyStarted { session });
                events
            }
            Err(e) => {
                // Nothing was sent: a session made just for this message goes.
                if created {
                    let _ = sessions.delete(&key);
                }
                events.extend(failed(text, &e, &self.project.config));
                events
            }
        }
    }

    /// Phase 2 in a task; Esc/Ctrl+C send on the oneshot, and the task ends
    /// the stream itself so that the turn comes back whole.
    fn spawn_turn(&mut self, prepared: PreparedTurn) {
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        self.cancel = Some(cancel_tx);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut partial = String::new();
            let outcome = {
                let deltas = tx.clone();
                let mut on_delta = |d: &str| {
                    partial.push_str(d);
                    let _ = deltas.send(Bg::Delta(d.to_string()));
                };
                tokio::select! {
                    outcome = chat::stream_reply(&prepared, &mut on_delta) => Some(outcome),
                    _ = cancel_rx => None,
                }
            };
            let outcome = outcome.unwrap_or(ReplyOutcome::Cancelled { partial });
            let _ = tx.send(Bg::ReplyEnded(Box::new(prepared), outcome));
        });
    }

    /// Phase 3: store the reply (or the part that arrived), then compact
    /// when the session is due.
    fn reply_ended(&mut self, prepared: PreparedTurn, outcome: ReplyOutcome) -> Vec<Event> {
        self.cancel = None;
        let cancelled = matches!(outcome, ReplyOutcome::Cancelled { .. });
        let arrived = match &outcome {
            ReplyOutcome::Complete(c) => c.text.clone(),
            ReplyOutcome::Failed { partial, .. } | ReplyOutcome::Cancelled { partial } => {
                partial.clone()
            }
        };
        let config = self.project.config.clone();
        let cancel_note = |arrived: &str| {
            if arrived.is_empty() {
                "Cancelled before the reply started".to_string()
            } else {
                "Cancelled: the reply so far is kept, marked interrupted".to_string()
            }
        };
        let Some(session) = prepared.session.clone() else {
            let result = chat::finish_one_shot(prepared, outcome);
            let mut end = ReplyEnd {
                session: None,
                text: arrived.clone(),
                interrupted: cancelled,
                error: None,
                tokens: None,
            };
            match result {
                Ok(f) => end.text = f.reply.content,
                Err(Error::Cancelled) => {
                    return vec![
                        Event::ReplyEnded(Box::new(end)),
                        notice(Entry::note(cancel_note(&arrived))),
                    ];
                }
                Err(e) => end.error = Some(explain(&e, &config)),
            }
            return vec![Event::ReplyEnded(Box::new(end))];
        };
        let key = SessionKey::Id(session.id.clone());
        let estimated = prepared.estimated_input;
        let Some(sessions) = &mut self.sessions else {
            return vec![];
        };
        match sessions.finish_turn(prepared, outcome) {
            Ok(finished) => {
                let tokens = estimated + history::estimate_tokens(&finished.reply.content) + 4;
                let mut events = vec![Event::ReplyEnded(Box::new(ReplyEnd {
                    session: finished.session,
                    text: finished.reply.content,
                    interrupted: false,
                    error: None,
                    tokens: Some(tokens),
                }))];
                events.extend(self.maybe_compact(&key));
                events
            }
            Err(e) => {
                let (session, tokens) = match self.window(&key) {
                    Ok((s, t)) => (Some(s), Some(t)),
                    Err(_) => (None, None),
                };
                let mut events = vec![Event::ReplyEnded(Box::new(ReplyEnd {
                    session,
                    text: arrived.clone(),
                    interrupted: cancelled,
                    error: (!cancelled).then(|| explain(&e, &config)),
                    tokens,
                }))];
                if cancelled {
                    events.push(notice(Entry::note(cancel_note(&arrived))));
                }
                events
            }
        }
    }

    fn maybe_compact(&mut self, key: &SessionKey) -> Vec<Event> {
        let Some(sessions) = &mut self.sessions else {
            return vec![];
        };
        match sessions.begin_compaction(key, false) {
            Ok(Some(p)) => {
                let line = format!(
                    "compacting the {} oldest messages into a summary…",
                    p.messages.len()
                );
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let summary = compact::summarize(&p).await;
                    let _ = tx.send(Bg::Summarized(Box::new(p), summary));
                });
                vec![Event::CompactionStarted(line)]
            }
            Ok(None) | Err(Error::Busy { .. }) => vec![],
            Err(e) => vec![notice(Entry::error(format!(
                "the session was not compacted: {e}"
            )))],
        }
    }

    fn summarized(&mut self, prepared: PreparedCompaction, summary: SummaryText) -> Vec<Event> {
        let count = prepared.messages.len();
        let session_id = prepared.session.id.clone();
        let key = SessionKey::Id(session_id.clone());
        let Some(sessions) = &mut self.sessions else {
            return vec![];
        };
        let mut entries = Vec::new();
        match sessions.finish_compaction(prepared, summary) {
            Ok(r) => {
                let mut line = format!(
                    "Compacted {count} messages into a summary (~{} → ~{} tokens); they stay in \
                     the transcript and the archive",
                    crate::commands::thousands(r.tokens_before),
                    crate::commands::thousands(r.tokens_after)
                );
                if let Some(why) = &r.fallback_reason {
                    line.push_str(&format!(" (plain summary: {why})"));
                }
                entries.push(Entry::note(line));
                if self
                    .project
                    .config
                    .sessions
                    .auto_compact
                    .show_summary_markers
                    && let Ok(l) = self.load(&key)
                    && let Some(s) = l
                        .entries
                        .iter()
                        .rev()
                        .find(|e| e.kind == EntryKind::Summary)
                {
                    entries.push(s.clone());
                }
            }
            Err(e) => entries.push(Entry::error(format!("the session was not compacted: {e}"))),
        }
        let tokens = self.window(&key).map(|(_, t)| t).unwrap_or_default();
        vec![Event::CompactionEnded {
            session_id,
            entries,
            tokens,
        }]
    }
}

fn notice(entry: Entry) -> Event {
    Event::Notice(entry)
}

fn evicted_note(name: &str) -> Entry {
    Entry::note(format!(
        "Removed the least recently used session '{name}' to stay within max_sessions"
    ))
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
                 summary; the messages stay here and in the archive)"
            )));
            if markers {
                out.push(Entry::new(
                    EntryKind::Summary,
                    compact::with_markers(&m.content, first, last),
                ));
            }
            continue;
        }
        out.push(Entry::new(
            match m.role {
                Role::User => EntryKind::User,
                Role::Assistant => EntryKind::Assistant {
                    interrupted: m.interrupted,
                },
                Role::System => EntryKind::Note,
            },
            m.content.clone(),
        ));
    }
    out
}

/// An error for the transcript. A provider that is not configured also
/// gets the list of what would enable each provider.
pub fn explain(e: &Error, config: &atmos_ai::Config) -> String {
    let mut s = e.to_string();
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
    s
}
