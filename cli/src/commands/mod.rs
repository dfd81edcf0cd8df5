//! One module per command group. Each parses nothing (clap did), calls the
//! core, and renders.

pub mod ask;
pub mod chat;
pub mod serve;
pub mod sessions;
pub mod skills;

use crate::output::Failure;
use atmos_ai::{LoadOptions, Project, Sessions};
use std::path::PathBuf;

/// Loads the project's config, printing unknown-key warnings on stderr.
pub fn load_project(config: Option<PathBuf>) -> Result<Project, Failure> {
    let project = Project::load(&LoadOptions::from_env(config))?;
    if let Some(path) = &project.config_path {
        for key in &project.warnings {
            let hint = atmos_ai::config::did_you_mean(key)
                .map(|k| format!("; did you mean {k}?"))
                .unwrap_or_default();
            eprintln!(
                "warning: unknown key {key} in {} (ignored){hint}",
                path.display()
            );
        }
    }
    Ok(project)
}

/// Loads the project and opens its sessions.
pub fn open_sessions(config: Option<PathBuf>) -> Result<Sessions, Failure> {
    Ok(Sessions::open(load_project(config)?)?)
}

/// A turn's events as the command line reads them: Ctrl+C on the way fires
/// the turn's cancellation (once) and the events go on to the end, so that
/// what the engine stored after the cancel is still reported.
pub struct Events {
    events: atmos_ai::TurnEvents,
    cancel: atmos_ai::CancellationToken,
    ctrl_c: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>,
    /// SIGTERM (a supervisor stopping the command): a cancel too.
    term: Option<tokio::signal::unix::Signal>,
    terminated: bool,
}

impl Events {
    pub fn new(events: atmos_ai::TurnEvents, cancel: atmos_ai::CancellationToken) -> Events {
        Events {
            events,
            cancel,
            ctrl_c: Box::pin(tokio::signal::ctrl_c()),
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
            terminated: false,
        }
    }

    /// The next event; `None` when the turn (and its compaction) is over.
    pub async fn next(&mut self) -> Option<atmos_ai::TurnEvent> {
        loop {
            let cancelled = self.cancel.is_cancelled();
            tokio::select! {
                event = self.events.recv() => return event,
                _ = &mut self.ctrl_c, if !cancelled => self.cancel.cancel(),
                Some(()) = async {
                    match &mut self.term {
                        Some(term) => term.recv().await,
                        None => std::future::pending().await,
                    }
                }, if !cancelled => {
                    self.terminated = true;
                    self.cancel.cancel();
                }
            }
        }
    }

    /// Whether SIGTERM cancelled the turn (the command then ends with 0:
    /// it was asked to stop, and stopped cleanly).
    pub fn terminated(&self) -> bool {
        self.terminated
    }
}

/// Compacts a session now, whatever the threshold, through the engine;
/// Ctrl+C while the summary is written gives it up (nothing is changed).
/// Returns the one-line notice, or `None` when there was nothing to compact.
pub fn compact_now(
    engine: &atmos_ai::Engine,
    key: &atmos_ai::SessionKey,
    runtime: &tokio::runtime::Runtime,
) -> Result<Option<String>, atmos_ai::Error> {
    use atmos_ai::TurnEvent;
    let cancel = atmos_ai::CancellationToken::new();
    runtime.block_on(async {
        let mut events = Events::new(engine.compact(key.clone(), cancel.clone()), cancel);
        let mut count = 0;
        loop {
            let event = events.next().await;
            match event {
                Some(TurnEvent::Compaction(e)) => count = e.message_count,
                Some(TurnEvent::Compacted(r)) if r.compacted => {
                    return Ok(Some(compaction_line(count, &r)));
                }
                Some(TurnEvent::Compacted(_)) | None => return Ok(None),
                Some(TurnEvent::CompactionFailed {
                    error: atmos_ai::Error::Cancelled,
                }) => return Ok(Some("compaction cancelled: nothing was changed".into())),
                Some(TurnEvent::CompactionFailed { error }) => return Err(error),
                Some(_) => {}
            }
        }
    })
}

/// Prints the compaction a turn triggered as one line on stderr; `count`
/// keeps the number of messages from its first stage. Other events are
/// left alone.
pub fn report_compaction(event: &atmos_ai::TurnEvent, count: &mut usize) {
    use atmos_ai::TurnEvent;
    match event {
        TurnEvent::Compaction(e) => *count = e.message_count,
        TurnEvent::Compacted(r) if r.compacted => eprintln!("{}", compaction_line(*count, r)),
        TurnEvent::CompactionFailed {
            error: atmos_ai::Error::Cancelled,
        } => eprintln!("compaction cancelled: nothing was changed"),
        TurnEvent::CompactionFailed { error } => {
            eprintln!("warning: the session was not compacted: {error}")
        }
        _ => {}
    }
}

/// "compacted 24 messages, ~8,000 → ~1,200 tokens" (and why the summary is
/// plain, when it fell back).
pub fn compaction_line(count: usize, result: &atmos_ai::compact::CompactionResult) -> String {
    let mut line = format!(
        "compacted {count} messages, ~{} → ~{} tokens",
        thousands(result.tokens_before),
        thousands(result.tokens_after)
    );
    if let Some(why) = &result.fallback_reason {
        line.push_str(&format!(" (plain summary: {why})"));
    }
    line
}

/// What a command says when `--session NAME` started a new session: that it
/// is new, and the names it may have been meant as.
pub fn new_session_line(name: &str, similar: &[String]) -> String {
    let mut line = format!("New session '{name}'");
    if !similar.is_empty() {
        let names: Vec<String> = similar.iter().map(|n| format!("'{n}'")).collect();
        line.push_str(&format!(" (did you mean {}?)", names.join(" or ")));
    }
    line.push('.');
    line
}

/// The line for a session removed to stay within `max_sessions`.
pub fn evicted_line(name: &str) -> String {
    format!("Removed the least recently used session '{name}' to stay within max_sessions.")
}

/// 8000 → "8,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "Masked 2 secrets in your message before it was stored or sent
/// (ai.sessions.redact)."
pub fn redacted_line(n: usize) -> String {
    format!(
        "Masked {} in your message before it was stored or sent (ai.sessions.redact).",
        crate::output::count(n as u64, "secret", "secrets")
    )
}
