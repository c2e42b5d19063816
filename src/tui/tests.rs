//! Workbench tests without a terminal: state built from the real corpus, actions applied through
//! `update`, panes drawn into a `TestBackend` at 80x24 and 200x60.

use super::action::{Action, PivotField};
use super::keymap::Keymap;
use super::panes;
use super::state::{AppState, CaseHandle, InspectorTab, Investigation, Modal, Pane};
use super::theme::Theme;
use super::update::{Effect, update};
use crate::case::playbook::Playbook;
use crate::case::{Case, CaseSources, StepState};
use crate::detect::Detector;
use crate::ingest::LoadOptions;
use crate::investigation::{Evidence, Options};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::PathBuf;

fn lateral() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/dev/evtx-attack-samples/Lateral Movement")
}

pub(super) fn state_from(events: Vec<crate::model::Event>) -> AppState {
    state_of(Evidence::Events(events))
}

fn options(det: &Detector) -> Options {
    Options {
        case: Some(Case::new("t", CaseSources::default())),
        pivots: true,
        ..Options::scan_with(Some(det.clone()), LoadOptions::default())
    }
}

/// `update`, then the effects that read (the Raw tab's record), as the runtime carries them
/// out; effects that write (saves, exports) are left undone.
pub(super) fn drive(s: &mut AppState, action: Action) {
    for effect in update(s, action) {
        if matches!(effect, super::update::Effect::ReadRecord(_)) {
            let result = super::execute(s, &effect);
            update(s, result);
        }
    }
}

/// The workbench with this evidence loaded as `svchop open` loads it.
pub(super) fn state_of(evidence: Evidence) -> AppState {
    let det = Detector::builtin("default").unwrap();
    let opened = Investigation::open(evidence, &options(&det), &|_| {}).unwrap();
    let mut s = empty_state(&det);
    drive(&mut s, Action::Loaded(Box::new(opened)));
    s
}

/// The workbench before anything is loaded, with a case that is never written.
pub(super) fn empty_state(det: &Detector) -> AppState {
    let case = CaseHandle {
        case: Case::new("t", CaseSources::default()),
        path: PathBuf::from("unused.json"),
        base_allowlist: det.allowlist.clone(),
        saves: crate::tui::state::Saves::default(),
    };
    AppState::new(
        case,
        Playbook::builtin().unwrap(),
        Keymap::builtin().unwrap(),
    )
}

pub(super) fn corpus_state() -> AppState {
    state_of(Evidence::Paths(vec![lateral()]))
}

pub(super) fn screen(
    s: &AppState,
    w: u16,
    h: u16,
    theme: Theme,
) -> (String, ratatui::buffer::Buffer) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| panes::draw(f, s, theme)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut text = String::new();
    for y in 0..h {
        for x in 0..w {
            text.push_str(buf[(x, y)].symbol());
        }
        text.push('\n');
    }
    (text, buf)
}

pub(super) fn color() -> Theme {
    Theme { color: true }
}

pub(super) fn select_target(s: &mut AppState, key: &str) {
    let i = s
        .targets
        .iter()
        .position(|t| t.key == key)
        .expect("target present");
    s.ui.target_sel = i;
    s.ui.finding_sel = 0;
}

