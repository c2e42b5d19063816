//! Named pipes (tool pipes naming the service, the tool's generic pipes, SCM pipes) and the
//! helper binary written over SMB.

use super::{Linker, is_system_image, note_fingerprint, pipe_name, push_unique};
use crate::detect::chain::Chain;
use crate::detect::context::span;
use crate::detect::finding::Stage;
use crate::detect::patterns::{exe_path, file_name, is_exe, pipe_base};
use crate::detect::profile::secs;
use crate::detect::signal::Signal;
use crate::model::Event;
use chrono::{DateTime, Utc};

impl Linker<'_> {
    /// Tool pipes naming this service, generic tool pipes of the same tool, and SCM pipes
    /// opened by the SMB server (System) just before the install.
    pub fn pipes(&self, c: &mut Chain, t0: DateTime<Utc>, tool: Option<usize>) {
        let win = &self.profile.windows;
        let (from, to) = span(t0, secs(win.stage_window), secs(win.lifecycle));
        let window = self.sess.linkable_pipes(self.view.store, from, to);
        // Pipes the service's own binary created (Impacket's helper opens RemCom's pipes):
        // every event on those pipe names belongs to the chain, whatever tool they look like.
        let helper = c
            .service
            .image
            .as_deref()
            .map(|i| file_name(&exe_path(i)))
            .unwrap_or_default();
        let owned: Vec<String> = if helper.is_empty() {
            Vec::new()
        } else {
            self.sess
                .pipes_created_by(self.view.store, &helper, from, to)
                .iter()
                .filter_map(|(_, e)| pipe_name(e).map(|n| pipe_base(n).to_ascii_lowercase()))
                .collect()
        };
        for (i, e) in &window {
            let (i, e): (usize, &Event) = (*i, e);
            let Some(name) = pipe_name(e) else { continue };
            let by_system = is_system_image(e);
            if let Some(m) = self.pats.pipe_match(name) {
                let named = m.service.as_deref().is_some_and(|s| c.service.has_name(s));
                let same_tool = m.service.is_none() && tool == Some(m.tool);
                let own = owned.contains(&pipe_base(name).to_ascii_lowercase());
                if !(named || same_tool || own) {
                    continue;
                }
                let how = if named {
                    "pipe named after the service"
                } else if own {
                    "pipe of the service binary"
                } else {
                    "tool pipe of the same tool"
                };
                if c.add(i, Stage::Pipe, how) {
                    self.note_pipe(c, e, &m, by_system);
                }
            } else if self.pats.is_scm_pipe(name)
                && by_system
                && e.ts <= t0
                && t0.signed_duration_since(e.ts) <= secs(10)
                && c.add(
                    i,
                    Stage::Pipe,
                    "SCM pipe opened over SMB just before the install",
                )
            {
                {
                    push_unique(
                        &mut c.remote,
                        format!(
                            "SMB client opened {} (Sysmon {})",
                            pipe_base(name),
                            e.event_id
                        ),
                    );
                }
            }
        }
    }

    pub fn note_pipe(
        &self,
        c: &mut Chain,
        e: &Event,
        m: &crate::detect::patterns::PipeMatch,
        by_system: bool,
    ) {
        if let Some(s) = &m.service {
            c.service.add_name(s);
        }
        c.tools.insert(self.pats.tools[m.tool].name.clone());
        c.known_tool = true;
        note_fingerprint(
            c,
            self.pats,
            m.tool,
            &format!(
                "pipe {}",
                crate::detect::patterns::pipe_base(pipe_name(e).unwrap_or(""))
            ),
        );
        if let Some(h) = &m.source_host {
            let key = crate::model::host_key(h);
            if key == c.target_key {
                push_unique(
                    &mut c.local,
                    format!(
                        "pipe {} names the target itself as the client",
                        pipe_name(e).unwrap_or("")
                    ),
                );
            } else {
                c.source_hosts.insert(key.clone());
                push_unique(&mut c.remote, format!("pipe names client host {key}"));
                push_unique(&mut c.remote_proof, format!("pipe names client host {key}"));
            }
        }
        if by_system && e.event_id == 18 {
            push_unique(
                &mut c.remote,
                "tool pipe connected by the SMB server (System)".to_string(),
            );
        }
        if e.event_id == 5145 {
            self.note_session(c, e);
        }
    }

    /// The helper binary written over SMB: a 5145 ADMIN$/C$ write, or Sysmon 11 by System.
    pub fn helper_writes(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let Some(exe) = c.service.image.as_deref().map(exe_path) else {
            return;
        };
        let want = file_name(&exe);
        if want.is_empty() || !is_exe(&want) {
            return;
        }
        let (from, to) = span(t0, secs(self.profile.windows.stage_window), secs(1));
        for (i, e) in self.sess.files_written(self.view.store, &want, from, to) {
            let e: &Event = &e;
            if c.add(i, Stage::Share, "service binary written over SMB") {
                if e.event_id == 5145 {
                    self.note_session(c, e);
                } else {
                    push_unique(
                        &mut c.remote,
                        "helper written by the SMB server (System)".to_string(),
                    );
                }
                c.signals.insert(Signal::ShareThenService);
            }
        }
    }
}
