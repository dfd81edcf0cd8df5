//! The phases of one chat turn, which the engine (`crate::engine`) runs in
//! order so that nobody holds the database across a network await:
//!
//! 1. [`Sessions::begin_turn`] (sync): take the session's turn lease, store
//!    the user message (committed before any provider is called), build the
//!    request from the history.
//! 2. [`stream_reply`] (async, no database): call the provider, passing each
//!    text piece on as it arrives. Dropping the future cancels the request.
//! 3. [`Sessions::finish_turn`] (sync): store the reply with its usage — or
//!    the part that arrived, marked interrupted — and give the lease back,
//!    or hand it to the compaction the reply made due.
//!
//! [`prepare_one_shot`] builds the same request without a session, for
//! `atmos ai ask` when nothing is to be kept. The faces do not call these:
//! they call the engine and render its events.

use crate::catalog;
use crate::config::{Config, Project};
use crate::error::{Error, Result};
use crate::history;
use crate::lease::LeaseGuard;
use crate::sessions::Sessions;
use crate::skills::Skills;
use atmos_providers::{
    ChatRequest, Completion, Provider, ProviderError, ProviderSettings, StreamEvent,
};
use atmos_store::{ContextRef, Message, NewMessage, Role, Session, SessionKey, TokenUsage};
use std::time::{Duration, Instant};

/// How long a turn's lease lasts without its holder. A process that dies
/// mid-turn blocks the session at most this long (less: see [`holder_is_gone`]).
pub const LEASE_TTL: Duration = Duration::from_secs(15 * 60);

/// What to send.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub key: SessionKey,
    pub message: String,
    pub context: Vec<ContextRef>,
    /// Ask the provider to stream (deltas as they come); `false` gets the
    /// whole reply in one piece.
    pub stream: bool,
    /// Ask the session's last question again instead of `message`: a reply
    /// to it (interrupted, failed half-way or just not liked) is archived
    /// (kept, no longer sent) and a new one is asked for.
    pub retry: bool,
}

impl TurnRequest {
    /// A streamed turn of `message` in the session `key`, with no context.
    pub fn new(key: SessionKey, message: impl Into<String>) -> TurnRequest {
        TurnRequest {
            key,
            message: message.into(),
            context: Vec::new(),
            stream: true,
            retry: false,
        }
    }

    /// Asks the last question of session `key` again (see [`TurnRequest::retry`]).
    pub fn retry(key: SessionKey) -> TurnRequest {
        TurnRequest {
            retry: true,
            ..TurnRequest::new(key, "")
        }
    }
}

/// A turn between phase 1 and phase 3.
pub struct PreparedTurn {
    /// `None` for a one-shot turn that keeps nothing.
    pub session: Option<Session>,
    /// The stored user message (`None` for one-shot turns).
    pub user_message: Option<Message>,
    pub request: ChatRequest,
    pub provider_name: String,
    pub model: String,
    /// Estimated tokens of the request.
    pub estimated_input: u64,
    pub started: Instant,
    provider: Box<dyn Provider>,
    lease: Option<LeaseGuard>,
    /// Secrets masked in the message before it was stored or sent.
    pub redacted: usize,
    /// The row of the reply stored while it streamed (see
    /// [`Sessions::checkpoint_reply`]); 0 until the first checkpoint. Shared
    /// with the checkpoint jobs, which run on the store thread in order,
    /// before the turn's end.
    pub(crate) checkpoint: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl std::fmt::Debug for PreparedTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedTurn")
            .field("session", &self.session.as_ref().map(|s| &s.name))
            .field("provider", &self.provider_name)
            .field("model", &self.model)
            .finish()
    }
}

impl PreparedTurn {
    /// The request for `messages` under `system`, with the provider's model
    /// and reply cap; `stored` is the session, its stored user message and
    /// the lease (none for one-shot turns).
    fn new(
        settings: &ProviderSettings,
        provider: Box<dyn Provider>,
        system: String,
        messages: Vec<atmos_providers::ChatMessage>,
        stored: Option<(Session, Message, LeaseGuard)>,
    ) -> PreparedTurn {
        let estimated_input = history::estimate_request(&system, &messages);
        let (session, user_message, lease) = match stored {
            Some((s, m, l)) => (Some(s), Some(m), Some(l)),
            None => (None, None, None),
        };
        PreparedTurn {
            request: ChatRequest {
                model: settings.model.clone(),
                system: Some(system),
                messages,
                max_tokens: settings.max_tokens,
                stream: true,
            },
            provider_name: settings.name.clone(),
            model: settings.model.clone(),
            session,
            user_message,
            estimated_input,
            started: Instant::now(),
            provider,
            lease,
            redacted: 0,
            checkpoint: Default::default(),
        }
    }
}

