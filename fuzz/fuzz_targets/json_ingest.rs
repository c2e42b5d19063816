//! Any bytes as a JSON export (array, JSON lines, objects; every record shape): ingest must
//! count, skip and report, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use svchop::ingest::json::{JsonOptions, read_json_from};

fuzz_target!(|data: &[u8]| {
    let shown: Arc<str> = Arc::from("fuzz.json");
    let opts = JsonOptions {
        forced: None,
        assume_offset: None,
        whole_values: false,
    };
    let (events, report) = read_json_from(data, &shown, opts);
    assert!(report.records_kept as usize == events.len());
    for e in &events {
        let _ = svchop::model::describe::summary(e);
    }
});