#[test]
fn targets_pane_small_and_large() {
    let s = corpus_state();
    let (small, buf) = screen(&s, 80, 24, color());
    assert!(small.contains("Targets ("), "{small}");
    assert!(
        small.contains("CRIT") && small.contains("PC01.example"),
        "{small}"
    );
    // Severity is a word and also a colour on the row.
    let unselected = |y: u16| {
        !buf[(2, y)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    };
    let row = (0..24u16)
        .find(|&y| {
            unselected(y)
                && (0..80u16)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    .contains("CRIT")
        })
        .unwrap();
    assert_ne!(buf[(2, row)].fg, ratatui::style::Color::Reset);
    let (large, _) = screen(&s, 200, 60, color());
    assert!(
        large.contains("Targets (") && large.contains("Timeline") && large.contains("1 Detail"),
        "all panes at 200x60"
    );
}

#[test]
fn timeline_pane_shows_the_chain_with_gaps() {
    let mut s = corpus_state();
    select_target(&mut s, "PC01");
    update(&mut s, Action::FocusNext);
    assert_eq!(s.ui.focus, Pane::Timeline);
    for (w, h) in [(80, 24), (200, 60)] {
        let (text, _) = screen(&s, w, h, color());
        assert!(text.contains("SHARE") && text.contains("PIPE"), "{text}");
        assert!(
            text.contains("+14s"),
            "gap between write and svcctl: {text}"
        );
        assert!(text.contains("┃"), "stages tied by the gutter");
    }
    update(&mut s, Action::ToggleAllEvents);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("│"),
        "non-chain events shown in all-events mode"
    );
}

#[test]
fn inspector_tabs_render() {
    let mut s = corpus_state();
    select_target(&mut s, "PC01");
    s.ui.focus = Pane::Timeline;
    update(&mut s, Action::Down);
    for (tab, needle) in [
        (InspectorTab::Detail, "#record="),
        (InspectorTab::Raw, "\"System\""),
        (InspectorTab::Score, "Critical >= 85"),
        (InspectorTab::Triage, "Containment"),
        (InspectorTab::Notes, "Case note"),
        (InspectorTab::Coverage, "Coverage of"),
    ] {
        drive(&mut s, Action::Tab(tab));
        for (w, h) in [(80, 24), (200, 60)] {
            let (text, _) = screen(&s, w, h, color());
            assert!(text.contains(needle), "{tab:?} at {w}x{h}: {text}");
        }
    }
}

#[test]
fn pivot_on_the_account_stacks_and_goes_back() {
    let mut s = corpus_state();
    select_target(&mut s, "PC01");
    s.ui.focus = Pane::Timeline;
    update(&mut s, Action::Pivot(PivotField::User));
    let p = s.ui.pivots.last().expect("pivot open");
    assert_eq!(p.value, "PC01\\IEUser");
    assert_eq!(
        p.findings.len(),
        3,
        "the three RemCom runs, not IEWIN7\\IEUser's"
    );
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("Pivot: user=PC01\\IEUser"), "{text}");
    update(&mut s, Action::Down);
    update(&mut s, Action::Pivot(PivotField::SourceIp));
    assert_eq!(s.ui.pivots.len(), 2);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(text.contains(" > "), "breadcrumb: {text}");
    update(&mut s, Action::Back);
    update(&mut s, Action::Back);
    assert!(s.ui.pivots.is_empty());
}