impl Sessions {
    /// Stores what has arrived of a reply while it streams, marked
    /// interrupted: a crash (SIGKILL, power) then leaves the session with it.
    /// The first call appends the reply; later ones rewrite it; the turn's
    /// end makes it whole (or leaves it interrupted).
    pub(crate) fn checkpoint_reply(
        &mut self,
        session_id: &str,
        row: &std::sync::atomic::AtomicI64,
        text: &str,
    ) -> Result<()> {
        use std::sync::atomic::Ordering;
        match row.load(Ordering::SeqCst) {
            0 => {
                let mut m = NewMessage::new(Role::Assistant, text.to_string());
                m.interrupted = true;
                let stored = self.store_mut().append_message(session_id, &m)?;
                row.store(stored.id, Ordering::SeqCst);
            }
            id => {
                self.store_mut().update_reply(id, text, true, None)?;
            }
        }
        Ok(())
    }
}

/// What phase 2 produced.
#[derive(Debug)]
pub enum ReplyOutcome {
    Complete(Completion),
    /// The provider failed; `partial` is what arrived before.
    Failed {
        partial: String,
        error: ProviderError,
    },
    /// The caller stopped the turn; `partial` is what arrived before.
    Cancelled {
        partial: String,
    },
}

/// A turn that ended.
#[derive(Debug, Clone)]
pub struct FinishedTurn {
    pub session: Option<Session>,
    pub reply: Message,
    pub usage: TokenUsage,
    pub provider: String,
    pub model: String,
    pub duration: Duration,
    /// The title this exchange gave the session (its first): the first
    /// line of the question, which an AI title may then improve.
    pub titled: Option<String>,
}

impl Sessions {
    /// Phase 1: lease, store the user message, build the request. A busy
    /// session is `Busy`; a provider without credentials is
    /// `ProviderNotConfigured` and nothing is stored.
    pub(crate) fn begin_turn(&mut self, turn: TurnRequest) -> Result<PreparedTurn> {
        if !turn.retry && turn.message.trim().is_empty() {
            return Err(Error::invalid_param("message", "the message is empty"));
        }
        let size = turn.message.len() + turn.context.iter().map(|c| c.text.len()).sum::<usize>();
        if size > MAX_MESSAGE_BYTES {
            return Err(Error::invalid_param(
                "message",
                format!(
                    "the message and its context are {}, over the limit of 4 MiB: send the part \
                     that matters (a plan's summary, the failing resource), not the whole file",
                    crate::sessions::size_text(size)
                ),
            ));
        }
        let session = self.get(&turn.key)?;
        let (settings, provider) =
            provider_for(&self.project().config, &session.provider, &session.model)?;
        let skill_prompt = self.skill_prompt(&session.skill);
        // From here every way out gives the lease back: `?` drops the guard.
        // Secrets out before anything is stored or sent.
        let mut turn = turn;
        let redacted = self.redact(&mut turn)?;
        let lease = self.take_lease(&session, &lease_holder())?;
        let user_message = if turn.retry {
            self.question_to_retry(&session)?
        } else {
            let stored = NewMessage {
                context: turn.context.clone(),
                ..NewMessage::new(Role::User, turn.message.clone())
            };
            self.store_mut().append_message(&session.id, &stored)?
        };
        let limit = match self.project().config.max_history_messages {
            0 => None,
            n => Some(n),
        };
        let window = self.store().active_window(&session.id, limit)?;
        let system = history::system_prompt(&skill_prompt, &window);
        let messages = history::messages(&window, &turn.context);
        let mut prepared = PreparedTurn::new(
            &settings,
            provider,
            system,
            messages,
            Some((session, user_message, lease)),
        );
        prepared.request.stream = turn.stream;
        prepared.redacted = redacted;
        Ok(prepared)
    }

