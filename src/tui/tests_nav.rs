//! Workbench navigation without a terminal: the back stack, filters, the editor, the triage walk
//! and the inspector's scroll at 80x24 (state from the real corpus, drawn into a `TestBackend`).

use super::action::{Action, PivotField};
use super::editor::EditKey;
use super::state::{AppState, EditTarget, InspectorTab, Modal, Pane};
use super::tests::{color, corpus_state, screen, select_target};
use super::update::{Effect, update};

fn type_text(s: &mut AppState, text: &str) {
    for c in text.chars() {
        update(s, Action::Input(c));
    }
}

fn filter(s: &mut AppState, text: &str) {
    update(s, Action::Filter);
    type_text(s, text);
    update(s, Action::Newline);
}

/// Esc returns where the analyst came from: Inspector -> Timeline -> Targets, a finding opened
/// from a pivot -> the pivot (with its selection) -> the finding before; ctrl-n goes forward.
#[test]
fn esc_goes_back_where_the_analyst_came_from() {
    let mut s = corpus_state();
    select_target(&mut s, "PC01");
    update(&mut s, Action::Open);
    assert_eq!(s.ui.focus, Pane::Timeline);
    update(&mut s, Action::Down);
    update(&mut s, Action::Open);
    assert_eq!(s.ui.focus, Pane::Inspector);
    update(&mut s, Action::Back);
    assert_eq!(s.ui.focus, Pane::Timeline, "Inspector -> Timeline");
    assert_eq!(s.ui.timeline_sel, 1, "on the row it was on");
    // A pivot, a finding opened from it, and back.
    let first = s.finding().unwrap().id.clone();
    update(&mut s, Action::Pivot(PivotField::User));
    assert_eq!(s.ui.pivots.len(), 1);
    update(&mut s, Action::Down);
    let picked = s.ui.pivots[0].findings[1];
    update(&mut s, Action::Open);
    assert!(s.ui.pivots.is_empty(), "the finding is shown on its own");
    let opened = s.finding().unwrap().id.clone();
    assert_eq!(opened, s.data.as_ref().unwrap().findings[picked].id);
    update(&mut s, Action::Back);
    assert_eq!(s.ui.pivots.len(), 1, "Esc brings the pivot back");
    assert_eq!(s.ui.pivots[0].sel, 1, "with its selection");
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("Pivot: user="), "{text}");
    update(&mut s, Action::Back);
    assert!(s.ui.pivots.is_empty());
    assert_eq!(s.finding().unwrap().id, first, "back on the finding before");
    // Forward again, twice, lands on the finding opened from the pivot.
    update(&mut s, Action::Forward);
    update(&mut s, Action::Forward);
    assert_eq!(s.finding().unwrap().id, opened);
    // With nowhere remembered, Esc goes out one level.
    s.ui.back.clear();
    s.ui.focus = Pane::Inspector;
    update(&mut s, Action::Back);
    assert_eq!(s.ui.focus, Pane::Timeline);
    update(&mut s, Action::Back);
    assert_eq!(s.ui.focus, Pane::Targets);
}

/// Hops -> finding -> Esc: the hops view again, on the same row.
#[test]
fn esc_from_a_finding_opened_in_hops_returns_to_hops() {
    let mut s = corpus_state();
    update(&mut s, Action::Hops);
    update(&mut s, Action::Down);
    update(&mut s, Action::Open);
    assert!(s.ui.modal.is_none());
    update(&mut s, Action::Back);
    assert!(
        matches!(s.ui.modal, Some(Modal::Hops { sel: 1 })),
        "{:?}",
        s.ui.modal
    );
}

