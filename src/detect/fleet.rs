//! Fleet scale: a scan's two phases run apart, in as many processes as a cluster has, with the
//! findings of one `svchop scan` over everything.
//!
//! 1. **Facts** (`svchop fleet facts`): what the collection tells each host's scan, learned from
//!    any part of the events (rows of any hosts, in any order). Facts of parts merge into the
//!    facts of the whole (`svchop fleet merge`). They hold the addresses and names of hosts, the
//!    fan-out of sources, and the events one host's scan reaches on other hosts, carried as
//!    table rows: lateral tool runs naming a target, outbound SMB, the reference profiles' tool
//!    runs and the network logons installs name.
//! 2. **Hosts** (`svchop fleet scan`): the findings of some hosts, given all of each host's events
//!    and the merged facts. The events the facts carry are added to the hosts' own, and what a
//!    one-shot scan learns by store index is learned again from them, so each host is scanned
//!    exactly as in the one-shot scan.
//! 3. **Rank** (`svchop fleet rank`): the hosts' findings ranked together, sources that moved to
//!    many targets tagged (`Detector::rank`).

use super::Detector;
use super::context::Seen;
use super::engine::hunt::Bursts;
use super::finding::Finding;
use crate::model::Event;
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const FORMAT: &str = "svchop-facts";

/// Table columns a carried row leaves out: derived from the others, or not read back.
const CARRIED_DROPS: &[&str] = &[
    "ts",
    "seq",
    "summary",
    "evidence",
    "service_image_norm",
    "service_image_exe",
];
pub const VERSION: u32 = 1;

/// Why an event of one host is carried to the scans of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Why {
    /// A lateral tool run naming a target (chain and hunt engines).
    ToolRun,
    /// An outbound SMB connection (chain and hunt engines).
    OutboundSmb,
    /// A tool run the Sentinel profile joins across hosts.
    ReferenceTool,
    /// A network logon a profile joins across hosts by logon id.
    Logon,
}

/// One carried event: why, what it is carried for, and its table row.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Carried {
    why: Why,
    /// Outbound SMB: the destination address (normalized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    /// A logon: its logon id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logon_id: Option<u64>,
    row: serde_json::Value,
}

/// The facts of a part of a collection (or of all of it), as written between the phases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FleetFacts {
    pub format: String,
    pub version: u32,
    pub svchop_version: String,
    /// The profile the facts were learned for (engines learn different facts).
    pub profile: String,
    /// Merged from every part and trimmed to what the host scans read; not merged again.
    pub complete: bool,
    /// Host keys whose events went in, with how many of each.
    pub hosts: BTreeMap<String, u64>,
    /// Events read into these facts.
    pub events: u64,
    /// Address -> host key -> first and last seen.
    ip_hosts: BTreeMap<String, BTreeMap<String, Seen>>,
    /// Host key -> display names.
    host_names: BTreeMap<String, BTreeSet<String>>,
    /// Source -> (time, target host key): the fan-out the score counts.
    bursts: BTreeMap<String, Vec<(DateTime<Utc>, String)>>,
    /// Logon ids installs name (profiles joining logons across hosts).
    install_logon_ids: BTreeSet<u64>,
    carried: Vec<Carried>,
}

/// Why facts cannot be used together.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error("not svchop facts (format {0:?})")]
    Format(String),
    #[error("facts version {0} (this svchop reads version {VERSION})")]
    Version(u32),
    #[error("facts of profile {found:?} given to a scan with profile {want:?}")]
    Profile { found: String, want: String },
    #[error("facts already complete (merged from every part): merge the parts' facts instead")]
    Complete,
}

impl FleetFacts {
    fn empty(profile: &str) -> Self {
        FleetFacts {
            format: FORMAT.to_string(),
            version: VERSION,
            svchop_version: env!("CARGO_PKG_VERSION").to_string(),
            profile: profile.to_string(),
            complete: false,
            hosts: BTreeMap::new(),
            events: 0,
            ip_hosts: BTreeMap::new(),
            host_names: BTreeMap::new(),
            bursts: BTreeMap::new(),
            install_logon_ids: BTreeSet::new(),
            carried: Vec::new(),
        }
    }

