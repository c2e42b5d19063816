//! Which files of the followed folders to read, and when. The folders are walked again every
//! `poll` (what works everywhere, network shares included); the platform's notifications
//! (inotify, `FSEvents`, `ReadDirectoryChangesW` through the `notify` crate) wake the walk early
//! and say which files appeared by a rename. A file is taken when it is new or changed and has
//! settled: it appeared by a rename (written elsewhere, then moved in whole), or its size and
//! time have not changed for `settle`; a file that keeps growing (a log shipper's JSON lines) is
//! taken at least every `max_wait` as it is, and read again when it grows. A file read with
//! problems (damaged, or cut off mid-write) is read once more after `settle`.

use crate::ingest::{Planned, plan_all};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant, SystemTime};

/// When files are taken.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a file's size and time must stay the same before it is read.
    pub settle: Duration,
    /// How often the folders are walked again.
    pub poll: Duration,
    /// A file still changing after this long is read as it is (and again when it changes).
    pub max_wait: Duration,
    /// Walk only, without the platform's notifications (network shares, where they do not
    /// reach).
    pub poll_only: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            settle: Duration::from_millis(500),
            poll: Duration::from_millis(250),
            max_wait: Duration::from_secs(10),
            poll_only: false,
        }
    }
}

/// A file's size and modification time: a change of either is a change of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
    })
}

/// A file seen changed and not yet taken.
#[derive(Debug, Clone, Copy)]
struct Pending {
    stamp: Stamp,
    /// Since when it has had this stamp.
    since: Instant,
    /// Since when it has been waiting (changing all along).
    first: Instant,
}

/// The followed folders and what of them was taken.
pub struct Follow {
    roots: Vec<PathBuf>,
    settings: Settings,
    taken: HashMap<PathBuf, Stamp>,
    pending: HashMap<PathBuf, Pending>,
    renamed: HashSet<PathBuf>,
    /// Files to read once more (read with problems), and when.
    retry: HashMap<PathBuf, Instant>,
    retried: HashSet<PathBuf>,
    /// What in the folders is not read (links, devices, unreadable folders), as last walked.
    pub ignored: Vec<String>,
    events: Option<(
        notify::RecommendedWatcher,
        Receiver<notify::Result<notify::Event>>,
    )>,
    /// Why the platform's notifications are not used, when they are not.
    pub polling_because: Option<String>,
}

impl Follow {
    pub fn new(roots: Vec<PathBuf>, settings: Settings) -> Self {
        let (events, polling_because) = if settings.poll_only {
            (None, Some("--poll asked for".to_string()))
        } else {
            match notifications(&roots) {
                Ok(w) => (Some(w), None),
                Err(e) => (None, Some(e)),
            }
        };
        Follow {
            roots,
            settings,
            taken: HashMap::new(),
            pending: HashMap::new(),
            renamed: HashSet::new(),
            retry: HashMap::new(),
            retried: HashSet::new(),
            ignored: Vec::new(),
            events,
            polling_because,
        }
    }

    /// How the folders are watched, for the status line.
    pub fn how(&self) -> String {
        match &self.polling_because {
            None => format!(
                "notified, walked every {} ms",
                self.settings.poll.as_millis()
            ),
            Some(why) => format!("walked every {} ms ({why})", self.settings.poll.as_millis()),
        }
    }

    /// The files to read now, waiting up to `wait` for some (empty: none settled in time).
    pub fn ready(&mut self, wait: Duration) -> Vec<Planned> {
        let deadline = Instant::now() + wait;
        loop {
            let now = Instant::now();
            let found = self.walk(now);
            if !found.is_empty() || now >= deadline {
                return found;
            }
            let nap = self.settings.poll.min(deadline - now);
            self.sleep(nap);
        }
    }

    /// Files read with problems: read them once more when they have had time to settle.
    pub fn retry_later(&mut self, paths: &[PathBuf]) {
        let at = Instant::now() + self.settings.settle;
        for p in paths {
            if self.retried.insert(p.clone()) {
                self.retry.insert(p.clone(), at);
            }
        }
    }

