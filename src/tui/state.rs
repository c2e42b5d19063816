//! Workbench state: the investigation (events and findings, read-only after loading), the case
//! (the analyst's decisions), and `UiState` (focus, selections, open views). Panes own nothing.

use crate::case::Case;
use crate::case::playbook::Playbook;
use crate::detect::allowlist::Allowlist;
use crate::detect::finding::{Finding, Severity};
use crate::pivot::PivotField;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::investigation::Investigation;

/// What a finder value is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FinderKind {
    Host,
    User,
    Service,
    Ip,
}

impl FinderKind {
    pub fn label(&self) -> &'static str {
        match self {
            FinderKind::Host => "host",
            FinderKind::User => "user",
            FinderKind::Service => "service",
            FinderKind::Ip => "ip",
        }
    }
}

/// One row of the Targets pane.
#[derive(Debug, Clone)]
pub struct TargetRow {
    pub key: String,
    pub display: String,
    pub top_score: i64,
    pub severity: Severity,
    pub findings: Vec<usize>,
    pub last: DateTime<Utc>,
    pub all_suppressed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Targets,
    Timeline,
    Inspector,
}

pub use super::action::InspectorTab;

/// One pivot: a field and the value followed, with its results.
#[derive(Debug, Clone)]
pub struct Pivot {
    pub field: PivotField,
    pub value: String,
    /// Finding indices, then event indices: the rows shown (what the filter lets through).
    pub findings: Vec<usize>,
    pub events: Vec<usize>,
    /// Every finding and event of the pivot, whatever the filter.
    pub all_findings: Vec<usize>,
    pub all_events: Vec<usize>,
    pub sel: usize,
}

/// Where the analyst is: what `Esc` (back) returns to. Selections are kept by host key and
/// finding id, so a place survives the lists changing (allow-list, filter, loading).
#[derive(Debug, Clone)]
pub struct Place {
    pub focus: Pane,
    pub target: Option<String>,
    pub finding: Option<String>,
    pub timeline_sel: usize,
    pub all_events: bool,
    pub tab: InspectorTab,
    pub inspector_scroll: usize,
    pub triage_sel: usize,
    pub pivots: Vec<Pivot>,
    /// The hops view was open, on this row.
    pub hops: Option<usize>,
}

/// How many places back (and forward) the workbench remembers.
pub const HISTORY: usize = 100;

/// Pushes a place onto a history stack, forgetting the oldest past `HISTORY`.
pub fn push_place(stack: &mut Vec<Place>, p: Place) {
    stack.push(p);
    if stack.len() > HISTORY {
        stack.remove(0);
    }
}

pub use super::editor::{EditTarget, Editor};

/// The allow-list editor: which field of the selected finding, its value, and a reason.
#[derive(Debug, Clone)]
pub struct AllowDraft {
    pub field: usize,
    pub values: Vec<String>,
    pub reason: String,
    /// `Esc` was pressed once on a typed reason: a second one discards it.
    pub confirm_discard: bool,
}

#[derive(Debug, Clone)]
pub enum Modal {
    Help {
        scroll: usize,
    },
    /// `hits`: indices into `AppState::finder_values`, best first (computed as the query changes).
    Finder {
        query: String,
        sel: usize,
        hits: Vec<usize>,
    },
    Hops {
        sel: usize,
    },
    AllowEdit(AllowDraft),
    AllowList {
        sel: usize,
        /// `d` was pressed once on the selected entry: a second `d` removes it.
        confirm_remove: bool,
    },
    Edit(Editor),
}

/// The workbench shows the findings of the first files while the others load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    /// Files the shown findings come from.
    pub files_shown: usize,
    pub files_done: usize,
    pub files_total: usize,
    /// The step running once every file is read (correlating, indexing).
    pub phase: Option<String>,
}

