//! Targets: hosts ranked by their highest finding score, with severity (as a word), number of
//! findings, first/last seen, triage progress, and a mark when every finding is suppressed.

use crate::model::sanitize::clip;
use crate::sink::table::sev_short;
use crate::tui::state::{AppState, Pane};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};
use std::fmt::Write;

pub struct TargetsPane<'a> {
    pub s: &'a AppState,
    pub theme: Theme,
}

/// First index of a window of `height` rows that keeps `sel` visible.
pub fn window_start(sel: usize, height: usize) -> usize {
    if height == 0 {
        0
    } else {
        sel.saturating_sub(height - 1)
    }
}

/// The longest host name listed, with its `~` mark column; `None` when nothing is listed.
pub fn longest_host(s: &AppState) -> Option<usize> {
    s.targets
        .iter()
        .map(|t| t.display.chars().count() + 1)
        .max()
}

/// The LAST SEEN format (with the year when the hosts' times span more than one) and the host
/// column's width: what the fixed columns leave of `width`, up to the longest name.
fn columns(s: &AppState, width: u16, wide: bool) -> (&'static str, usize) {
    let years = {
        let mut y = s.targets.iter().map(|t| t.last.format("%Y").to_string());
        let first = y.next();
        y.any(|x| Some(&x) != first.as_ref())
    };
    let date_fmt = if years {
        "%Y-%m-%d %H:%M"
    } else {
        "%m-%d %H:%M:%S"
    };
    let date_w = if wide {
        s.ui.zone
            .fmt_with(chrono::DateTime::UNIX_EPOCH, date_fmt)
            .chars()
            .count()
            + 2
    } else {
        0
    };
    let host_w = usize::from(width)
        .saturating_sub(19 + date_w)
        .min(longest_host(s).unwrap_or(4))
        .max(6);
    (date_fmt, host_w)
}

/// The pane's title: how many targets, those hidden, and the new or changed findings of a
/// followed collection.
fn title(s: &AppState) -> String {
    let title = if s.ui.show_suppressed {
        format!(" Targets ({}) +suppressed ", s.targets.len())
    } else if s.hidden_targets > 0 {
        format!(
            " Targets ({}; {} allow-listed hidden, S shows) ",
            s.targets.len(),
            s.hidden_targets
        )
    } else {
        format!(" Targets ({}) ", s.targets.len())
    };
    // A followed collection: how many findings are new or changed and not yet looked at.
    if s.ui.fresh.is_empty() {
        title
    } else {
        format!("{title}* {} new/changed ", s.ui.fresh.len())
    }
}

/// The mark before a host: `*` a finding new or changed and not looked at, `~` all
/// allow-listed.
fn mark(s: &AppState, t: &crate::tui::state::TargetRow) -> &'static str {
    let fresh = t.findings.iter().any(|&fi| {
        s.data
            .as_ref()
            .and_then(|d| d.findings.get(fi))
            .is_some_and(|f| s.ui.fresh.contains_key(&f.id))
    });
    if fresh {
        "*"
    } else if t.all_suppressed {
        "~"
    } else {
        " "
    }
}

impl Widget for TargetsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.s;
        let focused = s.ui.focus == Pane::Targets;
        let title = title(s);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(title)
            .border_style(self.theme.border(focused));
        let inner = block.inner(area);
        block.render(area, buf);
        let height = usize::from(inner.height.saturating_sub(1));
        let wide = inner.width >= 60;
        let (date_fmt, host_w) = columns(s, inner.width, wide);
        let header = format!(
            "SEV  SCR {:<host_w$} {:>2} TRIAGE{}",
            "HOST",
            "N",
            if wide { "  LAST SEEN" } else { "" }
        );
        let mut lines = vec![Line::styled(header, self.theme.dim())];
        let start = window_start(s.ui.target_sel, height);
        let total_steps = s.playbook.step_count();
        for (i, t) in s.targets.iter().enumerate().skip(start).take(height) {
            let (done, total) = t
                .findings
                .first()
                .and_then(|&fi| s.data.as_ref()?.findings.get(fi))
                .map_or((0, total_steps), |f| {
                    s.case.case.progress(&f.id, total_steps)
                });
            let mark = mark(s, t);
            let mut text = format!(
                "{:<4} {:>3} {:<host_w$} {:>2} {:>2}/{:<3}",
                sev_short(t.severity),
                t.top_score,
                clip(&format!("{mark}{}", t.display), host_w),
                t.findings.len(),
                done,
                total
            );
            if wide {
                let _ = write!(text, "  {}", s.ui.zone.fmt_with(t.last, date_fmt));
            }
            let style = if i == s.ui.target_sel {
                self.theme.selected()
            } else {
                self.theme.severity(t.severity)
            };
            lines.push(Line::from(Span::styled(text, style)));
        }
        if s.targets.is_empty() {
            lines.push(Line::from(if s.ui.filter.is_some() {
                "no finding matches the filter (F clears it)"
            } else {
                "no findings: nothing points at remote service-based lateral movement"
            }));
        }
        Paragraph::new(super::with_matches(s, lines, self.theme)).render(inner, buf);
    }
}
