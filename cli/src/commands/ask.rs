//! `atmos ai ask` and `atmos ai exec`: one turn, streamed to the terminal or
//! written for a script. The turn itself is the core's (`atmos_ai::chat`);
//! this module drives it: spinner, Ctrl+C, output.

use crate::args::{AskArgs, ExecArgs, ExecFormat, TurnArgs};
use crate::output::{self, Failure, Outcome};
use atmos_ai::chat::{self, FinishedTurn, PreparedTurn, ReplyOutcome, TurnRequest};
use atmos_ai::{Error, Project, SessionKey, Sessions, UpdateOptions};
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
        None => std::io::read_to_string(std::io::stdin()).map_err(|e| {
            Failure::Message(format!("cannot read the prompt from standard input: {e}"))
        })?,
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
    let Some(name) = &turn.session else {
        let turn = &TurnArgs {
            provider: turn.provider.clone().or(probed),
            ..turn.clone()
        };
        return one_shot(&project, turn, message, stream, print, we_pick, &runtime);
    };
    if !project.config.sessions.enabled {
        return Err(Error::SessionsDisabled {
            config_path: project.config_path.clone(),
        }
        .into());
    }
    let mut sessions = Sessions::open(project)?;
    let key = SessionKey::Name(name.clone());
    let is_new = sessions
        .store()
        .find(&key)
        .map_err(atmos_ai::Error::from)?
        .is_none();
    let switch = UpdateOptions {
        // A probed provider only chooses for a new session, never switches one.
        provider: turn.provider.clone().or(if is_new { probed } else { None }),
        model: turn.model.clone(),
        skill: turn.skill.clone(),
        metadata: None,
    };
    if is_new || switch.provider.is_some() || switch.model.is_some() {
        // A turn that cannot reach its provider changes nothing: no empty
        // session is created, and an existing one is not switched to it.
        let config = &sessions.project().config;
        let current = match is_new {
            true => None,
            false => Some(sessions.get(&key)?),
        };
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
    let resumed = sessions.resume(&key, true, switch, Some(0))?;
    for gone in &resumed.evicted {
        eprintln!("Removed the least recently used session '{gone}' to stay within max_sessions.");
    }
    let mut prepared = sessions.begin_turn(TurnRequest {
        key: SessionKey::Id(resumed.session.id.clone()),
        message: message.to_string(),
        context: Vec::new(),
    })?;
    prepared.request.stream = stream;
    let outcome = runtime.block_on(drive(&prepared, print));
    let cancelled = matches!(outcome, ReplyOutcome::Cancelled { .. });
    let finished = sessions.finish_turn(prepared, outcome);
    if cancelled {
        eprintln!("Cancelled: the reply so far is kept in '{name}', marked interrupted.");
    }
    let finished = finished?;
    auto_compact(&mut sessions, &key, &runtime);
    Ok(finished)
}

/// Compacts the session when this turn took it past the threshold, with a
/// one-line notice on stderr. A failure here does not fail the turn, whose
/// reply is stored already.
fn auto_compact(sessions: &mut Sessions, key: &SessionKey, runtime: &tokio::runtime::Runtime) {
    match super::compact_now(sessions, key, false, runtime) {
        Ok(Some(line)) => eprintln!("{line}"),
        Ok(None) => {}
        Err(atmos_ai::Error::Busy { .. }) => {}
        Err(e) => eprintln!("warning: the session was not compacted: {e}"),
    }
}

fn one_shot(
    project: &Project,
    turn: &TurnArgs,
    message: &str,
    stream: bool,
    print: bool,
    we_pick: bool,
    runtime: &tokio::runtime::Runtime,
) -> Result<FinishedTurn, Failure> {
    let skills = atmos_ai::skills::Skills::load(project)?;
    if we_pick
        && let Ok(entry) = atmos_ai::catalog::resolve(&project.config, turn.provider.as_deref())
    {
        say_picked(&entry.name);
    }
    let mut prepared = chat::prepare_one_shot(
        project,
        &skills,
        turn.provider.as_deref(),
        turn.model.as_deref(),
        turn.skill.as_deref(),
        message,
    )?;
    prepared.request.stream = stream;
    let outcome = runtime.block_on(drive(&prepared, print));
    Ok(chat::finish_one_shot(prepared, outcome)?)
}

fn say_picked(provider: &str) {
    eprintln!("Using provider '{provider}' (set ai.default_provider in atmos.yaml to choose).");
}

/// Streams the reply: a spinner on stderr until the first piece (on a
/// terminal), each piece to stdout when `print`, Ctrl+C cancels.
async fn drive(turn: &PreparedTurn, print: bool) -> ReplyOutcome {
    let spinner = Spinner::start(&turn.provider_name);
    let partial = std::sync::Mutex::new(String::new());
    let mut on_delta = |text: &str| {
        spinner.stop();
        partial.lock().expect("not poisoned").push_str(text);
        if print {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    };
    let outcome = tokio::select! {
        outcome = chat::stream_reply(turn, &mut on_delta) => Some(outcome),
        _ = tokio::signal::ctrl_c() => None,
    };
    spinner.stop();
    // End the streamed line, whatever happened, before any message.
    let printed = partial.lock().expect("not poisoned");
    if print && !printed.is_empty() && !printed.ends_with('\n') {
        println!();
    }
    drop(printed);
    outcome.unwrap_or_else(|| ReplyOutcome::Cancelled {
        partial: partial.into_inner().expect("not poisoned"),
    })
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
