//! One pipeline behind every command and the workbench: evidence -> store -> scan -> findings.
//! `Investigation::open` reads the evidence into the one store, scans it with the one
//! `Detector::scan`, and reports progress through a callback (files read, phases, and on a large
//! collection a first partial result). Pure: no terminal, no printing; the caller decides what
//! to show. The record text of an event is read again from the evidence (`record_text`).

use crate::case::imported::{Imported, hosts_involved, resolve};
use crate::demo::DemoCase;
use crate::detect::Detector;
use crate::detect::finding::Finding;
use crate::ingest::{FileReport, IngestReport, LoadOptions, first_part, plan_all};
use crate::store::raw::{RawError, record_text};
use crate::store::{Loaded, Store, from_events, read_parts};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the events come from.
pub enum Evidence {
    Paths(Vec<PathBuf>),
    /// The built-in synthetic case, generated in memory.
    Demo(Box<DemoCase>),
    /// Events already in memory (tests, benchmarks, a program embedding svchop); reported as
    /// one file named `events`, with no record text to show.
    Events(Vec<crate::model::Event>),
    /// Findings made elsewhere (the Spark job, another machine's scan), not recomputed; the
    /// evidence of the hosts they involve is loaded when paths are given.
    Findings {
        imported: Imported,
        paths: Vec<PathBuf>,
    },
}

/// How to open the evidence.
#[derive(Debug, Clone)]
pub struct Options {
    pub load: LoadOptions,
    /// The detector to scan with; `None` opens the events without scanning (`events`,
    /// `coverage`, `normalize`, `sources`), and the built-in assets stand in for `detector`.
    pub detector: Option<Detector>,
    /// How many of each host's findings the allow-list suppresses to keep (marked); the rest
    /// are counted and dropped (`usize::MAX`: keep all, `0`: keep none).
    pub suppressed_per_host: usize,
    /// Above this many bytes of evidence, the first files are read and scanned alone first and
    /// handed over as `Progress::Partial` (the workbench shows them while the rest loads).
    pub early_results_above: Option<u64>,
}

/// What `open` reports while it works (from any thread).
pub enum Progress {
    Files {
        done: usize,
        total: usize,
    },
    Phase(String),
    /// The findings of the first files, while the rest is read.
    Partial {
        investigation: Box<Investigation>,
        files_shown: usize,
        files_total: usize,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("nothing could be read from {files} file(s){details}")]
    NothingRead { files: usize, details: String },
}

/// The evidence read and scanned.
#[derive(Debug)]
pub struct Investigation {
    pub store: Arc<Store>,
    /// Sorted by score (`Finding::order`).
    pub findings: Vec<Finding>,
    /// Findings the allow-list suppressed and `open` dropped (see `suppressed_per_host`).
    pub suppressed_dropped: usize,
    pub report: IngestReport,
    /// What inside evidence folders was not read: files neither EVTX nor JSON, links, unreadable
    /// folders, FIFOs and devices (each with why).
    pub ignored: Vec<String>,
    /// The detector that made the findings (`None` when opened without scanning).
    /// Which host of the collection had which address, when (from the scan's facts).
    pub addresses: crate::detect::context::AddressBook,
    pub detector: Option<Detector>,
    /// The demo case's records, where the evidence is the built-in demo.
    demo: Option<Arc<DemoCase>>,
    /// The record text read last (a pane redraws it every frame; the evidence is read once).
    last_text: std::sync::Mutex<Option<(usize, Result<String, RawError>)>>,
}

type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

impl Investigation {
    /// Reads and scans the evidence.
    pub fn open(
        evidence: Evidence,
        options: &Options,
        progress: ProgressFn<'_>,
    ) -> Result<Investigation, OpenError> {
        match evidence {
            Evidence::Paths(paths) => {
                let loaded = read_in_parts(&paths, options, progress);
                nothing_read(&loaded.report)?;
                Ok(Self::scanned(loaded, options, None, progress))
            }
            Evidence::Demo(case) => {
                let case: Arc<DemoCase> = Arc::from(case);
                let events = crate::demo::events(&case);
                let loaded = memory_loaded(events, "demo", options);
                Ok(Self::scanned(loaded, options, Some(case), progress))
            }
            Evidence::Events(events) => {
                let loaded = memory_loaded(events, "events", options);
                Ok(Self::scanned(loaded, options, None, progress))
            }
            Evidence::Findings { imported, paths } => {
                Ok(Self::imported(imported, &paths, options, progress))
            }
        }
    }

    /// The store scanned with the options' detector.
    fn scanned(
        loaded: Loaded,
        options: &Options,
        demo: Option<Arc<DemoCase>>,
        progress: ProgressFn<'_>,
    ) -> Investigation {
        if options.detector.is_some() {
            progress(Progress::Phase(format!(
                "correlating {} events…",
                loaded.store.len()
            )));
        }
        let store = Arc::new(loaded.store);
        let (findings, suppressed_dropped, addresses) = options
            .detector
            .as_ref()
            .map_or_else(Default::default, |d| {
                d.scan_with_addresses(&store, options.suppressed_per_host)
            });
        Investigation {
            store,
            findings,
            suppressed_dropped,
            addresses,
            report: loaded.report,
            ignored: loaded.ignored,
            detector: options.detector.clone(),
            demo,
            last_text: std::sync::Mutex::default(),
        }
    }

