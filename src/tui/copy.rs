//! Copying from the workbench: what is under the cursor (a command line, an event row, the
//! finding) or the finding's indicators, put on the clipboard with OSC 52 (the terminal's
//! clipboard escape: works over SSH and, with tmux's `set-clipboard`, inside tmux) and written to
//! `<case>-clipboard.txt` beside the case, for terminals that ignore the escape.

use super::state::{AppState, Pane};
use base64::Engine;
use std::io::Write;

/// Terminals cap what an OSC 52 escape may carry; past this the value goes to the file only.
const OSC52_MAX: usize = 100_000;

/// What `y` copies: in the Timeline or a pivot, the selected event's command line, else its row;
/// on Targets (or without an event), the finding.
pub fn under_cursor(s: &AppState) -> Option<(String, String)> {
    if s.ui.focus != Pane::Targets
        && let Some(e) = s.selected_event_ref()
    {
        if let Some(cmd) = e.fields.process.command_line.as_deref() {
            return Some(("the command line".into(), cmd.to_string()));
        }
        let row = format!(
            "{} {} {} {}",
            s.ui.zone.fmt(e.ts),
            e.host.display,
            e.event_id,
            crate::model::describe::summary(&e)
        );
        return Some(("the event row".into(), row));
    }
    let f = s.finding()?;
    Some((
        format!("finding {}", f.id),
        format!(
            "{} {} {} {} from {} service {} first seen {}",
            f.id,
            f.severity.label(),
            f.score,
            f.target_host,
            crate::sink::table::source_label(f),
            f.service_label(),
            s.ui.zone.fmt(f.first_seen)
        ),
    ))
}

/// What `Y` copies: the selected finding's indicators, one per line under their kind.
pub fn indicators(s: &AppState) -> Option<(String, String)> {
    let data = s.data.as_ref()?;
    let f = s.finding()?;
    let events = |i: usize| data.store.get(i);
    let mut text = String::new();
    let mut n = 0;
    for (label, set) in crate::sink::report::indicators(&[f], Some(&events)) {
        if set.is_empty() {
            continue;
        }
        text.push_str("# ");
        text.push_str(label);
        text.push('\n');
        for v in set {
            n += 1;
            text.push_str(&v);
            text.push('\n');
        }
    }
    Some((format!("{n} indicator(s) of {}", f.id), text))
}

/// The OSC 52 escape that puts `text` on the terminal's clipboard.
pub fn osc52(text: &str) -> String {
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// Sends `text` to the clipboard and writes it beside the case (`<stem>-clipboard.txt`); the
/// status line's words.
pub fn out(stem: &str, what: &str, text: &str) -> Result<String, String> {
    // Event text is attacker-controlled: escape sequences and other controls go as visible
    // escapes, never into the next terminal the value is pasted in.
    let text = &text
        .split('\n')
        .map(|l| crate::model::sanitize::for_terminal(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let path = std::path::PathBuf::from(format!("{stem}-clipboard.txt"));
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    let chars = text.chars().count();
    let sent = text.len() <= OSC52_MAX && {
        let mut out = std::io::stdout();
        out.write_all(osc52(text).as_bytes())
            .and_then(|()| out.flush())
            .is_ok()
    };
    let file = crate::model::sanitize::clip(&path.display().to_string(), 60);
    Ok(if sent {
        format!("copied {what} ({chars} characters) to the clipboard, and to {file}")
    } else {
        format!(
            "{what} ({chars} characters) is too long for the clipboard escape: written to {file}"
        )
    })
}
