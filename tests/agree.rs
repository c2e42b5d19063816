//! Paths that must agree, checked by one harness (as ripgrep's `SearcherTester` runs every
//! searcher configuration over one input): each evidence set is opened the ordinary way, then
//! by every other path that must give the same answer, for every profile.
//!
//! - the reference readers: EVTX records rendered instead of read from their templates, JSON
//!   records parsed as whole values instead of by the `evtx_dump` fast path (same events, same
//!   findings);
//! - typed-only decoding, as `scan` reads, against full decoding, as the workbench reads (same
//!   findings);
//! - the fleet phases (facts of each file apart, merged, the host scans, the ranking) against
//!   one scan (same findings, in the same order).
//!
//! The evidence: the dev corpus (EVTX from several tools and Windows versions, and JSON of
//! several shapes) and a demo case written to files (`evtx_dump` JSON lines of every log).
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use svchop::detect::Detector;
use svchop::detect::finding::Finding;
use svchop::ingest::LoadOptions;
use svchop::investigation::{Evidence, Investigation, Options};

const PROFILES: [&str; 6] = ["default", "sentinel", "elastic", "otrf", "sigma", "hunt"];

/// One evidence set and the paths it is opened by.
struct Tester {
    name: &'static str,
    paths: Vec<PathBuf>,
}

/// What an opening gave that the paths must agree on.
struct Seen {
    findings: String,
    events: Option<String>,
}

impl Tester {
    fn open(&self, detector: &Detector, load: LoadOptions) -> Investigation {
        let options = Options::scan_with(Some(detector.clone()), load);
        Investigation::open(Evidence::Paths(self.paths.clone()), &options, &|_| {})
            .map_err(|e| format!("{}: {e}", self.name))
            .unwrap()
    }

    fn seen(inv: &Investigation, with_events: bool) -> Seen {
        Seen {
            findings: json(&inv.findings),
            events: with_events.then(|| {
                inv.store
                    .events()
                    .map(|e| serde_json::to_string(&e).unwrap() + "\n")
                    .collect()
            }),
        }
    }

    /// Every path against the ordinary one, for every profile.
    fn test(&self) {
        let mut checked = 0;
        for profile in PROFILES {
            let det = Detector::builtin(profile).unwrap();
            let full = LoadOptions::default();
            let base = Self::seen(&self.open(&det, full.clone()), profile == "default");
            let reference = LoadOptions {
                reference_readers: true,
                ..full.clone()
            };
            let typed = LoadOptions {
                typed_only: true,
                ..full.clone()
            };
            let other = Self::seen(&self.open(&det, reference), profile == "default");
            self.same(profile, "reference readers", &base, &other);
            let other = Self::seen(&self.open(&det, typed), false);
            self.same(profile, "typed-only decoding", &base, &other);
            let other = Seen {
                findings: json(&self.fleet(&det)),
                events: None,
            };
            self.same(profile, "fleet phases", &base, &other);
            checked += 3;
        }
        assert_eq!(checked, 3 * PROFILES.len());
    }

    fn same(&self, profile: &str, path: &str, base: &Seen, other: &Seen) {
        let name = self.name;
        assert!(
            base.findings.len() > 2,
            "{name}: the ordinary opening finds something"
        );
        assert!(
            base.findings == other.findings,
            "{name}, profile {profile}: {path} gives other findings\n{}",
            first_difference(&base.findings, &other.findings)
        );
        if let (Some(a), Some(b)) = (&base.events, &other.events) {
            assert!(
                a == b,
                "{name}, profile {profile}: {path} gives other events\n{}",
                first_difference(a, b)
            );
        }
    }

    /// The fleet phases as `svchop fleet` runs them: each file's facts apart, merged; then the
    /// host scans of every part holding all of its hosts' events; then the ranking.
    fn fleet(&self, det: &Detector) -> Vec<Finding> {
        let files = files_of(&self.paths);
        let options = Options::scan_with(
            Some(det.clone()),
            LoadOptions {
                typed_only: true,
                ..LoadOptions::default()
            },
        );
        let mut merged: Option<svchop::detect::fleet::FleetFacts> = None;
        for f in &files {
            let part = Evidence::FleetPart {
                paths: vec![f.clone()],
                facts: None,
            };
            let facts = Investigation::open(part, &options, &|_| {})
                .unwrap()
                .fleet_facts
                .expect("facts of the part");
            merged = Some(match merged {
                None => facts,
                Some(m) => m.merge(facts).expect("facts of one profile merge"),
            });
        }
        let facts = merged.expect("at least one file").completed();
        let scan = Evidence::FleetPart {
            paths: self.paths.clone(),
            facts: Some(Box::new(facts)),
        };
        let opened = Investigation::open(scan, &options, &|_| {}).unwrap();
        assert!(opened.warnings.is_empty(), "{:?}", opened.warnings);
        let mut found = opened.findings;
        det.rank(&mut found);
        found
    }
}

fn json(findings: &[Finding]) -> String {
    serde_json::to_string_pretty(findings).unwrap()
}

/// The first line two texts differ on, with its neighbours.
fn first_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    let from = at.saturating_sub(3);
    format!(
        "line {at}:\n--- ordinary\n{}\n--- other\n{}",
        la[from..(at + 3).min(la.len())].join("\n"),
        lb[from..(at + 3).min(lb.len())].join("\n")
    )
}

/// The files under these paths, sorted.
fn files_of(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            out.insert(p);
        }
    }
    out.into_iter().collect()
}

#[test]
fn every_path_agrees_on_the_corpus() {
    Tester {
        name: "dev corpus",
        paths: vec![common::corpus()],
    }
    .test();
}

#[test]
fn every_path_agrees_on_a_demo_case() {
    let dir = tempfile::tempdir().unwrap();
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts: 12,
        noise_per_day: 150,
        ..svchop::demo::DemoOptions::default()
    });
    svchop::demo::write(&case, dir.path()).unwrap();
    Tester {
        name: "demo case",
        paths: vec![dir.path().to_path_buf()],
    }
    .test();
}