    /// Checks facts read from a file are facts this svchop can use with `profile`.
    pub fn check(&self, profile: &str) -> Result<(), FactsError> {
        if self.format != FORMAT {
            return Err(FactsError::Format(self.format.clone()));
        }
        if self.version != VERSION {
            return Err(FactsError::Version(self.version));
        }
        if self.profile != profile {
            return Err(FactsError::Profile {
                found: self.profile.clone(),
                want: profile.to_string(),
            });
        }
        Ok(())
    }

    /// The facts of both parts. Parts may hold the same host (rows of a host split across
    /// parts): every fact is learned event by event, so the merge is the facts of the union.
    pub fn merge(mut self, other: FleetFacts) -> Result<FleetFacts, FactsError> {
        other.check(&self.profile)?;
        if self.complete || other.complete {
            return Err(FactsError::Complete);
        }
        for (h, n) in other.hosts {
            *self.hosts.entry(h).or_default() += n;
        }
        self.events += other.events;
        for (ip, hosts) in other.ip_hosts {
            let mine = self.ip_hosts.entry(ip).or_default();
            for (h, s) in hosts {
                let e = mine.entry(h).or_insert(s);
                e.0 = e.0.min(s.0);
                e.1 = e.1.max(s.1);
            }
        }
        for (k, names) in other.host_names {
            self.host_names.entry(k).or_default().extend(names);
        }
        // Hits are put in order once, by `tidy`: sorting at every merge would cost a fleet of
        // many parts a sort of one source's hits per part.
        for (src, hits) in other.bursts {
            self.bursts.entry(src).or_default().extend(hits);
        }
        self.install_logon_ids.extend(other.install_logon_ids);
        self.carried.extend(other.carried);
        Ok(self)
    }

    /// Each source's fan-out hits in order without repeats (what merged parts hold twice).
    pub fn tidy(&mut self) {
        for hits in self.bursts.values_mut() {
            hits.sort();
            hits.dedup();
        }
    }

    /// The facts of the whole collection, trimmed to what host scans read: outbound SMB only to
    /// addresses of hosts whose logs are in, logons only of ids an install names.
    #[must_use]
    pub fn completed(mut self) -> FleetFacts {
        self.tidy();
        let logged: BTreeSet<&str> = self
            .ip_hosts
            .iter()
            .filter(|(_, hosts)| hosts.keys().any(|h| self.hosts.contains_key(h)))
            .map(|(ip, _)| ip.as_str())
            .collect();
        let ids = &self.install_logon_ids;
        let keep = |c: &Carried| match c.why {
            Why::OutboundSmb => c.address.as_deref().is_some_and(|a| logged.contains(a)),
            Why::Logon => c.logon_id.is_some_and(|l| ids.contains(&l)),
            Why::ToolRun | Why::ReferenceTool => true,
        };
        let carried = std::mem::take(&mut self.carried)
            .into_iter()
            .filter(|c| keep(c))
            .collect();
        self.carried = carried;
        self.complete = true;
        self
    }

    /// The carried events the scans of `hosts` (whose own events they have) may reach: tool runs
    /// and joined logons of other hosts, and outbound SMB from other hosts to an address one of
    /// `hosts` was seen with (what `Context::linkable_from_elsewhere` reaches).
    pub fn carried_events(&self, hosts: &BTreeSet<String>) -> Vec<Event> {
        let table: Arc<str> = Arc::from("svchop facts");
        let addresses: BTreeSet<&str> = self
            .ip_hosts
            .iter()
            .filter(|(_, owners)| owners.keys().any(|h| hosts.contains(h)))
            .map(|(ip, _)| ip.as_str())
            .collect();
        self.carried
            .iter()
            .filter(|c| {
                c.why != Why::OutboundSmb
                    || c.address.as_deref().is_some_and(|a| addresses.contains(a))
            })
            .filter_map(|c| crate::ingest::table::event_of(c.row.clone(), &table))
            .filter(|e| !hosts.contains(&*e.host.key))
            .collect()
    }

    /// Hosts of `only` whose events in `packed` are not as many as the facts counted: (host,
    /// here, in the facts). A host's events split between two host scans, or facts of other
    /// data, give other findings than one scan.
    pub fn host_mismatches(
        &self,
        packed: &Store,
        only: &BTreeSet<String>,
    ) -> Vec<(String, u64, u64)> {
        packed
            .hosts()
            .filter(|(k, _)| only.contains(*k))
            .filter_map(|(k, r)| {
                let here = r.len() as u64;
                let counted = self.hosts.get(k).copied().unwrap_or(0);
                (here != counted).then(|| (k.to_string(), here, counted))
            })
            .collect()
    }

