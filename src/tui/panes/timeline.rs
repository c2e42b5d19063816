//! Timeline of the selected finding: one row per stage in time order, gaps between stages, the
//! chain tied by a gutter; with `t`, every event of the host around it. When a pivot is open this
//! pane shows the pivot results with a breadcrumb instead.

use super::targets::window_start;
use crate::detect::Stage;
use crate::model::describe::summary;
use crate::model::sanitize::clip;
use crate::sink::table::{sev_short, stage_strip};
use crate::tui::state::{AppState, Pane};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

pub struct TimelinePane<'a> {
    pub s: &'a AppState,
    pub theme: Theme,
}

/// A row's text scrolled sideways by `by` characters (`<`/`>`), marked `…` where it starts
/// further in.
pub fn shifted(text: &str, by: usize) -> String {
    if by == 0 {
        return text.to_string();
    }
    let rest: String = text.chars().skip(by).collect();
    if rest.is_empty() {
        "…".into()
    } else {
        format!("…{rest}")
    }
}

/// `+0.8s`, `+12s`, `+3m`, `+2h` between two times.
pub fn gap(ms: i64) -> String {
    match ms {
        i64::MIN..=-1 => "-".into(),
        0..=9_999 => format!("+{}.{}s", ms / 1000, (ms % 1000) / 100),
        10_000..=119_999 => format!("+{}s", ms / 1000),
        120_000..=7_199_999 => format!("+{}m", ms / 60_000),
        _ => format!("+{}h", ms / 3_600_000),
    }
}

fn stage_tag(stage: Option<Stage>) -> &'static str {
    match stage {
        Some(Stage::Source) => "SOURCE ",
        Some(Stage::Logon) => "LOGON  ",
        Some(Stage::Share) => "SHARE  ",
        Some(Stage::Pipe) => "PIPE   ",
        Some(Stage::Install) => "INSTALL",
        Some(Stage::Modify) => "MODIFY ",
        Some(Stage::Exec) => "EXEC   ",
        Some(Stage::Cleanup) => "CLEANUP",
        None => "       ",
    }
}

impl Widget for TimelinePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if !self.s.ui.pivots.is_empty() {
            self.render_pivot(area, buf);
            return;
        }
        let s = self.s;
        let focused = s.ui.focus == Pane::Timeline;
        let title = match (s.finding(), s.target()) {
            // The day and the verdict first: a narrow terminal cuts the title's end, and the
            // rows of a chain within one day show only the time.
            (Some(f), Some(t)) => format!(
                " Timeline {} {} {}{}{} {} ({}/{}) {} ",
                s.ui.zone.fmt_with(f.first_seen, "%Y-%m-%d"),
                clip(&f.target_host, 24),
                sev_short(f.severity),
                if f.is_suppressed() { " SUPPRESSED" } else { "" },
                match s.ui.fresh.get(&f.id) {
                    Some(crate::live::changes::Kind::New) => " NEW",
                    Some(_) => " UPDATED",
                    None => "",
                },
                f.id,
                s.ui.finding_sel + 1,
                t.findings.len(),
                stage_strip(f),
            ),
            _ => " Timeline ".into(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .title(title)
            .border_style(self.theme.border(focused));
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(data) = s.data.as_ref() else { return };
        let rows = s.timeline_rows();
        // Rows carry the date when the rows span more than one day (in the zone shown); else
        // the day is in the title.
        let day = |i: &(usize, Option<Stage>, String)| {
            data.store
                .time(i.0)
                .map(|t| s.ui.zone.fmt_with(t, "%Y-%m-%d"))
        };
        let days = rows
            .iter()
            .filter_map(day)
            .collect::<std::collections::BTreeSet<_>>();
        let dated = days.len() > 1;
        let height = usize::from(inner.height);
        let start = window_start(s.ui.timeline_sel, height);
        let width = usize::from(inner.width);
        let mut lines = Vec::new();
        let mut prev = None;
        let target = s.finding().map_or("", |f| f.target_key.as_str());
        // Rows above the window only carry the time of the previous stage (for the gap); the
        // text is built for the rows on screen, and nothing below them is read.
        for (n, (idx, stage, link)) in rows.iter().enumerate().take(start + height) {
            let ts = match data.store.time(*idx) {
                Some(t) => t,
                None => match unloaded(s, *idx) {
                    Some(st) => st.time,
                    None => continue,
                },
            };
            let g = prev.map_or_else(
                || "     ".to_string(),
                |p: chrono::DateTime<chrono::Utc>| gap((ts - p).num_milliseconds()),
            );
            if stage.is_some() {
                prev = Some(ts);
            }
            if n < start {
                continue;
            }
            let Some(r) = row_data(s, *idx) else {
                continue;
            };
            let selected = n == s.ui.timeline_sel && focused;
            lines.push(self.row(&r, *stage, link, &g, (target, width, selected, dated)));
        }
        if rows.is_empty() {
            lines.push(Line::from(
                "select a target (Targets pane) to see its chain",
            ));
        }
        Paragraph::new(super::with_matches(s, lines, self.theme)).render(inner, buf);
    }
}

