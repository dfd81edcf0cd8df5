//! Auto-compaction: when a session's active messages reach
//! `trigger_threshold × max_history_messages`, the oldest
//! `compact_ratio × max_history_messages` of them (never the newest
//! `preserve_recent`, never a user message without its reply) are summarised
//! and archived. Archived messages are never deleted; the summary is stored
//! with the range it replaces and leads what the model sees. A later
//! compaction folds the previous summary into the new one, so what is sent
//! stays bounded however long the session runs.
//!
//! Like a chat turn it runs in three phases, which the engine
//! (`crate::engine`) sequences: [`Sessions::begin_compaction`] (sync: decide
//! and take the session's lease), [`summarize`] (async: the provider, or the
//! plain fallback), [`Sessions::finish_compaction`] (sync: store the summary,
//! archive, release).

use crate::chat::{LEASE_TTL, provider_for};
use crate::config::AutoCompactConfig;
use crate::error::Result;
use crate::history::estimate_tokens;
use crate::lease::LeaseGuard;
use crate::sessions::Sessions;
use atmos_providers::{ChatMessage, ChatRequest, Provider, Role as WireRole};
use atmos_store::{Message, NewSummary, Role, Session, SessionKey};

/// The instructions for AI summaries.
pub const SUMMARY_PROMPT: &str = "You compact the history of a conversation between an infrastructure \
engineer and an AI assistant about Atmos, Terraform and cloud infrastructure. Write a concise summary \
that a later assistant will read instead of the original messages.

Keep, precisely and with their exact values:
- infrastructure decisions: CIDR ranges, regions, component and module choices, architectural patterns;
- technical details: stack names, component names, file paths, variable names and configuration values;
- security context: security group rules, IAM policies and roles, encryption and key settings;
- validation results: errors found, their causes and how they were resolved;
- open questions and agreed next steps.

Leave out conversational filler (thanks, greetings, acknowledgements), step-by-step narration of \
what was done, and raw tool or command output. Use short bullet points grouped by topic. If a \
previous summary is given, merge it with the new messages into one summary; later decisions \
replace earlier ones.";

/// How much of each message the plain (non-AI) summary keeps, in characters.
pub const PLAIN_MESSAGE_CHARS: usize = 400;
/// The shortest excerpt of a message the plain summary cuts to when room
/// is short, in characters.
pub const PLAIN_EXCERPT_MIN: usize = 40;
/// The longest plain summary, in characters (the newest part is kept).
pub const PLAIN_SUMMARY_CHARS: usize = 12_000;

/// Which messages a compaction takes, by position in the active messages
/// (oldest first). Pure: the table-driven tests exercise it directly.
///
/// Returns how many of the oldest to summarise (0: none).
///
/// `active` is the number of active (unarchived, non-summary) messages and
/// `oldest` the roles of the oldest of them, at least
/// [`plan_reads`]`(config, max_history_messages, active)` of them.
pub fn plan_count(
    config: &AutoCompactConfig,
    max_history_messages: u32,
    active: usize,
    oldest: &[Role],
    estimated_tokens: u64,
    force: bool,
) -> usize {
    let max = max_history_messages as usize;
    if !force {
        if !config.enabled {
            return 0;
        }
        let by_count = max > 0 && active >= trigger_at(config.trigger_threshold, max);
        let by_tokens = config
            .max_history_tokens
            .is_some_and(|t| estimated_tokens > t);
        if !by_count && !by_tokens {
            return 0;
        }
    }
    let base = if max > 0 { max } else { active };
    let wanted = ((config.compact_ratio * base as f64).round() as usize).max(1);
    let available = active.saturating_sub(config.preserve_recent as usize);
    let mut n = wanted.min(available);
    // Never split a user message from the reply that follows it.
    if n > 0 && n < oldest.len() && oldest[n - 1] == Role::User && oldest[n] == Role::Assistant {
        if n < available {
            n += 1;
        } else {
            n -= 1;
        }
    }
    n
}

