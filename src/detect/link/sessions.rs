//! Logons and SMB sessions: network logons by logon id and by installer account, the sessions
//! around an install, the remote SCM session or network logon just before a modification.

use super::{Linker, WELL_KNOWN_SIDS, near_any, push_unique, session_of, share_stage};
use crate::detect::chain::Chain;
use crate::detect::context::span;
use crate::detect::finding::Stage;
use crate::detect::profile::secs;
use crate::model::host::is_loopback_or_empty;
use crate::model::stages::ids;
use crate::model::{Event, LogonId};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

impl Linker<'_> {
    pub fn is_network_logon(&self, e: &Event) -> bool {
        self.profile.logon.event_ids.contains(&e.event_id)
            && e.event_id == 4624
            && e.fields
                .logon
                .logon_type
                .is_some_and(|t| self.profile.logon.logon_types.contains(&t))
    }

    /// The stage a logon or share-access event of the attacker's session stands for.
    pub(crate) fn session_stage(&self, e: &Event) -> Option<Stage> {
        if self.is_network_logon(e) {
            Some(Stage::Logon)
        } else {
            share_stage(self.pats, e)
        }
    }

    /// Exact: the install's logon id equals a network logon's `TargetLogonId` on this host.
    pub fn logons_by_id(&self, c: &mut Chain, ids: &[LogonId], t0: DateTime<Utc>) {
        let back = secs(self.profile.windows.logon_to_install.max(0));
        let (from, to) = span(t0, back, secs(1));
        let (events, skipped) = self
            .sess
            .with_logon_ids(self.view.store, ids, t0, (from, to));
        c.omitted += skipped;
        for (i, e) in events {
            let e: &Event = &e;
            if self.is_network_logon(e) && e.fields.logon_id.is_some_and(|l| ids.contains(&l)) {
                let how = format!(
                    "logon id {}",
                    e.fields.logon_id.map_or(String::new(), |l| l.to_string())
                );
                if c.add(i, Stage::Logon, how) {
                    self.note_session(c, e);
                }
            }
        }
    }

    /// Weaker: a 7045 has no logon id; its installer SID (or, from NXLog, user name) and time
    /// point at the logon or share access of the same account just before.
    pub fn logons_by_installer(
        &self,
        c: &mut Chain,
        sids: &[String],
        users: &[String],
        t0: DateTime<Utc>,
    ) {
        let sids: Vec<&String> = sids
            .iter()
            .filter(|s| !WELL_KNOWN_SIDS.contains(&s.as_str()))
            .collect();
        if sids.is_empty() && users.is_empty() {
            return;
        }
        let back = secs(self.profile.windows.logon_to_install.max(0));
        let store = self.view.store;
        let hits = self
            .sess
            .by_installer(store, &sids, users, t0, span(t0, back, secs(2)), |i| {
                store
                    .get(i)
                    .is_some_and(|e| self.session_stage(e).is_some())
            });
        for (i, e) in hits
            .into_iter()
            .filter_map(|i| store.get(i).map(|e| (i, e)))
        {
            let f = &e.fields;
            let acct = if e.event_id == 4624 {
                &f.target
            } else {
                &f.subject
            };
            let sid_hit = acct
                .sid
                .as_deref()
                .is_some_and(|s| sids.iter().any(|x| x.eq_ignore_ascii_case(s)));
            let user_hit = acct
                .user
                .as_deref()
                .is_some_and(|u| users.iter().any(|x| x.eq_ignore_ascii_case(u)));
            if !(sid_hit || user_hit) {
                continue;
            }
            let stage = self.session_stage(e);
            if let Some(stage) = stage {
                let how = if sid_hit {
                    "installer SID + time (weaker than a logon id)"
                } else {
                    "installer name + time (weaker than a logon id)"
                };
                if c.add(i, stage, how) {
                    self.note_session(c, e);
                    if stage == Stage::Logon {
                        c.weak_logon = true;
                    }
                }
            }
        }
    }

    pub(crate) fn note_session(&self, c: &mut Chain, e: &Event) {
        if let Some(l) = e.fields.logon_id.filter(|l| !l.is_well_known()) {
            c.logon_ids.insert(l);
        }
        if let Some(s) = session_of(e) {
            c.sessions.insert(s);
        }
        if c.user.is_none() {
            c.user = if e.event_id == 4624 {
                e.fields.target.display()
            } else {
                e.fields.subject.display()
            };
        }
        self.note_ip(c, e.fields.net.src_ip.as_deref(), "network access");
    }

    /// Records a client address as evidence of origin (remote, or local if it is the target's own).
    pub fn note_ip(&self, c: &mut Chain, ip: Option<&str>, what: &str) {
        let Some(ip) = ip else { return };
        let at = c.t0.unwrap_or(DateTime::<Utc>::MIN_UTC);
        if ip == "-" || ip.is_empty() {
            return;
        }
        if is_loopback_or_empty(ip) {
            push_unique(&mut c.local_weak, format!("{what} from loopback {ip}"));
        } else if self.ctx.is_own_ip(&c.target_key, ip, at) {
            push_unique(
                &mut c.local_weak,
                format!("{what} from the target's own address {ip}"),
            );
        } else {
            c.source_ips.insert(ip.to_string());
            for h in self.ctx.hosts_of_ip(ip, at) {
                if h != c.target_key {
                    c.source_hosts.insert(h);
                }
            }
            push_unique(&mut c.remote, format!("{what} from {ip}"));
            push_unique(&mut c.remote_proof, format!("{what} from {ip}"));
        }
    }

    /// Same SMB session(s): events with a linked logon id, or the same (ip, user) close in time.
    /// With `lead_in`, the same (ip, user) also counts anywhere in the stage window before `t0`
    /// (the file copy and SCM sessions a tool opens before the install).
    pub fn sessions(&self, c: &mut Chain, t0: DateTime<Utc>, lead_in: bool) {
        let merge = secs(self.profile.windows.session_merge);
        let lead = secs(self.profile.windows.stage_window);
        let before = secs(
            self.profile
                .windows
                .logon_to_install
                .max(self.profile.windows.stage_window),
        );
        let (from, to) = span(t0, before, secs(self.profile.windows.stage_window));
        for _ in 0..2 {
            // A pass that links nothing leaves the chain as it was: another would do the same.
            let linked_before = c.links.len();
            let mut times: Vec<DateTime<Utc>> = c
                .links
                .iter()
                .filter_map(|l| self.view.store.get(l.idx))
                .map(|e| e.ts)
                .collect();
            times.sort_unstable();
            // Only events sharing a logon id or session key with the chain can link; visit them
            // in time order, adding those of keys the chain learns on the way (as a scan would).
            let store = self.view.store;
            let mut work = BTreeSet::new();
            let session_ids = ids("session");
            self.sess.candidates(store, c, (t0, from, to), &mut work);
            while let Some(i) = work.pop_first() {
                let Some(e) = store.get(i) else { continue };
                if c.has(i) || !session_ids.contains(&e.event_id) {
                    continue;
                }
                let by_id = e.fields.logon_id.is_some_and(|l| c.logon_ids.contains(&l));
                let close = near_any(&times, e.ts, merge)
                    || (lead_in && e.ts <= t0 && t0.signed_duration_since(e.ts) <= lead);
                let by_session = close && session_of(e).is_some_and(|s| c.sessions.contains(&s));
                if !(by_id || by_session) {
                    continue;
                }
                let stage = self.session_stage(e);
                if let Some(stage) = stage {
                    let how = if by_id {
                        "same logon session"
                    } else {
                        "same account and source within seconds (another SMB session of the run)"
                    };
                    if c.add(i, stage, how) {
                        let lid = e.fields.logon_id.filter(|l| !c.logon_ids.contains(l));
                        let sess = session_of(e).filter(|s| !c.sessions.contains(s));
                        self.note_session(c, e);
                        let lid = lid.filter(|l| c.logon_ids.contains(l));
                        self.sess
                            .learned(store, lid, sess.as_ref(), (t0, from, to), i, &mut work);
                    }
                }
            }
            if c.links.len() == linked_before {
                break;
            }
        }
    }

    /// The latest remote service-control session (`IPC$\\svcctl` over SMB from another
    /// address) opened shortly before `t0`: for a change that names no installer (a Sysmon 13
    /// path write by services.exe), the session that made it. Its logon joins by logon id.
    pub fn scm_session_before(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let (from, to) = span(t0, secs(self.profile.windows.stage_window), secs(1));
        let latest = self.sess.last_remote_scm_session(self.view.store, from, to);
        if let Some((i, e)) = latest
            && c.add(
                i,
                Stage::Pipe,
                "remote service-control session just before the change",
            )
        {
            self.note_session(c, &e);
        }
    }

    /// The latest network logon from another address shortly before `t0`: for a change that
    /// names no installer and no logon id (a Sysmon 13 path write by services.exe) where no
    /// service-control session was audited, the session that most likely made it.
    pub fn network_logon_before(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let (from, to) = span(t0, secs(self.profile.windows.stage_window), secs(1));
        let latest = self.sess.last_4624(self.view.store, (from, to), 64, |e| {
            self.is_network_logon(e)
                && e.fields
                    .net
                    .src_ip
                    .as_deref()
                    .is_some_and(|ip| !is_loopback_or_empty(ip))
        });
        if let Some((i, e)) = latest
            && c.add(
                i,
                Stage::Logon,
                "network logon just before the change (no logon id links a registry write)",
            )
        {
            self.note_session(c, &e);
        }
    }
}
