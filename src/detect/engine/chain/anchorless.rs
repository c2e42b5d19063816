//! Chains without an install: tool pipes, remote SCM access and helper binaries run by
//! services.exe that no install explains, clustered by time and session.

use super::install::link_rest;
use super::{process_command_tool, short};
use crate::detect::chain::Chain;
use crate::detect::finding::Stage;
use crate::detect::link::{
    Linker, is_system_image, note_fingerprint, pipe_name, push_unique, session_of, share_stage,
};
use crate::detect::patterns::{exe_path, file_stem, is_exe};
use crate::detect::profile::secs;
use crate::detect::signal::Signal;
use crate::model::Event;
use crate::model::host::is_loopback_or_empty;
use crate::model::stages::ids;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// What can start a chain without an install record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cand {
    Strong,
    Weak,
}

pub(super) fn candidate(l: &Linker<'_>, e: &Event) -> Option<Cand> {
    let pats = l.pats;
    if let Some(name) = pipe_name(e) {
        if pats.pipe_match(name).is_some() {
            return Some(Cand::Strong);
        }
        let remote = e
            .fields
            .net
            .src_ip
            .as_deref()
            .is_some_and(|ip| !is_loopback_or_empty(ip));
        if e.event_id == 5145 && pats.is_scm_pipe(name) && remote {
            return Some(Cand::Strong);
        }
    }
    match e.event_id {
        1 | 4688 => {
            let p = &e.fields.process;
            // A tool's own command line is a fingerprint by itself (Impacket smbexec's echo into
            // \\127.0.0.1\C$\__output, Cobalt Strike's psexec_psh launcher), in the process's
            // command line or its parent's (the child of the SCM's cmd.exe carries only its part).
            if process_command_tool(pats, e).is_some() {
                return Some(Cand::Strong);
            }
            let helper = p
                .image
                .as_deref()
                .is_some_and(|i| pats.tool_for_image(i).is_some());
            let parent = p.parent_image.as_deref().unwrap_or("");
            (helper && (parent.is_empty() || parent == "?" || pats.is_scm_image(parent)))
                .then_some(Cand::Strong)
        }
        5145 if share_stage(pats, e) == Some(Stage::Share) && pats.is_write(e) => {
            let rel = e.fields.share.relative_target.as_deref().unwrap_or("");
            let full = format!("C:\\Windows\\{}", rel.trim_start_matches('\\'));
            helper_write(pats, rel, &full)
        }
        11 if is_system_image(e) => {
            let written = e.fields.share.file_path.as_deref().unwrap_or("");
            helper_write(pats, written, written)
        }
        // The SCM reporting a tool's service (PSEXESVC running, RemComSvc stopped) on its own.
        7036 | 7035 | 7034 | 7000 | 7009 | 7040 => {
            let s = &e.fields.service;
            let named = |n: Option<&str>| {
                n.is_some_and(|n| {
                    pats.tool_for_service(Some(n), None).is_some()
                        || pats.tool_for_name(n).is_some()
                })
            };
            (named(s.name.as_deref()) || named(s.key_name.as_deref())).then_some(Cand::Strong)
        }
        _ => None,
    }
}

/// A service the SCM names (7036, 7000, 7009, 7040, ...): its names, and the tool its name is
/// a signature or a generated shape of.
pub(super) fn named_service(l: &Linker<'_>, c: &mut Chain, e: &Event, tool: &mut Option<usize>) {
    let s = &e.fields.service;
    for n in [s.key_name.as_deref(), s.name.as_deref()]
        .into_iter()
        .flatten()
    {
        c.service.add_name(n);
        if let Some(t) = l.pats.tool_for_service(Some(n), None) {
            tool.get_or_insert(t);
            c.tools.insert(l.pats.tools[t].name.clone());
            c.known_tool = true;
        } else if let Some(t) = l.pats.tool_for_name(n) {
            tool.get_or_insert(t);
            c.tools.insert(l.pats.tools[t].name.clone());
            c.known_tool = true;
            note_fingerprint(
                c,
                l.pats,
                t,
                &format!("service name {n} (event {})", e.event_id),
            );
        }
    }
}

/// A binary written over SMB into the Windows folder: a known tool's helper is enough on its own,
/// any other executable needs another sign (a pipe, a service start) to start a chain.
pub(super) fn helper_write(
    pats: &crate::detect::patterns::Patterns,
    written: &str,
    full: &str,
) -> Option<Cand> {
    if pats.tool_for_image(full).is_some() {
        Some(Cand::Strong)
    } else {
        pats.is_helper_path(written).then_some(Cand::Weak)
    }
}

