//! The host index: a host's events sorted once into the lists linking rules look up (by event
//! id, logon id, session key, pipe, written file), each lookup bounded (`MAX_WEAK_LINKS`,
//! `PER_LOGON_ID`), so linking costs what the evidence holds, never installs x events.

use super::{MAX_WEAK_LINKS, PER_LOGON_ID, is_system_image, pipe_name, session_of, share_stage};
use crate::detect::chain::Chain;
use crate::detect::context::HostView;
use crate::detect::finding::Stage;
use crate::detect::patterns::{Patterns, file_name};
use crate::model::host::is_loopback_or_empty;
use crate::model::stages::ids;
use crate::model::{Event, FastMap, LogonId};
use crate::store::Ev;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

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
                || (by_system && ids("sysmon_pipe").contains(&e.event_id) && pats.is_scm_pipe(name))
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
        Self::in_order(
            &self.pipes_created_by,
            [&image_file.to_string()],
            store,
            from,
            to,
        )
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
    pub(super) fn learned(
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
    pub(super) fn candidates(
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
    pub(super) fn by_installer(
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
