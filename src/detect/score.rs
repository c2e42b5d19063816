//! Scoring with the Sentinel rule's weights (`assets/scoring.toml`): base by distinct correlation
//! types, service, tool and process bonuses, then the profile's origin rule. Every part says why.

use super::finding::{OriginKind, ScorePart, ServiceRef, Severity, Technique};
use super::profile::Origin;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Base {
    pub three_or_more: i64,
    pub two: i64,
    pub one: i64,
    pub none: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceWeights {
    pub suspicious: i64,
    pub many: i64,
    pub other: i64,
    pub suspicious_patterns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ToolWeights {
    pub known: i64,
    pub any: i64,
    pub none: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProcessWeights {
    pub powershell: i64,
    pub cmd: i64,
    pub other: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Thresholds {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Recommendation {
    pub critical: String,
    pub high: String,
    pub medium: String,
    pub low: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Weights {
    pub base: Base,
    pub service: ServiceWeights,
    pub tool: ToolWeights,
    pub process: ProcessWeights,
    pub severity: Thresholds,
    pub recommendation: Recommendation,
    pub technique: Vec<Technique>,
    #[serde(default)]
    pub campaign: CampaignRule,
}

/// The highest score a finding reads.
pub const MAX_SCORE: i64 = 100;

/// What the score is computed from.
pub struct ScoreInput<'a> {
    pub signals: &'a [super::signal::Signal],
    pub services: &'a [ServiceRef],
    pub known_tool: bool,
    pub tools: &'a [String],
    pub processes: &'a [String],
    /// The executable of each process the chain ran (its Image, not its command line text).
    pub process_images: &'a [String],
    pub origin: OriginKind,
    pub rule: &'a Origin,
    pub extras: Vec<ScorePart>,
    /// Attack-tool fingerprints in the finding's own events: at least Medium.
    pub fingerprints: &'a [String],
    /// Seen from the source only: held below Medium unless a launcher or fingerprint raises it.
    pub source_only: bool,
    /// Launcher signs of the service's command (`assets/launchers.toml`): what, and the rule.
    pub launchers: Vec<(String, String)>,
}

/// Points a launcher command adds (and at least Medium when the client was remote).
pub const LAUNCHER_POINTS: i64 = 5;

impl Weights {
    pub fn severity(&self, score: i64) -> Severity {
        if score >= self.severity.critical {
            Severity::Critical
        } else if score >= self.severity.high {
            Severity::High
        } else if score >= self.severity.medium {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    pub fn recommendation(&self, s: Severity) -> &str {
        match s {
            Severity::Critical => &self.recommendation.critical,
            Severity::High => &self.recommendation.high,
            Severity::Medium => &self.recommendation.medium,
            Severity::Low => &self.recommendation.low,
        }
    }

    pub fn is_suspicious_name(&self, name: &str) -> bool {
        let n = name.to_ascii_lowercase();
        self.service
            .suspicious_patterns
            .iter()
            .any(|p| n.contains(&p.to_ascii_lowercase()))
    }

    pub fn score(&self, i: &ScoreInput<'_>) -> (i64, Vec<ScorePart>) {
        let mut parts = vec![self.base_part(i.signals)];
        parts.push(self.service_part(i.services));
        parts.push(self.tool_part(i.known_tool, i.tools));
        parts.push(self.process_part(i.processes, i.process_images));
        parts.extend(i.extras.iter().cloned());
        let mut total: i64 = parts.iter().map(|p| p.points).sum();
        if i.source_only && total >= self.severity.medium {
            let cap = self.severity.medium - 5;
            parts.push(part(
                "source-only",
                cap - total,
                format!("seen from the source only: the target's own logs are not in the collection (held at {cap}, below Medium)"),
            ));
            total = cap;
        }
        if let Some((what, rule)) = i.launchers.first() {
            let more = match i.launchers.len() {
                1 => String::new(),
                n => format!(" (and {} more signs)", n - 1),
            };
            let mut points = LAUNCHER_POINTS;
            let mut raised = "";
            if i.origin == OriginKind::Remote && total + points < self.severity.medium {
                points = self.severity.medium - total;
                raised = ", installed remotely: raised to Medium";
            }
            parts.push(part(
                "launcher",
                points,
                format!("service command is a launcher: {what}{more}{raised} (rule: {rule})"),
            ));
            total += points;
        }
        match (i.origin, i.rule.local_cap, i.rule.unknown_penalty) {
            (OriginKind::Local, Some(cap), _) if total > cap => {
                parts.push(part("origin", cap - total, format!("client ran on the target itself: local use, not lateral movement (capped at {cap})")));
                total = cap;
            }
            (OriginKind::Unknown, _, Some(pen)) => {
                parts.push(part(
                    "origin",
                    -pen,
                    "no evidence of a remote client in the collected logs".into(),
                ));
                total -= pen;
            }
            _ => {}
        }
        if let Some(first) = i.fingerprints.first() {
            let more = match i.fingerprints.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            // An attack tool is worth a look wherever its client ran: proof of local use does
            // not lower it, so more logs of the host never do.
            let (points, why) = if total < self.severity.medium {
                (self.severity.medium - total, "raised to Medium")
            } else {
                (0, "already Medium or above")
            };
            parts.push(part(
                "fingerprint",
                points,
                format!("tool fingerprint, {why}: {first}{more}"),
            ));
            total += points;
        }
        Self::capped(total, parts)
    }

    /// Scores read 0-100: a total above 100 is held at 100, with the part that says so.
    pub fn capped(total: i64, mut parts: Vec<ScorePart>) -> (i64, Vec<ScorePart>) {
        if total > MAX_SCORE {
            parts.push(part(
                "cap",
                MAX_SCORE - total,
                format!("scores are capped at {MAX_SCORE} (the parts add up to {total})"),
            ));
            (MAX_SCORE, parts)
        } else {
            (total.max(0), parts)
        }
    }

    /// A campaign's part added to a breakdown, then capped once: its bonus (and at least
    /// Medium) when its names carry a pattern, 0 points otherwise. Any earlier `cap` part is
    /// dropped first, so the total is capped with the campaign's points in.
    pub fn with_campaign(
        &self,
        campaign: &super::finding::Campaign,
        mut parts: Vec<ScorePart>,
    ) -> (i64, Vec<ScorePart>) {
        parts.retain(|p| p.name != "cap");
        let score: i64 = parts.iter().map(|p| p.points).sum();
        let launcher = parts.iter().any(|p| p.name == "launcher");
        let (mut points, why) = match &campaign.pattern {
            Some(p) => (self.campaign.bonus, format!("{}; {p}", campaign.summary)),
            None if launcher => (
                0,
                format!(
                    "{}; the services' commands are launchers (a mass deployment of launchers is at least Medium)",
                    campaign.summary
                ),
            ),
            None => (0, campaign.summary.clone()),
        };
        if (campaign.pattern.is_some() || launcher) && score + points < self.severity.medium {
            points = self.severity.medium - score;
        }
        parts.push(part("campaign", points, why));
        Self::capped(score + points, parts)
    }

    /// The severity cut-offs, as the Score tab states them.
    pub fn cutoffs(&self) -> String {
        format!(
            "severity: Critical >= {}, High >= {}, Medium >= {}, else Low (scores 0-{MAX_SCORE})",
            self.severity.critical, self.severity.high, self.severity.medium
        )
    }

    fn base_part(&self, signals: &[super::signal::Signal]) -> ScorePart {
        let n = signals.len();
        let (points, label) = match n {
            0 => (self.base.none, "no correlation type complete"),
            1 => (self.base.one, "1 correlation type"),
            2 => (self.base.two, "2 correlation types (partial chain)"),
            _ => (self.base.three_or_more, "3 or more correlation types"),
        };
        let list = if signals.is_empty() {
            String::new()
        } else {
            let names: Vec<_> = signals.iter().map(|s| s.name()).collect();
            format!(": {}", names.join(", "))
        };
        part("base", points, format!("{label}{list}"))
    }

    fn service_part(&self, services: &[ServiceRef]) -> ScorePart {
        if services.is_empty() {
            return part("service", 0, "no service identified".into());
        }
        let suspicious: Vec<&str> = services
            .iter()
            .filter_map(|s| s.name.as_deref().or(s.key_name.as_deref()))
            .filter(|n| self.is_suspicious_name(n))
            .collect();
        let tool_sig = services
            .iter()
            .any(|s| s.flags.iter().any(|f| f.starts_with("tool:")));
        if !suspicious.is_empty() || tool_sig {
            let why = if suspicious.is_empty() {
                "service matches a lateral tool signature".to_string()
            } else {
                format!(
                    "service name matches a known tool pattern ({})",
                    suspicious.join(", ")
                )
            };
            part("service", self.service.suspicious, why)
        } else if services.len() > 2 {
            part(
                "service",
                self.service.many,
                format!("{} services created", services.len()),
            )
        } else {
            part(
                "service",
                self.service.other,
                "service created, no known tool pattern".into(),
            )
        }
    }

    fn tool_part(&self, known: bool, tools: &[String]) -> ScorePart {
        if known {
            part(
                "tool",
                self.tool.known,
                format!("known lateral tool: {}", tools.join(", ")),
            )
        } else if !tools.is_empty() {
            part(
                "tool",
                self.tool.any,
                format!("tool usage detected: {}", tools.join(", ")),
            )
        } else {
            part("tool", self.tool.none, "no tool identified".into())
        }
    }

    /// The process bonus, from what ran (each process's executable, never its command text:
    /// `cmd /c whoami` and `cmd.exe /c whoami` are the same cmd.exe).
    fn process_part(&self, processes: &[String], images: &[String]) -> ScorePart {
        let names: Vec<String> = images
            .iter()
            .map(|i| super::patterns::file_name(i))
            .collect();
        let is = |want: &[&str]| names.iter().any(|n| want.contains(&n.as_str()));
        if is(&["powershell.exe", "pwsh.exe", "powershell_ise.exe"]) {
            part(
                "process",
                self.process.powershell,
                "PowerShell executed".into(),
            )
        } else if is(&["cmd.exe"]) {
            part("process", self.process.cmd, "cmd.exe executed".into())
        } else if processes.is_empty() {
            // Sentinel's correlations always include a process; a chain without one gets none.
            part("process", 0, "no process seen".into())
        } else {
            part(
                "process",
                self.process.other,
                "other process executed".into(),
            )
        }
    }
}

pub fn part(name: &str, points: i64, why: String) -> ScorePart {
    ScorePart {
        name: name.to_string(),
        points,
        why,
    }
}

/// Campaign thresholds (`assets/scoring.toml` `[campaign]`).
#[derive(Debug, Clone, Deserialize)]
pub struct CampaignRule {
    /// Services (or time-outs) on one host that make a campaign.
    pub min_services: usize,
    /// Most seconds between two consecutive services of one campaign.
    pub max_gap_secs: i64,
    /// Targets of one source that make a campaign.
    pub fan_out_targets: usize,
    /// Seconds from a source's first to last move that still count as one campaign.
    pub fan_out_secs: i64,
    /// Points a campaign whose names are encoded or random adds (and at least Medium).
    pub bonus: i64,
}

impl Default for CampaignRule {
    fn default() -> Self {
        CampaignRule {
            min_services: 10,
            max_gap_secs: 600,
            fan_out_targets: 3,
            fan_out_secs: 86_400,
            bonus: 15,
        }
    }
}
