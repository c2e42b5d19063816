//! Views over the panes: help (generated from the keymap), fuzzy finder, hops graph, allow-list
//! editor and manager, and the note editor.

use crate::model::sanitize::{clip, for_note, for_terminal};
use crate::sink::table::sev_short;
use crate::tui::action::{ALLOW_FIELDS, Action};
use crate::tui::editor::Editor;
use crate::tui::state::{AppState, EditTarget, Modal};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

fn centered(area: Rect, wide: bool) -> Rect {
    if area.width < 100 {
        return area;
    }
    let w = if wide {
        area.width * 9 / 10
    } else {
        area.width * 7 / 10
    };
    let h = area.height * 8 / 10;
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub fn draw(f: &mut Frame<'_>, s: &AppState, area: Rect, theme: Theme) {
    let Some(modal) = &s.ui.modal else { return };
    let inner_w = usize::from(centered(area, true).width.saturating_sub(2));
    let (title, lines, scroll): (String, Vec<Line<'static>>, usize) = match modal {
        Modal::Help { scroll } => (" Keys (esc closes) ".into(), help(s), *scroll),
        Modal::Finder { query, sel, hits } => finder(s, query, *sel, hits, theme),
        Modal::Hops { sel } => hops(s, *sel, theme, inner_w),
        Modal::AllowEdit(d) => (" Allow-list the selected finding (←/→ field, type a reason, enter saves, esc cancels) ".into(), allow_edit(s, d, theme), 0),
        Modal::AllowList { sel, .. } => allow_list(s, *sel, theme),
        Modal::Edit(e) => editor(e, theme),
    };
    let rect = centered(area, true);
    let height = usize::from(rect.height.saturating_sub(2));
    // The help view's scroll is already held within its wrapped rows (`help_max_scroll`).
    let scroll = if matches!(modal, Modal::Help { .. }) {
        scroll
    } else if matches!(modal, Modal::Edit(_)) {
        // `scroll` is the cursor's line: keep it on screen.
        scroll.saturating_sub(height.saturating_sub(1))
    } else {
        scroll.min(lines.len().saturating_sub(height))
    };
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(clip(&title, usize::from(rect.width).saturating_sub(2)))
        .border_style(theme.border(true));
    // Lists stay one row per item (cut at the edge); text views wrap.
    let wraps = matches!(
        modal,
        Modal::Help { .. } | Modal::Edit(_) | Modal::AllowEdit(_)
    );
    let p = Paragraph::new(lines)
        .block(block)
        .scroll((u16::try_from(scroll).unwrap_or(0), 0));
    f.render_widget(
        if wraps {
            p.wrap(Wrap { trim: false })
        } else {
            p
        },
        rect,
    );
}

/// A text editor: the text with the cursor shown as a reversed cell, scrolled so the cursor's
/// line is in view; the filter editor lists its syntax below.
fn editor(e: &Editor, theme: Theme) -> (String, Vec<Line<'static>>, usize) {
    let what = match &e.target {
        EditTarget::Finding(id) => format!("Edit note for {id}"),
        EditTarget::Case => "Edit case note".into(),
        EditTarget::Step { step, .. } => format!("Edit note for step {step}"),
        EditTarget::Filter => "Filter".into(),
        EditTarget::Search => "Search the pane".into(),
        EditTarget::Jump => "Jump to a time".into(),
    };
    let keys = match (e.multiline, &e.target) {
        (_, EditTarget::Filter) => "enter applies, esc cancels",
        (_, EditTarget::Search) => "enter finds, then n / N; esc cancels",
        (_, EditTarget::Jump) => "enter jumps, esc cancels",
        (true, _) => "ctrl-s saves, enter new line, esc cancels",
        (false, _) => "enter or ctrl-s saves, esc cancels",
    };
    let (before, at, after) = e.split_at_cursor();
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let push_text = |text: &str, lines: &mut Vec<Line<'static>>, cur: &mut Vec<Span<'static>>| {
        let mut parts = text.split('\n');
        if let Some(first) = parts.next() {
            cur.push(Span::raw(for_note(first).into_owned()));
        }
        for part in parts {
            lines.push(Line::from(std::mem::take(cur)));
            cur.push(Span::raw(for_note(part).into_owned()));
        }
    };
    push_text(before, &mut lines, &mut cur);
    let cursor_line = lines.len();
    let shown = if at.is_empty() || at == "\n" { " " } else { at };
    cur.push(Span::styled(
        for_terminal(shown).into_owned(),
        theme.selected(),
    ));
    if at == "\n" {
        lines.push(Line::from(std::mem::take(&mut cur)));
    }
    push_text(after, &mut lines, &mut cur);
    lines.push(Line::from(cur));
    if e.target == EditTarget::Filter {
        lines.push(Line::from(""));
        for help in [
            "sev:high (and above)  host:ws01  user:admin  tool:psexec  src:10.0.0.5  svc:PSEXESVC",
            "since:2020-10-19  until:\"2020-10-19 13:00\" (in the zone shown)  is:suppressed  is:active",
            "other words: text in any field of the findings' events (command lines, pipes, paths)",
            "an empty line clears the filter",
        ] {
            lines.push(Line::styled(help, theme.dim()));
        }
    }
    let help: &[&str] = match e.target {
        EditTarget::Search => &[
            "text in the rows of the focused pane (any field of an event), upper or lower case",
            "n: next match, N: previous; an empty line ends the search",
        ],
        EditTarget::Jump => &[
            "11:40 or 11:40:56 (on the day of the selected row), 2020-08-27, \"2020-08-27 11:40\"",
            "in the zone times are shown in (z cycles); 2020-08-27T11:40:56Z for UTC",
            "the timeline (or the open pivot) goes to its first row at or after that time",
        ],
        _ => &[],
    };
    if !help.is_empty() {
        lines.push(Line::from(""));
    }
    for h in help {
        lines.push(Line::styled(*h, theme.dim()));
    }
    (format!(" {what} ({keys}) "), lines, cursor_line)
}

/// How far the help view can scroll at the terminal's size: its last line at the bottom.
pub fn help_max_scroll(s: &AppState) -> usize {
    // The views cover the panes, not the status line below them.
    let area = super::areas(
        Rect::new(0, 0, s.ui.width, s.ui.height),
        super::status_rows(s, s.ui.width),
        super::targets_width(s, s.ui.width),
    )
    .main;
    let rect = centered(area, true);
    let inner_w = rect.width.saturating_sub(2).max(1);
    let height = usize::from(rect.height.saturating_sub(2));
    // Wrapped rows, as the view renders them (word wrap can take more rows than the width says).
    let rows = Paragraph::new(help(s))
        .wrap(Wrap { trim: false })
        .line_count(inner_w);
    rows.saturating_sub(height)
}

fn help(s: &AppState) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut section = String::new();
    for (sec, key, action) in s.keymap.bindings() {
        if sec != section {
            section.clone_from(&sec);
            lines.push(Line::from(format!("[{sec}]")));
        }
        lines.push(Line::from(format!(
            "  {key:<10} {}",
            Action::describe(&action)
        )));
    }
    lines
}

