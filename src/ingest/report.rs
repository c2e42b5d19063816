//! What ingest tells the caller about each file: counts of records read, kept and skipped, and
//! every problem with where it happened. The caller decides how to show it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// Where: `chunk 6`, `record 6335011`, `line 12`, or `file`.
    pub at: String,
    pub what: String,
}

/// How often a (channel, event id) was seen for a host, and when.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Seen {
    pub count: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

impl Seen {
    pub fn add(&mut self, ts: Option<DateTime<Utc>>) {
        self.count += 1;
        if let Some(t) = ts {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

/// Host key -> (channel, event id) -> seen: every record parsed, kept or not (for coverage).
pub type SeenMap =
    std::collections::BTreeMap<String, std::collections::BTreeMap<(String, u16), Seen>>;

#[derive(Debug, Clone, Serialize, Default)]
pub struct FileReport {
    pub path: String,
    pub format: String,
    /// Every record parsed, whether or not a detection keeps it.
    pub records_read: u64,
    pub records_kept: u64,
    pub records_skipped: u64,
    pub problems: Vec<Problem>,
    pub hosts: BTreeSet<String>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// How zone-less times in this file were read (`UTC-04:00 (inferred)`), when it had any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naive_time_rule: Option<String>,
    /// What each host logged in this file, for the coverage report.
    #[serde(skip)]
    pub seen: SeenMap,
}

/// At most this many problems are listed per file; the rest are counted in the last entry.
pub const MAX_PROBLEMS_LISTED: usize = 50;

impl FileReport {
    pub fn new(path: &str, format: &str) -> Self {
        FileReport {
            path: path.to_string(),
            format: format.to_string(),
            ..FileReport::default()
        }
    }

    pub fn problem(&mut self, at: impl Into<String>, what: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS_LISTED {
            self.problems.push(Problem {
                at: at.into(),
                what: what.into(),
            });
        } else if self.problems.len() == MAX_PROBLEMS_LISTED {
            self.problems.push(Problem {
                at: "…".into(),
                what: "more problems not listed".into(),
            });
        }
    }

    /// Counts a parsed record (kept or not) for coverage.
    pub fn note(&mut self, host: &str, channel: &str, event_id: u16, ts: Option<DateTime<Utc>>) {
        let key = crate::model::host_key(host);
        let channel = crate::model::Channel::from_name(channel).name().to_string();
        self.seen
            .entry(key)
            .or_default()
            .entry((channel, event_id))
            .or_default()
            .add(ts);
    }

    pub fn saw(&mut self, host: &str, ts: DateTime<Utc>) {
        if !host.is_empty() && !self.hosts.contains(host) {
            self.hosts.insert(host.to_string());
        }
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct IngestReport {
    pub files: Vec<FileReport>,
    /// Records found in more than one place and counted once.
    #[serde(default)]
    pub duplicates_merged: u64,
}

impl IngestReport {
    pub fn records_read(&self) -> u64 {
        self.files.iter().map(|f| f.records_read).sum()
    }
    pub fn records_kept(&self) -> u64 {
        self.files.iter().map(|f| f.records_kept).sum()
    }
    pub fn records_skipped(&self) -> u64 {
        self.files.iter().map(|f| f.records_skipped).sum()
    }
    /// Records that were read whole (parsed, whatever their id), over every file: a file whose
    /// every record is damaged or of an unknown shape gives none.
    pub fn records_usable(&self) -> u64 {
        self.files
            .iter()
            .map(|f| f.records_read.saturating_sub(f.records_skipped))
            .sum()
    }
    pub fn files_with_problems(&self) -> usize {
        self.files.iter().filter(|f| !f.problems.is_empty()).count()
    }
}
