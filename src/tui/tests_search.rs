//! Search (`/`, `n`, `N`) in every pane, jump to a time (`:`), marks (`m`) and the keys that
//! reach them, on the real corpus.

use super::action::{Action, PivotField};
use super::keymap::Context;
use super::state::{AppState, InspectorTab, Modal, Pane};
use super::tests::{corpus_state, screen, select_target};
use super::theme::Theme;
use super::update::{Effect, update};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn type_line(s: &mut AppState, open: Action, text: &str) -> Vec<Effect> {
    update(s, open);
    assert!(matches!(s.ui.modal, Some(Modal::Edit(_))));
    for c in text.chars() {
        update(s, Action::Input(c));
    }
    update(s, Action::Open)
}

/// The RemCom host's chain with every host event around it, the Timeline focused.
fn on_timeline() -> AppState {
    let mut s = corpus_state();
    select_target(&mut s, "PC01");
    update(&mut s, Action::ToggleAllEvents);
    s.ui.focus = Pane::Timeline;
    s
}

fn row_has(s: &AppState, row: usize, needle: &str) -> bool {
    let rows = s.timeline_rows();
    let e = s.data.as_ref().unwrap().store.get(rows[row].0).unwrap();
    crate::filter::event_values(&e)
        .iter()
        .any(|v| v.contains(needle))
        || crate::model::describe::summary(&e)
            .to_lowercase()
            .contains(needle)
}

#[test]
fn search_walks_the_timeline_matches_and_wraps() {
    let mut s = on_timeline();
    let rows = s.timeline_rows().len();
    let want: Vec<usize> = (0..rows).filter(|&i| row_has(&s, i, "remcomsvc")).collect();
    assert!(want.len() >= 2 && want.len() < rows, "{want:?} of {rows}");
    // Typed in any case; the first match at or after the cursor.
    assert!(type_line(&mut s, Action::Search, "REMCOMsvc").is_empty());
    assert!(s.ui.modal.is_none());
    assert_eq!(s.ui.timeline_sel, want[0]);
    assert!(s.ui.status.contains("/REMCOMsvc: row"), "{}", s.ui.status);
    let mut seen = vec![s.ui.timeline_sel];
    for _ in 1..want.len() {
        update(&mut s, Action::SearchNext);
        seen.push(s.ui.timeline_sel);
    }
    assert_eq!(seen, want, "n visits every match in order");
    update(&mut s, Action::SearchNext);
    assert_eq!(s.ui.timeline_sel, want[0]);
    assert!(s.ui.status.contains("from the top"), "{}", s.ui.status);
    update(&mut s, Action::SearchPrev);
    assert_eq!(s.ui.timeline_sel, *want.last().unwrap());
    assert!(s.ui.status.contains("from the bottom"), "{}", s.ui.status);
    // No match: the cursor stays and the status says so.
    let at = s.ui.timeline_sel;
    type_line(&mut s, Action::Search, "no-such-text-anywhere");
    assert_eq!(s.ui.timeline_sel, at);
    assert!(s.ui.status.contains("no match"), "{}", s.ui.status);
    // An empty line ends the search.
    type_line(&mut s, Action::Search, "");
    assert!(s.ui.search.is_none());
    update(&mut s, Action::SearchNext);
    assert!(s.ui.status.contains("no search yet"), "{}", s.ui.status);
}

/// The style of the first cell of `needle` on a screen drawn at `w`x`h`.
fn first_cell_of(
    s: &AppState,
    (width, height): (u16, u16),
    color: bool,
    needle: &str,
) -> ratatui::buffer::Cell {
    let (text, buf) = screen(s, width, height, Theme { color });
    let (row, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} on screen at {width}x{height}:\n{text}"));
    let col = line[..line.find(needle).unwrap()].chars().count();
    buf[(u16::try_from(col).unwrap(), u16::try_from(row).unwrap())].clone()
}

