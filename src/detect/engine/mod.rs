//! The engines a profile names: `chain` (svchop's, in `chain/`) and the reference detections as
//! written (`logon_service`: Elastic/Sigma/Threat Hunter Playbook; `sentinel`: Sentinel
//! DE-HY25.07; `hunt`: the hunt guide's stage queries chained per host). The reference engines
//! carry no svchop refinements. `JoinFacts` is what their joins need from other hosts.

use crate::detect::install::install_record;
use crate::detect::profile::Engine;
use crate::detect::profile::Profile;
use crate::model::Event;
use crate::store::Store;
use std::ops::Range;

pub mod chain;
pub mod hunt;
pub mod logon_service;
pub mod sentinel;

use sentinel::sentinel_tool;

fn logon_passes(p: &Profile, e: &Event) -> bool {
    let r = &p.logon;
    let ip = e.fields.net.src_ip.as_deref();
    r.event_ids.contains(&e.event_id)
        && e.fields
            .logon
            .logon_type
            .is_some_and(|t| r.logon_types.contains(&t))
        && !(r.require_source_ip && ip.is_none_or(|i| i == "-" || i.is_empty()))
        && !ip.is_some_and(|i| r.exclude_source_ips.iter().any(|x| x == i))
        && !(r.exclude_machine_accounts && e.fields.target.is_machine_account())
}

/// What the reference joins need from other hosts than the one being scanned, folded host by
/// host (facts of parts merge into the facts of the whole): Sentinel's lateral tool runs, and
/// for a profile that joins logons across hosts (Threat Hunter Playbook) the network logons by
/// logon id.
#[derive(Debug, Default, Clone)]
pub(crate) struct JoinFacts {
    /// Sentinel correlation 2: (store index, file name, the `\\HOST` named), in store order.
    tools: Vec<(usize, String, Option<String>)>,
    /// Passing network logons by logon id, any host, in store order (`same_host = false`).
    logons_by_id: std::collections::HashMap<u64, Vec<usize>>,
    /// The logon ids installs name (`same_host = false`): the logons worth carrying from one
    /// part of a fleet to another.
    install_logon_ids: std::collections::BTreeSet<u64>,
}

impl JoinFacts {
    pub(crate) fn learn(&mut self, i: usize, e: &Event, p: &Profile) {
        match p.engine {
            Engine::Sentinel => {
                if let Some((f, t)) = sentinel_tool(p, e) {
                    self.tools.push((i, f, t));
                }
            }
            Engine::LogonService if !p.logon.same_host => {
                if e.event_id == 4624
                    && logon_passes(p, e)
                    && let Some(l) = e.fields.logon_id
                {
                    self.logons_by_id.entry(l.0).or_default().push(i);
                }
                if let Some(l) = install_record(i, e, p).and_then(|r| r.logon_id) {
                    self.install_logon_ids.insert(l.0);
                }
            }
            _ => {}
        }
    }

    /// Store indices of the reference tool runs (Sentinel).
    pub(crate) fn tool_runs(&self) -> impl Iterator<Item = usize> + '_ {
        self.tools.iter().map(|t| t.0)
    }

    /// Network logons by logon id: (id, store indices).
    pub(crate) fn logons(&self) -> impl Iterator<Item = (u64, &[usize])> + '_ {
        self.logons_by_id.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// The logon ids installs name.
    pub(crate) fn install_logon_ids(&self) -> &std::collections::BTreeSet<u64> {
        &self.install_logon_ids
    }

    /// The facts of a host's events moved `by` places in the store (`Context::shift`).
    pub(crate) fn shift(&mut self, by: isize) {
        for t in &mut self.tools {
            t.0 = t.0.saturating_add_signed(by);
        }
        for v in self.logons_by_id.values_mut() {
            for i in v {
                *i = i.saturating_add_signed(by);
            }
        }
    }

    /// Adds what other hosts gave (any order: lists are put back in store order).
    pub(crate) fn absorb(&mut self, other: JoinFacts) {
        self.install_logon_ids.extend(other.install_logon_ids);
        self.tools.extend(other.tools);
        self.tools.sort_by_key(|t| t.0);
        for (id, mut v) in other.logons_by_id {
            let mine = self.logons_by_id.entry(id).or_default();
            mine.append(&mut v);
            mine.sort_unstable();
        }
    }

    /// Everything the joins hold, as one number (events named by where they were read): a
    /// live collection scans a host again when it changes.
    pub(crate) fn digest(&self, store: &Store) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        let event = |h: &mut std::hash::DefaultHasher, i: usize| {
            crate::detect::reads::identity(store, i).hash(h);
        };
        for (i, file, target) in &self.tools {
            event(&mut h, *i);
            (file, target).hash(&mut h);
        }
        let mut ids: Vec<&u64> = self.logons_by_id.keys().collect();
        ids.sort();
        for id in ids {
            id.hash(&mut h);
            for &i in self.logons_by_id.get(id).into_iter().flatten() {
                event(&mut h, i);
            }
        }
        self.install_logon_ids.hash(&mut h);
        h.finish()
    }

    /// Other hosts' events the joins of the host at `range` may reach: every tool run (Sentinel),
    /// or the logons sharing a logon id with one of the host's installs.
    pub(crate) fn outside(&self, store: &Store, range: &Range<usize>, p: &Profile) -> Vec<usize> {
        let mut out: Vec<usize> = self.tools.iter().map(|t| t.0).collect();
        if !self.logons_by_id.is_empty() {
            for i in range.clone() {
                if let Some(lid) = store
                    .get_typed(i)
                    .and_then(|e| install_record(i, &e, p))
                    .and_then(|r| r.logon_id)
                {
                    out.extend(self.logons_by_id.get(&lid.0).into_iter().flatten());
                }
            }
        }
        out
    }
}
