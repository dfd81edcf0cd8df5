//! The transcript pane: each entry under a coloured heading, replies as
//! markdown, the reply being streamed last (a spinner until its first token).
//! Scrolling counts lines up from the bottom.

use super::markdown;
use crate::tui::app::{App, Entry, EntryKind};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::rc::Rc;

/// The text width inside the pane (one column of margin each side).
pub fn text_width(area: Rect) -> u16 {
    area.width.saturating_sub(2).max(1)
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let width = text_width(area);
    let blocks = blocks(app, width);
    let total = count(&blocks);
    let height = area.height as usize;
    let scroll = app.scroll.min(total.saturating_sub(height));
    let start = total.saturating_sub(height + scroll);
    // Only the visible lines are copied out of the drawn blocks.
    let mut shown: Vec<Line> = joined(&blocks).skip(start).take(height).cloned().collect();
    if scroll > 0
        && let Some(last) = shown.last_mut()
    {
        *last = Line::styled(
            format!("── {scroll} more lines below: PgDn ──"),
            Style::new().fg(Color::DarkGray),
        );
    }
    let inner = Rect::new(area.x + 1, area.y, width, area.height);
    frame.render_widget(Paragraph::new(shown), inner);
}

/// How many lines the transcript has at this width.
pub fn line_count(app: &App, width: u16) -> usize {
    count(&blocks(app, width))
}

/// The transcript as blocks of lines, one per entry (each drawn once per width and kept by
/// the entry), then the reply being streamed (drawn afresh: it changes with every delta).
fn blocks(app: &App, width: u16) -> Vec<Rc<[Line<'static>]>> {
    let width = width as usize;
    let mut out: Vec<Rc<[Line<'static>]>> = app
        .transcript
        .iter()
        .map(|entry| entry.drawn.at(width, || entry_lines(entry, width)))
        .collect();
    if let Some(st) = &app.streaming {
        let mut lines = vec![heading("◆ Assistant", Color::Green, None)];
        if st.text.is_empty() {
            lines.push(Line::styled(
                format!(
                    "  {} waiting for {}…",
                    super::spinner(app.spinner),
                    st.provider
                ),
                Style::new().fg(Color::DarkGray),
            ));
        } else {
            lines.extend(indented(markdown::render(
                &st.text,
                width.saturating_sub(2),
            )));
        }
        out.push(lines.into());
    }
    out
}

/// The blocks' lines with one blank line between blocks.
fn joined<'a>(blocks: &'a [Rc<[Line<'static>]>]) -> impl Iterator<Item = &'a Line<'static>> {
    static BLANK: std::sync::LazyLock<Line<'static>> = std::sync::LazyLock::new(Line::default);
    blocks.iter().enumerate().flat_map(|(i, b)| {
        let gap = (i > 0).then(|| &*BLANK);
        gap.into_iter().chain(b.iter())
    })
}

fn count(blocks: &[Rc<[Line<'static>]>]) -> usize {
    blocks.iter().map(|b| b.len()).sum::<usize>() + blocks.len().saturating_sub(1)
}

fn heading(text: &str, color: Color, extra: Option<Span<'static>>) -> Line<'static> {
    let mut spans = vec![Span::styled(
        text.to_string(),
        Style::new().fg(color).add_modifier(Modifier::BOLD),
    )];
    spans.extend(extra);
    Line::from(spans)
}

fn indented(lines: Vec<Line<'static>>) -> Vec<Line<'static>> {
    lines
        .into_iter()
        .map(|mut l| {
            l.spans.insert(0, Span::raw("  "));
            l
        })
        .collect()
}

fn plain(text: &str, width: usize, style: Style, first: &str, rest: &str) -> Vec<Line<'static>> {
    markdown::wrap(
        &[Span::styled(text.to_string(), style)],
        width,
        Span::styled(first.to_string(), style),
        Span::raw(rest.to_string()),
    )
}

#[cfg(test)]
thread_local! {
    /// How many times an entry was drawn from its text on this thread (tests of the cache).
    pub static ENTRY_DRAWS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn entry_lines(entry: &Entry, width: usize) -> Vec<Line<'static>> {
    #[cfg(test)]
    ENTRY_DRAWS.with(|n| n.set(n.get() + 1));
    let mut out = Vec::new();
    // An archived message (a summary stands for it, or a retry replaced
    // it): dimmed, and its heading says so.
    let summarised = entry.summarised.then(|| {
        Span::styled(
            "  (archived)",
            Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
        )
    });
    // A pinned message says so (never compacted, always sent).
    let summarised = match entry.pinned {
        true => Some(Span::styled("  📌 pinned", Style::new().fg(Color::Yellow))),
        false => summarised,
    };
    match entry.kind {
        EntryKind::User => {
            out.push(heading("▶ You", Color::Cyan, summarised));
            out.extend(plain(&entry.text, width, Style::new(), "  ", "  "));
        }
        EntryKind::Assistant { interrupted } => {
            let mark = interrupted
                .then(|| {
                    Span::styled(
                        "  (interrupted)",
                        Style::new()
                            .fg(Color::Yellow)
                            .add_modifier(Modifier::ITALIC),
                    )
                })
                .or(summarised);
            out.push(heading("◆ Assistant", Color::Green, mark));
            out.extend(indented(markdown::render(
                &entry.text,
                width.saturating_sub(2),
            )));
        }
        EntryKind::Summary => {
            out.extend(plain(
                &entry.text,
                width,
                Style::new().fg(Color::Magenta),
                "  ",
                "  ",
            ));
        }
        EntryKind::Note => {
            let style = Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC);
            out.extend(plain(&entry.text, width, style, "· ", "  "));
        }
        EntryKind::Error => {
            out.extend(plain(
                &entry.text,
                width,
                Style::new().fg(Color::LightRed),
                "✗ ",
                "  ",
            ));
        }
    }
    if entry.summarised {
        let dim = Style::new().add_modifier(Modifier::DIM);
        out = out.into_iter().map(|l| l.patch_style(dim)).collect();
    }
    out
}
