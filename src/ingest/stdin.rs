//! `-` as evidence: standard input (a SIEM export piped in) copied once into a spool file in
//! svchop's cache directory, then read like any file, so the Raw tab can read a record again.
//! Locations say `(stdin)`; the spool is removed when svchop exits (`remove_spool`). The cache
//! directory is svchop's own, never a folder of evidence.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How evidence read from standard input is named in locations, findings and cases.
pub const SHOWN: &str = "(stdin)";

/// The spool of this run (standard input is read once, however often `-` is named).
static SPOOL: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Whether a path given is `-`.
pub fn is_dash(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// svchop's cache directory: `$XDG_CACHE_HOME/svchop`, else `~/.cache/svchop`, else the
/// system's temporary directory.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("svchop")
}

/// The spool file holding standard input, written on the first call.
pub fn spool() -> std::io::Result<PathBuf> {
    let mut held = SPOOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(p) = &*held {
        return Ok(p.clone());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(std::io::Error::other(
            "standard input is a terminal: pipe the evidence in (`cat export.jsonl | svchop scan -`)",
        ));
    }
    let dir = cache_dir();
    std::fs::create_dir_all(&dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = dir.join(format!("stdin-{}-{nanos}.spool", std::process::id()));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    // Recorded before copying, so a failed copy is removed too.
    *held = Some(path.clone());
    std::io::copy(&mut stdin.lock(), &mut out)?;
    Ok(path)
}

/// The spool of this run, if standard input was read.
pub fn spooled() -> Option<PathBuf> {
    SPOOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Whether `path` is this run's spool.
pub fn is_spool(path: &Path) -> bool {
    spooled().is_some_and(|s| s == path)
}

/// The file a location names: the spool for `(stdin)`, the path otherwise.
pub fn file_of(shown: &str) -> PathBuf {
    match spooled() {
        Some(s) if shown == SHOWN => s,
        _ => PathBuf::from(shown),
    }
}

/// Removes the spool (at exit).
pub fn remove_spool() {
    if let Some(p) = SPOOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = std::fs::remove_file(p);
    }
}