impl Partial {
    /// The status-bar banner.
    pub fn banner(&self) -> String {
        match &self.phase {
            Some(p) => format!(
                "PARTIAL: findings of {}/{} files; {p}",
                self.files_shown, self.files_total
            ),
            None => format!(
                "PARTIAL: findings of {}/{} files; reading {}/{}",
                self.files_shown, self.files_total, self.files_done, self.files_total
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Loading {
    Running {
        files_done: usize,
        files_total: usize,
    },
    /// Files read; the named step is running.
    Working(String),
    Failed(String),
    Done,
}

#[derive(Debug, Clone)]
pub struct UiState {
    pub focus: Pane,
    pub target_sel: usize,
    pub finding_sel: usize,
    pub timeline_sel: usize,
    pub all_events: bool,
    pub tab: InspectorTab,
    pub inspector_scroll: usize,
    pub triage_sel: usize,
    pub show_suppressed: bool,
    pub pivots: Vec<Pivot>,
    pub modal: Option<Modal>,
    pub status: String,
    pub width: u16,
    pub height: u16,
    pub loading: Loading,
    /// Findings shown while the rest of the evidence is still loading.
    pub partial: Option<Partial>,
    pub quit: bool,
    /// Zone times are shown in, and the one given on the command line (`z` cycles).
    pub zone: crate::model::time::DisplayZone,
    pub configured_zone: crate::model::time::DisplayZone,
    /// Places to go back to (`Esc`, ctrl-o) and forward to again (ctrl-n), newest last.
    pub back: Vec<Place>,
    pub forward: Vec<Place>,
    /// The analyst's filter over Targets, the Timeline and pivots (`f`; `F` clears it).
    pub filter: Option<crate::filter::Filter>,
    /// How far the Timeline's and pivots' rows are scrolled sideways (`<` / `>`).
    pub hscroll: usize,
    /// The record text read last for the Raw tab: the event's store index, and the text or why
    /// it could not be read (read by an effect; drawing never reads a file).
    pub record: Option<(usize, Result<String, String>)>,
    /// Rows read into a triage step taller than the pane (`j` past its bottom).
    pub triage_offset: usize,
    /// A followed collection (`open --follow`): what was read last, or is being read.
    pub live: Option<String>,
    /// Findings new or changed since the analyst last looked at them (followed collections).
    pub fresh: std::collections::BTreeMap<String, crate::live::changes::Kind>,
    /// What `/` searches for (`n` / `N` move to its next and previous match).
    pub search: Option<String>,
    /// The Inspector's line the search stopped at last.
    pub search_line: usize,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            focus: Pane::Targets,
            target_sel: 0,
            finding_sel: 0,
            timeline_sel: 0,
            all_events: false,
            tab: InspectorTab::Detail,
            inspector_scroll: 0,
            triage_sel: 0,
            show_suppressed: false,
            pivots: Vec::new(),
            modal: None,
            status: String::new(),
            width: 80,
            height: 24,
            loading: Loading::Running {
                files_done: 0,
                files_total: 0,
            },
            partial: None,
            quit: false,
            zone: crate::model::time::DisplayZone::Utc,
            configured_zone: crate::model::time::DisplayZone::Utc,
            back: Vec::new(),
            forward: Vec::new(),
            filter: None,
            hscroll: 0,
            triage_offset: 0,
            live: None,
            fresh: std::collections::BTreeMap::new(),
            record: None,
            search: None,
            search_line: 0,
        }
    }
}

/// Where the case lives and what it started from.
#[derive(Debug, Clone)]
pub struct CaseHandle {
    pub case: Case,
    pub path: PathBuf,
    /// Built-in and file allow-lists (the case's own entries come on top).
    pub base_allowlist: Allowlist,
    /// What became of the analyst's changes: whether any was made, and the error of the last
    /// save when it failed (the last change is then not on disk).
    pub saves: Saves,
}

/// The analyst's changes and the last save's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saves {
    pub changed: bool,
    pub failed: Option<String>,
}

pub struct AppState {
    pub data: Option<Investigation>,
    pub case: CaseHandle,
    pub playbook: Playbook,
    pub ui: UiState,
    pub targets: Vec<TargetRow>,
    /// Hosts left out of `targets` because the allow-list covers all their findings (`S` shows
    /// them).
    pub hidden_targets: usize,
    pub keymap: super::keymap::Keymap,
    /// What the finder offers (hosts, users, services, IPs), built once per load.
    pub finder_values: Vec<(FinderKind, String)>,
    /// Per finding index: whether the filter lets it through (empty: no filter).
    pub filter_pass: Vec<bool>,
    /// The events fall in more than one year: pivot and hops rows show it.
    pub spans_years: bool,
}

impl AppState {
    pub fn new(case: CaseHandle, playbook: Playbook, keymap: super::keymap::Keymap) -> Self {
        AppState {
            data: None,
            case,
            playbook,
            ui: UiState::default(),
            targets: Vec::new(),
            hidden_targets: 0,
            keymap,
            finder_values: Vec::new(),
            filter_pass: Vec::new(),
            spans_years: false,
        }
    }

