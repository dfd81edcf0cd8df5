//! Writing results and errors: standard output or `--output FILE`, tables,
//! and one-line errors with what to do.

use atmos_ai::Error;
use chrono::{DateTime, Datelike, Local, Timelike, Utc};
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
    /// Stopped as asked (SIGTERM) after saying what was kept: exit 0.
    Stopped,
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
        Failure::Stopped => ExitCode::SUCCESS,
    }
}

/// Writes `text` to the file, or to standard output. A closed pipe on
/// standard output (`| head`) is not an error.
pub fn emit(text: &str, output: Option<&Path>) -> Outcome {
    match output {
        Some(path) => write_private(path, text)
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

/// Writes `text` to `path` readable by this user only (0600, whatever the
/// umask): what `--output` writes holds the same conversations as the 0600
/// database. An existing file is truncated and set to 0600 too.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())
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

/// Drops columns, in `drop_order` (indexes into `header`), until the table
/// fits in `width` terminal columns or only the others are left. Returns
/// the header left; `rows` lose the same columns.
pub fn fit_columns<'h, S: AsRef<str>>(
    header: &[&'h str],
    rows: &mut [Vec<S>],
    width: usize,
    drop_order: &[usize],
) -> Vec<&'h str> {
    let widest = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| cell_width(c.as_ref()))
            .max()
            .unwrap_or(0)
            .max(cell_width(header[i]))
    };
    let widths: Vec<usize> = (0..header.len()).map(widest).collect();
    let mut kept: Vec<bool> = vec![true; header.len()];
    let total = |kept: &[bool]| -> usize {
        let shown: Vec<usize> = (0..widths.len()).filter(|&i| kept[i]).collect();
        shown.iter().map(|&i| widths[i]).sum::<usize>() + 2 * shown.len().saturating_sub(1)
    };
    for &i in drop_order.iter().filter(|&&i| i < header.len()) {
        if total(&kept) <= width {
            break;
        }
        kept[i] = false;
    }
    for row in rows.iter_mut() {
        let mut i = 0;
        row.retain(|_| {
            i += 1;
            kept[i - 1]
        });
    }
    (0..header.len())
        .filter(|&i| kept[i])
        .map(|i| header[i])
        .collect()
}

/// The width to fit tables to: `COLUMNS` when set, else the terminal's
/// when standard output is one; `None` (no limit) for pipes and files.
pub fn table_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return Some(n);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    crossterm::terminal::size().ok().map(|(w, _)| w as usize)
}

/// `1 message`, `2 messages`, `1,000 messages`.
/// `text` cut to `max` columns with "…" when longer (borrowed when it fits).
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    use unicode_width::UnicodeWidthChar;
    if unicode_width::UnicodeWidthStr::width(text) <= max {
        return text.into();
    }
    let mut out = String::new();
    let mut width = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if width + w + 1 > max {
            break;
        }
        width += w;
        out.push(c);
    }
    out.push('…');
    out.into()
}

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

/// How times are shown: in the local time zone, or in UTC (`--utc`, for
/// scripts and for comparing across machines; JSON is always RFC 3339 UTC).
#[derive(Debug, Clone)]
pub struct Clock {
    utc: bool,
    /// The local offset of the last hour asked about: a listing's times
    /// are mostly close together, and asking the time zone costs more than
    /// formatting (zone offsets change on the hour at most).
    last: std::cell::Cell<Option<(i64, chrono::FixedOffset)>>,
}

impl Clock {
    pub fn new(utc: bool) -> Clock {
        Clock {
            utc,
            last: std::cell::Cell::new(None),
        }
    }

    /// `2026-11-24 03:49`. Written field by field: a listing formats
    /// thousands of these, and strftime parsing per call shows in its time.
    pub fn when(&self, t: DateTime<Utc>) -> String {
        if self.utc {
            return stamp(&t);
        }
        let hour = t.timestamp().div_euclid(3600);
        let offset = match self.last.get() {
            Some((h, offset)) if h == hour => offset,
            _ => {
                let offset = *t.with_timezone(&Local).offset();
                self.last.set(Some((hour, offset)));
                offset
            }
        };
        stamp(&t.with_timezone(&offset))
    }

    /// What a column of times says it is in: "" for local time.
    pub fn label(&self) -> &'static str {
        if self.utc { " (UTC)" } else { "" }
    }
}

fn stamp<T: Datelike + Timelike>(t: &T) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// How long ago `t` was, as a person says it, in local time: "just now",
/// "5 min ago", "3h ago", "yesterday 22:46", "Mon 14:02" (this week), else
/// the date.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    ago_in(t, now, &Local)
}

fn ago_in<Tz: chrono::TimeZone>(t: DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let secs = (now - t).num_seconds();
    if secs < 60 {
        return "just now".into();
    }
    if secs < 3600 {
        return format!("{} min ago", secs / 60);
    }
    let (t, now) = (t.with_timezone(tz), now.with_timezone(tz));
    let days = (now.date_naive() - t.date_naive()).num_days();
    match days {
        0 => format!("{}h ago", secs / 3600),
        1 => format!("yesterday {}", t.format("%H:%M")),
        2..=6 => t.format("%a %H:%M").to_string(),
        _ if t.year() == now.year() => t.format("%b %-d").to_string(),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{ago_in, fit_columns, table};
    use chrono::{FixedOffset, TimeZone, Utc};

    #[test]
    fn times_ago_read_as_a_person_says_them() {
        let tz = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        let cases = [
            (at(24, 12, 0), "just now"),
            (at(24, 11, 55), "5 min ago"),
            (at(24, 9, 0), "3h ago"),
            // 17:16 the day before in UTC+5:30.
            (at(23, 11, 46), "yesterday 17:16"),
            (at(20, 10, 0), "Fri 15:30"),
            (at(2, 10, 0), "Nov 2"),
            (
                Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap(),
                "2025-03-01",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(ago_in(t, now, &tz), want, "{t}");
        }
    }

    #[test]
    fn columns_are_dropped_in_order_until_the_table_fits() {
        let header = ["NAME", "PROVIDER", "CREATED", "MESSAGES"];
        let mut rows = vec![vec!["vpc-design", "anthropic", "2026-11-24 03:49", "12"]];
        let kept = fit_columns(&header, &mut rows, 40, &[2, 1]);
        // 10 + 9 + 8 + 4 = 31 columns: only CREATED goes.
        assert_eq!(kept, ["NAME", "PROVIDER", "MESSAGES"]);
        assert_eq!(rows[0], ["vpc-design", "anthropic", "12"]);
        let mut rows = vec![vec!["vpc-design", "anthropic", "2026-11-24 03:49", "12"]];
        assert_eq!(
            fit_columns(&header, &mut rows, 20, &[2, 1]),
            ["NAME", "MESSAGES"]
        );
        let mut rows = vec![vec!["vpc-design", "anthropic", "2026-11-24 03:49", "12"]];
        assert_eq!(fit_columns(&header, &mut rows, 200, &[2, 1]).len(), 4);
        // A column that is not there (MATCH without a query) is skipped.
        let mut rows = vec![vec!["vpc-design", "anthropic", "2026-11-24 03:49", "12"]];
        assert_eq!(
            fit_columns(&header, &mut rows, 20, &[2, 7, 1]),
            ["NAME", "MESSAGES"]
        );
    }

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