#[test]
fn allow_listing_suppresses_at_once_and_saves() {
    let mut s = corpus_state();
    select_target(&mut s, "PC01");
    let before = s.targets.iter().position(|t| t.key == "PC01").unwrap();
    update(&mut s, Action::Allow);
    assert!(matches!(s.ui.modal, Some(Modal::AllowEdit(_))));
    for c in "lab".chars() {
        update(&mut s, Action::Input(c));
    }
    // Before saving, the analyst sees that the value matches exactly and what it covers.
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("matches the value exactly") && text.contains("covers 3 finding(s)"),
        "{text}"
    );
    let eff = update(&mut s, Action::Open);
    assert_eq!(eff, vec![Effect::SaveCase]);
    assert_eq!(s.case.case.allowlist[0].spec.pattern, "RemComSvc");
    assert!(
        s.case.case.allowlist[0].spec.literal,
        "copied from the finding: literal"
    );
    assert!(
        s.ui.status.contains("covers 3 finding(s)"),
        "{}",
        s.ui.status
    );
    // A host the entry covers whole leaves Targets at once (no count jumping to its suppressed
    // findings, no row left behind): the selection moves on, the status line says where it
    // went, the title says how many are hidden, and `S` shows it.
    assert!(
        s.targets.iter().all(|t| t.key != "PC01"),
        "fully allow-listed host hidden at once"
    );
    assert!(s.target().is_some_and(|t| t.key != "PC01"));
    assert_eq!(s.ui.target_sel, before.min(s.targets.len() - 1));
    let all = &s.data.as_ref().unwrap().findings;
    for t in &s.targets {
        assert!(
            t.findings.iter().all(|&i| !all[i].is_suppressed()),
            "{}: a row counts only the findings it shows",
            t.key
        );
    }
    assert!(
        s.ui.status.contains("PC01") && s.ui.status.contains("hidden"),
        "{}",
        s.ui.status
    );
    assert_eq!(s.hidden_targets, 1);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(text.contains("1 allow-listed hidden, S shows"), "{text}");
    update(&mut s, Action::ToggleSuppressed);
    assert!(
        s.targets
            .iter()
            .any(|t| t.key == "PC01" && t.all_suppressed)
    );
    select_target(&mut s, "PC01");
    update(&mut s, Action::AllowList);
    update(&mut s, Action::RemoveAllow);
    update(&mut s, Action::RemoveAllow);
    assert!(s.case.case.allowlist.is_empty(), "d, then d to confirm");
    assert!(
        !s.targets
            .iter()
            .find(|t| t.key == "PC01")
            .unwrap()
            .all_suppressed
    );
}

#[test]
fn reason_is_required_for_allow_entries() {
    let mut s = corpus_state();
    update(&mut s, Action::Allow);
    assert!(update(&mut s, Action::Open).is_empty());
    assert!(s.ui.status.contains("reason"));
}

#[test]
fn triage_marks_and_notes_go_to_the_case() {
    let mut s = corpus_state();
    update(&mut s, Action::Tab(InspectorTab::Triage));
    assert_eq!(super::context(&s), super::keymap::Context::Triage);
    let fid = s.finding().unwrap().id.clone();
    assert_eq!(update(&mut s, Action::ToggleStep), vec![Effect::SaveCase]);
    assert_eq!(
        s.case.case.mark(&fid, "contain-target").state,
        StepState::Done
    );
    update(&mut s, Action::EditFindingNote);
    for c in "beacon\x1b[2J".chars() {
        update(&mut s, Action::Input(c));
    }
    update(&mut s, Action::Newline);
    update(&mut s, Action::Input('x'));
    assert_eq!(update(&mut s, Action::Save), vec![Effect::SaveCase]);
    // A control character typed (or pasted) is not text: it never gets into the note.
    assert_eq!(s.case.case.note(&fid), "beacon[2J\nx");
    // A note that holds one anyway (a case file edited by hand) is shown escaped.
    s.case.case.set_note(&fid, "beacon\x1b[2J\nx");
    update(&mut s, Action::Tab(InspectorTab::Notes));
    let (text, _) = screen(&s, 80, 24, color());
    assert!(
        text.contains("beacon\\x1b[2J") && !text.contains('\x1b'),
        "escaped on screen: {text}"
    );
}

#[test]
fn hops_finder_and_help_views() {
    let mut s = corpus_state();
    update(&mut s, Action::Hops);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(text.contains("Hops") && text.contains("──▶"), "{text}");
    update(&mut s, Action::Back);
    update(&mut s, Action::Find);
    for c in "nllt".chars() {
        update(&mut s, Action::Input(c));
    }
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("NLLT108334"), "{text}");
    update(&mut s, Action::Open);
    assert!(!s.ui.pivots.is_empty() || s.target().is_some_and(|t| t.key == "NLLT108334"));
    s.ui.pivots.clear();
    update(&mut s, Action::Help);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("quit (everything is already saved)"),
        "{text}"
    );
}

