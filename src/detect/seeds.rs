//! The reference detections as written: Elastic/Sigma/Threat Hunter Playbook (logon joined to a
//! service install on the logon id), Sentinel DE-HY25.07 (three correlations, grouped by target
//! and user), and the hunt guide's stage queries chained per host. No svchop refinements here:
//! these profiles exist to show exactly what each document would have found.

use super::chain::Chain;
use super::context::{HostView, outbound_smb_peer};
use super::finding::{ServiceRef, Stage};
use super::install::{InstallRecord, install_record};
use super::links::{Linker, is_system_image, pipe_name, share_stage};
use super::patterns::{Patterns, file_name};
use super::profile::Engine;
use super::profile::{Profile, secs};
use super::signal::Signal;
use crate::model::Event;
use crate::model::host::{host_key, is_loopback_or_empty};
use crate::store::{Store, Window};
use std::collections::BTreeMap;
use std::ops::Range;

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
#[derive(Debug, Default)]
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

/// Sentinel Module 2: a process spawned by services.exe that looks like command execution.
fn sentinel_process(p: &Profile, e: &Event) -> bool {
    if !matches!(e.event_id, 1 | 4688) {
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
fn sentinel_tool(p: &Profile, e: &Event) -> Option<(String, Option<String>)> {
    if !matches!(e.event_id, 1 | 4688) {
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

fn hunt_tool(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    ["psexesvc", "remcomsvc", "paexec", "winexesvc"]
        .iter()
        .any(|t| l.contains(t))
}

/// Hunt step 3: 7045/4697 with a tool service name (or a tool image under `\Windows\`).
fn hunt_install(e: &Event) -> Option<(Stage, &'static str)> {
    let f = &e.fields.service;
    let name_hit = f.name.as_deref().is_some_and(hunt_tool);
    let image_hit = e.event_id == 7045
        && f.image_path
            .as_deref()
            .is_some_and(|i| i.to_ascii_lowercase().contains("\\windows\\") && hunt_tool(i));
    (name_hit || image_hit).then_some((Stage::Install, "step 3: service install of a tool"))
}

/// Hunt step 2: ADMIN$/IPC$ access that writes or names a tool binary.
fn hunt_share(pats: &Patterns, e: &Event) -> Option<(Stage, &'static str)> {
    let share = e.fields.share.share_name.as_deref()?;
    let stage = share_stage(pats, e).or_else(|| pats.is_ipc_share(share).then_some(Stage::Pipe))?;
    let rel = e.fields.share.relative_target.as_deref().unwrap_or("");
    (pats.is_write(e) || hunt_tool(rel)).then_some((stage, "step 2: ADMIN$/IPC$ write"))
}

/// Hunt step 4: a shell from services.exe, or anything the helper starts.
fn hunt_exec(e: &Event) -> Option<(Stage, &'static str)> {
    let pr = &e.fields.process;
    let parent = pr
        .parent_image
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let img = file_name(pr.image.as_deref().unwrap_or(""));
    let cmd = pr
        .command_line
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let shell = img == "cmd.exe" || img == "powershell.exe" || cmd.contains(" /c ");
    ((parent.ends_with("services.exe") && shell) || hunt_tool(&parent))
        .then_some((Stage::Exec, "step 4: SYSTEM command from a service"))
}

/// The hunt guide's stage queries: which step an event answers.
fn hunt_step(pats: &Patterns, e: &Event) -> Option<(Stage, &'static str)> {
    match e.event_id {
        7045 | 4697 => hunt_install(e),
        5140 | 5145 => hunt_share(pats, e),
        1 | 4688 => hunt_exec(e),
        17 | 18 => {
            let l = pipe_name(e)?.to_ascii_lowercase();
            (l.contains("psexesvc")
                || l.contains("remcom_communication")
                || l.trim_start_matches('\\') == "svcctl")
                .then_some((Stage::Pipe, "step 5: tool pipe"))
        }
        23 | 26 => e
            .fields
            .share
            .file_path
            .as_deref()
            .is_some_and(hunt_tool)
            .then_some((Stage::Cleanup, "step 7: helper deleted")),
        7036 => e
            .fields
            .service
            .name
            .as_deref()
            .is_some_and(hunt_tool)
            .then_some((Stage::Exec, "step 3: 7036 tool service state")),
        11 if is_system_image(e) => e
            .fields
            .share
            .file_path
            .as_deref()
            .is_some_and(hunt_tool)
            .then_some((Stage::Share, "step 2: helper written over SMB")),
        _ => None,
    }
}

/// Hunt guide: stage hits chained per host by time; type-3 bursts and 445 fan-out attached.
pub(crate) fn hunt(
    l: &Linker<'_>,
    bursts: &std::collections::HashMap<String, usize>,
) -> Vec<Chain> {
    let gap = secs(l.profile.windows.stage_window);
    let mut chains: Vec<Chain> = Vec::new();
    let mut last = None;
    for (i, e) in l.view.events_of(crate::model::stages::table().pass("hunt")) {
        let Some((stage, step)) = hunt_step(l.pats, &e) else {
            continue;
        };
        let new = last.is_none_or(|t| e.ts.signed_duration_since(t) > gap);
        if new {
            let mut c = Chain::new(l.view.key);
            c.t0 = Some(e.ts);
            chains.push(c);
        }
        last = Some(e.ts);
        if let Some(c) = chains.last_mut() {
            c.add(i, stage, step);
            c.signals.extend(Signal::hunt_step(step));
            hunt_note(c, &e, bursts);
        }
    }
    chains
}

fn hunt_note(c: &mut Chain, e: &Event, bursts: &std::collections::HashMap<String, usize>) {
    let f = &e.fields;
    if let Some(n) = f.service.name.as_deref() {
        if e.event_id == 7045 || e.event_id == 4697 {
            c.service.add_name(n);
            c.service.installed = true;
        }
        if c.service.image.is_none() {
            c.service.image = f.service.image_path.as_deref().map(str::to_string);
        }
    }
    if let Some(ip) = f.net.src_ip.as_deref().filter(|i| !is_loopback_or_empty(i)) {
        c.source_ips.insert(ip.to_string());
        if bursts.contains_key(ip) {
            c.signals.insert(Signal::HuntStep(6));
        }
    }
    if c.user.is_none() {
        c.user = f.subject.display();
    }
}

/// Hunt step 1 and 6: one source into `burst_hosts` or more hosts within `burst_window`
/// (type-3 logons by source IP, and Sysmon 3 outbound 445 by source host), counted by `Bursts`.
/// When a source reached a host, and which host (by key).
type Hit = (chrono::DateTime<chrono::Utc>, std::sync::Arc<str>);

/// What `bursts` counts, gathered event by event: per source, (time, target host key).
#[derive(Debug, Default)]
pub(crate) struct Bursts {
    by_src: BTreeMap<String, Vec<Hit>>,
    /// Target keys named by address, shared.
    keys: std::collections::HashMap<String, std::sync::Arc<str>>,
}

impl Bursts {
    fn hit(&mut self, src: &str, at: chrono::DateTime<chrono::Utc>, target: std::sync::Arc<str>) {
        if let Some(v) = self.by_src.get_mut(src) {
            v.push((at, target));
        } else {
            self.by_src.insert(src.to_string(), vec![(at, target)]);
        }
    }

    /// Adds a logon or outbound connection (ids in `context::LEARNED_IDS`).
    pub(crate) fn learn(&mut self, e: &Event) {
        if !super::context::LEARNED_IDS.contains(&e.event_id) {
            return;
        }
        if e.event_id == 4624
            && e.fields.logon.logon_type == Some(3)
            && let Some(ip) = e
                .fields
                .net
                .src_ip
                .as_deref()
                .filter(|i| !is_loopback_or_empty(i))
        {
            self.hit(ip, e.ts, std::sync::Arc::clone(&e.host.key));
        }
        if let Some(dst) = outbound_smb_peer(e) {
            let key = host_key(&dst);
            let target = if let Some(k) = self.keys.get(&key) {
                std::sync::Arc::clone(k)
            } else {
                let k: std::sync::Arc<str> = std::sync::Arc::from(key.as_str());
                self.keys.insert(key, std::sync::Arc::clone(&k));
                k
            };
            self.hit(&e.host.key, e.ts, target);
        }
    }

    /// Adds what other events gave (any order: hits are sorted before counting).
    pub(crate) fn absorb(&mut self, other: Bursts) {
        for (src, hits) in other.by_src {
            self.by_src.entry(src).or_default().extend(hits);
        }
    }

    /// Every hit by source, each source's hits in order without repeats (what `finish` counts
    /// is the same).
    pub(crate) fn hits(&self) -> BTreeMap<String, Vec<(chrono::DateTime<chrono::Utc>, String)>> {
        self.by_src
            .iter()
            .map(|(src, hits)| {
                let mut v: Vec<(chrono::DateTime<chrono::Utc>, String)> =
                    hits.iter().map(|(t, k)| (*t, k.to_string())).collect();
                v.sort();
                v.dedup();
                (src.clone(), v)
            })
            .collect()
    }

    /// The bursts of these hits (from `hits`).
    pub(crate) fn from_hits(
        hits: BTreeMap<String, Vec<(chrono::DateTime<chrono::Utc>, String)>>,
    ) -> Self {
        Bursts {
            by_src: hits
                .into_iter()
                .map(|(src, v)| {
                    let v = v
                        .into_iter()
                        .map(|(t, k)| (t, std::sync::Arc::from(k.as_str())))
                        .collect();
                    (src, v)
                })
                .collect(),
            keys: std::collections::HashMap::new(),
        }
    }

    /// Sources that reached `burst_hosts` hosts within `burst_window`, with their best count.
    pub(crate) fn finish(self, p: &Profile) -> std::collections::HashMap<String, usize> {
        let win = secs(p.windows.burst_window);
        let mut out = std::collections::HashMap::new();
        for (src, hits) in self.by_src {
            count_burst(&mut out, src, hits, win, p.windows.burst_hosts);
        }
        out
    }
}

fn count_burst(
    out: &mut std::collections::HashMap<String, usize>,
    src: String,
    mut hits: Vec<Hit>,
    win: chrono::TimeDelta,
    burst_hosts: usize,
) {
    hits.sort();
    let mut best = 0;
    let mut start = 0;
    let mut in_window: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for end in 0..hits.len() {
        *in_window.entry(&*hits[end].1).or_default() += 1;
        while hits[end].0 - hits[start].0 > win {
            let h = &*hits[start].1;
            if let Some(n) = in_window.get_mut(h) {
                *n -= 1;
                if *n == 0 {
                    in_window.remove(h);
                }
            }
            start += 1;
        }
        best = best.max(in_window.len());
    }
    if best >= burst_hosts {
        out.insert(src, best);
    }
}
