//! The event store: every kept event, sorted by (host key, time), with each host's range.
//! Findings refer to events by index here, never by copy.

use crate::model::Event;
use std::collections::BTreeMap;
use std::ops::Range;

#[derive(Debug, Default)]
pub struct EventStore {
    events: Vec<Event>,
    hosts: BTreeMap<String, Range<usize>>,
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
        EventStore { events, hosts }
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn get(&self, idx: usize) -> Option<&Event> {
        self.events.get(idx)
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
