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

pub fn draw(frame: &mut Frame, _app: &App, area: Rect) {
    let area = centered(area, 118, 44);
    frame.render_widget(Clear, area);
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
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let inner = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    if inner.width >= 90 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .spacing(2)
                .areas(inner);
        let left_modes = [Mode::Chat, Mode::Form];
        let right_modes = [
            Mode::Picker,
            Mode::Renaming,
            Mode::ConfirmDelete,
            Mode::Skills,
            Mode::Providers,
        ];
        frame.render_widget(
            Paragraph::new(lines(&left_modes, left.width as usize)),
            left,
        );
        frame.render_widget(
            Paragraph::new(lines(&right_modes, right.width as usize)),
            right,
        );
    } else {
        frame.render_widget(
            Paragraph::new(lines(&Mode::ALL, inner.width as usize)),
            inner,
        );
    }
}
