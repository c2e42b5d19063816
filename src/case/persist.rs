//! Case files on disk: loaded with checks (a truncated file, a newer version or a file that is
//! not a case is refused and never overwritten), saved atomically (temporary file in the same
//! folder, fsync, rename), and never placed inside the evidence svchop reads.

use super::{CASE_VERSION, Case};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CaseError {
    #[error("{path}: cannot read the case file: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: the case file is damaged or truncated ({detail}); it was not changed. Restore it or pass another --case"
    )]
    Damaged { path: String, detail: String },
    #[error("{path}: not a svchop case file; it was not changed. Pass another --case")]
    NotACase { path: String },
    #[error(
        "{path}: written by a newer svchop (case version {found}, this build reads {CASE_VERSION}); it was not changed"
    )]
    Newer { path: String, found: u32 },
    #[error(
        "{path}: cannot save the case here ({source}); choose a writable place with --case FILE"
    )]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: the case file would be inside the evidence ({evidence}); svchop never writes there. Choose another place with --case FILE"
    )]
    InEvidence { path: String, evidence: String },
    #[error(
        "{path}: not a case file ({what}); it was not read. Pass a regular file with --case FILE"
    )]
    NotAFile { path: String, what: String },
    #[error(
        "{path}: the case is open in another workbench ({holder}); two workbenches on one case would lose each other's notes and triage. Close it there, or open a copy with --case FILE (if that workbench is gone, delete {lock})"
    )]
    Locked {
        path: String,
        holder: String,
        lock: String,
    },
}

/// The case held by one workbench: `<case>.lock` beside it names the holder (process, host,
/// user, since when); removed when the holder ends. A lock whose process is gone on this host is
/// taken over.
#[derive(Debug)]
pub struct CaseLock {
    lock: PathBuf,
}

impl Drop for CaseLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this host".into())
}

/// Takes the case's lock, or says who holds it.
pub fn lock(path: &Path) -> Result<CaseLock, CaseError> {
    let name = path
        .file_name()
        .map_or_else(|| "case".into(), |n| n.to_string_lossy().into_owned());
    let lock = path.with_file_name(format!("{name}.lock"));
    let host = this_host();
    let user = std::env::var("USER").unwrap_or_else(|_| "?".into());
    let me = format!(
        "pid {} on {host}, user {user}, since {}",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ")
    );
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(mut f) => {
                let _ = f.write_all(me.as_bytes());
                return Ok(CaseLock { lock });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&lock).unwrap_or_default();
                if holder_is_gone(&holder, &host) {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                return Err(CaseError::Locked {
                    path: path.display().to_string(),
                    holder: crate::model::sanitize::for_terminal(holder.trim()).into_owned(),
                    lock: lock.display().to_string(),
                });
            }
            Err(source) => {
                return Err(CaseError::Write {
                    path: lock.display().to_string(),
                    source,
                });
            }
        }
    }
    Err(CaseError::Locked {
        path: path.display().to_string(),
        holder: "another workbench".into(),
        lock: lock.display().to_string(),
    })
}

/// Whether the lock's process is known to be gone: on this host, no such process.
fn holder_is_gone(holder: &str, host: &str) -> bool {
    let mut words = holder.split_whitespace();
    let (Some("pid"), Some(pid), Some("on"), Some(h)) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    let h = h.trim_end_matches(',');
    h == host
        && pid.parse::<u32>().is_ok()
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{pid}")).exists()
}

/// A case file larger than this is not one svchop wrote (a case is notes and marks: kilobytes).
pub const CASE_MAX_BYTES: u64 = 64 << 20;

/// `<name>.svchop-case.json` in the working directory, the name made file-safe.
pub fn default_case_path(name: &str, cwd: &Path) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if name == "-" {
        "stdin".to_string()
    } else if safe.trim_matches(['.', '_']).is_empty() {
        "case".to_string()
    } else {
        safe
    };
    cwd.join(format!("{safe}.svchop-case.json"))
}

/// A case name from the sources: the last component of the first path.
pub fn case_name(paths: &[PathBuf]) -> String {
    paths
        .first()
        .and_then(|p| std::fs::canonicalize(p).ok().or_else(|| Some(p.clone())))
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "case".into())
}

/// The canonical form of a path that may not exist yet: its longest existing ancestor
/// canonicalized (symlinks and `..` resolved), with the missing rest appended.
fn absolute(p: &Path) -> PathBuf {
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
    };
    let mut missing = Vec::new();
    let mut cur = full.as_path();
    loop {
        if let Ok(c) = std::fs::canonicalize(cur) {
            let mut out = c;
            for part in missing.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                cur = parent;
            }
            // `..` or the root: nothing left to resolve.
            _ => return full,
        }
    }
}

/// Refuses a case path inside a folder of evidence (or equal to an evidence file).
pub fn check_not_in_evidence(case_path: &Path, sources: &[PathBuf]) -> Result<(), CaseError> {
    match evidence_holding(case_path, sources) {
        Some(s) => Err(CaseError::InEvidence {
            path: case_path.display().to_string(),
            evidence: s.display().to_string(),
        }),
        None => Ok(()),
    }
}

/// The evidence path (folder or file) that `path` would be inside of, equal to, or beside (in
/// the folder of an evidence file: `cd EVIDENCE; svchop open FILE` must not write there), if any.
pub fn evidence_holding<'a>(path: &Path, sources: &'a [PathBuf]) -> Option<&'a PathBuf> {
    let abs = absolute(path);
    // Standard input (`-`) is a stream, not a place on disk.
    let on_disk = |s: &&PathBuf| !crate::ingest::stdin::is_dash(s);
    sources.iter().filter(on_disk).find(|s| {
        let ev = absolute(s);
        if ev.is_dir() {
            abs.starts_with(&ev)
        } else {
            abs == ev || ev.parent().is_some_and(|folder| abs.starts_with(folder))
        }
    })
}