/// A group of candidates being formed, with what decides whether another joins it (kept as
/// it grows, so a candidate is matched in constant time, never against every member).
pub(super) struct Cluster {
    members: Vec<usize>,
    strong: bool,
    last: DateTime<Utc>,
    /// Whether a member has no (or a well-known) logon id.
    has_anon: bool,
}

/// Where the clusters are found by what joins them: the latest cluster holding a logon id, the
/// recent id-bearing members of each session (source address and account), the clusters with
/// an id-less member.
#[derive(Default)]
pub(super) struct ClusterIndex {
    by_id: HashMap<crate::model::LogonId, usize>,
    by_session: HashMap<(String, String), RecentMembers>,
    anon: Vec<usize>,
}

/// Id-bearing members of one session still within the merge window: (time, cluster).
pub(super) type RecentMembers = std::collections::VecDeque<(DateTime<Utc>, usize)>;

/// The most anonymous clusters a candidate is compared with (the latest ones).
pub(super) const ANON_CLUSTERS_CHECKED: usize = 64;

/// Unclaimed candidates grouped: by logon id or (source, account), else by time. A candidate
/// joins the latest cluster that shares its logon id, or holds another logon of its session
/// within seconds, or (for a candidate without logon id) has an id-less member and its last
/// event within the stage window. Linear in the candidates (an attacker's 30k pipe opens on
/// distinct logon ids took 17 s when each was compared with every member).
pub(super) fn clusters(l: &Linker<'_>, claimed: &HashSet<usize>) -> Vec<Vec<usize>> {
    let gap = secs(l.profile.windows.stage_window);
    let merge = secs(l.profile.windows.session_merge);
    let mut out: Vec<Cluster> = Vec::new();
    let mut ix = ClusterIndex::default();
    for (i, e) in l
        .view
        .events_of(crate::model::stages::table().pass("candidates"))
    {
        if claimed.contains(&i) {
            continue;
        }
        let Some(kind) = candidate(l, &e) else {
            continue;
        };
        let id = e.fields.logon_id.filter(|x| !x.is_well_known());
        let sess = session_of(&e);
        let found = match id {
            Some(a) => {
                let by_id = ix.by_id.get(&a).copied();
                let by_session = sess.as_ref().and_then(|s| {
                    let recent = ix.by_session.get_mut(s)?;
                    while recent
                        .front()
                        .is_some_and(|(t, _)| e.ts.signed_duration_since(*t) > merge)
                    {
                        recent.pop_front();
                    }
                    recent.iter().map(|(_, c)| *c).max()
                });
                by_id.max(by_session)
            }
            None => ix
                .anon
                .iter()
                .rev()
                .take(ANON_CLUSTERS_CHECKED)
                .copied()
                .filter(|&c| e.ts.signed_duration_since(out[c].last) <= gap)
                .max(),
        };
        let at = if let Some(c) = found {
            let cl = &mut out[c];
            cl.members.push(i);
            cl.strong |= kind == Cand::Strong;
            cl.last = e.ts;
            c
        } else {
            out.push(Cluster {
                members: vec![i],
                strong: kind == Cand::Strong,
                last: e.ts,
                has_anon: false,
            });
            out.len() - 1
        };
        match id {
            Some(a) => {
                let slot = ix.by_id.entry(a).or_insert(at);
                *slot = (*slot).max(at);
                if let Some(s) = sess {
                    ix.by_session.entry(s).or_default().push_back((e.ts, at));
                }
            }
            None => {
                if !out[at].has_anon {
                    out[at].has_anon = true;
                    ix.anon.push(at);
                }
            }
        }
    }
    out.into_iter()
        .filter(|c| c.strong)
        .map(|c| c.members)
        .collect()
}