    /// Waits for a notification or `nap`, noting files that appeared by a rename.
    fn sleep(&mut self, nap: Duration) {
        let Some((_, rx)) = &self.events else {
            std::thread::sleep(nap);
            return;
        };
        let first = match rx.recv_timeout(nap) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => return,
            Err(RecvTimeoutError::Disconnected) => {
                self.events = None;
                self.polling_because = Some("notifications stopped".into());
                return;
            }
        };
        // Let a burst of notifications (a folder copied in) arrive before walking.
        std::thread::sleep(Duration::from_millis(20));
        for e in std::iter::once(first).chain(rx.try_iter()).flatten() {
            use notify::EventKind;
            use notify::event::{ModifyKind, RenameMode};
            let moved_in = matches!(
                e.kind,
                EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
            );
            if moved_in && let Some(to) = e.paths.last() {
                self.renamed.insert(to.clone());
            }
        }
    }

    /// Walks the folders: the files new or changed that have settled.
    fn walk(&mut self, now: Instant) -> Vec<Planned> {
        let (files, ignored) = plan_all(&self.roots);
        self.ignored = ignored;
        let wall = SystemTime::now();
        let mut out = Vec::new();
        for (path, named) in files {
            let Some(st) = stamp(&path) else { continue };
            let due = self.retry.get(&path).is_some_and(|at| now >= *at);
            if self.taken.get(&path) == Some(&st) && !due {
                self.pending.remove(&path);
                continue;
            }
            let p = self.pending.entry(path.clone()).or_insert(Pending {
                stamp: st,
                since: now,
                first: now,
            });
            if p.stamp != st {
                p.stamp = st;
                p.since = now;
            }
            // Untouched for `settle` by the clock of its folder, or seen unchanged that long.
            let old = st
                .modified
                .and_then(|m| wall.duration_since(m).ok())
                .is_some_and(|age| age >= self.settings.settle);
            let settled = old || now.duration_since(p.since) >= self.settings.settle;
            let take = due
                || self.renamed.contains(&path)
                || settled
                || now.duration_since(p.first) >= self.settings.max_wait;
            if take {
                self.pending.remove(&path);
                self.renamed.remove(&path);
                self.retry.remove(&path);
                self.taken.insert(path.clone(), st);
                out.push((path, named));
            }
        }
        out
    }
}

/// The platform's notifications for every root (recursive), or why not.
fn notifications(
    roots: &[PathBuf],
) -> Result<
    (
        notify::RecommendedWatcher,
        Receiver<notify::Result<notify::Event>>,
    ),
    String,
> {
    use notify::Watcher;
    let (tx, rx) = channel();
    let mut w = notify::recommended_watcher(move |e| {
        let _ = tx.send(e);
    })
    .map_err(|e| format!("no notifications: {e}"))?;
    for r in roots {
        let mode = if r.is_dir() {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        w.watch(r, mode)
            .map_err(|e| format!("no notifications for {}: {e}", r.display()))?;
    }
    Ok((w, rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(poll_only: bool) -> Settings {
        Settings {
            settle: Duration::from_millis(150),
            poll: Duration::from_millis(30),
            max_wait: Duration::from_secs(2),
            poll_only,
        }
    }

    #[test]
    fn files_are_taken_once_settled_and_again_when_changed() {
        for poll_only in [true, false] {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let a = dir.path().join("a.jsonl");
            std::fs::write(&a, "{}\n").unwrap_or_else(|e| panic!("{e}"));
            let mut f = Follow::new(vec![dir.path().to_path_buf()], fast(poll_only));
            let first = f.ready(Duration::from_secs(3));
            assert_eq!(first, vec![(a.clone(), false)], "poll only: {poll_only}");
            assert!(f.ready(Duration::from_millis(300)).is_empty(), "taken once");
            std::fs::write(&a, "{}\n{}\n").unwrap_or_else(|e| panic!("{e}"));
            let again = f.ready(Duration::from_secs(3));
            assert_eq!(again, vec![(a.clone(), false)], "changed: read again");
            // A file moved in whole is taken; a retry reads a file once more.
            let b = dir.path().join("b.evtx.part");
            std::fs::write(&b, "x").unwrap_or_else(|e| panic!("{e}"));
            let b2 = dir.path().join("b.jsonl");
            std::fs::rename(&b, &b2).unwrap_or_else(|e| panic!("{e}"));
            let moved = f.ready(Duration::from_secs(3));
            assert!(moved.iter().any(|(p, _)| *p == b2), "{moved:?}");
            f.retry_later(std::slice::from_ref(&b2));
            assert_eq!(f.ready(Duration::from_secs(3)), vec![(b2.clone(), false)]);
            f.retry_later(std::slice::from_ref(&b2));
            assert!(
                f.ready(Duration::from_millis(400)).is_empty(),
                "retried once"
            );
        }
    }
}
