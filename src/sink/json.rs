//! JSON as svchop writes it everywhere (findings, events, sources, reports, case exports): the
//! serde text with every character a terminal could act on escaped (`model::sanitize::for_json`),
//! so a finding printed to a terminal or piped into a viewer cannot move the cursor or hide text.
//! Every JSON output goes through here; nothing else calls the sanitizer on JSON.

use serde::Serialize;

/// One value as pretty-printed JSON, made safe (no newline at the end).
pub fn pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(crate::model::sanitize::for_json)
}

/// One value as a JSON line, made safe, with its newline.
pub fn line<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(value).map(|s| crate::model::sanitize::for_json(s) + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_json_keeps_meaning() {
        let v = serde_json::json!({"s": "a\u{9b}b\u{202e}c"});
        for text in [pretty(&v).unwrap(), line(&v).unwrap()] {
            assert!(text.is_ascii(), "{text}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, v);
        }
        assert!(line(&v).unwrap().ends_with('\n'));
    }
}
