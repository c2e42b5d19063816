//! Pivots: the fields an analyst can follow, the value of a field on an event or finding, the
//! rule of what matches a value, and the index that answers a pivot with its matches without
//! reading every event. Core: the workbench and anything else that pivots use it.

use crate::detect::finding::Finding;
use crate::model::Event;

/// Fields a pivot can follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PivotField {
    User,
    SourceIp,
    SourceHost,
    LogonId,
    Service,
    Image,
    CommandLine,
    ParentImage,
}

impl PivotField {
    pub fn label(self) -> &'static str {
        match self {
            PivotField::User => "user",
            PivotField::SourceIp => "source ip",
            PivotField::SourceHost => "source host",
            PivotField::LogonId => "logon id",
            PivotField::Service => "service",
            PivotField::Image => "image path",
            PivotField::CommandLine => "command line",
            PivotField::ParentImage => "parent image",
        }
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// `DOMAIN\user` against an account: the user must match, and the domain too when both are
/// known (`CORP` meets `corp.local`; local accounts of different hosts do not meet).
fn account_matches(acct: &crate::model::Account, value: &str) -> bool {
    fn short(d: &str) -> &str {
        d.split('.').next().unwrap_or(d)
    }
    let (domain, user) = match value.rsplit_once('\\') {
        Some((d, u)) => (Some(d), u),
        None => (None, value),
    };
    acct.user.as_deref().is_some_and(|u| eq(u, user))
        && match (domain, acct.domain.as_deref()) {
            (Some(a), Some(b)) => short(a).eq_ignore_ascii_case(short(b)),
            _ => true,
        }
}

/// Whether a value is a SID (`S-1-5-18`): a user pivot on it matches the SID fields.
pub fn is_sid(value: &str) -> bool {
    value
        .trim()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("s-1-"))
}

/// An address worth pivoting on (not empty, `-` or a loopback).
fn usable_ip(ip: &str) -> bool {
    !crate::model::host::is_loopback_or_empty(ip) && ip.trim() != "-"
}

/// The remote side of an event's connection: the address that is not the logging host's. A
/// Sysmon 3 record names both ends (old Sysmon puts the local side first on inbound
/// connections); other events name the source only.
pub fn remote_ip(e: &Event) -> Option<String> {
    let n = &e.fields.net;
    let src = n.src_ip.as_deref().filter(|i| usable_ip(i));
    let dst = n.dst_ip.as_deref().filter(|i| usable_ip(i));
    if e.event_id != 3 {
        return src.map(str::to_string);
    }
    let names_me = |h: Option<&str>| h.is_some_and(|h| crate::model::host_key(h) == *e.host.key);
    let remote = if names_me(n.src_host.as_deref()) {
        dst
    } else if names_me(n.dst_host.as_deref()) {
        src
    } else {
        match n.initiated {
            Some(true) => dst,
            Some(false) if n.src_port.is_some_and(|p| p < 1024) => dst,
            _ => src,
        }
    };
    remote.or(src).or(dst).map(str::to_string)
}

/// Every address an event carries (source and destination).
fn event_ips(e: &Event) -> impl Iterator<Item = &str> {
    let n = &e.fields.net;
    [n.src_ip.as_deref(), n.dst_ip.as_deref()]
        .into_iter()
        .flatten()
        .filter(|i| usable_ip(i))
}

/// Every SID an event carries (subject, target, the record's user).
fn event_sids(e: &Event) -> impl Iterator<Item = &str> {
    let f = &e.fields;
    [
        f.subject.sid.as_deref(),
        f.target.sid.as_deref(),
        f.user_sid.as_deref(),
    ]
    .into_iter()
    .flatten()
}

/// The value of `field` on an event.
pub fn event_value(e: &Event, field: PivotField) -> Option<String> {
    let f = &e.fields;
    match field {
        PivotField::User => e.actor(),
        PivotField::SourceIp => remote_ip(e),
        PivotField::SourceHost => f
            .logon
            .workstation
            .as_deref()
            .or(f.net.src_host.as_deref())
            .map(str::to_string),
        PivotField::LogonId => f
            .logon_id
            .filter(|l| !l.is_well_known())
            .map(|l| l.to_string()),
        PivotField::Service => f.service.name.as_deref().map(str::to_string),
        PivotField::Image => f
            .service
            .image_path
            .as_deref()
            .or(f.process.image.as_deref())
            .map(str::to_string),
        PivotField::CommandLine => f.process.command_line.as_deref().map(str::to_string),
        PivotField::ParentImage => f.process.parent_image.as_deref().map(str::to_string),
    }
}

