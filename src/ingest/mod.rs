//! Reading evidence: files and folders of EVTX and JSON exports, sniffed by content, parsed in
//! parallel, normalized into `Event`s. Returns the events and an `IngestReport`; never prints and
//! never writes anything (evidence is read-only).

pub mod evtx;
pub mod evtxjson;
pub mod fieldmap;
pub mod json;
pub mod kept;
pub mod report;
pub mod shapes;
pub mod xmldata;

use crate::model::Event;
use crate::model::pack::{self, PackedEvents};
use chrono::TimeDelta;
use rayon::prelude::*;
pub use report::{FileReport, IngestReport, Problem};
pub use shapes::Shape;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to read and how.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Force one JSON record shape instead of sniffing each record.
    pub forced_shape: Option<Shape>,
    /// Keep each kept record's text for the detail pane.
    pub keep_raw: bool,
    /// Read zone-less times at this offset instead of inferring it.
    pub assume_offset: Option<TimeDelta>,
    /// `load_packed`: keep only what the detections read (typed fields and the logged record
    /// id), for a scan that prints findings and never shows events.
    pub typed_only: bool,
}

/// Events sorted by (host key, time) and the per-file report.
#[derive(Debug, Default)]
pub struct Loaded {
    pub events: Vec<Event>,
    pub report: IngestReport,
    /// Files inside folders that were neither EVTX nor JSON.
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Evtx,
    Json,
    Other,
}

fn sniff(path: &Path) -> std::io::Result<Kind> {
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; 4096];
    let n = f.read(&mut head)?;
    let head = &head[..n];
    if head.starts_with(b"ElfFile\0") {
        return Ok(Kind::Evtx);
    }
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    Ok(if t.starts_with('{') || t.starts_with('[') {
        Kind::Json
    } else {
        Kind::Other
    })
}

/// One file to read, and whether it was named on the command line (a named file that is neither
/// EVTX nor JSON is reported; one found in a folder is listed as ignored).
pub type Planned = (PathBuf, bool);

/// Expands folders (recursively, sorted) into files; named files are kept as given.
pub fn plan(paths: &[PathBuf]) -> Vec<Planned> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found);
            found.sort();
            out.extend(found.into_iter().map(|f| (f, false)));
        } else {
            out.push((p.clone(), true));
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

enum FileResult {
    Read(Vec<Event>, FileReport),
    Ignored(String),
}

fn read_one(path: &Path, named: bool, opts: &LoadOptions) -> FileResult {
    match collected(|sink| read_one_into(path, named, opts, sink)) {
        (events, Ok(rep)) => FileResult::Read(events, rep),
        (_, Err(ignored)) => FileResult::Ignored(ignored),
    }
}

/// Runs a reader that hands its events to a sink, and keeps them.
pub(crate) fn collected<R>(read: impl FnOnce(&mut dyn FnMut(Event)) -> R) -> (Vec<Event>, R) {
    let mut events = Vec::new();
    let r = read(&mut |e| events.push(e));
    (events, r)
}

/// Reads one file, handing each kept event to `sink`: its report, or the path when the file was
/// found in a folder and is neither EVTX nor JSON (ignored).
fn read_one_into(
    path: &Path,
    named: bool,
    opts: &LoadOptions,
    sink: &mut dyn FnMut(Event),
) -> Result<FileReport, String> {
    let shown: Arc<str> = Arc::from(path.display().to_string().as_str());
    match sniff(path) {
        Ok(Kind::Evtx) => Ok(evtx::read_evtx_into(path, &shown, opts.keep_raw, sink)),
        Ok(Kind::Json) => {
            let jo = json::JsonOptions {
                forced: opts.forced_shape,
                keep_raw: opts.keep_raw,
                assume_offset: opts.assume_offset,
            };
            Ok(json::read_json_into(path, &shown, jo, sink))
        }
        Ok(Kind::Other) if !named => Err(shown.to_string()),
        Ok(Kind::Other) => {
            let mut rep = FileReport::new(&shown, "unknown");
            rep.problem("file", "neither EVTX nor JSON; skipped");
            Ok(rep)
        }
        Err(e) => {
            let mut rep = FileReport::new(&shown, "unreadable");
            rep.problem("file", format!("cannot read: {e}"));
            Ok(rep)
        }
    }
}

/// Reads every path (files and folders), in parallel across files.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Loaded {
    load_with_progress(paths, opts, &|_, _| {})
}