#[test]
fn hostile_strings_never_reach_the_terminal() {
    // A 7045 whose service name and image carry escape sequences and a bidi override, in the
    // record text too (the Raw tab reads it back from the file).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hostile.jsonl");
    std::fs::write(
        &f,
        r#"{"@timestamp":"2024-03-01T10:00:00Z","winlog":{"channel":"System","computer_name":"WS01","event_id":"7045","record_id":7,"event_data":{"ServiceName":"evil\u001b]0;pwned\u0007\u202ename","ImagePath":"C:\\Windows\\x\u001b[31m.exe","AccountName":"LocalSystem"}}}"#,
    )
    .unwrap();
    let mut s = state_of(Evidence::Paths(vec![f]));
    assert_eq!(s.data.as_ref().unwrap().store.len(), 1);
    s.ui.focus = Pane::Timeline;
    for tab in InspectorTab::ALL {
        drive(&mut s, Action::Tab(tab));
        for (w, h) in [(80, 24), (200, 60)] {
            let (text, buf) = screen(&s, w, h, color());
            assert!(
                !text.chars().any(|c| c.is_control() && c != '\n'),
                "{tab:?}: control character on screen"
            );
            assert!(
                buf.content()
                    .iter()
                    .all(|c| !c.symbol().contains('\u{202e}'))
            );
        }
    }
}

#[test]
fn no_color_theme_uses_no_colours() {
    let s = corpus_state();
    let (_, buf) = screen(&s, 80, 24, Theme { color: false });
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
}

#[test]
fn loading_screen_shows_progress() {
    let mut s = empty_state(&Detector::builtin("default").unwrap());
    update(
        &mut s,
        Action::Progress {
            files_done: 3,
            files_total: 12,
        },
    );
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("3/12 files"), "{text}");
    // After the files: which step runs, so a long correlation does not look stuck.
    update(&mut s, Action::Phase("correlating 1030722 events…".into()));
    let (text, _) = screen(&s, 80, 24, color());
    assert!(
        text.contains("all files read") && text.contains("correlating 1030722 events"),
        "{text}"
    );
    update(&mut s, Action::Quit);
    assert!(s.ui.quit, "q works while loading");
}

#[test]
fn display_zone_cycles_and_shows_the_offset() {
    let mut s = corpus_state();
    s.ui.configured_zone = crate::model::time::DisplayZone::parse("+02:00").unwrap();
    select_target(&mut s, "PC01");
    s.ui.focus = Pane::Timeline;
    let (text, _) = screen(&s, 200, 60, color());
    assert!(text.contains("17:54:26.956Z"), "UTC by default: {text}");
    update(&mut s, Action::CycleZone);
    update(&mut s, Action::CycleZone);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("19:54:26.956+02:00"),
        "configured zone with its offset: {text}"
    );
    let rows: Vec<&str> = text.lines().filter(|l| l.contains('┃')).collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|l| l.contains("+02:00")),
        "every timeline row carries the offset: {rows:?}"
    );
}

#[test]
fn hops_of_the_demo_are_the_attacks_and_show_the_multi_hop_chain() {
    let case = crate::demo::generate(&crate::demo::DemoOptions::default());
    let s = state_from(crate::demo::events(&case));
    let edges = super::hops::edges(&s);
    // One edge per attack whose source is known, and one for the demo's PDQ Deploy push from
    // the admin console: the default list vouches for PDQ's folder only, a value the attacker
    // on the target chooses, so it never hides a remote install (an estate vouches for its
    // console with an account or source_host entry).
    assert_eq!(
        edges.len(),
        case.chains.iter().filter(|c| c.source != "-").count() + 1,
        "one edge per attack whose source is known, plus the PDQ push"
    );
    assert!(
        edges.iter().any(|e| e.path == ["WS01", "FS01", "DC01"]),
        "{:?}",
        edges.iter().map(|e| &e.path).collect::<Vec<_>>()
    );
}

