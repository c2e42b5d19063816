//! Allow-list patterns and values: a glob never panics or blows up; a literal entry (a value
//! copied from a finding) covers exactly that value, whatever characters the attacker put in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svchop::detect::allowlist::{AllowEntry, AllowField, AllowSpec};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, value) = text.split_once('\u{0}').unwrap_or((text, text));
    for literal in [false, true] {
        let spec = AllowSpec {
            field: AllowField::ServiceName,
            pattern: pattern.to_string(),
            reason: "fuzz".into(),
            literal,
            and: Vec::new(),
        };
        let Ok(entry) = AllowEntry::new(spec, "fuzz") else {
            continue;
        };
        if literal {
            let same = pattern.trim().to_lowercase() == value.trim().to_lowercase();
            let hit = entry.matches_value(value);
            // Case folding can differ for a few characters between the two; exact copies match.
            assert!(
                !(pattern == value && !hit),
                "a literal entry covers its own value"
            );
            if hit && !same {
                assert!(
                    pattern.trim().chars().count() == value.trim().chars().count(),
                    "a literal entry covered another value: {pattern:?} vs {value:?}"
                );
            }
        } else {
            let _ = entry.matches_value(value);
        }
    }
});