    /// How pivot and hops rows show a time: with the year when the events span years.
    pub fn row_time_format(&self) -> &'static str {
        if self.spans_years {
            "%Y-%m-%d %H:%M:%S"
        } else {
            "%m-%d %H:%M:%S"
        }
    }

    /// Where the analyst is now.
    pub fn place(&self) -> Place {
        Place {
            focus: self.ui.focus,
            target: self.target().map(|t| t.key.clone()),
            finding: self.finding().map(|f| f.id.clone()),
            timeline_sel: self.ui.timeline_sel,
            all_events: self.ui.all_events,
            tab: self.ui.tab,
            inspector_scroll: self.ui.inspector_scroll,
            triage_sel: self.ui.triage_sel,
            pivots: self.ui.pivots.clone(),
            hops: match self.ui.modal {
                Some(Modal::Hops { sel }) => Some(sel),
                _ => None,
            },
        }
    }

    /// Remembers where the analyst is before a jump (a new jump forgets the way forward).
    pub fn remember(&mut self) {
        let here = self.place();
        push_place(&mut self.ui.back, here);
        self.ui.forward.clear();
    }

    /// Goes to a remembered place (the host and finding by key and id, where they still are).
    pub fn go_to(&mut self, p: Place) {
        self.ui.pivots = p.pivots;
        self.ui.all_events = p.all_events;
        self.refilter_pivots();
        // The lists are as they were (a change to them re-ranks them itself): find the host and
        // finding again without recomputing them; only when they are gone, rebuild.
        if !self.select(p.target.as_deref(), p.finding.as_deref()) {
            self.refresh_keeping(p.target, p.finding);
        }
        self.ui.focus = p.focus;
        self.ui.tab = p.tab;
        self.ui.inspector_scroll = p.inspector_scroll;
        self.ui.triage_sel = p.triage_sel;
        self.ui.timeline_sel = p.timeline_sel;
        self.ui.modal = p.hops.map(|sel| Modal::Hops { sel });
    }

    /// Selects a host (by key) and its finding (by id) in the current lists; `false` when the
    /// host is not listed.
    fn select(&mut self, target: Option<&str>, finding: Option<&str>) -> bool {
        let Some(ti) = target.and_then(|k| self.targets.iter().position(|t| t.key == k)) else {
            return target.is_none();
        };
        self.ui.target_sel = ti;
        let findings = self.data.as_ref().map(|d| &d.findings);
        if let (Some(id), Some(all)) = (finding, findings)
            && let Some(fi) = self.targets[ti]
                .findings
                .iter()
                .position(|&i| all.get(i).is_some_and(|f| f.id == id))
        {
            self.ui.finding_sel = fi;
        }
        true
    }

    /// Selects host row `i` of Targets: another host starts at its first finding, the top of
    /// its timeline and triage walk.
    pub fn select_target_row(&mut self, i: usize) {
        if i != self.ui.target_sel {
            self.ui.target_sel = i;
            self.ui.finding_sel = 0;
            self.ui.timeline_sel = 0;
            self.ui.triage_sel = 0;
            self.ui.triage_offset = 0;
        }
    }

    /// Whether the filter lets finding `i` through.
    pub fn passes(&self, i: usize) -> bool {
        self.filter_pass.get(i).copied().unwrap_or(true)
    }

