//! The complexity family: for each index the scan builds (by host, source address, logon id,
//! pipe session, service, time), an input growing that one dimension from 10^3 to 10^5 events,
//! with the linking's work counted (index entries visited, `svchop::detect::work`), not timed:
//! ten times the events may cost at most about ten times the work (n log n allowed for).
//!
//! One test in its own binary: the count is process-wide, so nothing else may scan meanwhile.

#![allow(clippy::expect_used)] // The assets load or the test fails loudly.

use svchop::detect::Detector;
use svchop::detect::testkit::shapes::{ALL, Shape};

/// Entries visited by one default-profile scan of `n` events of `shape`, and its findings.
fn work(det: &Detector, shape: Shape, n: usize) -> (u64, usize) {
    let store = std::sync::Arc::new(svchop::store::from_events(shape.events(n, false), true).0);
    let _ = svchop::detect::work::take();
    let findings = det.scan(&store, true).0.len();
    (svchop::detect::work::take(), findings)
}

#[test]
fn each_index_costs_linear_work_in_the_dimension_it_is_keyed_by() {
    let det = Detector::builtin("default").expect("assets");
    let mut report = Vec::new();
    for shape in ALL {
        let sizes = [1_000usize, 10_000, 100_000];
        let counts: Vec<(u64, usize)> = sizes.iter().map(|&n| work(&det, shape, n)).collect();
        report.push(format!("{}: {counts:?}", shape.label()));
        for (w, pair) in counts.windows(2).zip(sizes.windows(2)) {
            let (small, big) = (w[0].0.max(1), w[1].0);
            // 10x the events: linear is 10x the work, n log n about 13x; quadratic would be 100x.
            assert!(
                big <= small * 16,
                "{}: {} -> {} events cost {small} -> {big} visits ({}x)\n{}",
                shape.label(),
                pair[0],
                pair[1],
                big / small,
                report.join("\n")
            );
        }
    }
    eprintln!("{}", report.join("\n"));
}
