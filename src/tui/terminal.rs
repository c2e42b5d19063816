//! Terminal setup and restore, the only place that touches raw mode and the alternate screen.
//! ratatui's init installs a panic hook that restores the terminal first; `Guard` restores it on
//! every other way out (errors included).

use ratatui::DefaultTerminal;

pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

pub fn enter() -> std::io::Result<(DefaultTerminal, Guard)> {
    let term = ratatui::try_init()?;
    Ok((term, Guard))
}
