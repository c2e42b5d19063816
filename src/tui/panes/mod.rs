//! Rendering: the layout (side by side on a large terminal, one pane with a tab bar at 80x24),
//! the panes, the views over them, and the status bar. Render reads state and never changes it.

pub mod inspector;
pub mod overlays;
pub mod targets;
pub mod timeline;

use super::state::{AppState, Loading, Pane};
use super::theme::Theme;
use crate::model::sanitize::clip;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Whether the terminal is large enough for all panes at once.
pub fn is_wide(area: Rect) -> bool {
    area.width >= 120 && area.height >= 30
}

pub fn draw(f: &mut Frame<'_>, s: &AppState, theme: Theme) {
    let area = f.area();
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    if !matches!(s.ui.loading, Loading::Done) {
        draw_loading(f, s, main);
    } else if is_wide(area) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(32), Constraint::Percentage(68)])
                .areas(main);
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(right);
        f.render_widget(targets::TargetsPane { s, theme }, left);
        f.render_widget(timeline::TimelinePane { s, theme }, top);
        f.render_widget(inspector::InspectorPane { s, theme }, bottom);
    } else {
        let [tabs, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(main);
        let names = [
            (Pane::Targets, "Targets"),
            (Pane::Timeline, "Timeline"),
            (Pane::Inspector, "Inspector"),
        ];
        let spans: Vec<Span<'_>> = names
            .iter()
            .flat_map(|(p, n)| {
                let st = if *p == s.ui.focus {
                    theme.selected()
                } else {
                    theme.dim()
                };
                [Span::styled(format!(" {n} "), st), Span::raw(" ")]
            })
            .collect();
        f.render_widget(Paragraph::new(Line::from(spans)), tabs);
        match s.ui.focus {
            Pane::Targets => f.render_widget(targets::TargetsPane { s, theme }, body),
            Pane::Timeline => f.render_widget(timeline::TimelinePane { s, theme }, body),
            Pane::Inspector => f.render_widget(inspector::InspectorPane { s, theme }, body),
        }
    }
    draw_status(f, s, status, theme);
    if s.ui.modal.is_some() {
        overlays::draw(f, s, main, theme);
    }
}

fn draw_loading(f: &mut Frame<'_>, s: &AppState, area: Rect) {
    let text = match &s.ui.loading {
        Loading::Running {
            files_done,
            files_total,
        } => {
            let width = 40usize;
            let filled = if *files_total == 0 {
                0
            } else {
                width * files_done / files_total
            };
            vec![
                Line::from("Loading evidence and running the detections…"),
                Line::from(""),
                Line::from(format!(
                    "[{}{}] {files_done}/{files_total} files",
                    "#".repeat(filled),
                    ".".repeat(width - filled)
                )),
                Line::from(""),
                Line::from("q quits at any time."),
            ]
        }
        Loading::Working(what) => vec![
            Line::from("Loading evidence and running the detections…"),
            Line::from(""),
            Line::from(format!("[{}] all files read", "#".repeat(40))),
            Line::from(clip(what, 200)),
            Line::from(""),
            Line::from("q quits at any time."),
        ],
        Loading::Failed(why) => vec![
            Line::from("Nothing could be loaded:"),
            Line::from(clip(why, 400)),
            Line::from(""),
            Line::from("q quits."),
        ],
        Loading::Done => vec![],
    };
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(text)
            .block(Block::default().borders(Borders::ALL).title(" svchop "))
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_status(f: &mut Frame<'_>, s: &AppState, area: Rect, theme: Theme) {
    let k = |a: &str| s.keymap.key_for(a).unwrap_or("?").to_string();
    let hints = format!(
        "{} help  {} find  tab pane  {} allow  {} triage  {} note  {} hops  {} export  {} quit",
        k("help"),
        k("find"),
        k("allow"),
        k("tab_triage"),
        k("edit_finding_note"),
        k("hops"),
        k("export"),
        k("quit")
    );
    let status = match &s.ui.partial {
        Some(p) => format!("{} | {}", p.banner(), s.ui.status),
        None => s.ui.status.clone(),
    };
    // The partial banner must stay readable at 80 columns: it gets more room than the hints.
    let share = if s.ui.partial.is_some() { 4 } else { 2 };
    let left = clip(&status, usize::from(area.width) * (share - 1) / share);
    let width = usize::from(area.width);
    let room = width.saturating_sub(left.chars().count() + 2);
    let right: String = hints.chars().take(room).collect();
    let pad = width.saturating_sub(left.chars().count() + right.chars().count());
    let line = Line::from(vec![
        Span::styled(
            left,
            if s.ui.partial.is_some() {
                theme.severity(crate::detect::Severity::Medium)
            } else {
                theme.title()
            },
        ),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, theme.dim()),
    ]);
    f.render_widget(Paragraph::new(line), area);
}