fn window(sel: usize, len: usize, height: usize) -> std::ops::Range<usize> {
    let start = sel.saturating_sub(height.saturating_sub(1));
    start..len.min(start + height)
}

fn finder(
    s: &AppState,
    query: &str,
    sel: usize,
    hits: &[usize],
    theme: Theme,
) -> (String, Vec<Line<'static>>, usize) {
    let hits: Vec<&(crate::tui::finder::Kind, String)> = hits
        .iter()
        .filter_map(|&i| s.finder_values.get(i))
        .collect();
    let sel = sel.min(hits.len().saturating_sub(1));
    let mut lines = vec![
        Line::from(format!("> {}█", for_terminal(query))),
        Line::from(""),
    ];
    for i in window(sel, hits.len(), 30) {
        let (k, v) = &hits[i];
        let st = if i == sel {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::styled(
            format!("{:<8} {}", k.label(), clip(v, 100)),
            st,
        ));
    }
    (
        format!(
            " Find ({}; enter jumps, esc closes) ",
            crate::sink::text::count(u64::try_from(hits.len()).unwrap_or(u64::MAX), "match")
        ),
        lines,
        0,
    )
}

/// The hops view: time, severity, the path of hops, account, campaign and tool; the columns
/// share the view's width (the path and names take what the fixed columns leave).
/// The hops view's column widths at `width`: time, campaign (0 when no hop has one; else
/// with its space), and the hops, account and tool sharing the rest.
fn hops_widths(
    edges: &[crate::tui::hops::Edge],
    paths: &[String],
    time_w: usize,
    width: usize,
) -> (usize, [usize; 3]) {
    let natural = |head: &str, cells: &mut dyn Iterator<Item = usize>| {
        cells.max().unwrap_or(0).max(head.chars().count())
    };
    // The campaign column only when some hop belongs to one.
    let camp_w = if edges.iter().any(|e| e.campaign.is_some()) {
        natural(
            "CAMPAIGN",
            &mut edges
                .iter()
                .map(|e| e.campaign.as_deref().unwrap_or("-").chars().count()),
        ) + 1
    } else {
        0
    };
    // Spaces after the time and severity columns and between the others.
    let fixed = time_w + 1 + 4 + 1 + camp_w + 2;
    let widths = crate::sink::text::fit_widths(
        &[
            natural("HOPS", &mut paths.iter().map(|p| p.chars().count())),
            natural("ACCOUNT", &mut edges.iter().map(|e| e.user.chars().count())),
            natural("TOOL", &mut edges.iter().map(|e| e.tool.chars().count())),
        ],
        width.saturating_sub(fixed),
        8,
    );
    (camp_w, [widths[0], widths[1], widths[2]])
}

