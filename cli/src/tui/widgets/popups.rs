//! The windows drawn over the chat: the session picker, the create form,
//! the skill selector and the provider switcher.

use super::{badge, centered};
use crate::output::ago;
use crate::tui::app::{
    App, EntryKind, Form, FormField, PREVIEW_MIN_WIDTH, Picker, ProviderInfo, SESSIONS_OFF,
    Switcher, TextField,
};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

const SELECTED: Style = Style::new().bg(Color::Rgb(50, 60, 80));
const DIM: Style = Style::new().fg(Color::DarkGray);
const ERROR: Style = Style::new().fg(Color::LightRed);

fn window(frame: &mut Frame, area: Rect, title: &str, footer: &str) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {title} "),
            Style::new().add_modifier(Modifier::BOLD),
        ))
        .title_bottom(Span::styled(format!(" {footer} "), DIM))
        .border_style(Style::new().fg(Color::Cyan));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// `name` cut or padded to `w` columns.
fn cell(name: &str, w: usize) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if s.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) > w {
            break;
        }
        s.push(c);
    }
    let pad = w.saturating_sub(s.width());
    s + &" ".repeat(pad)
}

/// `text` in at most `w` columns, padded to `w`; an ellipsis marks a cut.
fn cut(text: &str, w: usize) -> String {
    if text.width() <= w {
        return cell(text, w);
    }
    cell(
        &(cell(text, w.saturating_sub(1)).trim_end().to_string() + "…"),
        w,
    )
}

/// `text` cut to `w - 1` columns and a space; nothing when `w` is 0.
fn spaced(text: &str, w: usize) -> String {
    match w {
        0 => String::new(),
        w => cell(text, w - 1) + " ",
    }
}

/// A text field with a block cursor.
fn field_spans(f: &TextField, focused: bool) -> Vec<Span<'static>> {
    if !focused {
        return vec![Span::raw(f.text.clone())];
    }
    let (before, after) = f.text.split_at(f.cursor);
    let mut rest = after.chars();
    let at = rest.next().map_or(" ".to_string(), |c| c.to_string());
    vec![
        Span::raw(before.to_string()),
        Span::styled(at, Style::new().add_modifier(Modifier::REVERSED)),
        Span::raw(rest.as_str().to_string()),
    ]
}

