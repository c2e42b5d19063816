//! Ingest and detection throughput: the dev corpus from disk, and the demo case in memory at two
//! sizes (correlation cost as the collection grows), and the adversarial set: one host with 1M
//! network logons and 50k service installs sharing accounts and close in time, against a benign
//! set of the same size. Run with `cargo bench --bench detect`.
#![allow(clippy::expect_used, clippy::cast_possible_wrap)] // Benchmarks abort loudly on broken assets, like tests; indices stay far below i64::MAX.

/// The allocator the `svchop` binary ships with, so the figures are the binary's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use svchop::demo::{DemoOptions, events, generate};
use svchop::detect::Detector;
use svchop::detect::testkit::ev;
use svchop::detect::testkit::shapes::Shape;
use svchop::ingest::LoadOptions;
use svchop::model::{Channel, Event};
use svchop::store::load;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dev")
}

fn ingest_corpus(c: &mut Criterion) {
    let records = load(&[corpus()], &LoadOptions::default(), &|_, _| {})
        .report
        .records_read();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.bench_function("dev corpus (EVTX + JSON)", |b| {
        b.iter(|| black_box(load(&[corpus()], &LoadOptions::default(), &|_, _| {})));
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
        // As `svchop scan` stores them: typed fields only.
        let store = std::sync::Arc::new(svchop::store::from_events(evs, true).0);
        g.bench_function(
            format!("demo {hosts} hosts x {days} days ({} events)", store.len()),
            |b| b.iter(|| black_box(det.scan(&store, false))),
        );
    }
    g.finish();
}

const ACCOUNTS: usize = 20;

/// Logons in the adversarial set: `SVCHOP_BENCH_LOGONS`, default 10,000 (installs are 1 in 20;
/// 1,000,000 is the set). Linking looks events up in per-host indexes and links at most
/// `MAX_WEAK_LINKS` weak (account/time) matches per rule, so the cost grows with installs, not
/// installs x events in their windows; see README "Benchmarks".
fn logons() -> usize {
    std::env::var("SVCHOP_BENCH_LOGONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// One host, `logons` type-3 logons every 5 ms from 50 addresses over 20 accounts, and one
/// service install per 20 logons (7045 by SID, 4697 by the logon id of a logon 1 s earlier) spread
/// among them: every install has thousands of candidate logons inside any window.
fn adversarial(logons: usize) -> Vec<Event> {
    let mut v = Vec::with_capacity(logons + logons / 20);
    let every = 20;
    for i in 0..logons {
        let a = i % ACCOUNTS;
        let sid = format!("S-1-5-21-1-2-3-{}", 1100 + a);
        let ms = i as i64 * 5;
        v.push(
            ev("SRV01.corp.local", ms, Channel::Security, 4624)
                .logon(
                    0x10_0000 + i as u64,
                    3,
                    &format!("10.0.0.{}", i % 50 + 1),
                    &format!("user{a}"),
                    &sid,
                )
                .done(),
        );
        if i % every == every - 1 {
            let n = i / every;
            let image = format!("%SystemRoot%\\svc{n:05}.exe");
            let name = format!("svc{n:05}");
            let e = if n.is_multiple_of(2) {
                ev("SRV01.corp.local", ms + 1, Channel::System, 7045)
                    .service(&name, &image)
                    .user_sid(&sid)
            } else {
                ev("SRV01.corp.local", ms + 1, Channel::Security, 4697)
                    .subject(0x10_0000 + (i - 200) as u64, &format!("user{a}"), &sid)
                    .service(&name, &image)
            };
            v.push(e.done());
        }
    }
    v
}

/// The same number of logons and events, spread over 200 hosts and a day, no installs: what
/// the correlation costs when nothing piles up.
fn benign(logons: usize) -> Vec<Event> {
    let total = logons + logons / 20;
    (0..total)
        .map(|i| {
            let a = i % 500;
            ev(
                &format!("WS{:03}", i % 200),
                i as i64 * 86,
                Channel::Security,
                4624,
            )
            .logon(
                0x10_0000 + i as u64,
                3,
                &format!("10.1.{}.{}", a / 250, a % 250 + 1),
                &format!("user{a}"),
                &format!("S-1-5-21-1-2-3-{}", 1100 + a),
            )
            .done()
        })
        .collect()
}

/// The benign set with the adversarial set's installs: every 20th logon is followed 1 s later by
/// an install of the same session (4697 by logon id, or 7045 by SID), on its own host, minutes
/// from the next one. Same events, same installs and findings to build; nothing piles up. The
/// ratio to this set isolates what density costs.
fn benign_installs(logons: usize) -> Vec<Event> {
    let mut v = Vec::with_capacity(logons + logons / 20);
    for i in 0..logons {
        let a = i % 500;
        let host = format!("WS{:03}", i % 200);
        let sid = format!("S-1-5-21-1-2-3-{}", 1100 + a);
        let user = format!("user{a}");
        let ms = i as i64 * 86;
        v.push(
            ev(&host, ms, Channel::Security, 4624)
                .logon(
                    0x10_0000 + i as u64,
                    3,
                    &format!("10.1.{}.{}", a / 250, a % 250 + 1),
                    &user,
                    &sid,
                )
                .done(),
        );
        if i % 20 == 19 {
            let n = i / 20;
            let image = format!("%SystemRoot%\\svc{n:05}.exe");
            let name = format!("svc{n:05}");
            let e = if n.is_multiple_of(2) {
                ev(&host, ms + 1000, Channel::System, 7045)
                    .service(&name, &image)
                    .user_sid(&sid)
            } else {
                ev(&host, ms + 1000, Channel::Security, 4697)
                    .subject(0x10_0000 + i as u64, &user, &sid)
                    .service(&name, &image)
            };
            v.push(e.done());
        }
    }
    v
}

fn scan_adversarial(c: &mut Criterion) {
    let det = Detector::builtin("default").expect("assets");
    let mut g = c.benchmark_group("correlation");
    g.sample_size(10);
    let n = logons();
    for (label, evs) in [
        (
            format!("benign {n} logons + {} events, 200 hosts", n / 20),
            benign(n),
        ),
        (
            format!("benign {n} logons + {} installs, 200 hosts", n / 20),
            benign_installs(n),
        ),
        (
            format!("adversarial {n} logons + {} installs, 1 host", n / 20),
            adversarial(n),
        ),
        (
            format!("pipe flood: {n} tool-pipe opens on distinct logon ids, 1 host"),
            // One host, `n` accesses to PsExec-style pipes over IPC$, each on its own logon id
            // from one address and account (each joins the last cluster by session).
            Shape::PipeFlood.events(n, false),
        ),
    ] {
        g.throughput(Throughput::Elements(evs.len() as u64));
        // As `svchop scan` runs: typed fields only, one host window at a time.
        let store = std::sync::Arc::new(svchop::store::from_events(evs, true).0);
        g.bench_function(label, |b| {
            b.iter(|| black_box(det.scan(&store, false)));
        });
    }
    g.finish();
}

criterion_group!(benches, ingest_corpus, scan_demo, scan_adversarial);
criterion_main!(benches);
