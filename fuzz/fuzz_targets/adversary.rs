//! The adversarial property, run for as long as it is given: any bytes choose a demo case, one
//! of its remote chains and the events an attacker on its target writes around it; the chain's
//! severity never goes down and it is never suppressed (`svchop::detect::testkit::adversary`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use svchop::detect::Detector;
use svchop::detect::testkit::adversary::{Protected, Rng, check, protected};
use svchop::model::Event;

struct Base {
    events: Vec<Event>,
    chains: Vec<Protected>,
}

static DETECTOR: OnceLock<Detector> = OnceLock::new();
static BASES: OnceLock<Vec<Base>> = OnceLock::new();

fn bases(det: &Detector) -> &'static [Base] {
    BASES.get_or_init(|| {
        (1..=4)
            .map(|seed| {
                let case = svchop::demo::generate(&svchop::demo::DemoOptions {
                    hosts: 8,
                    days: 1,
                    seed,
                    noise_per_day: 20,
                });
                let events = svchop::demo::events(&case);
                let store = std::sync::Arc::new(svchop::store::from_events(events.clone(), true).0);
                let chains = protected(&det.scan(&store, true).0);
                Base { events, chains }
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let det = DETECTOR.get_or_init(|| Detector::builtin("default").expect("assets"));
    let bases = bases(det);
    let base = &bases[usize::from(data[0]) % bases.len()];
    if base.chains.is_empty() {
        return;
    }
    let p = &base.chains[usize::from(data[1]) % base.chains.len()];
    let seed = u64::from_le_bytes(data[2..10].try_into().expect("8 bytes"));
    let mut rng = Rng::new(seed);
    if let Err(why) = check(det, &base.events, p, &mut rng) {
        panic!("verdict lowered: {why}");
    }
});
