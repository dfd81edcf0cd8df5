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
    let hint = "F1 help ";
    // The session's title beside its name, cut to the room the bar has
    // (left out when that is too little to read).
    if let Some(title) = app.session.as_ref().and_then(|s| s.title.as_deref()) {
        let used: usize = spans.iter().map(Span::width).sum();
        let room = width.saturating_sub(used + hint.len() + 4);
        if room >= 12 {
            spans.insert(
                1,
                Span::styled(
                    format!(" {}", crate::output::clip(title, room)),
                    Style::new().fg(Color::Gray).add_modifier(Modifier::ITALIC),
                ),
            );
        }
    }
    let used: usize = spans.iter().map(Span::width).sum();
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
    .into_iter()
    .chain(spent(app, short))
    .chain(gauge(app, short))
    .chain(app.elsewhere.then(|| {
        Span::styled(
            " · replying elsewhere…",
            Style::new()
                .fg(Color::Yellow)
                .add_modifier(Modifier::ITALIC),
        )
    }))
    .collect()
}

/// ` · 12,345 used (~0.0213)`: what the session's turns used so far, and
/// its cost when the provider has a price in atmos.yaml.
fn spent(app: &App, short: bool) -> Vec<Span<'static>> {
    let Some((used, cost)) = app.spent() else {
        return Vec::new();
    };
    let cost = cost.map_or(String::new(), |c| {
        format!(" (~{})", crate::commands::sessions::money(c))
    });
    let text = match short {
        true => format!(" · {}u{cost}", thousands(used)),
        false => format!(" · {} used{cost}", thousands(used)),
    };
    vec![Span::styled(text, Style::new().fg(Color::Gray))]
}

/// ` · ▰▰▰▱▱ 24/50`: how much of the window the next turn fills (messages
/// against `max_history_messages`, or tokens against `max_history_tokens`),
/// green, then yellow from 60%, red from 90%.
fn gauge(app: &App, short: bool) -> Vec<Span<'static>> {
    let Some((used, max)) = app.gauge() else {
        return Vec::new();
    };
    let ratio = used as f64 / max.max(1) as f64;
    let colour = match ratio {
        r if r >= 0.9 => Color::LightRed,
        r if r >= 0.6 => Color::Yellow,
        _ => Color::Green,
    };
    let cells = 5;
    let full = ((ratio * cells as f64).round() as usize).min(cells);
    let bar = "▰".repeat(full) + &"▱".repeat(cells - full);
    let label = match (app.window, short) {
        (crate::tui::app::Window::Tokens(_), _) => {
            format!(" {}/{} tok", thousands(used), thousands(max))
        }
        (_, true) => format!(" {used}/{max}"),
        _ => format!(" {used}/{max} in the window"),
    };
    vec![
        Span::styled(" · ", Style::new().fg(Color::Gray)),
        Span::styled(bar, Style::new().fg(colour)),
        Span::styled(label, Style::new().fg(Color::Gray)),
    ]
}
