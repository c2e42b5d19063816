//! The one store order: chunks' events by host, then time, then the record's own order, with
//! copies of one record (the same log read from two files) merged once.

use super::{Chunk, Header};
use crate::model::{Event, HostName, SourceRef};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

/// Every kept event of a collection, packed, in store order (host key, time, file, record id,
/// line) with copies of the same record merged: what `Window::new` and `ingest::dedupe` make
/// of the same events, at a fraction of the memory. Index `i` names the same event in both.
#[derive(Debug, Default)]
pub struct Store {
    /// Shared: a live collection builds its next store from the same chunks.
    pub(super) chunks: Vec<Arc<Chunk>>,
    /// (chunk, byte offset in the chunk) of each event, in store order.
    pub(super) order: Vec<(u32, u32)>,
    pub(super) hosts: Vec<(Arc<str>, Range<usize>)>,
    /// Where copies of a record were found, by the index of the event that stands for them.
    pub(super) also_at: HashMap<usize, Box<[SourceRef]>>,
    /// The decode budget of a host window (`Window::host`): hosts with more events are read
    /// event by event. `None`: `WINDOW_DECODED_MAX`.
    pub(super) decoded_max: Option<usize>,
}

/// Where an event was read: its host, time and evidence location (`Store::place`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    pub host: Arc<str>,
    pub ts: DateTime<Utc>,
    pub file: Arc<str>,
    pub record_id: Option<u64>,
    pub line: Option<u64>,
    pub offset: Option<u64>,
}

/// The events of one host, in store order, with copies merged.
pub(super) struct HostOrder {
    pub(super) order: Vec<(u32, u32)>,
    pub(super) also_at: Vec<(usize, Box<[SourceRef]>)>,
    pub(super) merged: u64,
    /// Record comparisons made while merging copies (bounded by the events: see the test).
    pub(super) comparisons: u64,
    /// Events decoded whole to look for copies (those sharing an instant, channel and event id).
    pub(super) decoded: u64,
}

impl Store {
    /// Orders the chunks' events (each chunk packed in store order) and merges copies of the
    /// same record. Returns the store and how many copies were merged.
    pub fn new(chunks: Vec<Chunk>) -> (Self, u64) {
        Self::from_shared(chunks.into_iter().map(Arc::new).collect())
    }

