//! Reading evidence: files and folders of EVTX and JSON exports, sniffed by content, parsed in
//! parallel, normalized into `Event`s handed to a sink (the store packs them as they come), with
//! an `IngestReport` per file. Never prints and never writes anything (evidence is read-only).

pub mod archive;
pub mod evtx;
pub mod evtxecmd;
pub mod evtxjson;
pub mod evtxjsonfast;
pub mod evtxml;
pub mod evtxpeek;
pub mod fieldmap;
pub mod json;
pub mod jsonscan;
pub mod kept;
pub mod report;
pub mod shapes;
pub mod stdin;
pub mod table;
pub mod utf16;
pub mod xmldata;

use crate::model::Event;
use chrono::TimeDelta;
use rayon::prelude::*;
pub use report::{FileReport, IngestReport};
pub use shapes::Shape;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to read and how.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Force one JSON record shape instead of sniffing each record.
    pub forced_shape: Option<Shape>,
    /// Read zone-less times at this offset instead of inferring it.
    pub assume_offset: Option<TimeDelta>,
    /// Keep only what the detections read (typed fields and the logged record id), for a scan
    /// that prints findings and never shows events.
    pub typed_only: bool,
    /// Keep only the events of these hosts (by host key), e.g. the hosts imported findings
    /// involve.
    pub only_hosts: Option<std::collections::BTreeSet<String>>,
    /// Read every record the reference way: EVTX records rendered (not read from their
    /// templates), JSON records parsed as a whole value (not read by the `evtx_dump` fast
    /// path). Slower; the paths-agree tests check that the fast readers give the same events.
    pub reference_readers: bool,
    /// How archives are read (limits, password).
    pub archive: archive::ArchiveOptions,
}

impl LoadOptions {
    /// How the JSON reader reads (the same for a file, an archive member or UTF-16 text).
    fn json(&self) -> json::JsonOptions {
        json::JsonOptions {
            forced: self.forced_shape,
            assume_offset: self.assume_offset,
            whole_values: self.reference_readers,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Evtx,
    Json,
    /// Rows of svchop's own normalized table.
    Table,
    /// The manifest of a normalized table (its parts are read).
    TableManifest,
    /// Windows Event XML (`wevtutil`, Event Viewer, `ToXml()`).
    Xml,
    /// UTF-16 text (a byte-order mark) holding JSON, XML or a table: read through `utf16`.
    Utf16 {
        big_endian: bool,
    },
    /// A zip, tar, gzip or 7z archive: its members are read.
    Archive(archive::Format),
    Other,
    /// A FIFO, socket, device or folder: never opened.
    NotAFile,
}

pub(crate) fn sniff(path: &Path) -> std::io::Result<Kind> {
    // Opening a FIFO blocks until a writer comes: look only at regular files.
    if !std::fs::metadata(path)?.is_file() {
        return Ok(Kind::NotAFile);
    }
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; 4096];
    let n = f.read(&mut head)?;
    Ok(kind_of(&head[..n]))
}

/// What a file's first bytes (up to 4 KiB) show it to be.
pub(crate) fn kind_of(head: &[u8]) -> Kind {
    if head.starts_with(b"ElfFile\0") {
        return Kind::Evtx;
    }
    if let Some(format) = archive::Format::of(head) {
        return Kind::Archive(format);
    }
    if let Some(big_endian) = utf16::bom(head) {
        let text = utf16::head_as_utf8(head, big_endian);
        return match kind_of(text.as_bytes()) {
            Kind::Json | Kind::Xml | Kind::Table => Kind::Utf16 { big_endian },
            _ => Kind::Other,
        };
    }
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') && table::looks_like_row(t) {
        Kind::Table
    } else if t.starts_with('{') && table::looks_like_manifest(t) {
        Kind::TableManifest
    } else if t.starts_with('{') || t.starts_with('[') {
        Kind::Json
    } else if evtxml::looks_like_xml(t) {
        Kind::Xml
    } else if evtxecmd::looks_like_csv(t) {
        // Read by the JSON reader, row by row (`json::read_csv`).
        Kind::Json
    } else {
        Kind::Other
    }
}

/// One file to read, and whether it was named on the command line (a named file that is neither
/// EVTX nor JSON is reported; one found in a folder is listed as ignored).
pub type Planned = (PathBuf, bool);

/// Expands folders (recursively, sorted) into files; named files are kept as given.
#[cfg(any(test, feature = "bench"))]
pub fn plan(paths: &[PathBuf]) -> Vec<Planned> {
    plan_all(paths).0
}

