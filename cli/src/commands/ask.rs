//! `atmos ai ask` and `atmos ai exec`: one turn, streamed to the terminal or
//! written for a script. The turn itself is the engine's
//! (`atmos_ai::engine`); this module renders its events: spinner, Ctrl+C,
//! output.

use crate::args::{AskArgs, ExecArgs, ExecFormat, TurnArgs};
use crate::output::{self, Failure, Outcome};
use atmos_ai::chat::{self, FinishedTurn, TurnRequest};
use atmos_ai::engine::{self, CancellationToken, OneShot, TurnEvent, TurnEvents};
use atmos_ai::{Engine, Error, SessionKey, Sessions, UpdateOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

pub fn ask(config: Option<PathBuf>, args: AskArgs) -> Outcome {
    let question = args.question.join(" ");
    let stream = !args.no_stream;
    let finished = run_turn(config, &args.turn, &question, stream, stream)?;
    if !stream {
        output::emit(&ensure_newline(finished.reply.content), None)?;
    }
    Ok(())
}

pub fn exec(config: Option<PathBuf>, args: ExecArgs) -> Outcome {
    let prompt = match args.prompt {
        Some(p) => p,
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "Reading the prompt from standard input: type it, then press Ctrl+D on a \
                     new line (or pass it as an argument: atmos ai exec \"…\")."
                );
            }
            std::io::read_to_string(std::io::stdin()).map_err(|e| {
                Failure::Message(format!("cannot read the prompt from standard input: {e}"))
            })?
        }
    };
    let finished = run_turn(config, &args.turn, &prompt, true, false)?;
    let text = match args.format {
        ExecFormat::Text => ensure_newline(finished.reply.content.clone()),
        ExecFormat::Markdown => ensure_newline(finished.reply.content.clone()),
        ExecFormat::Json => output::json(&serde_json::json!({
            "reply": finished.reply.content,
            "usage": {
                "inputTokens": finished.usage.input,
                "outputTokens": finished.usage.output,
                "estimated": finished.usage.estimated,
            },
            "provider": finished.provider,
            "model": finished.model,
            "session": finished.session.as_ref().map(|s| s.name.clone()),
            "durationMs": finished.duration.as_millis() as u64,
        })),
    };
    output::emit(&text, args.output.as_deref())
}

fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Runs one turn: in a session when `--session` is given, else one-shot.
fn run_turn(
    config: Option<PathBuf>,
    turn: &TurnArgs,
    message: &str,
    stream: bool,
    print: bool,
) -> Result<FinishedTurn, Failure> {
    let project = super::load_project(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("cannot start the async runtime: {e}")))?;
    // Who picks the provider: the user (--provider), the config
    // (default_provider), or we do, and then say so.
    let we_pick = turn.provider.is_none() && project.config.default_provider.is_none();
    // With nothing else to pick, a local Ollama that answers is the default.
    let probed = match (
        we_pick,
        atmos_ai::catalog::ollama_probe_url(&project.config),
    ) {
        (true, Some(url)) => runtime
            .block_on(atmos_providers::ollama_answers(
                &url,
                std::time::Duration::from_millis(300),
            ))
            .then(|| "ollama".to_string()),
        _ => None,
    };
    let cancel = CancellationToken::new();
    let _entered = runtime.enter();
    let events = match &turn.session {
        None => {
            let skills = atmos_ai::skills::Skills::load(&project)?;
            let provider = turn.provider.clone().or(probed);
            if we_pick
                && let Ok(entry) = atmos_ai::catalog::resolve(&project.config, provider.as_deref())
            {
                say_picked(&entry.name);
            }
            let one = OneShot {
                history: Vec::new(),
                provider,
                model: turn.model.clone(),
                skill: turn.skill.clone(),
                message: message.to_string(),
                stream,
            };
            engine::one_shot(&project, &skills, one, cancel.clone())
        }
        Some(name) => {
            if !project.config.sessions.enabled {
                return Err(engine::disabled(&project).into());
            }
            let engine = Engine::open(project)?;
            let (name, switches) = (name.clone(), turn.clone());
            let session = engine
                .call_blocking(move |s| resume_for_turn(s, &name, &switches, probed, we_pick))?;
            let mut request = TurnRequest::new(SessionKey::Id(session), message);
            request.stream = stream;
            engine.chat(request, cancel.clone())
        }
    };
    runtime.block_on(drive(events, print, turn.session.as_deref(), &cancel))
}

