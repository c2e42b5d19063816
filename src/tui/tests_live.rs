//! The workbench on a followed collection: updates put on screen in place, the analyst's place,
//! open editor and notes kept across a finding's id change, new and changed findings marked.

use super::action::{Action, LiveUpdate};
use super::tests::{empty_state, screen};
use super::theme::Theme;
use super::update::{Effect, update};
use crate::detect::Detector;
use crate::ingest::Planned;
use crate::investigation::{Evidence, Investigation, Options};
use crate::live::Collection;
use crate::live::changes::Kind;
use std::path::PathBuf;

fn options(det: &Detector) -> Options {
    Options {
        pivots: true,
        suppressed_per_host: 20,
        ..Options::scan_with(Some(det.clone()), crate::ingest::LoadOptions::default())
    }
}

/// A demo collection's files: all but the Sysmon logs, then the Sysmon logs (the findings they
/// add stages to change id).
fn landing(dir: &std::path::Path) -> (Vec<Planned>, Vec<Planned>) {
    let case = crate::demo::generate(&crate::demo::DemoOptions {
        hosts: 8,
        ..crate::demo::DemoOptions::default()
    });
    crate::demo::write(&case, dir).unwrap();
    let (files, _) = crate::ingest::plan_all(&[dir.to_path_buf()]);
    files
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|x| x == "jsonl"))
        .partition(|(p, _)| !p.to_string_lossy().contains("Sysmon"))
}

fn live_action(up: crate::live::Update) -> Action {
    Action::Live(Box::new(LiveUpdate {
        inv: up.investigation,
        changes: up.changes,
        status: "following: test".into(),
    }))
}

#[test]
#[allow(clippy::too_many_lines)] // One walk through a collection landing in three steps.
fn updates_land_in_place_and_notes_follow_their_finding() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = landing(dir.path());
    let det = Detector::builtin("default").unwrap();
    // Which finding the Sysmon logs change the id of (the same updates, made once before).
    let mut dry = Collection::new(options(&det));
    dry.take(&first, &|_, _| {});
    let (old, new) = dry
        .take(&second, &|_, _| {})
        .changes
        .iter()
        .filter(|c| c.kind == Kind::Updated && !c.finding.is_suppressed())
        .find_map(|c| Some((c.replaces.clone()?, c.finding.id.clone())))
        .expect("a finding grows and changes id");

    let mut live = Collection::new(options(&det));
    let mut s = empty_state(&det);
    update(&mut s, live_action(live.take(&first, &|_, _| {})));
    assert!(
        s.ui.fresh.is_empty(),
        "the first findings are not marked new"
    );
    let fi = s
        .data
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .position(|f| f.id == old)
        .unwrap();
    super::navigate::jump_to_finding(&mut s, fi);
    assert_eq!(s.finding().unwrap().id, old);
    s.case
        .case
        .notes
        .insert(old.clone(), "first look: PAExec".into());
    // A note being typed when the update lands.
    update(&mut s, Action::EditFindingNote);
    for c in " and more".chars() {
        update(&mut s, Action::Input(c));
    }
    let effects = update(&mut s, live_action(live.take(&second, &|_, _| {})));
    assert!(
        effects.contains(&Effect::SaveCase),
        "the moved note is saved"
    );
    assert_eq!(
        s.finding().unwrap().id,
        new,
        "still on the same finding, now {new}"
    );
    assert_eq!(s.case.case.note(&new), "first look: PAExec");
    assert_eq!(s.case.case.note(&old), "");
    match &s.ui.modal {
        Some(super::state::Modal::Edit(e)) => {
            assert_eq!(e.target, super::state::EditTarget::Finding(new.clone()));
            assert!(e.text.ends_with(" and more"), "{}", e.text);
        }
        other => panic!("the editor stays open: {other:?}"),
    }
    assert!(
        !s.ui.fresh.is_empty(),
        "new and changed findings are marked"
    );
    assert!(
        !s.ui.fresh.contains_key(&new),
        "the finding on screen counts as seen"
    );
    let (text, _) = screen(&s, 200, 60, Theme { color: false });
    assert!(text.contains("new/changed"), "{text}");
    assert!(text.contains("following: test"), "{text}");

    // What the workbench shows equals a one-shot open of every file.
    let mut all: Vec<PathBuf> = first
        .iter()
        .chain(&second)
        .map(|(p, _)| p.clone())
        .collect();
    all.sort();
    let once = Investigation::open(Evidence::Paths(all), &options(&det), &|_| {}).unwrap();
    let key = |f: &crate::detect::finding::Finding| (f.id.clone(), f.severity, f.score);
    let mut shown: Vec<_> = s.data.as_ref().unwrap().findings.iter().map(key).collect();
    let mut want: Vec<_> = once.findings.iter().map(key).collect();
    shown.sort();
    want.sort();
    assert_eq!(shown, want);

    // Looking at a marked finding clears its mark.
    let marked = s.ui.fresh.keys().next().cloned().unwrap();
    let fi = s
        .data
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .position(|f| f.id == marked)
        .unwrap();
    update(&mut s, Action::Cancel);
    update(&mut s, Action::Cancel);
    super::navigate::jump_to_finding(&mut s, fi);
    update(&mut s, Action::Resize(200, 60));
    assert!(!s.ui.fresh.contains_key(&marked));
}
