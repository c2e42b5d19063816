//! The PsExec hunt guide's stage queries chained per host, with its burst rule (one source
//! moving to many targets in a short span).

use crate::detect::chain::Chain;
use crate::detect::context::outbound_smb_peer;
use crate::detect::finding::Stage;
use crate::detect::link::{Linker, is_system_image, pipe_name, share_stage};
use crate::detect::patterns::{Patterns, file_name};
use crate::detect::profile::{Profile, secs};
use crate::detect::signal::Signal;
use crate::model::Event;
use crate::model::host::{host_key, is_loopback_or_empty};
use std::collections::BTreeMap;

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
pub(crate) fn hunt(l: &Linker<'_>) -> Vec<Chain> {
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
            hunt_note(c, &e, l.ctx);
        }
    }
    chains
}

fn hunt_note(c: &mut Chain, e: &Event, facts: &crate::detect::reads::Reads<'_>) {
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
        if facts.burst(ip).is_some() {
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
#[derive(Debug, Default, Clone)]
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
        if !crate::detect::context::LEARNED_IDS.contains(&e.event_id) {
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