#[test]
fn filters_narrow_targets_timeline_and_pivots_and_clear_with_one_key() {
    let mut s = corpus_state();
    let all_hosts = s.targets.len();
    let all: usize = s.targets.iter().map(|t| t.findings.len()).sum();
    filter(&mut s, "sev:critical");
    assert!(s.ui.modal.is_none(), "applied: {}", s.ui.status);
    let data = s.data.as_ref().unwrap();
    let shown: Vec<usize> = s.targets.iter().flat_map(|t| t.findings.clone()).collect();
    assert!(
        !shown.is_empty() && shown.len() < all,
        "{} of {all}",
        shown.len()
    );
    assert!(
        shown
            .iter()
            .all(|&i| data.findings[i].severity == crate::detect::Severity::Critical)
    );
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("filter: sev:critical"), "status line: {text}");
    update(&mut s, Action::ClearFilter);
    assert_eq!(s.targets.len(), all_hosts);
    // Free words reach the events' fields: RemCom's service image path.
    filter(&mut s, "remcom");
    let shown: usize = s.targets.iter().map(|t| t.findings.len()).sum();
    assert!(shown > 0 && shown < all, "{shown} of {all}");
    // A word found nowhere empties the lists and says so; the pivot keeps what passes.
    filter(&mut s, "no-such-text-anywhere");
    assert!(s.targets.is_empty());
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("filter"), "{text}");
    update(&mut s, Action::ClearFilter);
    select_target(&mut s, "PC01");
    s.ui.focus = Pane::Timeline;
    update(&mut s, Action::Pivot(PivotField::User));
    let before = s.ui.pivots[0].findings.len() + s.ui.pivots[0].events.len();
    filter(&mut s, "since:2099-01-01");
    let p = &s.ui.pivots[0];
    assert_eq!(p.findings.len() + p.events.len(), 0, "nothing after 2099");
    assert_eq!(p.all_findings.len() + p.all_events.len(), before);
    // A bad filter stays open with the reason; nothing changes.
    update(&mut s, Action::Filter);
    for _ in 0..40 {
        update(&mut s, Action::Edit(EditKey::Backspace));
    }
    type_text(&mut s, "sev:urgent");
    update(&mut s, Action::Newline);
    assert!(matches!(s.ui.modal, Some(Modal::Edit(_))));
    assert!(s.ui.status.contains("critical"), "{}", s.ui.status);
}

/// Notes are edited anywhere in the text; Esc on changed text asks before throwing it away.
#[test]
fn editor_moves_the_cursor_and_asks_before_discarding() {
    let mut s = corpus_state();
    let fid = s.finding().unwrap().id.clone();
    update(&mut s, Action::EditFindingNote);
    type_text(&mut s, "remcom from PC02");
    update(&mut s, Action::Edit(EditKey::Home));
    type_text(&mut s, "seen: ");
    update(&mut s, Action::Edit(EditKey::End));
    update(&mut s, Action::Edit(EditKey::DeleteWordBack));
    type_text(&mut s, "WKS02");
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("seen: remcom from WKS02"), "{text}");
    update(&mut s, Action::Cancel);
    assert!(s.ui.modal.is_some(), "asks first");
    assert!(s.ui.status.contains("esc again"), "{}", s.ui.status);
    update(&mut s, Action::Input('!'));
    update(&mut s, Action::Cancel);
    assert!(s.ui.modal.is_some(), "typing in between asks again");
    assert_eq!(update(&mut s, Action::Save), vec![Effect::SaveCase]);
    assert_eq!(s.case.case.note(&fid), "seen: remcom from WKS02!");
    // Unchanged text closes at once; changed then discarded leaves the note as it was.
    update(&mut s, Action::EditFindingNote);
    update(&mut s, Action::Cancel);
    assert!(s.ui.modal.is_none());
    update(&mut s, Action::EditFindingNote);
    update(&mut s, Action::Paste("pasted\nlines".into()));
    update(&mut s, Action::Cancel);
    update(&mut s, Action::Cancel);
    assert!(s.ui.modal.is_none());
    assert_eq!(s.case.case.note(&fid), "seen: remcom from WKS02!");
    // The same save key in the step note editor.
    update(&mut s, Action::Tab(InspectorTab::Triage));
    update(&mut s, Action::EditStepNote);
    assert!(matches!(
        &s.ui.modal,
        Some(Modal::Edit(e)) if matches!(e.target, EditTarget::Step { .. })
    ));
    type_text(&mut s, "checked");
    assert_eq!(update(&mut s, Action::Save), vec![Effect::SaveCase]);
}

