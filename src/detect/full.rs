//! The `chain` engine (default profile): every install anchors a chain, and what installs leave
//! unexplained (tool pipes, remote SCM access, helper binaries run by services.exe) anchors one
//! too, so a partial collection still yields a finding with its missing stages named.

use super::chain::Chain;
use super::finding::Stage;
use super::install::{InstallRecord, install_groups};
use super::links::{
    Linker, is_system_image, note_fingerprint, pipe_name, push_unique, session_of, share_stage,
};
use super::patterns::{exe_path, file_stem, is_exe};
use super::profile::secs;
use super::signal::Signal;
use crate::model::host::is_loopback_or_empty;
use crate::model::{Channel, Event};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// All chains on one host.
pub fn chains_on_host(l: &Linker<'_>) -> Vec<Chain> {
    let scm_pids = scm_pids(l);
    // Install chains are independent of each other: built in parallel, kept in install order.
    let mut chains: Vec<Chain> = install_groups(&l.view, l.profile)
        .into_par_iter()
        .map(|g| install_chain(l, &g, &scm_pids))
        .collect();
    drop_restores(&mut chains);
    let claimed: HashSet<usize> = chains.iter().flat_map(Chain::indices).collect();
    // Routine remote service checks (an admin's or a monitoring tool's service-control sessions,
    // nothing else) repeat every day: one chain per source and account, not one per session.
    // Their evidence is listed for the first sessions and the latest; every session's logon id
    // stays on the finding for pivots.
    let mut routine: HashMap<CheckKey, usize> = HashMap::new();
    let mut sessions: HashMap<usize, (usize, Option<Chain>)> = HashMap::new();
    for cluster in clusters(l, &claimed) {
        let c = anchorless_chain(l, &cluster, &scm_pids);
        if is_service_check(&c) {
            let key = (
                c.source_ips.iter().cloned().collect(),
                c.source_hosts.iter().cloned().collect(),
                c.user.clone(),
            );
            if let Some(&at) = routine.get(&key) {
                let (n, latest) = sessions.entry(at).or_insert((1, None));
                *n += 1;
                if *n <= ROUTINE_SESSIONS_LISTED {
                    chains[at].merge(c);
                } else if let Some(older) = latest.replace(c) {
                    chains[at].merge_facts(older);
                }
                continue;
            }
            routine.insert(key, chains.len());
        }
        chains.push(c);
    }
    let claimed: HashSet<usize> = chains.iter().flat_map(Chain::indices).collect();
    chains.extend(timeout_campaigns(l, &claimed));
    chains.extend(source_only(l));
    let linked: HashSet<usize> = chains.iter().flat_map(Chain::indices).collect();
    chains.extend(unlinked_runs(l, &linked));
    for (at, (n, latest)) in sessions {
        let c = &mut chains[at];
        if let Some(latest) = latest {
            c.merge(latest);
        }
        dedupe_in_order(&mut c.remote);
        dedupe_in_order(&mut c.local);
        dedupe_in_order(&mut c.local_weak);
        c.remote.push(if n > ROUTINE_SESSIONS_LISTED {
            format!(
                "{n} separate sessions from this source and account did only service-control \
                 access (evidence listed for the first {ROUTINE_SESSIONS_LISTED} and the latest)"
            )
        } else {
            format!(
                "{n} separate sessions from this source and account did only service-control access"
            )
        });
    }
    chains
}

/// Lateral tool runs on this host that name a target whose own logs are not in the collection
/// (`psexec \\HOST`, `sc.exe \\HOST create`, Impacket `user@HOST`): a finding on the named
/// target, seen from the source only, with the source's explicit-credential logon (4648 to the
/// target) and its SMB connection to the target when logged. When the target's logs are
/// present, its own finding links the run instead.
fn source_only(l: &Linker<'_>) -> Vec<Chain> {
    let runs = l.ctx.runs_from(l.view.key).iter().filter(|run| {
        run.target.as_deref().is_some_and(|target| {
            // The client aimed at its own host: local use, linked on the host itself. A logged
            // target links the run in its own scan (or raises it there, `unlinked_runs`).
            !l.ctx.names_host(target, l.view.key, run.ts) && !l.ctx.is_logged_host(target, run.ts)
        })
    });
    run_chains(l, runs, true)
}

