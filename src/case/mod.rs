//! The analyst's case: allow-list decisions, triage marks and notes, saved at once to a case file
//! (atomically), and the report exports. Pure apart from `persist`, which only writes the case
//! file and exports, never the evidence.

pub mod imported;
pub mod persist;
pub mod playbook;

use crate::detect::allowlist::{AllowEntry, AllowSpec, Allowlist};
use crate::detect::finding::Finding;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The case file format version this build writes and reads.
pub const CASE_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    #[default]
    Todo,
    Done,
    NotApplicable,
}

impl StepState {
    #[must_use]
    pub fn next(self) -> Self {
        match self {
            StepState::Todo => StepState::Done,
            StepState::Done => StepState::NotApplicable,
            StepState::NotApplicable => StepState::Todo,
        }
    }

    pub fn mark(self) -> &'static str {
        match self {
            StepState::Todo => "[ ]",
            StepState::Done => "[x]",
            StepState::NotApplicable => "[-]",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepMark {
    pub state: StepState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// An allow-list entry the analyst made, with when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAllow {
    #[serde(flatten)]
    pub spec: AllowSpec,
    pub added: DateTime<Utc>,
}

/// How the sources were read and detected, so the case reopens to the same findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSources {
    pub paths: Vec<String>,
    /// The built-in demo case the case was made on, with the options that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<crate::demo::DemoOptions>,
    pub profile: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist_files: Vec<String>,
}

impl CaseSources {
    /// The built-in demo the case was made on, if it was: as recorded, or (cases of earlier
    /// releases, which named it as the path `demo:`) made with the default options.
    pub fn demo_options(&self) -> Option<crate::demo::DemoOptions> {
        self.demo.clone().or_else(|| {
            self.paths
                .iter()
                .any(|p| p == LEGACY_DEMO_PATH)
                .then(crate::demo::DemoOptions::default)
        })
    }
}

/// How cases of earlier releases named the built-in demo among their paths.
const LEGACY_DEMO_PATH: &str = "demo:";

/// A finding's notes and triage saved under an earlier id (`from`), and its id now (`to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMove {
    pub from: String,
    pub to: String,
}

// The field names are the case file's format.
#[allow(clippy::struct_field_names)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Marks the file as a svchop case (a JSON file without it is refused).
    pub svchop_case: u32,
    pub name: String,
    pub sources: CaseSources,
    #[serde(default)]
    pub allowlist: Vec<CaseAllow>,
    /// Finding id -> step id -> mark.
    #[serde(default)]
    pub triage: BTreeMap<String, BTreeMap<String, StepMark>>,
    /// Finding id -> note.
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
    #[serde(default)]
    pub case_note: String,
    /// Finding id -> the events the analyst marked on it (`m`), in time order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub marks: BTreeMap<String, Vec<MarkedEvent>>,
    pub updated: DateTime<Utc>,
}

/// An event the analyst marked on a finding: what it is and where it is in the evidence, kept
/// in the case so the report carries it without the evidence at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkedEvent {
    pub time: DateTime<Utc>,
    pub host: String,
    pub event_id: u16,
    pub channel: String,
    pub summary: String,
    /// The file and record (or line) the event was read from.
    pub evidence: String,
    pub marked: DateTime<Utc>,
}

impl MarkedEvent {
    /// The event a mark stands for, read from the store.
    pub fn of(e: &crate::model::Event) -> Self {
        MarkedEvent {
            time: e.ts,
            host: e.host.display.to_string(),
            event_id: e.event_id,
            channel: e.channel.name().to_string(),
            summary: crate::model::describe::summary(e),
            evidence: e.source.to_string(),
            marked: Utc::now(),
        }
    }

    /// Whether the mark stands for the event read from `evidence` at `time` with this id.
    pub fn stands_for(&self, evidence: &str, time: DateTime<Utc>, event_id: u16) -> bool {
        self.evidence == evidence && self.time == time && self.event_id == event_id
    }

    /// Whether two marks stand for the same event (where it was read, when, which id).
    pub fn same_event(&self, other: &MarkedEvent) -> bool {
        self.stands_for(&other.evidence, other.time, other.event_id)
    }
}