    /// Masks secrets in the message and its context when `ai.sessions.redact`
    /// is on; how many were masked.
    fn redact(&self, turn: &mut TurnRequest) -> Result<usize> {
        let Some(redactor) = crate::redact::Redactor::configured(&self.project().config.sessions)?
        else {
            return Ok(0);
        };
        let (message, mut count) = redactor.redact(&turn.message);
        turn.message = message;
        for c in &mut turn.context {
            let (text, n) = redactor.redact(&c.text);
            c.text = text;
            count += n;
        }
        Ok(count)
    }

    /// For a retry: the session's last question, its reply (if any)
    /// archived so that the window ends with the question again.
    fn question_to_retry(&mut self, session: &Session) -> Result<Message> {
        let newest = self.store().active_window(&session.id, Some(2))?;
        let mut newest: Vec<Message> = newest.into_iter().filter(|m| !m.is_summary).collect();
        let last = newest.pop();
        let question = match last {
            Some(m) if m.role == Role::User => m,
            Some(reply) if reply.role == Role::Assistant => match newest.pop() {
                Some(q) if q.role == Role::User => {
                    self.store_mut().archive_message(&session.id, reply.id)?;
                    q
                }
                _ => return Err(nothing_to_retry(session)),
            },
            _ => return Err(nothing_to_retry(session)),
        };
        Ok(question)
    }

    /// Phase 3: store the reply (or what arrived, marked interrupted) and
    /// release the lease. A provider failure is returned as its error after
    /// the partial reply is stored; a cancel as `Cancelled`. A reply that
    /// makes the session due for compaction hands its lease over (the
    /// second value) so that the session stays busy until the compaction
    /// ends.
    pub(crate) fn finish_turn(
        &mut self,
        mut turn: PreparedTurn,
        outcome: ReplyOutcome,
    ) -> (Result<FinishedTurn>, Option<LeaseGuard>) {
        let result = self.store_outcome(&turn, outcome);
        let Some(lease) = turn.lease.take() else {
            return (result, None);
        };
        if let Ok(FinishedTurn {
            session: Some(session),
            ..
        }) = &result
            && crate::compact::may_be_due(&self.project().config, session)
        {
            return (result, Some(lease));
        }
        self.release(lease);
        (result, None)
    }

    fn store_outcome(
        &mut self,
        turn: &PreparedTurn,
        outcome: ReplyOutcome,
    ) -> Result<FinishedTurn> {
        let session = turn.session.as_ref().expect("a session turn");
        let (text, usage, failure) = match outcome {
            ReplyOutcome::Complete(c) => {
                let usage = usage_of(turn, &c);
                (c.text, Some(usage), None)
            }
            ReplyOutcome::Failed { partial, error } => (partial, None, Some(provider_error(error))),
            ReplyOutcome::Cancelled { partial } => (partial, None, Some(Error::Cancelled)),
        };
        let checkpoint = turn.checkpoint.load(std::sync::atomic::Ordering::SeqCst);
        if let Some(error) = failure {
            // No empty reply is stored; a partial one is kept, marked.
            match (checkpoint, text.is_empty()) {
                (0, true) => {}
                (0, false) => {
                    let mut m = NewMessage::new(Role::Assistant, text);
                    m.interrupted = true;
                    self.store_mut().append_message(&session.id, &m)?;
                }
                (id, _) => {
                    self.store_mut().update_reply(id, &text, true, None)?;
                }
            }
            return Err(error);
        }
        let usage = usage.expect("set on success");
        let reply = match checkpoint {
            0 => {
                let mut m = NewMessage::new(Role::Assistant, text);
                m.usage = Some(usage);
                self.store_mut().append_message(&session.id, &m)?
            }
            id => self
                .store_mut()
                .update_reply(id, &text, false, Some(&usage))?,
        };
        let question = turn
            .user_message
            .as_ref()
            .map(|m| m.content.as_str())
            .unwrap_or_default();
        // A session known to have a title needs no look (most turns).
        let titled = match session.title {
            Some(_) => None,
            None => self.title_first_exchange(&session.id, question)?,
        };
        let session = self.get(&SessionKey::Id(session.id.clone()))?;
        Ok(FinishedTurn {
            session: Some(session),
            reply,
            usage,
            provider: turn.provider_name.clone(),
            model: turn.model.clone(),
            duration: turn.started.elapsed(),
            titled,
        })
    }
}

