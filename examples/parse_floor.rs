//! The parse floor svchop's speed is measured against: the same evtx crate and `serde_json`,
//! parsing the same inputs on the same threads and dropping the result. EVTX: every record of
//! every file built into a `serde_json::Value` (files across a rayon pool of `--threads`, each
//! file on one thread, as svchop reads small files; a file over 4 MiB chunk-parallel alone);
//! JSON lines: every line parsed into a `Value`, lines across the pool. Prints records parsed.
//!
//! ```sh
//! cargo run --release --example parse_floor -- [--threads N] PATH...
//! ```

use evtx::{EvtxParser, ParserSettings};
use rayon::prelude::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};

fn walk(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            walk(&e, out);
        }
    } else if p.is_file() {
        out.push(p.to_path_buf());
    }
}

fn evtx_records(path: &Path, threads: usize) -> usize {
    let Ok(parser) = EvtxParser::from_path(path) else {
        return 0;
    };
    let mut parser = parser.with_configuration(ParserSettings::new().num_threads(threads));
    parser
        .records_json_value()
        .filter(|r| r.as_ref().is_ok_and(|r| !r.data.is_null()))
        .count()
}

fn json_records(path: &Path) -> usize {
    let Ok(f) = std::fs::File::open(path) else {
        return 0;
    };
    let lines: Vec<String> = std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .collect();
    lines
        .par_iter()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        .count()
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = std::thread::available_parallelism().map_or(2, usize::from);
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        threads = args
            .get(i + 1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(threads);
        args.drain(i..(i + 2).min(args.len()));
    }
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    let mut files = Vec::new();
    for a in &args {
        walk(Path::new(a), &mut files);
    }
    let is_evtx = |p: &Path| {
        std::fs::File::open(p)
            .and_then(|mut f| {
                let mut magic = [0u8; 7];
                std::io::Read::read_exact(&mut f, &mut magic).map(|()| &magic == b"ElfFile")
            })
            .unwrap_or(false)
    };
    let large = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() > 4 << 20);
    let (big, small): (Vec<&PathBuf>, Vec<&PathBuf>) =
        files.iter().partition(|p| is_evtx(p) && large(p));
    let mut n: usize = small
        .par_iter()
        .map(|p| if is_evtx(p) { evtx_records(p, 1) } else { 0 })
        .sum();
    n += big.iter().map(|p| evtx_records(p, threads)).sum::<usize>();
    n += small
        .iter()
        .filter(|p| !is_evtx(p))
        .map(|p| json_records(p))
        .sum::<usize>();
    println!("{n} records");
}
