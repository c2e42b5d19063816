//! Helpers shared by the integration tests: where the shared corpus is, loading, scanning.
#![allow(dead_code)] // Each test binary uses a different subset of these helpers.
#![allow(clippy::expect_used)] // Tests fail loudly on broken fixtures; clippy.toml allows it only inside #[test] fns.

use std::path::PathBuf;
use svchop::detect::Detector;
use svchop::detect::finding::Finding;
use svchop::ingest::{IngestReport, LoadOptions};
use svchop::model::Event;

/// `../shared/corpus/dev` beside the checkout (used in place, never copied).
pub fn corpus() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dev");
    assert!(
        p.is_dir(),
        "the shared corpus is expected at {}",
        p.display()
    );
    p
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What loading gave, with the store's events decoded in store order.
pub struct Read {
    pub events: Vec<Event>,
    pub report: IngestReport,
    pub ignored: Vec<String>,
    pub store: std::sync::Arc<svchop::store::Store>,
}

pub fn load_paths(paths: &[PathBuf]) -> Read {
    let loaded = svchop::store::load(paths, &LoadOptions::default(), &|_, _| {});
    Read {
        events: loaded.store.events().collect(),
        report: loaded.report,
        ignored: loaded.ignored,
        store: std::sync::Arc::new(loaded.store),
    }
}

/// Every finding (suppressed ones included, marked) of the profile on these paths.
pub fn scan_paths(paths: &[PathBuf], profile: &str) -> Vec<Finding> {
    let loaded = load_paths(paths);
    let det = Detector::builtin(profile).expect("built-in assets load");
    det.scan(&loaded.store, true).0
}

/// One row of EXPECTED.tsv.
#[derive(Debug, Clone)]
pub struct Expected {
    pub path: String,
    pub lm: bool,
    pub target_host: String,
    pub services: Vec<String>,
    pub account: String,
    pub min_stage_count: usize,
}

pub fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(corpus().join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Expected {
                path: c[0].to_string(),
                lm: c[1] == "lm",
                target_host: c[2].to_string(),
                services: if c[3] == "-" {
                    vec![]
                } else {
                    c[3].split('|').map(str::to_string).collect()
                },
                account: c[4].to_string(),
                min_stage_count: c[5].parse().unwrap_or(0),
            }
        })
        .collect()
}

/// The file of a row, in place.
pub fn row_path(row: &Expected) -> PathBuf {
    corpus().join(row.path.trim_start_matches("dev/"))
}

/// Whether a finding names the service (any alternative, display or key name).
pub fn has_service(f: &Finding, alternatives: &[String]) -> bool {
    alternatives.is_empty()
        || f.services.iter().any(|s| {
            alternatives.iter().any(|a| {
                s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(a))
                    || s.key_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(a))
            })
        })
}
