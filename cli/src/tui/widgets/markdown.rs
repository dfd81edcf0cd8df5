//! Markdown to styled, wrapped terminal lines: headings, emphasis,
//! strikethrough, inline code, lists (nested, numbered), block quotes,
//! rules, tables (aligned columns) and fenced code blocks set apart in a
//! frame (long lines wrapped, never cut). Wrapping is ours (word by word,
//! styles kept) so that the transcript knows exactly how many lines it has.

use pulldown_cmark::{CodeBlockKind, Event as Md, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Renders `text` as markdown into lines at most `width` columns wide.
pub fn render(text: &str, width: usize) -> Vec<Line<'static>> {
    let mut r = Renderer {
        width: width.max(8),
        ..Renderer::default()
    };
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    for event in Parser::new_ext(text, options) {
        r.event(event);
    }
    r.flush();
    while r.out.last().is_some_and(|l| l.width() == 0) {
        r.out.pop();
    }
    r.out
}

/// Wraps styled spans (which may hold `\n`) to `width` columns: the first
/// line starts with `first`, the others with `rest`.
pub fn wrap(
    spans: &[Span<'static>],
    width: usize,
    first: Span<'static>,
    rest: Span<'static>,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut line: Vec<Span<'static>> = vec![first.clone()];
    let mut used = first.width();
    // `at_start`: nothing written on this line yet; `soft`: the line was
    // started by wrapping (its leading spaces are dropped).
    let mut at_start = true;
    let mut soft = false;
    let new_line = |out: &mut Vec<Line<'static>>, line: &mut Vec<Span<'static>>| {
        out.push(Line::from(std::mem::take(line)));
    };
    for span in spans {
        for piece in pieces(&span.content) {
            if piece == "\n" {
                new_line(&mut out, &mut line);
                line.push(rest.clone());
                used = rest.width();
                at_start = true;
                soft = false;
                continue;
            }
            let is_space = piece.chars().all(char::is_whitespace);
            let w = piece.width();
            if used + w > width && !at_start {
                // No trailing spaces where a line is wrapped.
                if line.len() > 1 && line.last().is_some_and(|l| l.content.trim().is_empty()) {
                    line.pop();
                }
                new_line(&mut out, &mut line);
                line.push(rest.clone());
                used = rest.width();
                at_start = true;
                soft = true;
            }
            if is_space && at_start && soft {
                continue;
            }
            if used + w <= width {
                line.push(Span::styled(piece.to_string(), span.style));
                used += w;
                at_start = false;
                continue;
            }
            // A word longer than the line: cut it.
            let mut chunk = String::new();
            for c in piece.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > width && used > rest.width() {
                    line.push(Span::styled(std::mem::take(&mut chunk), span.style));
                    new_line(&mut out, &mut line);
                    line.push(rest.clone());
                    used = rest.width();
                }
                chunk.push(c);
                used += cw;
            }
            line.push(Span::styled(chunk, span.style));
            at_start = false;
        }
    }
    out.push(Line::from(line));
    out
}

