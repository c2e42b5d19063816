//! Inspector: tabs on the selected event and finding — every field, the raw record, the score
//! breakdown, the triage walk, and notes. Every string from evidence is sanitized.

use crate::case::playbook::fill;
use crate::model::Event;
use crate::model::sanitize::{clip, for_note, for_terminal};
use crate::model::time::fmt_utc;
use crate::tui::state::{AppState, InspectorTab, Pane};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};
use std::fmt::Write;

pub struct InspectorPane<'a> {
    pub s: &'a AppState,
    pub theme: Theme,
}

fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&key, x, out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Every field of an event as `name: value` pairs (typed fields first, then the rest).
pub fn event_fields(e: &Event, zone: crate::model::time::DisplayZone) -> Vec<(String, String)> {
    let mut out = vec![
        ("evidence".to_string(), e.source.to_string()),
        (
            "time".to_string(),
            format!("{} ({})", zone.fmt(e.ts), fmt_utc(e.ts)),
        ),
        ("host".to_string(), e.host.display.to_string()),
        (
            "channel".to_string(),
            format!("{} {}", e.channel.name(), e.event_id),
        ),
    ];
    if let Some(p) = &e.provider {
        out.push(("provider".into(), p.to_string()));
    }
    if let Ok(v) = serde_json::to_value(&e.fields) {
        leaves("", &v, &mut out);
    }
    out.extend(e.extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out.extend(
        e.also_at
            .iter()
            .map(|s| ("also at".to_string(), s.to_string())),
    );
    out
}

impl InspectorPane<'_> {
    fn detail(&self) -> Vec<Line<'static>> {
        let s = self.s;
        let Some(e) = s.selected_event_ref() else {
            return vec![Line::from("select an event in the timeline")];
        };
        let fields = event_fields(&e, s.ui.zone);
        let mut lines = Vec::new();
        let mut decoded = Vec::new();
        for (k, v) in &fields {
            let mut spans = vec![
                Span::styled(format!("{k}: "), self.theme.dim()),
                Span::raw(for_terminal(v).into_owned()),
            ];
            // An address the collection knows: named as its host.
            if k.ends_with("_ip")
                && let Some(host) = s.data.as_ref().and_then(|d| d.addresses.host_of(v, e.ts))
            {
                spans.push(Span::styled(
                    format!("  ({} in this collection)", for_terminal(host)),
                    self.theme.stage(),
                ));
            }
            lines.push(Line::from(spans));
            if let Some(words) = crate::model::decode::explain(k, v) {
                lines.push(Line::styled(
                    format!("    = {}", for_terminal(&words)),
                    self.theme.stage(),
                ));
            }
            decoded.extend(
                crate::model::decode::payloads(v)
                    .into_iter()
                    .map(|(how, text)| (k.clone(), how, text)),
            );
        }
        for (k, how, text) in decoded {
            lines.push(Line::from(""));
            lines.push(Line::styled(
                format!("decoded from {k} ({how}):"),
                self.theme.title(),
            ));
            lines.extend(
                text.lines()
                    .map(|l| Line::from(format!("  {}", for_terminal(l)))),
            );
        }
        lines
    }

    fn raw(&self) -> Vec<Line<'static>> {
        let s = self.s;
        let Some(e) = s.selected_event_ref() else {
            return vec![Line::from("select an event in the timeline")];
        };
        let mut lines = vec![Line::styled(
            format!("evidence: {}", for_terminal(&e.source.to_string())),
            self.theme.dim(),
        )];
        let read =
            s.ui.record
                .as_ref()
                .filter(|(at, _)| Some(*at) == s.selected_event())
                .map(|(_, text)| text);
        let text = match read {
            Some(Ok(r)) => serde_json::from_str::<serde_json::Value>(r)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| r.clone()),
            Some(Err(why)) => format!("(record text not available: {why})"),
            None => "(reading the record…)".to_string(),
        };
        lines.extend(text.lines().map(|l| Line::from(for_note(l).into_owned())));
        lines
    }

    fn score(&self) -> Vec<Line<'static>> {
        let Some(f) = self.s.finding() else {
            return vec![Line::from("no finding selected")];
        };
        let mut lines = vec![Line::styled(
            format!("{} {} score {}", f.severity.label(), f.id, f.score),
            self.theme.severity(f.severity),
        )];
        for p in &f.score_breakdown {
            lines.push(Line::from(format!(
                "{:>+5}  {:<8} {}",
                p.points,
                p.name,
                for_terminal(&p.why)
            )));
        }
        if let Some(w) = self.s.data.as_ref().and_then(|d| d.detector.as_ref()) {
            lines.push(Line::from(w.weights.cutoffs()));
        }
        lines.push(Line::from(format!(
            "origin: {:?} — {}",
            f.origin.kind,
            for_terminal(&f.origin.reasons.join("; "))
        )));
        lines.extend(self.campaign(f));
        let missing: Vec<&str> = f.missing_stages.iter().map(|s| s.label()).collect();
        lines.push(Line::from(format!(
            "missing stages: {}",
            missing.join(", ")
        )));
        for svc in &f.services {
            lines.push(Line::from(format!(
                "service: {} image {} flags {}",
                for_terminal(svc.name.as_deref().unwrap_or("-")),
                for_terminal(svc.image_path.as_deref().unwrap_or("-")),
                svc.flags.join(",")
            )));
        }
        let tech: Vec<String> = f
            .techniques
            .iter()
            .map(|t| format!("{} {}", t.id, t.name))
            .collect();
        lines.push(Line::from(format!("techniques: {}", tech.join("; "))));
        lines.push(Line::from(format!("recommendation: {}", f.recommendation)));
        if let Some(sup) = &f.suppressed_by {
            lines.push(Line::from(format!(
                "SUPPRESSED by {} = {} ({}): {}",
                sup.field,
                for_terminal(&sup.pattern),
                sup.origin,
                for_terminal(&sup.reason)
            )));
        }
        lines
    }

    /// The finding's campaign: what it is, what its names carry, the other findings it groups.
    fn campaign(&self, f: &crate::detect::finding::Finding) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if let Some(c) = &f.campaign {
            lines.push(Line::from(format!(
                "campaign {}: {}",
                c.id,
                for_terminal(&c.summary)
            )));
            if let Some(p) = &c.pattern {
                lines.push(Line::from(format!("  {}", for_terminal(p))));
            }
            let others: Vec<String> = self
                .s
                .data
                .as_ref()
                .map(|d| {
                    d.findings
                        .iter()
                        .filter(|g| g.id != f.id)
                        .filter(|g| g.campaign.as_ref().is_some_and(|gc| gc.id == c.id))
                        .map(|g| for_terminal(&g.target_host).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            if !others.is_empty() {
                lines.push(Line::from(format!(
                    "  with {} other finding(s): {}",
                    others.len(),
                    others.join(", ")
                )));
            }
        }
        lines
    }

    fn triage(&self) -> Vec<Line<'static>> {
        self.triage_walk().0
    }

    /// The triage walk and the line of the selected step.
    /// The walk's lines, where the selected step starts and how many lines it takes.
    fn triage_walk(&self) -> (Vec<Line<'static>>, usize, usize) {
        let s = self.s;
        let Some(f) = s.finding() else {
            return (vec![Line::from("no finding selected")], 0, 0);
        };
        let mut selected_line = 0;
        let mut selected_len = 0;
        let (done, total) = s.case.case.progress(&f.id, s.playbook.step_count());
        let mut lines = vec![Line::styled(
            format!(
                "Triage {done}/{total} for {} (space: todo/done/n-a, e: note)",
                f.id
            ),
            self.theme.title(),
        )];
        let mut phase = "";
        for (i, step) in s.playbook.step.iter().enumerate() {
            if step.phase != phase {
                phase = &step.phase;
                lines.push(Line::styled(phase.to_string(), self.theme.dim()));
            }
            let m = s.case.case.mark(&f.id, &step.id);
            let mut text = format!("{} {}", m.state.mark(), for_terminal(&fill(step, f)));
            // A step note may hold several lines: the first beside the step, the rest below it.
            let mut note = m.note.lines();
            if let Some(first) = note.next() {
                let _ = write!(text, "  — {}", for_note(first));
            }
            let more: Vec<String> = note.map(|l| format!("      {}", for_note(l))).collect();
            let selected = i == s.ui.triage_sel && s.ui.focus == Pane::Inspector;
            let style = if selected {
                self.theme.selected()
            } else {
                ratatui::style::Style::new()
            };
            if i == s.ui.triage_sel {
                selected_line = lines.len();
            }
            lines.push(Line::styled(text, style));
            lines.extend(more.into_iter().map(|l| Line::styled(l, style)));
            if selected {
                // Where the step comes from, so the analyst can read the reference it cites.
                lines.push(Line::styled(
                    format!("    from {}", for_terminal(&step.origin)),
                    self.theme.dim(),
                ));
            }
            if i == s.ui.triage_sel {
                selected_len = lines.len() - selected_line;
            }
        }
        (lines, selected_line, selected_len)
    }

    fn coverage(&self) -> Vec<Line<'static>> {
        let s = self.s;
        let (Some(t), Some(data)) = (s.target(), s.data.as_ref()) else {
            return vec![Line::from("no target selected")];
        };
        let cov = crate::detect::coverage::coverage(&data.report.files);
        let Some(h) = cov.iter().find(|h| h.host == t.key) else {
            return vec![Line::from("no coverage information for this host")];
        };
        let mut lines = vec![Line::styled(
            format!(
                "Coverage of {}: what its logs can and cannot show",
                for_terminal(&t.display)
            ),
            self.theme.title(),
        )];
        for c in &h.channels {
            lines.push(Line::from(format!(
                "{} ({}): {}",
                c.channel,
                crate::sink::text::count(c.records, "record"),
                c.ids_text()
            )));
        }
        if h.blind.is_empty() {
            lines.push(Line::from("every stage of the chain is visible"));
        }
        for b in &h.blind {
            lines.push(Line::styled(
                format!("cannot see {}: {}", b.stage.label(), b.why),
                self.theme.severity(crate::detect::Severity::Medium),
            ));
        }
        for n in &h.notes {
            lines.push(Line::from(format!("note: {n}")));
        }
        lines
    }

    fn notes(&self) -> Vec<Line<'static>> {
        let s = self.s;
        let mut lines = Vec::new();
        let key =
            |action: &str, or: &'static str| s.keymap.key_for(action).unwrap_or(or).to_string();
        if let Some(f) = s.finding() {
            lines.push(Line::styled(
                format!(
                    "Finding {} note ({} to edit):",
                    f.id,
                    key("edit_finding_note", "e")
                ),
                self.theme.title(),
            ));
            lines.extend(
                s.case
                    .case
                    .note(&f.id)
                    .lines()
                    .map(|l| Line::from(for_note(l).into_owned())),
            );
            lines.push(Line::from(""));
            let marks = s.case.case.marks(&f.id);
            lines.push(Line::styled(
                format!(
                    "Marked events: {} ({} on a timeline or pivot row marks or unmarks it)",
                    marks.len(),
                    key("mark", "m")
                ),
                self.theme.title(),
            ));
            for m in marks {
                lines.push(Line::from(format!(
                    "{} {} {} {} {}",
                    s.ui.zone.fmt_with(m.time, "%Y-%m-%d %H:%M:%S"),
                    for_terminal(&m.host),
                    for_terminal(&m.channel),
                    m.event_id,
                    for_terminal(&m.summary)
                )));
                lines.push(Line::styled(
                    format!("    evidence: {}", for_terminal(&m.evidence)),
                    self.theme.dim(),
                ));
            }
            lines.push(Line::from(""));
        }
        lines.push(Line::styled(
            format!("Case note ({} to edit):", key("edit_case_note", "E")),
            self.theme.title(),
        ));
        lines.extend(
            s.case
                .case
                .case_note
                .lines()
                .map(|l| Line::from(for_note(l).into_owned())),
        );
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!(
                "case file: {}",
                for_terminal(&s.case.path.display().to_string())
            ),
            self.theme.dim(),
        ));
        lines
    }
}

