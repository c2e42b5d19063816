//! The text editor every note, step note and the filter use: one line or several, a cursor that
//! moves by character, word and line, word and line deletion, paste; `ctrl-s` saves everywhere
//! (Enter too on one line); `Esc` on changed text asks before throwing it away.

/// What a text editor is editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditTarget {
    Finding(String),
    Case,
    Step {
        finding: String,
        step: String,
    },
    /// The filter line (`f`).
    Filter,
    /// The search line (`/`).
    Search,
    /// The time to jump to (`:`).
    Jump,
}

/// Cursor movements and deletions (the keys are in `assets/keymap.toml`'s `editor` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKey {
    Left,
    Right,
    WordLeft,
    WordRight,
    /// Start / end of the line.
    Home,
    End,
    Up,
    Down,
    Backspace,
    Delete,
    /// ctrl-w: the word before the cursor.
    DeleteWordBack,
    /// ctrl-u: from the start of the line to the cursor.
    DeleteToLineStart,
    /// ctrl-k: from the cursor to the end of the line.
    DeleteToLineEnd,
}

#[derive(Debug, Clone)]
pub struct Editor {
    pub target: EditTarget,
    pub text: String,
    /// Byte offset into `text`, always on a character boundary.
    pub cursor: usize,
    pub multiline: bool,
    /// The text as it was when the editor opened (to tell whether anything changed).
    pub original: String,
    /// `Esc` was pressed on changed text: the next `Esc` discards it.
    pub confirm_discard: bool,
}

impl Editor {
    /// An editor on `text`, the cursor at its end.
    pub fn new(target: EditTarget, text: String, multiline: bool) -> Self {
        Editor {
            target,
            cursor: text.len(),
            original: text.clone(),
            text,
            multiline,
            confirm_discard: false,
        }
    }

    pub fn changed(&self) -> bool {
        self.text != self.original
    }

    /// Types a character (a newline only in a multi-line editor).
    pub fn insert(&mut self, c: char) {
        if c == '\n' && !self.multiline {
            return;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            return;
        }
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Pasted text: line breaks kept in a multi-line editor, made spaces on one line; other
    /// control characters dropped.
    pub fn paste(&mut self, s: &str) {
        let s = s.replace("\r\n", "\n").replace('\r', "\n");
        for c in s.chars() {
            self.insert(if c == '\n' && !self.multiline { ' ' } else { c });
        }
    }

    fn prev_boundary(&self, at: usize) -> usize {
        self.text[..at].char_indices().last().map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self, at: usize) -> usize {
        self.text[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8())
    }

    fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self, at: usize) -> usize {
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |i| at + i)
    }

    /// Start of the word before `at` (skipping spaces first), as shells do.
    fn word_left(&self, at: usize) -> usize {
        let before = &self.text[..at];
        let trimmed = before.trim_end_matches(|c: char| !c.is_alphanumeric());
        trimmed
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric())
            .last()
            .map_or(0, |(i, _)| i)
    }

    fn word_right(&self, at: usize) -> usize {
        let after = &self.text[at..];
        let skip = after
            .char_indices()
            .find(|(_, c)| c.is_alphanumeric())
            .map_or(after.len(), |(i, _)| i);
        let rest = &after[skip..];
        let word = rest
            .char_indices()
            .find(|(_, c)| !c.is_alphanumeric())
            .map_or(rest.len(), |(i, _)| i);
        at + skip + word
    }

    /// Column (in characters) of `at` within its line.
    fn column(&self, at: usize) -> usize {
        self.text[self.line_start(at)..at].chars().count()
    }

    /// The offset `col` characters into the line starting at `start` (or its end).
    fn at_column(&self, start: usize, col: usize) -> usize {
        let end = self.line_end(start);
        self.text[start..end]
            .char_indices()
            .nth(col)
            .map_or(end, |(i, _)| start + i)
    }

    pub fn key(&mut self, k: EditKey) {
        let c = self.cursor;
        match k {
            EditKey::Left => self.cursor = self.prev_boundary(c),
            EditKey::Right => self.cursor = self.next_boundary(c),
            EditKey::WordLeft => self.cursor = self.word_left(c),
            EditKey::WordRight => self.cursor = self.word_right(c),
            EditKey::Home => self.cursor = self.line_start(c),
            EditKey::End => self.cursor = self.line_end(c),
            EditKey::Up => {
                let start = self.line_start(c);
                if start > 0 {
                    let prev = self.line_start(start - 1);
                    self.cursor = self.at_column(prev, self.column(c));
                }
            }
            EditKey::Down => {
                let end = self.line_end(c);
                if end < self.text.len() {
                    self.cursor = self.at_column(end + 1, self.column(c));
                }
            }
            EditKey::Backspace => {
                let p = self.prev_boundary(c);
                self.text.replace_range(p..c, "");
                self.cursor = p;
            }
            EditKey::Delete => {
                let n = self.next_boundary(c);
                self.text.replace_range(c..n, "");
            }
            EditKey::DeleteWordBack => {
                let p = self.word_left(c);
                self.text.replace_range(p..c, "");
                self.cursor = p;
            }
            EditKey::DeleteToLineStart => {
                let p = self.line_start(c);
                self.text.replace_range(p..c, "");
                self.cursor = p;
            }
            EditKey::DeleteToLineEnd => {
                let e = self.line_end(c);
                self.text.replace_range(c..e, "");
            }
        }
    }

    /// The text split at the cursor: (before, the character under it or "", after).
    pub fn split_at_cursor(&self) -> (&str, &str, &str) {
        let n = self.next_boundary(self.cursor);
        (
            &self.text[..self.cursor],
            &self.text[self.cursor..n],
            &self.text[n..],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed(text: &str, multiline: bool) -> Editor {
        Editor::new(EditTarget::Case, text.into(), multiline)
    }

    #[test]
    fn cursor_edits_anywhere_in_the_text() {
        let mut e = ed("lateral move", false);
        e.key(EditKey::Home);
        e.insert('A');
        assert_eq!(e.text, "Alateral move");
        e.key(EditKey::End);
        e.key(EditKey::Left);
        e.key(EditKey::Left);
        e.key(EditKey::Backspace);
        assert_eq!(e.text, "Alateral mve");
        e.key(EditKey::Delete);
        assert_eq!(e.text, "Alateral me");
        e.key(EditKey::WordLeft);
        e.insert('_');
        assert_eq!(e.text, "Alateral _me");
        e.key(EditKey::End);
        e.key(EditKey::DeleteWordBack);
        assert_eq!(e.text, "Alateral _");
        e.key(EditKey::DeleteToLineStart);
        assert_eq!((e.text.as_str(), e.cursor), ("", 0));
        assert!(e.changed());
    }

    #[test]
    fn multi_line_moves_by_line_and_keeps_characters_whole() {
        let mut e = ed("é first\nsecond line\nx", true);
        e.key(EditKey::Up);
        e.key(EditKey::Home);
        e.key(EditKey::Right);
        e.key(EditKey::Up);
        // On "é first", after the é (two bytes).
        assert_eq!(e.cursor, 'é'.len_utf8());
        e.key(EditKey::Backspace);
        assert_eq!(e.text, " first\nsecond line\nx");
        e.key(EditKey::Down);
        e.key(EditKey::DeleteToLineEnd);
        assert_eq!(e.text, " first\n\nx");
        let mut one = ed("a", false);
        one.paste("b\r\nc\u{1b}[2J");
        assert_eq!(one.text, "ab c[2J");
        let mut many = ed("", true);
        many.paste("x\r\ny");
        assert_eq!(many.text, "x\ny");
    }
}
