//! More evidence never lowers a verdict: adding another log of the same host to a scan never
//! lowers the severity of what the smaller scan found. Checked over every pair of dev-corpus
//! files that share a host, and over the demo with each host's logs left out one at a time.
//!
//! A finding of the smaller scan is "kept" by the larger one when a finding on the same target
//! cites one of its events with a severity at least as high.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use common::{corpus, expected, scan_paths};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use svchop::detect::finding::Finding;

/// Findings of `smaller` that `larger` reports lower (or not at all): one line each.
fn lowered(smaller: &[Finding], larger: &[Finding]) -> Vec<String> {
    let mut out = Vec::new();
    for f in smaller.iter().filter(|f| !f.is_suppressed()) {
        let cited: BTreeSet<&str> = f.stages.iter().map(|s| s.evidence.as_str()).collect();
        let best = larger
            .iter()
            .filter(|g| g.target_key == f.target_key)
            .filter(|g| g.stages.iter().any(|s| cited.contains(s.evidence.as_str())))
            .map(|g| g.severity)
            .max();
        if best.is_none_or(|b| b < f.severity) {
            out.push(format!(
                "{} {} {:?} ({}) -> {:?}",
                f.id,
                f.target_host,
                f.severity,
                f.service_label(),
                best
            ));
        }
    }
    out
}

fn hosts_of(path: &PathBuf) -> BTreeSet<String> {
    let read = common::load_paths(std::slice::from_ref(path));
    read.store.hosts().map(|(k, _)| k.to_string()).collect()
}

#[test]
fn adding_a_log_of_the_same_host_never_lowers_a_finding_on_the_dev_corpus() {
    let files: Vec<PathBuf> = expected()
        .iter()
        .map(|r| corpus().join(r.path.trim_start_matches("dev/")))
        .collect();
    let mut by_host: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for h in hosts_of(f) {
            by_host.entry(h).or_default().push(i);
        }
    }
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for members in by_host.values() {
        for &a in members {
            for &b in members {
                if a != b {
                    pairs.insert((a, b));
                }
            }
        }
    }
    assert!(
        pairs.len() >= 10,
        "the corpus has files sharing hosts: {pairs:?}"
    );
    let alone: Vec<Vec<Finding>> = files
        .iter()
        .map(|f| scan_paths(std::slice::from_ref(f), "default"))
        .collect();
    let mut failures = Vec::new();
    for &(a, b) in &pairs {
        let both = scan_paths(&[files[a].clone(), files[b].clone()], "default");
        for l in lowered(&alone[a], &both) {
            failures.push(format!(
                "{} + {}: {l}",
                files[a].display(),
                files[b].display()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn adding_a_log_never_lowers_a_finding_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts: 12,
        days: 2,
        seed: 7,
        noise_per_day: 40,
    });
    svchop::demo::write(&case, dir.path()).unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for host in std::fs::read_dir(dir.path()).unwrap() {
        let host = host.unwrap().path();
        if host.is_dir() {
            for f in std::fs::read_dir(&host).unwrap() {
                files.push(f.unwrap().path());
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "{files:?}");
    let all = scan_paths(&files, "default");
    assert!(!all.is_empty());
    let mut failures = Vec::new();
    for (i, left_out) in files.iter().enumerate() {
        let rest: Vec<PathBuf> = files
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, f)| f.clone())
            .collect();
        let fewer = scan_paths(&rest, "default");
        for l in lowered(&fewer, &all) {
            failures.push(format!("adding {}: {l}", left_out.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