/// Words, runs of spaces and newlines.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut kind = None;
    for (i, c) in text.char_indices() {
        let k = if c == '\n' {
            2
        } else if c.is_whitespace() {
            1
        } else {
            0
        };
        if kind.is_some_and(|prev| prev != k || k == 2) {
            out.push(&text[start..i]);
            start = i;
        }
        kind = Some(k);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

pub const CODE: Style = Style::new().fg(Color::LightYellow);
const FRAME: Style = Style::new().fg(Color::DarkGray);

#[derive(Default)]
struct Renderer {
    width: usize,
    out: Vec<Line<'static>>,
    spans: Vec<Span<'static>>,
    styles: Vec<Style>,
    heading: Option<HeadingLevel>,
    /// One per open list: the next number, or `None` for bullets.
    lists: Vec<Option<u64>>,
    /// The marker of an item whose first line is not written yet.
    marker: Option<String>,
    quote: usize,
    code: Option<(String, String)>,
    link: Option<String>,
    /// The table being read: its rows of cells (plain text), the header first.
    table: Option<Vec<Vec<String>>>,
}

impl Renderer {
    fn style(&self) -> Style {
        self.styles
            .iter()
            .fold(Style::default(), |acc, s| acc.patch(*s))
    }

    fn indent(&self) -> String {
        let mut s = "│ ".repeat(self.quote);
        s.push_str(&"   ".repeat(self.lists.len().saturating_sub(1)));
        s
    }

    /// Writes the pending inline text as a wrapped block.
    fn flush(&mut self) {
        if self.spans.is_empty() && self.marker.is_none() {
            return;
        }
        let indent = self.indent();
        let (first, rest) = match self.marker.take() {
            Some(m) => {
                let pad = " ".repeat(m.width());
                (format!("{indent}{m}"), format!("{indent}{pad}"))
            }
            None if self.lists.is_empty() => (indent.clone(), indent),
            None => (format!("{indent}   "), format!("{indent}   ")),
        };
        let quote = Style::new().fg(Color::DarkGray);
        let spans = std::mem::take(&mut self.spans);
        self.out.extend(wrap(
            &spans,
            self.width,
            Span::styled(first, quote),
            Span::styled(rest, quote),
        ));
    }

    fn blank(&mut self) {
        if self.lists.is_empty() && self.out.last().is_some_and(|l| l.width() > 0) {
            if self.quote > 0 {
                self.out.push(Line::styled("│ ".repeat(self.quote), FRAME));
            } else {
                self.out.push(Line::default());
            }
        }
    }

    fn event(&mut self, event: Md) {
        if let Some(rows) = &mut self.table {
            match event {
                Md::Start(Tag::TableHead | Tag::TableRow) => rows.push(Vec::new()),
                Md::Start(Tag::TableCell) => {
                    if let Some(row) = rows.last_mut() {
                        row.push(String::new());
                    }
                }
                Md::Text(t) | Md::Code(t) => {
                    if let Some(cell) = rows.last_mut().and_then(|r| r.last_mut()) {
                        cell.push_str(&t);
                    }
                }
                Md::End(TagEnd::Table) => self.end_table(),
                _ => {}
            }
            return;
        }
        if let Some((_, code)) = &mut self.code {
            match event {
                Md::Text(t) => code.push_str(&t),
                Md::End(TagEnd::CodeBlock) => self.end_code(),
                _ => {}
            }
            return;
        }
        match event {
            Md::Start(tag) => self.start(tag),
            Md::End(tag) => self.end(tag),
            Md::Text(t) => {
                let style = self.style();
                self.spans.push(Span::styled(t.into_string(), style));
            }
            Md::Code(t) => {
                let style = self.style().patch(CODE);
                self.spans.push(Span::styled(t.into_string(), style));
            }
            Md::Html(t) | Md::InlineHtml(t) => {
                let style = self.style();
                self.spans
                    .push(Span::styled(t.trim_end_matches('\n').to_string(), style));
            }
            Md::SoftBreak => self.spans.push(Span::raw(" ")),
            Md::HardBreak => self.spans.push(Span::raw("\n")),
            Md::Rule => {
                self.flush();
                let w = self.width.saturating_sub(self.indent().width());
                self.out.push(Line::styled(
                    format!("{}{}", self.indent(), "─".repeat(w)),
                    FRAME,
                ));
                self.blank();
            }
            Md::TaskListMarker(done) => {
                self.spans
                    .push(Span::raw(if done { "[x] " } else { "[ ] " }));
            }
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Paragraph => {}
            Tag::Heading { level, .. } => {
                self.flush();
                self.heading = Some(level);
                self.styles.push(match level {
                    HeadingLevel::H1 => Style::new()
                        .fg(Color::LightMagenta)
                        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                    HeadingLevel::H2 => Style::new()
                        .fg(Color::LightMagenta)
                        .add_modifier(Modifier::BOLD),
                    _ => Style::new().add_modifier(Modifier::BOLD),
                });
            }
            Tag::Table(_) => {
                self.flush();
                self.table = Some(Vec::new());
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.quote += 1;
                self.styles
                    .push(Style::new().add_modifier(Modifier::ITALIC));
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let lang = match kind {
                    CodeBlockKind::Fenced(l) => l.split(',').next().unwrap_or("").to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::List(start) => {
                self.flush();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "• ".to_string(),
                };
                self.marker = Some(marker);
            }
            Tag::Emphasis => self
                .styles
                .push(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.styles.push(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self
                .styles
                .push(Style::new().add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.link = Some(dest_url.into_string());
                self.styles.push(
                    Style::new()
                        .fg(Color::LightBlue)
                        .add_modifier(Modifier::UNDERLINED),
                );
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                self.blank();
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.styles.pop();
                self.heading = None;
                self.blank();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.styles.pop();
                // The quote's last paragraph left a bare "│ " line: drop it.
                let bar = "│ ".repeat(self.quote);
                if self.out.last().is_some_and(|l| {
                    l.spans
                        .iter()
                        .map(|s| s.content.as_ref())
                        .collect::<String>()
                        == bar
                }) {
                    self.out.pop();
                }
                self.quote = self.quote.saturating_sub(1);
                self.blank();
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.blank();
            }
            TagEnd::Item => self.flush(),
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link => {
                self.styles.pop();
                if let Some(url) = self.link.take()
                    && !self.spans.iter().any(|s| s.content == url)
                {
                    self.spans.push(Span::styled(format!(" <{url}>"), FRAME));
                }
            }
            _ => {}
        }
    }

    /// A code block in a frame, coloured by its language, long lines
    /// wrapped.
    fn end_code(&mut self) {
        let Some((lang, code)) = self.code.take() else {
            return;
        };
        let indent = self.indent();
        let inner = self.width.saturating_sub(indent.width() + 2).max(1);
        let top_rule = "─".repeat(inner.saturating_sub(lang.width() + 1).min(40));
        self.out.push(Line::from(vec![
            Span::styled(format!("{indent}╭─{lang}"), FRAME),
            Span::styled(
                if lang.is_empty() {
                    "─".to_string()
                } else {
                    " ".to_string()
                },
                FRAME,
            ),
            Span::styled(top_rule, FRAME),
        ]));
        let source: Vec<String> = code
            .trim_end_matches('\n')
            .split('\n')
            .map(|l| l.replace('\t', "    "))
            .collect();
        let lines: Vec<&str> = source.iter().map(String::as_str).collect();
        let styled = super::highlight::highlight(&lang, &lines)
            .unwrap_or_else(|| lines.iter().map(|l| vec![(CODE, l.to_string())]).collect());
        for pieces in styled {
            // A long line goes on in the next rows (marked ↪), never cut;
            // each piece keeps its colour across the break.
            let mut row: Vec<Span<'static>> = Vec::new();
            let mut w = 0;
            let mut first = true;
            for (style, text) in pieces {
                let mut piece = String::new();
                for c in text.chars() {
                    let cw = c.width().unwrap_or(0);
                    if w + cw > inner && w > 0 {
                        if !piece.is_empty() {
                            row.push(Span::styled(std::mem::take(&mut piece), style));
                        }
                        self.push_code_row(&indent, first, std::mem::take(&mut row));
                        first = false;
                        w = 0;
                    }
                    piece.push(c);
                    w += cw;
                }
                if !piece.is_empty() {
                    row.push(Span::styled(piece, style));
                }
            }
            self.push_code_row(&indent, first, row);
        }
        self.out.push(Line::styled(format!("{indent}╰─"), FRAME));
        self.blank();
    }

    fn push_code_row(&mut self, indent: &str, first: bool, text: Vec<Span<'static>>) {
        let bar = if first { "│ " } else { "↪ " };
        let mut spans = vec![Span::styled(format!("{indent}{bar}"), FRAME)];
        spans.extend(text);
        self.out.push(Line::from(spans));
    }

    /// A table as aligned columns: the header in bold over a rule, cells
    /// one space apart either side of `│`; when the columns are wider than
    /// the screen, the widest give way (their cells are cut with `…`).
    fn end_table(&mut self) {
        let Some(rows) = self.table.take() else {
            return;
        };
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        if columns == 0 {
            return;
        }
        let mut widths = vec![0usize; columns];
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.trim().width());
            }
        }
        let indent = self.indent();
        let room = self
            .width
            .saturating_sub(indent.width() + 3 * (columns - 1))
            .max(columns);
        while widths.iter().sum::<usize>() > room {
            let widest = (0..columns).max_by_key(|&i| widths[i]).unwrap_or(0);
            if widths[widest] <= 1 {
                break;
            }
            widths[widest] -= 1;
        }
        for (r, row) in rows.iter().enumerate() {
            let mut spans = vec![Span::styled(indent.clone(), FRAME)];
            for (i, width) in widths.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" │ ", FRAME));
                }
                let cell = fit(row.get(i).map_or("", |c| c.trim()), *width);
                let style = if r == 0 {
                    Style::new().add_modifier(Modifier::BOLD)
                } else {
                    Style::default()
                };
                spans.push(Span::styled(cell, style));
            }
            self.out.push(Line::from(spans));
            if r == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.out
                    .push(Line::styled(format!("{indent}{}", rule.join("─┼─")), FRAME));
            }
        }
        self.blank();
    }
}