    /// Puts the collection-wide facts a one-shot scan keeps without store indices in place of
    /// those learned from one part.
    fn replace_in(&self, facts: &mut super::Facts) {
        let c = &mut facts.context;
        c.ip_hosts.clear();
        c.host_ips.clear();
        for (ip, hosts) in &self.ip_hosts {
            for (h, s) in hosts {
                c.ip_hosts
                    .entry(ip.clone())
                    .or_default()
                    .insert(h.clone(), *s);
                c.host_ips
                    .entry(h.clone())
                    .or_default()
                    .insert(ip.clone(), *s);
            }
        }
        c.host_names = self
            .host_names
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        facts.bursts = Bursts::from_hits(self.bursts.clone());
    }
}

impl Detector {
    /// Phase 1: the facts of the events in `packed` (any part of a collection).
    pub fn fleet_facts(&self, packed: &Store) -> FleetFacts {
        let hosts: Vec<(&str, std::ops::Range<usize>)> = packed.hosts().collect();
        let facts = self.facts(packed, &hosts);
        let mut out = FleetFacts::empty(&self.profile.name);
        out.hosts = hosts
            .iter()
            .map(|(k, r)| ((*k).to_string(), r.len() as u64))
            .collect();
        out.events = packed.len() as u64;
        for (ip, hosts) in &facts.context.ip_hosts {
            out.ip_hosts.insert(
                ip.clone(),
                hosts.iter().map(|(h, s)| (h.clone(), *s)).collect(),
            );
        }
        for (k, names) in &facts.context.host_names {
            out.host_names.insert(k.clone(), names.clone());
        }
        out.bursts = facts.bursts.hits();
        out.install_logon_ids
            .clone_from(facts.joins.install_logon_ids());
        // (store index, why, address, logon id), in store order.
        let mut chosen: Vec<(usize, Why, Option<String>, Option<u64>)> = Vec::new();
        for r in &facts.context.client_runs {
            if r.target.is_some() {
                chosen.push((r.idx, Why::ToolRun, None, None));
            }
        }
        for (ip, list) in &facts.context.outbound_smb {
            for (_, idx, _) in list {
                chosen.push((*idx, Why::OutboundSmb, Some(ip.clone()), None));
            }
        }
        for idx in facts.joins.tool_runs() {
            chosen.push((idx, Why::ReferenceTool, None, None));
        }
        for (lid, idxs) in facts.joins.logons() {
            for &idx in idxs {
                chosen.push((idx, Why::Logon, None, Some(lid)));
            }
        }
        chosen.sort();
        chosen.dedup_by_key(|p| (p.0, p.1));
        out.carried = chosen
            .into_iter()
            .filter_map(|(idx, why, address, logon_id)| {
                let e = packed.get_typed(idx)?;
                let mut row = serde_json::to_value(crate::model::row::row(0, &e)).ok()?;
                // What reading the row back does not use (derived or redundant columns).
                if let Some(m) = row.as_object_mut() {
                    for k in CARRIED_DROPS {
                        m.remove(*k);
                    }
                }
                Some(Carried {
                    why,
                    address,
                    logon_id,
                    row,
                })
            })
            .collect();
        out
    }