/// On a host whose logs are in the collection: lateral tool runs elsewhere naming it that none
/// of its chains linked (its logs hold no trace of them, or only what an attacker wrote there).
/// Raised as they are when its logs are missing: more logs of the target never hide a run.
fn unlinked_runs(l: &Linker<'_>, linked: &HashSet<usize>) -> Vec<Chain> {
    let key = l.view.key;
    let runs = l.ctx.runs_aimed_at(key).into_iter().filter(|run| {
        run.source_key != key
            && !linked.contains(&run.idx)
            && run.target.as_deref().is_some_and(|target| {
                !l.ctx.names_host(target, &run.source_key, run.ts)
                    && l.ctx.is_logged_host(target, run.ts)
            })
    });
    run_chains(l, runs, false)
}

/// Chains of lateral tool runs, one per target and action (`on_source`: built on the source
/// host, which also links the source's own corroboration).
fn run_chains<'r>(
    l: &Linker<'_>,
    runs: impl Iterator<Item = &'r super::context::ClientRun>,
    on_source: bool,
) -> Vec<Chain> {
    let mut out: Vec<Chain> = Vec::new();
    // A command and the process it starts (`cmd /c sc \\HOST create ...` and its `sc.exe`) are
    // one action: runs naming the same target within a minute join one chain.
    let mut latest: HashMap<String, (DateTime<Utc>, usize)> = HashMap::new();
    for run in runs {
        let Some(target) = run.target.as_deref() else {
            continue;
        };
        let target_key = if on_source {
            crate::model::host_key(target.trim_start_matches('\\'))
        } else {
            l.view.key.to_string()
        };
        if target_key.is_empty() || target.contains('/') {
            continue; // a range (`nxc smb 10.1.1.0/24`) names no single target
        }
        let tool = &l.pats.tools[run.tool];
        if let Some(&(t, at)) = latest.get(&target_key)
            && run.ts.signed_duration_since(t) <= secs(60)
        {
            let c = &mut out[at];
            if c.add(run.idx, Stage::Source, format!("{} run (same action)", tool.name)) {
                c.tools.insert(tool.name.clone());
                if let Some(e) = l.view.store.get(run.idx)
                    && c.service.image.is_none()
                    && let Some((name, image)) =
                        sc_service(e.fields.process.command_line.as_deref().unwrap_or(""))
                {
                    c.service.add_name(&name);
                    c.service.image = image;
                }
            }
            latest.insert(target_key, (run.ts, at));
            continue;
        }
        latest.insert(target_key.clone(), (run.ts, out.len()));
        let c = run_chain(l, run, target, &target_key, on_source);
        out.push(c);
    }
    out
}

/// The chain of one lateral tool run naming `target` (see `run_chains`).
fn run_chain(
    l: &Linker<'_>,
    run: &super::context::ClientRun,
    target: &str,
    target_key: &str,
    on_source: bool,
) -> Chain {
    let source = run.source_key.as_str();
    let tool = &l.pats.tools[run.tool];
    let mut c = Chain::new(target_key);
    c.t0 = Some(run.ts);
    c.source_only = Some(source.to_string());
    let why = if on_source {
        "the target's own logs are not in the collection"
    } else {
        "the target's logs are in the collection, but nothing in them links to this run"
    };
    c.add(
        run.idx,
        Stage::Source,
        format!("{} run on {source} naming {target} (seen from the source only)", tool.name),
    );
    c.source_hosts.insert(source.to_string());
    c.tools.insert(tool.name.clone());
    c.known_tool = true;
    c.signals.insert(Signal::ToolServiceProcess);
    push_unique(
        &mut c.remote,
        format!("seen from the source only: {} run on {source} ({why})", tool.name),
    );
    if let Some(e) = l.view.store.get(run.idx) {
        let cmd = e.fields.process.command_line.as_deref().unwrap_or("");
        if let Some((name, image)) = sc_service(cmd) {
            c.service.add_name(&name);
            c.service.image = image;
        }
        c.user = e
            .fields
            .subject
            .display()
            .or_else(|| e.fields.process.user.as_deref().map(str::to_string));
        note_fingerprint(
            &mut c,
            l.pats,
            run.tool,
            &format!("client command line: {}", short(cmd, 80)),
        );
    }
    if on_source {
        source_corroboration(l, &mut c, target, run.ts);
    }
    c
}