/// Whether a session may be due for automatic compaction, from its counters
/// alone (O(1)); [`plan_count`] decides.
pub fn may_be_due(config: &crate::config::Config, session: &Session) -> bool {
    let ac = &config.sessions.auto_compact;
    if !ac.enabled {
        return false;
    }
    let max = config.max_history_messages as usize;
    ac.max_history_tokens.is_some()
        || (max > 0 && session.active_count() as usize >= trigger_at(ac.trigger_threshold, max))
}

/// How many of the oldest active messages [`plan_count`] needs to see: the
/// most it could take, and one more to keep a user message with its reply.
pub fn plan_reads(config: &AutoCompactConfig, max_history_messages: u32, active: usize) -> usize {
    let base = if max_history_messages > 0 {
        max_history_messages as usize
    } else {
        active
    };
    let wanted = ((config.compact_ratio * base as f64).round() as usize).max(1);
    (wanted + 2).min(active)
}

/// The message count that triggers compaction: `threshold × max`, rounded up
/// (0.75 × 50 = 37.5 → 38, as the seed says).
pub fn trigger_at(threshold: f64, max: usize) -> usize {
    ((threshold * max as f64) - 1e-9).ceil().max(1.0) as usize
}

/// A compaction between phase 1 and phase 3.
pub struct PreparedCompaction {
    pub session: Session,
    /// Live summaries folded in, then the messages to archive, oldest first.
    pub previous_summaries: Vec<Message>,
    pub messages: Vec<Message>,
    pub tokens_before: u64,
    pub use_ai: bool,
    /// The plain summary, already cut to be smaller than `tokens_before`:
    /// the fallback, and the summary when AI summaries are off.
    pub plain: String,
    provider: Option<Box<dyn Provider>>,
    model: String,
    lease: LeaseGuard,
}

impl std::fmt::Debug for PreparedCompaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCompaction")
            .field("session", &self.session.name)
            .field("messages", &self.messages.len())
            .finish()
    }
}

/// What the summary step produced.
#[derive(Debug, Clone)]
pub struct SummaryText {
    pub content: String,
    pub used_ai: bool,
    /// Why the AI summary was not used, when it was wanted.
    pub fallback_reason: Option<String>,
}

/// What a compaction did.
#[derive(Debug, Clone)]
pub struct CompactionResult {
    pub compacted: bool,
    pub summary: Option<Message>,
    pub archived_ids: Vec<i64>,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub used_ai: bool,
    pub fallback_reason: Option<String>,
}

impl CompactionResult {
    pub fn nothing(tokens: u64) -> CompactionResult {
        CompactionResult {
            compacted: false,
            summary: None,
            archived_ids: Vec::new(),
            tokens_before: tokens,
            tokens_after: tokens,
            used_ai: false,
            fallback_reason: None,
        }
    }
}

/// Stages reported around every compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Starting,
    Summarizing,
    Completed,
    Failed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Summarizing => "summarizing",
            Stage::Completed => "completed",
            Stage::Failed => "failed",
        }
    }
}

/// One compaction status event (the server forwards these as
/// `atmos/compact/status`, the TUI shows them).
#[derive(Debug, Clone)]
pub struct CompactionEvent {
    pub session_id: String,
    pub stage: Stage,
    pub message_count: usize,
    pub estimated_savings: u64,
    pub error: Option<String>,
}

impl PreparedCompaction {
    /// The event for `stage`, with the figures known so far.
    pub fn event(
        &self,
        stage: Stage,
        result: Option<&CompactionResult>,
        error: Option<String>,
    ) -> CompactionEvent {
        let savings = match result {
            Some(r) => r.tokens_before.saturating_sub(r.tokens_after),
            // Before the summary exists: assume it keeps about a tenth.
            None => self.tokens_before - self.tokens_before / 10,
        };
        CompactionEvent {
            session_id: self.session.id.clone(),
            stage,
            message_count: self.messages.len(),
            estimated_savings: savings,
            error,
        }
    }
}

