//! What the detections look up across a whole collection: per-host time windows over the store,
//! which addresses belong to which host, and where lateral tools were run and at whom.

use super::patterns::Patterns;
use crate::model::host::{canonical_ip, host_key, is_loopback_or_empty, normalize_ip};
use crate::model::stages::ids;
use crate::model::{Event, HostName, is_ip_literal};
use crate::store::{Ev, Window};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::Arc;

/// The events of one host, in time order, with their store indices.
#[derive(Clone)]
pub struct HostView<'a> {
    pub store: &'a Window,
    pub range: Range<usize>,
    pub key: &'a str,
}

impl<'a> HostView<'a> {
    /// The host's events of the given ids, for a pass that looks at those only (a large window
    /// decodes only them, each for the moment).
    pub fn events_of(&self, ids: &'a [u16]) -> impl Iterator<Item = (usize, Ev<'a>)> + 'a {
        let store = self.store;
        self.range
            .clone()
            .filter(move |&i| store.event_id(i).is_some_and(|id| ids.contains(&id)))
            .filter_map(move |i| store.read(i).map(|e| (i, e)))
    }

    /// Store index and event id of each of the host's events, without decoding them.
    pub fn ids(&self) -> impl Iterator<Item = (usize, u16)> + 'a {
        let store = self.store;
        self.range
            .clone()
            .filter_map(move |i| store.event_id(i).map(|id| (i, id)))
    }
}

/// The bounds `before` ahead of and `after` past `t`, clamped to the representable range.
pub fn span(
    t: DateTime<Utc>,
    before: TimeDelta,
    after: TimeDelta,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = t
        .checked_sub_signed(before)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let to = t
        .checked_add_signed(after)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (from, to)
}

/// A lateral tool run seen on some host, and the target it names.
#[derive(Debug, Clone)]
pub struct ClientRun {
    pub idx: usize,
    pub tool: usize,
    pub source_key: String,
    pub target: Option<String>,
    pub ts: DateTime<Utc>,
}

/// First and last time an address was seen on a host.
pub type Seen = (DateTime<Utc>, DateTime<Utc>);

/// How far from an observation an address mapping is trusted (a day).
fn address_trust() -> TimeDelta {
    TimeDelta::try_hours(24).unwrap_or(TimeDelta::MAX)
}

fn near(seen: &Seen, at: DateTime<Utc>) -> bool {
    let trust = address_trust();
    seen.0
        .checked_sub_signed(trust)
        .is_none_or(|from| at >= from)
        && seen.1.checked_add_signed(trust).is_none_or(|to| at <= to)
}

/// Which host of the collection an address belonged to, and when: what the collection's own
/// logs say (a host's logon and network events), kept after the scan so the workbench can name
/// an IP as its host.
#[derive(Debug, Default, Clone)]
pub struct AddressBook {
    /// IP -> (host display name, first, last seen with it).
    ips: HashMap<String, Vec<(String, Seen)>>,
}

impl AddressBook {
    /// The one host the collection saw with `ip` around `at`; `None` when none or several.
    pub fn host_of(&self, ip: &str, at: DateTime<Utc>) -> Option<&str> {
        let mut hosts = self
            .ips
            .get(&*canonical_ip(ip))?
            .iter()
            .filter(|(_, s)| near(s, at));
        let (name, _) = hosts.next()?;
        hosts.next().is_none().then_some(name.as_str())
    }
}

/// An outbound SMB connection: when, its store index, and the host that made it.
pub type SmbOut = (DateTime<Utc>, usize, Arc<str>);

