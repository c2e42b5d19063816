//! The one event store: loading keeps every kept event once (copies of a record merged), in
//! store order, typed-only loading keeps exactly what the detections read, the decode budget of
//! host windows never changes a finding, and the record text is read back from the evidence.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

mod common;

use common::{corpus, fixture, load_paths};
use std::path::PathBuf;
use std::sync::Arc;
use svchop::detect::Detector;
use svchop::ingest::LoadOptions;
use svchop::model::Event;
use svchop::store::{Store, load};

/// The events each file gives when read on its own, without the store.
fn read_directly(paths: &[PathBuf]) -> Vec<Event> {
    let mut out = Vec::new();
    for (p, named) in svchop::ingest::plan(paths) {
        let _ = svchop::ingest::read_one_into(&p, named, &LoadOptions::default(), &mut |e| {
            out.push(e);
        });
    }
    out
}

fn without_copies(e: &Event) -> String {
    let mut e = e.clone();
    e.also_at = Box::default();
    format!("{e:?}")
}

/// Every event read directly is in the store once, the store is in store order, and the
/// typed-only store holds the same events without their untyped fields.
fn store_holds_what_was_read(paths: &[PathBuf]) -> usize {
    let direct = read_directly(paths);
    let loaded = load_paths(paths);
    let merged = usize::try_from(loaded.report.duplicates_merged).unwrap();
    assert_eq!(
        loaded.events.len() + merged,
        direct.len(),
        "each read event kept or merged"
    );
    // Every stored event is one that was read, and every place it was also found is where a
    // read event came from: nothing made up, nothing lost.
    let read: std::collections::HashSet<String> = direct.iter().map(without_copies).collect();
    let sources: std::collections::HashSet<String> =
        direct.iter().map(|e| format!("{:?}", e.source)).collect();
    let mut places = std::collections::HashSet::new();
    for e in &loaded.events {
        assert!(read.contains(&without_copies(e)), "{e:?}");
        for at in std::iter::once(&e.source).chain(e.also_at.iter()) {
            assert!(sources.contains(&format!("{at:?}")), "{at}");
            assert!(places.insert(format!("{at:?}")), "{at} stored twice");
        }
    }
    assert_eq!(
        places.len(),
        sources.len(),
        "every read record is somewhere"
    );
    let store = &loaded.store;
    let mut last_key = String::new();
    for (key, range) in store.hosts() {
        assert!(key > last_key.as_str(), "hosts in key order");
        last_key = key.to_string();
        let times: Vec<_> = range.clone().map(|i| store.time(i).unwrap()).collect();
        assert!(times.is_sorted(), "{key}: events in time order");
        assert_eq!(store.host_range(key), Some(range.clone()));
        for i in range {
            assert_eq!(store.event_id(i), store.get(i).map(|e| e.event_id));
        }
    }
    let typed = load(
        paths,
        &LoadOptions {
            typed_only: true,
            ..LoadOptions::default()
        },
        &|_, _| {},
    );
    assert_eq!(typed.store.len(), store.len());
    for (i, e) in loaded.events.iter().enumerate() {
        let mut want = e.clone();
        want.extra = e
            .extra
            .iter()
            .filter(|(k, _)| &**k == "EventRecordID")
            .cloned()
            .collect();
        let (t, w) = (
            format!("{:?}", typed.store.get(i).unwrap()),
            format!("{want:?}"),
        );
        let at = t.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count();
        assert!(
            t == w,
            "typed event {i} differs from {at}: {} / {}",
            &t[at..],
            &w[at..]
        );
    }
    store.len()
}

#[test]
fn the_corpus_is_stored_once_in_order() {
    let n = store_holds_what_was_read(&[corpus()]);
    assert!(n > 4000, "the corpus has many kept events, got {n}");
}

#[test]
fn fixtures_are_stored_once_in_order() {
    let dir = fixture("");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    store_holds_what_was_read(&files);
}

#[test]
fn copies_of_a_record_count_once_and_list_where_else_they_are() {
    let json = corpus().join("json");
    let once = load_paths(std::slice::from_ref(&json));
    let twice = load_paths(&[json.clone(), json]);
    assert_eq!(twice.events.len(), once.events.len());
    // Each record read twice: the copies within one file, again, plus one per record.
    assert_eq!(
        twice.report.duplicates_merged,
        2 * once.report.duplicates_merged + once.events.len() as u64
    );
    for (a, b) in once.events.iter().zip(&twice.events) {
        assert_eq!(without_copies(a), without_copies(b));
        assert_eq!(b.also_at.len(), 2 * a.also_at.len() + 1);
    }
}

#[test]
fn many_copies_at_one_instant_merge() {
    // Thousands of records at one instant (an attacker can write them): identical ones merge,
    // distinct ones stay, and nothing is lost.
    use svchop::detect::testkit::ev;
    use svchop::model::Channel;
    let mut events = Vec::new();
    for n in 0..3000u64 {
        let mut e = ev("WS01", 0, Channel::Security, 4624)
            .logon(n % 1000, 3, "10.0.0.9", "eve", "S-1-5-21-9")
            .done();
        e.source.record_id = Some(n % 1000);
        events.push(e);
    }
    let (store, merged) = svchop::store::from_events(events, false);
    assert_eq!(store.len(), 1000);
    assert_eq!(merged, 2000);
}

