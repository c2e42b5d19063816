//! From a linked chain to a `Finding`: stages in time order with evidence, services and their
//! flags, origin, score and severity, techniques, a stable id.

use super::chain::Chain;
use super::finding::{Finding, Origin, OriginKind, ServiceRef, Stage, StageRef};
use super::patterns::{Patterns, exe_path, is_exe};
use super::profile::Profile;
use super::score::{ScoreInput, Weights, part};
use crate::model::describe::summary;
use crate::store::Window;
use chrono::{DateTime, Utc};
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::LazyLock;

static RANDOM_NAME: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new("^[A-Z0-9]{6,8}$").ok());

/// Sentinel's service flags plus the tool signature, kept as words on each service.
pub fn service_flags(
    pats: &Patterns,
    w: &Weights,
    name: Option<&str>,
    image: Option<&str>,
) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(n) = name {
        if w.is_suspicious_name(n) {
            flags.push("suspicious_name".into());
        }
        if n.len() <= 8 && RANDOM_NAME.as_ref().is_some_and(|r| r.is_match(n)) {
            flags.push("random_name".into());
        }
    }
    if let Some(i) = image {
        let l = i.to_ascii_lowercase();
        if ["\\temp\\", "\\tmp\\", "\\appdata\\", "\\programdata\\"]
            .iter()
            .any(|p| l.contains(p))
        {
            flags.push("temp_path".into());
        }
        if l.starts_with("\\\\") {
            flags.push("admin_share_path".into());
        }
        if [
            "cmd.exe",
            "powershell.exe",
            "wmic.exe",
            "rundll32.exe",
            "%comspec%",
        ]
        .iter()
        .any(|p| l.contains(p))
        {
            flags.push("shell_in_path".into());
        }
        if l.contains(" -enc") || l.contains("-encodedcommand") || l.contains("frombase64string") {
            flags.push("encoded_powershell".into());
        }
        if pats.is_getsystem(i) {
            flags.push("getsystem".into());
        }
    }
    if let Some(t) = pats.tool_for_service(name, image) {
        flags.push(format!("tool:{}", pats.tools[t].id));
    }
    flags
}

pub struct Builder<'a> {
    pub store: &'a Window,
    pub pats: &'a Patterns,
    pub weights: &'a Weights,
    pub profile: &'a Profile,
    /// The collection-wide facts the score may add (source fan-out).
    pub reads: &'a super::reads::Reads<'a>,
}

