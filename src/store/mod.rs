//! The event store, the only one: every kept event of the evidence packed into bytes (`pack`), in
//! store order (host key, time, file, record id, line) with copies of one record merged. Its read
//! API is the same whatever the size: hosts and their ranges, time and event id without
//! decoding, typed fields or the whole event decoded for the moment (`Store`); detection reads a
//! host at a time through a `Window`. The record text is never kept: `raw` reads it again from
//! the evidence by its location. Loading packs each file's events as they are read, so a large
//! log never exists as `Event` structs all at once. Pure: never prints, never writes.

pub mod pack;
pub mod raw;
pub mod window;

use crate::ingest::{IngestReport, LoadOptions, Planned, each_file, plan_all, read_path_into};
use crate::model::Event;
pub use pack::{Chunk, Place, Store};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
pub use window::{Ev, WINDOW_DECODED_MAX, Window};

/// The store and how reading went.
#[derive(Debug, Default)]
pub struct Loaded {
    pub store: Store,
    pub report: IngestReport,
    /// What inside evidence folders was not read: files neither EVTX nor JSON, links, unreadable
    /// folders, FIFOs and devices (each with why).
    pub ignored: Vec<String>,
}

/// Files read and packed, not yet put in store order (`into_loaded`): parts of the evidence
/// read at different times add up (`absorb`) to what reading everything at once gives.
#[derive(Debug, Default, Clone)]
pub struct Parts {
    chunks: Vec<Chunk>,
    pub report: IngestReport,
    pub ignored: Vec<String>,
}

impl Parts {
    /// Adds what another part of the files gave.
    pub fn absorb(&mut self, other: Parts) {
        self.chunks.extend(other.chunks);
        self.report.files.extend(other.report.files);
        self.report.duplicates_merged += other.report.duplicates_merged;
        self.ignored.extend(other.ignored);
    }

    /// Adds events from elsewhere than the files (a fleet scan's events carried from other
    /// hosts), packed as reading packs.
    pub fn add_events(&mut self, events: Vec<Event>, typed_only: bool) {
        let shared = Mutex::new(crate::model::FastSet::default());
        let mut batch = Batch::new(typed_only, &shared);
        for e in events {
            batch.push(e);
        }
        batch.flush();
        self.chunks.extend(batch.chunks);
    }

    /// The packed events, to share with stores built later (a live collection's).
    pub fn take_chunks(&mut self) -> Vec<Chunk> {
        std::mem::take(&mut self.chunks)
    }

    /// The store of everything read: events in store order, copies merged (and counted).
    pub fn into_loaded(self) -> Loaded {
        let (store, merged) = Store::new(self.chunks);
        let mut report = self.report;
        report.duplicates_merged += merged;
        Loaded {
            store,
            report,
            ignored: self.ignored,
        }
    }
}

