//! The service's life after the install: state changes, start time-outs, its binary and key
//! deleted, and inbound SMB just before the chain.

use super::Linker;
use crate::detect::chain::Chain;
use crate::detect::context::{inbound_scm_peer, inbound_smb_peer, span};
use crate::detect::finding::Stage;
use crate::detect::patterns::{exe_path, file_name};
use crate::detect::profile::secs;
use crate::model::Event;
use chrono::{DateTime, Utc};

impl Linker<'_> {
    /// 7036/7035/7000/7009/7034 for this service, Sysmon 23/26 deleting its binary, Sysmon 12
    /// deleting its key.
    pub fn lifecycle(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let exe_name = c
            .service
            .image
            .as_deref()
            .map(|i| file_name(&exe_path(i)))
            .unwrap_or_default();
        let (from, to) = span(t0, secs(1), secs(self.profile.windows.lifecycle));
        let ids = [7036, 7035, 7000, 7009, 7034, 23, 26, 13, 12];
        for (i, e) in self.sess.with_ids(self.view.store, &ids, from, to) {
            let e: &Event = &e;
            let s = &e.fields.service;
            let named = s.name.as_deref().is_some_and(|n| c.service.has_name(n))
                || s.key_name.as_deref().is_some_and(|n| c.service.has_name(n));
            match e.event_id {
                7036 | 7035 | 7000 | 7009 | 7034 if named => {
                    let state = s.state.as_deref().unwrap_or("").to_ascii_lowercase();
                    let stopped = state.contains("stop") || e.event_id == 7034;
                    let state_stage = if stopped { Stage::Cleanup } else { Stage::Exec };
                    c.add(
                        i,
                        state_stage,
                        format!("service {}", if stopped { "stopped" } else { "started" }),
                    );
                }
                23 | 26
                    if !exe_name.is_empty()
                        && e.fields
                            .share
                            .file_path
                            .as_deref()
                            .is_some_and(|p| file_name(p) == exe_name) =>
                {
                    c.add(i, Stage::Cleanup, "service binary deleted");
                }
                13 if e.fields.registry.target_object.as_deref().is_some_and(|k| {
                    let kl = k.to_ascii_lowercase();
                    kl.ends_with("\\deleteflag")
                        && c.service.names.iter().any(|n| {
                            kl.contains(&format!("\\services\\{}\\", n.to_ascii_lowercase()))
                        })
                }) =>
                {
                    c.add(i, Stage::Cleanup, "service marked for deletion");
                }
                12 if e.fields.registry.event_type.as_deref() == Some("DeleteKey")
                    && e.fields.registry.target_object.as_deref().is_some_and(|k| {
                        let kl = k.to_ascii_lowercase();
                        c.service.names.iter().any(|n| {
                            kl.ends_with(&format!("\\services\\{}", n.to_ascii_lowercase()))
                        })
                    }) =>
                {
                    c.add(i, Stage::Cleanup, "service key deleted");
                }
                _ => {}
            }
        }
    }

    /// Inbound SMB to this host just before the chain (Sysmon 3).
    pub fn inbound(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let w = secs(self.profile.windows.stage_window);
        let (from, to) = span(t0, w, w);
        for (i, e) in self.sess.with_ids(self.view.store, &[3], from, to) {
            let e: &Event = &e;
            if let Some(peer) = inbound_smb_peer(e)
                && c.add(i, Stage::Logon, format!("inbound SMB from {peer}"))
            {
                self.note_ip(c, Some(&peer), "inbound SMB");
            } else if let Some(peer) = inbound_scm_peer(e)
                && c.add(
                    i,
                    Stage::Pipe,
                    format!("inbound RPC to the service manager from {peer}"),
                )
            {
                self.note_ip(c, Some(&peer), "inbound RPC to the SCM");
            }
        }
    }
}
