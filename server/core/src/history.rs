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

/// The conversation part: every non-summary message of the window, oldest
/// first. `context` is attached to the last message (the new one).
pub fn messages(window: &[Message], context: &[ContextRef]) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = window
        .iter()
        .filter(|m| !m.is_summary)
        .map(|m| ChatMessage::new(wire_role(m.role), m.content.clone()))
        .collect();
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
