//! Frame time of the workbench: drawing every pane into a `TestBackend` at 200x60 and 80x24, and
//! key-to-frame (an `update` for a key plus the redraw), with the dev corpus and with a large
//! synthetic load. Run with `cargo bench --bench render`.
#![allow(clippy::expect_used)] // Benchmarks abort loudly on broken assets, like tests.

/// The allocator the `svchop` binary ships with, so the figures are the binary's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::path::PathBuf;
use svchop::case::playbook::Playbook;
use svchop::case::{Case, CaseSources};
use svchop::detect::Detector;
use svchop::tui::action::Action;
use svchop::tui::keymap::Keymap;
use svchop::tui::panes::draw;
use svchop::tui::state::{AppState, CaseHandle, InspectorTab, Pane};
use svchop::tui::theme::Theme;
use svchop::tui::update::update;

/// The workbench with this evidence opened as `svchop open` opens it.
fn opened(evidence: svchop::investigation::Evidence) -> AppState {
    let det = Detector::builtin("default").expect("assets");
    let options = svchop::investigation::Options {
        pivots: true,
        ..svchop::investigation::Options::scan_with(
            Some(det.clone()),
            svchop::ingest::LoadOptions::default(),
        )
    };
    let inv = svchop::investigation::Investigation::open(evidence, &options, &|_| {})
        .expect("evidence opens");
    let case = CaseHandle {
        case: Case::new("bench", CaseSources::default()),
        path: PathBuf::from("bench.json"),
        base_allowlist: det.allowlist.clone(),
        saves: svchop::tui::state::Saves::default(),
    };
    let mut s = AppState::new(
        case,
        Playbook::builtin().expect("playbook"),
        Keymap::builtin().expect("keymap"),
    );
    update(&mut s, Action::Loaded(Box::new(inv)));
    s
}

fn frames(c: &mut Criterion, name: &str, s: &mut AppState) {
    let theme = Theme { color: true };
    let mut g = c.benchmark_group(format!("frame/{name}"));
    for (w, h) in [(200u16, 60u16), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("backend");
        for tab in [InspectorTab::Detail, InspectorTab::Triage] {
            s.ui.tab = tab;
            g.bench_function(format!("draw {w}x{h} {tab:?}"), |b| {
                b.iter(|| term.draw(|f| draw(f, s, theme)).map(|_| ()).expect("draw"));
            });
        }
        s.ui.focus = Pane::Timeline;
        g.bench_function(format!("key j + draw {w}x{h}"), |b| {
            b.iter(|| {
                update(s, Action::Down);
                update(s, Action::Up);
                term.draw(|f| draw(f, s, theme)).map(|_| ()).expect("draw");
                black_box(());
            });
        });
        g.bench_function(format!("pivot user + back + draw {w}x{h}"), |b| {
            b.iter(|| {
                update(s, Action::Pivot(svchop::tui::action::PivotField::User));
                term.draw(|f| draw(f, s, theme)).map(|_| ()).expect("draw");
                black_box(());
                update(s, Action::Back);
            });
        });
    }
    g.finish();
}

fn render(c: &mut Criterion) {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dev");
    let mut s = opened(svchop::investigation::Evidence::Paths(vec![corpus]));
    frames(c, "dev corpus", &mut s);
    // `SVCHOP_BENCH_DEMO=hosts,days,noise` (default 100,10,200: ~51k events; 400,10,250 is
    // ~1M events).
    let dims: Vec<usize> = std::env::var("SVCHOP_BENCH_DEMO")
        .unwrap_or_else(|_| "100,10,200".into())
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    let (hosts, days, noise) = match dims[..] {
        [hosts, days, noise] => (hosts, u32::try_from(days).unwrap_or(10), noise),
        _ => (100, 10, 200),
    };
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts,
        days,
        seed: 7,
        noise_per_day: noise,
    });
    let count = case.records();
    let mut s = opened(svchop::investigation::Evidence::Demo(Box::new(case)));
    frames(
        c,
        &format!("demo {hosts} hosts x {days} days ({count} events)"),
        &mut s,
    );
}

/// The finder over 100,000 distinct values (hosts, accounts, IPs, services of a large
/// collection): one keystroke = ranking every value against the new query.
fn finder(c: &mut Criterion) {
    use svchop::tui::finder::{Kind, rank};
    let mut values: Vec<(Kind, String)> = (0..100_000u32)
        .map(|i| match i % 4 {
            0 => (Kind::Host, format!("WS{i:06}.corp.example.com")),
            1 => (Kind::User, format!("CORP\\svc_account_{i}")),
            2 => (
                Kind::Ip,
                format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256),
            ),
            _ => (Kind::Service, format!("UpdateService{i:06}")),
        })
        .collect();
    values.sort();
    let mut g = c.benchmark_group("finder 100k values");
    for q in [
        "w",
        "ws0123",
        "corp\\svc_account_9",
        "10.1.2",
        "updsvc77",
        "zzz",
    ] {
        g.bench_function(format!("query {q:?}"), |b| {
            b.iter(|| black_box(rank(&values, q)));
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = render, finder
}
criterion_main!(benches);