/// At 80x24 the triage walk keeps the selected step, and its header, on screen to the last step.
#[test]
fn triage_walk_keeps_the_selected_step_in_view() {
    let mut s = corpus_state();
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::Tab(InspectorTab::Triage));
    let steps = s.playbook.step_count();
    for i in 0..steps {
        let (text, _) = screen(&s, 80, 24, color());
        let step = &s.playbook.step[i];
        let head: String = step.text.chars().take(20).collect();
        let head = head
            .split('{')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        assert!(
            text.contains("Triage 0/"),
            "header pinned at step {i}: {text}"
        );
        assert!(text.contains(&head), "step {i} ({head}) on screen: {text}");
        // A step taller than the pane is read to its end first (`j` scrolls through it).
        for _ in 0..200 {
            update(&mut s, Action::Down);
            if s.ui.triage_sel != i || i + 1 == steps {
                break;
            }
        }
    }
    update(&mut s, Action::Top);
    update(&mut s, Action::Bottom);
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("from "), "the last step's source: {text}");
}

/// The Detail tab scrolls within its text: many `j` stop at the end, one `k` moves at once.
#[test]
fn detail_scroll_stops_at_the_end() {
    let mut s = corpus_state();
    // A short terminal, so the event's fields are longer than the pane.
    update(&mut s, Action::Resize(80, 14));
    update(&mut s, Action::Open);
    update(&mut s, Action::Open);
    assert_eq!(s.ui.focus, Pane::Inspector);
    let max = super::panes::inspector::max_scroll(&s);
    assert!(max > 0, "an event's fields are longer than the pane");
    for _ in 0..(max + 40) {
        update(&mut s, Action::Down);
    }
    assert_eq!(s.ui.inspector_scroll, max);
    update(&mut s, Action::Up);
    assert_eq!(s.ui.inspector_scroll, max - 1);
    let (text, _) = screen(&s, 80, 14, color());
    let body_rows = text
        .lines()
        .filter(|l| l.starts_with('│') && l.trim_matches(['│', ' ']).len() > 1)
        .count();
    assert!(body_rows >= 8, "the pane is full, not blank: {text}");
}

/// At 200x60 the columns use the width: whole host names in Targets (with the year, as the
/// corpus spans years), whole tools and accounts in Hops; at 80x24 they are cut, not wrapped.
#[test]
fn columns_share_the_terminal_width() {
    let mut s = corpus_state();
    let (large, _) = screen(&s, 200, 60, color());
    assert!(large.contains("04246w-win10.threebeesco.com"), "{large}");
    assert!(
        large.contains("2020-08-27 11:40"),
        "LAST SEEN with the year: {large}"
    );
    let (small, _) = screen(&s, 80, 24, color());
    assert!(small.lines().all(|l| l.chars().count() <= 80));
    update(&mut s, Action::Resize(200, 60));
    update(&mut s, Action::Hops);
    let (hops, _) = screen(&s, 200, 60, color());
    let longest_tool = super::hops::edges(&s)
        .iter()
        .map(|e| e.tool.clone())
        .max_by_key(String::len)
        .unwrap();
    assert!(hops.contains(&longest_tool), "{longest_tool}: {hops}");
    assert!(hops.contains("TIME (UTC)"), "{hops}");
}

