//! The packed event store (`ingest::load_packed`) gives back exactly the events, order and
//! merged copies of the struct store (`ingest::load`), on the real corpus and every fixture.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

mod common;

use common::{corpus, fixture};
use std::path::PathBuf;
use svchop::ingest::{LoadOptions, load, load_packed};

fn same_events(paths: &[PathBuf], opts: &LoadOptions) -> usize {
    let loaded = load(paths, opts);
    let packed = load_packed(paths, opts, &|_, _| {});
    assert_eq!(packed.events.len(), loaded.events.len(), "event count");
    assert_eq!(
        packed.report.duplicates_merged, loaded.report.duplicates_merged,
        "copies merged"
    );
    for (i, e) in loaded.events.iter().enumerate() {
        let p = packed.events.get(i).expect("every index decodes");
        assert_eq!(format!("{p:?}"), format!("{e:?}"), "event {i}");
        assert_eq!(p.raw, e.raw, "raw text of event {i}");
    }
    // Typed only (what `svchop scan` packs): the same events without the untyped fields but
    // the logged record id, and without raw text.
    let typed = load_packed(
        paths,
        &LoadOptions {
            typed_only: true,
            ..opts.clone()
        },
        &|_, _| {},
    );
    assert_eq!(typed.events.len(), loaded.events.len());
    assert_eq!(
        typed.report.duplicates_merged,
        loaded.report.duplicates_merged
    );
    for (i, e) in loaded.events.iter().enumerate() {
        let t = typed.events.get(i).expect("every index decodes");
        let mut want = e.clone();
        want.extra = e
            .extra
            .iter()
            .filter(|(k, _)| &**k == "EventRecordID")
            .cloned()
            .collect();
        want.raw = None;
        assert_eq!(format!("{t:?}"), format!("{want:?}"), "typed event {i}");
    }
    let hosts: Vec<(String, std::ops::Range<usize>)> = packed
        .events
        .hosts()
        .map(|(k, r)| (k.to_string(), r))
        .collect();
    let store = svchop::detect::store::EventStore::new(loaded.events);
    let expected: Vec<(String, std::ops::Range<usize>)> =
        store.hosts().map(|(k, r)| (k.to_string(), r)).collect();
    assert_eq!(hosts, expected, "host ranges");
    store.len()
}

#[test]
fn packed_corpus_reads_back_as_the_same_events() {
    let n = same_events(&[corpus()], &LoadOptions::default());
    assert!(n > 4000, "the corpus has many kept events, got {n}");
}

#[test]
fn packed_events_keep_raw_text_and_merge_the_same_copies() {
    // The corpus twice: every record is a copy of another, merged into `also_at` alike.
    let opts = LoadOptions {
        keep_raw: true,
        ..LoadOptions::default()
    };
    let json = corpus().join("json");
    let n = same_events(&[json.clone(), json], &opts);
    assert!(n > 1000, "got {n}");
}

#[test]
fn packed_fixtures_read_back_as_the_same_events() {
    let dir = fixture("");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    same_events(&files, &LoadOptions::default());
}

/// Findings of `scan_packed` (one host decoded at a time) and of `scan` (every event as a
/// struct), as JSON; `scan_packed` runs with every host decoded at once and with every host read
/// event by event, which must agree.
fn findings_both_ways(paths: &[PathBuf], profile: &str) -> (String, String, usize) {
    let det = svchop::detect::Detector::builtin(profile).unwrap();
    let lazy = findings_with_windows(paths, &det, 0);
    let (parts, whole, n) = findings_with_windows(paths, &det, usize::MAX);
    assert!(
        lazy.0 == parts,
        "{profile}: hosts read event by event find the same"
    );
    (parts, whole, n)
}

fn findings_with_windows(
    paths: &[PathBuf],
    det: &svchop::detect::Detector,
    decoded_max: usize,
) -> (String, String, usize) {
    let mut det = det.clone();
    det.window_decoded_max = decoded_max;
    let profile = det.profile.name.clone();
    let whole = det.scan(&svchop::detect::store::EventStore::new(
        load(paths, &LoadOptions::default()).events,
    ));
    // As `svchop scan` loads: typed fields only.
    let typed = LoadOptions {
        typed_only: true,
        ..LoadOptions::default()
    };
    let packed = std::sync::Arc::new(load_packed(paths, &typed, &|_, _| {}).events);
    let (parts, dropped) = det.scan_packed(&packed, true);
    assert_eq!(dropped, 0);
    let (shown, dropped) = det.scan_packed(&packed, false);
    let suppressed = whole.iter().filter(|f| f.is_suppressed()).count();
    assert_eq!(
        dropped, suppressed,
        "{profile}: suppressed findings counted"
    );
    assert_eq!(shown.len() + suppressed, whole.len());
    assert!(shown.iter().all(|f| !f.is_suppressed()));
    (
        serde_json::to_string_pretty(&parts).unwrap(),
        serde_json::to_string_pretty(&whole).unwrap(),
        whole.len(),
    )
}

#[test]
fn host_by_host_scan_finds_what_the_whole_store_scan_finds() {
    for profile in ["default", "hunt", "elastic", "sigma", "otrf", "sentinel"] {
        let (parts, whole, n) = findings_both_ways(&[corpus()], profile);
        assert!(n > 0, "{profile}: the corpus has findings");
        assert!(parts == whole, "{profile}: findings differ");
    }
}

#[test]
fn host_by_host_scan_links_tool_runs_and_connections_across_hosts() {
    // The demo domain: attacks whose source side (tool runs, outbound SMB) is logged on other
    // hosts than the target, so the per-host windows must reach those events.
    let dir = tempfile::tempdir().unwrap();
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts: 24,
        days: 2,
        ..svchop::demo::DemoOptions::default()
    });
    svchop::demo::write(&case, dir.path()).unwrap();
    for profile in ["default", "hunt"] {
        let (parts, whole, n) = findings_both_ways(&[dir.path().to_path_buf()], profile);
        assert!(n > 0);
        assert!(parts == whole, "{profile}: findings differ");
        if profile == "default" {
            // The hunt guide's steps stay on the target; the chain engine reaches the source.
            assert!(
                whole.contains("naming this host"),
                "a tool run elsewhere is linked"
            );
            assert!(
                whole.contains("outbound SMB from"),
                "a connection elsewhere is linked"
            );
        }
    }
}
