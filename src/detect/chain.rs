//! The chain accumulator shared by every engine: the events linked so far, by stage, with how
//! each was linked, plus what the links reveal (services, tools, origin hints, sources).

use super::finding::{ServiceRef, Stage};
use crate::model::LogonId;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashSet};

#[derive(Debug, Clone)]
pub struct Link {
    pub idx: usize,
    pub stage: Stage,
    pub how: String,
}

/// What identifies the service of a chain: installed, or inferred from a helper or pipe.
#[derive(Debug, Clone, Default)]
pub struct ServiceId {
    /// Display and key names seen (7045 gives the display name, 4697/registry the key name).
    pub names: Vec<String>,
    pub image: Option<String>,
    pub account: Option<String>,
    /// Whether an install event was seen (else the service is inferred).
    pub installed: bool,
    /// Every install record of it declares a kernel or file-system driver.
    pub kernel_driver: bool,
}

impl ServiceId {
    pub fn has_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    pub fn add_name(&mut self, name: &str) {
        let t = name.trim();
        if !t.is_empty() && !self.has_name(t) {
            self.names.push(t.to_string());
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub target_key: String,
    pub t0: Option<DateTime<Utc>>,
    pub links: Vec<Link>,
    seen: HashSet<usize>,
    pub service: ServiceId,
    /// Correlation types satisfied (`logon_then_service`, ...).
    pub signals: BTreeSet<super::signal::Signal>,
    /// Tool display names.
    pub tools: BTreeSet<String>,
    /// A tool identified by a strong signature (client binary, helper, pipe scheme).
    pub known_tool: bool,
    /// Proof that the client ran on the target itself (its tool run, its EULA key, a pipe naming
    /// the target as the client).
    pub local: Vec<String>,
    /// Traffic from loopback or the target's own addresses: local use only when nothing shows a
    /// remote client (a server talks to itself right after a remote install).
    pub local_weak: Vec<String>,
    pub remote: Vec<String>,
    /// Remote evidence an attacker on the target cannot write: a network logon or share access
    /// from another address, a pipe naming another client host, a tool run or outbound SMB on
    /// another host naming this one. It outranks every claim of local use.
    pub remote_proof: Vec<String>,
    /// Tool fingerprints matched in the chain's own events: what matched, in which event, and
    /// the signature's source.
    pub fingerprints: Vec<String>,
    /// Links made by inference rather than by a field the event carries (a process's parent
    /// resolved from its creator process id).
    pub inferred: Vec<String>,
    /// A host-level campaign the chain stands for (start time-outs of random-named services).
    pub campaign: Option<super::finding::Campaign>,
    pub source_hosts: BTreeSet<String>,
    pub source_ips: BTreeSet<String>,
    pub logon_ids: BTreeSet<LogonId>,
    /// (source ip, user key) pairs of the attacker's SMB sessions.
    pub sessions: BTreeSet<(String, String)>,
    pub user: Option<String>,
    /// Seen only in the logs of this source host (a tool run naming a target whose own logs
    /// are absent).
    pub source_only: Option<String>,
    /// The logon link came only through the installer's SID and time (7045).
    pub weak_logon: bool,
    /// The install was made by a user account (installer SID not SYSTEM/LOCAL/NETWORK SERVICE).
    pub by_user_account: bool,
    /// Services in the chain when several installs were grouped (Sentinel grouping).
    pub extra_services: Vec<ServiceRef>,
    /// Events that would have joined beyond `MAX_LINKS_PER_STAGE` of their stage: counted, not
    /// linked (thousands of logons on one logon id, pipe floods).
    pub omitted: u64,
}

/// The most events of one stage a chain links. Real chains have a handful; an attacker who
/// shares one logon id across thousands of logons (or floods pipes) would otherwise make every
/// finding carry all of them (1.3 GB for 1.5 MB of input).
pub const MAX_LINKS_PER_STAGE: usize = 64;

impl Chain {
    pub fn new(target_key: &str) -> Self {
        Chain {
            target_key: target_key.to_string(),
            ..Chain::default()
        }
    }

    /// Links an event once; `false` when it was already linked, or when the chain already holds
    /// `MAX_LINKS_PER_STAGE` events of the stage (then it is counted in `omitted`).
    pub fn add(&mut self, idx: usize, stage: Stage, how: impl Into<String>) -> bool {
        if !self.seen.insert(idx) {
            return false;
        }
        if self.links.len() >= MAX_LINKS_PER_STAGE
            && self.links.iter().filter(|l| l.stage == stage).count() >= MAX_LINKS_PER_STAGE
        {
            self.omitted += 1;
            return false;
        }
        self.links.push(Link {
            idx,
            stage,
            how: how.into(),
        });
        true
    }

    pub fn has(&self, idx: usize) -> bool {
        self.seen.contains(&idx)
    }

    pub fn has_stage(&self, stage: Stage) -> bool {
        self.links.iter().any(|l| l.stage == stage)
    }

    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.links.iter().map(|l| l.idx)
    }

    pub fn merge(&mut self, mut other: Chain) {
        for l in std::mem::take(&mut other.links) {
            self.add(l.idx, l.stage, l.how);
        }
        self.merge_facts(other);
    }

    /// `merge` without the other chain's evidence links: what it tells (accounts, addresses,
    /// logon ids, signals, reasons) joins this chain.
    pub fn merge_facts(&mut self, other: Chain) {
        for n in &other.service.names {
            self.service.add_name(n);
        }
        if self.service.image.is_none() {
            self.service.image = other.service.image;
        }
        self.service.installed |= other.service.installed;
        self.service.kernel_driver &= other.service.kernel_driver;
        self.omitted += other.omitted;
        self.signals.extend(other.signals);
        self.tools.extend(other.tools);
        self.known_tool |= other.known_tool;
        self.local.extend(other.local);
        self.local_weak.extend(other.local_weak);
        self.remote.extend(other.remote);
        for r in other.remote_proof {
            if !self.remote_proof.contains(&r) {
                self.remote_proof.push(r);
            }
        }
        for f in other.fingerprints {
            if !self.fingerprints.contains(&f) {
                self.fingerprints.push(f);
            }
        }
        for f in other.inferred {
            if !self.inferred.contains(&f) {
                self.inferred.push(f);
            }
        }
        self.source_hosts.extend(other.source_hosts);
        self.source_ips.extend(other.source_ips);
        self.logon_ids.extend(other.logon_ids);
        self.sessions.extend(other.sessions);
        if self.user.is_none() {
            self.user = other.user;
        }
        self.weak_logon &= other.weak_logon;
        self.t0 = match (self.t0, other.t0) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}