    /// Phase 2: the findings of the hosts `only` (all of whose events are in `packed`, with the
    /// events `facts` carry from other hosts), given the facts of the whole collection. Each
    /// host's findings in rank order; `rank` ranks them with every other host's.
    pub fn scan_fleet(
        &self,
        packed: &Arc<Store>,
        only: &BTreeSet<String>,
        facts: &FleetFacts,
        suppressed_per_host: usize,
    ) -> (Vec<Finding>, usize) {
        let all: Vec<(&str, std::ops::Range<usize>)> = packed.hosts().collect();
        // What is learned by store index (tool runs, outbound SMB, joined logons) is learned
        // again here from the events the facts carry; the rest comes from the facts.
        let mut local = self.facts(packed, &all);
        facts.replace_in(&mut local);
        local.context.finish();
        let hosts: Vec<(&str, std::ops::Range<usize>)> =
            all.into_iter().filter(|(k, _)| only.contains(*k)).collect();
        self.scan_hosts(packed, &hosts, local, suppressed_per_host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_events;

    /// Phase 1 over `parts` (each a set of whole hosts or any rows), merged, then phase 2 host
    /// group by host group, then rank: the findings of the one-shot scan.
    fn fleet(d: &Detector, events: &[Event], groups: usize) -> Vec<Finding> {
        // Phase 1 over rows split with no regard to hosts.
        let mut merged: Option<FleetFacts> = None;
        for part in 0..3 {
            let rows: Vec<Event> = events
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 3 == part)
                .map(|(_, e)| e.clone())
                .collect();
            let (store, _) = from_events(rows, true);
            let f = d.fleet_facts(&store);
            let text = serde_json::to_string(&f).unwrap_or_default();
            let f: FleetFacts = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
            merged = Some(match merged {
                None => f,
                Some(m) => m.merge(f).unwrap_or_else(|e| panic!("{e}")),
            });
        }
        let facts = merged.map_or_else(|| panic!("no facts"), FleetFacts::completed);
        assert!(facts.clone().merge(facts.clone()).is_err());
        let keys: BTreeSet<String> = events.iter().map(|e| e.host.key.to_string()).collect();
        let mut out = Vec::new();
        for g in 0..groups {
            let mine: BTreeSet<String> = keys
                .iter()
                .enumerate()
                .filter(|(i, _)| i % groups == g)
                .map(|(_, k)| k.clone())
                .collect();
            let mut part: Vec<Event> = events
                .iter()
                .filter(|e| mine.contains(&*e.host.key))
                .cloned()
                .collect();
            part.extend(facts.carried_events(&mine));
            let (store, _) = from_events(part, true);
            assert!(facts.host_mismatches(&store, &mine).is_empty());
            let (found, _) = d.scan_fleet(&Arc::new(store), &mine, &facts, usize::MAX);
            out.extend(found);
        }
        d.rank(&mut out);
        out
    }

    #[test]
    fn the_phases_apart_find_what_one_scan_finds() {
        let case = crate::demo::generate(&crate::demo::DemoOptions {
            hosts: 12,
            ..crate::demo::DemoOptions::default()
        });
        let events = crate::demo::events(&case);
        for profile in ["default", "hunt", "sentinel", "elastic", "sigma", "otrf"] {
            let d = Detector::builtin(profile).unwrap_or_else(|e| panic!("{e}"));
            let (store, _) = from_events(events.clone(), true);
            let (want, _) = d.scan(&Arc::new(store), true);
            assert!(!want.is_empty(), "{profile}");
            for groups in [1, 3, 12] {
                let got = fleet(&d, &events, groups);
                let json = |v: &[Finding]| serde_json::to_string(v).unwrap_or_default();
                assert_eq!(json(&got), json(&want), "{profile}, {groups} host groups");
            }
        }
    }

    #[test]
    fn a_host_split_between_host_scans_is_told() {
        let case = crate::demo::generate(&crate::demo::DemoOptions::default());
        let events = crate::demo::events(&case);
        let d = Detector::builtin("default").unwrap_or_else(|e| panic!("{e}"));
        let (all, _) = from_events(events.clone(), true);
        let facts = d.fleet_facts(&all).completed();
        let key = events[0].host.key.to_string();
        let half: Vec<Event> = events
            .iter()
            .filter(|e| *e.host.key == *key)
            .step_by(2)
            .cloned()
            .collect();
        let (store, _) = from_events(half, true);
        let only = BTreeSet::from([key.clone()]);
        let m = facts.host_mismatches(&store, &only);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0, key);
        assert!(m[0].1 < m[0].2);
    }

    #[test]
    fn facts_of_another_profile_are_refused() {
        let d = Detector::builtin("default").unwrap_or_else(|e| panic!("{e}"));
        let (store, _) = from_events(Vec::new(), true);
        let f = d.fleet_facts(&store);
        assert!(f.check("default").is_ok());
        assert!(matches!(f.check("otrf"), Err(FactsError::Profile { .. })));
        let other = Detector::builtin("otrf").unwrap_or_else(|e| panic!("{e}"));
        assert!(f.merge(other.fleet_facts(&store)).is_err());
    }
}
