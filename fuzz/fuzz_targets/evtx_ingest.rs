//! Any bytes as an EVTX file (seeded from real logs): parse, filter, normalize without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let shown: Arc<str> = Arc::from("fuzz.evtx");
    let (events, report) = svchop::ingest::evtx::read_evtx_bytes(data.to_vec(), &shown);
    assert!(report.records_kept as usize == events.len());
});