/// `plan`, and what inside the folders was not read, said so it can be counted: links (not
/// followed: they may lead out of the evidence or loop), unreadable folders, FIFOs and devices.
pub fn plan_all(paths: &[PathBuf]) -> (Vec<Planned>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        if stdin::is_dash(p) {
            match stdin::spool() {
                Ok(spool) => out.push((spool, true)),
                Err(e) => skipped.push(format!("{} (standard input not read: {e})", stdin::SHOWN)),
            }
        } else if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found, &mut skipped);
            found.sort();
            out.extend(found.into_iter().map(|f| (f, false)));
        } else {
            out.push((p.clone(), true));
        }
    }
    skipped.sort();
    (out, skipped)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, skipped: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            skipped.push(format!("{} (folder not readable: {e})", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out, skipped),
            Ok(t) if t.is_file() => out.push(path),
            Ok(t) if t.is_symlink() => {
                skipped.push(format!("{} (a link, not followed)", path.display()));
            }
            _ => skipped.push(format!("{} (not a regular file)", path.display())),
        }
    }
}

/// Runs a reader that hands its events to a sink, and keeps them.
#[cfg(any(test, feature = "bench"))]
pub(crate) fn collected<R>(read: impl FnOnce(&mut dyn FnMut(Event)) -> R) -> (Vec<Event>, R) {
    let mut events = Vec::new();
    let r = read(&mut |e| events.push(e));
    (events, r)
}

/// Reads one file, an archive's members too, handing each kept event to `sink`: a report per file
/// or member, or its location when it was found in a folder or an archive and is neither EVTX nor
/// JSON (ignored). An archive has a report of its own only when something in it was refused or
/// could not be read.
pub fn read_path_into(
    path: &Path,
    named: bool,
    opts: &LoadOptions,
    sink: &mut dyn FnMut(Event),
) -> Vec<Result<FileReport, String>> {
    let Ok(Kind::Archive(format)) = sniff(path) else {
        return vec![read_one_into(path, named, opts, sink)];
    };
    let shown = path.display().to_string();
    let mut out = Vec::new();
    let walked = archive::walk_file(path, &shown, format, &opts.archive, &mut |at, bytes| {
        out.push(read_bytes_into(bytes, at, opts, sink));
    });
    out.extend(walked.ignored.into_iter().map(Err));
    let own = walked.report;
    let members = out.iter().filter(|r| r.is_ok()).count();
    if !own.problems.is_empty() || members == 0 {
        let mut own = own;
        if members == 0 && own.problems.is_empty() {
            own.problem("archive", "no EVTX or JSON member in it");
        }
        out.insert(0, Ok(own));
    }
    out
}

/// An archive member (in memory) read as a file of it is read.
fn read_bytes_into(
    bytes: &[u8],
    at: &str,
    opts: &LoadOptions,
    sink: &mut dyn FnMut(Event),
) -> Result<FileReport, String> {
    let shown: Arc<str> = Arc::from(at);
    let head = &bytes[..bytes.len().min(4096)];
    match kind_of(head) {
        Kind::Evtx => Ok(evtx::read_evtx_in_memory(
            bytes,
            &shown,
            opts.reference_readers,
            sink,
        )),
        Kind::Json => {
            let jo = opts.json();
            Ok(json::read_json_from_into(
                std::io::Cursor::new(bytes),
                &shown,
                jo,
                sink,
            ))
        }
        Kind::Table => Ok(table::read_rows_into(
            std::io::Cursor::new(bytes),
            &shown,
            sink,
        )),
        Kind::TableManifest => Ok(FileReport::new(&shown, "svchop table manifest")),
        Kind::Xml => Ok(evtxml::read_xml_into(
            std::io::Cursor::new(bytes),
            &shown,
            sink,
        )),
        Kind::Utf16 { big_endian } => Ok(read_text_into(
            utf16::Utf16::new(bytes, big_endian),
            &shown,
            opts,
            sink,
        )),
        // Archives in archives are walked by `archive`; the rest is ignored, as in a folder.
        Kind::Archive(_) | Kind::Other | Kind::NotAFile => Err(shown.to_string()),
    }
}

/// The report `read` gives on the opened file, or one saying it could not be opened.
fn opened(
    path: &Path,
    shown: &str,
    format: &str,
    read: impl FnOnce(std::fs::File) -> FileReport,
) -> FileReport {
    match std::fs::File::open(path) {
        Ok(f) => read(f),
        Err(e) => {
            let mut rep = FileReport::new(shown, format);
            rep.problem("file", format!("cannot open: {e}"));
            rep
        }
    }
}

