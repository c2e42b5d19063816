//! Attacker-controlled text made safe for a terminal, a Markdown report, or a CSV cell.
//! Control characters (C0, DEL, C1), escape sequences, bidi overrides and invisible format
//! characters are shown as visible escapes (`\x1b`, `\u{202e}`); nothing reaches the terminal raw.

use std::borrow::Cow;
use std::fmt::Write;

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// Escapes every control or invisible formatting character. `\n`, `\r`, `\t` become `\n`, `\r`, `\t`.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_dangerous) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_dangerous(c) => {
                let code = u32::from(c);
                if code < 0x100 {
                    let _ = write!(out, "\\x{code:02x}");
                } else {
                    let _ = write!(out, "\\u{{{code:04x}}}");
                }
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Sanitized and cut to at most `max` characters (with `…` when cut).
pub fn clip(text: &str, max: usize) -> String {
    let safe = for_terminal(text);
    if safe.chars().count() <= max {
        return safe.into_owned();
    }
    let mut out: String = safe.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A CSV cell that spreadsheet programs will not run as a formula.
pub fn for_csv(text: &str) -> String {
    let safe = for_terminal(text).into_owned();
    match safe.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{safe}"),
        // A leading escaped tab or CR is shown as `\t`/`\r`: already inert.
        _ => safe,
    }
}

/// Text for a Markdown table cell or paragraph: markup characters escaped, no raw HTML.
pub fn for_markdown(text: &str) -> String {
    let safe = for_terminal(text);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        if matches!(
            c,
            '|' | '*' | '_' | '[' | ']' | '<' | '>' | '`' | '#' | '\\' | '~' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched() {
        assert!(matches!(
            for_terminal("C:\\Windows\\PSEXESVC.exe"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escapes_sequences_and_controls() {
        assert_eq!(for_terminal("a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(for_terminal("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(for_terminal("nul\0"), "nul\\x00");
        assert_eq!(for_terminal("c1\u{9b}"), "c1\\x9b");
        assert_eq!(for_terminal("l1\nl2"), "l1\\nl2");
    }

    #[test]
    fn csv_neutralizes_formulas() {
        assert_eq!(for_csv("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(for_csv("+1"), "'+1");
        assert_eq!(for_csv("-2"), "'-2");
        assert_eq!(for_csv("@SUM(1)"), "'@SUM(1)");
        assert_eq!(for_csv("\tx"), "\\tx");
        assert_eq!(for_csv("PSEXESVC"), "PSEXESVC");
    }

    #[test]
    fn markdown_escapes_markup() {
        assert_eq!(
            for_markdown("a|b*c_[d](e)<f>`g`"),
            "a\\|b\\*c\\_\\[d\\](e)\\<f\\>\\`g\\`"
        );
    }

    #[test]
    fn clip_counts_chars() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
