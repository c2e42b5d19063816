//! The service's processes: its binary, its children, what services.exe started right after
//! the install when it matches the service's command.

use super::{Linker, note_fingerprint, push_unique, relates};
use crate::detect::chain::Chain;
use crate::detect::context::span;
use crate::detect::finding::Stage;
use crate::detect::patterns::{exe_path, file_name};
use crate::detect::profile::secs;
use crate::detect::signal::Signal;
use crate::model::Channel;
use crate::model::Event;
use chrono::{DateTime, Utc};

impl Linker<'_> {
    /// Processes of the service: its binary, its children (by PID or parent image), or what
    /// services.exe started right after the install when it matches the service's command.
    pub fn processes(&self, c: &mut Chain, t0: DateTime<Utc>, scm_pids: &[u32]) {
        let Some(image) = c.service.image.clone() else {
            return;
        };
        let exe = exe_path(&image);
        let exe_name = file_name(&exe);
        let win = &self.profile.windows;
        let mut pids: Vec<u32> = Vec::new();
        let (from, to) = span(t0, secs(1), secs(win.helper_children));
        for (i, e) in self.sess.with_ids(self.view.store, &[1, 4688], from, to) {
            let e: &Event = &e;
            let p = &e.fields.process;
            let img = file_name(p.image.as_deref().unwrap_or(""));
            let parent = p.parent_image.as_deref().unwrap_or("");
            let parentless = parent.is_empty() || parent == "?";
            let by_pid = parentless && p.parent_pid.is_some_and(|pp| scm_pids.contains(&pp));
            // Windows 7/2008-era 4688 names only the creator's process id: services.exe is the
            // process that created services.exe's own children (svchost.exe) on this host.
            let inferred_pid = (parentless && !by_pid)
                .then_some(p.parent_pid)
                .flatten()
                .filter(|pp| {
                    self.scm_from_processes
                        .get_or_init(|| self.scm_pids_from_processes())
                        .contains(pp)
                });
            let from_scm = self.pats.is_scm_image(parent) || by_pid || inferred_pid.is_some();
            let early = e.ts.signed_duration_since(t0) <= secs(win.install_to_process);
            let how = if !exe_name.is_empty()
                && img == exe_name
                && e.ts.signed_duration_since(t0) <= secs(win.stage_window)
            {
                Some("runs the service binary")
            } else if p.parent_pid.is_some_and(|pp| pids.contains(&pp))
                || (!exe_name.is_empty() && file_name(parent) == exe_name)
            {
                Some("child of the service binary")
            } else if from_scm && early && relates(&image, &img) {
                Some(if inferred_pid.is_some() {
                    "started by services.exe right after the install (parent inferred from its process id)"
                } else {
                    "started by services.exe right after the install"
                })
            } else {
                None
            };
            if let (Some(pp), Some(_)) = (inferred_pid, how) {
                push_unique(
                    &mut c.inferred,
                    format!(
                        "{img} started by process id {pp:#x}, services.exe by the processes it created (svchost.exe) on this host"
                    ),
                );
            }
            if let Some(how) = how {
                c.add(i, Stage::Exec, how);
                if let Some(pid) = p.pid {
                    pids.push(pid);
                }
                if let Some((_, t)) = process_command_tool(self.pats, e) {
                    c.tools.insert(self.pats.tools[t].name.clone());
                    c.known_tool = true;
                    note_fingerprint(
                        c,
                        self.pats,
                        t,
                        &format!("command line of a process (event {})", e.event_id),
                    );
                }
                c.signals.insert(Signal::ServiceThenProcess);
            }
        }
    }

    /// Process ids of services.exe learned from the host's process events: services.exe's own
    /// creation, and the creator of svchost.exe processes (only the SCM starts them).
    pub(crate) fn scm_pids_from_processes(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = Vec::new();
        for (_, e) in self.view.events_of(&[1, 4688]) {
            let p = &e.fields.process;
            let img = file_name(p.image.as_deref().unwrap_or(""));
            let parent = p.parent_image.as_deref().unwrap_or("");
            if img == "services.exe" {
                pids.extend(p.pid);
            } else if img == "svchost.exe"
                && (parent.is_empty() || parent == "?" || self.pats.is_scm_image(parent))
            {
                pids.extend(p.parent_pid);
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }
}

/// PIDs of services.exe, from the SCM's own System events (`Execution/@ProcessID`).
pub fn scm_pids(l: &Linker<'_>) -> Vec<u32> {
    let mut pids: Vec<u32> = l
        .view
        .events_of(crate::model::stages::table().pass("scm"))
        .filter(|(_, e)| e.channel == Channel::System)
        .filter_map(|(_, e)| e.fields.exec_pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The tool whose own command line a process event carries, in its command line or (Sysmon 1)
/// its parent's: the command line that matched and the tool.
pub fn process_command_tool<'e>(
    pats: &crate::detect::patterns::Patterns,
    e: &'e Event,
) -> Option<(&'e str, usize)> {
    let p = &e.fields.process;
    [p.command_line.as_deref(), p.parent_command_line.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|c| pats.tool_for_command(c).map(|t| (c, t)))
}
