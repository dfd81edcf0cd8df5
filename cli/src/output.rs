//! Writing results and errors: standard output or `--output FILE`, tables,
//! and one-line errors with what to do.

use atmos_ai::Error;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

/// What a command failed with: a core error, or a message of the CLI's own.
#[derive(Debug)]
pub enum Failure {
    Core(Error),
    /// A failure (exit 1).
    Message(String),
    /// Bad usage (exit 2).
    Usage(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Core(e)
    }
}

pub type Outcome = Result<(), Failure>;

/// Prints the error on stderr and picks the exit code.
pub fn report(failure: &Failure) -> ExitCode {
    let mut err = std::io::stderr().lock();
    match failure {
        Failure::Core(e) => {
            let _ = writeln!(err, "error: {e}");
            if let Error::SessionsDisabled { .. } = e {
                let _ = writeln!(err, "\nTo enable sessions, add this to atmos.yaml:\n");
                for line in atmos_ai::config::ENABLE_SESSIONS_YAML.lines() {
                    let _ = writeln!(err, "  {line}");
                }
            }
            let usage = matches!(
                e,
                Error::InvalidDuration { .. }
                    | Error::InvalidName { .. }
                    | Error::InvalidParam { .. }
            );
            ExitCode::from(if usage { 2 } else { 1 })
        }
        Failure::Message(m) => {
            let _ = writeln!(err, "error: {m}");
            ExitCode::from(1)
        }
        Failure::Usage(m) => {
            let _ = writeln!(err, "error: {m}");
            ExitCode::from(2)
        }
    }
}

/// Writes `text` to the file, or to standard output. A closed pipe on
/// standard output (`| head`) is not an error.
pub fn emit(text: &str, output: Option<&Path>) -> Outcome {
    match output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::Message(format!("cannot write {}: {e}", path.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::Message(
                    format!("cannot write to standard output: {e}"),
                )),
                _ => Ok(()),
            }
        }
    }
}

/// Pretty JSON with a final newline.
pub fn json(value: &impl serde::Serialize) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("JSON values serialise");
    s.push('\n');
    s
}

/// A plain table: columns aligned with elastic tabstops, two spaces apart.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut tw = tabwriter::TabWriter::new(Vec::new()).padding(2);
    let mut line = String::new();
    for row in std::iter::once(header.iter().map(|h| h.to_string()).collect()).chain(rows) {
        line.clear();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            // A tab or newline inside a cell would break the columns.
            line.extend(
                cell.chars()
                    .map(|c| if c == '\t' || c == '\n' { ' ' } else { c }),
            );
        }
        line.push('\n');
        let _ = tw.write_all(line.as_bytes());
    }
    let bytes = tw.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Asks a yes/no question on the terminal; `false` unless the answer is yes.
pub fn confirm(question: &str) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// `2026-11-24 03:49` (UTC). Written field by field: a listing formats
/// thousands of these, and strftime parsing per call shows in its time.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}
