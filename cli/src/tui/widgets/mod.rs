//! Drawing: pure functions of `&App` into a frame. Nothing here changes the
//! state; what a widget needs to know about sizes it computes from the app's
//! last known terminal size, the same way `App` does to clamp scrolling.

pub mod help;
pub mod highlight;
pub mod input;
pub mod markdown;
pub mod popups;
pub mod status;
pub mod transcript;

use super::app::{App, Overlay};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let [body, compacting, input, status] = chat_layout(app, area);
    transcript::draw(frame, app, body);
    if let Some(line) = &app.compacting {
        frame.render_widget(
            ratatui::widgets::Paragraph::new(format!(" {} {line}", spinner(app.spinner)))
                .style(Style::new().fg(Color::Yellow)),
            compacting,
        );
    }
    input::draw(frame, app, input);
    status::draw(frame, app, status);
    // Overlays take the transcript's place: the input box and the status
    // bar stay whole beneath them (no stray corners beside a popup).
    match &app.overlay {
        Overlay::None => {}
        Overlay::Picker(p) => popups::picker(frame, app, p, body),
        Overlay::Form(f) => popups::form(frame, app, f, body),
        Overlay::Skills { selected } => popups::skills(frame, app, *selected, body),
        Overlay::Providers(s) => popups::switcher(frame, app, s, body),
    }
    if app.help {
        help::draw(frame, app, body);
    }
}

/// Transcript, compaction line, input box, status bar.
pub fn chat_layout(app: &App, area: Rect) -> [Rect; 4] {
    let input_height = input::height(app, area.width);
    Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(u16::from(app.compacting.is_some())),
        Constraint::Length(input_height),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The transcript's text width and height at the app's last known size.
pub fn transcript_area(app: &App) -> (u16, u16) {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let [body, ..] = chat_layout(app, area);
    (transcript::text_width(body), body.height)
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(frame: usize) -> &'static str {
    SPINNER[frame % SPINNER.len()]
}

/// The badge colour of a provider: fixed for the eight built-in names, a
/// stable hash of the name for the others (the same in every run).
pub fn provider_color(name: &str) -> Color {
    match name {
        "anthropic" => Color::Rgb(217, 119, 87),
        "openai" => Color::Rgb(16, 163, 127),
        "ollama" => Color::Rgb(200, 200, 200),
        "gemini" => Color::Rgb(66, 133, 244),
        "azureopenai" => Color::Rgb(0, 137, 214),
        "grok" => Color::Rgb(170, 120, 230),
        "github" => Color::Rgb(240, 246, 252),
        "bedrock" => Color::Rgb(255, 153, 0),
        other => {
            const PALETTE: [Color; 8] = [
                Color::Rgb(230, 120, 160),
                Color::Rgb(120, 200, 220),
                Color::Rgb(200, 180, 90),
                Color::Rgb(150, 210, 120),
                Color::Rgb(230, 150, 90),
                Color::Rgb(140, 150, 240),
                Color::Rgb(210, 110, 110),
                Color::Rgb(110, 200, 170),
            ];
            // FNV-1a: stable across runs and Rust versions.
            let hash = other.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            PALETTE[(hash % PALETTE.len() as u64) as usize]
        }
    }
}

/// ` anthropic ` on its colour.
pub fn badge(name: &str) -> Span<'static> {
    Span::styled(
        format!(" {name} "),
        Style::new()
            .bg(provider_color(name))
            .fg(Color::Black)
            .add_modifier(Modifier::BOLD),
    )
}

/// A rectangle of at most `w` × `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2)).max(1);
    let h = h.min(area.height.saturating_sub(2)).max(1);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_colours_are_stable_and_distinct_for_the_built_ins() {
        let kinds = [
            "anthropic",
            "openai",
            "ollama",
            "gemini",
            "azureopenai",
            "grok",
            "github",
            "bedrock",
        ];
        let colours: Vec<Color> = kinds.iter().map(|k| provider_color(k)).collect();
        for (i, c) in colours.iter().enumerate() {
            assert!(
                !colours[i + 1..].contains(c),
                "{} shares its colour",
                kinds[i]
            );
        }
        assert_eq!(provider_color("work-claude"), provider_color("work-claude"));
    }
}