/// The value of `field` on a finding (used when the event has none).
pub fn finding_value(f: &Finding, field: PivotField) -> Option<String> {
    match field {
        PivotField::User => f.user.clone(),
        PivotField::SourceIp => f.source_ips.first().cloned(),
        PivotField::SourceHost => f.source_hosts.first().cloned(),
        PivotField::LogonId => f.logon_ids.first().map(ToString::to_string),
        PivotField::Service => f.services.iter().find_map(|s| s.name.clone()),
        PivotField::Image => f.services.iter().find_map(|s| s.image_path.clone()),
        PivotField::CommandLine => f.processes.first().cloned(),
        PivotField::ParentImage => None,
    }
}

pub fn event_matches(e: &Event, field: PivotField, value: &str) -> bool {
    let f = &e.fields;
    match field {
        PivotField::User if is_sid(value) => event_sids(e).any(|s| eq(s, value)),
        PivotField::User => {
            [&f.subject, &f.target]
                .iter()
                .any(|a| account_matches(a, value))
                || f.process.user.as_deref().is_some_and(|u| eq(u, value))
        }
        PivotField::SourceIp => event_ips(e).any(|i| eq(i, value)),
        PivotField::SourceHost => {
            let key = crate::model::host_key(value);
            [f.logon.workstation.as_deref(), f.net.src_host.as_deref()]
                .iter()
                .flatten()
                .any(|h| crate::model::host_key(h) == key)
                || *e.host.key == *key && f.net.initiated == Some(true)
        }
        other => event_value(e, other).is_some_and(|v| eq(&v, value)),
    }
}

pub fn finding_matches(fd: &Finding, field: PivotField, value: &str) -> bool {
    match field {
        PivotField::User => fd.user.as_deref().is_some_and(|u| {
            let acct = match u.rsplit_once('\\') {
                Some((d, n)) => crate::model::Account {
                    domain: Some(d.into()),
                    user: Some(n.into()),
                    sid: None,
                },
                None => crate::model::Account {
                    domain: None,
                    user: Some(u.into()),
                    sid: None,
                },
            };
            account_matches(&acct, value)
        }),
        PivotField::SourceIp => fd.source_ips.iter().any(|i| eq(i, value)),
        PivotField::SourceHost => {
            let key = crate::model::host_key(value);
            fd.source_hosts
                .iter()
                .any(|h| crate::model::host_key(h) == key)
                || fd.target_key == key
        }
        PivotField::LogonId => fd.logon_ids.iter().any(|l| eq(&l.to_string(), value)),
        PivotField::Service => fd.services.iter().any(|s| {
            s.name.as_deref().is_some_and(|n| eq(n, value))
                || s.key_name.as_deref().is_some_and(|n| eq(n, value))
        }),
        PivotField::Image => fd
            .services
            .iter()
            .any(|s| s.image_path.as_deref().is_some_and(|n| eq(n, value))),
        PivotField::CommandLine | PivotField::ParentImage => {
            fd.processes.iter().any(|p| eq(p, value))
        }
    }
}

/// Events by (field, key), each list in time order. Keys are exact: an event is listed under a
/// value's key(s) if and only if the pivot rule (`event_matches`) says it matches, so a pivot
/// costs its matches and never reads the events themselves.
///
/// Compact at scale (10M events give millions of distinct logon ids and command lines): a key is
/// kept as a 64-bit hash under a per-process random key (no string held; an attacker who shapes
/// the logs cannot aim at a collision), and every key's ranks sit in one shared array.
#[derive(Debug, Default)]
pub struct PivotIndex {
    /// Each key's place in `ranks`: (start, count).
    keys: std::collections::HashMap<u64, (u32, u32)>,
    /// Every key's events as time ranks, ascending within a key (merging lists is merging sorted
    /// numbers).
    ranks: Vec<u32>,
    /// The event at each time rank (store order is host, then time).
    order: Vec<u32>,
    hasher: std::hash::RandomState,
}

/// Every field a pivot can follow.
pub const FIELDS: [PivotField; 8] = [
    PivotField::User,
    PivotField::SourceIp,
    PivotField::SourceHost,
    PivotField::LogonId,
    PivotField::Service,
    PivotField::Image,
    PivotField::CommandLine,
    PivotField::ParentImage,
];