/// Resumes (or creates) the session `name` for a turn, switched to the
/// provider, model and skill given; returns its id. A turn that cannot reach
/// its provider changes nothing: no empty session is created, and an
/// existing one is not switched to it.
fn resume_for_turn(
    sessions: &mut Sessions,
    name: &str,
    turn: &TurnArgs,
    probed: Option<String>,
    we_pick: bool,
) -> atmos_ai::Result<String> {
    let key = SessionKey::Name(name.to_string());
    let current = sessions.find(&key)?;
    let is_new = current.is_none();
    let switch = UpdateOptions {
        // A probed provider only chooses for a new session, never switches one.
        provider: turn.provider.clone().or(if is_new { probed } else { None }),
        model: turn.model.clone(),
        skill: turn.skill.clone(),
        metadata: None,
        title: None,
    };
    if is_new || switch.provider.is_some() || switch.model.is_some() {
        let config = &sessions.project().config;
        let provider = switch
            .provider
            .clone()
            .or_else(|| current.as_ref().map(|s| s.provider.clone()));
        let entry = atmos_ai::catalog::resolve(config, provider.as_deref())?;
        if is_new && we_pick {
            say_picked(&entry.name);
        }
        // A new provider brings its own model unless one is given.
        let model = match (&switch.model, &switch.provider, &current) {
            (Some(m), _, _) => m.clone(),
            (None, None, Some(s)) => s.model.clone(),
            _ => entry.model.clone(),
        };
        chat::provider_for(config, &entry.name, &model)?;
    }
    // An existing session with nothing to switch needs no resume: the turn
    // itself marks it used (one write less per `ask`).
    if let Some(s) = &current
        && switch.is_empty()
    {
        return Ok(s.id.clone());
    }
    let resumed = sessions.resume(&key, true, switch, Some(0))?;
    if resumed.created {
        eprintln!("{}", super::new_session_line(name, &resumed.similar));
    }
    for gone in &resumed.evicted {
        eprintln!("{}", super::evicted_line(gone));
    }
    // A flag that changed an existing session says so: it lasts beyond this turn.
    if let Some(before) = &current {
        let after = &resumed.session;
        let mut changes = Vec::new();
        if before.provider != after.provider || before.model != after.model {
            changes.push(format!("provider {} ({})", after.provider, after.model));
        }
        if before.skill != after.skill {
            changes.push(format!("skill {}", after.skill));
        }
        if !changes.is_empty() {
            eprintln!(
                "Switched session '{name}' to {} (from now on).",
                changes.join(" and ")
            );
        }
    }
    Ok(resumed.session.id)
}

fn say_picked(provider: &str) {
    eprintln!("Using provider '{provider}' (set ai.default_provider in atmos.yaml to choose).");
}

/// Renders a turn's events: a spinner on stderr until the first piece (on a
/// terminal), each piece to stdout when `print`, the compaction it
/// triggered as one line on stderr. Ctrl+C cancels (the turn, or the
/// compaction after it).
async fn drive(
    events: TurnEvents,
    print: bool,
    session: Option<&str>,
    cancel: &CancellationToken,
) -> Result<FinishedTurn, Failure> {
    let mut spinner = Spinner(None);
    let mut printed = String::new();
    let mut finished = None;
    let mut failure = None;
    let mut compacting = 0;
    let mut events = super::Events::new(events, cancel.clone());
    while let Some(event) = events.next().await {
        match event {
            TurnEvent::Started(started) => {
                if started.redacted > 0 {
                    eprintln!("{}", super::redacted_line(started.redacted));
                }
                spinner = Spinner::start(&started.provider)
            }
            TurnEvent::Delta { text, .. } => {
                spinner.stop();
                if print {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                }
                printed.push_str(&text);
            }
            TurnEvent::Replied(turn) => {
                spinner.stop();
                end_line(print, &printed);
                finished = Some(*turn);
            }
            TurnEvent::Failed { error, .. } => {
                spinner.stop();
                // End the streamed line, whatever happened, before any message.
                end_line(print, &printed);
                match (&error, session) {
                    (Error::Cancelled, Some(name)) if events.terminated() => eprintln!(
                        "Stopped (SIGTERM): the reply so far is kept in '{name}', marked interrupted."
                    ),
                    (Error::Cancelled, Some(name)) => eprintln!(
                        "Cancelled: the reply so far is kept in '{name}', marked interrupted."
                    ),
                    (Error::Cancelled, None) => {
                        eprintln!("Cancelled (nothing is kept without --session).")
                    }
                    _ => {}
                }
                failure = Some(error);
            }
            other => super::report_compaction(&other, &mut compacting),
        }
    }
    match (finished, failure) {
        (_, Some(Error::Cancelled)) if events.terminated() => Err(Failure::Stopped),
        (_, Some(error)) => Err(error.into()),
        (Some(turn), None) => Ok(turn),
        (None, None) => Err(Failure::Message("the turn ended without a reply".into())),
    }
}

fn end_line(print: bool, printed: &str) {
    if print && !printed.is_empty() && !printed.ends_with('\n') {
        println!();
    }
}

/// "waiting for anthropic…" on stderr until the first token, on terminals only.
struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    fn start(provider: &str) -> Spinner {
        if !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("waiting for {provider}…"));
        bar.enable_steady_tick(std::time::Duration::from_millis(80));
        Spinner(Some(bar))
    }

    fn stop(&self) {
        if let Some(bar) = &self.0
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }
}
