//! The input box: the message being written, wrapped, with the cursor; a
//! hint when empty; its title says what Esc does while a reply streams.

use crate::tui::app::{App, Overlay, TextField};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthChar;

/// The most lines of text the box shows (it scrolls to the cursor).
pub const MAX_LINES: usize = 6;

/// The box's height, borders included.
pub fn height(app: &App, width: u16) -> u16 {
    let (rows, _) = layout(&app.input, width.saturating_sub(2).max(1) as usize);
    rows.len().clamp(1, MAX_LINES) as u16 + 2
}

/// The field's visual rows at `width` and the cursor's (row, column).
pub fn layout(field: &TextField, width: usize) -> (Vec<String>, (usize, usize)) {
    let mut rows = vec![String::new()];
    let mut col = 0;
    let mut cursor = (0, 0);
    for (i, c) in field.text.char_indices() {
        if i == field.cursor {
            cursor = (rows.len() - 1, col);
        }
        if c == '\n' {
            rows.push(String::new());
            col = 0;
            continue;
        }
        let w = c.width().unwrap_or(0);
        if col + w > width {
            rows.push(String::new());
            col = 0;
        }
        rows.last_mut().expect("one row").push(c);
        col += w;
    }
    if field.cursor >= field.text.len() {
        if col >= width {
            rows.push(String::new());
            col = 0;
        }
        cursor = (rows.len() - 1, col);
    }
    (rows, cursor)
}

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let title = if app.streaming.is_some() {
        " Message · Esc cancels the reply "
    } else {
        " Message "
    };
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(Color::DarkGray));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.input.text.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "Type a message · Enter sends · Ctrl+J new line · Ctrl+L sessions · ? help",
            )
            .style(Style::new().fg(Color::DarkGray)),
            inner,
        );
    }
    let (rows, (row, col)) = layout(&app.input, inner.width.max(1) as usize);
    let skip = row.saturating_sub(MAX_LINES - 1);
    if !app.input.text.is_empty() {
        let lines: Vec<Line> = rows.into_iter().skip(skip).map(Line::from).collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }
    if matches!(app.overlay, Overlay::None) && !app.help {
        frame.set_cursor_position(Position::new(
            inner.x + col as u16,
            inner.y + (row - skip) as u16,
        ));
    }
}