/// What `eq` compares: trimmed, ASCII case folded.
fn fold(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// The short domain as `account_matches` compares it.
fn short_domain(d: &str) -> String {
    d.split('.').next().unwrap_or(d).to_ascii_lowercase()
}

/// The keys a pivot value is looked up under (their lists together are the matches).
pub fn query_keys(field: PivotField, value: &str) -> Vec<String> {
    match field {
        PivotField::User if is_sid(value) => vec![format!("s:{}", fold(value))],
        PivotField::User => {
            let mut keys = vec![format!("p:{}", fold(value))];
            match value.rsplit_once('\\') {
                Some((d, u)) => {
                    keys.push(format!("ad:{}\\{}", short_domain(d), fold(u)));
                    keys.push(format!("an:{}", fold(u)));
                }
                None => keys.push(format!("a:{}", fold(value))),
            }
            keys
        }
        PivotField::SourceHost => vec![crate::model::host_key(value)],
        _ => vec![fold(value)],
    }
}

/// Every key an event is listed under for `field`.
fn event_keys(e: &Event, field: PivotField) -> Vec<String> {
    let f = &e.fields;
    match field {
        PivotField::User => {
            let mut keys = Vec::new();
            for acct in [&f.subject, &f.target] {
                let Some(user) = acct.user.as_deref() else {
                    continue;
                };
                let user = fold(user);
                match acct.domain.as_deref() {
                    Some(dom) => keys.push(format!("ad:{}\\{user}", short_domain(dom))),
                    None => keys.push(format!("an:{user}")),
                }
                keys.push(format!("a:{user}"));
            }
            if let Some(p) = f.process.user.as_deref() {
                keys.push(format!("p:{}", fold(p)));
            }
            keys.extend(event_sids(e).map(|s| format!("s:{}", fold(s))));
            keys
        }
        PivotField::SourceIp => event_ips(e).map(fold).collect(),
        PivotField::SourceHost => {
            let mut v: Vec<String> = [f.logon.workstation.as_deref(), f.net.src_host.as_deref()]
                .into_iter()
                .flatten()
                .map(crate::model::host_key)
                .collect();
            if f.net.initiated == Some(true) {
                v.push(e.host.key.to_string());
            }
            v
        }
        other => event_value(e, other)
            .map(|v| fold(&v))
            .into_iter()
            .collect(),
    }
}

impl PivotIndex {
    /// Two passes over the events (count each key's events, then place them), so building never
    /// holds more than the index itself.
    pub fn build(store: &crate::store::Store) -> Self {
        let n = store.len();
        let mut order: Vec<u32> = (0..u32::try_from(n).unwrap_or(u32::MAX)).collect();
        order.sort_by_key(|&i| (store.time(i as usize), i));
        let mut index = PivotIndex {
            order,
            ..PivotIndex::default()
        };
        let mut counts: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        index.each_key(store, |key, _| *counts.entry(key).or_default() += 1);
        let mut start = 0u32;
        index.keys.reserve(counts.len());
        for (key, count) in counts {
            index.keys.insert(key, (start, 0));
            start = start.saturating_add(count);
        }
        let mut ranks = vec![0u32; start as usize];
        let keys = &mut index.keys;
        let walk = PivotIndex {
            order: std::mem::take(&mut index.order),
            hasher: index.hasher.clone(),
            ..PivotIndex::default()
        };
        walk.each_key(store, |key, rank| {
            if let Some((start, filled)) = keys.get_mut(&key)
                && let Some(slot) = ranks.get_mut((*start + *filled) as usize)
            {
                *slot = rank;
                *filled += 1;
            }
        });
        index.order = walk.order;
        index.ranks = ranks;
        index
    }

    fn key(&self, field: PivotField, key: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one((field as u8, key))
    }

    /// Every (key, time rank) of every event, in rank order.
    fn each_key(&self, store: &crate::store::Store, mut f: impl FnMut(u64, u32)) {
        for (rank, &i) in self.order.iter().enumerate() {
            let Some(e) = store.get_typed(i as usize) else {
                continue;
            };
            let rank = u32::try_from(rank).unwrap_or(u32::MAX);
            for field in FIELDS {
                let mut keys = event_keys(&e, field);
                keys.sort_unstable();
                keys.dedup();
                for k in keys {
                    f(self.key(field, &k), rank);
                }
            }
        }
    }

    /// The matching events in time order, or `None` when the index is empty (not built).
    pub fn matches(&self, field: PivotField, value: &str) -> Option<Vec<usize>> {
        if self.keys.is_empty() {
            return None;
        }
        // An event listed under several keys (spellings of one account) comes once.
        let mut ranks: Vec<u32> = Vec::new();
        for (start, count) in query_keys(field, value)
            .into_iter()
            .filter_map(|k| self.keys.get(&self.key(field, &k)))
        {
            let list = self
                .ranks
                .get(*start as usize..(*start + *count) as usize)
                .unwrap_or_default();
            ranks = merge_sorted(&ranks, list);
        }
        Some(
            ranks
                .into_iter()
                .filter_map(|r| self.order.get(r as usize).map(|&i| i as usize))
                .collect(),
        )
    }
}

/// The union of two ascending lists, ascending, each number once.
fn merge_sorted(left: &[u32], right: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut at_left, mut at_right) = (0, 0);
    while let (Some(&l), Some(&r)) = (left.get(at_left), right.get(at_right)) {
        out.push(l.min(r));
        at_left += usize::from(l <= r);
        at_right += usize::from(r <= l);
    }
    out.extend_from_slice(left.get(at_left..).unwrap_or_default());
    out.extend_from_slice(right.get(at_right..).unwrap_or_default());
    out
}

