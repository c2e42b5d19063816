//! Any JSON-lines bytes all the way through detection and every export sink.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use svchop::detect::Detector;
use svchop::ingest::json::{JsonOptions, read_json_from};

static DETECTOR: OnceLock<Detector> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let det = DETECTOR.get_or_init(|| Detector::builtin("default").expect("assets"));
    let shown: Arc<str> = Arc::from("fuzz.jsonl");
    let opts = JsonOptions { forced: None, assume_offset: None };
    let (events, _) = read_json_from(data, &shown, opts);
    let store = Arc::new(svchop::store::from_events(events, false).0);
    let (findings, _) = det.scan(&store, true);
    let refs: Vec<_> = findings.iter().collect();
    let _ = svchop::export::csv_out::findings_csv(&refs);
    let _ = svchop::export::markdown::findings_md(&refs, "fuzz");
    let _ = svchop::export::table::findings_table(&refs);
});