impl Case {
    pub fn new(name: &str, sources: CaseSources) -> Self {
        Case {
            svchop_case: CASE_VERSION,
            name: name.to_string(),
            sources,
            allowlist: Vec::new(),
            triage: BTreeMap::new(),
            notes: BTreeMap::new(),
            case_note: String::new(),
            marks: BTreeMap::new(),
            updated: Utc::now(),
        }
    }

    /// The analyst's entries as an allow-list (origin `case`); entries that do not compile are skipped.
    pub fn allowlist(&self) -> Allowlist {
        Allowlist {
            entries: self
                .allowlist
                .iter()
                .filter_map(|a| AllowEntry::new(a.spec.clone(), "case").ok())
                .collect(),
        }
    }

    /// Notes and triage saved under the ids earlier releases gave (which changed with the
    /// spelling of the evidence path), and the ids of these findings they belong to now.
    pub fn id_moves(&self, findings: &[Finding]) -> Vec<IdMove> {
        if self.notes.is_empty() && self.triage.is_empty() && self.marks.is_empty() {
            return Vec::new();
        }
        findings
            .iter()
            .filter_map(|f| {
                let legacy = crate::detect::assemble::legacy_finding_id(&f.target_key, &f.stages);
                let held = |id: &String| {
                    self.notes.contains_key(id)
                        || self.triage.contains_key(id)
                        || self.marks.contains_key(id)
                };
                (legacy != f.id && held(&legacy)).then(|| IdMove {
                    from: legacy,
                    to: f.id.clone(),
                })
            })
            .collect()
    }

    /// Moves notes and triage to the findings' ids now (`id_moves`); what a finding already
    /// holds under its id now stays. Returns how many findings gained something.
    pub fn move_ids(&mut self, moves: &[IdMove]) -> usize {
        let mut gained = 0;
        for m in moves {
            let mut any = false;
            if !self.notes.contains_key(&m.to)
                && let Some(n) = self.notes.remove(&m.from)
            {
                self.notes.insert(m.to.clone(), n);
                any = true;
            }
            if !self.triage.contains_key(&m.to)
                && let Some(t) = self.triage.remove(&m.from)
            {
                self.triage.insert(m.to.clone(), t);
                any = true;
            }
            if !self.marks.contains_key(&m.to)
                && let Some(t) = self.marks.remove(&m.from)
            {
                self.marks.insert(m.to.clone(), t);
                any = true;
            }
            gained += usize::from(any);
        }
        gained
    }

    pub fn add_allow(&mut self, spec: AllowSpec) {
        if !self.allowlist.iter().any(|a| a.spec == spec) {
            self.allowlist.push(CaseAllow {
                spec,
                added: Utc::now(),
            });
        }
    }

    pub fn remove_allow(&mut self, index: usize) -> Option<CaseAllow> {
        (index < self.allowlist.len()).then(|| self.allowlist.remove(index))
    }

    pub fn mark(&self, finding: &str, step: &str) -> StepMark {
        self.triage
            .get(finding)
            .and_then(|m| m.get(step))
            .cloned()
            .unwrap_or_default()
    }

    pub fn cycle_step(&mut self, finding: &str, step: &str) {
        let m = self
            .triage
            .entry(finding.to_string())
            .or_default()
            .entry(step.to_string())
            .or_default();
        m.state = m.state.next();
    }

    pub fn set_step_note(&mut self, finding: &str, step: &str, note: &str) {
        self.triage
            .entry(finding.to_string())
            .or_default()
            .entry(step.to_string())
            .or_default()
            .note = note.to_string();
    }

    /// (steps done or not applicable, total) for a finding.
    pub fn progress(&self, finding: &str, total: usize) -> (usize, usize) {
        let done = self.triage.get(finding).map_or(0, |m| {
            m.values().filter(|s| s.state != StepState::Todo).count()
        });
        (done.min(total), total)
    }

    pub fn note(&self, finding: &str) -> &str {
        self.notes.get(finding).map_or("", String::as_str)
    }

    /// The events marked on a finding, in time order.
    pub fn marks(&self, finding: &str) -> &[MarkedEvent] {
        self.marks.get(finding).map_or(&[], Vec::as_slice)
    }