/// What a compaction would replace, when a summary of it can be smaller.
struct Compactable {
    summaries: Vec<Message>,
    messages: Vec<Message>,
    tokens_before: u64,
    plain: String,
}

impl Compactable {
    /// `None` when even the shortest plain summary would not be smaller
    /// than what it replaces (a few short messages): compacting them would
    /// grow the request, so they stay as they are.
    fn new(summaries: Vec<Message>, messages: Vec<Message>) -> Option<Compactable> {
        let tokens_before = summaries
            .iter()
            .chain(&messages)
            .map(|m| estimate_tokens(&m.content))
            .sum();
        let plain = plain_summary_within(&summaries, &messages, smaller_than(tokens_before))?;
        Some(Compactable {
            summaries,
            messages,
            tokens_before,
            plain,
        })
    }
}

/// The most characters a summary may have to be estimated at fewer tokens
/// than `tokens`.
fn smaller_than(tokens: u64) -> usize {
    (tokens.saturating_sub(1) as usize * 4).min(PLAIN_SUMMARY_CHARS)
}

impl Sessions {
    /// Phase 1: decides whether the session is due (always, with `force`)
    /// and takes its lease, or the one `handover` carries from the turn that
    /// made it due. `Ok(None)`: nothing to compact.
    pub(crate) fn begin_compaction(
        &mut self,
        key: &SessionKey,
        force: bool,
        handover: Option<LeaseGuard>,
    ) -> Result<Option<PreparedCompaction>> {
        let session = self.get(key)?;
        let config = self.project().config.clone();
        if !force && !may_be_due(&config, &session) {
            if let Some(lease) = handover {
                self.release(lease);
            }
            return Ok(None);
        }
        // The lease first (the turn's, when it handed it over): what is read
        // next cannot change under us. From here a `?` drops the guard,
        // which gives the lease back.
        let lease = match handover {
            Some(lease) => {
                self.store_mut()
                    .renew_lease(lease.lease(), LEASE_TTL.as_millis() as i64)?;
                lease
            }
            None => {
                let holder = format!("compact-{}", crate::chat::lease_holder());
                self.take_lease(&session, &holder)?
            }
        };
        let planned = self.plan(&session, force)?;
        match planned.and_then(|(summaries, oldest, n)| {
            Compactable::new(summaries, oldest.into_iter().take(n).collect())
        }) {
            Some(taken) => Ok(Some(self.prepare(session, &config, taken, lease))),
            None => {
                self.release(lease);
                Ok(None)
            }
        }
    }

    /// What a compaction of `session` would take: the live summaries, the
    /// oldest active messages, and how many of them. O(window): the counters
    /// say how many are active; only the oldest that could be taken are read.
    #[allow(clippy::type_complexity)]
    fn plan(
        &self,
        session: &Session,
        force: bool,
    ) -> Result<Option<(Vec<Message>, Vec<Message>, usize)>> {
        let config = &self.project().config;
        let ac = &config.sessions.auto_compact;
        // Pinned messages are never compacted: they do not count.
        let pinned = self.store().pinned_count(&session.id)?;
        let active = session.active_count().saturating_sub(pinned) as usize;
        let reads = plan_reads(ac, config.max_history_messages, active);
        let (summaries, oldest) = self.store().oldest_active(&session.id, reads as u32)?;
        let roles: Vec<Role> = oldest.iter().map(|m| m.role).collect();
        let tokens = match ac.max_history_tokens {
            // The verbatim part of what would be sent (the newest window):
            // the summary is left out, since compacting cannot shrink it and
            // counting it would compact on every turn once it is large.
            Some(_) => {
                let limit =
                    (config.max_history_messages > 0).then_some(config.max_history_messages);
                self.store()
                    .active_window(&session.id, limit)?
                    .iter()
                    .filter(|m| !m.is_summary)
                    .map(|m| estimate_tokens(&m.content))
                    .sum()
            }
            None => 0,
        };
        let n = plan_count(
            ac,
            config.max_history_messages,
            active,
            &roles,
            tokens,
            force,
        );
        Ok((n > 0).then_some((summaries, oldest, n)))
    }

