//! One pipeline behind every command and the workbench: evidence -> store -> scan -> case step
//! -> findings. `Investigation::open` reads the evidence into the one store, scans it with the
//! one `Detector::scan`, applies the analyst's case (its allow-list decisions, its order, the
//! notes of findings whose id changed), builds the pivot index when asked, and reports progress
//! through a callback (files read, phases, and on a large collection a first partial result).
//! Pure: no terminal, no printing; the caller decides what to show. The record text of an event
//! is read again from the evidence (`record_text`), by whoever asks, never while drawing.

use crate::case::imported::{Imported, hosts_involved, resolve};
use crate::case::{Case, CaseSources, IdMove};
use crate::demo::DemoCase;
use crate::detect::Detector;
use crate::detect::finding::Finding;
use crate::detect::fleet::FleetFacts;
use crate::ingest::{FileReport, IngestReport, LoadOptions, first_part, plan_all};
use crate::pivot::PivotIndex;
use crate::store::raw::{RawError, record_text_with};
use crate::store::{Loaded, Store, from_events, read_parts};
use std::collections::BTreeSet;
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
    /// One part of a fleet. Without facts (`svchop fleet facts`, phase 1): any events, whose
    /// facts the investigation learns (`Investigation::fleet_facts`). With the merged facts of
    /// the whole collection (`svchop fleet scan`, phase 2): all events of some hosts, scanned
    /// with those facts, which also carry the other hosts' events these scans reach.
    FleetPart {
        paths: Vec<PathBuf>,
        facts: Option<Box<FleetFacts>>,
    },
}

impl Evidence {
    /// The evidence a case was made on: the built-in demo it records (cases of earlier releases
    /// name it as the path `demo:`, made with the default options), or its paths.
    pub fn of_case(sources: &CaseSources) -> Evidence {
        match sources.demo_options() {
            Some(opts) => Evidence::Demo(Box::new(crate::demo::generate(&opts))),
            None => Evidence::Paths(sources.paths.iter().map(PathBuf::from).collect()),
        }
    }
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
    /// The analyst's case: its allow-list decisions are applied over the detector's, findings
    /// come in its order, and `Investigation::id_moves` says which of its notes and triage
    /// marks, saved under ids earlier releases gave, belong to which finding now.
    pub case: Option<Case>,
    /// Build the pivot index (the workbench's pivots; one more pass over every event).
    pub pivots: bool,
}

