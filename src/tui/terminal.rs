//! Terminal setup and restore, the only place that touches raw mode and the alternate screen.
//! ratatui's init installs a panic hook that restores the terminal first; `Guard` restores it on
//! every other way out (errors included).

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use ratatui::DefaultTerminal;

pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        leave();
    }
}

fn leave() {
    let _ = crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::restore();
}

/// The terminal's width when standard output is one (`COLUMNS` first, as shells set it), for
/// the CLI's tables; `None` when the output goes to a file or a pipe, where nothing is cut.
pub fn stdout_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| crossterm::terminal::size().ok().map(|(w, _)| usize::from(w)))
        .filter(|w| *w >= 20)
}

/// Raw mode, the alternate screen and bracketed paste (a pasted text arrives whole, so its line
/// breaks do not act as Enter).
pub fn enter() -> std::io::Result<(DefaultTerminal, Guard)> {
    Ok((init()?, Guard))
}

fn init() -> std::io::Result<DefaultTerminal> {
    let term = ratatui::try_init()?;
    crossterm::execute!(std::io::stdout(), EnableBracketedPaste)?;
    Ok(term)
}

/// ctrl-z: gives the terminal back to the shell and stops the process as the shell's own ctrl-z
/// would; on `fg` the workbench takes the terminal again and redraws.
pub fn suspend(term: &mut DefaultTerminal) -> std::io::Result<()> {
    leave();
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP).map_err(std::io::Error::from)?;
    *term = init()?;
    term.clear()
}