    fn prepare(
        &mut self,
        session: Session,
        config: &crate::config::Config,
        taken: Compactable,
        lease: LeaseGuard,
    ) -> PreparedCompaction {
        let ac = &config.sessions.auto_compact;
        let provider = if ac.use_ai_summary {
            match provider_for(config, &session.provider, &session.model) {
                Ok((_, p)) => Some(p),
                Err(e) => {
                    tracing::warn!("AI summary unavailable, using the plain summary: {e}");
                    None
                }
            }
        } else {
            None
        };
        PreparedCompaction {
            model: session.model.clone(),
            session,
            previous_summaries: taken.summaries,
            messages: taken.messages,
            tokens_before: taken.tokens_before,
            use_ai: ac.use_ai_summary,
            plain: taken.plain,
            provider,
            lease,
        }
    }

    /// Phase 3: stores the summary, archives what it replaces, releases the
    /// lease.
    pub(crate) fn finish_compaction(
        &mut self,
        prepared: PreparedCompaction,
        summary: SummaryText,
    ) -> Result<CompactionResult> {
        let result = self.store_compaction(&prepared, summary);
        self.release(prepared.lease);
        result
    }

    /// Gives up a prepared compaction (cancelled): nothing is changed.
    pub(crate) fn abandon_compaction(&mut self, prepared: PreparedCompaction) {
        self.release(prepared.lease);
    }

    fn store_compaction(
        &mut self,
        p: &PreparedCompaction,
        summary: SummaryText,
    ) -> Result<CompactionResult> {
        let first = p
            .previous_summaries
            .iter()
            .filter_map(|s| s.summary_range.map(|r| r.0))
            .chain(p.messages.first().map(|m| m.id))
            .min()
            .expect("a compaction has messages");
        let last = p
            .messages
            .last()
            .map(|m| m.id)
            .expect("a compaction has messages");
        let replaces: Vec<i64> = p
            .previous_summaries
            .iter()
            .chain(&p.messages)
            .map(|m| m.id)
            .collect();
        let tokens_after = estimate_tokens(&summary.content);
        let stored = self.store_mut().store_summary(
            &p.session.id,
            &NewSummary {
                content: summary.content,
                replaces: replaces.clone(),
                range: (first, last),
                tokens_before: p.tokens_before,
                tokens_after,
            },
        )?;
        Ok(CompactionResult {
            compacted: true,
            summary: Some(stored),
            archived_ids: replaces,
            tokens_before: p.tokens_before,
            tokens_after,
            used_ai: summary.used_ai,
            fallback_reason: summary.fallback_reason,
        })
    }

    /// Phase 3 with the completed / failed event.
    pub(crate) fn finish_compaction_reporting(
        &mut self,
        prepared: PreparedCompaction,
        summary: SummaryText,
        on_event: &mut dyn FnMut(CompactionEvent),
    ) -> Result<CompactionResult> {
        // The figures of the compaction, before `prepared` is consumed.
        let start = prepared.event(Stage::Failed, None, None);
        match self.finish_compaction(prepared, summary) {
            Ok(r) => {
                on_event(CompactionEvent {
                    stage: Stage::Completed,
                    estimated_savings: r.tokens_before.saturating_sub(r.tokens_after),
                    ..start
                });
                Ok(r)
            }
            Err(e) => {
                on_event(CompactionEvent {
                    error: Some(e.to_string()),
                    ..start
                });
                Err(e)
            }
        }
    }
}

