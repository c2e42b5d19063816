//! Terminal setup and restore, the only place that touches raw mode and the alternate screen.
//! ratatui's init installs a panic hook that restores the terminal first; `Guard` restores it on
//! every other way out (errors included).

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use std::sync::atomic::{AtomicBool, Ordering};

/// The mouse is captured (the wheel and clicks reach the workbench).
static MOUSE: AtomicBool = AtomicBool::new(false);
use ratatui::DefaultTerminal;

pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        leave();
    }
}

fn leave() {
    if MOUSE.load(Ordering::Relaxed) {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    }
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
        .or_else(|| {
            crossterm::terminal::size()
                .ok()
                .map(|(w, _)| usize::from(w))
        })
        .filter(|w| *w >= 20)
}

/// Raw mode, the alternate screen and bracketed paste (a pasted text arrives whole, so its line
/// breaks do not act as Enter); with `mouse`, the wheel and clicks too (the terminal's own
/// selection then takes Shift).
pub fn enter(mouse: bool) -> std::io::Result<(DefaultTerminal, Guard)> {
    MOUSE.store(mouse, Ordering::Relaxed);
    Ok((init()?, Guard))
}

fn init() -> std::io::Result<DefaultTerminal> {
    let term = ratatui::try_init()?;
    crossterm::execute!(std::io::stdout(), EnableBracketedPaste)?;
    if MOUSE.load(Ordering::Relaxed) {
        crossterm::execute!(std::io::stdout(), EnableMouseCapture)?;
    }
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