/// The source's explicit-credential logon to the target (4648 `TargetServerName`) and its SMB
/// connection to it (Sysmon 3 to 445) around the tool run.
fn source_corroboration(l: &Linker<'_>, c: &mut Chain, target: &str, t: DateTime<Utc>) {
    let (from, to) = super::context::span(t, secs(60), secs(60));
    let want = crate::model::host_key(target.trim_start_matches('\\'));
    for (i, e) in l.sess.with_ids(l.view.store, &[4648, 3], from, to) {
        let e: &Event = &e;
        let hit = match e.event_id {
            4648 => e
                .extra
                .iter()
                .find(|(k, _)| &**k == "TargetServerName")
                .is_some_and(|(_, v)| crate::model::host_key(v) == want),
            _ => {
                super::context::outbound_smb_peer(e)
                    .is_some_and(|ip| ip == target || crate::model::host_key(&ip) == want)
                    || (e.fields.net.initiated == Some(true)
                        && e.fields.net.dst_port == Some(445)
                        && e.fields
                            .net
                            .dst_host
                            .as_deref()
                            .is_some_and(|h| crate::model::host_key(h) == want))
            }
        };
        if hit {
            let how = if e.event_id == 4648 {
                "explicit credentials used for the target (4648)"
            } else {
                "SMB connection from the source to the target"
            };
            c.add(i, Stage::Source, how);
        }
    }
}

/// `sc.exe \\HOST create|config NAME binPath= "..."`: the service name and its new binary path.
fn sc_service(cmd: &str) -> Option<(String, Option<String>)> {
    let lower = cmd.to_ascii_lowercase();
    let at = [" create ", " config "]
        .iter()
        .filter_map(|k| lower.find(k).map(|i| i + k.len()))
        .min()?;
    let rest = cmd.get(at..)?.trim_start();
    let name: String = rest
        .trim_start_matches('"')
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    if name.is_empty() {
        return None;
    }
    let image = lower.find("binpath=").and_then(|i| {
        let v = cmd.get(i + "binpath=".len()..)?.trim_start();
        Some(if let Some(q) = v.strip_prefix('"') {
            q.split('"').next().unwrap_or(q).to_string()
        } else {
            v.split_whitespace().next().unwrap_or(v).to_string()
        })
    });
    Some((name, image.filter(|i| !i.is_empty())))
}

/// Bursts of service start time-outs (7000/7009) of random-named services: one chain each,
/// standing for the campaign (hundreds of time-outs are one finding, not hundreds of rows).
fn timeout_campaigns(l: &Linker<'_>, claimed: &HashSet<usize>) -> Vec<Chain> {
    let rule = l.campaign_rule;
    let mut events: Vec<(DateTime<Utc>, usize, String)> = l
        .view
        .events_of(&[7000, 7009])
        .filter(|(i, e)| !claimed.contains(i) && e.channel == Channel::System)
        .filter_map(|(i, e)| {
            let s = &e.fields.service;
            let name = s.name.as_deref().or(s.key_name.as_deref())?.trim();
            (!name.is_empty()).then(|| (e.ts, i, name.to_string()))
        })
        .collect();
    events.sort();
    let mut out = Vec::new();
    let mut run: Vec<(DateTime<Utc>, usize, String)> = Vec::new();
    let flush = |run: &mut Vec<(DateTime<Utc>, usize, String)>, out: &mut Vec<Chain>| {
        if run.len() >= rule.min_services.max(2) {
            let names: Vec<String> = run.iter().map(|(_, _, n)| n.clone()).collect();
            let described = super::campaign::describe(
                super::campaign::CampaignKind::StartTimeouts,
                &names,
                run.len(),
                run[0].0,
                run[run.len() - 1].0,
                l.view.key,
            );
            if described.pattern.is_some() {
                let mut c = Chain::new(l.view.key);
                c.t0 = Some(run[0].0);
                for (_, i, name) in run.iter() {
                    if !c.add(
                        *i,
                        Stage::Exec,
                        "service start timed out (Service Control Manager)",
                    ) {
                        continue;
                    }
                    if c.service.names.is_empty() {
                        c.service.add_name(name);
                    } else if c.extra_services.len() < super::chain::MAX_LINKS_PER_STAGE {
                        c.extra_services.push(super::finding::ServiceRef {
                            name: Some(name.clone()),
                            ..super::finding::ServiceRef::default()
                        });
                    }
                }
                c.campaign = Some(described);
                out.push(c);
            }
        }
        run.clear();
    };
    for item in events {
        if run
            .last()
            .is_some_and(|(t, _, _)| (item.0 - *t).num_seconds() > rule.max_gap_secs)
        {
            flush(&mut run, &mut out);
        }
        run.push(item);
    }
    flush(&mut run, &mut out);
    out
}

