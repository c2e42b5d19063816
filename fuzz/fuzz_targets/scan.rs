//! Any JSON-lines bytes all the way through detection and every findings sink.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use svchop::detect::Detector;
use svchop::ingest::json::{JsonOptions, read_json_from};
use svchop::sink::{FindingsFormat, Listing, findings_sink, write_all};

static DETECTOR: OnceLock<Detector> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let det = DETECTOR.get_or_init(|| Detector::builtin("default").expect("assets"));
    let shown: Arc<str> = Arc::from("fuzz.jsonl");
    let opts = JsonOptions {
        forced: None,
        assume_offset: None,
        whole_values: false,
    };
    let (events, _) = read_json_from(data, &shown, opts);
    let store = Arc::new(svchop::store::from_events(events, false).0);
    let (findings, _) = det.scan(&store, true);
    for format in [
        FindingsFormat::Table,
        FindingsFormat::Json,
        FindingsFormat::Jsonl,
        FindingsFormat::Csv,
        FindingsFormat::Md,
    ] {
        let listing = Listing {
            width: Some(80),
            ..Listing::new("default", svchop::model::time::DisplayZone::Utc)
        };
        let mut out = Vec::new();
        let mut sink = findings_sink(format, listing, &mut out);
        write_all(sink.as_mut(), &findings).expect("writing to memory");
    }
});