/// The Detail pane reads the evidence for the analyst: an encoded PowerShell command decoded
/// beside it, an address of the collection named as its host.
#[test]
fn detail_decodes_payloads_and_names_addresses() {
    let case = crate::demo::generate(&crate::demo::DemoOptions::default());
    let mut s = super::tests::state_from(crate::demo::events(&case));
    update(&mut s, Action::Resize(200, 60));
    let data = s.data.as_ref().unwrap();
    // A stage whose command line carries -encodedcommand, and a logon from a host's address.
    let find = |pred: &dyn Fn(&crate::model::Event) -> bool| {
        data.findings.iter().enumerate().find_map(|(fi, f)| {
            f.stages.iter().enumerate().find_map(|(si, st)| {
                data.store
                    .get(st.event_index)
                    .filter(|e| pred(e))
                    .map(|_| (fi, si))
            })
        })
    };
    let encoded = find(&|e| {
        e.fields
            .process
            .command_line
            .as_deref()
            .is_some_and(|c| c.to_lowercase().contains("-encodedcommand"))
    })
    .expect("the demo's psexec_psh run");
    let named = find(&|e| {
        e.event_id == 4624
            && e.fields
                .net
                .src_ip
                .as_deref()
                .is_some_and(|ip| data.addresses.host_of(ip, e.ts).is_some())
    })
    .expect("a logon from a host of the collection");
    // The timeline row of that logon names the source host too.
    super::navigate::jump_to_finding(&mut s, named.0);
    s.ui.focus = Pane::Timeline;
    let (text, _) = screen(&s, 200, 60, color());
    assert!(text.contains("[= "), "the logon's source host: {text}");
    for ((fi, si), want) in [
        (encoded, "decoded from process.command_line"),
        (named, "in this collection)"),
    ] {
        super::navigate::jump_to_finding(&mut s, fi);
        s.ui.timeline_sel = si;
        s.ui.focus = Pane::Inspector;
        s.ui.tab = InspectorTab::Detail;
        let (text, _) = screen(&s, 200, 60, color());
        assert!(text.contains(want), "{want}: {text}");
    }
}

/// `>` scrolls long timeline rows sideways so their end can be read at 80 columns; `<` back.
#[test]
fn long_rows_scroll_sideways() {
    let mut s = corpus_state();
    select_target(&mut s, "IEWIN7");
    s.ui.focus = Pane::Timeline;
    let (before, _) = screen(&s, 80, 24, color());
    for _ in 0..3 {
        update(&mut s, Action::ScrollRight);
    }
    let (after, _) = screen(&s, 80, 24, color());
    assert_ne!(before, after);
    assert!(after.contains('…'), "marked as scrolled: {after}");
    // The end of the PowerShell command line, cut at 80 columns before, is on screen now.
    let hidden_before = |needle: &str| !before.contains(needle) && after.contains(needle);
    assert!(
        ["else{", "StreamReade", "%%COMSPEC%%"]
            .iter()
            .any(|n| hidden_before(n)),
        "{after}"
    );
    for _ in 0..5 {
        update(&mut s, Action::ScrollLeft);
    }
    assert_eq!(screen(&s, 80, 24, color()).0, before);
}

/// Keys as the terminal sends them, resolved by the keymap in the context the workbench is in.
fn press(s: &mut AppState, keys: &[crossterm::event::KeyEvent]) {
    for &k in keys {
        if let Some(a) = s.keymap.resolve(super::context(s), k) {
            update(s, a);
        }
    }
}

fn chars(text: &str) -> Vec<crossterm::event::KeyEvent> {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    text.chars()
        .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
        .collect()
}

/// The walk that leaked keys (#29): a step note of two lines typed with Enter between them,
/// saved with ctrl-s. Every key lands in the note; none runs a pivot or opens another note.
#[test]
fn a_step_note_takes_every_line_typed_and_nothing_leaks_into_the_view() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    let mut s = corpus_state();
    let fid = s.finding().expect("a finding").id.clone();
    let step = s.playbook.step[1].id.clone();
    press(&mut s, &[enter]);
    press(&mut s, &chars("4je"));
    assert!(
        matches!(&s.ui.modal, Some(Modal::Edit(e)) if matches!(e.target, EditTarget::Step { .. }))
    );
    press(&mut s, &chars("first line"));
    press(&mut s, &[enter, enter]);
    press(&mut s, &chars("line 2 of step note"));
    press(&mut s, &[ctrl_s]);
    assert!(s.ui.modal.is_none(), "ctrl-s saved and closed the editor");
    assert_eq!(
        s.case.case.mark(&fid, &step).note,
        "first line\n\nline 2 of step note"
    );
    assert!(s.ui.pivots.is_empty(), "no key ran a pivot");
    assert_eq!(s.case.case.note(&fid), "", "the finding note is untouched");
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("first line") && text.contains("line 2 of step note"),
        "{text}"
    );
}

