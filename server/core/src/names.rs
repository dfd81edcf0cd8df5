//! Session names: the rule every name follows, and anonymous names.

use chrono::{DateTime, Utc};

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// The rule, as one sentence for error messages and `data.rule`.
pub const NAME_RULE: &str = "1-128 letters, digits, '.', '_', '-' or inner spaces";

/// Checks a session name; `Err` carries the part of the rule it breaks.
pub fn validate(name: &str) -> Result<(), &'static str> {
    let count = name.chars().count();
    if count == 0 {
        return Err("a name cannot be empty");
    }
    if count > MAX_NAME_CHARS {
        return Err("a name has at most 128 characters");
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err("a name cannot start or end with a space");
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ' '))
    {
        return Err("a name holds only letters, digits, '.', '_', '-' and inner spaces");
    }
    Ok(())
}

/// `chat-YYYYMMDD-HHMMSS`, with `-2`, `-3`, … when `taken` says the name is in use.
pub fn anonymous(now: DateTime<Utc>, mut taken: impl FnMut(&str) -> bool) -> String {
    let base = format!("chat-{}", now.format("%Y%m%d-%H%M%S"));
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken(candidate))
        .expect("an unbounded range finds a free name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_follow_the_rule() {
        let long_ok = "a".repeat(128);
        let too_long = "a".repeat(129);
        let cases: &[(&str, bool)] = &[
            ("vpc-refactor", true),
            ("vpc refactor", true),
            ("v1.2_final", true),
            ("Ünïcode名前", true),
            ("x", true),
            (&long_ok, true),
            ("", false),
            (&too_long, false),
            (" leading", false),
            ("trailing ", false),
            ("slash/name", false),
            ("tab\tname", false),
            ("new\nline", false),
            ("emoji🙂", false),
            ("semi;colon", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate(name).is_ok(), *ok, "{name:?}");
        }
    }

    #[test]
    fn anonymous_names_get_a_suffix_when_taken() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 3, 49, 43).unwrap();
        assert_eq!(anonymous(now, |_| false), "chat-20261124-034943");
        let taken = ["chat-20261124-034943", "chat-20261124-034943-2"];
        assert_eq!(
            anonymous(now, |n| taken.contains(&n)),
            "chat-20261124-034943-3"
        );
    }
}