/// A modification's restore (the path put back) is the cleanup of the change before it, not a
/// modification of its own: chains whose every `modify` record another chain holds as its
/// cleanup are dropped.
fn drop_restores(chains: &mut Vec<Chain>) {
    let restores: HashSet<usize> = chains
        .iter()
        .flat_map(|c| c.links.iter())
        .filter(|l| l.stage == Stage::Cleanup)
        .map(|l| l.idx)
        .collect();
    chains.retain(|c| {
        let mut modifies = c
            .links
            .iter()
            .filter(|l| l.stage == Stage::Modify)
            .peekable();
        modifies.peek().is_none() || !modifies.all(|l| restores.contains(&l.idx))
    });
}

/// Sessions of a routine service check whose evidence is listed before only the latest is.
pub const ROUTINE_SESSIONS_LISTED: usize = 4;

/// Source IPs, source hosts and account of a routine service check.
type CheckKey = (Vec<String>, Vec<String>, Option<String>);

/// Service-control pipe access and nothing else: no install, tool, helper, process or share write.
fn is_service_check(c: &Chain) -> bool {
    !c.service.installed
        && !c.known_tool
        && c.tools.is_empty()
        && c.links
            .iter()
            .all(|k| matches!(k.stage, Stage::Logon | Stage::Pipe | Stage::Source))
}

fn dedupe_in_order(items: &mut Vec<String>) {
    let mut seen = HashSet::new();
    items.retain(|s| seen.insert(s.clone()));
}