/// #29: Esc in the allow-list editor with a reason typed asks first, as the note editor does;
/// `d` in the allow-list asks before removing an entry.
#[test]
fn a_typed_reason_and_an_entry_are_not_thrown_away_on_one_key() {
    let mut s = corpus_state();
    update(&mut s, Action::Allow);
    type_text(&mut s, "lab box");
    update(&mut s, Action::Cancel);
    assert!(
        matches!(s.ui.modal, Some(Modal::AllowEdit(_))),
        "the first Esc asks"
    );
    assert!(
        s.ui.status.contains("esc again discards"),
        "{}",
        s.ui.status
    );
    type_text(&mut s, "!");
    update(&mut s, Action::Cancel);
    assert!(
        matches!(s.ui.modal, Some(Modal::AllowEdit(_))),
        "typing again: asks again"
    );
    update(&mut s, Action::Cancel);
    assert!(s.ui.modal.is_none(), "the second Esc discards");
    assert!(s.case.case.allowlist.is_empty());
    // An entry saved, then `d` in the allow-list: asks, and Esc keeps it.
    update(&mut s, Action::Allow);
    type_text(&mut s, "lab box");
    update(&mut s, Action::Open);
    assert_eq!(s.case.case.allowlist.len(), 1);
    update(&mut s, Action::AllowList);
    update(&mut s, Action::RemoveAllow);
    assert_eq!(s.case.case.allowlist.len(), 1, "the first d asks");
    assert!(s.ui.status.contains("d again removes"), "{}", s.ui.status);
    update(&mut s, Action::Cancel);
    assert_eq!(s.case.case.allowlist.len(), 1, "esc keeps it");
    assert!(matches!(s.ui.modal, Some(Modal::AllowList { .. })));
    update(&mut s, Action::RemoveAllow);
    assert_eq!(update(&mut s, Action::RemoveAllow), vec![Effect::SaveCase]);
    assert!(s.case.case.allowlist.is_empty(), "d twice removes it");
}

/// #29: a tab key from the Timeline opens the Inspector (the whole screen at 80x24); Esc goes
/// back to the Timeline on the same event, not to Targets.
#[test]
fn esc_from_an_inspector_tab_returns_to_the_timeline_row() {
    let mut s = corpus_state();
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::Open);
    assert_eq!(s.ui.focus, Pane::Timeline);
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    let row = s.ui.timeline_sel;
    update(&mut s, Action::Tab(InspectorTab::Score));
    update(&mut s, Action::Tab(InspectorTab::Detail));
    assert_eq!(s.ui.focus, Pane::Inspector);
    update(&mut s, Action::Back);
    assert_eq!(s.ui.focus, Pane::Timeline, "back to the Timeline");
    assert_eq!(s.ui.timeline_sel, row, "on the same row");
    update(&mut s, Action::Back);
    assert_eq!(s.ui.focus, Pane::Targets, "then to Targets");
}

/// #29: on evidence spanning years, pivot and hops rows carry the year; at 80x24 the
/// timeline's title keeps the day (its rows show only the time).
#[test]
fn rows_carry_the_year_and_the_narrow_timeline_keeps_its_day() {
    let mut s = corpus_state();
    assert!(s.spans_years, "the corpus holds 2019 and 2020 logs");
    select_target(&mut s, "PC01");
    s.ui.focus = Pane::Timeline;
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("Timeline 2019-02-16"), "{text}");
    update(&mut s, Action::Pivot(PivotField::User));
    let (text, _) = screen(&s, 200, 60, color());
    let dated_row = |text: &str, day: &str| {
        text.lines()
            .any(|l| l.contains(day) && !l.contains("time:") && !l.contains("Timeline"))
    };
    assert!(
        dated_row(&text, "2019-02-16 17:5"),
        "pivot rows with the year:\n{text}"
    );
    update(&mut s, Action::Back);
    update(&mut s, Action::Hops);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        dated_row(&text, "2019-") && dated_row(&text, "2020-"),
        "hops rows with the year:\n{text}"
    );
}