/// Collection-wide facts: host addresses and lateral tool runs.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// IP -> host key -> when that host was seen with that address (first, last). Addresses
    /// move (DHCP, lab rebuilds), so a mapping only counts near the time it was seen.
    pub ip_hosts: HashMap<String, HashMap<String, Seen>>,
    /// Host key -> its own addresses, with when.
    pub host_ips: HashMap<String, HashMap<String, Seen>>,
    /// Host key -> the display names seen for it (FQDN, short).
    pub host_names: HashMap<String, BTreeSet<String>>,
    pub client_runs: Vec<ClientRun>,
    /// Where each run's target points (after `finish`): host key or canonical IP -> positions
    /// in `client_runs`; runs aimed at an address range apart. A host's scan reads the runs
    /// aimed at it, never every run of the collection (N hosts each running a tool once were
    /// N x N).
    runs_by_target: HashMap<String, Vec<usize>>,
    range_runs: Vec<usize>,
    /// Destination IP -> outbound SMB connections to it: (time, store index, source host key).
    pub outbound_smb: HashMap<String, Vec<SmbOut>>,
}

/// Widens `into` to take in `by`.
fn widen(into: &mut Seen, by: Seen) {
    into.0 = into.0.min(by.0);
    into.1 = into.1.max(by.1);
}

/// Widens when `a` was seen with `b` to take in `at` (keys are copied only when new).
fn seen_at(map: &mut HashMap<String, HashMap<String, Seen>>, a: &str, b: &str, at: DateTime<Utc>) {
    let inner = match map.get_mut(a) {
        Some(m) => m,
        None => map.entry(a.to_string()).or_default(),
    };
    match inner.get_mut(b) {
        Some(s) => widen(s, (at, at)),
        None => {
            inner.insert(b.to_string(), (at, at));
        }
    }
}

/// The events the collection-wide facts read besides their hosts' names: network connections
/// (addresses, outbound SMB), process creations (client tool runs) and logons (bursts).
pub const LEARNED_IDS: [u16; 4] = [1, 3, 4624, 4688];

impl Context {
    /// Adds what the event at store index `i` teaches; events come in store order. Of an event
    /// whose id is not in [`LEARNED_IDS`], only its host's name.
    pub fn learn(&mut self, i: usize, e: &Event, pats: &Patterns) {
        self.learn_host(&e.host);
        if !LEARNED_IDS.contains(&e.event_id) {
            return;
        }
        self.learn_addresses(e);
        if let Some(dst) = outbound_smb_peer(e) {
            self.outbound_smb
                .entry(normalize_ip(&dst))
                .or_default()
                .push((e.ts, i, Arc::clone(&e.host.key)));
        }
        // WMI, scheduled tasks and WinRM create no service: never a service tool's run.
        if ids("process_start").contains(&e.event_id)
            && let Some((tool, target)) = pats.client_tool(e)
            && pats.tools[tool].service
        {
            self.client_runs.push(ClientRun {
                idx: i,
                tool,
                source_key: e.host.key.to_string(),
                target,
                ts: e.ts,
            });
        }
    }

    /// The name a host logs under.
    pub fn learn_host(&mut self, host: &HostName) {
        if let Some(names) = self.host_names.get_mut(&*host.key) {
            if !names.contains(&*host.display) {
                names.insert(host.display.to_string());
            }
        } else {
            self.host_names.insert(
                host.key.to_string(),
                BTreeSet::from([host.display.to_string()]),
            );
        }
    }

    /// The facts of a host's events moved `by` places in the store (a live collection's
    /// store, with more evidence before them). Before `finish`.
    pub fn shift(&mut self, by: isize) {
        for r in &mut self.client_runs {
            r.idx = r.idx.saturating_add_signed(by);
        }
        for list in self.outbound_smb.values_mut() {
            for (_, idx, _) in list {
                *idx = idx.saturating_add_signed(by);
            }
        }
    }

