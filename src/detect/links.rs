//! How events join a chain on one target host. Each function adds the events one rule links,
//! says how in the link text, and records what the link reveals (sessions, sources, origin).

use super::chain::Chain;
use super::context::{Context, HostView, inbound_scm_peer, inbound_smb_peer, span};
use super::finding::Stage;
use super::patterns::{Patterns, exe_path, file_name, is_exe, pipe_base};
use super::profile::{Profile, secs};
use super::signal::Signal;
use crate::model::host::is_loopback_or_empty;
use crate::model::{Event, FastMap, LogonId};
use crate::store::Ev;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeSet, HashMap};

const WELL_KNOWN_SIDS: &[&str] = &["S-1-5-18", "S-1-5-19", "S-1-5-20", "S-1-0-0"];

pub struct Linker<'a> {
    pub view: HostView<'a>,
    pub ctx: &'a Context,
    pub pats: &'a Patterns,
    pub profile: &'a Profile,
    /// The host's events by event id, logon id and (source, account).
    pub sess: HostIndex,
    /// services.exe's process ids learned from the host's process events, once, when a
    /// process names only its creator's id.
    pub scm_from_processes: std::sync::OnceLock<Vec<u32>>,
    /// Campaign thresholds (`assets/scoring.toml`).
    pub campaign_rule: &'a super::campaign::CampaignRule,
}

/// Store indices (in time order) of a host's events: all by event id, and 4624/5140/5145 by
/// logon id and by session key, so linking stages look up what can match instead of scanning
/// each chain's time window (a dense host would cost installs x events in window).
#[derive(Default)]
pub struct HostIndex {
    /// Most logon ids have an event or two: pairs sorted by id cost a fraction of a map of lists.
    by_logon: SortedLists<LogonId>,
    by_session: FastMap<(String, String), Vec<usize>>,
    /// 4624/5140/5145 by the acting account's SID and user name (lower-case), for installs
    /// that carry no logon id (7045).
    by_account: FastMap<String, Vec<usize>>,
    /// Every event of the host by event id.
    event_ids: FastMap<u16, Vec<usize>>,
    /// Pipe events (Sysmon 17/18, 5145 on IPC$) a chain's pipe rule can take, classified once:
    /// a tool's pipe, or an SCM pipe opened by System. A flood of other pipes (thousands of
    /// `svcctl` sessions) costs each chain nothing.
    linkable_pipes: Vec<usize>,
    /// Sysmon 17 pipe creations by the creating image's file name (lower-case): the pipes a
    /// service's own binary made.
    pipes_created_by: FastMap<String, Vec<usize>>,
    /// Files written over SMB (5145 ADMIN$/C$ writes, Sysmon 11 by System) by file name
    /// (lower-case): the service binary's copy.
    written_files: FastMap<String, Vec<usize>>,
    /// Remote service-control sessions (5145 `IPC$` SCM pipe from another address).
    remote_scm_sessions: Vec<usize>,
}

/// Lists of indices under keys: what `HostIndex` looks up.
trait Lists<K> {
    fn list(&self, key: &K) -> Option<&[usize]>;
}

impl<K: std::hash::Hash + Eq, S: std::hash::BuildHasher> Lists<K> for HashMap<K, Vec<usize>, S> {
    fn list(&self, key: &K) -> Option<&[usize]> {
        self.get(key).map(Vec::as_slice)
    }
}

/// (key, index) pairs sorted by key, indices ascending under each key.
#[derive(Debug)]
struct SortedLists<K> {
    keys: Vec<K>,
    idx: Vec<usize>,
}

impl<K> Default for SortedLists<K> {
    fn default() -> Self {
        SortedLists {
            keys: Vec::new(),
            idx: Vec::new(),
        }
    }
}

impl<K: Ord + Copy> SortedLists<K> {
    /// From pairs in index order.
    fn new(mut pairs: Vec<(K, usize)>) -> Self {
        // Stable: each key's indices stay in index (time) order.
        pairs.sort_by_key(|&(k, _)| k);
        let (keys, idx) = pairs.into_iter().unzip();
        SortedLists { keys, idx }
    }
}