impl Builder<'_> {
    pub fn finding(&self, c: &Chain) -> Option<Finding> {
        let mut stages = self.stages(c);
        if stages.is_empty() {
            return None;
        }
        stages.sort_by(|a, b| {
            a.time
                .cmp(&b.time)
                .then(a.stage.cmp(&b.stage))
                .then_with(|| a.evidence.cmp(&b.evidence))
        });
        let target = stages
            .iter()
            .filter_map(|s| self.store.get(s.event_index))
            .find(|e| *e.host.key == *c.target_key)
            .map_or_else(|| c.target_key.clone(), |e| e.host.display.to_string());
        let services = self.services(c);
        let processes = self.processes(c);
        let process_images = self.process_images(c);
        let origin = origin(c);
        let tools: Vec<String> = c.tools.iter().cloned().collect();
        let signals: Vec<super::signal::Signal> = c.signals.iter().copied().collect();
        let (score, parts) = self.weights.score(&ScoreInput {
            signals: &signals,
            services: &services,
            known_tool: c.known_tool,
            tools: &tools,
            processes: &processes,
            process_images: &process_images,
            source_only: c.source_only.is_some(),
            origin: origin.kind,
            rule: &self.profile.origin,
            extras: self.extra_parts(c),
            fingerprints: if self.profile.engine == super::profile::Engine::Chain {
                &c.fingerprints
            } else {
                &[]
            },
            launchers: if self.profile.engine == super::profile::Engine::Chain {
                self.launchers(&services)
            } else {
                Vec::new()
            },
        });
        // A chain standing for a campaign (start time-outs of random-named services).
        let (score, parts) = match &c.campaign {
            Some(campaign) => self.weights.with_campaign(campaign, parts),
            None => (score, parts),
        };
        let severity = self.weights.severity(score);
        let present: BTreeSet<Stage> = stages.iter().map(|s| s.stage).collect();
        Some(Finding {
            id: finding_id(&c.target_key, &stages),
            profile: self.profile.name.clone(),
            target_host: target,
            target_key: c.target_key.clone(),
            source_hosts: c.source_hosts.iter().cloned().collect(),
            source_ips: c.source_ips.iter().cloned().collect(),
            user: c.user.clone(),
            logon_ids: c.logon_ids.iter().copied().collect(),
            first_seen: stages.first().map_or(DateTime::<Utc>::MIN_UTC, |s| s.time),
            last_seen: stages.last().map_or(DateTime::<Utc>::MIN_UTC, |s| s.time),
            severity,
            score,
            score_breakdown: parts,
            signals: signals.iter().map(|s| s.name().into_owned()).collect(),
            services,
            processes,
            tools,
            origin,
            missing_stages: Stage::missing(&present),
            techniques: self.techniques(&present),
            recommendation: self.weights.recommendation(severity).to_string(),
            stages,
            suppressed_by: None,
            stages_omitted: c.omitted,
            campaign: c.campaign.clone(),
        })
    }

    fn stages(&self, c: &Chain) -> Vec<StageRef> {
        c.links
            .iter()
            .filter_map(|l| {
                let e = self.store.get(l.idx)?;
                Some(StageRef {
                    stage: l.stage,
                    time: e.ts,
                    host: e.host.display.to_string(),
                    channel: e.channel.name().to_string(),
                    event_id: e.event_id,
                    evidence: e.source.to_string(),
                    summary: summary(e),
                    link: l.how.clone(),
                    event_index: l.idx,
                })
            })
            .collect()
    }

    fn services(&self, c: &Chain) -> Vec<ServiceRef> {
        if c.service.names.is_empty() && c.service.image.is_none() {
            return c.extra_services.clone();
        }
        let name = c.service.names.first().cloned();
        let key = c.service.names.get(1).cloned();
        let mut flags = service_flags(
            self.pats,
            self.weights,
            name.as_deref(),
            c.service.image.as_deref(),
        );
        if c.service.kernel_driver {
            flags.push("kernel_driver".into());
        }
        let mut out = vec![ServiceRef {
            name,
            key_name: key,
            image_path: c.service.image.clone(),
            account: c.service.account.clone(),
            flags,
        }];
        out.extend(c.extra_services.iter().cloned());
        out
    }

    /// The launcher signs of the services' commands (each sign once): what, and its rule.
    fn launchers(&self, services: &[ServiceRef]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for image in services.iter().filter_map(|s| s.image_path.as_deref()) {
            for l in self.pats.launcher_signs(image) {
                if !out.iter().any(|(w, _)| *w == l.what) {
                    out.push((l.what.clone(), l.rule.clone()));
                }
            }
        }
        out
    }

    /// Each process of the exec stage, in link order.
    fn each_exec_process(&self, c: &Chain, mut f: impl FnMut(&crate::model::event::ProcessInfo)) {
        for l in c.links.iter().filter(|l| l.stage == Stage::Exec) {
            if let Some(e) = self.store.get(l.idx) {
                f(&e.fields.process);
            }
        }
    }

    /// The executable of each process of the exec stage: its Image, or (a record without one)
    /// the program its command line starts.
    fn process_images(&self, c: &Chain) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.each_exec_process(c, |p| {
            let image = p.image.as_deref().map(str::to_string).or_else(|| {
                p.command_line.as_deref().map(|c| {
                    let first = exe_path(c);
                    if is_exe(&first) {
                        first
                    } else {
                        format!("{first}.exe")
                    }
                })
            });
            if let Some(i) = image.filter(|i| !out.contains(i)) {
                out.push(i);
            }
        });
        out
    }

    fn processes(&self, c: &Chain) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.each_exec_process(c, |p| {
            if let Some(t) = p.command_line.as_deref().or(p.image.as_deref())
                && !out.iter().any(|o| o == t)
            {
                out.push(t.to_string());
            }
        });
        out
    }

    fn extra_parts(&self, c: &Chain) -> Vec<super::finding::ScorePart> {
        if self.profile.origin.unknown_penalty.is_none()
            || (c.service.names.is_empty() && c.service.image.is_none())
        {
            // Seed profiles score exactly as their document does; context bonuses are for
            // chains that involve a service, not for a bare remote SCM open.
            return Vec::new();
        }
        let mut parts = Vec::new();
        for why in &c.inferred {
            parts.push(part("inferred", 0, format!("inferred link: {why}")));
        }
        let ntlm = c
            .links
            .iter()
            .filter_map(|l| self.store.get(l.idx))
            .any(|e| {
                e.event_id == 4624
                    && e.fields
                        .logon
                        .auth_package
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case("NTLM"))
            });
        if ntlm {
            parts.push(part(
                "ntlm",
                3,
                "network logon used NTLM (pass-the-hash is possible)".into(),
            ));
        }
        if let Some((ip, n)) = c
            .source_ips
            .iter()
            .filter_map(|ip| self.reads.burst(ip).map(|n| (ip, n)))
            .max_by_key(|(_, n)| *n)
        {
            parts.push(part(
                "fan-out",
                5,
                format!("{ip} logged on to {n} hosts within minutes"),
            ));
        }
        parts
    }

    fn techniques(&self, present: &BTreeSet<Stage>) -> Vec<super::finding::Technique> {
        let want = |id: &str| match id {
            "T1021.002" => {
                present.contains(&Stage::Share)
                    || present.contains(&Stage::Pipe)
                    || present.contains(&Stage::Logon)
            }
            "T1543.003" => present.contains(&Stage::Install) || present.contains(&Stage::Modify),
            "T1569.002" => present.contains(&Stage::Exec),
            "T1570" => present.contains(&Stage::Share),
            _ => false,
        };
        self.weights
            .technique
            .iter()
            .filter(|t| want(&t.id))
            .cloned()
            .collect()
    }
}

