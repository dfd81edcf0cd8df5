//! Ages for `clean --older-than`: a whole number and one unit of h, d, w, m.
//!
//! Written here rather than taken from a crate because the units are the
//! seed's own: `m` means months of 30 days (general-purpose parsers such as
//! humantime read `m` as minutes), and anything else must be refused.

use chrono::Duration;

/// Parses `30d`, `12h`, `2w`, `6m` (30-day months). `0d` is zero.
pub fn parse_age(value: &str) -> Option<Duration> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let hours_per_unit = match unit {
        'h' => 1,
        'd' => 24,
        'w' => 24 * 7,
        'm' => 24 * 30,
        _ => return None,
    };
    let hours = n.checked_mul(hours_per_unit)?;
    // chrono panics past about 292 billion years; refuse long before.
    if hours > 24 * 365 * 10_000 {
        return None;
    }
    Some(Duration::hours(hours))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit() {
        let cases = [
            ("1h", Some(1)),
            ("30d", Some(30 * 24)),
            ("2w", Some(14 * 24)),
            ("1m", Some(30 * 24)),
            ("6m", Some(180 * 24)),
            ("0d", Some(0)),
            ("0h", Some(0)),
            ("007d", Some(7 * 24)),
        ];
        for (input, hours) in cases {
            assert_eq!(parse_age(input), hours.map(Duration::hours), "{input}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for input in [
            "",
            "30",
            "d",
            "5s",
            "1y",
            "-1d",
            "+1d",
            "1.5d",
            "1 d",
            " 1d",
            "1d ",
            "1D",
            "1dd",
            "1d2h",
            "1M",
            "１d",
            "99999999999999999999d",
            "9999999m",
        ] {
            assert_eq!(parse_age(input), None, "{input:?}");
        }
    }
}