/// Findings of a scan as JSON, with this decode budget for host windows.
fn findings_with_budget(paths: &[PathBuf], det: &Detector, budget: usize) -> (String, usize) {
    let mut store = load(paths, &LoadOptions::default(), &|_, _| {}).store;
    store.set_window_decoded_max(budget);
    let store = Arc::new(store);
    let (all, dropped) = det.scan(&store, true);
    assert_eq!(dropped, 0);
    let (shown, dropped) = det.scan(&store, false);
    let suppressed = all.iter().filter(|f| f.is_suppressed()).count();
    assert_eq!(dropped, suppressed, "suppressed findings counted");
    assert_eq!(shown.len() + suppressed, all.len());
    assert!(shown.iter().all(|f| !f.is_suppressed()));
    (serde_json::to_string_pretty(&all).unwrap(), all.len())
}

/// Hosts decoded at once and hosts read event by event find the same.
fn budget_never_changes_findings(paths: &[PathBuf], profile: &str) -> String {
    let det = Detector::builtin(profile).unwrap();
    let (at_once, n) = findings_with_budget(paths, &det, usize::MAX);
    let (lazily, _) = findings_with_budget(paths, &det, 0);
    assert!(n > 0, "{profile}: findings");
    assert!(
        at_once == lazily,
        "{profile}: findings differ with the budget"
    );
    at_once
}

#[test]
fn the_decode_budget_never_changes_a_finding() {
    for profile in ["default", "hunt", "elastic", "sigma", "otrf", "sentinel"] {
        budget_never_changes_findings(&[corpus()], profile);
    }
}

#[test]
fn host_windows_reach_tool_runs_and_connections_on_other_hosts() {
    // The demo domain: attacks whose source side (tool runs, outbound SMB) is logged on other
    // hosts than the target, so each host's window must reach those events.
    let dir = tempfile::tempdir().unwrap();
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts: 24,
        days: 2,
        ..svchop::demo::DemoOptions::default()
    });
    svchop::demo::write(&case, dir.path()).unwrap();
    let paths = [dir.path().to_path_buf()];
    budget_never_changes_findings(&paths, "hunt");
    let json = budget_never_changes_findings(&paths, "default");
    assert!(
        json.contains("naming this host"),
        "a tool run elsewhere is linked"
    );
    assert!(
        json.contains("outbound SMB from"),
        "a connection elsewhere is linked"
    );
}

fn text_of(store: &Store, i: usize) -> Result<String, svchop::store::raw::RawError> {
    svchop::store::raw::record_text(&store.get(i).unwrap().source)
}

#[test]
fn record_text_is_read_back_from_evtx() {
    let file = corpus().join("evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx");
    let loaded = load_paths(std::slice::from_ref(&file));
    assert!(loaded.store.len() > 3);
    // The evtx crate's own rendering of each record, read from the whole file.
    let mut parser = evtx::EvtxParser::from_path(&file).unwrap();
    let rendered: std::collections::HashMap<u64, String> = parser
        .records_json_value()
        .flatten()
        .map(|r| (r.event_record_id, r.data.to_string()))
        .collect();
    for i in 0..loaded.store.len() {
        let e = loaded.store.get(i).unwrap();
        let id = e.source.record_id.unwrap();
        assert_eq!(
            text_of(&loaded.store, i).unwrap(),
            rendered[&id],
            "record {id}"
        );
    }
}

#[test]
fn record_text_is_read_back_from_json_lines_and_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let lines_src = fixture("ecs_winlogbeat.jsonl");
    let text = std::fs::read_to_string(&lines_src).unwrap();
    let lines = dir.path().join("l.jsonl");
    std::fs::write(&lines, &text).unwrap();
    let loaded = load_paths(std::slice::from_ref(&lines));
    assert!(loaded.store.len() > 2);
    for i in 0..loaded.store.len() {
        let e = loaded.store.get(i).unwrap();
        let line = usize::try_from(e.source.line.unwrap()).unwrap();
        let want = text.lines().nth(line - 1).unwrap().trim();
        assert_eq!(text_of(&loaded.store, i).unwrap(), want);
    }
    // The same records as one pretty-printed array: each element re-serialized.
    let values: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let array = dir.path().join("a.json");
    std::fs::write(&array, serde_json::to_string_pretty(&values).unwrap()).unwrap();
    let loaded = load_paths(std::slice::from_ref(&array));
    assert_eq!(loaded.store.len(), values.len());
    let mut got: Vec<String> = (0..loaded.store.len())
        .map(|i| text_of(&loaded.store, i).unwrap())
        .collect();
    let mut want: Vec<String> = values.iter().map(ToString::to_string).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn moved_or_changed_evidence_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.jsonl");
    std::fs::copy(fixture("ecs_winlogbeat.jsonl"), &f).unwrap();
    let loaded = load_paths(std::slice::from_ref(&f));
    std::fs::write(&f, "{}\n").unwrap();
    let changed = text_of(&loaded.store, 1).unwrap_err().to_string();
    assert!(changed.contains("has changed"), "{changed}");
    std::fs::remove_file(&f).unwrap();
    let moved = text_of(&loaded.store, 0).unwrap_err().to_string();
    assert!(moved.contains("has moved"), "{moved}");
}
