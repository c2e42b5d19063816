//! Attacker-controlled text made safe for a terminal, a Markdown report, or a CSV cell.
//! Control characters (C0, DEL, C1), escape sequences, bidi overrides and invisible format
//! characters are shown as visible escapes (`\x1b`, `\u{202e}`); nothing reaches the terminal raw.

use std::borrow::Cow;
use std::fmt::Write;

/// The one policy of what never reaches a terminal or an export as itself (every sink escapes
/// exactly these): C0 and C1 controls and DEL; bidi controls (U+061C, U+200E/F, U+202A-E,
/// U+2066-9) that reorder what a reader sees; invisible characters that hide or fake text (zero
/// width U+200B-D, U+2060-4, U+FEFF, soft hyphen U+00AD, U+034F, U+180E, interlinear annotation
/// U+FFF9-B, Hangul fillers U+115F/U+1160/U+3164/U+FFA0, tag characters U+E0000-E007F); and the
/// line and paragraph separators U+2028/U+2029, which break lines in terminals and JavaScript.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

fn is_dangerous(c: char) -> bool {
    is_hidden(c)
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

/// An analyst's own text (a note, a line of it) for the terminal: a tab shown as the spaces it
/// stands for, not as `\t`; every other control character escaped as `for_terminal` does.
pub fn for_note(text: &str) -> Cow<'_, str> {
    if !text.contains('\t') {
        return for_terminal(text);
    }
    Cow::Owned(for_terminal(&text.replace('\t', "    ")).into_owned())
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
    // `scheme://` and `www.` would become live links in a renderer: an escape keeps them text.
    if out.contains("://") || out.to_ascii_lowercase().contains("www.") {
        out = out
            .replace("://", "\\://")
            .replace("www.", "www\\.")
            .replace("WWW.", "WWW\\.");
    }
    out
}

/// A multi-line text (an analyst's note) for Markdown: each line escaped as `for_markdown` does,
/// its line breaks kept as hard breaks (`indent` continues a list item), never a literal `\n`.
pub fn for_markdown_lines(text: &str, indent: &str) -> String {
    // The analyst's tabs stay tabs (whitespace in Markdown), not an escaped `\t`.
    text.trim_end()
        .split('\n')
        .map(|l| {
            l.trim_end_matches('\r')
                .split('\t')
                .map(for_markdown)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join(&format!("  \n{indent}"))
}

/// JSON text made safe to print on a terminal: `serde_json` already escapes C0 controls; this also
/// escapes DEL, C1 controls and bidi/invisible formatting characters as `\uXXXX` (they can only
/// occur inside strings, where the escape decodes to the same text).
pub fn for_json(json: String) -> String {
    // The one sanitizer policy (`model::sanitize::is_hidden`); C0 controls are already escaped
    // by the JSON writer, everything else it lets through raw is escaped here as \uXXXX (a
    // surrogate pair beyond the Basic Multilingual Plane).
    let risky = |c: char| is_hidden(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(risky) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if risky(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", *u));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_policy_for_invisible_and_reordering_characters() {
        for c in [
            '\u{61c}',
            '\u{ad}',
            '\u{180e}',
            '\u{2028}',
            '\u{2029}',
            '\u{e0041}',
            '\u{3164}',
        ] {
            assert!(is_hidden(c), "{c:?}");
            assert!(!for_terminal(&format!("a{c}b")).contains(c));
            assert!(!for_json(format!("\"a{c}b\"")).contains(c));
        }
        assert_eq!(for_json("\"\u{e0041}\"".into()), "\"\\udb40\\udc41\"");
        assert_eq!(for_json("{\n  \"a\": 1\n}".into()), "{\n  \"a\": 1\n}");
        assert_eq!(
            for_markdown("see http://x.example"),
            "see http\\://x.example"
        );
        assert_eq!(for_markdown("C:\\x"), "C:\\\\x");
    }

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
    fn markdown_keeps_a_notes_lines() {
        let md = for_markdown_lines("first *line*\r\nsecond | line\n", "  ");
        assert_eq!(md, "first \\*line\\*  \n  second \\| line");
        assert!(!md.contains("\\n"), "no literal \\n: {md}");
        // The terminal escape's backslash is itself escaped: it renders as the text `\x1b`.
        assert_eq!(for_markdown_lines("a\u{1b}[2Jb", ""), "a\\\\x1b\\[2Jb");
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