#[test]
fn pivot_index_finds_exactly_what_a_full_scan_finds() {
    use super::pivot::search;
    use crate::pivot::{FIELDS as fields, PivotIndex, event_value};
    let mut s = corpus_state();
    let data = s.data.as_mut().unwrap();
    let mut values = std::collections::BTreeSet::new();
    for e in (0..data.store.len()).filter_map(|i| data.store.get(i)) {
        for f in fields {
            if let Some(v) = event_value(&e, f) {
                values.insert((f as usize, v));
            }
        }
    }
    // Variants an analyst could meet: other case, padding, DOMAIN\user against the user.
    let mut extra: Vec<(usize, String)> = values
        .iter()
        .flat_map(|(f, v)| [(*f, v.to_uppercase()), (*f, format!(" {v} "))])
        .collect();
    // A user with a longer or another domain, and without one.
    for (f, v) in &values {
        if let Some((d, u)) = v.rsplit_once('\\') {
            extra.push((*f, format!("{}.local\\{u}", d.to_lowercase())));
            extra.push((*f, format!("OTHER\\{u}")));
            extra.push((*f, u.to_string()));
        }
    }
    values.extend(extra);
    assert!(values.len() > 200, "{} values", values.len());
    let indexed: Vec<_> = values
        .iter()
        .map(|(f, v)| search(data, fields[*f], v).events)
        .collect();
    data.pivots = PivotIndex::default();
    for ((f, v), want) in values.iter().zip(indexed) {
        assert_eq!(
            search(data, fields[*f], v).events,
            want,
            "{:?} {v:?}",
            fields[*f]
        );
    }
}

/// A large collection opens on the findings of its first files: the loader sends them before
/// the rest, the workbench shows them with a banner and holds back case changes, and the final
/// result is exactly a one-shot scan, with the analyst's host still selected.
/// What the loader sends for this evidence when every collection counts as large.
fn load_actions(paths: &[PathBuf], det: &Detector) -> Vec<Action> {
    let (tx, rx) = std::sync::mpsc::channel();
    let options = Options {
        early_results_above: Some(1),
        ..options(det)
    };
    super::load(Evidence::Paths(paths.to_vec()), &options, &tx);
    drop(tx);
    rx.iter().collect()
}

fn finding_ids(f: &[crate::detect::finding::Finding]) -> Vec<String> {
    let mut v: Vec<String> = f.iter().map(|x| x.id.clone()).collect();
    v.sort();
    v
}

#[test]
fn first_files_are_shown_while_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let case = crate::demo::generate(&crate::demo::DemoOptions {
        hosts: 24,
        days: 2,
        noise_per_day: 100,
        ..crate::demo::DemoOptions::default()
    });
    crate::demo::write(&case, dir.path()).unwrap();
    let paths = vec![dir.path().to_path_buf()];
    let files = crate::ingest::plan(&paths);
    let split = crate::ingest::first_part(&files, 1);
    assert!(
        split > 0 && split < files.len(),
        "{split} of {}",
        files.len()
    );
    assert_eq!(
        crate::ingest::first_part(&files, u64::MAX),
        0,
        "small: one go"
    );
    // The first part ends at a folder boundary (complete hosts).
    assert_ne!(files[split].0.parent(), files[split - 1].0.parent());

    let det = Detector::builtin("default").unwrap();
    let actions = load_actions(&paths, &det);
    let partial_at = actions
        .iter()
        .position(|a| matches!(a, Action::Partial { .. }))
        .expect("partial results sent");
    let loaded_at = actions
        .iter()
        .position(|a| matches!(a, Action::Loaded(_)))
        .expect("final results sent");
    assert!(partial_at < loaded_at);

    let mut s = empty_state(&det);
    let mut actions = actions.into_iter();
    for a in actions.by_ref().take(partial_at + 1) {
        update(&mut s, a);
    }
    let shown = s.data.as_ref().unwrap().findings.len();
    assert!(shown > 0, "the first hosts already have findings");
    let (text, _) = screen(&s, 80, 24, color());
    assert!(text.contains("PARTIAL"), "{text}");
    assert!(text.contains(&format!("{split}/{}", files.len())), "{text}");
    let key = s.target().unwrap().key.clone();
    // Notes and triage wait for the whole evidence; browsing does not.
    assert!(update(&mut s, Action::EditFindingNote).is_empty());
    assert!(s.ui.modal.is_none());
    assert!(s.ui.status.contains("still loading"), "{}", s.ui.status);
    assert!(update(&mut s, Action::Export).is_empty());
    update(&mut s, Action::Pivot(PivotField::User));

    for a in actions {
        update(&mut s, a);
    }
    assert!(s.ui.partial.is_none());
    assert!(
        s.ui.pivots.is_empty(),
        "pivots into the partial events are closed"
    );
    assert_eq!(s.target().unwrap().key, key, "still on the same host");
    let (text, _) = screen(&s, 80, 24, color());
    assert!(!text.contains("PARTIAL"), "{text}");

    // Exactly what loading everything at once finds.
    let once =
        Investigation::open(Evidence::Paths(paths.clone()), &options(&det), &|_| {}).unwrap();
    let data = s.data.as_ref().unwrap();
    assert_eq!(finding_ids(&data.findings), finding_ids(&once.findings));
    assert_eq!(data.store.len(), once.store.len());
}

