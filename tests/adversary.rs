//! The adversarial property (#27): for every remote chain of the dev corpus and of the demo,
//! events an attacker running as SYSTEM on the target could write (processes of any name,
//! registry values, installs of any name and path, loopback logons, pipes of any name, files),
//! placed around the chain, never lower its severity nor suppress it. A bounded number of cases
//! here; `fuzz/fuzz_targets/adversary.rs` runs the same check for as long as it is given.

#![allow(clippy::expect_used, clippy::panic)] // Test helpers fail loudly.

mod common;

use svchop::detect::Detector;
use svchop::detect::testkit::adversary::{Rng, check, protected};

const CASES_PER_CHAIN: u64 = 12;

fn run(name: &str, base: &[svchop::model::Event]) -> usize {
    let det = Detector::builtin("default").expect("assets");
    let store = std::sync::Arc::new(svchop::store::from_events(base.to_vec(), true).0);
    let (findings, _) = det.scan(&store, true);
    let chains = protected(&findings);
    assert!(!chains.is_empty(), "{name}: no remote chain to protect");
    let mut failures = Vec::new();
    for (k, p) in chains.iter().enumerate() {
        for case in 0..CASES_PER_CHAIN {
            let mut rng = Rng::new((k as u64) << 16 | case);
            if let Err(why) = check(&det, base, p, &mut rng) {
                failures.push(why);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} verdicts lowered:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    chains.len()
}

#[test]
fn attacker_events_on_the_target_never_lower_a_remote_chain_of_the_corpus() {
    let paths = vec![common::corpus()];
    let loaded = common::load_paths(&paths);
    let n = run("corpus", &loaded.events);
    assert!(n >= 5, "only {n} remote chains in the corpus");
}

#[test]
fn attacker_events_on_the_target_never_lower_a_remote_chain_of_the_demo() {
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts: 8,
        days: 1,
        seed: 7,
        noise_per_day: 20,
    });
    let events = svchop::demo::events(&case);
    run("demo", &events);
}