/// Removes temporary files a killed save left beside the case (`.<name>.tmp-<pid>`).
fn clean_stale_temps(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    let own = format!("{prefix}{}", std::process::id());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix) && n != own {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Loads a case; `Ok(None)` when there is no file yet. Leftovers of interrupted saves are removed.
pub fn load(path: &Path) -> Result<Option<Case>, CaseError> {
    clean_stale_temps(path);
    let shown = path.display().to_string();
    // A FIFO would block forever and /dev/zero never ends: only regular files of a sane size.
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(CaseError::NotAFile {
                path: shown,
                what: "a folder, FIFO or device".into(),
            });
        }
        Ok(m) if m.len() > CASE_MAX_BYTES => {
            return Err(CaseError::NotAFile {
                path: shown,
                what: format!("{} bytes, over {CASE_MAX_BYTES}", m.len()),
            });
        }
        _ => {}
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CaseError::Read {
                path: shown,
                source,
            });
        }
    };
    parse(&text, &shown).map(Some)
}

/// A case from its text, with the same checks as `load` (`shown` names it in errors).
pub fn parse(text: &str, shown: &str) -> Result<Case, CaseError> {
    let shown = shown.to_string();
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| CaseError::Damaged {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    let Some(version) = value.get("svchop_case").and_then(serde_json::Value::as_u64) else {
        return Err(CaseError::NotACase { path: shown });
    };
    let version = u32::try_from(version).unwrap_or(u32::MAX);
    if version > CASE_VERSION {
        return Err(CaseError::Newer {
            path: shown,
            found: version,
        });
    }
    serde_json::from_value(value).map_err(|e| CaseError::Damaged {
        path: shown,
        detail: e.to_string(),
    })
}

/// Saves atomically: a crash leaves either the old file or the new one, never a mix.
pub fn save(path: &Path, case: &Case) -> Result<(), CaseError> {
    let shown = path.display().to_string();
    let werr = |source| CaseError::Write {
        path: shown.clone(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "case".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // The case carries values copied from events (allow-list patterns): escaped as every sink.
    let text = crate::model::sanitize::for_json(
        serde_json::to_string_pretty(case).map_err(|e| werr(std::io::Error::other(e)))?,
    );
    let mut f = std::fs::File::create(&tmp).map_err(werr)?;
    let written = f
        .write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written {
        // A full disk must not leave a half-written temporary file behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        werr(e)
    })?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Whether the case's folder accepts files (checked before the analyst starts working).
pub fn check_writable(path: &Path) -> Result<(), CaseError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".svchop-write-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(source) => Err(CaseError::Write {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::CaseSources;

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.svchop-case.json");
        let mut c = Case::new(
            "c",
            CaseSources {
                paths: vec!["x".into()],
                profile: "default".into(),
                allowlist_files: vec![],
                demo: None,
            },
        );
        c.set_note("F-1", "looks bad\nreally");
        c.cycle_step("F-1", "contain-target");
        save(&p, &c).unwrap();
        assert_eq!(load(&p).unwrap(), Some(c));
        assert!(
            std::fs::read_dir(dir.path()).unwrap().count() == 1,
            "no temporary file left behind"
        );
    }

    #[test]
    fn refuses_damaged_foreign_and_newer_files_without_touching_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, "{\"svchop_case\": 1, \"name\": \"c\", \"sour").unwrap();
        assert!(matches!(load(&p), Err(CaseError::Damaged { .. })));
        std::fs::write(&p, "{\"hello\": 1}").unwrap();
        assert!(matches!(load(&p), Err(CaseError::NotACase { .. })));
        std::fs::write(&p, "{\"svchop_case\": 99}").unwrap();
        assert!(matches!(load(&p), Err(CaseError::Newer { found: 99, .. })));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"svchop_case\": 99}"
        );
        assert_eq!(load(&dir.path().join("none.json")).unwrap(), None);
    }

    #[test]
    fn case_inside_evidence_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ev = dir.path().join("evidence");
        std::fs::create_dir(&ev).unwrap();
        assert!(
            check_not_in_evidence(&ev.join("x.svchop-case.json"), std::slice::from_ref(&ev))
                .is_err()
        );
        assert!(check_not_in_evidence(&dir.path().join("x.svchop-case.json"), &[ev]).is_ok());
    }

    #[test]
    fn default_names_are_file_safe() {
        let p = default_case_path("dev corpus/../x", Path::new("/tmp"));
        assert_eq!(p, Path::new("/tmp/dev_corpus_.._x.svchop-case.json"));
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn one_workbench_holds_a_case_and_a_gone_holder_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let case = dir.path().join("c.svchop-case.json");
        let held = lock(&case).unwrap();
        let err = lock(&case).unwrap_err().to_string();
        assert!(
            err.contains("open in another workbench")
                && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        let again = lock(&case).unwrap();
        drop(again);
        // A lock left by a process that is gone on this host is taken over.
        let stale = case.with_file_name("c.svchop-case.json.lock");
        std::fs::write(
            &stale,
            format!("pid 4294967295 on {}, user x, since then", this_host()),
        )
        .unwrap();
        assert!(lock(&case).is_ok());
        // One from another host is not (its process cannot be checked from here).
        std::fs::write(&stale, "pid 1 on some-other-host, user x, since then").unwrap();
        assert!(lock(&case).is_err());
    }
}
