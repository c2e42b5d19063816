//! Where the movement came from: lateral tools run elsewhere naming this host, outbound
//! sessions of other hosts to it, a client tool run on the target itself (local use).

use super::{Linker, push_unique};
use crate::detect::chain::Chain;
use crate::detect::context::span;
use crate::detect::finding::Stage;
use crate::detect::profile::secs;
use crate::detect::signal::Signal;
use crate::model::Event;
use chrono::{DateTime, Utc};

impl Linker<'_> {
    /// A lateral tool run elsewhere that names this host, shortly before the install.
    pub fn sources(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let win = secs(self.profile.windows.tool_to_install);
        for run in self.ctx.runs_aimed_at(&c.target_key) {
            if run.source_key == c.target_key
                || run.ts > t0 + secs(2)
                || t0.signed_duration_since(run.ts) > win
            {
                continue;
            }
            if run
                .target
                .as_deref()
                .is_some_and(|t| self.ctx.names_host(t, &c.target_key, t0))
            {
                let name = self.pats.tools[run.tool].name.clone();
                if c.add(
                    run.idx,
                    Stage::Source,
                    format!("{name} run on {} naming this host", run.source_key),
                ) {
                    c.source_hosts.insert(run.source_key.clone());
                    c.tools.insert(name);
                    c.known_tool = true;
                    c.signals.insert(Signal::ToolServiceProcess);
                    push_unique(&mut c.remote, format!("tool run on {}", run.source_key));
                    push_unique(
                        &mut c.remote_proof,
                        format!("tool run on {}", run.source_key),
                    );
                }
            }
        }
    }

    /// Outbound SMB from another host to this one shortly before the chain: the source side.
    /// One connection per source host is kept (the latest before the chain).
    pub fn outbound_sources(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let win = secs(self.profile.windows.tool_to_install);
        let Some(ips) = self.ctx.host_ips(&c.target_key) else {
            return;
        };
        let mut latest: std::collections::BTreeMap<&str, (DateTime<Utc>, usize)> =
            std::collections::BTreeMap::new();
        // Connections from `win` before the chain to 2 s after it.
        let from = t0
            .checked_sub_signed(win)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = t0
            .checked_add_signed(secs(2))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        for ip in ips.keys() {
            if !self.ctx.is_own_ip(&c.target_key, ip, t0) {
                continue;
            }
            for (ts, idx, src) in self.ctx.smb_to(ip, from, to) {
                if **src != *c.target_key {
                    let e = latest.entry(&**src).or_insert((*ts, *idx));
                    if *ts > e.0 {
                        *e = (*ts, *idx);
                    }
                }
            }
        }
        for (src, (_, idx)) in latest {
            if c.add(
                idx,
                Stage::Source,
                format!("outbound SMB from {src} to this host"),
            ) {
                c.source_hosts.insert(src.to_string());
                push_unique(&mut c.remote, format!("outbound SMB from {src}"));
                push_unique(&mut c.remote_proof, format!("outbound SMB from {src}"));
            }
        }
    }

    /// Signs that the client ran on the target itself.
    pub fn local_client(&self, c: &mut Chain, t0: DateTime<Utc>) {
        for run in self.ctx.runs_from(&c.target_key) {
            if (run.ts - t0).abs() <= secs(60) {
                let name = &self.pats.tools[run.tool].name;
                push_unique(
                    &mut c.local,
                    format!("{name} client ran on the target itself"),
                );
                c.add(
                    run.idx,
                    Stage::Source,
                    "client tool on the target (local use)",
                );
            }
        }
        let (from, to) = span(t0, secs(60), secs(5));
        for (i, e) in self.sess.with_ids(self.view.store, &[13], from, to) {
            let e: &Event = &e;
            if e.event_id == 13
                && let Some(t) = e
                    .fields
                    .registry
                    .target_object
                    .as_deref()
                    .and_then(|k| self.pats.client_registry_tool(k))
            {
                push_unique(
                    &mut c.local,
                    format!(
                        "{} client wrote its EULA key on the target",
                        self.pats.tools[t].name
                    ),
                );
                c.add(i, Stage::Source, "client tool on the target (local use)");
            }
        }
    }
}
