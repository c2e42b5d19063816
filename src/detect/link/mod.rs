//! How events join a chain on one target host. Each rule adds the events it links, says how
//! in the link text, and records what the link reveals (sessions, sources, origin). The host's
//! events are looked up through one `HostIndex`; the rules live by what they link.

use crate::detect::chain::Chain;
use crate::detect::context::HostView;
use crate::detect::finding::Stage;
use crate::detect::patterns::{Patterns, exe_path, file_name};
use crate::detect::profile::Profile;
use crate::model::Event;
use chrono::{DateTime, TimeDelta, Utc};

mod index;
mod lifecycle;
mod pipes;
mod process;
mod sessions;
mod source;

pub use index::HostIndex;
pub use process::{process_command_tool, scm_pids};

const WELL_KNOWN_SIDS: &[&str] = &["S-1-5-18", "S-1-5-19", "S-1-5-20", "S-1-0-0"];

pub struct Linker<'a> {
    pub view: HostView<'a>,
    /// The collection-wide facts, each lookup noted when a live collection asks.
    pub ctx: &'a crate::detect::reads::Reads<'a>,
    pub pats: &'a Patterns,
    pub profile: &'a Profile,
    /// The host's events by event id, logon id and (source, account).
    pub sess: HostIndex,
    /// services.exe's process ids learned from the host's process events, once, when a
    /// process names only its creator's id.
    pub scm_from_processes: std::sync::OnceLock<Vec<u32>>,
    /// Campaign thresholds (`assets/scoring.toml`).
    pub campaign_rule: &'a crate::detect::score::CampaignRule,
}

/// Most events one weak rule (installer SID + time, same account and source) links to a
/// chain: those nearest the install. A tool run opens a handful of SMB sessions; a host where
/// an account logs on thousands of times around an install (a busy server, or logs flooded on
/// purpose) must not make every chain absorb all of them, nor cost installs x logons.
pub const MAX_WEAK_LINKS: usize = 8;

/// Most events of one logon id a linking rule looks at, those nearest the chain's time: a
/// session opens a handful; more than a stage lists (`MAX_LINKS_PER_STAGE`) are counted, not
/// linked, so looking further would change nothing but the cost.
pub const PER_LOGON_ID: usize = 2 * crate::detect::chain::MAX_LINKS_PER_STAGE;

/// A share-access event's stage: ADMIN$/C$ is Share, IPC$ with an SCM or tool pipe is Pipe.
pub fn share_stage(pats: &Patterns, e: &Event) -> Option<Stage> {
    let share = e.fields.share.share_name.as_deref()?;
    if pats.is_admin_share(share) {
        return Some(Stage::Share);
    }
    if pats.is_ipc_share(share) {
        let rel = e.fields.share.relative_target.as_deref().unwrap_or("");
        if pats.is_scm_pipe(rel) || pats.pipe_match(rel).is_some() {
            return Some(Stage::Pipe);
        }
    }
    None
}

fn user_key(e: &Event) -> Option<String> {
    let f = &e.fields;
    let acct = if e.event_id == 4624 {
        &f.target
    } else {
        &f.subject
    };
    acct.user_key()
}

/// The (source ip, user) of a logon or share access from the network.
pub fn session_of(e: &Event) -> Option<(String, String)> {
    let ip = e.fields.net.src_ip.as_deref()?;
    Some((ip.to_string(), user_key(e)?))
}

/// Records an attack tool's fingerprint on the chain (what matched, and the signature's
/// source): enough for Medium by itself. Admin tools (Sysinternals PsExec, PAExec, sc.exe)
/// are named in the tool part of the score, not raised.
pub fn note_fingerprint(c: &mut Chain, pats: &Patterns, tool: usize, what: &str) {
    let t = &pats.tools[tool];
    if t.attack {
        push_unique(
            &mut c.fingerprints,
            format!("{}: {what} (signature: {})", t.name, t.source),
        );
    }
}

pub fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

pub fn pipe_name(e: &Event) -> Option<&str> {
    match e.event_id {
        17 | 18 => e.fields.share.pipe_name.as_deref(),
        5145 if e
            .fields
            .share
            .share_name
            .as_deref()
            .is_some_and(|s| s.to_ascii_uppercase().ends_with("IPC$")) =>
        {
            e.fields.share.relative_target.as_deref()
        }
        _ => None,
    }
}

/// `System` (PID 4) acts for SMB clients: files it writes and pipes it opens came over the network.
pub fn is_system_image(e: &Event) -> bool {
    e.fields
        .process
        .image
        .as_deref()
        .is_some_and(|i| i.eq_ignore_ascii_case("System"))
        || e.fields.process.pid == Some(4)
}

/// Whether a process started by services.exe is what the service's image path runs.
pub fn relates(service_image: &str, proc_file: &str) -> bool {
    let exe = exe_path(service_image);
    let img = service_image.to_ascii_lowercase();
    file_name(&exe) == proc_file
        || ((exe == "%comspec%" || file_name(&exe) == "cmd.exe") && proc_file == "cmd.exe")
        || (img.contains("powershell") && proc_file == "powershell.exe")
}

/// Whether some time in `sorted` lies within `within` of `t` (binary search: chains that absorb
/// thousands of logons on a busy server stay cheap).
fn near_any(sorted: &[DateTime<Utc>], t: DateTime<Utc>, within: TimeDelta) -> bool {
    let at = sorted.partition_point(|x| *x < t);
    let after = sorted
        .get(at)
        .is_some_and(|x| x.signed_duration_since(t) <= within);
    let before = at
        .checked_sub(1)
        .and_then(|i| sorted.get(i))
        .is_some_and(|x| t.signed_duration_since(*x) <= within);
    after || before
}

#[cfg(test)]
mod tests {
    use super::relates;

    #[test]
    fn relates_images() {
        assert!(relates(
            "%COMSPEC% /C start /b powershell -enc AAA",
            "cmd.exe"
        ));
        assert!(relates("%SystemRoot%\\PSEXESVC.exe", "psexesvc.exe"));
        assert!(relates("cmd.exe /c echo x", "cmd.exe"));
        assert!(!relates("C:\\Windows\\x.exe", "cmd.exe"));
    }
}