/// Pasted text is kept as pasted: a tab stays a tab (shown as spaces, never `\t`), CRLF and
/// lone CR make one line break each, and the report writes the tab, not `tab\\there`.
#[test]
fn pasted_text_is_kept_as_pasted() {
    let mut s = corpus_state();
    s.ui.focus = Pane::Timeline;
    let fid = s.finding().unwrap().id.clone();
    update(&mut s, Action::EditFindingNote);
    update(
        &mut s,
        Action::Paste("tab\there\r\nsecond line\rthird".into()),
    );
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("tab    here"), "{text}");
    assert!(!text.contains("\\t"), "{text}");
    assert_eq!(update(&mut s, Action::Save), vec![Effect::SaveCase]);
    assert_eq!(s.case.case.note(&fid), "tab\there\nsecond line\nthird");
    update(&mut s, Action::Tab(InspectorTab::Notes));
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("tab    here") && text.contains("second line"),
        "{text}"
    );
    let md = crate::sink::report::report_md(
        &s.case.case,
        &s.data.as_ref().unwrap().findings,
        &s.playbook,
        &crate::sink::report::ReportOptions::default(),
        None,
    );
    assert!(md.contains("tab\there"), "{md}");
    assert!(
        !md.contains("tab\\\\there") && !md.contains("tab\\there"),
        "{md}"
    );
}

/// The address pivot follows the remote side of a connection and lists every event carrying
/// the address in any field: on the LOGON row "10.0.2.18:445 -> 10.0.2.19" of IEWIN7's finding
/// (old Sysmon puts the local side first) `i` pivots to 10.0.2.19, with its Sysmon 3 events.
#[test]
fn the_address_pivot_follows_the_remote_side() {
    let mut s = corpus_state();
    let fi = s
        .data
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .position(|f| f.id == "F-6edab54b150e")
        .expect("IEWIN7's finding from 10.0.2.19");
    super::navigate::jump_to_finding(&mut s, fi);
    let rows = s.timeline_rows();
    let row = rows
        .iter()
        .position(|(i, _, _)| {
            s.data.as_ref().unwrap().store.get(*i).is_some_and(|e| {
                e.event_id == 3 && e.fields.net.src_ip.as_deref() == Some("10.0.2.18")
            })
        })
        .expect("the Sysmon 3 row with the target's address first");
    s.ui.timeline_sel = row;
    update(&mut s, Action::Pivot(PivotField::SourceIp));
    let p = s.ui.pivots.last().expect("a pivot");
    assert_eq!(p.value, "10.0.2.19");
    let data = s.data.as_ref().unwrap();
    let sysmon3 = p
        .all_events
        .iter()
        .filter(|&&i| data.store.get(i).is_some_and(|e| e.event_id == 3))
        .count();
    assert!(sysmon3 >= 5, "{sysmon3} Sysmon 3 events carry 10.0.2.19");
    assert!(p.all_findings.contains(&fi));
}

/// A user pivot from an event that names its account only by SID follows the finding's
/// account; a SID pivot finds the SID's events and its account's.
#[test]
fn a_sid_pivot_finds_its_events_and_its_account() {
    let s = corpus_state();
    let data = s.data.as_ref().unwrap();
    let (sid, name) = (0..data.store.len())
        .filter_map(|i| data.store.get(i))
        .find_map(|e| {
            let a = &e.fields.subject;
            Some((
                a.sid.clone()?,
                a.display().filter(|n| !crate::pivot::is_sid(n))?,
            ))
        })
        .expect("an event naming an account and its SID");
    let by_sid = super::pivot::search(data, PivotField::User, &sid);
    assert!(!by_sid.all_events.is_empty(), "{sid}: its own events");
    let by_name = super::pivot::search(data, PivotField::User, &name);
    for i in &by_name.all_events {
        assert!(
            by_sid.all_events.contains(i),
            "{sid} finds {name}'s events too"
        );
    }
    // The user pivot on a demo finding whose install names the account by SID only.
    let mut s = super::tests::state_of(crate::investigation::Evidence::Demo(Box::new(
        crate::demo::generate(&crate::demo::DemoOptions::default()),
    )));
    let data = s.data.as_ref().unwrap();
    let (fi, row) = data
        .findings
        .iter()
        .enumerate()
        .find_map(|(fi, f)| {
            f.user.as_ref()?;
            let row = f.stages.iter().position(|st| {
                data.store
                    .get(st.event_index)
                    .and_then(|e| e.actor())
                    .is_some_and(|a| crate::pivot::is_sid(&a))
            })?;
            Some((fi, row))
        })
        .expect("a demo finding with a stage naming its account by SID only");
    let user = data.findings[fi].user.clone().unwrap();
    super::navigate::jump_to_finding(&mut s, fi);
    s.ui.timeline_sel = row;
    update(&mut s, Action::Pivot(PivotField::User));
    assert_eq!(s.ui.pivots.last().map(|p| p.value.clone()), Some(user));
}

