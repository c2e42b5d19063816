//! Events packed into bytes, for collections too large to keep as `Event` structs.
//!
//! A `Chunk` holds one file's events (a few bytes to a hundred per event) plus the strings and
//! host names they share; `Chunk::decode` gives back the same `Event`. Strings a file repeats
//! (accounts, images, command lines, addresses) are stored once per chunk and shared between
//! chunks; decimal numbers are stored as numbers; fields whose values are mostly unique (GUIDs,
//! hashes) are stored inline once that shows. Decoding never panics: bytes that do not decode
//! give `None`. Encoding (`encode`), decoding (`decode`) and the store order with its copy
//! merge (`order`) each have their file.

use crate::model::{Event, HostName};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

mod decode;
mod encode;
mod order;

use decode::Reader;
pub use encode::Packer;
use order::Kind;
pub use order::{Place, Store};

/// One file's events, packed.
#[derive(Debug, Default, Clone)]
pub struct Chunk {
    bytes: Vec<u8>,
    strings: Vec<Arc<str>>,
    hosts: Vec<Arc<HostName>>,
    /// Offset of each event in `bytes`, in the order they were packed (dropped once the store
    /// lists every event's offset in store order).
    starts: Vec<u32>,
    count: usize,
}

/// What ordering and de-duplication need without decoding the whole event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub ts: DateTime<Utc>,
    pub file: &'a Arc<str>,
    pub record_id: Option<u64>,
    pub line: Option<u64>,
    pub offset: Option<u64>,
    pub host: &'a Arc<HostName>,
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The keys of the hosts whose events are in the chunk.
    pub fn host_keys(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(|h| &*h.key)
    }

    /// Where the `n`th event packed starts (until the store has its own list of offsets).
    fn start(&self, n: usize) -> Option<u32> {
        self.starts.get(n).copied()
    }

    fn reader(&self, at: u32) -> Option<Reader<'_>> {
        Some(Reader {
            bytes: self.bytes.get(usize::try_from(at).ok()?..)?,
            chunk: self,
        })
    }

    /// The event packed at byte offset `at`.
    fn decode_at(&self, at: u32, typed_only: bool) -> Option<Event> {
        self.reader(at)?.event(typed_only)
    }

    /// Time, file, record id, line and host of the event at `at`.
    fn header_at(&self, at: u32) -> Option<Header<'_>> {
        self.reader(at)?.header()
    }

    /// Time, file, record id, line and host of the `n`th event.
    fn header(&self, n: usize) -> Option<Header<'_>> {
        self.header_at(self.start(n)?)
    }

    /// The host of the event at `at`, and its channel (its code, and its name when it is none
    /// of the known ones) and event id (what copies of one record share), without decoding the
    /// rest.
    fn kind_at(&self, at: u32) -> Option<(&HostName, Kind)> {
        let mut r = self.reader(at)?;
        let host = r.header_host()?;
        let code = r.get()?;
        let other = if code == 4 { r.text()? } else { None };
        Some((host, (code, other, r.small()?)))
    }

    /// Replaces each string by the copy already held in `shared` (adding the new ones), so equal
    /// strings of different files are stored once.
    pub fn share_strings(&mut self, shared: &Mutex<crate::model::FastSet<Arc<str>>>) {
        let Ok(mut set) = shared.lock() else {
            return;
        };
        for s in &mut self.strings {
            if let Some(known) = set.get(s) {
                *s = Arc::clone(known);
            } else {
                set.insert(Arc::clone(s));
            }
        }
    }
}