/// Row `n` of a pivot as shown: a finding, then the events (with their year when the events
/// span years); `None` past the end.
pub fn pivot_row_text(s: &AppState, p: &crate::tui::state::Pivot, n: usize) -> Option<String> {
    let data = s.data.as_ref()?;
    if n < p.findings.len() {
        let f = data.findings.get(p.findings[n])?;
        return Some(format!(
            "FINDING {:<4} {:>3} {} {} svc={} user={}",
            sev_short(f.severity),
            f.score,
            f.id,
            f.target_host,
            f.service_label(),
            f.user.as_deref().unwrap_or("-")
        ));
    }
    let e = data.store.get(*p.events.get(n - p.findings.len())?)?;
    let mark = if s
        .finding()
        .is_some_and(|f| s.case.case.is_marked(&f.id, &e))
    {
        "● "
    } else {
        ""
    };
    Some(format!(
        "{mark}{} {} {} {}",
        s.ui.zone.fmt_with(e.ts, s.row_time_format()),
        // The host as Targets names it.
        e.host.display,
        e.event_id,
        with_source_host(summary(&e), &e, &data.addresses)
    ))
}

/// An imported finding's stage whose event was not loaded: shown from the finding.
fn unloaded(s: &AppState, idx: usize) -> Option<&crate::detect::finding::StageRef> {
    s.finding()
        .and_then(|f| f.stages.iter().find(|st| st.event_index == idx))
}

/// What the timeline shows of the row's event (or of its stage, when not loaded).
fn row_data(s: &AppState, idx: usize) -> Option<RowData> {
    let data = s.data.as_ref()?;
    if let Some(e) = data.store.get(idx) {
        return Some(RowData {
            marked: s
                .finding()
                .is_some_and(|f| s.case.case.is_marked(&f.id, &e)),
            ts: e.ts,
            host_key: e.host.key.to_string(),
            host: e.host.display.to_string(),
            event_id: e.event_id,
            summary: with_source_host(summary(&e), &e, &data.addresses),
        });
    }
    unloaded(s, idx).map(|st| RowData {
        marked: false,
        ts: st.time,
        host_key: crate::model::host_key(&st.host),
        host: st.host.clone(),
        event_id: st.event_id,
        summary: format!("[not loaded] {}", st.summary),
    })
}

/// A summary with the host its source address belongs to, where the collection knows it:
/// `... from 10.10.1.14 [= ws04.corp.local]`.
pub fn with_source_host(
    summary: String,
    e: &crate::model::Event,
    book: &crate::detect::context::AddressBook,
) -> String {
    let Some(ip) = e.fields.net.src_ip.as_deref() else {
        return summary;
    };
    match book.host_of(ip, e.ts) {
        // Right after the address, where the eye is (the row's end is often cut).
        Some(host) if !host.eq_ignore_ascii_case(&e.host.display) => {
            if summary.contains(ip) {
                summary.replacen(ip, &format!("{ip} [= {host}]"), 1)
            } else {
                format!("{summary} [= {host}]")
            }
        }
        _ => summary,
    }
}

