//! Code blocks coloured by language: syntect with two-face's syntaxes (bat's
//! set, Terraform/HCL and Dockerfile included) and its `ansi` theme, which
//! uses the terminal's own palette, so it reads on dark and light
//! backgrounds alike. Nothing is highlighted under `NO_COLOR`, or for a
//! language it does not know (the block stays plain).

use ratatui::style::{Color, Modifier, Style};
use std::sync::LazyLock;
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, Theme};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

// Loaded on the first code block, not at start-up (a few ms; each
// language's rules are compiled when first used).
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(two_face::syntax::extra_newlines);
static THEME: LazyLock<Theme> = LazyLock::new(|| {
    two_face::theme::extra()
        .get(two_face::theme::EmbeddedThemeName::Ansi)
        .clone()
});

/// One source line as styled pieces.
pub type Styled = Vec<(Style, String)>;

/// `code` (lines without their `\n`), coloured as `lang` (a fence's info
/// word: `hcl`, `yaml`, `sh`…); `None` when it stays plain.
pub fn highlight(lang: &str, code: &[&str]) -> Option<Vec<Styled>> {
    if colour_off() {
        return None;
    }
    coloured(lang, code)
}

fn coloured(lang: &str, code: &[&str]) -> Option<Vec<Styled>> {
    if lang.is_empty() {
        return None;
    }
    let syntax = SYNTAXES
        .find_syntax_by_token(lang)
        .or_else(|| SYNTAXES.find_syntax_by_extension(lang))?;
    let mut h = HighlightLines::new(syntax, &THEME);
    let mut out = Vec::with_capacity(code.len());
    let text = code.join("\n") + "\n";
    for line in LinesWithEndings::from(&text) {
        let pieces = h.highlight_line(line, &SYNTAXES).ok()?;
        out.push(
            pieces
                .into_iter()
                .map(|(s, t)| (style(s), t.trim_end_matches('\n').to_string()))
                .filter(|(_, t)| !t.is_empty())
                .collect(),
        );
    }
    Some(out)
}

/// `NO_COLOR` set to anything (https://no-color.org).
fn colour_off() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The `ansi` theme's colours: alpha 0 names a palette entry (in red),
/// alpha 1 the terminal's default colour.
fn style(s: syntect::highlighting::Style) -> Style {
    let fg = s.foreground;
    let mut style = match fg.a {
        0 => Style::new().fg(Color::Indexed(fg.r)),
        1 => Style::new(),
        _ => Style::new().fg(Color::Rgb(fg.r, fg.g, fg.b)),
    };
    if s.font_style.contains(FontStyle::BOLD) {
        style = style.add_modifier(Modifier::BOLD);
    }
    if s.font_style.contains(FontStyle::ITALIC) {
        style = style.add_modifier(Modifier::ITALIC);
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_yaml_and_shell_are_coloured_and_unknown_languages_are_not() {
        for (lang, code) in [
            (
                "hcl",
                "resource \"aws_vpc\" \"main\" {\n  cidr_block = \"10.0.0.0/16\"\n}",
            ),
            ("terraform", "variable \"region\" {}"),
            ("yaml", "vars:\n  cidr: 10.0.0.0/16"),
            (
                "sh",
                "export REGION=\"us-east-2\"  # prod\natmos terraform plan vpc -s prod",
            ),
        ] {
            let lines: Vec<&str> = code.split('\n').collect();
            // `coloured`: the tests' environment may set NO_COLOR.
            let out = coloured(lang, &lines).expect(lang);
            assert_eq!(out.len(), lines.len(), "{lang}");
            // The text is unchanged, only styled.
            let text: Vec<String> = out
                .iter()
                .map(|l| l.iter().map(|(_, t)| t.as_str()).collect())
                .collect();
            assert_eq!(text, lines, "{lang}");
            let colours = out
                .iter()
                .flatten()
                .filter_map(|(s, _)| s.fg)
                .collect::<std::collections::HashSet<_>>();
            assert!(colours.len() >= 2, "{lang}: {colours:?}");
        }
        assert!(coloured("no-such-language", &["x = 1"]).is_none());
        assert!(coloured("", &["x = 1"]).is_none());
    }
}