pub fn picker(frame: &mut Frame, app: &App, p: &Picker, area: Rect) {
    let filter = match &p.filter {
        None => "all providers".to_string(),
        Some(f) => f.clone(),
    };
    let rows = p.rows();
    let searching = p.search.is_some();
    // A search shows where each session matched, on a line of its own.
    // A second line under each row: where a search matched, else the
    // sessions' titles (when any has one).
    let titled = !searching && rows.iter().any(|s| s.title.is_some());
    let per_row = if searching || titled { 2 } else { 1 };
    let height = (rows.len() as u16 * per_row + 7).max(12);
    let wide = area.width >= PREVIEW_MIN_WIDTH;
    let area = centered(area, if wide { 150 } else { 96 }, height);
    let inner = window(
        frame,
        area,
        &format!(
            "Sessions · {filter} (f) · {} of {}",
            rows.len(),
            p.all.len()
        ),
        if searching {
            "type to search names and messages · ↑/↓ move · Enter switch · Esc leave the search"
        } else {
            "Enter switch · / search · n new · F fork · r rename · d delete · f filter · Esc back"
        },
    );
    // Beside the list, when there is room: the selected session's newest
    // messages.
    let inner = if wide {
        let [list, preview_area] =
            Layout::horizontal([Constraint::Min(60), Constraint::Length(46)])
                .spacing(1)
                .areas(inner);
        preview(frame, p, preview_area);
        list
    } else {
        inner
    };
    let mut lines: Vec<Line> = Vec::new();
    if !app.sessions_enabled {
        frame.render_widget(
            Paragraph::new(SESSIONS_OFF)
                .style(ERROR)
                .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    if let Some(field) = &p.search {
        let mut search = vec![Span::styled("/ ", Style::new().fg(Color::Cyan))];
        search.extend(field_spans(field, true));
        if field.text.is_empty() {
            search.push(Span::styled(" a name, or words from a message", DIM));
        }
        lines.push(Line::from(search));
    }
    if p.loading {
        lines.push(Line::styled("loading…", DIM));
    } else if rows.is_empty() {
        lines.push(Line::styled(
            if p.all.is_empty() {
                "No sessions yet: press n to create one, or Esc and send a message"
            } else if searching && p.matches.is_some() {
                "No session's name or messages contain that"
            } else if searching {
                "searching…"
            } else {
                "No session of this provider: press f for the next filter"
            },
            DIM,
        ));
    }
    // The model column only when there is room for it.
    let model_w = if inner.width >= 90 { 20 } else { 0 };
    let name_w = (inner.width as usize)
        .saturating_sub(48 + model_w)
        .clamp(12, 32);
    lines.push(Line::styled(
        format!(
            "  {}  {:<14} {}{:<16} {:>8}",
            cell("NAME", name_w),
            "PROVIDER",
            spaced("MODEL", model_w),
            "LAST ACTIVE",
            "MESSAGES"
        ),
        DIM,
    ));
    let now = chrono::Utc::now();
    let visible = ((inner.height as usize).saturating_sub(3 + usize::from(searching))
        / per_row as usize)
        .max(1);
    let offset = p.selected.saturating_sub(visible - 1);
    let current = app.session.as_ref().map(|s| s.id.as_str());
    for (i, s) in rows.iter().enumerate().skip(offset).take(visible) {
        let selected = i == p.selected;
        let marker = if Some(s.id.as_str()) == current {
            "● "
        } else if selected {
            "▸ "
        } else {
            "  "
        };
        let mut spans = vec![Span::raw(marker)];
        match (&p.renaming, selected) {
            (Some(field), true) => {
                let mut f = field_spans(field, true);
                let used: usize = f.iter().map(Span::width).sum();
                f.push(Span::raw(" ".repeat(name_w.saturating_sub(used))));
                // Patched, not replaced: the cursor keeps its reversed cell.
                spans.extend(
                    f.into_iter()
                        .map(|s| s.patch_style(Style::new().fg(Color::Yellow))),
                );
            }
            _ => spans.push(Span::styled(
                cell(&s.name, name_w),
                Style::new().add_modifier(Modifier::BOLD),
            )),
        }
        spans.push(Span::raw("  "));
        let b = badge(&s.provider);
        let pad = 15usize.saturating_sub(b.width());
        spans.push(b);
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(spaced(&s.model, model_w), DIM));
        spans.push(Span::styled(format!("{:<16}", ago(s.updated_at, now)), DIM));
        spans.push(Span::raw(format!(" {:>8}", s.message_count)));
        let mut line = Line::from(spans);
        if selected {
            line = line.style(SELECTED);
        }
        lines.push(line);
        if titled {
            let mut title = s.title.clone().unwrap_or_default();
            if let Some(origin) = &s.forked_from {
                title = format!("{title} (forked from {origin})");
            }
            lines.push(Line::styled(
                format!(
                    "    {}",
                    cut(title.trim(), (inner.width as usize).saturating_sub(5))
                ),
                DIM,
            ));
        }
        if searching {
            let found = p.snippet(&s.id).map_or("(its name)".to_string(), |t| {
                t.split_whitespace().collect::<Vec<_>>().join(" ")
            });
            lines.push(Line::styled(
                format!(
                    "    {}",
                    cut(&found, (inner.width as usize).saturating_sub(5))
                ),
                DIM.add_modifier(Modifier::ITALIC),
            ));
        }
    }
    if let Some(e) = &p.error {
        lines.push(Line::styled(format!("✗ {e}"), ERROR));
    }
    if p.renaming.is_some() {
        lines.push(Line::styled("Enter keeps the new name · Esc cancels", DIM));
    }
    if p.confirm_delete
        && let Some(s) = p.current()
    {
        lines.push(Line::styled(
            format!(
                "Delete '{}' and all its history? This cannot be undone. y / n",
                s.name
            ),
            ERROR.add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The picker's preview: the selected session's newest messages, each cut
/// to a few lines.
fn preview(frame: &mut Frame, p: &Picker, area: Rect) {
    let width = area.width.saturating_sub(2) as usize;
    let mut lines = vec![Line::styled("Preview", DIM.add_modifier(Modifier::BOLD))];
    let shown = p
        .current()
        .and_then(|s| p.preview.as_ref().filter(|(id, _)| *id == s.id));
    match shown {
        None => lines.push(Line::styled("…", DIM)),
        Some((_, messages)) if messages.is_empty() => {
            lines.push(Line::styled("(no messages yet)", DIM));
        }
        Some((_, messages)) => {
            for (kind, text) in messages {
                let (who, style) = match kind {
                    EntryKind::User => ("You", Style::new().fg(Color::Cyan)),
                    EntryKind::Summary => ("Summary", DIM),
                    _ => ("AI", Style::new().fg(Color::Green)),
                };
                lines.push(Line::styled(who, style.add_modifier(Modifier::BOLD)));
                // Word-wrapped to the pane, at most three lines a message.
                let mut rows: Vec<String> = vec![String::new()];
                let mut more = false;
                for word in text.split_whitespace() {
                    let row = rows.last_mut().expect("one row at least");
                    let needed = row.width() + usize::from(!row.is_empty()) + word.width();
                    if needed <= width || row.is_empty() {
                        if !row.is_empty() {
                            row.push(' ');
                        }
                        row.push_str(cut(word, width).trim_end());
                    } else if rows.len() == 3 {
                        more = true;
                        break;
                    } else {
                        rows.push(cut(word, width).trim_end().to_string());
                    }
                }
                let last = rows.len() - 1;
                for (i, row) in rows.into_iter().enumerate() {
                    let mut line = Line::raw(format!("  {row}"));
                    if more && i == last {
                        line.push_span(Span::styled(" …", DIM));
                    }
                    lines.push(line);
                }
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The provider list shared by the form and the switcher.
fn provider_lines(
    providers: &[ProviderInfo],
    selected: usize,
    focused: bool,
    width: u16,
) -> Vec<Line<'static>> {
    let w = providers.iter().map(|p| p.name.width()).max().unwrap_or(8) + 2;
    // The model and the credentials share what is left of the line.
    let rest = (width as usize).saturating_sub(4 + w);
    let model_w = (rest / 2).clamp(8, 30);
    let state_w = rest.saturating_sub(model_w + 1);
    providers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let sel = i == selected;
            let state = match &p.missing {
                None if !p.needs_key => Span::styled(cut("no key needed", state_w), DIM),
                None => Span::styled(cut("✓ ready", state_w), Style::new().fg(Color::Green)),
                Some(var) => Span::styled(cut(&format!("needs {var}"), state_w), DIM),
            };
            let mut line = Line::from(vec![
                Span::raw(if sel { "  ▸ " } else { "    " }),
                Span::raw(cell(&p.name, w)),
                Span::styled(cut(&p.model, model_w) + " ", DIM),
                state,
            ]);
            if sel && focused {
                line = line.style(SELECTED);
            }
            line
        })
        .collect()
}

fn label(text: &str, focused: bool) -> Span<'static> {
    let style = if focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    Span::styled(format!("{text:<10}"), style)
}

pub fn form(frame: &mut Frame, app: &App, f: &Form, area: Rect) {
    let height = app.providers.len() as u16 + 10;
    let area = centered(area, 96, height);
    let inner = window(
        frame,
        area,
        "New session",
        "Tab next field · ↑/↓ provider · Enter create · Esc back",
    );
    let mut lines = vec![Line::from(
        [
            vec![label("Name", f.focus == FormField::Name)],
            field_spans(&f.name, f.focus == FormField::Name),
            if f.name.text.is_empty() {
                vec![Span::styled("  (empty: an anonymous name)", DIM)]
            } else {
                vec![]
            },
        ]
        .concat(),
    )];
    lines.push(Line::default());
    lines.push(Line::from(vec![
        label("Provider", f.focus == FormField::Provider),
        Span::styled("(↑/↓ to choose; ✓ has credentials)", DIM),
    ]));
    lines.extend(provider_lines(
        &app.providers,
        f.provider,
        f.focus == FormField::Provider,
        inner.width,
    ));
    lines.push(Line::default());
    lines.push(Line::from(
        [
            vec![label("Model", f.focus == FormField::Model)],
            field_spans(&f.model, f.focus == FormField::Model),
        ]
        .concat(),
    ));
    if let Some(e) = &f.error {
        lines.push(Line::styled(format!("✗ {e}"), ERROR));
    } else if f.busy {
        lines.push(Line::styled("creating…", DIM));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn skills(frame: &mut Frame, app: &App, selected: usize, area: Rect) {
    let area = centered(area, 90, app.skills.len() as u16 * 2 + 4);
    let inner = window(
        frame,
        area,
        "Skill",
        "Enter use (saved to the session) · Esc back",
    );
    let mut lines = Vec::new();
    for (i, s) in app.skills.iter().enumerate() {
        let marker = if s.name == app.skill {
            "● "
        } else if i == selected {
            "▸ "
        } else {
            "  "
        };
        let mut head = Line::from(vec![
            Span::raw(marker),
            Span::styled(
                s.display_name.clone(),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("  ({})", s.name), DIM),
        ]);
        let mut desc = Line::styled(format!("    {}", s.description), DIM);
        if i == selected {
            head = head.style(SELECTED);
            desc = desc.style(SELECTED);
        }
        lines.push(head);
        lines.push(desc);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn switcher(frame: &mut Frame, app: &App, s: &Switcher, area: Rect) {
    let area = centered(area, 96, app.providers.len() as u16 + 8);
    let inner = window(
        frame,
        area,
        "Provider and model",
        "↑/↓ provider · Tab model · Enter switch · Esc back",
    );
    let mut lines = vec![Line::styled(
        "The conversation so far is kept and sent to the new model.",
        DIM,
    )];
    lines.extend(provider_lines(
        &app.providers,
        s.provider,
        !s.on_model,
        inner.width,
    ));
    lines.push(Line::default());
    lines.push(Line::from(
        [
            vec![label("Model", s.on_model)],
            field_spans(&s.model, s.on_model),
        ]
        .concat(),
    ));
    if let Some(e) = &s.error {
        lines.push(Line::styled(format!("✗ {e}"), ERROR));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