/// What a timeline row shows of its event.
struct RowData {
    /// Marked on the finding (`m`).
    marked: bool,
    ts: chrono::DateTime<chrono::Utc>,
    host_key: String,
    host: String,
    event_id: u16,
    summary: String,
}

impl TimelinePane<'_> {
    /// One timeline row: time, gap, the chain's gutter, stage, event id, summary (and link).
    fn row(
        &self,
        e: &RowData,
        stage: Option<Stage>,
        link: &str,
        g: &str,
        (target, width, selected, dated): (&str, usize, bool, bool),
    ) -> Line<'static> {
        let gutter = match (e.marked, stage.is_some()) {
            (true, _) => "●",
            (false, true) => "┃",
            (false, false) => "│",
        };
        let other_host = if e.host_key == target {
            String::new()
        } else {
            format!("[{}] ", clip(&e.host, 14))
        };
        let head = format!(
            "{} {:>6} {gutter} {} {:>5} ",
            self.s.ui.zone.fmt_with(
                e.ts,
                if dated {
                    "%m-%d %H:%M:%S%.3f"
                } else {
                    "%H:%M:%S%.3f"
                }
            ),
            g,
            stage_tag(stage),
            e.event_id
        );
        let rest_w = width.saturating_sub(head.chars().count());
        let tail = if link.is_empty() || width < 110 {
            String::new()
        } else {
            format!("  ({link})")
        };
        let body = clip(
            &shifted(
                &format!("{other_host}{}{tail}", e.summary),
                self.s.ui.hscroll,
            ),
            rest_w,
        );
        let head_style = if selected {
            self.theme.selected()
        } else if stage.is_some() {
            self.theme.stage()
        } else {
            self.theme.dim()
        };
        let body_style = if selected {
            self.theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        Line::from(vec![
            Span::styled(head, head_style),
            Span::styled(body, body_style),
        ])
    }

    fn render_pivot(&self, area: Rect, buf: &mut Buffer) {
        let s = self.s;
        let crumbs: Vec<String> =
            s.ui.pivots
                .iter()
                .map(|p| format!("{}={}", p.field.label(), clip(&p.value, 30)))
                .collect();
        let title = format!(" Pivot: {} (esc back) ", crumbs.join(" > "));
        let block = Block::default()
            .borders(Borders::ALL)
            .title(clip(&title, usize::from(area.width).saturating_sub(2)))
            .border_style(self.theme.border(s.ui.focus == Pane::Timeline));
        let inner = block.inner(area);
        block.render(area, buf);
        let (Some(p), Some(_)) = (s.ui.pivots.last(), s.data.as_ref()) else {
            return;
        };
        let height = usize::from(inner.height);
        let width = usize::from(inner.width);
        let total = p.findings.len() + p.events.len();
        let start = window_start(p.sel, height);
        let mut lines = Vec::new();
        for n in start..total.min(start + height) {
            let Some(text) = pivot_row_text(s, p, n) else {
                continue;
            };
            let style = if n == p.sel {
                self.theme.selected()
            } else {
                ratatui::style::Style::new()
            };
            lines.push(Line::styled(
                clip(&shifted(&text, s.ui.hscroll), width),
                style,
            ));
        }
        if total == 0 {
            lines.push(Line::from("nothing shares this value"));
        }
        Paragraph::new(super::with_matches(s, lines, self.theme)).render(inner, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::gap;

    #[test]
    fn gaps_read_naturally() {
        assert_eq!(gap(800), "+0.8s");
        assert_eq!(gap(15_000), "+15s");
        assert_eq!(gap(180_000), "+3m");
        assert_eq!(gap(7_200_000), "+2h");
    }
}