    /// `new` over chunks another store may share (a live collection's next store). A chunk
    /// held elsewhere keeps its own offset list, to be ordered again.
    pub fn from_shared(chunks: Vec<Arc<Chunk>>) -> (Self, u64) {
        let mut runs: BTreeMap<Arc<str>, Vec<(u32, Range<usize>)>> = BTreeMap::new();
        for (c, chunk) in chunks.iter().enumerate() {
            let Ok(c) = u32::try_from(c) else { break };
            let mut n = 0;
            while n < chunk.len() {
                let Some(key) = chunk.header(n).map(|h| Arc::clone(&h.host.key)) else {
                    n += 1;
                    continue;
                };
                let start = n;
                n += 1;
                while n < chunk.len() && chunk.header(n).is_some_and(|h| h.host.key == key) {
                    n += 1;
                }
                runs.entry(key).or_default().push((c, start..n));
            }
        }
        let per_host: Vec<(Arc<str>, HostOrder)> = runs
            .into_par_iter()
            .map(|(key, runs)| {
                let o = host_order(&chunks, &runs);
                (key, o)
            })
            .collect();
        let mut store = Store {
            chunks,
            ..Store::default()
        };
        let mut merged = 0;
        for (key, o) in per_host {
            let base = store.order.len();
            merged += o.merged;
            store
                .also_at
                .extend(o.also_at.into_iter().map(|(i, at)| (base + i, at)));
            store.order.extend(o.order);
            store.hosts.push((key, base..store.order.len()));
        }
        store.order.shrink_to_fit();
        // Every event is now reached through `order`: the chunks' own offset lists can go.
        for c in &mut store.chunks {
            if let Some(c) = Arc::get_mut(c) {
                c.starts = Vec::new();
            }
        }
        (store, merged)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Hosts with more events than this are decoded event by event in a host window.
    pub fn window_decoded_max(&self) -> usize {
        self.decoded_max.unwrap_or(crate::store::WINDOW_DECODED_MAX)
    }

    /// Sets the decode budget of host windows (tests use a small one to read hosts lazily).
    pub fn set_window_decoded_max(&mut self, max: usize) {
        self.decoded_max = Some(max);
    }

    /// The store indices of the host's events from `from` to `to` (inclusive), found by time
    /// (a host's events are in time order) without decoding the rest.
    pub fn host_between(&self, key: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Range<usize> {
        let Some(r) = self.host_range(key) else {
            return 0..0;
        };
        let first = |pred: &dyn Fn(DateTime<Utc>) -> bool| {
            let (mut lo, mut hi) = (r.start, r.end);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.time(mid).is_some_and(pred) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        first(&|t| t < from)..first(&|t| t <= to)
    }

    /// The range of store indices of the host with this key.
    pub fn host_range(&self, key: &str) -> Option<Range<usize>> {
        self.hosts
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .and_then(|i| self.hosts.get(i))
            .map(|(_, r)| r.clone())
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Host keys and their index ranges, in key order.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, Range<usize>)> {
        self.hosts.iter().map(|(k, r)| (&**k, r.clone()))
    }

    /// The event at store index `i`.
    pub fn get(&self, i: usize) -> Option<Event> {
        let &(c, at) = self.order.get(i)?;
        let mut e = self.chunks.get(c as usize)?.decode_at(at, false)?;
        if let Some(at) = self.also_at.get(&i) {
            e.also_at.clone_from(at);
        }
        Some(e)
    }

    /// The event at store index `i` with its typed fields only: no untyped fields, raw text or
    /// other locations (the detections read nothing else).
    pub fn get_typed(&self, i: usize) -> Option<Event> {
        let &(c, at) = self.order.get(i)?;
        self.chunks.get(c as usize)?.decode_at(at, true)
    }

    /// The host and event id of the event at store index `i`, without decoding the rest.
    pub fn host_and_id(&self, i: usize) -> Option<(&HostName, u16)> {
        let &(c, at) = self.order.get(i)?;
        let (host, (_, _, id)) = self.chunks.get(c as usize)?.kind_at(at)?;
        Some((host, id))
    }

    /// The event id of the event at store index `i`, without decoding the rest.
    pub fn event_id(&self, i: usize) -> Option<u16> {
        let &(c, at) = self.order.get(i)?;
        self.chunks
            .get(c as usize)?
            .kind_at(at)
            .map(|(_, (_, _, id))| id)
    }

    /// The time of the event at store index `i`, without decoding the rest.
    pub fn time(&self, i: usize) -> Option<DateTime<Utc>> {
        let &(c, at) = self.order.get(i)?;
        Some(self.chunks.get(c as usize)?.header_at(at)?.ts)
    }

    /// Where the event at store index `i` was read (host, time, location), without decoding
    /// the rest: what names the event in a store built of more evidence around it.
    pub fn place(&self, i: usize) -> Option<Place> {
        let &(c, at) = self.order.get(i)?;
        let h = self.chunks.get(c as usize)?.header_at(at)?;
        Some(Place {
            host: Arc::clone(&h.host.key),
            ts: h.ts,
            file: Arc::clone(h.file),
            record_id: h.record_id,
            line: h.line,
            offset: h.offset,
        })
    }

    /// How many other copies of the event at `i` were merged into it.
    pub fn copies(&self, i: usize) -> usize {
        self.also_at.get(&i).map_or(0, |a| a.len())
    }

    /// The store index of the event read at `p` (`place`), found by its place in store order
    /// (a live collection's events keep their order as others arrive around them).
    pub fn locate(&self, p: &Place) -> Option<usize> {
        let r = self.host_range(&p.host)?;
        // `order_key`'s order, spelled out.
        let want = (p.ts, &*p.file, p.record_id, p.line);
        let (mut lo, mut hi) = (r.start, r.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let m = self.place(mid)?;
            let before = (m.ts, &*m.file, m.record_id, m.line) < want;
            if before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < r.end && self.place(lo).is_some_and(|m| m == *p)).then_some(lo)
    }

    /// Every event in store order, each decoded as it is reached.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A place in one run of a host's events (a chunk's range, in store order).
pub(super) struct Cursor<'a> {
    pub(super) head: Header<'a>,
    pub(super) run: usize,
    pub(super) n: usize,
}

impl Cursor<'_> {
    pub(super) fn key(&self) -> impl Ord + '_ {
        let h = &self.head;
        (
            crate::store::order_key(h.ts, h.file, h.record_id, h.line),
            self.run,
            self.n,
        )
    }
}

impl PartialEq for Cursor<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Cursor<'_> {}

impl PartialOrd for Cursor<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cursor<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The host's runs merged into store order (ties between files in run order, as a stable sort
/// of the runs one after another), copies of a record merged as they meet.
pub(super) fn host_order(chunks: &[Arc<Chunk>], runs: &[(u32, Range<usize>)]) -> HostOrder {
    use std::cmp::Reverse;
    let cursor = |run: usize, n: usize| -> Option<Cursor<'_>> {
        let (c, range) = runs.get(run)?;
        if !range.contains(&n) {
            return None;
        }
        let head = chunks.get(*c as usize)?.header(n)?;
        Some(Cursor { head, run, n })
    };
    let mut heap: std::collections::BinaryHeap<Reverse<Cursor<'_>>> = runs
        .iter()
        .enumerate()
        .filter_map(|(run, (_, range))| cursor(run, range.start))
        .map(Reverse)
        .collect();
    let total = runs.iter().map(|(_, r)| r.len()).sum();
    let mut out = HostOrder {
        order: Vec::with_capacity(total),
        also_at: Vec::new(),
        merged: 0,
        comparisons: 0,
        decoded: 0,
    };
    let mut same_time: Vec<(Header<'_>, u32, u32)> = Vec::new();
    while let Some(Reverse(at)) = heap.pop() {
        if let Some(next) = cursor(at.run, at.n + 1) {
            heap.push(Reverse(next));
        }
        if same_time
            .first()
            .is_some_and(|(h, _, _)| h.ts != at.head.ts)
        {
            flush(chunks, &mut same_time, &mut out);
        }
        if let Some((c, start)) = runs
            .get(at.run)
            .and_then(|(c, _)| Some((*c, chunks.get(*c as usize)?.start(at.n)?)))
        {
            same_time.push((at.head, c, start));
        }
    }
    flush(chunks, &mut same_time, &mut out);
    out
}

pub(super) fn flush<'a>(
    chunks: &'a [Arc<Chunk>],
    same_time: &mut Vec<(Header<'a>, u32, u32)>,
    out: &mut HostOrder,
) {
    match same_time.as_slice() {
        [] => {}
        [(_, c, n)] => out.order.push((*c, *n)),
        group => merge_copies(chunks, group, out),
    }
    same_time.clear();
}

/// Channel code, the channel's name when its code says other, event id.
pub(super) type Kind = (u128, Option<Arc<str>>, u16);

/// Events of one host at the same instant: the first of each record stands for its copies.
/// Records are grouped by their identity first, so many events at one instant cost each one
/// lookup, not a comparison with every earlier event (an attacker can log thousands at once).
/// Copies of a record share their channel and event id, so only the events whose channel and
/// event id another event at the instant has are decoded and compared.
pub(super) fn merge_copies(
    chunks: &[Arc<Chunk>],
    same_time: &[(Header<'_>, u32, u32)],
    out: &mut HostOrder,
) {
    let kinds: Vec<Option<Kind>> = same_time
        .iter()
        .map(|&(_, c, at)| chunks.get(c as usize)?.kind_at(at).map(|(_, k)| k))
        .collect();
    let mut alike: HashMap<&Kind, usize> = HashMap::new();
    for k in kinds.iter().flatten() {
        *alike.entry(k).or_default() += 1;
    }
    let mut kept: Vec<(Event, usize, bool)> = Vec::new();
    let identity = foldhash::quality::RandomState::default();
    let mut by_identity: HashMap<u64, Vec<usize>> = HashMap::new();
    for (&(_, c, at), kind) in same_time.iter().zip(&kinds) {
        let Some(kind) = kind else { continue };
        if alike.get(kind) == Some(&1) {
            out.order.push((c, at));
            continue;
        }
        let Some(e) = chunks
            .get(c as usize)
            .and_then(|ch| ch.decode_at(at, false))
        else {
            continue;
        };
        out.decoded += 1;
        let bucket = by_identity
            .entry(std::hash::BuildHasher::hash_one(
                &identity,
                record_identity(&e),
            ))
            .or_default();
        let found = bucket.iter().copied().find(|&k| {
            out.comparisons += 1;
            kept.get(k)
                .is_some_and(|(first, _, _)| first.same_record(&e))
        });
        if let Some(first) = found.and_then(|k| kept.get_mut(k)) {
            let mut at = std::mem::take(&mut first.0.also_at).into_vec();
            at.push(e.source.clone());
            first.0.also_at = at.into_boxed_slice();
            first.2 = true;
            out.merged += 1;
        } else {
            bucket.push(kept.len());
            kept.push((e, out.order.len(), false));
            out.order.push((c, at));
        }
    }
    for (e, idx, copied) in kept {
        if copied {
            out.also_at.push((idx, e.also_at));
        }
    }
}

/// What `Event::same_record` compares (besides time and host, equal within a merge group) as
/// one key, hashed to bucket the events: equal records give equal keys (records whose hashes
/// meet by chance are still compared whole).
pub(super) fn record_identity(e: &Event) -> impl std::hash::Hash + '_ {
    (&e.channel, e.event_id, e.logged_record_id(), &e.fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Channel;
    use crate::store::pack::Packer;
    use crate::store::pack::encode::{decimal, unzigzag, zigzag};

    /// `n` events of one host at one instant, each its own record (`distinct`) or all copies of
    /// one record found in `n` files; merged as loading merges them.
    fn merge_at_one_instant(n: u64, distinct: bool) -> HostOrder {
        use crate::detect::testkit::ev;
        let mut p = Packer::new();
        for k in 0..n {
            let id = if distinct { k } else { 7 };
            let mut e = ev("WS01", 0, Channel::Security, 4624)
                .logon(id, 3, "10.0.0.9", "eve", "S-1-5-21-9")
                .done();
            e.source.record_id = Some(id);
            e.source.file = Arc::from(format!("f{k}").as_str());
            p.push(&e);
        }
        let chunks = vec![Arc::new(p.finish())];
        let n = usize::try_from(n).unwrap();
        host_order(&chunks, &[(0, 0..n)])
    }

    #[test]
    fn many_events_at_one_instant_cost_linear_work() {
        // An attacker can write thousands of records with one timestamp: merging copies must
        // not compare each with every earlier one (was ~n*n/2 comparisons).
        for distinct in [true, false] {
            let o = merge_at_one_instant(4000, distinct);
            assert!(o.comparisons <= 4000, "{} comparisons", o.comparisons);
            assert_eq!(o.merged, if distinct { 0 } else { 3999 });
            assert_eq!(o.order.len(), if distinct { 4000 } else { 1 });
        }
    }

    #[test]
    fn only_events_of_one_kind_at_an_instant_are_compared() {
        use crate::detect::testkit::ev;
        // At one instant: a logon found in two files, a share access and a service install.
        let mut p = Packer::new();
        let logon = |file: &str| {
            let mut e = ev("WS01", 0, Channel::Security, 4624)
                .logon(7, 3, "10.0.0.9", "eve", "S-1-5-21-9")
                .done();
            e.source.record_id = Some(7);
            e.source.file = Arc::from(file);
            e
        };
        p.push(&logon("a"));
        p.push(&ev("WS01", 0, Channel::Security, 5140).done());
        p.push(&ev("WS01", 0, Channel::System, 7045).done());
        p.push(&logon("b"));
        let chunks = vec![Arc::new(p.finish())];
        let o = host_order(&chunks, &[(0, 0..4)]);
        assert_eq!(o.merged, 1);
        assert_eq!((o.decoded, o.comparisons), (2, 1));
        let order: Vec<u32> = o.order.iter().map(|&(_, at)| at).collect();
        let starts: Vec<u32> = (0..3).map(|n| chunks[0].start(n).unwrap()).collect();
        assert_eq!(order, starts);
        assert_eq!(o.also_at.len(), 1);
        assert_eq!(o.also_at[0].0, 0);
    }

    #[test]
    fn host_and_kind_are_read_as_decoding_reads_them() {
        use crate::detect::testkit::ev;
        let mut p = Packer::new();
        let mut events = Vec::new();
        for ((host, id), k) in [("WS01", 4624), ("DC01", 7045), ("WS01", 1), ("FS01", 5145)]
            .into_iter()
            .zip(0u32..)
        {
            let mut e = ev(host, i64::from(k), Channel::Security, id).done();
            e.source.record_id = Some(1 << (k * 20));
            e.source.line = Some(300 + u64::from(k));
            e.source.offset = Some(u64::MAX - u64::from(k));
            p.push(&e);
            events.push(e);
        }
        let chunk = p.finish();
        for (n, e) in events.iter().enumerate() {
            let (host, (code, other, id)) = chunk.kind_at(chunk.start(n).unwrap()).unwrap();
            assert_eq!(
                (&*host.key, code, other, id),
                (&*e.host.key, 0, None, e.event_id)
            );
        }
    }

    #[test]
    fn decimals_read_back_as_the_same_text() {
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("49832"), Some(49832));
        assert_eq!(decimal("007"), None);
        assert_eq!(decimal("-1"), None);
        assert_eq!(decimal("99999999999999999999"), None);
        assert_eq!(decimal(""), None);
        for v in [0i64, 1, -1, i64::MAX, i64::MIN, 1_700_000_000] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn every_typed_field_decodes_as_it_was_packed() {
        use crate::detect::testkit::ev;
        for typed_only in [false, true] {
            let mut p = if typed_only {
                Packer::typed_only()
            } else {
                Packer::new()
            };
            let mut e = ev("WS01", 0, Channel::Security, 4624).done();
            e.fields = crate::model::typed::every_field_set();
            // Twice: the second time the strings are in the table.
            p.push(&e);
            p.push(&e);
            let chunk = p.finish();
            for n in 0..2 {
                let back = chunk.decode_at(chunk.start(n).unwrap_or_default(), typed_only);
                assert_eq!(
                    back.map(|b| b.fields),
                    Some(e.fields.clone()),
                    "{typed_only} {n}"
                );
            }
        }
    }
}