    /// Adds a context learned from events later in store order.
    pub fn absorb(&mut self, later: Context) {
        let merge = |into: &mut HashMap<String, HashMap<String, Seen>>,
                     from: HashMap<String, HashMap<String, Seen>>| {
            for (a, m) in from {
                let t = into.entry(a).or_default();
                for (b, s) in m {
                    widen(t.entry(b).or_insert(s), s);
                }
            }
        };
        merge(&mut self.ip_hosts, later.ip_hosts);
        merge(&mut self.host_ips, later.host_ips);
        for (k, names) in later.host_names {
            self.host_names.entry(k).or_default().extend(names);
        }
        self.client_runs.extend(later.client_runs);
        for (ip, list) in later.outbound_smb {
            self.outbound_smb.entry(ip).or_default().extend(list);
        }
    }

    /// Orders the tool runs by source host and time, and each address's outbound SMB by time,
    /// once all parts are absorbed, so a host's own runs are found by `runs_from` and a chain's
    /// connections by `smb_to` without walking every one of the collection.
    pub fn finish(&mut self) {
        // Each address's connections in time order (stable: as learned within a time), so a
        // chain finds the ones in its window without walking them all.
        for list in self.outbound_smb.values_mut() {
            list.sort_by_key(|(ts, _, _)| *ts);
        }
        self.client_runs.sort_by(|a, b| {
            a.source_key
                .cmp(&b.source_key)
                .then(a.ts.cmp(&b.ts))
                .then(a.idx.cmp(&b.idx))
        });
        self.runs_by_target.clear();
        self.range_runs.clear();
        for (at, run) in self.client_runs.iter().enumerate() {
            let Some(t) = run.target.as_deref() else {
                continue;
            };
            let t = t.trim().trim_start_matches('\\');
            if parse_cidr(t).is_some() {
                self.range_runs.push(at);
            } else if is_ip_literal(t) {
                self.runs_by_target
                    .entry(canonical_ip(t).to_string())
                    .or_default()
                    .push(at);
            } else {
                self.runs_by_target.entry(host_key(t)).or_default().push(at);
            }
        }
    }

    /// The runs whose target may be host `key` (its name, one of its addresses, or a range),
    /// in `client_runs` order: what `names_host` is then asked of.
    pub fn runs_aimed_at(&self, key: &str) -> Vec<&ClientRun> {
        let mut at: Vec<usize> = self.runs_by_target.get(key).cloned().unwrap_or_default();
        for ip in self.host_ips.get(key).into_iter().flat_map(HashMap::keys) {
            at.extend(self.runs_by_target.get(ip).into_iter().flatten());
        }
        at.extend(&self.range_runs);
        crate::detect::work::add(at.len() + 1);
        at.sort_unstable();
        at.dedup();
        at.into_iter().map(|i| &self.client_runs[i]).collect()
    }

    /// Outbound SMB connections to `ip` made from `from` to `to` (inclusive), in time order
    /// (after `finish`).
    pub fn smb_to(&self, ip: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> &[SmbOut] {
        let list = self.outbound_smb.get(ip).map_or(&[][..], Vec::as_slice);
        let start = list.partition_point(|(ts, _, _)| *ts < from);
        let end = list.partition_point(|(ts, _, _)| *ts <= to);
        list.get(start..end.max(start)).unwrap_or_default()
    }

    /// The tool runs made on host `key` (after `finish`).
    pub fn runs_from(&self, key: &str) -> &[ClientRun] {
        let from = self
            .client_runs
            .partition_point(|r| r.source_key.as_str() < key);
        let to = self
            .client_runs
            .partition_point(|r| r.source_key.as_str() <= key);
        &self.client_runs[from..to]
    }

    /// Store indices of other hosts' events that a chain on `key` may link to: lateral tool
    /// runs elsewhere, and outbound SMB from elsewhere to one of its addresses.
    pub fn linkable_from_elsewhere(&self, key: &str) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .runs_aimed_at(key)
            .into_iter()
            .filter(|r| r.source_key != key)
            .map(|r| r.idx)
            .collect();
        for ip in self.host_ips.get(key).into_iter().flat_map(HashMap::keys) {
            for (_, idx, src) in self.outbound_smb.get(ip).map_or(&[][..], Vec::as_slice) {
                if **src != *key {
                    out.push(*idx);
                }
            }
        }
        out
    }

