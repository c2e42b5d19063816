//! Styles. With `NO_COLOR` set (or a monochrome terminal) everything is bold/reverse/plain; with
//! colour, only the 16 basic colours are used. Severity is always also written as a word.

use crate::detect::Severity;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

/// `--color always|never`, when given (`auto`: `NO_COLOR` decides).
static COLOR: std::sync::OnceLock<Option<bool>> = std::sync::OnceLock::new();

/// What `--color` said, for the workbench this process opens (set once, by the command line).
pub fn set_color(choice: Option<bool>) {
    let _ = COLOR.set(choice);
}

// Every style is asked of the theme, also those that do not depend on colour today.
#[allow(clippy::unused_self)]
impl Theme {
    /// `--color always|never`, else colour unless `NO_COLOR` is set (and not empty).
    pub fn from_env() -> Self {
        let env = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Theme {
            color: COLOR.get().copied().flatten().unwrap_or(env),
        }
    }

    pub fn severity(self, s: Severity) -> Style {
        if !self.color {
            return if s >= Severity::High {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
        }
        match s {
            Severity::Critical => Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            Severity::High => Style::new().fg(Color::Red),
            Severity::Medium => Style::new().fg(Color::Yellow),
            // The terminal's own text colour: grey is unreadable on light backgrounds.
            Severity::Low => Style::new(),
        }
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, _) => Style::new(),
        }
    }

    /// Secondary text. Without colour it is plain: `NO_COLOR` asks for no styling of text, and
    /// dim text is unreadable on many terminals.
    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn stage(self) -> Style {
        if self.color {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// A match of the search on screen.
    pub fn matched(self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }

    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
}
