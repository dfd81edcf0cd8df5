//! `atmos`: the command line of atmos-ai. Definition of the commands in
//! `args.rs`, one module per command group in `commands/`, and here the
//! glue: parse, run, map errors to exit codes (0 success, 1 failure, 2 usage).

mod args;
mod commands;
mod output;
mod tui;

use args::{AiCommand, Cli, TopCommand};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        TopCommand::Ai(ai) => match ai.command {
            AiCommand::Chat(args) => commands::chat::run(cli.config, args),
            AiCommand::Sessions(args) => commands::sessions::run(cli.config, args),
            AiCommand::Skills(args) => commands::skills::run(cli.config, args),
            AiCommand::Ask(args) => commands::ask::ask(cli.config, args),
            AiCommand::Exec(args) => commands::ask::exec(cli.config, args),
            AiCommand::Serve(args) => commands::serve::run(cli.config, args),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output::report(&e),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings and errors).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person: editors show a server's stderr as text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