/// The pretty-printed record text the Raw tab shows, read back from the evidence.
fn raw_lines_on_screen(s: &AppState) -> (String, Vec<String>) {
    let i = s.selected_event().expect("an event is selected");
    let data = s.data.as_ref().unwrap();
    let text = data.record_text(i).expect("record text");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let pretty = serde_json::to_string_pretty(&v).unwrap();
    let (screen_text, _) = screen(s, 200, 60, color());
    let want = pretty
        .lines()
        .map(|l| l.trim().chars().take(50).collect::<String>())
        .filter(|l| l.len() > 8)
        .take(6)
        .collect();
    (screen_text, want)
}

#[test]
fn raw_tab_shows_the_record_read_back_from_the_evidence() {
    // EVTX: the record as the evtx crate renders it, from the file.
    let mut s = corpus_state();
    select_target(&mut s, "PC01");
    s.ui.focus = Pane::Timeline;
    update(&mut s, Action::Down);
    drive(&mut s, Action::Tab(InspectorTab::Raw));
    let (text, want) = raw_lines_on_screen(&s);
    assert!(want.len() >= 3);
    for line in &want {
        assert!(
            text.contains(line.as_str()),
            "{line:?} not on screen:\n{text}"
        );
    }
    // JSON lines: the line as the file holds it; then the file is gone, and the pane says so.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.jsonl");
    std::fs::write(
        &f,
        r#"{"@timestamp":"2024-03-01T10:00:00Z","winlog":{"channel":"System","computer_name":"WS01","event_id":"7045","record_id":7,"event_data":{"ServiceName":"updsvc","ImagePath":"C:\\Windows\\Temp\\u.exe","AccountName":"LocalSystem"}}}"#,
    )
    .unwrap();
    let mut s = state_of(Evidence::Paths(vec![f.clone()]));
    s.ui.focus = Pane::Timeline;
    drive(&mut s, Action::Tab(InspectorTab::Raw));
    let (text, want) = raw_lines_on_screen(&s);
    assert!(text.contains("\"ServiceName\": \"updsvc\""), "{text}");
    for line in &want {
        assert!(
            text.contains(line.as_str()),
            "{line:?} not on screen:\n{text}"
        );
    }
    let mut s = state_of(Evidence::Paths(vec![f.clone()]));
    std::fs::remove_file(&f).unwrap();
    s.ui.focus = Pane::Timeline;
    drive(&mut s, Action::Tab(InspectorTab::Raw));
    let (text, _) = screen(&s, 200, 60, color());
    assert!(text.contains("has moved"), "{text}");
}

