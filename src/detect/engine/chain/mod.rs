//! The `chain` engine (default profile): every install anchors a chain, and what installs leave
//! unexplained (tool pipes, remote SCM access, helper binaries run by services.exe) anchors one
//! too, so a partial collection still yields a finding with its missing stages named.

use crate::detect::chain::Chain;
use crate::detect::finding::Stage;
use crate::detect::install::install_groups;
use crate::detect::link::{Linker, note_fingerprint, push_unique};
use crate::detect::profile::secs;
use crate::detect::signal::Signal;
use crate::model::{Channel, Event};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

mod anchorless;
mod install;

use crate::detect::link::process_command_tool;
use crate::detect::link::scm_pids;
use anchorless::{anchorless_chain, clusters};
use install::install_chain;

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
    runs: impl Iterator<Item = &'r crate::detect::context::ClientRun>,
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
            if c.add(
                run.idx,
                Stage::Source,
                format!("{} run (same action)", tool.name),
            ) {
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
    run: &crate::detect::context::ClientRun,
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
        format!(
            "{} run on {source} naming {target} (seen from the source only)",
            tool.name
        ),
    );
    c.source_hosts.insert(source.to_string());
    c.tools.insert(tool.name.clone());
    c.known_tool = true;
    c.signals.insert(Signal::ToolServiceProcess);
    push_unique(
        &mut c.remote,
        format!(
            "seen from the source only: {} run on {source} ({why})",
            tool.name
        ),
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
    let (from, to) = crate::detect::context::span(t, secs(60), secs(60));
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
                crate::detect::context::outbound_smb_peer(e)
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
            let described = crate::detect::campaign::describe(
                crate::detect::finding::CampaignKind::StartTimeouts,
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
                    } else if c.extra_services.len() < crate::detect::chain::MAX_LINKS_PER_STAGE {
                        c.extra_services.push(crate::detect::finding::ServiceRef {
                            name: Some(name.clone()),
                            ..crate::detect::finding::ServiceRef::default()
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

/// The first `n` characters of a long value, marked as cut.
fn short(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