    /// Whether an event passes the filter's time bounds and free words.
    pub fn event_passes(&self, i: usize) -> bool {
        match (&self.ui.filter, self.data.as_ref()) {
            (Some(f), Some(data)) if f.filters_events() => {
                data.store.get(i).is_some_and(|e| f.matches_event(&e))
            }
            _ => true,
        }
    }

    /// The pivots' rows again, through the current filter.
    pub fn refilter_pivots(&mut self) {
        let mut pivots = std::mem::take(&mut self.ui.pivots);
        for p in &mut pivots {
            p.findings = p
                .all_findings
                .iter()
                .copied()
                .filter(|&i| self.passes(i))
                .collect();
            p.events = p
                .all_events
                .iter()
                .copied()
                .filter(|&i| self.event_passes(i))
                .collect();
            p.sel = p
                .sel
                .min((p.findings.len() + p.events.len()).saturating_sub(1));
        }
        self.ui.pivots = pivots;
    }

    /// Sets (or clears) the filter and applies it everywhere.
    pub fn set_filter(&mut self, filter: Option<crate::filter::Filter>) {
        self.ui.filter = filter.filter(|f| !f.is_empty());
        self.refresh();
        self.refilter_pivots();
        self.ui.timeline_sel = 0;
    }

    /// Recomputes suppression (case allow-list) and the Targets ranking.
    pub fn refresh(&mut self) {
        let keep_target = self.target().map(|t| t.key.clone());
        let keep_finding = self.finding().map(|f| f.id.clone());
        self.refresh_keeping(keep_target, keep_finding);
    }

    /// `refresh`, then select this host and finding again where they still exist.
    pub fn refresh_keeping(&mut self, keep_target: Option<String>, keep_finding: Option<String>) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        self.case
            .case
            .apply(&self.case.base_allowlist, &mut data.findings);
        self.filter_pass = match &self.ui.filter {
            Some(f) => data
                .findings
                .iter()
                .map(|x| f.matches_finding(x, &|i| data.store.get(i)))
                .collect(),
            None => Vec::new(),
        };
        let only_suppressed = self
            .ui
            .filter
            .as_ref()
            .is_some_and(|f| f.suppressed == crate::filter::Suppressed::Only);
        // A host the allow-list now covers whole leaves the list at once (the selection moves
        // to the host ranked next); `S` lists it again, with every finding.
        self.targets = targets(
            &data.findings,
            &self.filter_pass,
            self.ui.show_suppressed || only_suppressed,
        );
        self.hidden_targets = if self.ui.show_suppressed {
            0
        } else {
            hidden_targets(&data.findings, &self.filter_pass)
        };
        // Stay on the host and finding the analyst was looking at.
        if let Some(i) = keep_target.and_then(|k| self.targets.iter().position(|t| t.key == k)) {
            self.ui.target_sel = i;
            let findings = &data.findings;
            if let Some(j) = keep_finding.and_then(|id| {
                self.targets[i]
                    .findings
                    .iter()
                    .position(|&fi| findings[fi].id == id)
            }) {
                self.ui.finding_sel = j;
            }
        }
        let n = self.targets.len();
        self.ui.target_sel = self.ui.target_sel.min(n.saturating_sub(1));
        let m = self.target().map_or(0, |t| t.findings.len());
        self.ui.finding_sel = self.ui.finding_sel.min(m.saturating_sub(1));
    }

    pub fn target(&self) -> Option<&TargetRow> {
        self.targets.get(self.ui.target_sel)
    }

    pub fn finding(&self) -> Option<&Finding> {
        let idx = *self.target()?.findings.get(self.ui.finding_sel)?;
        self.data.as_ref()?.findings.get(idx)
    }

    /// Rows of the timeline: (event index, is a stage of the finding, stage label).
    pub fn timeline_rows(&self) -> Vec<(usize, Option<crate::detect::Stage>, String)> {
        let (Some(f), Some(data)) = (self.finding(), self.data.as_ref()) else {
            return Vec::new();
        };
        let stage_of = |i: usize| f.stages.iter().find(|s| s.event_index == i);
        if !self.ui.all_events {
            return f
                .stages
                .iter()
                .filter(|s| self.event_passes(s.event_index))
                .map(|s| (s.event_index, Some(s.stage), s.link.clone()))
                .collect();
        }
        let margin = chrono::TimeDelta::try_minutes(5).unwrap_or_default();
        let from = f.first_seen - margin;
        let to = f.last_seen + margin;
        let mut rows: Vec<(usize, Option<crate::detect::Stage>, String)> = data
            .store
            .host_between(&f.target_key, from, to)
            .map(|i| match stage_of(i) {
                Some(s) => (i, Some(s.stage), s.link.clone()),
                None => (i, None, String::new()),
            })
            .collect();
        for s in &f.stages {
            if !rows.iter().any(|r| r.0 == s.event_index) {
                rows.push((s.event_index, Some(s.stage), s.link.clone()));
            }
        }
        rows.sort_by_key(|r| data.store.time(r.0));
        rows.retain(|r| self.event_passes(r.0));
        rows
    }

    /// The selected event, decoded from the store.
    pub fn selected_event_ref(&self) -> Option<crate::model::Event> {
        self.data.as_ref()?.store.get(self.selected_event()?)
    }

    /// The event under the cursor: the pivot's selection when a pivot is open, else the timeline's.
    pub fn selected_event(&self) -> Option<usize> {
        if let Some(p) = self.ui.pivots.last()
            && p.sel >= p.findings.len()
        {
            return p.events.get(p.sel - p.findings.len()).copied();
        }
        self.timeline_rows().get(self.ui.timeline_sel).map(|r| r.0)
    }
}