    /// Imported findings: the evidence of their hosts (when paths are given) is loaded and each
    /// stage tied to its event; the findings are not recomputed.
    fn imported(
        imported: Imported,
        paths: &[PathBuf],
        options: &Options,
        progress: ProgressFn<'_>,
    ) -> Investigation {
        let Imported {
            mut findings,
            mut report,
        } = imported;
        let mut store = Store::default();
        let mut ignored = Vec::new();
        if !paths.is_empty() {
            let load = LoadOptions {
                only_hosts: Some(hosts_involved(&findings)),
                ..options.load.clone()
            };
            let loaded = crate::store::load(paths, &load, &files_progress(progress, 0, None));
            report.files.extend(loaded.report.files);
            report.duplicates_merged += loaded.report.duplicates_merged;
            ignored = loaded.ignored;
            store = loaded.store;
        }
        resolve(&mut findings, &store);
        Investigation {
            store: Arc::new(store),
            findings,
            suppressed_dropped: 0,
            report,
            ignored,
            // Imported findings come without the facts of a scan.
            addresses: crate::detect::context::AddressBook::default(),
            detector: options.detector.clone(),
            demo: None,
            last_text: std::sync::Mutex::default(),
        }
    }

    /// The text of the event at store index `i` as the evidence holds it, read again from the
    /// evidence (the store never keeps it); the last one read is kept for the next frame.
    pub fn record_text(&self, i: usize) -> Result<String, RawError> {
        if let Ok(last) = self.last_text.lock()
            && let Some((at, text)) = last.as_ref()
            && *at == i
        {
            return text.clone();
        }
        let text = self.read_record_text(i);
        if let Ok(mut last) = self.last_text.lock() {
            *last = Some((i, text.clone()));
        }
        text
    }

    fn read_record_text(&self, i: usize) -> Result<String, RawError> {
        let e = self.store.get(i).ok_or_else(|| RawError::NoLocation {
            file: "(event not loaded)".into(),
        })?;
        if let (Some(demo), Some(rel)) = (&self.demo, e.source.file.strip_prefix("demo:")) {
            return e
                .source
                .offset
                .and_then(|n| {
                    let (_, recs) = demo.files.iter().find(|(r, _)| r == rel)?;
                    recs.get(usize::try_from(n).ok()?)
                })
                .map(ToString::to_string)
                .ok_or_else(|| RawError::NoLocation {
                    file: e.source.file.to_string(),
                });
        }
        record_text(&e.source)
    }
}

/// Reads the evidence; on a large collection (see `Options::early_results_above`) the first
/// files are read and scanned first and handed over as `Progress::Partial`, then everything is
/// read and put in order as one (the first files are not read twice).
fn read_in_parts(paths: &[PathBuf], options: &Options, progress: ProgressFn<'_>) -> Loaded {
    let (files, skipped) = plan_all(paths);
    let total = files.len();
    let split = options
        .early_results_above
        .map_or(0, |min| first_part(&files, min));
    let mut parts = read_parts(
        &files[..split],
        &options.load,
        &files_progress(progress, 0, Some(total)),
    );
    if split > 0 && parts.report.records_read() > 0 {
        progress(Progress::Phase(format!(
            "correlating the first {split} of {total} files…"
        )));
        let first = Investigation::scanned(parts.clone().into_loaded(), options, None, &|_| {});
        progress(Progress::Partial {
            investigation: Box::new(first),
            files_shown: split,
            files_total: total,
        });
    }
    let rest = read_parts(
        &files[split..],
        &options.load,
        &files_progress(progress, split, Some(total)),
    );
    parts.absorb(rest);
    parts.ignored.extend(skipped);
    parts.into_loaded()
}

/// File progress of a part of the files: `before` files were read earlier, out of `total`.
fn files_progress(
    progress: ProgressFn<'_>,
    before: usize,
    total: Option<usize>,
) -> impl Fn(usize, usize) + Sync + '_ {
    move |done, part_total| {
        progress(Progress::Files {
            done: before + done,
            total: total.unwrap_or(part_total),
        });
    }
}

/// Events in memory in a store, with a report as if read from one file.
fn memory_loaded(events: Vec<crate::model::Event>, name: &str, options: &Options) -> Loaded {
    let mut file = FileReport::new(name, name);
    for e in &events {
        file.note(&e.host.display, e.channel.name(), e.event_id, Some(e.ts));
    }
    let (store, merged) = from_events(events, options.load.typed_only);
    Loaded {
        store,
        report: IngestReport {
            files: vec![file],
            duplicates_merged: merged,
        },
        ignored: Vec::new(),
    }
}

/// An error when not one record could be read, with the first problems.
fn nothing_read(report: &IngestReport) -> Result<(), OpenError> {
    // Damaged or unknown-shape records count as read, not as readable (JSON and EVTX alike).
    if report.records_usable() > 0 {
        return Ok(());
    }
    let problems: Vec<String> = report
        .files
        .iter()
        .flat_map(|f| {
            f.problems
                .iter()
                .map(move |p| format!("{}: {}", f.path, p.what))
        })
        .take(5)
        .collect();
    Err(OpenError::NothingRead {
        files: report.files.len(),
        details: if problems.is_empty() {
            String::new()
        } else {
            format!(":\n  {}", problems.join("\n  "))
        },
    })
}