    fn add_ip(&mut self, host: &str, ip: &str, at: DateTime<Utc>) {
        if is_loopback_or_empty(ip) || host.is_empty() {
            return;
        }
        let key = host_key(host);
        let ip = canonical_ip(ip);
        seen_at(&mut self.ip_hosts, &ip, &key, at);
        seen_at(&mut self.host_ips, &key, &ip, at);
    }

    /// Sysmon 3 names both ends; the logging host owns its side of the connection.
    fn learn_addresses(&mut self, e: &Event) {
        if e.event_id != 3 {
            return;
        }
        let n = &e.fields.net;
        let host = e.host.display.to_string();
        let names_me = |h: Option<&str>| h.is_some_and(|h| host_key(h) == *e.host.key);
        // The side whose host name is the logging host is local; without names, the initiator
        // is local for outbound, and for inbound older Sysmon puts the local side as Source
        // when the source port is a service port.
        let local = if names_me(n.src_host.as_deref()) {
            n.src_ip.as_deref()
        } else if names_me(n.dst_host.as_deref()) {
            n.dst_ip.as_deref()
        } else {
            match n.initiated {
                Some(true) => n.src_ip.as_deref(),
                Some(false) if n.src_port.is_some_and(|p| p < 1024) => n.src_ip.as_deref(),
                Some(false) => n.dst_ip.as_deref(),
                None => None,
            }
        };
        if let Some(ip) = local {
            self.add_ip(&host, ip, e.ts);
        }
        if let (Some(h), Some(ip)) = (n.src_host.as_deref(), n.src_ip.as_deref()) {
            self.add_ip(h, ip, e.ts);
        }
        if let (Some(h), Some(ip)) = (n.dst_host.as_deref(), n.dst_ip.as_deref()) {
            self.add_ip(h, ip, e.ts);
        }
    }

    /// Whether `name` (short name, FQDN or IP) designates the host `key` at time `at`.
    pub fn names_host(&self, name: &str, key: &str, at: DateTime<Utc>) -> bool {
        let t = name.trim().trim_start_matches('\\');
        if is_ip_literal(t) {
            return self.is_own_ip(key, t, at);
        }
        if let Some((net, bits)) = parse_cidr(t) {
            return self.host_ips.get(key).is_some_and(|m| {
                m.iter()
                    .any(|(ip, seen)| near(seen, at) && in_cidr(ip, net, bits))
            });
        }
        host_key(t) == key
    }

    /// The address book of the collection (each host by its longest display name).
    pub fn address_book(&self) -> AddressBook {
        let name = |key: &str| {
            self.host_names
                .get(key)
                .and_then(|n| n.iter().max_by_key(|x| x.len()))
                .cloned()
                .unwrap_or_else(|| key.to_string())
        };
        AddressBook {
            ips: self
                .ip_hosts
                .iter()
                .map(|(ip, hosts)| {
                    (
                        ip.clone(),
                        hosts.iter().map(|(k, s)| (name(k), *s)).collect(),
                    )
                })
                .collect(),
        }
    }

