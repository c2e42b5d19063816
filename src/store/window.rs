//! What the detection reads: a window on the `Store`. A host window holds one host's events
//! under their indices in the whole store, plus the events of other hosts the detection may link
//! to. A small host is decoded at once; a large one (above the store's decode budget) event by
//! event as the detection reads it (passes over every event decode each one for the moment
//! only), so a busy server never exists as structs all at once. Findings refer to events by
//! store index.

use super::Store;
use crate::model::Event;
use chrono::{DateTime, Utc};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

#[derive(Debug, Default)]
pub struct Window {
    events: Vec<Event>,
    /// Store index of `events[0]`: 0 for a whole store, the host's start for a window.
    base: usize,
    /// A window's events decoded when first read: the large host's own, and other hosts'.
    lazy: Option<Lazy>,
}

/// Events a window decodes when they are read.
#[derive(Debug)]
struct Lazy {
    packed: Arc<Store>,
    /// The host's events (large hosts only): times, and each event once read.
    own: Range<usize>,
    times: Vec<DateTime<Utc>>,
    own_slots: Vec<OnceLock<Option<Box<Event>>>>,
    /// Other hosts' events the window may link to: store indices (sorted) and slots.
    idx: Vec<usize>,
    slots: Vec<OnceLock<Option<Box<Event>>>>,
}

/// An event read from a store: borrowed, or decoded for the moment from a large window.
pub enum Ev<'a> {
    Held(&'a Event),
    Decoded(Box<Event>),
}

impl std::ops::Deref for Ev<'_> {
    type Target = Event;
    fn deref(&self) -> &Event {
        match self {
            Ev::Held(e) => e,
            Ev::Decoded(e) => e,
        }
    }
}

/// Hosts with more events than this are read event by event in a window.
pub const WINDOW_DECODED_MAX: usize = 1 << 16;

fn slot<'a>(cell: &'a OnceLock<Option<Box<Event>>>, packed: &Store, i: usize) -> Option<&'a Event> {
    cell.get_or_init(|| packed.get_typed(i).map(Box::new))
        .as_deref()
}

impl Window {
    /// The window on one host (its store indices `range`) of a packed collection, with the events
    /// at `outside` (store indices of other hosts) readable too. Events hold their typed fields
    /// only (what the detections read).
    pub fn host(
        packed: &Arc<Store>,
        range: Range<usize>,
        outside: impl IntoIterator<Item = usize>,
    ) -> Self {
        let decoded_max = packed.window_decoded_max();
        let mut idx: Vec<usize> = outside.into_iter().filter(|i| !range.contains(i)).collect();
        idx.sort_unstable();
        idx.dedup();
        let slots = idx.iter().map(|_| OnceLock::new()).collect();
        let large = range.len() > decoded_max;
        let (events, times, own_slots) = if large {
            let times = range
                .clone()
                .map(|i| packed.time(i).unwrap_or(DateTime::<Utc>::MIN_UTC))
                .collect();
            (
                Vec::new(),
                times,
                range.clone().map(|_| OnceLock::new()).collect(),
            )
        } else {
            let events = range.clone().filter_map(|i| packed.get_typed(i)).collect();
            (events, Vec::new(), Vec::new())
        };
        Window {
            events,
            base: range.start,
            lazy: Some(Lazy {
                packed: Arc::clone(packed),
                own: if large { range } else { 0..0 },
                times,
                own_slots,
                idx,
                slots,
            }),
        }
    }

    pub fn get(&self, idx: usize) -> Option<&Event> {
        if let Some(e) = idx.checked_sub(self.base).and_then(|i| self.events.get(i)) {
            return Some(e);
        }
        if let Some((l, k)) = self.own(idx) {
            return slot(l.own_slots.get(k)?, &l.packed, idx);
        }
        let l = self.lazy.as_ref()?;
        let k = l.idx.binary_search(&idx).ok()?;
        slot(l.slots.get(k)?, &l.packed, idx)
    }

    /// Of a large window's own event at `idx`: the window and the event's place in it.
    fn own(&self, idx: usize) -> Option<(&Lazy, usize)> {
        let l = self.lazy.as_ref()?;
        l.own.contains(&idx).then(|| (l, idx - l.own.start))
    }

    /// The time of the event at `idx`, without decoding it in a large window.
    pub fn time(&self, idx: usize) -> Option<DateTime<Utc>> {
        if let Some((l, k)) = self.own(idx) {
            return l.times.get(k).copied();
        }
        self.get(idx).map(|e| e.ts)
    }

    /// The event at `idx` for a pass over many events: a large window decodes it for the
    /// moment instead of keeping it.
    pub fn read(&self, idx: usize) -> Option<Ev<'_>> {
        if let Some((l, k)) = self.own(idx) {
            return match l.own_slots.get(k)?.get() {
                Some(e) => e.as_deref().map(Ev::Held),
                None => l.packed.get_typed(idx).map(|e| Ev::Decoded(Box::new(e))),
            };
        }
        self.get(idx).map(Ev::Held)
    }

    /// The event id of the event at `idx`, without decoding it in a large window.
    pub fn event_id(&self, idx: usize) -> Option<u16> {
        if let Some((l, k)) = self.own(idx) {
            if let Some(Some(e)) = l.own_slots.get(k).and_then(OnceLock::get) {
                return Some(e.event_id);
            }
            return l.packed.event_id(idx);
        }
        self.get(idx).map(|e| e.event_id)
    }
}
