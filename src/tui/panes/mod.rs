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

/// A line with every occurrence of `needle` (upper or lower case alike) styled `hit` on top of
/// its own style: the search's matches on screen.
pub fn highlight(line: Line<'static>, needle: &str, hit: ratatui::style::Style) -> Line<'static> {
    let needle: Vec<char> = needle.chars().map(fold).collect();
    if needle.is_empty() {
        return line;
    }
    let chars: Vec<(char, ratatui::style::Style)> = line
        .spans
        .iter()
        .flat_map(|sp| sp.content.chars().map(move |c| (c, sp.style)))
        .collect();
    let folded: Vec<char> = chars.iter().map(|(c, _)| fold(*c)).collect();
    let mut hits = vec![false; chars.len()];
    let mut any = false;
    let mut i = 0;
    while i + needle.len() <= folded.len() {
        if folded[i..i + needle.len()] == needle[..] {
            hits[i..i + needle.len()].iter_mut().for_each(|h| *h = true);
            any = true;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    if !any {
        return line;
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut cur = String::new();
    let mut cur_style = None;
    for ((c, style), hit_here) in chars.into_iter().zip(hits) {
        let style = if hit_here { style.patch(hit) } else { style };
        if cur_style != Some(style) {
            if let Some(st) = cur_style {
                spans.push(Span::styled(std::mem::take(&mut cur), st));
            }
            cur_style = Some(style);
        }
        cur.push(c);
    }
    if let Some(st) = cur_style {
        spans.push(Span::styled(cur, st));
    }
    Line {
        spans,
        style: line.style,
        alignment: line.alignment,
    }
}

/// The lines with the search's matches marked (every pane shows them; `n` / `N` move in the
/// focused one).
pub fn with_matches(s: &AppState, lines: Vec<Line<'static>>, theme: Theme) -> Vec<Line<'static>> {
    match s.ui.search.as_deref() {
        Some(q) if !q.is_empty() => lines
            .into_iter()
            .map(|l| highlight(l, q, theme.matched()))
            .collect(),
        _ => lines,
    }
}

/// A character as search compares it (lower case).
pub fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Whether the terminal is large enough for all panes at once.
pub fn is_wide(area: Rect) -> bool {
    area.width >= 120 && area.height >= 30
}

/// Where the panes go on a terminal of `area`: (main, status line), and on a wide terminal the
/// three panes side by side, else (tab bar, the one pane).
pub struct Areas {
    pub main: Rect,
    pub status: Rect,
    pub wide: Option<[Rect; 3]>,
    pub narrow: [Rect; 2],
}

pub fn areas(area: Rect, status_rows: u16, targets_w: u16) -> Areas {
    let [main, status] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(status_rows)]).areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Length(targets_w), Constraint::Min(40)]).areas(main);
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(right);
    Areas {
        main,
        status,
        wide: is_wide(area).then_some([left, top, bottom]),
        narrow: Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(main),
    }
}

/// The Targets pane's width side by side: what its longest host name needs, between a third
/// and 45% of the terminal.
pub fn targets_width(s: &AppState, width: u16) -> u16 {
    let longest = targets::longest_host(s).unwrap_or(8);
    // Fixed columns (19), LAST SEEN with its zone (up to 22), borders (2).
    let need = u16::try_from(longest + 19 + 22 + 2).unwrap_or(u16::MAX);
    need.clamp(width / 3, width * 45 / 100)
}

/// The Inspector pane's rectangle at the terminal's size.
pub fn inspector_rect(s: &AppState) -> Rect {
    let a = areas(
        Rect::new(0, 0, s.ui.width, s.ui.height),
        status_rows(s, s.ui.width),
        targets_width(s, s.ui.width),
    );
    a.wide.map_or(a.narrow[1], |w| w[2])
}

pub fn draw(f: &mut Frame<'_>, s: &AppState, theme: Theme) {
    let area = f.area();
    let layout = areas(
        area,
        status_rows(s, area.width),
        targets_width(s, area.width),
    );
    let (main, status) = (layout.main, layout.status);
    if !matches!(s.ui.loading, Loading::Done) {
        draw_loading(f, s, main);
    } else if let Some([left, top, bottom]) = layout.wide {
        f.render_widget(targets::TargetsPane { s, theme }, left);
        f.render_widget(timeline::TimelinePane { s, theme }, top);
        f.render_widget(inspector::InspectorPane { s, theme }, bottom);
    } else {
        let [tabs, body] = layout.narrow;
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

/// Key hints, most wanted last: they are dropped from the front when the line is short, so
/// `q quit` always stays.
fn hints(s: &AppState) -> Vec<String> {
    let k = |a: &str| s.keymap.key_for(a).unwrap_or("?").to_string();
    vec![
        format!("{} export", k("export")),
        format!("{} hops", k("hops")),
        format!("{} time", k("jump_time")),
        format!("{} mark", k("mark")),
        format!("{} note", k("edit_finding_note")),
        format!("{} triage", k("tab_triage")),
        format!("{} allow", k("allow")),
        format!("{} filter", k("filter")),
        format!("{} back", k("back")),
        format!("{} find", k("find")),
        if s.ui.search.is_some() {
            format!("{}/{} next match", k("search_next"), k("search_prev"))
        } else {
            format!("{} search", k("search"))
        },
        format!("{} help", k("help")),
        format!("{} quit", k("quit")),
    ]
}

/// What the left of the status line says: the loading banner, the filter, the last message.
fn status_text(s: &AppState) -> String {
    let mut parts = Vec::new();
    if let Some(l) = &s.ui.live {
        parts.push(l.clone());
    }
    if let Some(p) = &s.ui.partial {
        parts.push(p.banner());
    }
    if let Some(f) = &s.ui.filter {
        let shown: usize = s.targets.iter().map(|t| t.findings.len()).sum();
        parts.push(format!(
            "filter: {} ({shown} shown, {} clears)",
            f.text,
            s.keymap.key_for("clear_filter").unwrap_or("?")
        ));
    }
    if !s.ui.status.is_empty() {
        parts.push(s.ui.status.clone());
    }
    crate::model::sanitize::for_terminal(&parts.join(" | ")).into_owned()
}

/// The status area's height: one line, or two when the message would not fit beside the
/// essential hints (the message then gets a line of its own, whole).
pub fn status_rows(s: &AppState, width: u16) -> u16 {
    let essential = hints(s)
        .iter()
        .rev()
        .take(2)
        .map(|h| h.len() + 2)
        .sum::<usize>();
    if status_text(s).chars().count() + essential + 1 > usize::from(width) {
        2
    } else {
        1
    }
}

fn draw_status(f: &mut Frame<'_>, s: &AppState, area: Rect, theme: Theme) {
    let text = status_text(s);
    let style = if s.ui.partial.is_some() {
        theme.severity(crate::detect::Severity::Medium)
    } else {
        theme.title()
    };
    let width = usize::from(area.width);
    let (message_row, hint_row) = if area.height >= 2 {
        let [top, bottom] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
        (Some(top), bottom)
    } else {
        (None, area)
    };
    let left = match message_row {
        Some(top) => {
            f.render_widget(Paragraph::new(Line::styled(clip(&text, width), style)), top);
            String::new()
        }
        None => text,
    };
    // Hints from the most wanted (`q quit`) backwards, as many as fit.
    let room = width.saturating_sub(left.chars().count() + 1);
    let mut right: Vec<String> = Vec::new();
    let mut used = 0;
    for h in hints(s).into_iter().rev() {
        if used + h.len() + 2 > room {
            break;
        }
        used += h.len() + 2;
        right.insert(0, h);
    }
    let right = right.join("  ");
    let pad = width.saturating_sub(left.chars().count() + right.chars().count());
    let line = Line::from(vec![
        Span::styled(left, style),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, theme.dim()),
    ]);
    f.render_widget(Paragraph::new(line), hint_row);
}
