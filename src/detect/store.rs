//! The event store: every kept event, sorted by (host key, time), with each host's range.
//! Findings refer to events by index here, never by copy.
//!
//! A store can also be a window: one host's events decoded from `PackedEvents`, under their
//! indices in the whole collection, plus the few events of other hosts the detection may link
//! to. The detection reads both kinds the same way.

use crate::model::Event;
use crate::model::pack::PackedEvents;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

#[derive(Debug, Default)]
pub struct EventStore {
    events: Vec<Event>,
    /// Store index of `events[0]`: 0 for a whole store, the host's start for a window.
    base: usize,
    hosts: BTreeMap<String, Range<usize>>,
    /// A window's events of other hosts, decoded when first read.
    outside: Option<Outside>,
}

/// Events of other hosts a window may link to: their store indices (sorted) and, once read,
/// the decoded event.
#[derive(Debug)]
struct Outside {
    packed: Arc<PackedEvents>,
    idx: Vec<usize>,
    slots: Vec<OnceLock<Option<Box<Event>>>>,
}

impl EventStore {
    /// Takes events in any order.
    pub fn new(mut events: Vec<Event>) -> Self {
        crate::ingest::sort_events(&mut events);
        let mut hosts: BTreeMap<String, Range<usize>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            hosts
                .entry(e.host.key.to_string())
                .and_modify(|r| r.end = i + 1)
                .or_insert(i..i + 1);
        }
        EventStore {
            events,
            hosts,
            ..EventStore::default()
        }
    }

    /// The window on host `key` (store indices `range`) of a packed collection; the events at
    /// `outside` (store indices of other hosts) are decoded when read.
    pub fn window(
        packed: &Arc<PackedEvents>,
        key: &str,
        range: Range<usize>,
        outside: impl IntoIterator<Item = usize>,
    ) -> Self {
        let mut idx: Vec<usize> = outside.into_iter().filter(|i| !range.contains(i)).collect();
        idx.sort_unstable();
        idx.dedup();
        let slots = idx.iter().map(|_| OnceLock::new()).collect();
        EventStore {
            events: packed.slice(range.clone()),
            base: range.start,
            hosts: BTreeMap::from([(key.to_string(), range)]),
            outside: Some(Outside {
                packed: Arc::clone(packed),
                idx,
                slots,
            }),
        }
    }

    /// The events in store order (of a window: its host's events only).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The events at store indices `range` held in order (of a window: its host's events).
    pub fn slice(&self, range: Range<usize>) -> &[Event] {
        let from = range.start.saturating_sub(self.base).min(self.events.len());
        let to = range
            .end
            .saturating_sub(self.base)
            .clamp(from, self.events.len());
        &self.events[from..to]
    }

    pub fn get(&self, idx: usize) -> Option<&Event> {
        idx.checked_sub(self.base)
            .and_then(|i| self.events.get(i))
            .or_else(|| {
                let o = self.outside.as_ref()?;
                let k = o.idx.binary_search(&idx).ok()?;
                o.slots
                    .get(k)?
                    .get_or_init(|| o.packed.get(idx).map(Box::new))
                    .as_deref()
            })
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Host keys and their index ranges, in key order.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, Range<usize>)> {
        self.hosts.iter().map(|(k, r)| (k.as_str(), r.clone()))
    }

    pub fn host_range(&self, key: &str) -> Option<Range<usize>> {
        self.hosts.get(key).cloned()
    }
}