/// A triage step taller than the pane at 80x24 (a long note) is read to its end and its
/// reference with `j`, back with `k`, before they move to another step.
#[test]
fn a_step_taller_than_the_pane_is_read_with_j_and_k() {
    let mut s = corpus_state();
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::Tab(InspectorTab::Triage));
    s.ui.focus = Pane::Inspector;
    let fid = s.finding().unwrap().id.clone();
    let step = s.playbook.step[0].id.clone();
    let note: Vec<String> = (1..=40)
        .map(|i| format!("line {i} of a long note"))
        .collect();
    s.case.case.set_step_note(&fid, &step, &note.join("\n"));
    let (text, _) = screen(&s, 80, 24, color());
    assert!(!text.contains("line 40 "), "taller than the pane: {text}");
    let mut reached = false;
    for _ in 0..80 {
        let (text, _) = screen(&s, 80, 24, color());
        if text.contains("line 40 ") && text.contains("from ") {
            reached = true;
            break;
        }
        update(&mut s, Action::Down);
        assert_eq!(
            s.ui.triage_sel, 0,
            "j reads the step before moving on: {text}"
        );
    }
    assert!(reached, "the step's end and reference were reached with j");
    update(&mut s, Action::Down);
    assert_eq!(s.ui.triage_sel, 1, "then j moves to the next step");
    update(&mut s, Action::Up);
    assert_eq!(s.ui.triage_sel, 0);
    let (text, _) = screen(&s, 80, 24, color());
    assert!(
        text.contains("line 1 of"),
        "back on the step, from its start: {text}"
    );
}

/// Hops at 80x24: each row keeps its target (a long chain loses its start, not its end), no
/// empty CAMPAIGN column, and `>` scrolls the rows sideways.
#[test]
fn hops_at_80_columns_keep_the_target_and_scroll_sideways() {
    let mut s = corpus_state();
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::Hops);
    let edges = crate::tui::hops::edges(&s);
    assert!(!edges.is_empty());
    let (text, _) = screen(&s, 80, 24, color());
    let rows: Vec<&str> = text.lines().collect();
    for e in edges.iter().take(10) {
        let target: String = e.target.chars().take(6).collect();
        assert!(
            rows.iter().any(|r| r.contains(&target)),
            "the row of {} -> {} shows its target: {text}",
            e.source,
            e.target
        );
    }
    if edges.iter().all(|e| e.campaign.is_none()) {
        assert!(
            !text.contains("CAMPAIGN"),
            "no empty campaign column: {text}"
        );
    }
    update(&mut s, Action::ScrollRight);
    let (scrolled, _) = screen(&s, 80, 24, color());
    assert_ne!(scrolled, text, "> scrolls the hops sideways");
    assert!(s.ui.modal.is_some(), "still in the hops view");
}