impl<K: Ord> Lists<K> for SortedLists<K> {
    fn list(&self, key: &K) -> Option<&[usize]> {
        let from = self.keys.partition_point(|k| k < key);
        let to = self.keys.partition_point(|k| k <= key);
        (to > from).then(|| &self.idx[from..to])
    }
}

/// Most events one weak rule (installer SID + time, same account and source) links to a
/// chain: those nearest the install. A tool run opens a handful of SMB sessions; a host where
/// an account logs on thousands of times around an install (a busy server, or logs flooded on
/// purpose) must not make every chain absorb all of them, nor cost installs x logons.
pub const MAX_WEAK_LINKS: usize = 8;

/// Most events of one logon id a linking rule looks at, those nearest the chain's time: a
/// session opens a handful; more than a stage lists (`MAX_LINKS_PER_STAGE`) are counted, not
/// linked, so looking further would change nothing but the cost.
pub const PER_LOGON_ID: usize = 2 * super::chain::MAX_LINKS_PER_STAGE;

/// The positions in `list` (time-ordered store indices) of the events in `[from, to]`.
fn bounds(
    store: &crate::store::Window,
    list: &[usize],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> std::ops::Range<usize> {
    let ts = |i: usize| store.time(i).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let start = list.partition_point(|&i| ts(i) < from);
    let end = list.partition_point(|&i| ts(i) <= to).max(start);
    start..end
}

/// The `k` indices of `list` (time-ordered) in `[from, to]` nearest to `t`, in time order.
fn nearest(
    store: &crate::store::Window,
    list: &[usize],
    t: DateTime<Utc>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    k: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let ts = |i: usize| store.time(i).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let std::ops::Range { start, end } = bounds(store, list, from, to);
    let mid = list[start..end].partition_point(|&i| ts(i) < t) + start;
    let (mut lo, mut hi) = (mid, mid);
    let mut out = Vec::new();
    while out.len() < k && (lo > start || hi < end) {
        let take_hi = match (lo > start, hi < end) {
            (true, true) => (ts(list[hi]) - t) <= (t - ts(list[lo - 1])),
            (false, true) => true,
            _ => false,
        };
        let i = if take_hi {
            hi += 1;
            list[hi - 1]
        } else {
            lo -= 1;
            list[lo]
        };
        if keep(i) {
            out.push(i);
        }
    }
    crate::detect::work::add(hi - lo + 1);
    out.sort_unstable();
    out
}

impl HostIndex {
    pub fn build(view: &HostView<'_>, pats: &Patterns) -> Self {
        let mut ix = Self::default();
        let mut logons = Vec::new();
        let mut key = String::new();
        for (i, id) in view.ids() {
            ix.event_ids.entry(id).or_default().push(i);
            if !matches!(id, 4624 | 5140 | 5145 | 17 | 18 | 11) {
                continue;
            }
            let Some(e) = view.store.read(i) else {
                continue;
            };
            ix.classify(pats, i, &e);
            if !matches!(id, 4624 | 5140 | 5145) {
                continue;
            }
            if let Some(l) = e.fields.logon_id {
                logons.push((l, i));
            }
            if let Some(s) = session_of(&e) {
                ix.by_session.entry(s).or_default().push(i);
            }
            let acct = if e.event_id == 4624 {
                &e.fields.target
            } else {
                &e.fields.subject
            };
            if let Some(s) = acct.sid.as_deref() {
                ix.list_under_account(&mut key, "sid:", s, i);
            }
            if let Some(u) = acct.user.as_deref() {
                ix.list_under_account(&mut key, "user:", u, i);
            }
        }
        ix.by_logon = SortedLists::new(logons);
        ix
    }

    /// Lists a pipe, file or session event under what the linking rules look it up by.
    fn classify(&mut self, pats: &Patterns, i: usize, e: &Event) {
        if let Some(name) = pipe_name(e) {
            let by_system = is_system_image(e);
            if pats.pipe_match(name).is_some()
                || (by_system && matches!(e.event_id, 17 | 18) && pats.is_scm_pipe(name))
            {
                self.linkable_pipes.push(i);
            }
            if e.event_id == 17
                && let Some(image) = e.fields.process.image.as_deref()
            {
                self.pipes_created_by
                    .entry(file_name(image))
                    .or_default()
                    .push(i);
            }
            if e.event_id == 5145
                && pats.is_scm_pipe(name)
                && e.fields
                    .net
                    .src_ip
                    .as_deref()
                    .is_some_and(|ip| !is_loopback_or_empty(ip))
            {
                self.remote_scm_sessions.push(i);
            }
        }
        let written = match e.event_id {
            5145 => e
                .fields
                .share
                .relative_target
                .as_deref()
                .filter(|_| share_stage(pats, e) == Some(Stage::Share) && pats.is_write(e)),
            11 if is_system_image(e) => e.fields.share.file_path.as_deref(),
            _ => None,
        };
        if let Some(w) = written {
            self.written_files.entry(file_name(w)).or_default().push(i);
        }
    }

    /// Pipe events a chain's pipe rule can take (see `linkable_pipes`) in `[from, to]`.
    pub fn linkable_pipes<'s>(
        &self,
        store: &'s crate::store::Window,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(usize, Ev<'s>)> {
        Self::window(store, &self.linkable_pipes, from, to, None)
            .filter_map(|i| store.read(i).map(|e| (i, e)))
            .collect()
    }

    /// Sysmon 17 pipe creations by an image of this file name in `[from, to]`.
    pub fn pipes_created_by<'s>(
        &self,
        store: &'s crate::store::Window,
        image_file: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(usize, Ev<'s>)> {
        Self::in_order(&self.pipes_created_by, [&image_file.to_string()], store, from, to)
    }

    /// Files of this name written over SMB in `[from, to]`.
    pub fn files_written<'s>(
        &self,
        store: &'s crate::store::Window,
        file: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(usize, Ev<'s>)> {
        Self::in_order(&self.written_files, [&file.to_string()], store, from, to)
    }

    /// The latest of the host's 4624 events in `[from, to]` that `keep` accepts, looking back
    /// at most `bound` of them.
    pub fn last_4624<'s>(
        &self,
        store: &'s crate::store::Window,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        bound: usize,
        keep: impl Fn(&Event) -> bool,
    ) -> Option<(usize, Ev<'s>)> {
        let list = self.event_ids.get(&4624)?;
        let span = &list[bounds(store, list, from, to)];
        crate::detect::work::add(span.len().min(bound) + 1);
        span.iter().rev().take(bound).find_map(|&i| {
            let e = store.read(i)?;
            keep(&e).then_some((i, e))
        })
    }

    /// The latest remote service-control session in `[from, to]`.
    pub fn last_remote_scm_session<'s>(
        &self,
        store: &'s crate::store::Window,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<(usize, Ev<'s>)> {
        let span = &self.remote_scm_sessions[bounds(store, &self.remote_scm_sessions, from, to)];
        crate::detect::work::add(1);
        let &i = span.last()?;
        store.read(i).map(|e| (i, e))
    }

    /// Lists `i` under the account key `kind` + lower-case `name` (`key` is the buffer the key is
    /// written in: most events name an account already listed, and then nothing is allocated).
    fn list_under_account(&mut self, key: &mut String, kind: &str, name: &str, i: usize) {
        key.clear();
        key.push_str(kind);
        key.push_str(name);
        key[kind.len()..].make_ascii_lowercase();
        if let Some(list) = self.by_account.get_mut(key.as_str()) {
            list.push(i);
        } else {
            self.by_account.insert(key.clone(), vec![i]);
        }
    }

    /// Indices in `list` whose events lie in `[from, to]` and come after `after`.
    fn window<'s>(
        store: &'s crate::store::Window,
        list: &'s [usize],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<usize>,
    ) -> impl Iterator<Item = usize> + 's {
        let span = &list[bounds(store, list, from, to)];
        crate::detect::work::add(span.len() + 1);
        span.iter()
            .copied()
            .filter(move |&i| after.is_none_or(|a| i > a))
    }

    /// Adds to `out` the indices, in `[from, to]` and after `after`, listed under any of `keys`.
    #[allow(clippy::too_many_arguments)] // Why: a map, its keys, a window and a work list.
    fn keyed<'k, K: 'k>(
        map: &impl Lists<K>,
        keys: impl IntoIterator<Item = &'k K>,
        store: &crate::store::Window,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<usize>,
        out: &mut BTreeSet<usize>,
    ) {
        for list in keys.into_iter().filter_map(|k| map.list(k)) {
            out.extend(Self::window(store, list, from, to, after));
        }
    }

    /// The events listed under any of `keys` in `[from, to]`, in time order.
    fn in_order<'s, 'k, K: 'k>(
        map: &impl Lists<K>,
        keys: impl IntoIterator<Item = &'k K>,
        store: &'s crate::store::Window,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(usize, Ev<'s>)> {
        let mut hits = BTreeSet::new();
        Self::keyed(map, keys, store, from, to, None, &mut hits);
        hits.into_iter()
            .filter_map(|i| store.read(i).map(|e| (i, e)))
            .collect()
    }

    /// The host's events with one of `ids` in `[from, to]`, in time order.
    pub fn with_ids<'s>(
        &self,
        store: &'s crate::store::Window,
        ids: &[u16],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(usize, Ev<'s>)> {
        Self::in_order(&self.event_ids, ids, store, from, to)
    }

    /// The network logons and share accesses of `ids` in `[from, to]`, of each id the
    /// [`PER_LOGON_ID`] nearest `t0`, in time order; and how many more the window held (a
    /// logon id shared by thousands of events costs each chain a bounded look).
    pub fn with_logon_ids<'s>(
        &self,
        store: &'s crate::store::Window,
        ids: &[LogonId],
        t0: DateTime<Utc>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
    ) -> (Vec<(usize, Ev<'s>)>, u64) {
        let mut hits = BTreeSet::new();
        let skipped = self.nearest_by_logon(store, ids, t0, (from, to), None, &mut hits);
        let events = hits
            .into_iter()
            .filter_map(|i| store.read(i).map(|e| (i, e)))
            .collect();
        (events, skipped)
    }

    /// Adds to `out` the events of each logon id in `[from, to]` (after `after`), the
    /// [`PER_LOGON_ID`] nearest `t`; returns how many more the windows held.
    #[allow(clippy::too_many_arguments)] // Why: keys, a time, a window, a bound and a work list.
    fn nearest_by_logon<'k>(
        &self,
        store: &crate::store::Window,
        ids: impl IntoIterator<Item = &'k LogonId>,
        t: DateTime<Utc>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        after: Option<usize>,
        out: &mut BTreeSet<usize>,
    ) -> u64 {
        let mut skipped = 0u64;
        for list in ids.into_iter().filter_map(|k| self.by_logon.list(k)) {
            let in_window = bounds(store, list, from, to).len();
            let taken = nearest(store, list, t, (from, to), PER_LOGON_ID, |i| {
                after.is_none_or(|a| i > a)
            });
            skipped += in_window.saturating_sub(taken.len()) as u64;
            out.extend(taken);
        }
        skipped
    }

    /// The events of keys a chain just learned, after the event that taught them (of a session
    /// key, only the [`MAX_WEAK_LINKS`] nearest `t0`).
    #[allow(clippy::too_many_arguments)] // Why: a window and a work list, all needed together.
    fn learned(
        &self,
        store: &crate::store::Window,
        lid: Option<LogonId>,
        sess: Option<&(String, String)>,
        (t0, from, to): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
        after: usize,
        out: &mut BTreeSet<usize>,
    ) {
        self.nearest_by_logon(store, lid.as_ref(), t0, (from, to), Some(after), out);
        if let Some(list) = sess.and_then(|s| self.by_session.get(s)) {
            out.extend(nearest(store, list, t0, (from, to), MAX_WEAK_LINKS, |i| {
                i > after
            }));
        }
    }

    /// The events sharing a logon id with the chain in `[from, to]`, and of each session key
    /// the [`MAX_WEAK_LINKS`] nearest `t0`.
    fn candidates(
        &self,
        store: &crate::store::Window,
        c: &Chain,
        (t0, from, to): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
        out: &mut BTreeSet<usize>,
    ) {
        self.nearest_by_logon(store, &c.logon_ids, t0, (from, to), None, out);
        for list in c.sessions.iter().filter_map(|s| self.by_session.get(s)) {
            out.extend(nearest(store, list, t0, (from, to), MAX_WEAK_LINKS, |_| {
                true
            }));
        }
    }

    /// Session events (4624/5140/5145) of the given SIDs or user names in `[from, to]`, the
    /// `k` nearest `t` that `keep` accepts, in time order.
    #[allow(clippy::too_many_arguments)] // Why: keys, a window, a bound and a filter.
    fn by_installer(
        &self,
        store: &crate::store::Window,
        sids: &[&String],
        users: &[String],
        t: DateTime<Utc>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        keep: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        let keys = sids
            .iter()
            .map(|s| format!("sid:{}", s.to_ascii_lowercase()))
            .chain(
                users
                    .iter()
                    .map(|u| format!("user:{}", u.to_ascii_lowercase())),
            );
        let mut all: BTreeSet<usize> = BTreeSet::new();
        for list in keys.filter_map(|k| self.by_account.get(&k)) {
            all.extend(nearest(store, list, t, (from, to), MAX_WEAK_LINKS, &keep));
        }
        // Several keys: still the k nearest overall.
        let v: Vec<usize> = all.into_iter().collect();
        nearest(store, &v, t, (from, to), MAX_WEAK_LINKS, |_| true)
    }
}

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
    fn session_stage(&self, e: &Event) -> Option<Stage> {
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
        let (events, skipped) = self.sess.with_logon_ids(self.view.store, ids, t0, (from, to));
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

    fn note_session(&self, c: &mut Chain, e: &Event) {
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
            self.sess.candidates(store, c, (t0, from, to), &mut work);
            while let Some(i) = work.pop_first() {
                let Some(e) = store.get(i) else { continue };
                if c.has(i) || !matches!(e.event_id, 4624 | 5140 | 5145) {
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
        m: &super::patterns::PipeMatch,
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
                super::patterns::pipe_base(pipe_name(e).unwrap_or(""))
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
            if c.add(i, Stage::Share, "service binary written over SMB")
            {
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

    /// The latest remote service-control session (`IPC$\\svcctl` over SMB from another
    /// address) opened shortly before `t0`: for a change that names no installer (a Sysmon 13
    /// path write by services.exe), the session that made it. Its logon joins by logon id.
    pub fn scm_session_before(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let (from, to) = span(t0, secs(self.profile.windows.stage_window), secs(1));
        let latest = self
            .sess
            .last_remote_scm_session(self.view.store, from, to);
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
                if let Some((_, t)) = super::full::process_command_tool(self.pats, e) {
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
    fn scm_pids_from_processes(&self) -> Vec<u32> {
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
                    push_unique(&mut c.remote_proof, format!("tool run on {}", run.source_key));
                }
            }
        }
    }

    /// Outbound SMB from another host to this one shortly before the chain: the source side.
    /// One connection per source host is kept (the latest before the chain).
    pub fn outbound_sources(&self, c: &mut Chain, t0: DateTime<Utc>) {
        let win = secs(self.profile.windows.tool_to_install);
        let Some(ips) = self.ctx.host_ips.get(&c.target_key) else {
            return;
        };
        let mut latest: std::collections::BTreeMap<&str, (DateTime<Utc>, usize)> =
            std::collections::BTreeMap::new();
        // Connections from `win` before the chain to 2 s after it.
        let from = t0.checked_sub_signed(win).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = t0.checked_add_signed(secs(2)).unwrap_or(DateTime::<Utc>::MAX_UTC);
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
    use super::*;

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