impl Options {
    /// Opens with this detector and otherwise the defaults: every suppressed finding kept, no
    /// early results, no case, no pivot index.
    pub fn scan_with(detector: Option<Detector>, load: LoadOptions) -> Self {
        Options {
            load,
            detector,
            suppressed_per_host: usize::MAX,
            early_results_above: None,
            case: None,
            pivots: false,
        }
    }
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
    #[error("no event log in {paths}: {ignored}")]
    NoLogs { paths: String, ignored: String },
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
    /// Events by pivot field value (built when `Options::pivots` asks; empty otherwise).
    pub pivots: PivotIndex,
    /// Notes and triage of the case saved under an earlier id, and the finding's id now (see
    /// `Options::case`); the holder of the case moves them (`Case::move_ids`).
    pub id_moves: Vec<IdMove>,
    /// Warnings about the evidence as given (a fleet part whose hosts' event counts differ
    /// from the facts').
    pub warnings: Vec<String>,
    /// The facts of a fleet part read without facts (phase 1).
    pub fleet_facts: Option<FleetFacts>,
    /// The demo case's records, where the evidence is the built-in demo.
    demo: Option<Arc<DemoCase>>,
    /// How archives were read (their password), to read a record in one again.
    archives: crate::ingest::archive::ArchiveOptions,
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
                no_logs(&paths, &loaded)?;
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
            Evidence::FleetPart { paths, facts } => {
                Ok(Self::fleet_part(&paths, facts.as_deref(), options))
            }
        }
        .map(|inv| inv.with_case(options, progress))
    }

    /// The case step: the case's allow-list decisions over the detector's, the case's order,
    /// the ids its notes move to; then the pivot index when asked.
    fn with_case(mut self, options: &Options, progress: ProgressFn<'_>) -> Self {
        if let Some(case) = &options.case {
            self.id_moves = case.id_moves(&self.findings);
            let none = crate::detect::allowlist::Allowlist::default();
            let base = self.detector.as_ref().map_or(&none, |d| &d.allowlist);
            case.apply(base, &mut self.findings);
        }
        if options.pivots {
            progress(Progress::Phase(format!(
                "{} finding(s); indexing {} events for pivots…",
                self.findings.len(),
                self.store.len()
            )));
            self.pivots = PivotIndex::build(&self.store);
        }
        self
    }

    /// A fleet part: its facts learned (phase 1), or the events of its hosts and those the
    /// facts carry, scanned host by host with the facts of the whole collection (phase 2). A
    /// part may hold nothing of use (a partition without rows): no facts or findings, no error.
    fn fleet_part(
        paths: &[PathBuf],
        facts: Option<&FleetFacts>,
        options: &Options,
    ) -> Investigation {
        let mut parts = crate::store::read_all(paths, &options.load, &|_, _| {});
        let Some(facts) = facts else {
            let loaded = parts.into_loaded();
            let store = Arc::new(loaded.store);
            let learned = options.detector.as_ref().map(|d| d.fleet_facts(&store));
            return Investigation {
                fleet_facts: learned,
                ..Self::bare(store, Vec::new(), loaded.report, loaded.ignored, options)
            };
        };
        // The hosts whose events are here (all of each, by contract); the facts carry the
        // events of the others that their scans reach.
        let hosts: BTreeSet<String> = parts
            .report
            .files
            .iter()
            .flat_map(|f| f.seen.keys().cloned())
            .collect();
        parts.add_events(facts.carried_events(&hosts), true);
        let loaded = parts.into_loaded();
        let mismatched = facts.host_mismatches(&loaded.store, &hosts);
        let warnings = mismatched
            .first()
            .map(|(h, here, counted)| {
                format!(
                    "{} host(s) have other event counts here than in the facts (first: {h}, \
                     {here} here, {counted} in the facts): give each fleet scan all of its hosts' \
                     events, and facts of the same events, or the findings differ from one scan",
                    mismatched.len()
                )
            })
            .into_iter()
            .collect();
        let store = Arc::new(loaded.store);
        let findings = options.detector.as_ref().map_or_else(Vec::new, |d| {
            d.scan_fleet(&store, &hosts, facts, options.suppressed_per_host)
                .0
        });
        Investigation {
            warnings,
            ..Self::bare(store, findings, loaded.report, loaded.ignored, options)
        }
    }

    /// An investigation of these findings with nothing else learned.
    fn bare(
        store: Arc<Store>,
        findings: Vec<Finding>,
        report: IngestReport,
        ignored: Vec<String>,
        options: &Options,
    ) -> Investigation {
        Investigation {
            store,
            findings,
            suppressed_dropped: 0,
            report,
            ignored,
            addresses: crate::detect::context::AddressBook::default(),
            detector: options.detector.clone(),
            pivots: PivotIndex::default(),
            id_moves: Vec::new(),
            warnings: Vec::new(),
            fleet_facts: None,
            demo: None,
            archives: options.load.archive.clone(),
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
            suppressed_dropped,
            addresses,
            demo,
            ..Self::bare(store, findings, loaded.report, loaded.ignored, options)
        }
    }

    /// A live collection's scan so far (`Detector::scan_again`, `None` without a detector),
    /// through the case step.
    pub(crate) fn of_rescan(
        store: Arc<Store>,
        rescan: Option<crate::detect::again::Rescan>,
        report: IngestReport,
        ignored: Vec<String>,
        options: &Options,
    ) -> Investigation {
        let inv = match rescan {
            Some(r) => Investigation {
                suppressed_dropped: r.dropped,
                addresses: r.addresses,
                ..Self::bare(store, r.findings, report, ignored, options)
            },
            None => Self::bare(store, Vec::new(), report, ignored, options),
        };
        inv.with_case(options, &|_| {})
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
        // Imported findings come without the facts of a scan.
        Self::bare(Arc::new(store), findings, report, ignored, options)
    }

    /// The text of the event at store index `i` as the evidence holds it, read again from the
    /// evidence (the store never keeps it). It reads a file: call it from an effect, never
    /// while drawing (the workbench keeps the last text read in its UI state).
    pub fn record_text(&self, i: usize) -> Result<String, RawError> {
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
        record_text_with(&e.source, &self.archives)
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
        let first = Investigation::scanned(parts.clone().into_loaded(), options, None, &|_| {})
            .with_case(options, &|_| {});
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

/// An error naming the folders and what was in them when they held no file svchop reads.
fn no_logs(paths: &[PathBuf], loaded: &Loaded) -> Result<(), OpenError> {
    if !loaded.report.files.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = paths
        .iter()
        .map(|p| crate::model::sanitize::clip(&p.display().to_string(), 120))
        .collect();
    let ignored = if loaded.ignored.is_empty() {
        "no files in it".to_string()
    } else {
        let first: Vec<String> = loaded
            .ignored
            .iter()
            .take(3)
            .map(|i| crate::model::sanitize::clip(i, 160))
            .collect();
        let more = loaded.ignored.len().saturating_sub(first.len());
        format!(
            "{} file(s) ignored, none EVTX, JSON, Event XML, EvtxECmd CSV or an archive of them ({}{})",
            loaded.ignored.len(),
            first.join("; "),
            if more > 0 {
                format!("; {more} more")
            } else {
                String::new()
            }
        )
    };
    Err(OpenError::NoLogs {
        paths: shown.join(", "),
        ignored,
    })
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
