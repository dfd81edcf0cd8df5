//! `atmos ai chat`: the TUI on a terminal (`crate::tui`); with standard input
//! or output not a terminal, a line-by-line chat for scripts: each input line
//! is a message, each reply is printed as it streams (then a newline), and
//! notices go to stderr. The conversation is one session, as in the TUI.

use crate::args::ChatArgs;
use crate::output::{Failure, Outcome};
use atmos_ai::chat::{self, PreparedTurn, ReplyOutcome, TurnRequest};
use atmos_ai::{CreateOptions, SessionKey, Sessions, UpdateOptions};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

pub fn run(config: Option<PathBuf>, args: ChatArgs) -> Outcome {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return crate::tui::run(config, args.turn);
    }
    lines(config, args)
}

/// The scriptable chat: one message per line.
fn lines(config: Option<PathBuf>, args: ChatArgs) -> Outcome {
    let turn = args.turn;
    let project = super::load_project(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("cannot start the async runtime: {e}")))?;
    let mut sessions = if project.config.sessions.enabled {
        Some(Sessions::open(project.clone())?)
    } else if turn.session.is_some() {
        return Err(atmos_ai::Error::SessionsDisabled {
            config_path: project.config_path.clone(),
        }
        .into());
    } else {
        None
    };
    let skills = atmos_ai::skills::Skills::load(&project)?;
    let mut key = match (&mut sessions, &turn.session) {
        (Some(s), Some(name)) => {
            let switch = UpdateOptions {
                provider: turn.provider.clone(),
                model: turn.model.clone(),
                skill: turn.skill.clone(),
                metadata: None,
            };
            let resumed = s.resume(&SessionKey::Name(name.clone()), true, switch, Some(0))?;
            Some(SessionKey::Id(resumed.session.id))
        }
        _ => None,
    };
    let mut failures = 0;
    for line in std::io::stdin().lock().lines() {
        let line =
            line.map_err(|e| Failure::Message(format!("cannot read standard input: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let prepared = match &mut sessions {
            None => chat::prepare_one_shot(
                &project,
                &skills,
                turn.provider.as_deref(),
                turn.model.as_deref(),
                turn.skill.as_deref(),
                &line,
            ),
            Some(s) => {
                if key.is_none() {
                    let (made, _) = s.create(CreateOptions {
                        name: None,
                        provider: turn.provider.clone(),
                        model: turn.model.clone(),
                        skill: turn.skill.clone(),
                        metadata: None,
                    })?;
                    eprintln!(
                        "Session '{}' ({} / {})",
                        made.name, made.provider, made.model
                    );
                    key = Some(SessionKey::Id(made.id));
                }
                s.begin_turn(TurnRequest {
                    key: key.clone().expect("set above"),
                    message: line,
                    context: Vec::new(),
                })
            }
        };
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                failures += 1;
                continue;
            }
        };
        let outcome = runtime.block_on(stream(&prepared));
        let result = match &mut sessions {
            None => chat::finish_one_shot(prepared, outcome).map(|_| ()),
            Some(s) => s.finish_turn(prepared, outcome).map(|_| ()),
        };
        if let Err(e) = result {
            eprintln!("error: {e}");
            failures += 1;
            if matches!(e, atmos_ai::Error::Cancelled) {
                break;
            }
            continue;
        }
        if let (Some(s), Some(k)) = (&mut sessions, &key) {
            match super::compact_now(s, k, false, &runtime) {
                Ok(Some(line)) => eprintln!("{line}"),
                Ok(None) | Err(atmos_ai::Error::Busy { .. }) => {}
                Err(e) => eprintln!("warning: the session was not compacted: {e}"),
            }
        }
    }
    if failures > 0 {
        return Err(Failure::Message(format!(
            "{failures} message(s) failed (see above)"
        )));
    }
    Ok(())
}

/// Streams one reply to stdout, ending it with a newline; Ctrl+C cancels.
async fn stream(turn: &PreparedTurn) -> ReplyOutcome {
    let mut partial = String::new();
    let outcome = {
        let mut on_delta = |d: &str| {
            partial.push_str(d);
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(d.as_bytes());
            let _ = out.flush();
        };
        tokio::select! {
            o = chat::stream_reply(turn, &mut on_delta) => Some(o),
            _ = tokio::signal::ctrl_c() => None,
        }
    };
    let ended = match &outcome {
        Some(ReplyOutcome::Complete(c)) => c.text.ends_with('\n'),
        _ => partial.is_empty() || partial.ends_with('\n'),
    };
    if !ended || matches!(&outcome, Some(ReplyOutcome::Complete(c)) if c.text.is_empty()) {
        println!();
    }
    outcome.unwrap_or(ReplyOutcome::Cancelled { partial })
}