/// Reads every path (files and folders), calling `progress(files_done, files_total)` as files
/// finish (from any thread).
pub fn load(
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Loaded {
    read_all(paths, opts, progress).into_loaded()
}

/// `load` without putting the events in store order yet: parts more events can be added to.
pub fn read_all(
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Parts {
    let (files, skipped) = plan_all(paths);
    let mut parts = read_parts(&files, opts, progress);
    parts.ignored.extend(skipped);
    parts
}

/// Reads planned files, each file's events packed as soon as it is read, so memory holds the
/// packed form plus the files being read.
pub fn read_parts(
    files: &[Planned],
    opts: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Parts {
    let mut out = Parts::default();
    for part in read_files(files, opts, progress) {
        out.absorb(part);
    }
    out
}

/// `read_parts`, each file's own part (a live collection replaces a file's events when it
/// changes), in the order of `files`.
pub fn read_files(
    files: &[Planned],
    opts: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Parts> {
    let shared = Mutex::new(crate::model::FastSet::default());
    let results = each_file(files, progress, |path, named| {
        let mut batch = Batch::new(opts.typed_only, &shared);
        let r = read_path_into(path, named, opts, &mut |e| {
            if opts
                .only_hosts
                .as_ref()
                .is_none_or(|h| h.contains(&*e.host.key))
            {
                batch.push(e);
            }
        });
        batch.flush();
        (batch.chunks, r)
    });
    drop(shared);
    results
        .into_iter()
        .map(|(chunks, reports)| {
            let mut out = Parts {
                chunks,
                ..Parts::default()
            };
            for r in reports {
                match r {
                    Ok(rep) => out.report.files.push(rep),
                    Err(ignored) => out.ignored.push(ignored),
                }
            }
            out
        })
        .collect()
}

/// Events already in memory (the demo case, tests, benchmarks) stored as loading stores what it
/// reads; returns the store and how many copies were merged.
pub fn from_events(events: Vec<Event>, typed_only: bool) -> (Store, u64) {
    let shared = Mutex::new(crate::model::FastSet::default());
    let mut batch = Batch::new(typed_only, &shared);
    for e in events {
        batch.push(e);
    }
    batch.flush();
    Store::new(batch.chunks)
}

/// Events of one file on their way into chunks: packed every `PACK_BATCH` events, so a file of
/// millions of records never exists as `Event` structs all at once.
struct Batch<'s> {
    typed_only: bool,
    events: Vec<Event>,
    chunks: Vec<Chunk>,
    shared: &'s Mutex<crate::model::FastSet<Arc<str>>>,
}

const PACK_BATCH: usize = 1 << 12;

impl<'s> Batch<'s> {
    fn new(typed_only: bool, shared: &'s Mutex<crate::model::FastSet<Arc<str>>>) -> Self {
        Batch {
            typed_only,
            events: Vec::new(),
            chunks: Vec::new(),
            shared,
        }
    }

    fn push(&mut self, e: Event) {
        self.events.push(e);
        if self.events.len() >= PACK_BATCH {
            self.flush();
        }
    }

    /// Packs what is waiting, in store order, as one chunk (or more, past 4 GiB).
    fn flush(&mut self) {
        if self.events.is_empty() {
            return;
        }
        let order = store_order(&self.events);
        let first = self.chunks.len();
        let packer = || {
            if self.typed_only {
                pack::Packer::typed_only()
            } else {
                pack::Packer::new()
            }
        };
        let mut p = packer();
        // Each event is dropped once packed, as the chunk grows.
        let mut events: Vec<Option<Event>> = self.events.drain(..).map(Some).collect();
        for e in order
            .into_iter()
            .filter_map(|k| events.get_mut(k).and_then(Option::take))
        {
            if p.is_full() {
                self.chunks
                    .push(std::mem::replace(&mut p, packer()).finish());
            }
            p.push(&e);
        }
        self.chunks.push(p.finish());
        for c in &mut self.chunks[first..] {
            c.share_strings(self.shared);
        }
    }
}

/// The events' positions in store order: host key, then `order_key` (deterministic). The
/// positions are sorted, not the events (large structs), with the comparisons sorting the events
/// would make, so the order is the same.
fn store_order(events: &[Event]) -> Vec<usize> {
    let order = |a: &Event, b: &Event| {
        a.host.key.cmp(&b.host.key).then_with(|| {
            order_key(a.ts, &a.source.file, a.source.record_id, a.source.line).cmp(&order_key(
                b.ts,
                &b.source.file,
                b.source.record_id,
                b.source.line,
            ))
        })
    };
    let mut at: Vec<(&Event, usize)> = events.iter().zip(0..).collect();
    if !events.is_sorted_by(|a, b| order(a, b).is_le()) {
        // The key is total, so an unstable sort is deterministic.
        at.par_sort_unstable_by(|a, b| order(a.0, b.0));
    }
    at.into_iter().map(|(_, k)| k).collect()
}

/// The order of one host's events in the store: time, then the evidence location. Used to pack
/// a file's events and to merge the files' runs, so both agree.
pub(crate) fn order_key(
    ts: chrono::DateTime<chrono::Utc>,
    file: &str,
    record_id: Option<u64>,
    line: Option<u64>,
) -> impl Ord + '_ {
    (ts, file, record_id, line)
}