/// Phase 2: the summary, by the session's provider when `use_ai_summary`,
/// else (or when that call fails) the plain concatenation. Never fails.
pub(crate) async fn summarize(p: &PreparedCompaction) -> SummaryText {
    let plain = || p.plain.clone();
    if !p.use_ai {
        return SummaryText {
            content: plain(),
            used_ai: false,
            fallback_reason: None,
        };
    }
    let Some(provider) = &p.provider else {
        return SummaryText {
            content: plain(),
            used_ai: false,
            fallback_reason: Some("the session's provider is not configured".into()),
        };
    };
    let request = ChatRequest {
        model: p.model.clone(),
        system: Some(SUMMARY_PROMPT.to_string()),
        messages: vec![ChatMessage::new(
            WireRole::User,
            summary_input(&p.previous_summaries, &p.messages),
        )],
        max_tokens: Some(1024),
        stream: false,
    };
    let mut ignore = |_| {};
    match provider.chat(&request, &mut ignore).await {
        // A summary must save something: one as long as what it replaces
        // would make every later request longer.
        Ok(c) if estimate_tokens(c.text.trim()) >= p.tokens_before => SummaryText {
            content: plain(),
            used_ai: false,
            fallback_reason: Some(format!(
                "the AI summary (~{} tokens) was not smaller than what it would replace (~{} tokens)",
                estimate_tokens(c.text.trim()),
                p.tokens_before
            )),
        },
        Ok(c) if !c.text.trim().is_empty() => SummaryText {
            content: c.text.trim().to_string(),
            used_ai: true,
            fallback_reason: None,
        },
        Ok(_) => SummaryText {
            content: plain(),
            used_ai: false,
            fallback_reason: Some("the provider returned an empty summary".into()),
        },
        Err(e) => {
            tracing::warn!("AI summary failed, using the plain summary: {e}");
            SummaryText {
                content: plain(),
                used_ai: false,
                fallback_reason: Some(e.to_string()),
            }
        }
    }
}

/// What the summariser is asked to summarise: the previous summary, then
/// the messages as a transcript.
pub fn summary_input(previous: &[Message], messages: &[Message]) -> String {
    let mut s = String::new();
    for p in previous {
        s.push_str("Previous summary:\n");
        s.push_str(p.content.trim());
        s.push_str("\n\n");
    }
    s.push_str("Messages to summarise:\n");
    for m in messages {
        s.push_str(&format!("\n{}: {}\n", speaker(m.role), m.content.trim()));
    }
    s
}

fn speaker(r: Role) -> &'static str {
    match r {
        Role::User => "User",
        Role::Assistant => "Assistant",
        Role::System => "System",
    }
}

/// The fallback: the previous summary and each message (cut to
/// [`PLAIN_MESSAGE_CHARS`]), the whole kept under [`PLAIN_SUMMARY_CHARS`]
/// by dropping the oldest lines.
pub fn plain_summary(previous: &[Message], messages: &[Message]) -> String {
    plain_summary_within(
        previous,
        messages,
        PLAIN_SUMMARY_CHARS + PLAIN_HEADER.len() + 1,
    )
    .unwrap_or_else(|| PLAIN_HEADER.to_string())
}

const PLAIN_HEADER: &str = "Summary of the earlier conversation (verbatim excerpts):";

