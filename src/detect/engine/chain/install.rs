//! A chain anchored on a service install (or a modification of an existing service): its
//! records, what was modified and restored, and every other stage linked around it.

use super::short;
use crate::detect::chain::Chain;
use crate::detect::finding::Stage;
use crate::detect::install::InstallRecord;
use crate::detect::link::{Linker, note_fingerprint, push_unique};
use crate::detect::profile::secs;
use crate::detect::signal::Signal;
use crate::model::Event;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

pub(super) fn install_chain(l: &Linker<'_>, group: &[InstallRecord], scm_pids: &[u32]) -> Chain {
    let mut c = Chain::new(l.view.key);
    let t0 = group
        .iter()
        .map(|r| r.ts)
        .min()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    c.t0 = Some(t0);
    let modified = modification(l, group);
    c.service.installed = modified.is_none();
    add_records(&mut c, group, modified.as_ref());
    if let Some(m) = &modified {
        for &i in &m.later_restores {
            c.add(i, Stage::Cleanup, "service binary path restored");
        }
    }
    let ids: Vec<_> = group
        .iter()
        .filter_map(|r| r.logon_id)
        .filter(|l| !l.is_well_known())
        .collect();
    c.logon_ids.extend(ids.iter().copied());
    l.logons_by_id(&mut c, &ids, t0);
    if !c.has_stage(Stage::Logon) {
        let sids: Vec<String> = group.iter().filter_map(|r| r.sid.clone()).collect();
        let users: Vec<String> = group
            .iter()
            .filter(|r| l.view.store.get(r.idx).is_some_and(|e| e.event_id == 7045))
            .filter_map(|r| {
                r.user
                    .as_deref()
                    .map(|u| u.rsplit('\\').next().unwrap_or(u).to_string())
            })
            .collect();
        l.logons_by_installer(&mut c, &sids, &users, t0);
    }
    if !c.has_stage(Stage::Logon) && modified.is_some() {
        l.scm_session_before(&mut c, t0);
        if !c.has_stage(Stage::Logon) && !c.has_stage(Stage::Pipe) {
            l.network_logon_before(&mut c, t0);
        }
    }
    let tool = l
        .pats
        .tool_for_service(
            c.service.names.first().map(String::as_str),
            c.service.image.as_deref(),
        )
        .or_else(|| c.service.names.iter().find_map(|n| l.pats.tool_for_name(n)));
    if let Some(t) = tool {
        c.tools.insert(l.pats.tools[t].name.clone());
        c.known_tool = true;
        let image = c.service.image.as_deref().map(|i| short(i, 80));
        let what = match (c.service.names.first(), image.as_deref()) {
            (Some(n), Some(i)) => format!("installed service {n} ({i})"),
            (Some(n), None) => format!("installed service {n}"),
            (None, Some(i)) => format!("installed service ({i})"),
            (None, None) => "installed service".to_string(),
        };
        note_fingerprint(&mut c, l.pats, t, &what);
    }
    link_rest(l, &mut c, t0, tool, scm_pids);
    if let Some(img) = c.service.image.as_deref()
        && l.pats.is_getsystem(img)
    {
        push_unique(
            &mut c.local,
            "service command echoes into a local named pipe (getsystem-style privilege escalation)"
                .into(),
        );
    }
    c
}

/// The chain's anchor records: installs, or the change and restore of a modification.
pub(super) fn add_records(c: &mut Chain, group: &[InstallRecord], modified: Option<&Modification>) {
    // A record without a type (Sysmon 13) counts as a driver by its `.sys` file.
    c.service.kernel_driver = group.iter().all(|r| match r.kernel_driver {
        Some(driver) => driver,
        None => r.image.as_deref().is_some_and(|i| {
            i.trim()
                .trim_matches('"')
                .to_ascii_lowercase()
                .ends_with(".sys")
        }),
    }) && !group.is_empty();
    for r in group {
        let (stage, how) = match modified {
            Some(m) if m.restores.contains(&r.idx) => {
                (Stage::Cleanup, "service binary path restored")
            }
            Some(_) => (
                Stage::Modify,
                "existing service's binary path changed (ChangeServiceConfig, sc config binPath=)",
            ),
            None => (Stage::Install, "service installed"),
        };
        c.add(r.idx, stage, how);
        if let Some(n) = &r.name {
            c.service.add_name(n);
        }
        if c.service.image.is_none() {
            c.service.image.clone_from(&r.image);
        }
        if c.service.account.is_none() {
            c.service.account.clone_from(&r.account);
        }
        if c.user.is_none() {
            c.user.clone_from(&r.user);
        }
        c.by_user_account |= r.sid.as_deref().is_some_and(|s| s.starts_with("S-1-5-21-"));
    }
}

