//! The help overlay, generated from the keymap (`keys.rs`): one section per
//! screen, in two columns when the terminal is wide enough.

use super::centered;
use super::markdown::wrap;
use crate::tui::app::App;
use crate::tui::keys::{self, Mode};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

const LABEL_WIDTH: usize = 16;

/// The help text of some screens at this width.
pub fn lines(modes: &[Mode], width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for mode in modes {
        if !out.is_empty() {
            out.push(Line::default());
        }
        out.push(Line::styled(
            mode.title().to_string(),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ));
        for b in keys::bindings(*mode) {
            let label = keys::labels(b);
            let key_style = Style::new().fg(Color::Yellow);
            let indent = Span::raw(" ".repeat(LABEL_WIDTH + 2));
            let first = if label.len() > LABEL_WIDTH {
                out.push(Line::from(Span::styled(format!("  {label}"), key_style)));
                indent.clone()
            } else {
                Span::styled(format!("  {label:<LABEL_WIDTH$}"), key_style)
            };
            out.extend(wrap(&[Span::raw(b.help.to_string())], width, first, indent));
        }
    }
    out
}

/// The overlay's frame for a terminal area.
fn frame_area(area: Rect) -> Rect {
    centered(area, 118, 44)
}

/// The help's text area inside the frame.
fn text_area(area: Rect) -> Rect {
    let inner = Block::bordered().inner(frame_area(area));
    Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    }
}

/// The columns of help lines for `app`: the current screen leads; Chat and
/// the form on the left and the popups on the right when there is room for two.
fn columns(app: &App, inner: Rect) -> Vec<(Rect, Vec<Line<'static>>)> {
    let first = app.mode_beneath_help();
    let mut modes = vec![first];
    modes.extend(Mode::ALL.into_iter().filter(|m| *m != first));
    if inner.width >= 90 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .spacing(2)
                .areas(inner);
        let left_side = |m: &Mode| matches!(m, Mode::Chat | Mode::Form);
        let left_modes: Vec<Mode> = modes.iter().copied().filter(left_side).collect();
        let right_modes: Vec<Mode> = modes.iter().copied().filter(|m| !left_side(m)).collect();
        vec![
            (left, lines(&left_modes, left.width as usize)),
            (right, lines(&right_modes, right.width as usize)),
        ]
    } else {
        vec![(inner, lines(&modes, inner.width as usize))]
    }
}

/// How far the help can scroll in a terminal of `app.size`: the app keeps
/// `help_scroll` within it.
pub fn max_scroll(app: &App) -> u16 {
    // Drawn where the transcript is (see `widgets::draw`).
    let [area, ..] = super::chat_layout(app, Rect::new(0, 0, app.size.0, app.size.1));
    let inner = text_area(area);
    let longest = columns(app, inner)
        .iter()
        .map(|(_, l)| l.len())
        .max()
        .unwrap_or(0);
    (longest as u16).saturating_sub(inner.height)
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let outer = frame_area(area);
    frame.render_widget(Clear, outer);
    let block = Block::bordered()
        .title(Span::styled(
            " Keys ",
            Style::new().add_modifier(Modifier::BOLD),
        ))
        .title_bottom(Span::styled(
            " Esc, q, ? or F1 closes ",
            Style::new().fg(Color::DarkGray),
        ))
        .border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(block, outer);
    // Scrolled with Up/Down/PgUp/PgDn when the keys do not fit; the top
    // border says when more is below.
    let inner = text_area(area);
    let columns = columns(app, inner);
    let longest = columns.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    let scroll = clamp(app.help_scroll, longest, inner.height);
    for (rect, lines) in columns {
        frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), rect);
    }
    more_hint(frame, outer, longest, scroll, inner.height);
}

/// The scroll offset, kept so that the last line stays at the bottom.
fn clamp(scroll: u16, lines: usize, height: u16) -> u16 {
    let max = (lines as u16).saturating_sub(height);
    scroll.min(max)
}

/// "↓ more" on the top border when lines are hidden below.
fn more_hint(frame: &mut Frame, area: Rect, lines: usize, scroll: u16, height: u16) {
    if (scroll as usize + height as usize) < lines {
        let text = " ↓ more: Down, j or PgDn ";
        let width = text.chars().count() as u16;
        if area.width > width + 10 {
            let at = Rect {
                x: area.x + area.width - width - 2,
                y: area.y,
                width,
                height: 1,
            };
            frame.render_widget(
                Paragraph::new(Span::styled(text, Style::new().fg(Color::Yellow))),
                at,
            );
        }
    }
}