/// Pivot rows: severities padded so scores align, hosts named as Targets names them.
#[test]
fn pivot_rows_align_and_name_hosts_as_targets_do() {
    let mut s = super::tests::state_of(crate::investigation::Evidence::Demo(Box::new(
        crate::demo::generate(&crate::demo::DemoOptions::default()),
    )));
    update(&mut s, Action::Resize(200, 60));
    // dave's findings: RemCom at Critical, sc.exe at Medium.
    let p = super::pivot::search(s.data.as_ref().unwrap(), PivotField::User, "CORP\\dave");
    super::navigate::open_pivot(&mut s, p);
    let (text, _) = screen(&s, 200, 60, color());
    let finding_rows: Vec<&str> = text.lines().filter(|l| l.contains("FINDING ")).collect();
    assert!(finding_rows.len() > 1, "{text}");
    let score_at = |r: &str| {
        let after = &r[r.find("FINDING ").unwrap() + 8..];
        after.find(" F-")
    };
    let first = score_at(finding_rows[0]);
    assert!(
        finding_rows.iter().all(|r| score_at(r) == first),
        "scores aligned: {finding_rows:#?}"
    );
    let p = s.ui.pivots.last().unwrap();
    let data = s.data.as_ref().unwrap();
    if let Some(e) = p.events.first().and_then(|&i| data.store.get(i)) {
        assert!(text.contains(&*e.host.display), "{text}");
    }
}

/// `y` copies the command line under the cursor, `Y` the finding's indicators: to the clipboard
/// with OSC 52 and to a file beside the case, escape sequences made visible.
#[test]
fn copy_sends_the_value_and_writes_it_beside_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = corpus_state();
    s.case.path = dir.path().join("c.svchop-case.json");
    s.ui.focus = Pane::Timeline;
    let data = s.data.as_ref().unwrap();
    let (fi, row) = data
        .findings
        .iter()
        .enumerate()
        .find_map(|(fi, f)| {
            let row = f.stages.iter().position(|st| {
                data.store
                    .get(st.event_index)
                    .is_some_and(|e| e.fields.process.command_line.is_some())
            })?;
            Some((fi, row))
        })
        .unwrap();
    super::navigate::jump_to_finding(&mut s, fi);
    s.ui.timeline_sel = row;
    let cmd = s
        .selected_event_ref()
        .and_then(|e| e.fields.process.command_line.as_deref().map(str::to_string))
        .unwrap();
    let effects = update(&mut s, Action::Copy);
    let [Effect::Copy { what, text }] = effects.as_slice() else {
        panic!("one copy effect: {effects:?}");
    };
    assert_eq!(what, "the command line");
    assert_eq!(text, &cmd);
    let result = super::execute(&s, &effects[0]);
    update(&mut s, result);
    assert!(
        s.ui.status.starts_with("copied the command line"),
        "{}",
        s.ui.status
    );
    let file = dir.path().join("c-clipboard.txt");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), cmd);
    let iocs = update(&mut s, Action::CopyIocs);
    let [Effect::Copy { text, .. }] = iocs.as_slice() else {
        panic!("{iocs:?}");
    };
    let f = s.finding().unwrap();
    assert!(
        text.contains("# Hosts") && text.contains(&f.target_host),
        "{text}"
    );
    assert_eq!(
        super::copy::osc52("a\x1b[2Jb"),
        "\x1b]52;c;YRtbMkpi\x07",
        "the value travels base64-encoded"
    );
    super::copy::out(
        &dir.path().join("e").display().to_string(),
        "x",
        "a\x1b[2Jb",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("e-clipboard.txt")).unwrap(),
        "a\\x1b[2Jb"
    );
}

/// A view's message leaves with it: after `Esc` out of a pivot the status line no longer
/// speaks of the pivot.
#[test]
fn status_messages_leave_with_their_view() {
    let mut s = corpus_state();
    s.ui.focus = Pane::Timeline;
    update(&mut s, Action::Pivot(PivotField::SourceIp));
    assert!(s.ui.status.starts_with("pivot "), "{}", s.ui.status);
    update(&mut s, Action::Back);
    assert!(s.ui.pivots.is_empty());
    assert!(!s.ui.status.contains("pivot "), "{}", s.ui.status);
    s.ui.status = "NOT SAVED: disk full".into();
    update(&mut s, Action::FocusNext);
    assert_eq!(
        s.ui.status, "NOT SAVED: disk full",
        "a failed save stays said"
    );
}