/// Where the client ran. Proof of local use (the client's own run or EULA key on the target, a
/// pipe naming the target as client) makes it local; loopback or the target's own addresses only
/// when nothing shows a remote client: a server talks to itself around a remote install, so more
/// logs of the same host never turn a remote finding local (or lower it).
fn origin(c: &Chain) -> Origin {
    let remote_note = |local: &[String]| {
        format!(
            "not counted as local use, a remote client is shown: {}",
            local.join("; ")
        )
    };
    let mut claims = c.local.clone();
    claims.extend(c.local_weak.iter().cloned());
    if !c.remote_proof.is_empty() {
        // Remote evidence an attacker on the target cannot write outranks every local claim
        // (a process named like the client, its EULA key, a pipe naming the target).
        let mut reasons = c.remote.clone();
        if !claims.is_empty() {
            reasons.push(remote_note(&claims));
        }
        Origin {
            kind: OriginKind::Remote,
            reasons,
        }
    } else if !c.local.is_empty() {
        Origin {
            kind: OriginKind::Local,
            reasons: claims,
        }
    } else if !c.remote.is_empty() {
        let mut reasons = c.remote.clone();
        if !c.local_weak.is_empty() {
            reasons.push(remote_note(&c.local_weak));
        }
        Origin {
            kind: OriginKind::Remote,
            reasons,
        }
    } else if !c.local_weak.is_empty() {
        Origin {
            kind: OriginKind::Local,
            reasons: c.local_weak.clone(),
        }
    } else {
        Origin {
            kind: OriginKind::Unknown,
            reasons: vec!["no logon, share, pipe or network event shows a remote client".into()],
        }
    }
}

/// `F-` and 12 hex digits of SHA-256 over the target and what identifies each stage's record by
/// its content: host, event id, time, and the record's number in its log (record id or line),
/// never the path the evidence was given by (`dev/x.evtx`, `/abs/dev/x.evtx` and `../dev/x.evtx`
/// give the same ids, so notes and triage stay with their findings).
pub fn finding_id(target_key: &str, stages: &[StageRef]) -> String {
    let ev: Vec<String> = stages.iter().map(stage_identity).collect();
    hashed_id(target_key, ev)
}

/// The id earlier releases gave (over the evidence locations, paths included): cases saved by
/// them are carried over to `finding_id` (`Case::id_moves`).
pub fn legacy_finding_id(target_key: &str, stages: &[StageRef]) -> String {
    let ev: Vec<String> = stages.iter().map(|s| s.evidence.clone()).collect();
    hashed_id(target_key, ev)
}

fn stage_identity(s: &StageRef) -> String {
    format!(
        "{}|{}|{}.{:09}|{}",
        crate::model::host_key(&s.host),
        s.event_id,
        s.time.timestamp(),
        s.time.timestamp_subsec_nanos(),
        record_number(&s.evidence)
    )
}

/// `N` of `file#record=N` or `file:N` (the record's place in its log), else "".
fn record_number(evidence: &str) -> &str {
    if let Some((_, n)) = evidence.rsplit_once("#record=") {
        return n;
    }
    match evidence.rsplit_once(':') {
        Some((_, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => "",
    }
}

fn hashed_id(target_key: &str, mut ev: Vec<String>) -> String {
    ev.sort_unstable();
    let mut h = Sha256::new();
    h.update(target_key.as_bytes());
    for e in ev {
        h.update(b"\n");
        h.update(e.as_bytes());
    }
    let digest = h.finalize();
    let hex = digest.iter().take(6).fold(String::new(), |mut acc, b| {
        let _ = write!(acc, "{b:02x}");
        acc
    });
    format!("F-{hex}")
}
