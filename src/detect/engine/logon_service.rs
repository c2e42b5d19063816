//! Elastic, Sigma and the Threat Hunter Playbook as written: a network logon joined to a service
//! install on its logon id (or the install alone where the profile allows it).

use super::{JoinFacts, logon_passes};
use crate::detect::chain::Chain;
use crate::detect::context::HostView;
use crate::detect::finding::Stage;
use crate::detect::install::{InstallRecord, install_record};
use crate::detect::profile::{Profile, secs};
use crate::detect::signal::Signal;
use crate::model::Event;
use crate::model::host::is_loopback_or_empty;
use std::collections::BTreeMap;

/// Elastic / Sigma / Threat Hunter Playbook: each install with a logon id joined to the network
/// logons of that id (same host unless the profile says otherwise) within the window.
pub(crate) fn logon_service(view: &HostView<'_>, facts: &JoinFacts, p: &Profile) -> Vec<Chain> {
    let store = view.store;
    let mut local: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    if p.logon.same_host {
        for (i, e) in view.events_of(&[4624]) {
            if logon_passes(p, &e)
                && let Some(l) = e.fields.logon_id
            {
                local.entry(l.0).or_default().push(i);
            }
        }
    }
    let win = p.windows.logon_to_install;
    let mut chains = Vec::new();
    for i in view.range.clone() {
        let Some(e) = store.read(i) else { continue };
        let Some(rec) = install_record(i, &e, p) else {
            continue;
        };
        let Some(lid) = rec.logon_id else { continue };
        let cands = if p.logon.same_host {
            local.get(&lid.0)
        } else {
            facts.logons_by_id.get(&lid.0)
        };
        let Some(cands) = cands else { continue };
        let hits: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&li| {
                store.time(li).is_some_and(|t| {
                    let d = e.ts.signed_duration_since(t);
                    win < 0 || (d >= chrono::TimeDelta::zero() && d <= secs(win))
                })
            })
            .collect();
        if hits.is_empty() {
            continue;
        }
        let mut c = install_only_chain(&e, &rec);
        for li in hits {
            if let Some(l) = store.read(li) {
                c.add(li, Stage::Logon, format!("logon id {lid}"));
                if let Some(ip) = l
                    .fields
                    .net
                    .src_ip
                    .as_deref()
                    .filter(|i| !is_loopback_or_empty(i))
                {
                    c.source_ips.insert(ip.to_string());
                }
                c.user = c.user.take().or_else(|| l.fields.target.display());
            }
        }
        c.logon_ids.insert(lid);
        c.signals.insert(Signal::LogonThenService);
        chains.push(c);
    }
    chains
}

fn install_only_chain(e: &Event, rec: &InstallRecord) -> Chain {
    let mut c = Chain::new(&e.host.key);
    c.t0 = Some(e.ts);
    c.add(rec.idx, Stage::Install, "service installed");
    if let Some(n) = &rec.name {
        c.service.add_name(n);
    }
    c.service.image.clone_from(&rec.image);
    c.service.account.clone_from(&rec.account);
    c.service.installed = true;
    c.user.clone_from(&rec.user);
    c
}