    /// Marks the event on the finding, or takes the mark off when it is there; `true` when the
    /// event is marked now.
    pub fn toggle_mark(&mut self, finding: &str, mark: MarkedEvent) -> bool {
        let list = self.marks.entry(finding.to_string()).or_default();
        let on = if let Some(i) = list.iter().position(|m| m.same_event(&mark)) {
            list.remove(i);
            false
        } else {
            let at = list.partition_point(|m| m.time <= mark.time);
            list.insert(at, mark);
            true
        };
        if list.is_empty() {
            self.marks.remove(finding);
        }
        on
    }

    /// Whether this event is marked on the finding.
    pub fn is_marked(&self, finding: &str, e: &crate::model::Event) -> bool {
        let list = self.marks(finding);
        !list.is_empty() && {
            let evidence = e.source.to_string();
            list.iter()
                .any(|m| m.stands_for(&evidence, e.ts, e.event_id))
        }
    }

    pub fn set_note(&mut self, finding: &str, text: &str) {
        if text.trim().is_empty() {
            self.notes.remove(finding);
        } else {
            self.notes.insert(finding.to_string(), text.to_string());
        }
    }

    /// Re-marks suppression on findings (the built-in/file allow-list, then the case's own)
    /// and puts them in the case's order: findings that stand first, by score
    /// (`Finding::order`), then the suppressed ones. Every view of a case (workbench, export)
    /// orders findings here.
    pub fn apply(&self, base: &Allowlist, findings: &mut [Finding]) {
        let mut all = base.clone();
        all.extend(self.allowlist());
        all.apply(findings);
        findings.sort_by(|a, b| {
            a.is_suppressed()
                .cmp(&b.is_suppressed())
                .then_with(|| Finding::order(a, b))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::allowlist::AllowField;

    #[test]
    fn steps_cycle_and_count() {
        let mut c = Case::new("t", CaseSources::default());
        c.cycle_step("F-1", "a");
        c.cycle_step("F-1", "b");
        c.cycle_step("F-1", "b");
        assert_eq!(c.mark("F-1", "a").state, StepState::Done);
        assert_eq!(c.mark("F-1", "b").state, StepState::NotApplicable);
        assert_eq!(c.progress("F-1", 5), (2, 5));
        c.cycle_step("F-1", "b");
        assert_eq!(c.progress("F-1", 5), (1, 5));
    }

    #[test]
    fn allow_entries_dedupe_and_remove() {
        let mut c = Case::new("t", CaseSources::default());
        let spec = AllowSpec {
            field: AllowField::ServiceName,
            pattern: "X".into(),
            reason: "r".into(),
            literal: false,
            and: Vec::new(),
        };
        c.add_allow(spec.clone());
        c.add_allow(spec);
        assert_eq!(c.allowlist.len(), 1);
        assert!(c.remove_allow(0).is_some());
        assert!(c.remove_allow(0).is_none());
    }

    #[test]
    fn notes_and_triage_under_an_earlier_id_follow_the_finding() {
        let mut c = Case::new("t", CaseSources::default());
        c.set_note("F-old", "seen before");
        c.cycle_step("F-old", "contain-target");
        let e = crate::detect::testkit::ev("WS01", 0, crate::model::Channel::System, 7045)
            .service("x", "%COMSPEC% /c whoami")
            .user_sid("S-1-5-21-1-2-3-1001")
            .done();
        let det = crate::detect::Detector::builtin("default").unwrap();
        let mut f = det
            .scan(&crate::detect::testkit::store(vec![e]), true)
            .0
            .remove(0);
        let old = crate::detect::assemble::legacy_finding_id(&f.target_key, &f.stages);
        let note = c.notes.remove("F-old").unwrap_or_default();
        c.notes.insert(old.clone(), note);
        let marks = c.triage.remove("F-old").unwrap_or_default();
        c.triage.insert(old, marks);
        f.id = "F-new".into();
        let moves = c.id_moves(std::slice::from_ref(&f));
        assert_eq!(c.move_ids(&moves), 1);
        assert_eq!(c.note("F-new"), "seen before");
        assert_eq!(c.mark("F-new", "contain-target").state, StepState::Done);
        assert_eq!(c.note("F-old"), "");
        let moves = c.id_moves(&[f]);
        assert_eq!(c.move_ids(&moves), 0, "once");
    }
}
