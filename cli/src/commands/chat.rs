//! `atmos ai chat`: the TUI on a terminal (`crate::tui`); with standard input
//! or output not a terminal, a line-by-line chat for scripts: each input line
//! is a message, each reply is printed as it streams (then a newline), and
//! notices go to stderr. The conversation is one session, as in the TUI.

use crate::args::ChatArgs;
use crate::output::{Failure, Outcome};
use atmos_ai::chat::TurnRequest;
use atmos_ai::engine::{self, CancellationToken, OneShot, TurnEvent, TurnEvents};
use atmos_ai::{CreateOptions, Engine, SessionKey, UpdateOptions};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

pub fn run(config: Option<PathBuf>, mut args: ChatArgs) -> Outcome {
    if args.continue_last {
        args.turn.session = Some(most_recent(config.clone())?);
    }
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return crate::tui::run(config, args.turn);
    }
    lines(config, args)
}

/// `--continue`: the name of the most recently used session.
fn most_recent(config: Option<PathBuf>) -> Result<String, Failure> {
    let sessions = super::open_sessions(config)?;
    let (listed, _) = sessions.list(&atmos_ai::ListFilter {
        limit: Some(1),
        ..atmos_ai::ListFilter::default()
    })?;
    match listed.into_iter().next() {
        Some(l) => Ok(l.session.name),
        None => Err(Failure::Message(
            "there is no session to continue yet: start one with `atmos ai chat --session NAME`"
                .into(),
        )),
    }
}

/// The scriptable chat: one message per line.
fn lines(config: Option<PathBuf>, args: ChatArgs) -> Outcome {
    let turn = args.turn;
    let project = super::load_project(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("cannot start the async runtime: {e}")))?;
    let _entered = runtime.enter();
    let engine = if project.config.sessions.enabled {
        Some(Engine::open(project.clone())?)
    } else if turn.session.is_some() {
        return Err(engine::disabled(&project).into());
    } else {
        None
    };
    let skills = atmos_ai::skills::Skills::load(&project)?;
    let mut key = match (&engine, &turn.session) {
        (Some(e), Some(name)) => {
            let switch = UpdateOptions {
                provider: turn.provider.clone(),
                model: turn.model.clone(),
                skill: turn.skill.clone(),
                metadata: None,
                title: None,
            };
            let key = SessionKey::Name(name.clone());
            let resumed = e.call_blocking(move |s| s.resume(&key, true, switch, Some(0)))?;
            if resumed.created {
                eprintln!("{}", super::new_session_line(name, &resumed.similar));
            }
            for gone in &resumed.evicted {
                eprintln!("{}", super::evicted_line(gone));
            }
            Some(SessionKey::Id(resumed.session.id))
        }
        _ => None,
    };
    // With sessions off, the conversation is kept in memory for the run.
    let mut memory: Vec<(atmos_ai::Role, String)> = Vec::new();
    let mut failures = 0;
    for line in std::io::stdin().lock().lines() {
        let line =
            line.map_err(|e| Failure::Message(format!("cannot read standard input: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let cancel = CancellationToken::new();
        let events = match &engine {
            None => engine::one_shot(
                &project,
                &skills,
                OneShot {
                    history: memory.clone(),
                    provider: turn.provider.clone(),
                    model: turn.model.clone(),
                    skill: turn.skill.clone(),
                    message: line.clone(),
                    stream: true,
                },
                cancel.clone(),
            ),
            Some(e) => {
                let key = match &key {
                    Some(k) => k.clone(),
                    None => {
                        let options = CreateOptions {
                            name: None,
                            provider: turn.provider.clone(),
                            model: turn.model.clone(),
                            skill: turn.skill.clone(),
                            metadata: None,
                        };
                        let (made, evicted) = e.call_blocking(move |s| s.create(options))?;
                        eprintln!(
                            "Session '{}' ({} / {})",
                            made.name, made.provider, made.model
                        );
                        for gone in &evicted {
                            eprintln!("{}", super::evicted_line(gone));
                        }
                        key.insert(SessionKey::Id(made.id)).clone()
                    }
                };
                e.chat(TurnRequest::new(key, line.clone()), cancel.clone())
            }
        };
        let result = runtime.block_on(render(events, &cancel));
        if engine.is_none() {
            memory.push((atmos_ai::Role::User, line));
            if let Ok(reply) | Err((_, reply)) = &result
                && !reply.is_empty()
            {
                memory.push((atmos_ai::Role::Assistant, reply.clone()));
            }
        }
        match result {
            // Ctrl+C ends the chat (exit 130); what arrived is kept.
            Err((atmos_ai::Error::Cancelled, _)) => {
                match &engine {
                    Some(_) => eprintln!(
                        "Cancelled: the reply so far is kept in the session, marked interrupted."
                    ),
                    None => eprintln!("Cancelled."),
                }
                return Err(atmos_ai::Error::Cancelled.into());
            }
            Err((e, _)) => {
                eprintln!("error: {e}");
                failures += 1;
            }
            Ok(_) => {}
        }
    }
    if failures > 0 {
        return Err(Failure::Message(format!(
            "{failures} message(s) failed (see above)"
        )));
    }
    Ok(())
}

/// Streams one reply to stdout, ending it with a newline, and the
/// compaction it triggered to stderr; Ctrl+C cancels. Returns the text that
/// arrived (with the error, when the turn failed).
async fn render(
    events: TurnEvents,
    cancel: &CancellationToken,
) -> Result<String, (atmos_ai::Error, String)> {
    let mut printed = String::new();
    let mut compacting = 0;
    let mut failure = None;
    let mut events = super::Events::new(events, cancel.clone());
    while let Some(event) = events.next().await {
        match event {
            TurnEvent::Delta { text, .. } => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
                printed.push_str(&text);
            }
            TurnEvent::Replied(_) => {
                if !printed.ends_with('\n') {
                    println!();
                }
            }
            TurnEvent::Failed { error, .. } => {
                if !printed.is_empty() && !printed.ends_with('\n') {
                    println!();
                }
                failure = Some(error);
            }
            other => super::report_compaction(&other, &mut compacting),
        }
    }
    match failure {
        Some(error) => Err((error, printed)),
        None => Ok(printed),
    }
}