/// The findings (indices) and events (store indices, in time order) that share `value` in
/// `field`; without an index (empty), every event is read, with the same result.
pub fn search(
    store: &crate::store::Store,
    index: &PivotIndex,
    findings: &[Finding],
    field: PivotField,
    value: &str,
) -> (Vec<usize>, Vec<usize>) {
    let found = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| finding_matches(f, field, value))
        .map(|(i, _)| i)
        .collect();
    let events = matching_events(store, index, field, value);
    if field == PivotField::User && is_sid(value) {
        return with_sid_accounts(store, index, findings, value, found, events);
    }
    (found, events)
}

fn matching_events(
    store: &crate::store::Store,
    index: &PivotIndex,
    field: PivotField,
    value: &str,
) -> Vec<usize> {
    index.matches(field, value).unwrap_or_else(|| {
        let mut v: Vec<usize> = (0..store.len())
            .filter(|&i| {
                store
                    .get_typed(i)
                    .is_some_and(|e| event_matches(&e, field, value))
            })
            .collect();
        v.sort_by_key(|&i| (store.time(i), i));
        v
    })
}

/// A SID matches the events of its account too: the accounts the SID's own events name with
/// it (`NT AUTHORITY\SYSTEM` for `S-1-5-18`), their events and findings added.
fn with_sid_accounts(
    store: &crate::store::Store,
    index: &PivotIndex,
    findings: &[Finding],
    sid: &str,
    mut found: Vec<usize>,
    events: Vec<usize>,
) -> (Vec<usize>, Vec<usize>) {
    let mut names: Vec<String> = Vec::new();
    for &i in &events {
        let Some(e) = store.get_typed(i) else {
            continue;
        };
        for a in [&e.fields.subject, &e.fields.target] {
            if a.sid.as_deref().is_some_and(|s| eq(s, sid))
                && let Some(name) = a.display()
                && !is_sid(&name)
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        // A handful of spellings is every account a SID has.
        if names.len() >= 4 {
            break;
        }
    }
    let mut all = events;
    for name in &names {
        let more = matching_events(store, index, PivotField::User, name);
        all.extend(more);
        found.extend(
            findings
                .iter()
                .enumerate()
                .filter(|(_, f)| finding_matches(f, PivotField::User, name))
                .map(|(i, _)| i),
        );
    }
    all.sort_by_key(|&i| (store.time(i), i));
    all.dedup();
    found.sort_unstable();
    found.dedup();
    (found, all)
}

#[cfg(test)]
mod merge_tests {
    #[test]
    fn merge_sorted_is_the_ascending_union() {
        assert_eq!(
            super::merge_sorted(&[1, 4, 6, 9], &[2, 4, 9, 10, 12]),
            vec![1, 2, 4, 6, 9, 10, 12]
        );
        assert_eq!(super::merge_sorted(&[], &[3, 5]), vec![3, 5]);
        assert_eq!(super::merge_sorted(&[7], &[]), vec![7]);
    }
}