/// `load`, calling `progress(files_done, files_total)` as files finish (from any thread).
pub fn load_with_progress(
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Loaded {
    let mut loaded = read_files(&plan(paths), opts, progress);
    finish(&mut loaded);
    loaded
}

/// Below this many bytes of evidence, everything loads in one go (the workbench opens at once
/// anyway); above it, the first files are read and scanned alone so the analyst can start.
pub const PARTIAL_MIN_BYTES: u64 = 256 << 20;

/// How many of the planned files to read and show first: about an eighth of the bytes, rounded
/// up to the end of a folder where that stays under half (collections are usually one folder per
/// host, so the hosts shown first are complete). 0 when the evidence is small or a first part
/// would be most of it.
pub fn first_part(files: &[Planned], min_total_bytes: u64) -> usize {
    let sizes: Vec<u64> = files
        .iter()
        .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .collect();
    let total: u64 = sizes.iter().sum();
    if total < min_total_bytes.max(1) {
        return 0;
    }
    let mut k = 0;
    let mut bytes = 0;
    while k < files.len() && bytes < total / 8 {
        bytes += sizes[k];
        k += 1;
    }
    let small_enough = |k: usize| k < files.len() && sizes[..k].iter().sum::<u64>() < total / 2;
    if !small_enough(k) {
        return 0;
    }
    let mut whole = k;
    while whole > 0 && whole < files.len() && files[whole].0.parent() == files[whole - 1].0.parent()
    {
        whole += 1;
    }
    // A flat folder of many hosts' logs has no folder to round to: the byte share stands.
    if small_enough(whole) { whole } else { k }
}

/// Puts events read in parts into store order and merges copies of the same record; what
/// `load` does once every file is read.
pub fn finish(loaded: &mut Loaded) {
    sort_events(&mut loaded.events);
    loaded.report.duplicates_merged += dedupe(&mut loaded.events);
}

impl Loaded {
    /// Adds what another part of the files gave (call `finish` once all parts are in).
    pub fn absorb(&mut self, other: Loaded) {
        self.events.extend(other.events);
        self.report.files.extend(other.report.files);
        self.report.duplicates_merged += other.report.duplicates_merged;
        self.ignored.extend(other.ignored);
    }
}

/// `read` on every planned file, results in plan order, calling `progress(done, total)` as files
/// finish. EVTX files are read one after another from this thread, each parsed chunk-parallel by
/// the evtx crate on the rayon pool (running them inside rayon workers would block the workers
/// the evtx pipeline waits on); everything else is read in parallel across files.
fn each_file<R: Send>(
    files: &[Planned],
    progress: &(dyn Fn(usize, usize) + Sync),
    read: impl Fn(&Path, bool) -> R + Sync,
) -> Vec<R> {
    let total = files.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let run = |p: &Path, named: bool| {
        let r = read(p, named);
        progress(
            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
            total,
        );
        r
    };
    let kinds: Vec<Kind> = files
        .iter()
        .map(|(p, _)| sniff(p).unwrap_or(Kind::Other))
        .collect();
    let mut results: Vec<Option<R>> = files
        .par_iter()
        .zip(kinds.par_iter())
        .map(|((p, named), kind)| (*kind != Kind::Evtx).then(|| run(p, *named)))
        .collect();
    for (slot, (p, named)) in results.iter_mut().zip(files) {
        if slot.is_none() {
            *slot = Some(run(p, *named));
        }
    }
    results.into_iter().flatten().collect()
}

/// Reads planned files in parallel, without sorting or merging copies (see `finish`).
pub fn read_files(
    files: &[Planned],
    opts: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Loaded {
    let results = each_file(files, progress, |p, named| read_one(p, named, opts));
    let mut loaded = Loaded::default();
    let total: usize = results
        .iter()
        .map(|r| {
            if let FileResult::Read(ev, _) = r {
                ev.len()
            } else {
                0
            }
        })
        .sum();
    loaded.events.reserve_exact(total);
    for r in results {
        match r {
            FileResult::Read(ev, rep) => {
                loaded.events.extend(ev);
                loaded.report.files.push(rep);
            }
            FileResult::Ignored(p) => loaded.ignored.push(p),
        }
    }
    loaded
}

/// Events read and packed (see `model::pack`), with the per-file report.
#[derive(Debug, Default)]
pub struct PackedLoad {
    pub events: PackedEvents,
    pub report: IngestReport,
    /// Files inside folders that were neither EVTX nor JSON.
    pub ignored: Vec<String>,
}

/// `load_with_progress` for collections too large to keep as `Event` structs: each file's events
/// are packed as soon as it is read, so memory holds the packed form plus the files being read.
/// The result lists the same events in the same order as `load`.
pub fn load_packed(
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> PackedLoad {
    let shared = std::sync::Mutex::new(std::collections::HashSet::new());
    let results = each_file(&plan(paths), progress, |path, named| {
        let mut batch = Batch::new(opts.typed_only, &shared);
        let r = read_one_into(path, named, opts, &mut |e| batch.push(e));
        batch.flush();
        (batch.chunks, r)
    });
    drop(shared);
    let mut out = PackedLoad::default();
    let mut chunks = Vec::new();
    for (c, r) in results {
        chunks.extend(c);
        match r {
            Ok(rep) => out.report.files.push(rep),
            Err(ignored) => out.ignored.push(ignored),
        }
    }
    let (events, merged) = PackedEvents::new(chunks);
    out.events = events;
    out.report.duplicates_merged += merged;
    out
}

/// Events already in memory packed as `load_packed` packs what it reads (for benchmarks and
/// tests); returns the packed events and how many copies were merged.
pub fn pack_events(events: Vec<Event>, typed_only: bool) -> (PackedEvents, u64) {
    let shared = std::sync::Mutex::new(std::collections::HashSet::new());
    let mut batch = Batch::new(typed_only, &shared);
    for e in events {
        batch.push(e);
    }
    batch.flush();
    PackedEvents::new(batch.chunks)
}

/// Events of one file on their way into chunks: packed every `PACK_BATCH` events, so a file of
/// millions of records never exists as `Event` structs all at once.
struct Batch<'s> {
    typed_only: bool,
    events: Vec<Event>,
    chunks: Vec<pack::Chunk>,
    shared: &'s std::sync::Mutex<std::collections::HashSet<Arc<str>>>,
}

const PACK_BATCH: usize = 1 << 12;

impl<'s> Batch<'s> {
    fn new(
        typed_only: bool,
        shared: &'s std::sync::Mutex<std::collections::HashSet<Arc<str>>>,
    ) -> Self {
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
        sort_events(&mut self.events);
        let first = self.chunks.len();
        let packer = || {
            if self.typed_only {
                pack::Packer::typed_only()
            } else {
                pack::Packer::new()
            }
        };
        let mut p = packer();
        for e in self.events.drain(..) {
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

/// Merges records seen in several files (VSS copies, the same log exported twice): the first
/// location keeps the event, the others are listed in `also_at`. Events must be in store order.
/// Returns how many copies were merged.
pub fn dedupe(events: &mut Vec<Event>) -> u64 {
    // In place (no second copy of the events): `w` is where the next distinct event goes.
    let mut merged = 0;
    let mut w = 0;
    let mut run_start = 0;
    for i in 0..events.len() {
        let (done, rest) = events.split_at_mut(i);
        let e = &mut rest[0];
        if w == 0 || done[w - 1].ts != e.ts || done[w - 1].host.key != e.host.key {
            run_start = w;
        }
        // Only events at the same instant on the same host can be the same record.
        if let Some(first) = done[run_start..w].iter_mut().find(|o| o.same_record(e)) {
            // Copies are rare: a boxed slice (no growth room) costs less on every other event.
            let mut at = std::mem::take(&mut first.also_at).into_vec();
            at.push(e.source.clone());
            first.also_at = at.into_boxed_slice();
            merged += 1;
        } else {
            events.swap(w, i);
            w += 1;
        }
    }
    events.truncate(w);
    merged
}

/// The store order: host key, then time, then source location (deterministic).
pub fn sort_events(events: &mut [Event]) {
    if events.is_sorted_by(|a, b| store_order(a, b).is_le()) {
        return;
    }
    // In place (no merge buffer): the key is total, so an unstable sort is deterministic.
    events.par_sort_unstable_by(store_order);
}

fn store_order(a: &Event, b: &Event) -> std::cmp::Ordering {
    a.host
        .key
        .cmp(&b.host.key)
        .then(a.ts.cmp(&b.ts))
        .then_with(|| a.source.file.cmp(&b.source.file))
        .then(a.source.record_id.cmp(&b.source.record_id))
        .then(a.source.line.cmp(&b.source.line))
}