/// PIDs of services.exe, from the SCM's own System events (`Execution/@ProcessID`).
fn scm_pids(l: &Linker<'_>) -> Vec<u32> {
    let mut pids: Vec<u32> = l
        .view
        .events_of(crate::model::stages::table().pass("scm"))
        .filter(|(_, e)| {
            e.channel == Channel::System
                && matches!(e.event_id, 7045 | 7036 | 7035 | 7034 | 7000 | 7009)
        })
        .filter_map(|(_, e)| e.fields.exec_pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn install_chain(l: &Linker<'_>, group: &[InstallRecord], scm_pids: &[u32]) -> Chain {
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
fn add_records(c: &mut Chain, group: &[InstallRecord], modified: Option<&Modification>) {
    // A record without a type (Sysmon 13) counts as a driver by its `.sys` file.
    c.service.kernel_driver = group.iter().all(|r| match r.kernel_driver {
        Some(driver) => driver,
        None => r
            .image
            .as_deref()
            .is_some_and(|i| i.trim().trim_matches('"').to_ascii_lowercase().ends_with(".sys")),
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
struct Modification {
    /// Records of the group that put the binary path back.
    restores: Vec<usize>,
    /// Later registry writes (within the lifecycle window) that put it back.
    later_restores: Vec<usize>,
}

/// A group of Sysmon 13 `ImagePath` writes only (no 7045/4697) is a modification of an existing
/// service when the key had a binary path before, or the path is put back afterwards (`SCShell`
/// changes, starts, restores), or the host's System log is there and shows no install of it.
fn modification(l: &Linker<'_>, group: &[InstallRecord]) -> Option<Modification> {
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
    let (from, to) = super::context::span(first.ts, win, win);
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
                    .and_then(super::install::service_key_from_registry)
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
fn link_rest(
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

/// What can start a chain without an install record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cand {
    Strong,
    Weak,
}

fn candidate(l: &Linker<'_>, e: &Event) -> Option<Cand> {
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
                    pats.tool_for_service(Some(n), None).is_some() || pats.tool_for_name(n).is_some()
                })
            };
            (named(s.name.as_deref()) || named(s.key_name.as_deref())).then_some(Cand::Strong)
        }
        _ => None,
    }
}

/// A service the SCM names (7036, 7000, 7009, 7040, ...): its names, and the tool its name is
/// a signature or a generated shape of.
fn named_service(l: &Linker<'_>, c: &mut Chain, e: &Event, tool: &mut Option<usize>) {
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

/// The tool whose own command line a process event carries, in its command line or (Sysmon 1)
/// its parent's: the command line that matched and the tool.
pub fn process_command_tool<'e>(
    pats: &super::patterns::Patterns,
    e: &'e Event,
) -> Option<(&'e str, usize)> {
    let p = &e.fields.process;
    [p.command_line.as_deref(), p.parent_command_line.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|c| pats.tool_for_command(c).map(|t| (c, t)))
}

/// A binary written over SMB into the Windows folder: a known tool's helper is enough on its own,
/// any other executable needs another sign (a pipe, a service start) to start a chain.
fn helper_write(pats: &super::patterns::Patterns, written: &str, full: &str) -> Option<Cand> {
    if pats.tool_for_image(full).is_some() {
        Some(Cand::Strong)
    } else {
        pats.is_helper_path(written).then_some(Cand::Weak)
    }
}

/// A group of candidates being formed, with what decides whether another joins it (kept as
/// it grows, so a candidate is matched in constant time, never against every member).
struct Cluster {
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
struct ClusterIndex {
    by_id: HashMap<crate::model::LogonId, usize>,
    by_session: HashMap<(String, String), RecentMembers>,
    anon: Vec<usize>,
}

/// Id-bearing members of one session still within the merge window: (time, cluster).
type RecentMembers = std::collections::VecDeque<(DateTime<Utc>, usize)>;

/// The most anonymous clusters a candidate is compared with (the latest ones).
const ANON_CLUSTERS_CHECKED: usize = 64;

/// Unclaimed candidates grouped: by logon id or (source, account), else by time. A candidate
/// joins the latest cluster that shares its logon id, or holds another logon of its session
/// within seconds, or (for a candidate without logon id) has an id-less member and its last
/// event within the stage window. Linear in the candidates (an attacker's 30k pipe opens on
/// distinct logon ids took 17 s when each was compared with every member).
fn clusters(l: &Linker<'_>, claimed: &HashSet<usize>) -> Vec<Vec<usize>> {
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

fn anchorless_chain(l: &Linker<'_>, members: &[usize], scm_pids: &[u32]) -> Chain {
    let mut c = Chain::new(l.view.key);
    let t0 = members
        .iter()
        .filter_map(|&i| l.view.store.get(i))
        .map(|e| e.ts)
        .min()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    c.t0 = Some(t0);
    let mut tool = None;
    for &i in members {
        let Some(e) = l.view.store.get(i) else {
            continue;
        };
        infer_service(l, &mut c, e, &mut tool);
        let scm = matches!(e.event_id, 7036 | 7035 | 7034 | 7000 | 7009);
        let stopped = scm
            && (e.event_id == 7034
                || e.fields
                    .service
                    .state
                    .as_deref()
                    .is_some_and(|s| s.to_ascii_lowercase().contains("stop")));
        let stage = match e.event_id {
            1 | 4688 => Stage::Exec,
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
            if matches!(e.event_id, 5140 | 5145) {
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

/// The first `n` characters of a long value, marked as cut.
fn short(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn note_share_session(l: &Linker<'_>, c: &mut Chain, e: &Event) {
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
fn infer_service(l: &Linker<'_>, c: &mut Chain, e: &Event, tool: &mut Option<usize>) {
    if let Some(name) = pipe_name(e)
        && let Some(m) = l.pats.pipe_match(name)
    {
        tool.get_or_insert(m.tool);
        l.note_pipe(c, e, &m, is_system_image(e));
        if m.service.is_none() && l.pats.tools[m.tool].id == "psexec" {
            c.service.add_name("PSEXESVC");
        }
    }
    if matches!(e.event_id, 7036 | 7035 | 7034 | 7000 | 7009 | 7040) {
        named_service(l, c, e, tool);
    }
    if matches!(e.event_id, 1 | 4688)
        && let Some((cmd, t)) = process_command_tool(l.pats, e)
    {
        // The command a service ran: its image path was this command line.
        tool.get_or_insert(t);
        let name = l.pats.tools[t].name.clone();
        c.tools.insert(name);
        c.known_tool = true;
        if c.service.image.is_none()
            && e.fields.process.command_line.as_deref() == Some(cmd)
        {
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