/// How an existing service was modified rather than installed.
pub(super) struct Modification {
    /// Records of the group that put the binary path back.
    restores: Vec<usize>,
    /// Later registry writes (within the lifecycle window) that put it back.
    later_restores: Vec<usize>,
}

/// A group of Sysmon 13 `ImagePath` writes only (no 7045/4697) is a modification of an existing
/// service when the key had a binary path before, or the path is put back afterwards (`SCShell`
/// changes, starts, restores), or the host's System log is there and shows no install of it.
pub(super) fn modification(l: &Linker<'_>, group: &[InstallRecord]) -> Option<Modification> {
    let first = group.first()?;
    if group.iter().any(|r| r.event_id != 13) {
        return None;
    }
    let key = first.name.as_deref()?;
    let changed_to = first.image.as_deref().unwrap_or("");
    let restores: Vec<usize> = group
        .iter()
        .skip(1)
        .filter(|r| {
            r.image
                .as_deref()
                .is_some_and(|i| !i.eq_ignore_ascii_case(changed_to))
        })
        .map(|r| r.idx)
        .collect();
    let win = secs(l.profile.windows.lifecycle);
    let (from, to) = crate::detect::context::span(first.ts, win, win);
    let in_group: HashSet<usize> = group.iter().map(|r| r.idx).collect();
    let mut before = false;
    let mut later_restores = Vec::new();
    let mut system_log = false;
    let mut installed = false;
    for (i, e) in l.sess.with_ids(l.view.store, &[13, 7045, 7036], from, to) {
        let e: &Event = &e;
        match e.event_id {
            13 if !in_group.contains(&i) => {
                let same_key = e
                    .fields
                    .registry
                    .target_object
                    .as_deref()
                    .and_then(crate::detect::install::service_key_from_registry)
                    .is_some_and(|k| k.eq_ignore_ascii_case(key));
                if !same_key {
                    continue;
                }
                if e.ts < first.ts {
                    before = true;
                } else if e
                    .fields
                    .registry
                    .details
                    .as_deref()
                    .is_some_and(|d| !d.eq_ignore_ascii_case(changed_to))
                {
                    later_restores.push(i);
                }
            }
            7045 => {
                system_log = true;
                installed |= e
                    .fields
                    .service
                    .name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(key));
            }
            7036 => system_log = true,
            _ => {}
        }
    }
    let modified =
        before || !restores.is_empty() || !later_restores.is_empty() || (system_log && !installed);
    modified.then_some(Modification {
        restores,
        later_restores,
    })
}

/// Everything after the anchor: sessions, pipes, helper writes, processes, lifecycle, network,
/// source side, local use.
pub(super) fn link_rest(
    l: &Linker<'_>,
    c: &mut Chain,
    t0: DateTime<Utc>,
    tool: Option<usize>,
    scm_pids: &[u32],
) {
    let lead_in = c.service.installed;
    l.sessions(c, t0, lead_in);
    l.pipes(c, t0, tool);
    l.helper_writes(c, t0);
    l.sessions(c, t0, lead_in);
    l.processes(c, t0, scm_pids);
    l.lifecycle(c, t0);
    l.inbound(c, t0);
    l.sources(c, t0);
    l.outbound_sources(c, t0);
    l.local_client(c, t0);
    if c.has_stage(Stage::Logon) && (c.service.installed || !c.service.names.is_empty()) {
        c.signals.insert(Signal::LogonThenService);
    }
    if c.has_stage(Stage::Pipe) {
        c.signals.insert(Signal::PipeEvidence);
    }
}
