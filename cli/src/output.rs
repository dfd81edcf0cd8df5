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
        // Stopped by Ctrl+C: the command said what was kept; 130 as a shell
        // reports an interrupted command (128 + SIGINT).
        Failure::Core(Error::Cancelled) => ExitCode::from(130),
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

/// A plain table: each column as wide as its widest cell (in terminal
/// columns), two spaces apart, the last cell of a row not padded. Widths
/// are measured once and each row is written straight into the output: a
/// listing of thousands of sessions makes no copy of its cells.
pub fn table<S: AsRef<str>>(header: &[&str], rows: Vec<Vec<S>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| cell_width(h)).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            let cell = cell.as_ref();
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell_width(cell));
            } else {
                widths.push(cell_width(cell));
            }
        }
    }
    let line: usize = widths.iter().map(|w| w + 2).sum();
    let mut out = String::with_capacity((rows.len() + 1) * (line + 1));
    let mut write_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut cells = cells.peekable();
        let mut i = 0;
        while let Some(cell) = cells.next() {
            let start = out.len();
            // A tab or newline inside a cell would break the columns.
            if cell.contains(['\t', '\n']) {
                out.extend(
                    cell.chars()
                        .map(|c| if c == '\t' || c == '\n' { ' ' } else { c }),
                );
            } else {
                out.push_str(cell);
            }
            if cells.peek().is_some() {
                let written = cell_width(&out[start..]);
                let pad = widths[i].saturating_sub(written) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
            i += 1;
        }
        out.push('\n');
    };
    write_row(&mut header.iter().copied());
    for row in &rows {
        write_row(&mut row.iter().map(AsRef::as_ref));
    }
    out
}

/// `1 message`, `2 messages`, `1,000 messages`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    let noun = if n == 1 { one } else { many };
    format!("{} {noun}", crate::commands::thousands(n))
}

/// How many terminal columns a cell takes.
fn cell_width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        unicode_width::UnicodeWidthStr::width(s)
    }
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

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_in_terminal_columns() {
        let rows = vec![
            vec!["vpc".to_string(), "ollama".into(), "2".into()],
            vec!["東京-vpc".to_string(), "a\tb".into(), "10".into()],
        ];
        assert_eq!(
            table(&["NAME", "PROVIDER", "MESSAGES"], rows),
            "NAME      PROVIDER  MESSAGES\n\
             vpc       ollama    2\n\
             東京-vpc  a b       10\n"
        );
        assert_eq!(table::<&str>(&["NAME"], Vec::new()), "NAME\n");
    }
}
