//! Microsoft Sentinel DE-HY25.07 as written: three correlations (tool run, service install,
//! SYSTEM process) grouped by target and user.

use super::{JoinFacts, logon_passes};
use crate::detect::chain::Chain;
use crate::detect::context::HostView;
use crate::detect::finding::{ServiceRef, Stage};
use crate::detect::install::{InstallRecord, install_record};
use crate::detect::patterns::file_name;
use crate::detect::profile::{Profile, secs};
use crate::detect::signal::Signal;
use crate::model::Event;
use crate::model::stages::ids;
use crate::store::Window;
use std::collections::BTreeMap;

/// Sentinel Module 2: a process spawned by services.exe that looks like command execution.
fn sentinel_process(p: &Profile, e: &Event) -> bool {
    if !ids("process_start").contains(&e.event_id) {
        return false;
    }
    let pr = &e.fields.process;
    let parent_scm = pr
        .parent_image
        .as_deref()
        .is_some_and(|i| file_name(i) == "services.exe")
        || pr
            .parent_command_line
            .as_deref()
            .is_some_and(|c| c.contains("services.exe"));
    let fname = file_name(pr.image.as_deref().unwrap_or(""));
    let cmd = pr
        .command_line
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    parent_scm
        && (p
            .sentinel
            .process_images
            .iter()
            .any(|i| i.eq_ignore_ascii_case(&fname))
            || p.sentinel
                .process_command_any
                .iter()
                .any(|s| cmd.contains(&s.to_ascii_lowercase())))
}

/// Sentinel Module 4: a lateral tool run, and the `\\HOST` its command names.
pub(super) fn sentinel_tool(p: &Profile, e: &Event) -> Option<(String, Option<String>)> {
    if !ids("process_start").contains(&e.event_id) {
        return None;
    }
    let pr = &e.fields.process;
    let fname = file_name(pr.image.as_deref().unwrap_or(""));
    let cmd = pr.command_line.as_deref().unwrap_or("");
    let lc = cmd.to_ascii_lowercase();
    let hit =
        p.sentinel.tool_names.iter().any(|t| {
            fname.contains(&t.to_ascii_lowercase()) || lc.contains(&t.to_ascii_lowercase())
        }) || p
            .sentinel
            .tool_command_any
            .iter()
            .any(|t| lc.contains(&t.to_ascii_lowercase()));
    if !hit {
        return None;
    }
    let target = cmd.find("\\\\").map(|i| {
        cmd[i + 2..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '\\')
            .collect::<String>()
    });
    let named = lc.contains("psexec")
        || fname.contains("netexec")
        || fname.contains("crackmapexec")
        || lc.contains("wmic /node:");
    (target.as_ref().is_some_and(|t| !t.is_empty()) || named).then_some((fname, target))
}

/// Sentinel DE-HY25.07 on one host: correlations 1-3, then one chain per (target, user).
pub(crate) fn sentinel(view: &HostView<'_>, facts: &JoinFacts, p: &Profile) -> Vec<Chain> {
    let store = view.store;
    let mut installs: Vec<InstallRecord> = Vec::new();
    let mut procs: Vec<usize> = Vec::new();
    // Correlation 3's logons, by logon id (same host).
    let mut logons: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for i in view.range.clone() {
        let Some(e) = store.read(i) else { continue };
        installs.extend(install_record(i, &e, p));
        if sentinel_process(p, &e) {
            procs.push(i);
        }
        if logon_passes(p, &e)
            && let Some(l) = e.fields.logon_id
        {
            logons.entry(l.0).or_default().push(i);
        }
    }
    let mut groups: BTreeMap<String, Chain> = BTreeMap::new();
    let win_p = secs(p.windows.install_to_process);
    for rec in &installs {
        let Some(e) = store.read(rec.idx) else {
            continue;
        };
        // `procs` is in time order: find the window by binary search.
        let from = procs.partition_point(|&pi| store.time(pi).is_some_and(|t| t < e.ts));
        let procs_after: Vec<usize> = procs[from..]
            .iter()
            .copied()
            .take_while(|&pi| store.time(pi).is_some_and(|t| t - e.ts <= win_p))
            .collect();
        if procs_after.is_empty() {
            continue;
        }
        let user = rec.user.clone().unwrap_or_default();
        let c = groups
            .entry(user)
            .or_insert_with(|| Chain::new(&e.host.key));
        add_install(c, &e, rec);
        for &pi in &procs_after {
            c.add(
                pi,
                Stage::Exec,
                "spawned by services.exe within the correlation window",
            );
        }
        c.signals.insert(Signal::ServiceThenProcess);
        sentinel_tool_links(c, store, &e, &facts.tools, p);
        sentinel_logon_links(c, store, &e, rec, p, &logons);
    }
    groups.into_values().collect()
}

fn add_install(c: &mut Chain, e: &Event, rec: &InstallRecord) {
    c.add(rec.idx, Stage::Install, "service installed");
    if c.t0.is_none() {
        c.t0 = Some(e.ts);
    }
    if c.service.names.is_empty() {
        if let Some(n) = &rec.name {
            c.service.add_name(n);
        }
        c.service.image.clone_from(&rec.image);
        c.service.account.clone_from(&rec.account);
        c.service.installed = true;
    } else if rec.name.as_deref().is_some_and(|n| !c.service.has_name(n)) {
        c.extra_services.push(ServiceRef {
            name: rec.name.clone(),
            key_name: None,
            image_path: rec.image.clone(),
            account: rec.account.clone(),
            flags: Vec::new(),
        });
    }
    if c.user.is_none() {
        c.user.clone_from(&rec.user);
    }
}

/// Correlation 2: tool on a source whose `\\HOST` equals the service's Computer, 30s before.
fn sentinel_tool_links(
    c: &mut Chain,
    store: &Window,
    e: &Event,
    tools: &[(usize, String, Option<String>)],
    p: &Profile,
) {
    let win = secs(p.windows.tool_to_install);
    for (ti, fname, target) in tools {
        let Some(t) = store.read(*ti) else { continue };
        let exact = target.as_deref() == Some(&*e.host.display);
        if exact
            && e.ts >= t.ts
            && e.ts - t.ts <= win
            && c.add(*ti, Stage::Source, "tool named this host (exact name)")
        {
            c.tools.insert(fname.clone());
            c.known_tool |= p
                .sentinel
                .tool_names
                .iter()
                .any(|n| fname.contains(&n.to_ascii_lowercase()));
            c.source_hosts.insert(t.host.display.to_string());
            c.signals.insert(Signal::ToolServiceProcess);
        }
    }
}

/// Correlation 3: 4624/4672 type 3/10 on the same host and logon id, 60s before the service.
fn sentinel_logon_links(
    c: &mut Chain,
    store: &Window,
    e: &Event,
    rec: &InstallRecord,
    p: &Profile,
    logons: &BTreeMap<u64, Vec<usize>>,
) {
    let Some(lid) = rec.logon_id else { return };
    let win = secs(p.windows.logon_to_install);
    let hits = logons.get(&lid.0).map_or(&[][..], Vec::as_slice);
    for &li in hits {
        let Some(l) = store.read(li) else { continue };
        if e.ts >= l.ts && e.ts - l.ts <= win && c.add(li, Stage::Logon, format!("logon id {lid}"))
        {
            if let Some(ip) = l.fields.net.src_ip.as_deref() {
                c.source_ips.insert(ip.to_string());
            }
            c.signals.insert(Signal::LogonServiceProcess);
        }
    }
}
