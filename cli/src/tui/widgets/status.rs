//! The status bar: session, provider badge, model, skill, message count and
//! the estimated tokens the next message sends.

use crate::commands::thousands;
use crate::tui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let width = area.width as usize;
    // The full form when it fits, else shorter labels (80 columns and less).
    let mut spans = parts(app, false);
    if spans.iter().map(Span::width).sum::<usize>() > width {
        spans = parts(app, true);
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let hint = "F1 help ";
    if used + hint.len() < width {
        spans.push(Span::raw(" ".repeat(width - used - hint.len())));
        spans.push(Span::styled(hint, Style::new().fg(Color::DarkGray)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn parts(app: &App, short: bool) -> Vec<Span<'static>> {
    let name = match (&app.session, app.sessions_enabled) {
        (Some(s), _) => s.name.clone(),
        (None, true) => "new session".to_string(),
        (None, false) => "not kept".to_string(),
    };
    let dim = Style::new().fg(Color::Gray);
    let n = app.message_count();
    let (skill, msgs, tokens) = if short {
        (" · ", "", "tok")
    } else {
        (" · skill ", if n == 1 { " msg" } else { " msgs" }, "tokens")
    };
    vec![
        Span::styled(
            format!(" {name} "),
            Style::new()
                .bg(Color::DarkGray)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        super::badge(&app.provider),
        Span::styled(format!(" {}", app.model), Style::new().fg(Color::White)),
        Span::styled(skill, dim),
        Span::styled(app.skill.clone(), Style::new().fg(Color::White)),
        Span::styled(format!(" · {n}{msgs}"), dim),
        Span::styled(format!(" · ~{} {tokens}", thousands(app.tokens)), dim),
    ]
}