impl InspectorPane<'_> {
    /// The selected tab's text.
    fn lines(&self) -> Vec<Line<'static>> {
        match self.s.ui.tab {
            InspectorTab::Detail => self.detail(),
            InspectorTab::Raw => self.raw(),
            InspectorTab::Score => self.score(),
            InspectorTab::Triage => self.triage(),
            InspectorTab::Notes => self.notes(),
            InspectorTab::Coverage => self.coverage(),
        }
    }
}

/// Lines longer than this many screen widths are cut (a megabyte command line stays cheap).
const MAX_WRAPPED_ROWS: usize = 40;

fn cut_long(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    lines
        .into_iter()
        .map(|l| {
            if l.width() > width * MAX_WRAPPED_ROWS {
                Line::from(clip(&l.to_string(), width * MAX_WRAPPED_ROWS))
            } else {
                l
            }
        })
        .collect()
}

fn wrapped_rows(lines: &[Line<'static>], width: u16) -> usize {
    Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .line_count(width.max(1))
}

/// The selected tab's lines as the pane shows them (long lines cut) and the pane's inside, at
/// the terminal's size.
fn measured(s: &AppState) -> (Vec<Line<'static>>, Rect) {
    let inner = Block::default()
        .borders(Borders::ALL)
        .inner(super::inspector_rect(s));
    let pane = InspectorPane {
        s,
        theme: Theme { color: false },
    };
    (
        cut_long(pane.lines(), usize::from(inner.width.max(1))),
        inner,
    )
}

/// How far the selected tab can scroll at the terminal's size: its last line at the bottom of
/// the pane (the update clamps with it, so `k` after many `j` moves at once).
pub fn max_scroll(s: &AppState) -> usize {
    let (lines, inner) = measured(s);
    wrapped_rows(&lines, inner.width).saturating_sub(usize::from(inner.height))
}

/// The selected tab's lines as plain text (what search reads).
pub fn line_texts(s: &AppState) -> Vec<String> {
    let pane = InspectorPane {
        s,
        theme: Theme { color: false },
    };
    pane.lines().iter().map(ToString::to_string).collect()
}

/// The scroll that shows line `at` of the selected tab on the pane's top row (held within
/// `max_scroll`).
pub fn scroll_to_line(s: &AppState, at: usize) -> usize {
    let (lines, inner) = measured(s);
    let before = wrapped_rows(&lines[..at.min(lines.len())], inner.width);
    before.min(wrapped_rows(&lines, inner.width).saturating_sub(usize::from(inner.height)))
}

/// The rows above the selected step, and the rows it takes (its note and source line too).
fn step_rows(lines: &[Line<'static>], (start, len): (usize, usize), width: u16) -> (usize, usize) {
    let start = start.min(lines.len());
    let before = wrapped_rows(&lines[..start], width);
    let own = wrapped_rows(&lines[start..(start + len.max(1)).min(lines.len())], width);
    (before, own)
}

/// The triage walk's scroll: the selected step (and its source line) in view below the pinned
/// header, with steps that wrap counted as the rows they take. A step taller than the pane
/// shows from its start, `offset` rows further as `j` reads on.
fn triage_scroll(
    lines: &[Line<'static>],
    selected: (usize, usize),
    (width, height): (u16, u16),
    offset: usize,
) -> usize {
    let (before, own) = step_rows(lines, selected, width);
    let height = usize::from(height);
    if own > height {
        return before + offset.min(own - height);
    }
    (before + own).saturating_sub(height)
}

/// How many rows the selected triage step runs past the bottom of the pane at the terminal's
/// size (`j` / `k` scroll through them before moving to the next step).
pub fn triage_overflow(s: &AppState) -> usize {
    let inner = Block::default()
        .borders(Borders::ALL)
        .inner(super::inspector_rect(s));
    let pane = InspectorPane {
        s,
        theme: Theme { color: false },
    };
    let (lines, selected, len) = pane.triage_walk();
    let mut lines = cut_long(lines, usize::from(inner.width.max(1)));
    if lines.len() <= 1 || inner.height <= 2 {
        return 0;
    }
    lines.remove(0);
    let (_, own) = step_rows(&lines, (selected.saturating_sub(1), len), inner.width);
    own.saturating_sub(usize::from(inner.height - 1))
}

impl Widget for InspectorPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.s;
        let focused = s.ui.focus == Pane::Inspector;
        let tabs: Vec<Span<'_>> = InspectorTab::ALL
            .iter()
            .flat_map(|t| {
                [
                    Span::styled(
                        t.label(),
                        if *t == s.ui.tab {
                            self.theme.selected()
                        } else {
                            self.theme.dim()
                        },
                    ),
                    Span::raw(" "),
                ]
            })
            .collect();
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Line::from(tabs))
            .border_style(self.theme.border(focused));
        let inner = block.inner(area);
        block.render(area, buf);
        let (lines, selected, len) = if s.ui.tab == InspectorTab::Triage {
            self.triage_walk()
        } else {
            (self.lines(), 0, 0)
        };
        let mut lines = cut_long(lines, usize::from(inner.width.max(1)));
        let mut body = inner;
        let scroll = if s.ui.tab == InspectorTab::Triage && lines.len() > 1 && inner.height > 2 {
            // The header ("Triage 3/15 ...") stays on top; the steps scroll below it.
            let header = lines.remove(0);
            let [top, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
            Paragraph::new(header).render(top, buf);
            body = rest;
            triage_scroll(
                &lines,
                (selected.saturating_sub(1), len),
                (body.width, body.height),
                s.ui.triage_offset,
            )
        } else {
            s.ui.inspector_scroll
        };
        Paragraph::new(super::with_matches(s, lines, self.theme))
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .render(body, buf);
    }
}