    /// The host keys an IP belonged to around `at` (possibly none).
    pub fn hosts_of_ip(&self, ip: &str, at: DateTime<Utc>) -> Vec<String> {
        let mut out: Vec<String> = self
            .ip_hosts
            .get(&*canonical_ip(ip))
            .map(|m| {
                m.iter()
                    .filter(|(_, s)| near(s, at))
                    .map(|(h, _)| h.clone())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Whether the IP was one of `key`'s own addresses around `at`.
    pub fn is_own_ip(&self, key: &str, ip: &str, at: DateTime<Utc>) -> bool {
        self.host_ips
            .get(key)
            .and_then(|m| m.get(&*canonical_ip(ip)))
            .is_some_and(|s| near(s, at))
    }
}

/// Inbound SMB on a Sysmon 3 record: the remote address, whichever side old Sysmon put it on.
pub fn inbound_smb_peer(e: &Event) -> Option<String> {
    if e.event_id != 3 {
        return None;
    }
    let n = &e.fields.net;
    let remote = if n.dst_port == Some(445) && n.initiated != Some(true) {
        n.src_ip.as_deref()
    } else if n.src_port == Some(445) && n.initiated != Some(true) {
        // Older Sysmon logs inbound SMB with the local side as Source.
        n.dst_ip.as_deref()
    } else {
        None
    }?;
    (!is_loopback_or_empty(remote)).then(|| remote.to_string())
}

/// Inbound RPC to the Service Control Manager over TCP (Sysmon 3 accepted by services.exe, or
/// to the endpoint mapper on 135): the remote address. Empire's Invoke-PsExec and other
/// DCE/RPC-over-TCP clients leave no `svcctl` pipe, only this.
pub fn inbound_scm_peer(e: &Event) -> Option<String> {
    if e.event_id != 3 || e.fields.net.initiated == Some(true) {
        return None;
    }
    let n = &e.fields.net;
    let by_scm = e
        .fields
        .process
        .image
        .as_deref()
        .is_some_and(|i| i.to_ascii_lowercase().ends_with("\\services.exe"));
    let remote = n.src_ip.as_deref()?;
    ((by_scm || n.dst_port == Some(135)) && !is_loopback_or_empty(remote))
        .then(|| remote.to_string())
}

/// Outbound SMB (Sysmon 3 initiated to 445): the destination.
pub fn outbound_smb_peer(e: &Event) -> Option<String> {
    let n = &e.fields.net;
    (e.event_id == 3 && n.initiated == Some(true) && n.dst_port == Some(445))
        .then(|| n.dst_ip.as_deref().map(str::to_string))
        .flatten()
}

/// `10.1.1.0/24` as (network, prefix length); IPv4 only.
fn parse_cidr(t: &str) -> Option<(u32, u32)> {
    let (net, bits) = t.split_once('/')?;
    let net: std::net::Ipv4Addr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    Some((u32::from(net), bits))
}

fn in_cidr(ip: &str, net: u32, bits: u32) -> bool {
    let Ok(addr) = ip.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    (u32::from(addr) & mask) == (net & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After `finish`, a window of one address's connections is found by time, in time order,
    /// connections of one time kept in the order they were learned.
    #[test]
    fn smb_window_by_time() {
        let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap();
        let mut c = Context::default();
        let src: Arc<str> = Arc::from("WS01");
        for (s, idx) in [(30, 0), (10, 1), (20, 2), (20, 3), (40, 4), (20, 5)] {
            c.outbound_smb.entry("10.0.0.5".into()).or_default().push((
                t(s),
                idx,
                Arc::clone(&src),
            ));
        }
        c.finish();
        let idx = |from, to| -> Vec<usize> {
            c.smb_to("10.0.0.5", t(from), t(to))
                .iter()
                .map(|x| x.1)
                .collect()
        };
        assert_eq!(idx(15, 30), vec![2, 3, 5, 0]);
        assert_eq!(idx(20, 20), vec![2, 3, 5]);
        assert_eq!(idx(41, 50), Vec::<usize>::new());
        assert_eq!(idx(30, 10), Vec::<usize>::new());
        assert!(c.smb_to("10.0.0.6", t(0), t(99)).is_empty());
    }

    #[test]
    fn cidr_membership() {
        let (net, bits) = parse_cidr("10.1.1.0/24").unwrap();
        assert!(in_cidr("10.1.1.77", net, bits));
        assert!(!in_cidr("10.1.2.1", net, bits));
        assert!(parse_cidr("host/24").is_none());
    }
}
