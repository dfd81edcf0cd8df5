//! What the model sees in a turn: the skill's system prompt with the
//! session's summaries, then the newest active messages of both sides in
//! order (the new message last, once), the new message carrying the context
//! the editor attached to it.

use atmos_providers::{ChatMessage, Role as WireRole};
use atmos_store::{ContextRef, Message, Role};

/// The system prompt: the skill's instructions, then each live summary.
pub fn system_prompt(skill_prompt: &str, window: &[Message]) -> String {
    let mut prompt = skill_prompt.trim_end().to_string();
    for s in window.iter().filter(|m| m.is_summary) {
        prompt.push_str(&format!(
            "\n\n## Summary of the earlier conversation\n\n{}",
            s.content.trim_end()
        ));
    }
    prompt
}

/// The conversation part: the non-summary messages of the window, oldest
/// first, with `context` attached to the last one (the new message).
///
/// Shaped so that every provider accepts it: messages of one role in a row
/// (a user message whose turn failed, then the next) are sent as one, and a
/// window that starts with a reply whose question fell outside it starts at
/// the next user message instead (Bedrock and Gemini refuse both shapes).
pub fn messages(window: &[Message], context: &[ContextRef]) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::with_capacity(window.len());
    for m in window.iter().filter(|m| !m.is_summary) {
        let role = wire_role(m.role);
        if out.is_empty() && role == WireRole::Assistant {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == role => {
                last.content.push_str("\n\n");
                last.content.push_str(&m.content);
            }
            _ => out.push(ChatMessage::new(role, m.content.clone())),
        }
    }
    if !context.is_empty()
        && let Some(last) = out.last_mut()
    {
        last.content = with_context(&last.content, context);
    }
    out
}

/// The user's text preceded by the attached context, as sent (not stored).
pub fn with_context(text: &str, context: &[ContextRef]) -> String {
    let mut s = String::from("Context attached to this message:\n");
    for c in context {
        let what = match (&c.uri, &c.range) {
            (Some(u), Some(r)) => format!("{} {} {}", c.kind.as_str(), u, r),
            (Some(u), None) => format!("{} {}", c.kind.as_str(), u),
            _ => c.kind.as_str().to_string(),
        };
        s.push_str(&format!("\n[{what}]\n```\n{}\n```\n", c.text.trim_end()));
    }
    s.push('\n');
    s.push_str(text);
    s
}

fn wire_role(r: Role) -> WireRole {
    match r {
        Role::User => WireRole::User,
        Role::Assistant => WireRole::Assistant,
        Role::System => WireRole::System,
    }
}

/// Estimated tokens of a text: one per four bytes, rounded up. Used where a
/// provider reports no usage and for compaction figures.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Estimated tokens of a whole request.
pub fn estimate_request(system: &str, messages: &[ChatMessage]) -> u64 {
    estimate_tokens(system)
        + messages
            .iter()
            .map(|m| estimate_tokens(&m.content) + 4)
            .sum::<u64>()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use atmos_store::Role;

    /// A plain unarchived message, for the unit tests of this crate.
    pub(crate) fn msg(id: i64, role: Role, text: &str) -> Message {
        Message {
            id,
            session_id: "s".into(),
            role,
            content: text.into(),
            created_at: chrono::Utc::now(),
            archived: false,
            interrupted: false,
            is_summary: false,
            summary_range: None,
            usage: None,
            tokens_before: None,
            tokens_after: None,
            context: Vec::new(),
            pinned: false,
        }
    }

    fn shape(out: &[ChatMessage]) -> Vec<(WireRole, &str)> {
        out.iter().map(|m| (m.role, m.content.as_str())).collect()
    }

    #[test]
    fn every_provider_gets_alternating_turns_starting_with_the_user() {
        let window = [
            msg(1, Role::Assistant, "orphaned reply"),
            msg(2, Role::User, "first try"),
            msg(3, Role::User, "second try"),
            msg(4, Role::Assistant, "answer"),
            msg(5, Role::User, "next"),
        ];
        assert_eq!(
            shape(&messages(&window, &[])),
            [
                (WireRole::User, "first try\n\nsecond try"),
                (WireRole::Assistant, "answer"),
                (WireRole::User, "next"),
            ]
        );
    }
}