/// `text` padded or cut (with `…`) to exactly `width` columns.
fn fit(text: &str, width: usize) -> String {
    let cut = crate::output::clip(text, width);
    let pad = width.saturating_sub(cut.width());
    format!("{cut}{}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect()
    }

    #[test]
    fn blocks_are_set_apart() {
        let md = "# Plan\n\nUse **two** stacks:\n\n- prod\n- staging\n  1. nested\n\n```yaml\nvars:\n  cidr: 10.0.0.0/16\n```\nDone.";
        assert_eq!(
            plain(&render(md, 40)),
            vec![
                "Plan",
                "",
                "Use two stacks:",
                "",
                "• prod",
                "• staging",
                "   1. nested",
                "",
                "╭─yaml ─────────────────────────────────",
                "│ vars:",
                "│   cidr: 10.0.0.0/16",
                "╰─",
                "",
                "Done.",
            ]
        );
    }

    #[test]
    fn words_wrap_and_long_words_are_cut() {
        let lines = render("alpha beta gamma delta epsilonzetaetathetaiota", 12);
        assert_eq!(
            plain(&lines),
            vec!["alpha beta", "gamma delta", "epsilonzetae", "tathetaiota"]
        );
        let items = render("- one two three four five six", 14);
        assert_eq!(
            plain(&items),
            vec!["• one two", "  three four", "  five six"]
        );
    }

    #[test]
    fn tables_are_aligned_columns_and_give_way_to_the_width() {
        let md =
            "| env | cidr |\n|-----|------|\n| prod | 10.40.0.0/16 |\n| staging | 10.41.0.0/16 |\n";
        assert_eq!(
            plain(&render(md, 60)),
            vec![
                "env     │ cidr        ",
                "────────┼─────────────",
                "prod    │ 10.40.0.0/16",
                "staging │ 10.41.0.0/16",
            ]
        );
        let narrow = plain(&render(md, 16));
        assert!(narrow.iter().all(|l| l.width() <= 16), "{narrow:?}");
        assert!(narrow[2].contains('…'), "{narrow:?}");
    }

    #[test]
    fn strikethrough_is_struck_and_a_quote_leaves_no_stray_bar() {
        let lines = render("~~old~~ new", 40);
        let struck = lines[0]
            .spans
            .iter()
            .find(|s| s.content == "old")
            .expect("the struck word");
        assert!(struck.style.add_modifier.contains(Modifier::CROSSED_OUT));
        assert_eq!(plain(&lines), vec!["old new"]);
        assert_eq!(
            plain(&render("> quoted\n\nafter", 40)),
            vec!["│ quoted", "", "after"]
        );
    }

    #[test]
    fn long_code_lines_wrap_instead_of_being_cut() {
        let md = "```\nresource \"aws_vpc\" \"main\" { cidr_block = \"10.40.0.0/16\" }\n```";
        let lines = plain(&render(md, 24));
        let code: String = lines[1..lines.len() - 1]
            .iter()
            .map(|l| l.trim_start_matches(['│', '↪', ' ']))
            .collect();
        assert_eq!(
            code,
            "resource \"aws_vpc\" \"main\" { cidr_block = \"10.40.0.0/16\" }"
        );
        assert!(lines[2].starts_with("↪ "), "{lines:?}");
        assert!(lines.iter().all(|l| l.width() <= 24), "{lines:?}");
    }
}
