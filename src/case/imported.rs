//! Findings made elsewhere (the Spark job from `svchop rules export --to spark`, or `svchop scan
//! --format json|jsonl` on another machine), read back for triage in the workbench: a JSON lines
//! file, a JSON array, or a folder of Spark part files. Each stage is tied again to its event in
//! the loaded evidence by its evidence location; a stage whose event was not loaded keeps what
//! the finding says of it.

use crate::detect::finding::Finding;
use crate::ingest::{FileReport, IngestReport};
use crate::model::host_key;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// What reading the findings gave.
#[derive(Debug, Default)]
pub struct Imported {
    pub findings: Vec<Finding>,
    pub report: IngestReport,
}

/// Largest findings file read (a finding is a few KB; this is millions of them).
const MAX_BYTES: u64 = 4 << 30;

fn files_of(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            p.is_file()
                && !name.starts_with('.')
                && !name.starts_with('_')
                && (name.starts_with("part-")
                    || p.extension().is_some_and(|x| {
                        ["jsonl", "json", "txt"]
                            .iter()
                            .any(|e| x.eq_ignore_ascii_case(e))
                    }))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Reads findings from `path`; lines that are not findings are skipped and reported.
pub fn read(path: &Path) -> anyhow::Result<Imported> {
    use anyhow::Context;
    let mut out = Imported::default();
    let files = files_of(path).with_context(|| format!("cannot read {}", path.display()))?;
    if files.is_empty() {
        anyhow::bail!("{} holds no findings files", path.display());
    }
    for f in files {
        let mut rep = FileReport::new(&f.display().to_string(), "svchop findings");
        let size = std::fs::metadata(&f).map_or(0, |m| m.len());
        if size > MAX_BYTES {
            rep.problem(
                "file",
                format!("{size} bytes: larger than {MAX_BYTES}, not read"),
            );
            out.report.files.push(rep);
            continue;
        }
        let text = match std::fs::read(&f) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                rep.problem("file", e.to_string());
                out.report.files.push(rep);
                continue;
            }
        };
        if text.trim_start().starts_with('[') {
            match serde_json::from_str::<Vec<Finding>>(&text) {
                Ok(v) => {
                    rep.records_read = v.len() as u64;
                    rep.records_kept = v.len() as u64;
                    out.findings.extend(v);
                }
                Err(e) => {
                    rep.records_read = 1;
                    rep.records_skipped = 1;
                    rep.problem("file", format!("not a JSON array of findings: {e}"));
                }
            }
        } else {
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                rep.records_read += 1;
                match serde_json::from_str::<Finding>(line) {
                    Ok(fi) => {
                        rep.records_kept += 1;
                        out.findings.push(fi);
                    }
                    Err(e) => {
                        rep.records_skipped += 1;
                        rep.problem(format!("line {}", n + 1), format!("not a finding: {e}"));
                    }
                }
            }
        }
        out.report.files.push(rep);
    }
    let mut seen = std::collections::HashSet::new();
    out.findings.retain(|f| seen.insert(f.id.clone()));
    Ok(out)
}

/// Host keys a finding involves: its target and every host its stages name.
pub fn hosts_involved(findings: &[Finding]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in findings {
        out.insert(f.target_key.clone());
        for s in &f.stages {
            out.insert(host_key(&s.host));
        }
    }
    out
}

/// Ties each stage to its event in `store` by evidence location (the first place or any copy).
/// A stage whose event is not loaded gets an index past the store (distinct per stage) so the
/// workbench shows it from the finding's own text. Returns how many stages were tied.
pub fn resolve(findings: &mut [Finding], store: &crate::store::Store) -> usize {
    let mut at: HashMap<String, usize> = HashMap::new();
    for (i, e) in (0..store.len()).filter_map(|i| Some((i, store.get(i)?))) {
        at.entry(e.source.to_string()).or_insert(i);
        for a in &e.also_at {
            at.entry(a.to_string()).or_insert(i);
        }
    }
    let mut tied = 0;
    for f in findings {
        for (k, s) in f.stages.iter_mut().enumerate() {
            match at.get(&s.evidence) {
                Some(&i) => {
                    s.event_index = i;
                    tied += 1;
                }
                None => s.event_index = usize::MAX - k,
            }
        }
    }
    tied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_counted_and_good_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.jsonl");
        std::fs::write(&f, "{\"not\": \"a finding\"}\n\nnot json\n").unwrap();
        let r = read(&f).unwrap();
        assert!(r.findings.is_empty());
        assert_eq!(r.report.records_skipped(), 2);
        assert_eq!(r.report.files[0].problems[0].at, "line 1");
    }

    #[test]
    fn a_spark_output_folder_reads_its_part_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("_SUCCESS"), "").unwrap();
        std::fs::write(d.join(".part-00000.txt.crc"), "junk").unwrap();
        std::fs::write(d.join("part-00000-abc.txt"), "not a finding\n").unwrap();
        std::fs::write(d.join("part-00001-abc.txt"), "").unwrap();
        let r = read(d).unwrap();
        assert_eq!(r.report.files.len(), 2);
        assert_eq!(r.report.records_read(), 1);
        assert_eq!(r.report.records_skipped(), 1);
    }

    #[test]
    fn an_empty_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).is_err());
    }
}
