//! Session titles: a short line saying what a session is about, shown next
//! to its name (never instead of it).
//!
//! A session gets its title when its first exchange is stored: the first
//! line of the question ([`plain_title`]) at once, then, when
//! `auto_compact.use_ai_summary` is on and the face keeps running (the
//! server, the TUI), an AI title written in the background
//! ([`ai_title`]), which replaces the plain one only if nobody changed it
//! meanwhile. A title the user set (or cleared) is never replaced.

use crate::error::{Error, Result};
use crate::sessions::Sessions;
use atmos_providers::{ChatMessage, ChatRequest, Provider, Role as WireRole};
use atmos_store::Session;

/// The longest title made from a question, in characters.
pub const TITLE_CHARS: usize = 60;
/// The longest title a user may set, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// The instructions for AI titles.
pub const TITLE_PROMPT: &str = "You name conversations between an infrastructure engineer and an \
AI assistant. Reply with a title of at most eight words for the conversation below: no quotes, \
no trailing period, no preamble. Keep stack, component and resource names exactly as written.";

/// The first line of a question with words in it, without markdown marks,
/// cut at a word boundary to [`TITLE_CHARS`] (with "…").
pub fn plain_title(question: &str) -> String {
    let line = question
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(['#', '>', '-', '*', ' '])
                .trim()
        })
        .find(|l| l.chars().any(char::is_alphanumeric))
        .unwrap_or("");
    shorten(&line.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `text` cut at a word boundary to [`TITLE_CHARS`] characters, with "…".
fn shorten(text: &str) -> String {
    if text.chars().count() <= TITLE_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(TITLE_CHARS - 1).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i > TITLE_CHARS / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([' ', ',', ';', ':', '.']))
}

/// A title the user gives: one line, at most [`MAX_TITLE_CHARS`]; `""`
/// clears the title.
pub fn check_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.chars().any(char::is_control) {
        return Err(Error::invalid_param(
            "title",
            "a title is one line of text: it cannot hold line breaks or control characters",
        ));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::invalid_param(
            "title",
            format!("a title has at most {MAX_TITLE_CHARS} characters"),
        ));
    }
    Ok(title.to_string())
}

/// Asks `provider` for a title of the exchange; `None` when it fails or
/// gives nothing usable (the plain title stays).
pub async fn ai_title(
    provider: &dyn Provider,
    model: &str,
    question: &str,
    reply: &str,
) -> Option<String> {
    let excerpt = |t: &str| t.chars().take(2_000).collect::<String>();
    let request = ChatRequest {
        model: model.to_string(),
        system: Some(TITLE_PROMPT.to_string()),
        messages: vec![ChatMessage::new(
            WireRole::User,
            format!(
                "Question:\n{}\n\nAnswer:\n{}",
                excerpt(question),
                excerpt(reply)
            ),
        )],
        max_tokens: Some(32),
        stream: false,
    };
    let mut ignore = |_| {};
    match provider.chat(&request, &mut ignore).await {
        Ok(c) => {
            let title = plain_title(c.text.trim().trim_matches(['"', '\'', '`', '*']));
            let title = title.trim_end_matches('.').trim().to_string();
            (!title.is_empty()).then_some(title)
        }
        Err(e) => {
            tracing::warn!("AI title failed, keeping the first line of the question: {e}");
            None
        }
    }
}

impl Sessions {
    /// After a session's exchange is stored: its plain title, when it has
    /// none yet. Returns the title given (`None`: it had one, or the user
    /// cleared it).
    pub(crate) fn title_first_exchange(
        &mut self,
        session_id: &str,
        question: &str,
    ) -> Result<Option<String>> {
        if !self.store().title_unset(session_id)? {
            return Ok(None);
        }
        let title = plain_title(question);
        if title.is_empty() {
            return Ok(None);
        }
        Ok(self
            .store_mut()
            .set_title_if_unset(session_id, &title)?
            .map(|_| title))
    }

    /// Replaces the plain title `plain` with `better`, unless the title was
    /// changed meanwhile (the user's title wins). The session when it was.
    pub(crate) fn improve_title(
        &mut self,
        session_id: &str,
        plain: &str,
        better: &str,
    ) -> Result<Option<Session>> {
        if plain == better {
            return Ok(None);
        }
        Ok(self.store_mut().replace_title(session_id, plain, better)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_titles() {
        let cases = [
            (
                "How should I lay out the VPC?",
                "How should I lay out the VPC?",
            ),
            (
                "\n\n## Plan the   EKS upgrade\nmore",
                "Plan the EKS upgrade",
            ),
            ("```\n---\n> why does plan fail", "why does plan fail"),
            ("", ""),
            (
                "Please review the security group rules of the production VPC and the peering",
                "Please review the security group rules of the production…",
            ),
            (&"x".repeat(100), &format!("{}…", "x".repeat(59))),
        ];
        for (question, want) in cases {
            assert_eq!(plain_title(question), want, "{question:?}");
            assert!(plain_title(question).chars().count() <= TITLE_CHARS);
        }
    }

    #[test]
    fn user_titles_are_checked() {
        assert_eq!(check_title("  VPC plan ").unwrap(), "VPC plan");
        assert_eq!(check_title("").unwrap(), "");
        assert!(check_title("two\nlines").is_err());
        assert!(check_title(&"x".repeat(201)).is_err());
    }
}
