//! A finding: one suspected lateral movement onto one target host, every stage linked to the
//! events that prove it, with its score and why. Serialized as svchop's finding schema.

use crate::model::LogonId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" | "med" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" | "crit" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// The stages of the chain, in the order an attack runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The tool run or outbound SMB on the attacking host.
    Source,
    /// Network logon of the attacker on the target.
    Logon,
    /// ADMIN$/C$ access, helper binary written over SMB.
    Share,
    /// `svcctl`/`ntsvcs` or the tool's own pipes.
    Pipe,
    /// Service installed (7045, 4697, registry, Defender).
    Install,
    /// An existing service's binary path changed (`sc config binPath=`, `SCShell`'s
    /// `ChangeServiceConfig`): the install of a modification chain. Not in `ALL`: it fills the
    /// install slot.
    Modify,
    /// Service started, process run by it.
    Exec,
    /// Service stopped, helper deleted, service key deleted.
    Cleanup,
}

impl Stage {
    /// The slot of `ALL` a stage fills (a modification fills the install's).
    #[must_use]
    pub fn slot(self) -> Stage {
        match self {
            Stage::Modify => Stage::Install,
            s => s,
        }
    }

    /// The stages of `ALL` the present ones leave missing.
    pub fn missing(present: &std::collections::BTreeSet<Stage>) -> Vec<Stage> {
        Stage::ALL
            .iter()
            .copied()
            .filter(|s| !present.iter().any(|p| p.slot() == *s))
            .collect()
    }

    pub const ALL: [Stage; 7] = [
        Stage::Source,
        Stage::Logon,
        Stage::Share,
        Stage::Pipe,
        Stage::Install,
        Stage::Exec,
        Stage::Cleanup,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Stage::Source => "source",
            Stage::Logon => "logon",
            Stage::Share => "share",
            Stage::Pipe => "pipe",
            Stage::Install => "install",
            Stage::Modify => "modify",
            Stage::Exec => "exec",
            Stage::Cleanup => "cleanup",
        }
    }
}

/// One event of the chain and how it was linked to the rest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRef {
    pub stage: Stage,
    pub time: DateTime<Utc>,
    pub host: String,
    pub channel: String,
    pub event_id: u16,
    /// `file#record=N` or `file:line`.
    pub evidence: String,
    pub summary: String,
    /// How this event was tied to the chain (`logon id 0x95c2e`, `sid+time (weaker)`, ...).
    pub link: String,
    /// Index in the event store of the run that made the finding (not stable across runs).
    #[serde(skip)]
    pub event_index: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OriginKind {
    Remote,
    Local,
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Origin {
    pub kind: OriginKind,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServiceRef {
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    pub image_path: Option<String>,
    pub account: Option<String>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScorePart {
    pub name: String,
    pub points: i64,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Suppression {
    pub field: String,
    pub pattern: String,
    pub reason: String,
    /// `default`, a file path, or `case` for entries made in the workbench.
    pub origin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Stable for the same evidence: derived from the target and the evidence locations.
    pub id: String,
    pub profile: String,
    pub target_host: String,
    pub target_key: String,
    pub source_hosts: Vec<String>,
    pub source_ips: Vec<String>,
    pub user: Option<String>,
    pub logon_ids: Vec<LogonId>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub severity: Severity,
    pub score: i64,
    pub score_breakdown: Vec<ScorePart>,
    /// Correlation types the chain satisfies (`logon_service_process`, `service_then_process`, ...).
    pub signals: Vec<String>,
    pub services: Vec<ServiceRef>,
    pub processes: Vec<String>,
    pub tools: Vec<String>,
    pub origin: Origin,
    pub stages: Vec<StageRef>,
    pub missing_stages: Vec<Stage>,
    pub techniques: Vec<Technique>,
    pub recommendation: String,
    pub suppressed_by: Option<Suppression>,
    /// Events that would have joined a stage already holding the most a finding lists (64):
    /// counted, not listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stages_omitted: u64,
    /// The campaign this finding is (a host's mass deployment) or belongs to (a source's moves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Campaign>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // Why: serde's skip_serializing_if passes a reference.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Finding {
    pub fn is_suppressed(&self) -> bool {
        self.suppressed_by.is_some()
    }

    pub fn service_label(&self) -> String {
        let names: Vec<&str> = self
            .services
            .iter()
            .filter_map(|s| s.name.as_deref())
            .collect();
        if names.is_empty() {
            "-".into()
        } else {
            names.join(",")
        }
    }

    /// Deterministic order: score desc, target, first time, id.
    pub fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
        b.score
            .cmp(&a.score)
            .then_with(|| a.target_key.cmp(&b.target_key))
            .then(a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.id.cmp(&b.id))
    }
}

/// What a campaign is, on a finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Campaign {
    /// `C-` and 12 hex digits: the same for every finding of one campaign.
    pub id: String,
    pub kind: CampaignKind,
    /// Services (mass install, time-outs) or target hosts (source).
    pub count: usize,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// What the names carry: decoded payload, or the form of random names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    pub summary: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CampaignKind {
    /// Many services installed on one host by one account within minutes.
    MassInstall,
    /// Many start time-outs (7000/7009) of random-named services on one host.
    StartTimeouts,
    /// One source moving to many targets.
    Source,
}