#[test]
fn matches_are_highlighted_on_screen() {
    let mut s = on_timeline();
    type_line(&mut s, Action::Search, "remcomsvc");
    for (w, h) in [(80, 24), (200, 60)] {
        s.ui.width = w;
        s.ui.height = h;
        let cell = first_cell_of(&s, (w, h), true, "RemComSvc");
        assert_eq!(cell.bg, ratatui::style::Color::Yellow, "at {w}x{h}");
    }
    // Without colour the match is still marked (underlined, bold).
    let cell = first_cell_of(&s, (200, 60), false, "RemComSvc");
    assert!(cell.modifier.contains(ratatui::style::Modifier::UNDERLINED));
}

#[test]
fn search_in_a_pivot_reads_every_field_of_its_events() {
    let mut s = on_timeline();
    update(&mut s, Action::Pivot(PivotField::User));
    let p = s.ui.pivots.last().unwrap().clone();
    assert!(p.events.len() > 2, "{}", p.events.len());
    // An event id is one of the event's values.
    type_line(&mut s, Action::Search, "5145");
    let p = s.ui.pivots.last().unwrap();
    assert!(p.sel >= p.findings.len(), "{}", s.ui.status);
    let e = s
        .data
        .as_ref()
        .unwrap()
        .store
        .get(p.events[p.sel - p.findings.len()])
        .unwrap();
    assert_eq!(e.event_id, 5145, "{}", s.ui.status);
}

#[test]
fn search_in_the_inspector_scrolls_to_the_line_and_in_triage_selects_the_step() {
    let mut s = on_timeline();
    s.ui.width = 80;
    s.ui.height = 24;
    update(&mut s, Action::Tab(InspectorTab::Coverage));
    let lines = super::panes::inspector::line_texts(&s);
    let last = lines.last().unwrap().clone();
    let word: String = last.split_whitespace().last().unwrap().to_string();
    assert!(lines.len() > 1);
    type_line(&mut s, Action::Search, &word);
    let at = s.ui.search_line;
    assert!(
        lines[at].to_lowercase().contains(&word.to_lowercase()),
        "{word}: {}",
        s.ui.status
    );
    assert_eq!(
        s.ui.inspector_scroll,
        super::panes::inspector::scroll_to_line(&s, at)
    );
    // The triage walk: the step that says it.
    update(&mut s, Action::Tab(InspectorTab::Triage));
    type_line(&mut s, Action::Search, "PRIVILEGED");
    let f = s.finding().unwrap().clone();
    let step = &s.playbook.step[s.ui.triage_sel];
    assert!(
        crate::case::playbook::fill(step, &f)
            .to_lowercase()
            .contains("privileged"),
        "{}",
        s.ui.status
    );
}

#[test]
fn search_in_targets_selects_the_host() {
    let mut s = corpus_state();
    s.ui.focus = Pane::Targets;
    type_line(&mut s, Action::Search, "pc01");
    assert_eq!(s.target().unwrap().key, "PC01", "{}", s.ui.status);
}

#[test]
fn jump_goes_to_the_first_row_at_or_after_the_time() {
    let mut s = on_timeline();
    let data_times: Vec<_> = {
        let rows = s.timeline_rows();
        let d = s.data.as_ref().unwrap();
        rows.iter().map(|r| d.store.time(r.0).unwrap()).collect()
    };
    assert!(data_times.windows(2).all(|w| w[0] <= w[1]));
    let k = data_times.len() / 2;
    let t = data_times[k];
    let want = data_times.iter().position(|x| *x >= t).unwrap();
    s.ui.focus = Pane::Targets;
    type_line(
        &mut s,
        Action::JumpTime,
        &t.format("%Y-%m-%d %H:%M:%S%.3f")
            .to_string()
            .replace(' ', "T"),
    );
    assert!(s.ui.modal.is_none(), "{}", s.ui.status);
    assert_eq!(s.ui.focus, Pane::Timeline);
    assert_eq!(s.ui.timeline_sel, want, "{}", s.ui.status);
    // A time alone is on the selected row's day.
    s.ui.timeline_sel = 0;
    type_line(
        &mut s,
        Action::JumpTime,
        &t.format("%H:%M:%S%.3f").to_string(),
    );
    assert_eq!(s.ui.timeline_sel, want, "{}", s.ui.status);
    // Past the end: the last row, said so; nonsense: the line stays open with why.
    type_line(&mut s, Action::JumpTime, "2099-01-01");
    assert_eq!(s.ui.timeline_sel, data_times.len() - 1);
    assert!(
        s.ui.status.contains("every row is before"),
        "{}",
        s.ui.status
    );
    type_line(&mut s, Action::JumpTime, "teatime");
    assert!(matches!(s.ui.modal, Some(Modal::Edit(_))));
    assert!(s.ui.status.contains("not a time"), "{}", s.ui.status);
}