/// Phase 2: streams the reply. `on_delta` gets each text piece in order.
pub(crate) async fn stream_reply(
    turn: &PreparedTurn,
    on_delta: &mut (dyn FnMut(&str) + Send),
) -> ReplyOutcome {
    let mut partial = String::new();
    let mut sink = |event: StreamEvent| {
        if let StreamEvent::Delta(text) = event {
            partial.push_str(&text);
            on_delta(&text);
        }
    };
    let result = turn.provider.chat(&turn.request, &mut sink).await;
    match result {
        Ok(c) => ReplyOutcome::Complete(c),
        Err(error) => ReplyOutcome::Failed { partial, error },
    }
}

/// A turn that stores nothing (sessions off, or `ask` without `--session`).
/// `turn.history` is what the caller kept of the conversation so far (in
/// memory, oldest first): the model sees its newest messages, as many as
/// `max_history_messages` allows with the new one (all with 0).
pub(crate) fn prepare_one_shot(
    project: &Project,
    skills: &Skills,
    turn: &crate::engine::OneShot,
) -> Result<PreparedTurn> {
    let (provider, model, skill) = (
        turn.provider.as_deref(),
        turn.model.as_deref(),
        turn.skill.as_deref(),
    );
    let (history, message) = (&turn.history, turn.message.as_str());
    if message.trim().is_empty() {
        return Err(Error::invalid_param("message", "the message is empty"));
    }
    let entry = catalog::resolve(&project.config, provider)?;
    let model = model.map(str::to_string).unwrap_or(entry.model.clone());
    let (settings, provider) = provider_for(&project.config, &entry.name, &model)?;
    let skill = match skill {
        None => skills.get(skills.default_name()),
        Some(s) => Some(skills.get(s).ok_or_else(|| {
            Error::invalid_param(
                "skill",
                format!("unknown skill '{s}': run `atmos ai skills` to see them"),
            )
        })?),
    };
    let system = skill.map(|s| s.system_prompt.clone()).unwrap_or_default();
    let keep = match project.config.max_history_messages {
        0 => history.len(),
        n => (n as usize).saturating_sub(1),
    };
    let mut messages: Vec<_> = history[history.len().saturating_sub(keep)..]
        .iter()
        .filter_map(|(role, text)| {
            let role = match role {
                Role::User => atmos_providers::Role::User,
                Role::Assistant => atmos_providers::Role::Assistant,
                Role::System => return None,
            };
            Some(atmos_providers::ChatMessage::new(role, text.as_str()))
        })
        .collect();
    // Secrets out before the message is sent (nothing is stored here).
    let (message, redacted) = match crate::redact::Redactor::configured(&project.config.sessions)? {
        None => (message.to_string(), 0),
        Some(redactor) => redactor.redact(message),
    };
    messages.push(atmos_providers::ChatMessage::new(
        atmos_providers::Role::User,
        message,
    ));
    let mut prepared = PreparedTurn::new(&settings, provider, system, messages, None);
    prepared.redacted = redacted;
    Ok(prepared)
}

/// Ends a one-shot turn: the reply as a message that was not stored.
pub(crate) fn finish_one_shot(turn: PreparedTurn, outcome: ReplyOutcome) -> Result<FinishedTurn> {
    match outcome {
        ReplyOutcome::Complete(c) => {
            let usage = usage_of(&turn, &c);
            Ok(FinishedTurn {
                session: None,
                reply: Message {
                    id: 0,
                    session_id: String::new(),
                    role: Role::Assistant,
                    content: c.text,
                    created_at: chrono::Utc::now(),
                    archived: false,
                    interrupted: false,
                    is_summary: false,
                    summary_range: None,
                    usage: Some(usage),
                    tokens_before: None,
                    tokens_after: None,
                    context: Vec::new(),
                    pinned: false,
                },
                usage,
                provider: turn.provider_name.clone(),
                model: turn.model.clone(),
                duration: turn.started.elapsed(),
                titled: None,
            })
        }
        ReplyOutcome::Failed { error, .. } => Err(provider_error(error)),
        ReplyOutcome::Cancelled { .. } => Err(Error::Cancelled),
    }
}