/// Text evidence from a transcoding reader (UTF-16 read as UTF-8), sniffed and read as a file
/// of that text is.
fn read_text_into<R: Read>(
    text: R,
    shown: &Arc<str>,
    opts: &LoadOptions,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, text);
    let head = reader.fill_buf().map(|b| b[..b.len().min(4096)].to_vec());
    let mut report = match head.as_deref().map(kind_of) {
        Ok(Kind::Json) => json::read_json_from_into(reader, shown, opts.json(), sink),
        Ok(Kind::Xml) => evtxml::read_xml_into(reader, shown, sink),
        Ok(Kind::Table) => table::read_rows_into(reader, shown, sink),
        Ok(_) => {
            let mut rep = FileReport::new(shown, "utf-16");
            rep.problem(
                "file",
                "UTF-16 text that is neither JSON nor Event XML; skipped",
            );
            rep
        }
        Err(e) => {
            let mut rep = FileReport::new(shown, "utf-16");
            rep.problem("file", format!("cannot read: {e}"));
            rep
        }
    };
    report.format = format!("{} (utf-16)", report.format);
    report
}

/// Reads one file, handing each kept event to `sink`: its report, or the path when the file was
/// found in a folder and is neither EVTX nor JSON (ignored).
pub fn read_one_into(
    path: &Path,
    named: bool,
    opts: &LoadOptions,
    sink: &mut dyn FnMut(Event),
) -> Result<FileReport, String> {
    let shown: Arc<str> = if stdin::is_spool(path) {
        Arc::from(stdin::SHOWN)
    } else {
        Arc::from(path.display().to_string().as_str())
    };
    match sniff(path) {
        // A FIFO or device (`/dev/stdin`, a named pipe) would block or never end: files only.
        Ok(Kind::NotAFile) => {
            let mut rep = FileReport::new(&shown, "not a file");
            rep.problem(
                "file",
                "not a regular file (a FIFO, socket or device); save the stream to a file and give that",
            );
            Ok(rep)
        }
        Ok(Kind::Evtx) if opts.reference_readers => {
            Ok(evtx::read_evtx_rendered(path, &shown, sink))
        }
        Ok(Kind::Evtx) => Ok(evtx::read_evtx_into(path, &shown, sink)),
        Ok(Kind::Json) => {
            let jo = opts.json();
            Ok(json::read_json_into(path, &shown, jo, sink))
        }
        Ok(Kind::Utf16 { big_endian }) => Ok(opened(path, &shown, "utf-16", |f| {
            read_text_into(utf16::Utf16::new(f, big_endian), &shown, opts, sink)
        })),
        Ok(Kind::Xml) => Ok(opened(path, &shown, "xml", |f| {
            evtxml::read_xml_into(std::io::BufReader::with_capacity(1 << 20, f), &shown, sink)
        })),
        Ok(Kind::Table) => Ok(opened(path, &shown, "svchop table", |f| {
            table::read_rows_into(std::io::BufReader::with_capacity(1 << 20, f), &shown, sink)
        })),
        // Its parts are the table: nothing to read here.
        Ok(Kind::TableManifest) => Ok(FileReport::new(&shown, "svchop table manifest")),
        Ok(Kind::Archive(format)) => {
            let mut rep = FileReport::new(&shown, format.name());
            rep.problem("file", "an archive: read through read_path_into");
            Ok(rep)
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

/// `read` on every planned file, results in plan order, calling `progress(done, total)` as files
/// finish. Large EVTX files (over `evtx::SMALL_EVTX_BYTES`) are read one after another from this
/// thread, each parsed chunk-parallel by the evtx crate (inside rayon workers that pipeline would
/// block the workers it waits on); small EVTX files (parsed on one thread) and everything else
/// are read in parallel across files.
pub fn each_file<R: Send>(
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
    // Whether a file is a large EVTX file, read alone.
    let large: Vec<bool> = files
        .iter()
        .map(|(p, _)| {
            sniff(p).is_ok_and(|k| k == Kind::Evtx)
                && std::fs::metadata(p).is_ok_and(|m| m.len() > evtx::SMALL_EVTX_BYTES)
        })
        .collect();
    let mut results: Vec<Option<R>> = files
        .par_iter()
        .zip(large.par_iter())
        .map(|((p, named), large)| (!*large).then(|| run(p, *named)))
        .collect();
    for (slot, (p, named)) in results.iter_mut().zip(files) {
        if slot.is_none() {
            *slot = Some(run(p, *named));
        }
    }
    results.into_iter().flatten().collect()
}