#[test]
fn marks_are_listed_in_notes_saved_and_reported() {
    let mut s = on_timeline();
    s.ui.timeline_sel = 1;
    let fid = s.finding().unwrap().id.clone();
    assert_eq!(update(&mut s, Action::Mark), vec![Effect::SaveCase]);
    let marks = s.case.case.marks(&fid).to_vec();
    assert_eq!(marks.len(), 1);
    assert!(marks[0].evidence.contains(".evtx"), "{:?}", marks[0]);
    // The row shows it, the Notes tab lists it with its evidence location.
    let (text, _) = screen(&s, 200, 60, Theme { color: false });
    assert!(text.contains('●'), "{text}");
    update(&mut s, Action::Tab(InspectorTab::Notes));
    let (text, _) = screen(&s, 200, 60, Theme { color: false });
    assert!(text.contains("Marked events: 1"), "{text}");
    assert!(text.contains("evidence: "), "{text}");
    // A mark survives the case file.
    let json = serde_json::to_string(&s.case.case).unwrap();
    let back: crate::case::Case = serde_json::from_str(&json).unwrap();
    assert_eq!(back.marks(&fid), marks.as_slice());
    // The report carries it.
    let data = s.data.as_ref().unwrap();
    let md = crate::sink::report::report_md(
        &s.case.case,
        &data.findings,
        &s.playbook,
        &crate::sink::report::ReportOptions::default(),
        None,
    );
    assert!(md.contains("**Marked events** (1)"), "{md}");
    assert!(md.contains(&format!(
        "(evidence: {}",
        crate::model::sanitize::for_markdown(&marks[0].evidence)
    )));
    // `m` again takes the mark off.
    s.ui.focus = Pane::Timeline;
    update(&mut s, Action::Mark);
    assert!(s.case.case.marks(&fid).is_empty());
    // Nothing under the cursor to mark on Targets without a finding: said, nothing saved.
    let mut t = corpus_state();
    t.targets.clear();
    assert!(update(&mut t, Action::Mark).is_empty());
}

#[test]
fn the_new_keys_resolve_where_the_analyst_is() {
    let km = super::keymap::Keymap::builtin().unwrap();
    let k = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let r = |ctx, ev| km.resolve(ctx, ev);
    assert!(matches!(r(Context::Normal, k('/')), Some(Action::Search)));
    assert!(matches!(
        r(Context::Normal, k('n')),
        Some(Action::SearchNext)
    ));
    assert!(matches!(
        r(Context::Normal, k('N')),
        Some(Action::SearchPrev)
    ));
    assert!(matches!(r(Context::Normal, k(':')), Some(Action::JumpTime)));
    assert!(matches!(r(Context::Normal, k('m')), Some(Action::Mark)));
    assert!(matches!(
        r(Context::Normal, k('I')),
        Some(Action::Pivot(PivotField::Image))
    ));
    assert!(matches!(
        r(Context::Normal, k('e')),
        Some(Action::EditFindingNote)
    ));
    assert!(matches!(
        r(Context::Triage, k('e')),
        Some(Action::EditStepNote)
    ));
    assert!(matches!(
        r(Context::Normal, k('E')),
        Some(Action::EditCaseNote)
    ));
    let ctrl_p = KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL);
    assert!(matches!(r(Context::Normal, ctrl_p), Some(Action::Find)));
    // In an editor they are text.
    assert!(matches!(
        r(Context::Editor, k('n')),
        Some(Action::Input('n'))
    ));
}
