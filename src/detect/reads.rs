//! The collection's facts as one host's scan reads them. Every lookup a host's scan makes in the
//! collection-wide facts (addresses, names, tool runs, outbound SMB, fan-out) goes through
//! `Reads`, which can note what was asked. A live collection keeps each host's notes: when more
//! evidence arrives, a host whose own events did not change is scanned again only when one of
//! the lookups it made now answers differently (`digest`), so the findings equal a scan of
//! everything from scratch.

use super::context::{ClientRun, Context, Seen, SmbOut};
use crate::model::host::canonical_ip;
use crate::model::is_ip_literal;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// One lookup a host's scan made, by what it looked up (the answer is computed again from the
/// facts to compare).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Read {
    /// A host's own addresses (`names_host`, `is_own_ip`, `host_ips`).
    HostIps(String),
    /// Whether a host key has events in the collection (`is_logged_host`).
    Logged(String),
    /// The hosts an address belonged to (`hosts_of_ip`, `is_logged_host`).
    Ip(String),
    /// The tool runs aimed at a host.
    RunsAimedAt(String),
    /// The tool runs made on a host.
    RunsFrom(String),
    /// The outbound SMB connections to an address.
    SmbTo(String),
    /// A source's fan-out count.
    Burst(String),
}

/// The facts a host's scan reads, noting each lookup when asked to.
pub struct Reads<'a> {
    ctx: &'a Context,
    bursts: &'a HashMap<String, usize>,
    noted: Option<Mutex<BTreeSet<Read>>>,
}

impl<'a> Reads<'a> {
    /// Lookups answered and not noted (a one-shot scan).
    pub fn new(ctx: &'a Context, bursts: &'a HashMap<String, usize>) -> Self {
        Reads {
            ctx,
            bursts,
            noted: None,
        }
    }

    /// Lookups answered and noted (`noted`).
    pub fn noting(ctx: &'a Context, bursts: &'a HashMap<String, usize>) -> Self {
        Reads {
            noted: Some(Mutex::new(BTreeSet::new())),
            ..Self::new(ctx, bursts)
        }
    }

    /// What was looked up.
    pub fn noted(self) -> BTreeSet<Read> {
        self.noted
            .and_then(|m| m.into_inner().ok())
            .unwrap_or_default()
    }

    fn note(&self, r: impl FnOnce() -> Read) {
        if let Some(m) = &self.noted
            && let Ok(mut set) = m.lock()
        {
            set.insert(r());
        }
    }

    pub fn runs_aimed_at(&self, key: &str) -> Vec<&'a ClientRun> {
        self.note(|| Read::RunsAimedAt(key.to_string()));
        self.ctx.runs_aimed_at(key)
    }

    pub fn runs_from(&self, key: &str) -> &'a [ClientRun] {
        self.note(|| Read::RunsFrom(key.to_string()));
        self.ctx.runs_from(key)
    }

    pub fn smb_to(&self, ip: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> &'a [SmbOut] {
        self.note(|| Read::SmbTo(ip.to_string()));
        self.ctx.smb_to(ip, from, to)
    }

    pub fn host_ips(&self, key: &str) -> Option<&'a HashMap<String, Seen>> {
        self.note(|| Read::HostIps(key.to_string()));
        self.ctx.host_ips.get(key)
    }

    pub fn names_host(&self, name: &str, key: &str, at: DateTime<Utc>) -> bool {
        self.note(|| Read::HostIps(key.to_string()));
        self.ctx.names_host(name, key, at)
    }

    pub fn is_own_ip(&self, key: &str, ip: &str, at: DateTime<Utc>) -> bool {
        self.note(|| Read::HostIps(key.to_string()));
        self.ctx.is_own_ip(key, ip, at)
    }

    pub fn hosts_of_ip(&self, ip: &str, at: DateTime<Utc>) -> Vec<String> {
        self.note(|| Read::Ip(canonical_ip(ip).to_string()));
        self.ctx.hosts_of_ip(ip, at)
    }

    /// Whether `name` (short name, FQDN or IP) designates a host whose own events are in the
    /// collection.
    pub fn is_logged_host(&self, name: &str, at: DateTime<Utc>) -> bool {
        let t = name.trim().trim_start_matches('\\');
        if is_ip_literal(t) {
            return self.hosts_of_ip(t, at).iter().any(|h| self.logged(h));
        }
        self.logged(&crate::model::host::host_key(t))
    }

    fn logged(&self, key: &str) -> bool {
        self.note(|| Read::Logged(key.to_string()));
        self.ctx.host_names.contains_key(key)
    }

    /// Store indices of other hosts' events a chain on `key` may link to
    /// (`Context::linkable_from_elsewhere`).
    pub fn linkable_from_elsewhere(&self, key: &str) -> Vec<usize> {
        if self.noted.is_some() {
            self.note(|| Read::RunsAimedAt(key.to_string()));
            self.note(|| Read::HostIps(key.to_string()));
            for ip in self
                .ctx
                .host_ips
                .get(key)
                .into_iter()
                .flat_map(HashMap::keys)
            {
                self.note(|| Read::SmbTo(ip.clone()));
            }
        }
        self.ctx.linkable_from_elsewhere(key)
    }

    /// How many hosts the source reached within the burst window, when that is a burst.
    pub fn burst(&self, src: &str) -> Option<usize> {
        self.note(|| Read::Burst(src.to_string()));
        self.bursts.get(src).copied()
    }
}

/// What the lookups `reads` answer with these facts, as one number: equal numbers, equal
/// answers (events named by their evidence location, not by store index).
pub(crate) fn digest(
    reads: &BTreeSet<Read>,
    ctx: &Context,
    bursts: &HashMap<String, usize>,
    store: &Store,
) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    let event = |h: &mut std::hash::DefaultHasher, i: usize| identity(store, i).hash(h);
    for r in reads {
        r.hash(&mut h);
        match r {
            Read::HostIps(k) => sorted_seen(ctx.host_ips.get(k)).hash(&mut h),
            Read::Ip(ip) => sorted_seen(ctx.ip_hosts.get(ip)).hash(&mut h),
            Read::Logged(k) => ctx.host_names.contains_key(k).hash(&mut h),
            Read::RunsAimedAt(k) => {
                for run in ctx.runs_aimed_at(k) {
                    event(&mut h, run.idx);
                }
            }
            Read::RunsFrom(k) => {
                for run in ctx.runs_from(k) {
                    event(&mut h, run.idx);
                }
            }
            Read::SmbTo(ip) => {
                let all = ctx.smb_to(ip, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
                all.len().hash(&mut h);
                for (_, idx, _) in all {
                    event(&mut h, *idx);
                }
            }
            Read::Burst(src) => bursts.get(src).hash(&mut h),
        }
    }
    h.finish()
}

/// An event by its evidence location and the copies merged into it.
pub fn identity(store: &Store, i: usize) -> Option<(crate::store::Place, usize, Option<u16>)> {
    Some((store.place(i)?, store.copies(i), store.event_id(i)))
}

fn sorted_seen(m: Option<&HashMap<String, Seen>>) -> Vec<(&str, Seen)> {
    let mut v: Vec<(&str, Seen)> = m
        .into_iter()
        .flatten()
        .map(|(k, s)| (k.as_str(), *s))
        .collect();
    v.sort();
    v
}