/// The plain summary in at most `max_chars` characters (bytes): an excerpt
/// of every message, each cut as little as the room allows (at most
/// [`PLAIN_MESSAGE_CHARS`], at least [`PLAIN_EXCERPT_MIN`]); when even
/// that is too long, the oldest lines go. `None` when not one line fits.
pub fn plain_summary_within(
    previous: &[Message],
    messages: &[Message],
    max_chars: usize,
) -> Option<String> {
    let earlier: Vec<&str> = previous
        .iter()
        .flat_map(|p| p.content.lines())
        .filter(|l| !l.starts_with("Summary of"))
        .collect();
    let texts: Vec<(Role, String)> = messages
        .iter()
        .map(|m| {
            (
                m.role,
                m.content.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    let lines_at = |cap: usize| -> Vec<String> {
        let mut lines: Vec<String> = earlier.iter().map(|l| l.to_string()).collect();
        for (role, text) in &texts {
            let cut: String = text.chars().take(cap).collect();
            let more = if cut.len() < text.len() { "…" } else { "" };
            lines.push(format!("- {}: {cut}{more}", speaker(*role)));
        }
        lines
    };
    let size =
        |lines: &[String]| PLAIN_HEADER.len() + lines.iter().map(|l| l.len() + 1).sum::<usize>();
    // The longest cut at which every line fits (size grows with the cut).
    let (mut low, mut high) = (PLAIN_EXCERPT_MIN, PLAIN_MESSAGE_CHARS);
    if size(&lines_at(high)) <= max_chars {
        low = high;
    } else {
        while low < high {
            let mid = (low + high).div_ceil(2);
            if size(&lines_at(mid)) <= max_chars {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
    }
    let mut total = PLAIN_HEADER.len();
    let mut kept: Vec<String> = lines_at(low)
        .into_iter()
        .rev()
        .take_while(|l| {
            total += l.len() + 1;
            total <= max_chars
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    kept.reverse();
    Some(format!("{PLAIN_HEADER}\n{}", kept.join("\n")))
}

/// Wraps a summary in `[SUMMARY: Messages a-b]` markers for display, where
/// `a` and `b` are positions in the session (1 = its first message).
pub fn with_markers(content: &str, first: usize, last: usize) -> String {
    format!(
        "[SUMMARY: Messages {first}-{last}]\n{}\n[/SUMMARY]",
        content.trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(enabled: bool, threshold: f64, ratio: f64, preserve: u32) -> AutoCompactConfig {
        AutoCompactConfig {
            enabled,
            trigger_threshold: threshold,
            compact_ratio: ratio,
            preserve_recent: preserve,
            ..AutoCompactConfig::default()
        }
    }

    fn alternating(n: usize) -> Vec<Role> {
        (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                }
            })
            .collect()
    }

    #[test]
    fn the_seeds_numbers() {
        assert_eq!(trigger_at(0.75, 50), 38);
        assert_eq!(trigger_at(0.75, 100), 75);
        assert_eq!(trigger_at(1.0, 10), 10);
        assert_eq!(trigger_at(0.01, 10), 1);
        let seed = cfg(true, 0.75, 0.4, 10);
        assert_eq!(
            plan_count(&seed, 50, 37, &alternating(22), 0, false),
            0,
            "below 38"
        );
        assert_eq!(
            plan_count(&seed, 50, 38, &alternating(22), 0, false),
            20,
            "oldest 20 at 38"
        );
    }

    #[test]
    #[rustfmt::skip]
    fn plans() {
        let on = cfg(true, 0.75, 0.4, 10);
        let off = cfg(false, 0.75, 0.4, 10);
        // (config, max_history_messages, active messages, force) -> how many, why
        let cases: &[(&AutoCompactConfig, u32, usize, bool, usize, &str)] = &[
            (&off, 50, 49, false, 0, "disabled"),
            (&off, 50, 30, true, 20, "forced while disabled"),
            (&on, 0, 500, false, 0, "no limit and no token limit: never by count"),
            (&on, 0, 40, true, 16, "forced without a limit: ratio of the active messages"),
            (&on, 50, 25, true, 14, "forced below the threshold keeps preserve_recent and the pair at 15"),
            (&on, 50, 12, true, 2, "little above preserve_recent"),
            (&on, 50, 10, true, 0, "nothing beyond preserve_recent"),
            (&cfg(true, 0.75, 0.4, 40), 50, 45, false, 4, "preserve_recent larger than the ratio leaves"),
            (&cfg(true, 0.5, 0.5, 0), 4, 2, false, 2, "tiny limit"),
            (&cfg(true, 0.5, 0.1, 0), 4, 2, false, 2, "at least one, then the pair kept whole"),
            (&cfg(true, 0.75, 0.3, 0), 10, 8, false, 4, "3 would split a pair: take its reply too"),
            (&cfg(true, 0.75, 0.3, 5), 10, 8, false, 2, "no room for the reply: leave the user message"),
        ];
        for (c, max, active, force, want, why) in cases {
            let reads = plan_reads(c, *max, *active);
            assert_eq!(plan_count(c, *max, *active, &alternating(reads), 0, *force), *want, "{why}");
        }
    }

    #[test]
    fn token_trigger() {
        let mut c = cfg(true, 0.75, 0.4, 2);
        c.max_history_tokens = Some(1000);
        assert_eq!(plan_count(&c, 50, 10, &alternating(10), 999, false), 0);
        assert_eq!(plan_count(&c, 50, 10, &alternating(10), 1001, false), 8);
    }

    #[test]
    fn a_summary_is_always_smaller_than_what_it_replaces() {
        let msg = |i: i64, text: &str| {
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            crate::history::tests::msg(i, role, text)
        };
        // Four greetings: any summary, even the plain one, would be longer.
        let tiny: Vec<Message> = ["hi", "hello!", "ok", "thanks"]
            .iter()
            .enumerate()
            .map(|(i, t)| msg(i as i64, t))
            .collect();
        assert!(Compactable::new(Vec::new(), tiny).is_none());
        // Short messages: the newest that fit are kept.
        let short: Vec<Message> = (0..6)
            .map(|i| msg(i, &format!("the staging VPC is 10.{i}.0.0/16")))
            .collect();
        let taken = Compactable::new(Vec::new(), short).expect("a summary can save here");
        assert!(estimate_tokens(&taken.plain) < taken.tokens_before);
        assert!(taken.plain.contains("10.5.0.0/16"), "the newest are kept");
        assert!(!taken.plain.contains("10.0.0.0/16"), "{}", taken.plain);
        // Medium messages: each is cut, none is dropped.
        let medium: Vec<Message> = (0..4)
            .map(|i| msg(i, &format!("subnet 10.{i}.0.0/16 {}", "z".repeat(150))))
            .collect();
        let taken = Compactable::new(Vec::new(), medium).unwrap();
        assert!(estimate_tokens(&taken.plain) < taken.tokens_before);
        assert_eq!(taken.plain.matches("…").count(), 4, "{}", taken.plain);
        assert!(taken.plain.contains("10.0.0.0/16") && taken.plain.contains("10.3.0.0/16"));
        // Long messages are cut, so an excerpt of each fits.
        let long: Vec<Message> = (0..4)
            .map(|i| msg(i, &format!("subnet 10.{i}.0.0/16 {}", "y".repeat(1000))))
            .collect();
        let taken = Compactable::new(Vec::new(), long).unwrap();
        assert!(taken.plain.contains("10.0.0.0/16") && taken.plain.contains("10.3.0.0/16"));
        assert!(plain_summary_within(&[], &taken.messages, 10).is_none());
    }

    #[test]
    fn plain_summary_is_bounded() {
        let msg = |i: i64, text: String| {
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            crate::history::tests::msg(i, role, &text)
        };
        let many: Vec<Message> = (0..200)
            .map(|i| msg(i, format!("CIDR 10.{i}.0.0/16 {}", "x".repeat(1000))))
            .collect();
        let s = plain_summary(&[], &many);
        assert!(s.len() <= PLAIN_SUMMARY_CHARS + 100, "{}", s.len());
        assert!(s.contains("10.199.0.0/16"), "the newest are kept");
        let short = plain_summary(&[], &many[..2]);
        assert!(
            short.contains("- User: CIDR 10.0.0.0/16")
                && short.contains("- Assistant: CIDR 10.1.0.0/16")
        );
    }
}
