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

/// The text width inside the pane (one column of margin each side).
pub fn text_width(area: Rect) -> u16 {
    area.width.saturating_sub(2).max(1)
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let width = text_width(area);
    let all = lines(app, width);
    let height = area.height as usize;
    let scroll = app.scroll.min(all.len().saturating_sub(height));
    let start = all.len().saturating_sub(height + scroll);
    let mut shown: Vec<Line> = all.into_iter().skip(start).take(height).collect();
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

/// Every line of the transcript at this width.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let width = width as usize;
    let mut out: Vec<Line<'static>> = Vec::new();
    for entry in &app.transcript {
        if !out.is_empty() {
            out.push(Line::default());
        }
        out.extend(entry_lines(entry, width, &app.model));
    }
    if let Some(st) = &app.streaming {
        if !out.is_empty() {
            out.push(Line::default());
        }
        out.push(heading("◆ Assistant", Color::Green, None));
        if st.text.is_empty() {
            out.push(Line::styled(
                format!(
                    "  {} waiting for {}…",
                    super::spinner(app.spinner),
                    st.provider
                ),
                Style::new().fg(Color::DarkGray),
            ));
        } else {
            out.extend(indented(markdown::render(
                &st.text,
                width.saturating_sub(2),
            )));
        }
    }
    out
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

fn entry_lines(entry: &Entry, width: usize, _model: &str) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    match entry.kind {
        EntryKind::User => {
            out.push(heading("▶ You", Color::Cyan, None));
            out.extend(plain(&entry.text, width, Style::new(), "  ", "  "));
        }
        EntryKind::Assistant { interrupted } => {
            let mark = interrupted.then(|| {
                Span::styled(
                    "  (interrupted)",
                    Style::new()
                        .fg(Color::Yellow)
                        .add_modifier(Modifier::ITALIC),
                )
            });
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
    out
}
