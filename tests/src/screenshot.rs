//! A terminal screen, as tmux's `capture-pane -e` gives it (text with SGR
//! escape sequences), drawn as an SVG for the docs: each run of cells in
//! one style becomes a `<tspan>` in a monospace `<text>` per row.

use std::fmt::Write as _;

/// The 16 colours of the palette (xterm's defaults, on a dark background).
const PALETTE: [&str; 16] = [
    "#1e1e1e", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
    "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
];
const FOREGROUND: &str = "#d4d4d4";
const BACKGROUND: &str = "#1e1e1e";

#[derive(Clone, Default, PartialEq)]
struct Pen {
    fg: Option<String>,
    bg: Option<String>,
    bold: bool,
    dim: bool,
    italic: bool,
    reverse: bool,
}

fn colour(n: u16) -> String {
    match n {
        0..=15 => PALETTE[n as usize].to_string(),
        16..=231 => {
            let n = n - 16;
            let level = |v: u16| if v == 0 { 0 } else { 55 + v * 40 };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(n / 36),
                level(n / 6 % 6),
                level(n % 6)
            )
        }
        _ => {
            let g = 8 + (n - 232) * 10;
            format!("#{g:02x}{g:02x}{g:02x}")
        }
    }
}

impl Pen {
    fn apply(&mut self, params: &str) {
        let codes: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let mut i = 0;
        while i < codes.len() {
            match codes[i] {
                0 => *self = Pen::default(),
                1 => self.bold = true,
                2 => self.dim = true,
                3 => self.italic = true,
                7 => self.reverse = true,
                22 => (self.bold, self.dim) = (false, false),
                23 => self.italic = false,
                27 => self.reverse = false,
                c @ 30..=37 => self.fg = Some(colour(c - 30)),
                c @ 90..=97 => self.fg = Some(colour(c - 90 + 8)),
                c @ 40..=47 => self.bg = Some(colour(c - 40)),
                c @ 100..=107 => self.bg = Some(colour(c - 100 + 8)),
                39 => self.fg = None,
                49 => self.bg = None,
                c @ (38 | 48) => {
                    let value = match codes.get(i + 1) {
                        Some(5) => {
                            i += 2;
                            codes.get(i).map(|&n| colour(n))
                        }
                        Some(2) => {
                            i += 4;
                            let rgb = |k: usize| codes.get(i - 2 + k).copied().unwrap_or(0);
                            Some(format!("#{:02x}{:02x}{:02x}", rgb(0), rgb(1), rgb(2)))
                        }
                        _ => None,
                    };
                    if c == 38 {
                        self.fg = value;
                    } else {
                        self.bg = value;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn colours(&self) -> (String, Option<String>) {
        let fg = self.fg.clone().unwrap_or_else(|| FOREGROUND.to_string());
        match self.reverse {
            true => (
                self.bg.clone().unwrap_or_else(|| BACKGROUND.to_string()),
                Some(fg),
            ),
            false => (fg, self.bg.clone()),
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The screen `ansi` (rows separated by newlines) as an SVG of `cols`
/// columns.
pub fn svg(ansi: &str, cols: usize) -> String {
    let (cw, ch) = (8.4, 17.0);
    let rows: Vec<&str> = ansi.lines().collect();
    let (width, height) = (cols as f64 * cw + 16.0, rows.len() as f64 * ch + 16.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="14">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" rx="6" fill="{BACKGROUND}"/>"#
    );
    let mut pen = Pen::default();
    for (r, row) in rows.iter().enumerate() {
        let y = 8.0 + r as f64 * ch;
        // Cells in runs of one style: (column, pen, text).
        let mut runs: Vec<(usize, Pen, String)> = Vec::new();
        let mut col = 0;
        let mut chars = row.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' && chars.peek() == Some(&'[') {
                chars.next();
                let mut params = String::new();
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() {
                        if p == 'm' {
                            pen.apply(&params);
                        }
                        break;
                    }
                    params.push(p);
                }
                continue;
            }
            match runs.last_mut() {
                Some((_, p, text)) if *p == pen => text.push(c),
                _ => runs.push((col, pen.clone(), c.to_string())),
            }
            col += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        }
        for (at, p, text) in &runs {
            let (fg, bg) = p.colours();
            let x = 8.0 + *at as f64 * cw;
            let cells = unicode_width::UnicodeWidthStr::width(text.as_str());
            if let Some(bg) = bg {
                let _ = writeln!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{ch}" fill="{bg}"/>"#,
                    cells as f64 * cw
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let mut style = String::new();
            if p.bold {
                style.push_str(r#" font-weight="bold""#);
            }
            if p.italic {
                style.push_str(r#" font-style="italic""#);
            }
            if p.dim {
                style.push_str(r#" opacity="0.6""#);
            }
            let _ = writeln!(
                out,
                r#"<text x="{x:.1}" y="{:.1}" fill="{fg}" xml:space="preserve" textLength="{:.1}" lengthAdjust="spacingAndGlyphs"{style}>{}</text>"#,
                y + 13.0,
                cells as f64 * cw,
                escape(text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_become_colours_and_text_is_escaped() {
        let out = svg(
            "plain \x1b[34mblue\x1b[0m <b>\n\x1b[38;5;196;1mred\x1b[0m",
            20,
        );
        assert!(
            out.contains(r##"fill="#2472c8""##) && out.contains(">blue</text>"),
            "{out}"
        );
        assert!(out.contains("&lt;b&gt;"), "{out}");
        assert!(
            out.contains(r##"fill="#ff0000""##) && out.contains(r#"font-weight="bold""#),
            "{out}"
        );
    }
}