fn usage_of(turn: &PreparedTurn, c: &Completion) -> TokenUsage {
    match c.usage {
        Some(u) => TokenUsage {
            input: u.input_tokens,
            output: u.output_tokens,
            estimated: false,
        },
        None => TokenUsage {
            input: turn.estimated_input,
            output: history::estimate_tokens(&c.text),
            estimated: true,
        },
    }
}

/// Builds the provider a session names, with the project's settings for it.
pub fn provider_for(
    config: &Config,
    name: &str,
    model: &str,
) -> Result<(ProviderSettings, Box<dyn Provider>)> {
    let entry = catalog::resolve(config, Some(name)).map_err(|_| Error::ProviderNotConfigured {
        provider: name.to_string(),
        missing: format!("ai.providers.{name}"),
        hint: format!(
            "this session's provider is unknown here: add ai.providers.{name} to atmos.yaml, \
             or switch the session with --provider"
        ),
    })?;
    let mut settings = ProviderSettings::new(entry.name.clone(), entry.kind);
    settings.model = model.to_string();
    settings.idle_timeout = Duration::from_secs(config.timeout_seconds);
    if let Some(p) = config.providers.get(name) {
        settings.api_key_env = p.api_key_env.clone();
        settings.base_url = p.base_url.clone();
        settings.max_tokens = p.max_tokens;
        settings.api_version = p.api_version.clone();
        settings.deployment = p.deployment.clone();
        settings.region = p.region.clone();
    }
    let provider = atmos_providers::build(&settings).map_err(provider_error)?;
    Ok((settings, provider))
}

/// A provider's error as the core's.
pub fn provider_error(e: ProviderError) -> Error {
    match &e {
        ProviderError::MissingKey { provider, variable } => Error::ProviderNotConfigured {
            provider: provider.clone(),
            missing: variable.clone(),
            hint: format!(
                "set the environment variable {variable} to its API key, or pick another provider"
            ),
        },
        _ if e.is_not_configured() => Error::ProviderNotConfigured {
            provider: e.provider().to_string(),
            missing: format!("ai.providers.{}", e.provider()),
            hint: e.to_string(),
        },
        _ => Error::Provider {
            provider: e.provider().to_string(),
            status: e.status(),
            retryable: e.retryable(),
            retry_after_ms: e.retry_after_ms(),
            source: Box::new(e),
        },
    }
}

/// The largest user message, its context included (4 MiB): more than any
/// model's context window, and what every later request would carry.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// `pid@host/random`: unique per turn, and tells whether its process lives.
pub(crate) fn lease_holder() -> String {
    format!("{}{}", process_holder(), uuid::Uuid::new_v4().simple())
}

/// What every lease holder of this process starts with (after a
/// `compact-` or `uncompact-` prefix).
fn process_holder() -> String {
    format!("{}@{}/", std::process::id(), host_name())
}

/// Whether a lease holder is this process (its turns, compactions and
/// uncompactions).
pub(crate) fn is_own_holder(holder: &str) -> bool {
    let bare = holder
        .strip_prefix("compact-")
        .or_else(|| holder.strip_prefix("uncompact-"))
        .unwrap_or(holder);
    bare.starts_with(&process_holder())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// True when a lease's holder was a process on this machine that has ended:
/// its lease is stale and may be taken over at once.
pub fn holder_is_gone(holder: &str) -> bool {
    // Without /proc (macOS, the BSDs) liveness is unknown: never take over.
    if !std::path::Path::new("/proc/self").exists() {
        return false;
    }
    let Some((who, rest)) = holder.split_once('@') else {
        return false;
    };
    // `PID` for a turn, `compact-PID` for a compaction.
    let pid = who.rsplit('-').next().unwrap_or(who);
    let Some((host, _)) = rest.split_once('/') else {
        return false;
    };
    host == host_name()
        && pid.parse::<u32>().is_ok_and(|p| {
            p != std::process::id() && !std::path::Path::new(&format!("/proc/{p}")).exists()
        })
}

fn nothing_to_retry(session: &Session) -> Error {
    Error::invalid_param(
        "retry",
        format!(
            "session '{}' has no question to ask again: its newest messages are not a question and its reply",
            session.name
        ),
    )
}
