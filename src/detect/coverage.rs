//! Coverage per host: which channels and event ids the collection holds, over what time, and
//! which stages of the chain cannot be seen because the logs that would show them are absent,
//! so that "no findings" is never mistaken for "no attack".

use super::finding::Stage;
use crate::ingest::report::{FileReport, Seen};
use crate::model::Channel;
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
}

/// The stages a host cannot see, each with the logs and ids it lacks, all from the stage table:
/// `no Sysmon log, the Security log has no 4688 (hint) and the System log has no 7036/7035: what
/// the service ran is not visible`. Defender rows are named only when the host has some.
fn stage_rules(h: &Have<'_>) -> Vec<Blind> {
    let table = crate::model::stages::table();
    let mut out = Vec::new();
    for row in &table.table.stages {
        let Some(stage) = Stage::ALL.into_iter().find(|s| s.label() == row.stage) else {
            continue;
        };
        let shown_by = table.shown_by(&row.stage);
        if shown_by.iter().any(|(ch, ids)| h.any(ch, ids)) {
            continue;
        }
        let (mut lacks, mut absent) = (Vec::new(), Vec::new());
        for (src, (ch, ids)) in row.shown_by.iter().zip(&shown_by) {
            if h.channel(ch) {
                let ids: Vec<String> = ids.iter().map(u16::to_string).collect();
                let hint = table
                    .table
                    .hints
                    .get(&src.channel)
                    .map_or(String::new(), |t| format!(" ({t})"));
                lacks.push(format!(
                    "the {} log has no {}{hint}",
                    src.channel,
                    ids.join("/")
                ));
            } else if Channel::from_name(ch) != Channel::Defender
                && !absent.contains(&src.channel.as_str())
            {
                absent.push(src.channel.as_str());
            }
        }
        lacks.push(match absent.split_last() {
            None => String::new(),
            Some((last, [])) => format!("no {last} log"),
            Some((last, rest)) => format!("no {} or {last} log", rest.join(", ")),
        });
        lacks.retain(|l| !l.is_empty());
        let why = if lacks.is_empty() {
            "no log that shows it".to_string()
        } else {
            lacks.join("; ")
        };
        out.push(Blind {
            stage,
            why: format!("{why}: {}", row.blind),
        });
    }
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

    #[test]
    fn the_wording_names_every_id_the_stage_table_lists() {
        // Every log present, none with a stage's ids: each stage is blind, and says which ids
        // of which log it looked for, as the table lists them.
        let cov = coverage(&[report(&[
            ("WS01", "Security", 4907),
            ("WS01", "System", 6005),
            ("WS01", "Microsoft-Windows-Sysmon/Operational", 5),
        ])]);
        let t = crate::model::stages::table();
        assert_eq!(cov[0].blind.len(), t.table.stages.len());
        for (b, row) in cov[0].blind.iter().zip(&t.table.stages) {
            assert_eq!(b.stage.label(), row.stage);
            assert!(b.why.ends_with(&row.blind), "{}", b.why);
            for src in row.shown_by.iter().filter(|s| s.channel != "Defender") {
                let ids: Vec<String> = src.ids.iter().map(u16::to_string).collect();
                let said = format!("the {} log has no {}", src.channel, ids.join("/"));
                assert!(b.why.contains(&said), "{}: {said}", b.why);
            }
            assert!(!b.why.contains("Defender"), "{}", b.why);
        }
    }
}
