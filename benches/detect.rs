//! Ingest and detection throughput: the dev corpus from disk, and the demo case in memory at two
//! sizes (correlation cost as the collection grows). Run with `cargo bench --bench detect`.
#![allow(clippy::expect_used)] // Benchmarks abort loudly on broken assets, like tests.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use svchop::demo::{DemoOptions, events, generate};
use svchop::detect::Detector;
use svchop::detect::store::EventStore;
use svchop::ingest::{LoadOptions, load};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dev")
}

fn ingest_corpus(c: &mut Criterion) {
    let records = load(&[corpus()], &LoadOptions::default())
        .report
        .records_read();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.bench_function("dev corpus (EVTX + JSON)", |b| {
        b.iter(|| black_box(load(&[corpus()], &LoadOptions::default())));
    });
    g.finish();
}

fn scan_demo(c: &mut Criterion) {
    let det = Detector::builtin("default").expect("assets");
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    for (hosts, days) in [(20, 5), (100, 10)] {
        let case = generate(&DemoOptions {
            hosts,
            days,
            seed: 7,
            noise_per_day: 200,
        });
        let evs = events(&case);
        g.throughput(Throughput::Elements(evs.len() as u64));
        let store = EventStore::new(evs);
        g.bench_function(
            format!("demo {hosts} hosts x {days} days ({} events)", store.len()),
            |b| b.iter(|| black_box(det.scan(&store))),
        );
    }
    g.finish();
}

criterion_group!(benches, ingest_corpus, scan_demo);
criterion_main!(benches);
