//! Coverage per host: which channels and event ids the collection holds, over what time, and
//! which stages of the chain cannot be seen because the logs that would show them are absent,
//! so that "no findings" is never mistaken for "no attack".

use super::finding::Stage;
use crate::ingest::report::{FileReport, Seen};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct ChannelCoverage {
    pub channel: String,
    pub records: u64,
    /// (event id, count), by id.
    pub event_ids: Vec<(u16, u64)>,
}

impl ChannelCoverage {
    /// `4624x12 5145x3`.
    pub fn ids_text(&self) -> String {
        self.event_ids
            .iter()
            .map(|(id, n)| format!("{id}x{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Blind {
    pub stage: Stage,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostCoverage {
    pub host: String,
    pub channels: Vec<ChannelCoverage>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Stages that cannot be seen on this host, and why.
    pub blind: Vec<Blind>,
    /// Weaker links the missing logs force.
    pub notes: Vec<String>,
}

const SEC: &str = "Security";
const SYS: &str = "System";
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

struct Have<'a>(&'a BTreeMap<(String, u16), Seen>);

impl Have<'_> {
    fn channel(&self, ch: &str) -> bool {
        self.0.keys().any(|(c, _)| c == ch)
    }
    fn any(&self, ch: &str, ids: &[u16]) -> bool {
        ids.iter()
            .any(|id| self.0.contains_key(&(ch.to_string(), *id)))
    }
    /// Whether any log and id that shows the stage (the stage table) is present.
    fn shows(&self, stage: Stage) -> bool {
        crate::model::stages::table()
            .shown_by(stage.label())
            .iter()
            .any(|(ch, ids)| self.any(ch, ids))
    }
}

fn stage_rules(h: &Have<'_>) -> Vec<Blind> {
    let mut out = Vec::new();
    let mut blind = |stage: Stage, seen: bool, why: String| {
        if !seen {
            out.push(Blind { stage, why });
        }
    };
    let sec_why = |what: &str| {
        if h.channel(SEC) {
            format!(
                "the Security log has no {what} (auditing off, filtered export, or none happened)"
            )
        } else {
            "no Security log".to_string()
        }
    };
    blind(
        Stage::Logon,
        h.shows(Stage::Logon),
        format!("{}: network logons are not visible", sec_why("4624")),
    );
    blind(
        Stage::Share,
        h.shows(Stage::Share),
        format!(
            "{} and no Sysmon 11: ADMIN$ writes are not visible",
            sec_why("5140/5145")
        ),
    );
    let pipe_why = if h.channel(SYSMON) {
        "Sysmon has no 17/18 (pipe events not configured)"
    } else {
        "no Sysmon log"
    };
    blind(
        Stage::Pipe,
        h.shows(Stage::Pipe),
        format!("{pipe_why} and no 5145: named pipes are not visible"),
    );
    let sys_why = if h.channel(SYS) {
        "the System log has no 7045"
    } else {
        "no System log"
    };
    blind(
        Stage::Install,
        h.shows(Stage::Install),
        format!("{sys_why}, no 4697 and no Sysmon 13: service installs are not visible"),
    );
    blind(
        Stage::Exec,
        h.shows(Stage::Exec),
        "no Sysmon 1, no 4688 and no 7036: what the service ran is not visible".into(),
    );
    blind(
        Stage::Cleanup,
        h.shows(Stage::Cleanup),
        "no 7036 and no Sysmon 23/26/12: stop and cleanup are not visible".into(),
    );
    blind(
        Stage::Source,
        h.shows(Stage::Source),
        "no Sysmon 1/3 and no 4688: tools run from this host are not visible".into(),
    );
    out
}

fn notes(h: &Have<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if h.any(SYS, &[7045]) && !h.any(SEC, &[4697]) {
        out.push("no 4697: a 7045 links to its logon only through the installer SID and time (weaker than a logon id)".into());
    }
    if h.any(SEC, &[4688]) && !h.channel(SYSMON) {
        out.push("processes from 4688 only: parent image may be missing on older Windows (linked by PID)".into());
    }
    out
}

/// Coverage of every host seen in the reports, by host key.
pub fn coverage(files: &[FileReport]) -> Vec<HostCoverage> {
    let mut merged: BTreeMap<String, BTreeMap<(String, u16), Seen>> = BTreeMap::new();
    for f in files {
        for (host, m) in &f.seen {
            let into = merged.entry(host.clone()).or_default();
            for (k, s) in m {
                let e = into.entry(k.clone()).or_default();
                e.count += s.count;
                e.first = match (e.first, s.first) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                e.last = match (e.last, s.last) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    merged
        .into_iter()
        .filter(|(host, _)| !host.is_empty())
        .map(|(host, m)| {
            let have = Have(&m);
            let mut channels: BTreeMap<&str, ChannelCoverage> = BTreeMap::new();
            for ((ch, id), s) in &m {
                let c = channels
                    .entry(ch.as_str())
                    .or_insert_with(|| ChannelCoverage {
                        channel: ch.clone(),
                        records: 0,
                        event_ids: Vec::new(),
                    });
                c.records += s.count;
                c.event_ids.push((*id, s.count));
            }
            HostCoverage {
                first: m.values().filter_map(|s| s.first).min(),
                last: m.values().filter_map(|s| s.last).max(),
                blind: stage_rules(&have),
                notes: notes(&have),
                channels: channels.into_values().collect(),
                host,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(entries: &[(&str, &str, u16)]) -> FileReport {
        let mut r = FileReport::new("f", "evtx");
        for (h, c, id) in entries {
            r.note(h, c, *id, None);
        }
        r
    }

    #[test]
    fn system_only_host_is_blind_to_logons_shares_and_pipes() {
        let cov = coverage(&[report(&[("ws01.corp.local", "System", 7045)])]);
        let c = &cov[0];
        assert_eq!(c.host, "WS01");
        let blind: Vec<Stage> = c.blind.iter().map(|b| b.stage).collect();
        for s in [Stage::Logon, Stage::Share, Stage::Pipe, Stage::Exec] {
            assert!(blind.contains(&s), "{s:?} should be blind: {blind:?}");
        }
        assert!(!blind.contains(&Stage::Install));
        assert!(c.notes.iter().any(|n| n.contains("no 4697")));
        assert!(c.blind.iter().any(|b| b.why.contains("no Security log")));
    }

    #[test]
    fn full_collection_sees_every_stage() {
        let cov = coverage(&[report(&[
            ("WS01", "Security", 4624),
            ("WS01", "Security", 5145),
            ("WS01", "Security", 4697),
            ("WS01", "System", 7045),
            ("WS01", "System", 7036),
            ("WS01", "Microsoft-Windows-Sysmon/Operational", 1),
            ("WS01", "Microsoft-Windows-Sysmon/Operational", 3),
        ])]);
        assert!(cov[0].blind.is_empty(), "{:?}", cov[0].blind);
        assert!(cov[0].notes.is_empty());
    }

    #[test]
    fn security_without_logons_says_so() {
        let cov = coverage(&[report(&[("WS01", "security", 4907)])]);
        let logon = cov[0]
            .blind
            .iter()
            .find(|b| b.stage == Stage::Logon)
            .unwrap();
        assert!(
            logon.why.contains("Security log has no 4624"),
            "{}",
            logon.why
        );
    }
}