#[test]
fn a_failed_save_is_remembered_until_a_save_succeeds() {
    let mut s = corpus_state();
    assert_eq!(s.case.saves, super::state::Saves::default());
    update(&mut s, Action::Saved(Err("disk full".into())));
    assert!(s.ui.status.contains("NOT SAVED"));
    assert_eq!(s.case.saves.failed.as_deref(), Some("disk full"));
    update(&mut s, Action::Saved(Ok("saved".into())));
    assert!(s.case.saves.changed && s.case.saves.failed.is_none());
}

#[test]
fn campaigns_show_in_hops_and_in_the_score_tab() {
    let case = crate::demo::generate(&crate::demo::DemoOptions::default());
    let mut s = state_from(crate::demo::events(&case));
    update(&mut s, Action::Hops);
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("CAMPAIGN") && text.contains("C-"),
        "the source campaign's id beside its hops: {text}"
    );
    update(&mut s, Action::Back);
    // The Tchopper-style mass deployment on FS01: one finding, its decoded payload in the Score tab.
    select_target(&mut s, "FS01");
    let at = s
        .target()
        .and_then(|t| {
            t.findings.iter().position(|&fi| {
                s.data
                    .as_ref()
                    .and_then(|d| d.findings.get(fi))
                    .is_some_and(|f| f.campaign.as_ref().is_some_and(|c| c.pattern.is_some()))
            })
        })
        .expect("a campaign finding on FS01");
    s.ui.focus = Pane::Timeline;
    for _ in 0..at {
        update(&mut s, Action::NextFinding);
    }
    update(&mut s, Action::Tab(InspectorTab::Score));
    let (text, _) = screen(&s, 200, 60, color());
    assert!(
        text.contains("mass deployment") && text.contains("base64"),
        "{text}"
    );
}

/// Help at 80x24: `j` past the end stays at the end, `k` then moves up at once, `g`/`G` jump,
/// and `q` closes the help instead of quitting.
#[test]
fn help_scrolls_within_its_text_and_q_closes_it() {
    let mut s = corpus_state();
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::Help);
    let max = super::panes::overlays::help_max_scroll(&s);
    assert!(max > 10, "the help is longer than a screen at 80x24: {max}");
    let scroll = |s: &AppState| match s.ui.modal {
        Some(Modal::Help { scroll }) => scroll,
        _ => usize::MAX,
    };
    for _ in 0..(max + 40) {
        update(&mut s, Action::Down);
    }
    assert_eq!(scroll(&s), max, "never past the last screenful");
    let (at_end, _) = screen(&s, 80, 24, color());
    let last = s.keymap.bindings().last().unwrap().2.clone();
    let last = super::action::Action::describe(&last);
    assert!(
        at_end.contains(last),
        "the last binding ({last}) shows: {at_end}"
    );
    update(&mut s, Action::Up);
    assert_eq!(scroll(&s), max - 1, "one k moves up one line right away");
    update(&mut s, Action::Top);
    assert_eq!(scroll(&s), 0);
    let (top, _) = screen(&s, 80, 24, color());
    assert!(top.contains("[global]"), "{top}");
    update(&mut s, Action::Bottom);
    assert_eq!(scroll(&s), max);
    update(&mut s, Action::Quit);
    assert!(
        s.ui.modal.is_none() && !s.ui.quit,
        "q closes the help, the app stays"
    );
}

#[test]
fn counts_read_as_english() {
    let mut s = corpus_state();
    update(&mut s, Action::Find);
    for c in "nllt108334".chars() {
        update(&mut s, Action::Input(c));
    }
    let (text, _) = screen(&s, 120, 30, color());
    let title = text.lines().find(|l| l.contains("Find (")).unwrap_or("");
    assert!(
        title.contains("match;") || title.contains("matches;"),
        "{title}"
    );
    assert!(!title.contains("1 matches"), "{title}");
    assert!(title.contains("(1 match;"), "one value matches: {title}");
}
