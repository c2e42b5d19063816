//! A live collection: evidence folders that grow while the analyst works. Files are taken as
//! they land or change (`watch` says when), each file's events replace what it gave before, and
//! the findings are those of one scan of everything seen so far, with only the hosts that need
//! it scanned again (`Detector::scan_again`). `changes` says what each update changed. Pure
//! apart from reading the evidence: no terminal, no printing.

pub mod changes;
pub mod watch;

use crate::detect::again::ScanMemo;
use crate::detect::finding::Finding;
use crate::ingest::{FileReport, IngestReport, Planned};
use crate::investigation::{Investigation, Options};
use crate::store::{Chunk, Store, read_files};
use changes::Change;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// What one file gave when it was last read.
#[derive(Debug, Default)]
struct Taken {
    chunks: Vec<Arc<Chunk>>,
    reports: Vec<FileReport>,
    ignored: Vec<String>,
    hosts: BTreeSet<String>,
}

impl Taken {
    fn problems(&self) -> usize {
        self.reports.iter().map(|r| r.problems.len()).sum()
    }
}

/// The evidence taken so far and what each host's last scan found.
pub struct Collection {
    options: Options,
    /// By path: the store is built from the files in path order, as a one-shot read of the
    /// folders orders them.
    files: BTreeMap<PathBuf, Taken>,
    memo: ScanMemo,
    /// The findings of the last update (after the case step), to say what changed.
    last: Vec<Finding>,
}

/// What one update did.
pub struct Update {
    pub investigation: Investigation,
    pub changes: Vec<Change>,
    /// Files read in this update, and of them those with problems (damaged or half written).
    pub files_read: Vec<PathBuf>,
    pub with_problems: Vec<PathBuf>,
    /// Hosts scanned again (the others kept their findings).
    pub hosts_scanned: usize,
    pub hosts: usize,
    /// How long reading the files took, and the scan after.
    pub read_time: std::time::Duration,
    pub scan_time: std::time::Duration,
}

impl Update {
    /// What the update read and changed, short (the workbench's status line at 80 columns).
    pub fn brief(&self) -> String {
        let count = |k: changes::Kind| self.changes.iter().filter(|c| c.kind == k).count();
        let problems = if self.with_problems.is_empty() {
            String::new()
        } else {
            format!(" ({} with problems)", self.with_problems.len())
        };
        format!(
            "{} file(s){problems} read {}: {} new, {} updated, {} withdrawn",
            self.files_read.len(),
            chrono::Utc::now().format("%H:%M:%SZ"),
            count(changes::Kind::New),
            count(changes::Kind::Updated),
            count(changes::Kind::Withdrawn),
        )
    }

    /// What the update read and did, in a line.
    pub fn summary(&self) -> String {
        let count = |k: changes::Kind| self.changes.iter().filter(|c| c.kind == k).count();
        let problems = if self.with_problems.is_empty() {
            String::new()
        } else {
            format!(
                "; {} with problems (read again once; `svchop sources` lists them)",
                self.with_problems.len()
            )
        };
        format!(
            "read {} file(s){problems} in {:.2} s: {} finding(s), {} new, {} updated, {} withdrawn; {} of {} host(s) scanned again in {:.2} s",
            self.files_read.len(),
            self.read_time.as_secs_f64(),
            self.investigation.findings.len(),
            count(changes::Kind::New),
            count(changes::Kind::Updated),
            count(changes::Kind::Withdrawn),
            self.hosts_scanned,
            self.hosts,
            self.scan_time.as_secs_f64(),
        )
    }
}

impl Collection {
    pub fn new(options: Options) -> Self {
        Collection {
            options,
            files: BTreeMap::new(),
            memo: ScanMemo::default(),
            last: Vec::new(),
        }
    }

    /// Reads these files (new, or changed since they were last read: what they gave before is
    /// replaced), and scans the collection again.
    pub fn take(&mut self, files: &[Planned], progress: &(dyn Fn(usize, usize) + Sync)) -> Update {
        let started = std::time::Instant::now();
        let parts = read_files(files, &self.options.load, progress);
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut with_problems = Vec::new();
        for ((path, _), mut part) in files.iter().zip(parts) {
            let chunks: Vec<Arc<Chunk>> = part.take_chunks().into_iter().map(Arc::new).collect();
            let hosts: BTreeSet<String> = chunks
                .iter()
                .flat_map(|c| c.host_keys().map(str::to_string))
                .collect();
            let taken = Taken {
                chunks,
                reports: std::mem::take(&mut part.report.files),
                ignored: std::mem::take(&mut part.ignored),
                hosts,
            };
            changed.extend(taken.hosts.iter().cloned());
            if taken.problems() > 0 {
                with_problems.push(path.clone());
            }
            if let Some(before) = self.files.insert(path.clone(), taken) {
                changed.extend(before.hosts);
            }
        }
        let read_time = started.elapsed();
        let update = self.rescan(&changed);
        Update {
            files_read: files.iter().map(|(p, _)| p.clone()).collect(),
            with_problems,
            read_time,
            scan_time: started.elapsed().saturating_sub(read_time),
            ..update
        }
    }

    /// The case the updates keep (`Options::case`): its notes and triage follow findings whose
    /// id changed.
    #[cfg(any(test, feature = "bench"))]
    pub fn case(&self) -> Option<&crate::case::Case> {
        self.options.case.as_ref()
    }

    #[cfg(any(test, feature = "bench"))]
    pub fn case_mut(&mut self) -> Option<&mut crate::case::Case> {
        self.options.case.as_mut()
    }

    /// The store of every file taken, scanned again where `changed` and the facts say.
    fn rescan(&mut self, changed: &BTreeSet<String>) -> Update {
        let chunks: Vec<Arc<Chunk>> = self
            .files
            .values()
            .flat_map(|t| t.chunks.iter().cloned())
            .collect();
        let (store, merged) = Store::from_shared(chunks);
        let store = Arc::new(store);
        let report = IngestReport {
            files: self
                .files
                .values()
                .flat_map(|t| t.reports.iter().cloned())
                .collect(),
            duplicates_merged: merged,
        };
        let ignored = self
            .files
            .values()
            .flat_map(|t| t.ignored.iter().cloned())
            .collect();
        let hosts = store.hosts().count();
        let rescan = self.options.detector.as_ref().map(|d| {
            d.scan_again(
                &store,
                &mut self.memo,
                changed,
                self.options.suppressed_per_host,
            )
        });
        let hosts_scanned = rescan.as_ref().map_or(0, |r| r.scanned.len());
        let investigation = Investigation::of_rescan(store, rescan, report, ignored, &self.options);
        let diff = changes::between(&self.last, &investigation.findings);
        if let Some(case) = &mut self.options.case {
            // Notes and triage follow a finding whose id changed (its evidence grew).
            case.move_ids(&changes::id_moves(&diff));
        }
        self.last.clone_from(&investigation.findings);
        Update {
            investigation,
            changes: diff,
            files_read: Vec::new(),
            with_problems: Vec::new(),
            hosts_scanned,
            hosts,
            read_time: std::time::Duration::ZERO,
            scan_time: std::time::Duration::ZERO,
        }
    }
}