pub(super) fn anchorless_chain(l: &Linker<'_>, members: &[usize], scm_pids: &[u32]) -> Chain {
    let mut c = Chain::new(l.view.key);
    let t0 = members
        .iter()
        .filter_map(|&i| l.view.store.get(i))
        .map(|e| e.ts)
        .min()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    c.t0 = Some(t0);
    let mut tool = None;
    let (scm_state, process_start) = (ids("scm_state"), ids("process_start"));
    for &i in members {
        let Some(e) = l.view.store.get(i) else {
            continue;
        };
        infer_service(l, &mut c, e, &mut tool);
        let scm = scm_state.contains(&e.event_id);
        let stopped = scm
            && (e.event_id == 7034
                || e.fields
                    .service
                    .state
                    .as_deref()
                    .is_some_and(|s| s.to_ascii_lowercase().contains("stop")));
        let stage = match e.event_id {
            id if process_start.contains(&id) => Stage::Exec,
            11 => Stage::Share,
            _ if stopped => Stage::Cleanup,
            _ if scm => Stage::Exec,
            _ => pipe_name(e).map_or(Stage::Share, |_| Stage::Pipe),
        };
        let how = match stage {
            Stage::Exec if scm => "tool service started (Service Control Manager)",
            Stage::Cleanup => "tool service stopped (Service Control Manager)",
            Stage::Exec => "helper binary started by services.exe",
            Stage::Share => "helper binary written over SMB",
            _ => "service-control or tool pipe",
        };
        if c.add(i, stage, how) {
            if ids("share_access").contains(&e.event_id) {
                note_share_session(l, &mut c, e);
            }
            if e.event_id == 11 {
                push_unique(
                    &mut c.remote,
                    "helper written by the SMB server (System)".into(),
                );
            }
            if stage == Stage::Share {
                c.signals.insert(Signal::ShareThenService);
            }
            if stage == Stage::Exec {
                c.signals.insert(Signal::ServiceThenProcess);
            }
        }
    }
    link_rest(l, &mut c, t0, tool, scm_pids);
    c
}

pub(super) fn note_share_session(l: &Linker<'_>, c: &mut Chain, e: &Event) {
    if let Some(id) = e.fields.logon_id.filter(|x| !x.is_well_known()) {
        c.logon_ids.insert(id);
    }
    if let Some(s) = session_of(e) {
        c.sessions.insert(s);
    }
    if c.user.is_none() {
        c.user = e.fields.subject.display();
    }
    l.note_ip(c, e.fields.net.src_ip.as_deref(), "SMB access");
}

/// The service of an anchorless chain: from the pipe scheme, the helper's name, or the tool.
pub(super) fn infer_service(l: &Linker<'_>, c: &mut Chain, e: &Event, tool: &mut Option<usize>) {
    if let Some(name) = pipe_name(e)
        && let Some(m) = l.pats.pipe_match(name)
    {
        tool.get_or_insert(m.tool);
        l.note_pipe(c, e, &m, is_system_image(e));
        if m.service.is_none() && l.pats.tools[m.tool].id == "psexec" {
            c.service.add_name("PSEXESVC");
        }
    }
    if e.event_id == 7040 || ids("scm_state").contains(&e.event_id) {
        named_service(l, c, e, tool);
    }
    if ids("process_start").contains(&e.event_id)
        && let Some((cmd, t)) = process_command_tool(l.pats, e)
    {
        // The command a service ran: its image path was this command line.
        tool.get_or_insert(t);
        let name = l.pats.tools[t].name.clone();
        c.tools.insert(name);
        c.known_tool = true;
        if c.service.image.is_none() && e.fields.process.command_line.as_deref() == Some(cmd) {
            c.service.image = Some(cmd.to_string());
        }
        note_fingerprint(
            c,
            l.pats,
            t,
            &format!(
                "command line of a process (event {}): {}",
                e.event_id,
                short(cmd, 80)
            ),
        );
        return;
    }
    let helper = match e.event_id {
        1 | 4688 => e.fields.process.image.as_deref().map(str::to_string),
        11 => e.fields.share.file_path.as_deref().map(str::to_string),
        5145 if share_stage(l.pats, e) == Some(Stage::Share) => e
            .fields
            .share
            .relative_target
            .as_deref()
            .map(|r| format!("C:\\Windows\\{}", r.trim_start_matches('\\'))),
        _ => None,
    };
    if let Some(path) = helper.filter(|p| is_exe(p)) {
        if c.service.image.is_none() {
            c.service.image = Some(path.clone());
        }
        c.service.add_name(&file_stem(&path));
        if let Some(t) = l
            .pats
            .tool_for_image(&exe_path(&path))
            .or_else(|| l.pats.tool_for_image(&path))
        {
            tool.get_or_insert(t);
            c.tools.insert(l.pats.tools[t].name.clone());
            c.known_tool = true;
            note_fingerprint(c, l.pats, t, &format!("helper binary {path}"));
        }
    }
}