fn hops(
    s: &AppState,
    sel: usize,
    theme: Theme,
    width: usize,
) -> (String, Vec<Line<'static>>, usize) {
    let edges = crate::tui::hops::edges(s);
    let zone = s.ui.zone;
    let time_fmt = s.row_time_format();
    let paths: Vec<String> = edges.iter().map(|e| e.path.join(" ──▶ ")).collect();
    let time_w = zone
        .fmt_with(chrono::DateTime::UNIX_EPOCH, time_fmt)
        .chars()
        .count();
    let (camp_w, widths) = hops_widths(&edges, &paths, time_w, width);
    let (hop_w, user_w, tool_w) = (widths[0], widths[1], widths[2]);
    let campaign = |c: &str| {
        if camp_w == 0 {
            String::new()
        } else {
            format!("{c:<w$} ", w = camp_w - 1)
        }
    };
    // Rows scroll sideways with `<` / `>` (the time and severity stay).
    let shift = |row: String| -> String { row.chars().skip(s.ui.hscroll).collect() };
    let head = clip(&format!("TIME ({})", zone.label()), time_w);
    let mut lines = vec![Line::styled(
        format!(
            "{head:<time_w$} SEV  {}",
            shift(format!(
                "{:<hop_w$} {:<user_w$} {}TOOL",
                "HOPS",
                "ACCOUNT",
                campaign("CAMPAIGN")
            ))
        ),
        theme.dim(),
    )];
    for (i, (e, path)) in edges.iter().zip(&paths).enumerate() {
        // A chain too long for its column keeps its end: where the movement arrived.
        let hops = if s.ui.hscroll > 0 {
            path.clone()
        } else {
            crate::sink::text::clip_start(path, hop_w)
        };
        let text = format!(
            "{} {:<4} {}",
            zone.fmt_with(e.time, time_fmt),
            sev_short(e.severity),
            shift(format!(
                "{hops:<hop_w$} {:<user_w$} {}{}",
                clip(&e.user, user_w),
                campaign(e.campaign.as_deref().unwrap_or("-")),
                clip(&e.tool, tool_w)
            ))
        );
        let st = if i == sel {
            theme.selected()
        } else {
            theme.severity(e.severity)
        };
        lines.push(Line::styled(text, st));
    }
    if edges.is_empty() {
        lines.push(Line::from("no remote hops found"));
    }
    let scroll = sel.saturating_sub(20);
    (
        " Hops: who moved where (enter opens the finding, esc closes) ".into(),
        lines,
        scroll,
    )
}

fn allow_edit(s: &AppState, d: &crate::tui::state::AllowDraft, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (i, field) in ALLOW_FIELDS.iter().enumerate() {
        let value = d.values.get(i).map_or("", String::as_str);
        let v = if value.is_empty() {
            "(none on this finding)".to_string()
        } else {
            clip(value, 90)
        };
        let st = if i == d.field {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::styled(
            format!(
                "{} {:<12} {v}",
                if i == d.field { ">" } else { " " },
                field.label()
            ),
            st,
        ));
    }
    lines.push(Line::from(""));
    if let (Some(field), Some(value)) = (
        ALLOW_FIELDS.get(d.field),
        d.values.get(d.field).filter(|v| !v.trim().is_empty()),
    ) {
        let spec = crate::tui::navigate::draft_spec(d, *field, value, "");
        let n = crate::tui::navigate::covered(s, &spec);
        lines.push(Line::styled(
            format!(
                "matches the value exactly (* and ? are characters here); covers {n} finding(s) on any host"
            ),
            theme.dim(),
        ));
    }
    lines.push(Line::from(format!("reason: {}█", for_terminal(&d.reason))));
    lines
}

fn allow_list(s: &AppState, sel: usize, theme: Theme) -> (String, Vec<Line<'static>>, usize) {
    let mut lines = Vec::new();
    for (i, a) in s.case.case.allowlist.iter().enumerate() {
        let st = if i == sel {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        lines.push(Line::styled(
            format!(
                "{:<12} {:<30} {}",
                a.spec.field.label(),
                clip(&a.spec.pattern, 30),
                clip(&a.spec.reason, 60)
            ),
            st,
        ));
    }
    if lines.is_empty() {
        lines.push(Line::from(
            "no allow-list entries in this case yet (a on a finding adds one)",
        ));
    }
    (
        " Allow-list entries of this case (d removes, esc closes) ".into(),
        lines,
        0,
    )
}