/// Hosts whose every finding the allow-list covers.
pub fn hidden_targets(findings: &[Finding], pass: &[bool]) -> usize {
    let mut active: BTreeMap<&str, bool> = BTreeMap::new();
    let passes = |i: usize| pass.get(i).copied().unwrap_or(true);
    for (_, f) in findings.iter().enumerate().filter(|(i, _)| passes(*i)) {
        *active.entry(f.target_key.as_str()).or_default() |= !f.is_suppressed();
    }
    active.values().filter(|a| !**a).count()
}

/// The target rows: hosts with a finding the allow-list leaves visible, ranked by their best;
/// with `show_suppressed`, every host and every finding (fully allow-listed hosts last, `~`).
/// `pass` (per finding; empty: all) is the analyst's filter: what it leaves out is not listed.
pub fn targets(findings: &[Finding], pass: &[bool], show_suppressed: bool) -> Vec<TargetRow> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let passes = |i: usize| pass.get(i).copied().unwrap_or(true);
    for (i, f) in findings.iter().enumerate().filter(|(i, _)| passes(*i)) {
        groups.entry(f.target_key.as_str()).or_default().push(i);
    }
    let mut rows: Vec<TargetRow> = groups
        .into_iter()
        .map(|(key, all)| {
            let active: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&i| !findings[i].is_suppressed())
                .collect();
            let all_suppressed = active.is_empty();
            let shown = if show_suppressed || all_suppressed {
                all
            } else {
                active.clone()
            };
            let ranked = if all_suppressed { &shown } else { &active };
            let top = ranked.iter().map(|&i| &findings[i]).max_by_key(|f| f.score);
            TargetRow {
                key: key.to_string(),
                display: findings[shown[0]].target_host.clone(),
                top_score: top.map_or(0, |f| f.score),
                severity: top.map_or(Severity::Low, |f| f.severity),
                last: shown
                    .iter()
                    .map(|&i| findings[i].last_seen)
                    .max()
                    .unwrap_or_default(),
                findings: shown,
                all_suppressed,
            }
        })
        .filter(|r| show_suppressed || !r.all_suppressed)
        .collect();
    rows.sort_by(|a, b| {
        a.all_suppressed
            .cmp(&b.all_suppressed)
            .then(b.top_score.cmp(&a.top_score))
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}
