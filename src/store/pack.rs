//! Events packed into bytes, for collections too large to keep as `Event` structs.
//!
//! A `Chunk` holds one file's events (a few bytes to a hundred per event) plus the strings and
//! host names they share; `Chunk::decode` gives back the same `Event`. Strings a file repeats
//! (accounts, images, command lines, addresses) are stored once per chunk and shared between
//! chunks; decimal numbers are stored as numbers; fields whose values are mostly unique (GUIDs,
//! hashes) are stored inline once that shows. Decoding never panics: bytes that do not decode
//! give `None`.

use crate::model::group::{Empty, Group};
use crate::model::{
    Account, Channel, Event, Fields, HostName, LogonId, LogonInfo, NetInfo, ProcessInfo,
    RegistryInfo, ServiceInfo, ShareInfo, SourceRef,
};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex};

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

/// How a string slot is being stored: counts of values seen and of values new to the table.
#[derive(Debug, Default, Clone, Copy)]
struct SlotStats {
    seen: u32,
    new: u32,
}

impl SlotStats {
    /// After enough values, a slot whose values are mostly new keeps them inline: a table entry
    /// would cost more than the text and never be shared.
    fn mostly_unique(self) -> bool {
        self.seen >= 64 && u64::from(self.new) * 4 > u64::from(self.seen) * 3
    }
}

/// Packs events into a `Chunk`.
#[derive(Debug, Default)]
pub struct Packer {
    chunk: Chunk,
    ids: crate::model::FastMap<Arc<str>, u32>,
    host_ids: crate::model::FastMap<(Arc<str>, Arc<str>), u32>,
    /// The host of the last event packed and its id (events come host by host).
    last_host: Option<(Arc<HostName>, u32)>,
    /// Typed slots first (`TYPED_SLOTS`), then one per untyped field name, by its string id.
    stats: Vec<SlotStats>,
    extra_slots: crate::model::FastMap<u32, usize>,
    /// Keep only the typed fields (and the logged record id, which tells copies apart).
    typed_only: bool,
}

/// The untyped field that tells copies of a record apart (`Event::logged_record_id`).
const RECORD_ID: &str = "EventRecordID";

/// String slots of the typed fields, each with its own statistics.
const TYPED_SLOTS: usize = 40;

impl Packer {
    pub fn new() -> Self {
        Packer {
            stats: vec![SlotStats::default(); TYPED_SLOTS],
            ..Packer::default()
        }
    }

    /// A packer that keeps only what the detections read: the typed fields and the logged
    /// record id; untyped fields, raw text and other locations are left out.
    pub fn typed_only() -> Self {
        Packer {
            typed_only: true,
            ..Packer::new()
        }
    }

    pub fn push(&mut self, e: &Event) {
        let start = u32::try_from(self.chunk.bytes.len()).unwrap_or(u32::MAX);
        self.chunk.starts.push(start);
        self.chunk.count += 1;
        self.event(e);
    }

    /// Whether the chunk is close to the 4 GiB its offsets can address.
    pub fn is_full(&self) -> bool {
        self.chunk.bytes.len() > (u32::MAX as usize) - (64 << 20)
    }

    pub fn finish(mut self) -> Chunk {
        self.chunk.bytes.shrink_to_fit();
        self.chunk.strings.shrink_to_fit();
        self.chunk.starts.shrink_to_fit();
        self.chunk.hosts.shrink_to_fit();
        self.chunk
    }

    fn put(&mut self, mut v: u128) {
        while v >= 0x80 {
            self.chunk.bytes.push(low7(v) | 0x80);
            v >>= 7;
        }
        self.chunk.bytes.push(low7(v));
    }

    fn num(&mut self, v: Option<u64>) {
        self.put(v.map_or(0, |v| u128::from(v) + 1));
    }

    fn flag(&mut self, b: bool) {
        self.chunk.bytes.push(u8::from(b));
    }

    fn intern(&mut self, s: &Arc<str>) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.chunk.strings.len()).unwrap_or(u32::MAX);
        self.chunk.strings.push(Arc::clone(s));
        self.ids.insert(Arc::clone(s), id);
        id
    }

    /// A string slot: none, a table id, inline text, or a decimal number.
    fn text(&mut self, slot: usize, s: Option<&Arc<str>>) {
        let Some(s) = s else {
            self.put(0);
            return;
        };
        if let Some(n) = decimal(s) {
            self.put(3);
            self.put(u128::from(n));
            return;
        }
        let st = self.stats.get(slot).copied().unwrap_or_default();
        let known = self.ids.get(s).copied();
        if let Some(stats) = self.stats.get_mut(slot) {
            stats.seen = stats.seen.saturating_add(1);
            if known.is_none() {
                stats.new = stats.new.saturating_add(1);
            }
        }
        match known {
            Some(id) => self.put((u128::from(id) << 2) | 1),
            None if st.mostly_unique() => self.inline(Some(s)),
            None => {
                let id = self.intern(s);
                self.put((u128::from(id) << 2) | 1);
            }
        }
    }

    /// A string that is never shared (the raw record).
    fn inline(&mut self, s: Option<&str>) {
        match s {
            None => self.put(0),
            Some(s) => {
                self.put(((s.len() as u128) << 2) | 2);
                self.chunk.bytes.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn event(&mut self, e: &Event) {
        self.put(u128::from(zigzag(e.ts.timestamp())));
        self.put(u128::from(e.ts.timestamp_subsec_nanos()));
        self.source(&e.source);
        let hid = match &self.last_host {
            Some((h, id)) if Arc::ptr_eq(h, &e.host) => *id,
            _ => {
                let host = (Arc::clone(&e.host.display), Arc::clone(&e.host.key));
                let next = u32::try_from(self.chunk.hosts.len()).unwrap_or(u32::MAX);
                let id = *self.host_ids.entry(host).or_insert_with(|| {
                    self.chunk.hosts.push(Arc::clone(&e.host));
                    next
                });
                self.last_host = Some((Arc::clone(&e.host), id));
                id
            }
        };
        self.put(u128::from(hid));
        match &e.channel {
            Channel::Security => self.put(0),
            Channel::System => self.put(1),
            Channel::Sysmon => self.put(2),
            Channel::Defender => self.put(3),
            Channel::Other(name) => {
                self.put(4);
                self.text(0, Some(&Arc::from(&**name)));
            }
        }
        self.put(u128::from(e.event_id));
        self.text(1, e.provider.as_ref());
        self.fields(&e.fields);
        let typed_only = self.typed_only;
        let kept = || {
            e.extra
                .iter()
                .filter(move |(k, _)| !typed_only || &**k == RECORD_ID)
        };
        self.put(kept().count() as u128);
        for (k, v) in kept() {
            let kid = self.intern(k);
            self.put(u128::from(kid));
            let next = TYPED_SLOTS + self.extra_slots.len();
            let slot = *self.extra_slots.entry(kid).or_insert(next);
            if slot >= self.stats.len() {
                self.stats.resize(slot + 1, SlotStats::default());
            }
            self.text(slot, Some(v));
        }
        if self.typed_only {
            self.put(0);
            return;
        }
        self.put(e.also_at.len() as u128);
        for s in &e.also_at {
            self.source(s);
        }
    }

    fn source(&mut self, s: &SourceRef) {
        let id = self.intern(&s.file);
        self.put(u128::from(id));
        self.num(s.record_id);
        self.num(s.line);
        self.num(s.offset);
    }

    /// A field group: a flag, then its fields when it is filled.
    fn group<T: Empty + PartialEq>(&mut self, g: &Group<T>, write: impl FnOnce(&mut Self, &T)) {
        let filled = **g != *T::empty();
        self.flag(filled);
        if filled {
            write(self, g);
        }
    }

    fn account(&mut self, slot: usize, a: &Group<Account>) {
        self.group(a, |w, a| {
            w.text(slot, a.domain.as_ref());
            w.text(slot + 1, a.user.as_ref());
            w.text(slot + 2, a.sid.as_ref());
        });
    }

    fn fields(&mut self, fl: &Fields) {
        self.num(fl.logon_id.map(|l| l.0));
        self.num(fl.subject_logon_id.map(|l| l.0));
        self.account(2, &fl.subject);
        self.account(5, &fl.target);
        self.text(8, fl.user_sid.as_ref());
        self.num(fl.exec_pid.map(u64::from));
        self.group(&fl.logon, |w, lg| {
            w.num(lg.logon_type.map(u64::from));
            w.text(9, lg.workstation.as_ref());
            w.text(10, lg.auth_package.as_ref());
            w.text(11, lg.logon_process.as_ref());
        });
        self.group(&fl.service, |w, sv| {
            w.text(12, sv.name.as_ref());
            w.text(13, sv.image_path.as_ref());
            w.text(14, sv.account.as_ref());
            w.text(15, sv.service_type.as_ref());
            w.text(16, sv.start_type.as_ref());
            w.text(17, sv.key_name.as_ref());
            w.text(18, sv.state.as_ref());
        });
        self.group(&fl.process, |w, pr| {
            w.text(19, pr.image.as_ref());
            w.text(20, pr.command_line.as_ref());
            w.num(pr.pid.map(u64::from));
            w.text(21, pr.parent_image.as_ref());
            w.text(22, pr.parent_command_line.as_ref());
            w.num(pr.parent_pid.map(u64::from));
            w.text(23, pr.user.as_ref());
        });
        self.group(&fl.share, |w, sh| {
            w.text(24, sh.share_name.as_ref());
            w.text(25, sh.relative_target.as_ref());
            w.text(26, sh.access_list.as_ref());
            w.num(sh.access_mask.map(u64::from));
            w.text(27, sh.pipe_name.as_ref());
            w.text(28, sh.file_path.as_ref());
        });
        self.group(&fl.net, |w, nt| {
            w.text(29, nt.src_ip.as_ref());
            w.num(nt.src_port.map(u64::from));
            w.text(30, nt.src_host.as_ref());
            w.text(31, nt.dst_ip.as_ref());
            w.num(nt.dst_port.map(u64::from));
            w.text(32, nt.dst_host.as_ref());
            w.num(nt.initiated.map(u64::from));
        });
        self.group(&fl.registry, |w, rg| {
            w.text(33, rg.event_type.as_ref());
            w.text(34, rg.target_object.as_ref());
            w.text(35, rg.details.as_ref());
        });
    }
}

/// The number a string spells when it is a canonical decimal (no sign, no leading zero), so it
/// reads back as the same text.
fn decimal(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    s.parse().ok()
}

fn low7(v: u128) -> u8 {
    u8::try_from(v & 0x7f).unwrap_or(0)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)).cast_unsigned()
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1).cast_signed() ^ -((v & 1).cast_signed())
}

struct Reader<'a> {
    bytes: &'a [u8],
    chunk: &'a Chunk,
}

// `Some(None)` is an absent value; `None` is bytes that do not decode.
#[allow(clippy::option_option)]
impl<'a> Reader<'a> {
    fn get(&mut self) -> Option<u128> {
        let mut v: u128 = 0;
        let mut shift = 0;
        loop {
            let (&b, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            if shift > 126 {
                return None;
            }
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
        }
    }

    fn small<T: TryFrom<u128>>(&mut self) -> Option<T> {
        T::try_from(self.get()?).ok()
    }

    /// `Some(None)` for an absent number, `None` for bytes that do not decode.
    fn num<T: TryFrom<u64>>(&mut self) -> Option<Option<T>> {
        match self.get()? {
            0 => Some(None),
            v => Some(Some(T::try_from(u64::try_from(v - 1).ok()?).ok()?)),
        }
    }

    fn flag(&mut self) -> Option<bool> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b != 0)
    }

    fn take(&mut self, len: usize) -> Option<&'a str> {
        if self.bytes.len() < len {
            return None;
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(text).ok()
    }

    fn text(&mut self) -> Option<Option<Arc<str>>> {
        let v = self.get()?;
        Some(match v & 3 {
            0 if v == 0 => None,
            1 => Some(Arc::clone(
                self.chunk.strings.get(usize::try_from(v >> 2).ok()?)?,
            )),
            2 => Some(Arc::from(self.take(usize::try_from(v >> 2).ok()?)?)),
            3 => Some(Arc::from(self.get()?.to_string().as_str())),
            _ => return None,
        })
    }

    fn string_ref(&mut self) -> Option<&'a Arc<str>> {
        self.chunk.strings.get(self.small::<usize>()?)
    }

    /// The header's host, the rest of the header passed over (its time not built): seconds,
    /// nanoseconds, file, record id, line and offset are one number each (see `header`).
    fn header_host(&mut self) -> Option<&'a Arc<HostName>> {
        for _ in 0..6 {
            self.get()?;
        }
        self.chunk.hosts.get(self.small::<usize>()?)
    }

    fn header(&mut self) -> Option<Header<'a>> {
        let secs = unzigzag(self.small()?);
        let nanos = self.small()?;
        let ts = DateTime::from_timestamp(secs, nanos)?;
        let file = self.string_ref()?;
        let record_id = self.num()?;
        let line = self.num()?;
        let offset = self.num()?;
        let host = self.chunk.hosts.get(self.small::<usize>()?)?;
        Some(Header {
            ts,
            file,
            record_id,
            line,
            offset,
            host,
        })
    }

    /// The event; with `typed_only`, without its untyped fields, raw text and other locations
    /// (what the detections read, at a fraction of the memory).
    fn event(&mut self, typed_only: bool) -> Option<Event> {
        let h = self.header()?;
        let source = SourceRef {
            file: Arc::clone(h.file),
            record_id: h.record_id,
            line: h.line,
            offset: h.offset,
        };
        let channel = match self.get()? {
            0 => Channel::Security,
            1 => Channel::System,
            2 => Channel::Sysmon,
            3 => Channel::Defender,
            4 => Channel::Other(Box::from(&*self.text()??)),
            _ => return None,
        };
        let event_id = self.small()?;
        let provider = self.text()?;
        let fields = self.fields()?;
        if typed_only {
            return Some(Event {
                ts: h.ts,
                host: Arc::clone(h.host),
                channel,
                event_id,
                provider,
                source,
                fields,
                extra: Box::default(),
                also_at: Box::default(),
            });
        }
        let n: usize = self.small()?;
        let mut extra = Vec::with_capacity(n.min(self.bytes.len()));
        for _ in 0..n {
            let k = Arc::clone(self.string_ref()?);
            extra.push((k, self.text()??));
        }
        let n: usize = self.small()?;
        let mut also_at = Vec::with_capacity(n.min(self.bytes.len()));
        for _ in 0..n {
            let file = Arc::clone(self.string_ref()?);
            also_at.push(SourceRef {
                file,
                record_id: self.num()?,
                line: self.num()?,
                offset: self.num()?,
            });
        }
        Some(Event {
            ts: h.ts,
            host: Arc::clone(h.host),
            channel,
            event_id,
            provider,
            source,
            fields,
            extra: extra.into_boxed_slice(),
            also_at: also_at.into_boxed_slice(),
        })
    }

    /// A field group: empty, or read by `read` when its flag is set.
    fn group<T: Empty + PartialEq>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Group<T>> {
        Some(if self.flag()? {
            Group::filled(read(self)?)
        } else {
            Group::default()
        })
    }

    fn account(&mut self) -> Option<Group<Account>> {
        self.group(|r| {
            Some(Account {
                domain: r.text()?,
                user: r.text()?,
                sid: r.text()?,
            })
        })
    }

    fn fields(&mut self) -> Option<Fields> {
        let logon_id = self.num()?.map(LogonId);
        let subject_logon_id = self.num()?.map(LogonId);
        let subject = self.account()?;
        let target = self.account()?;
        let user_sid = self.text()?;
        let exec_pid = self.num()?;
        let logon = self.group(|r| {
            Some(LogonInfo {
                logon_type: r.num()?,
                workstation: r.text()?,
                auth_package: r.text()?,
                logon_process: r.text()?,
            })
        })?;
        let service = self.group(|r| {
            Some(ServiceInfo {
                name: r.text()?,
                image_path: r.text()?,
                account: r.text()?,
                service_type: r.text()?,
                start_type: r.text()?,
                key_name: r.text()?,
                state: r.text()?,
            })
        })?;
        let process = self.group(|r| {
            Some(ProcessInfo {
                image: r.text()?,
                command_line: r.text()?,
                pid: r.num()?,
                parent_image: r.text()?,
                parent_command_line: r.text()?,
                parent_pid: r.num()?,
                user: r.text()?,
            })
        })?;
        let share = self.group(|r| {
            Some(ShareInfo {
                share_name: r.text()?,
                relative_target: r.text()?,
                access_list: r.text()?,
                access_mask: r.num()?,
                pipe_name: r.text()?,
                file_path: r.text()?,
            })
        })?;
        let net = self.group(|r| {
            Some(NetInfo {
                src_ip: r.text()?,
                src_port: r.num()?,
                src_host: r.text()?,
                dst_ip: r.text()?,
                dst_port: r.num()?,
                dst_host: r.text()?,
                initiated: r.num::<u64>()?.map(|b| b != 0),
            })
        })?;
        let registry = self.group(|r| {
            Some(RegistryInfo {
                event_type: r.text()?,
                target_object: r.text()?,
                details: r.text()?,
            })
        })?;
        Some(Fields {
            logon_id,
            subject_logon_id,
            subject,
            target,
            user_sid,
            exec_pid,
            logon,
            service,
            process,
            share,
            net,
            registry,
        })
    }
}

/// Every kept event of a collection, packed, in store order (host key, time, file, record id,
/// line) with copies of the same record merged: what `Window::new` and `ingest::dedupe` make
/// of the same events, at a fraction of the memory. Index `i` names the same event in both.
#[derive(Debug, Default)]
pub struct Store {
    chunks: Vec<Chunk>,
    /// (chunk, byte offset in the chunk) of each event, in store order.
    order: Vec<(u32, u32)>,
    hosts: Vec<(Arc<str>, Range<usize>)>,
    /// Where copies of a record were found, by the index of the event that stands for them.
    also_at: HashMap<usize, Box<[SourceRef]>>,
    /// The decode budget of a host window (`Window::host`): hosts with more events are read
    /// event by event. `None`: `WINDOW_DECODED_MAX`.
    decoded_max: Option<usize>,
}

/// The events of one host, in store order, with copies merged.
struct HostOrder {
    order: Vec<(u32, u32)>,
    also_at: Vec<(usize, Box<[SourceRef]>)>,
    merged: u64,
    /// Record comparisons made while merging copies (bounded by the events: see the test).
    comparisons: u64,
    /// Events decoded whole to look for copies (those sharing an instant, channel and event id).
    decoded: u64,
}

impl Store {
    /// Orders the chunks' events (each chunk packed in store order) and merges copies of the
    /// same record. Returns the store and how many copies were merged.
    pub fn new(chunks: Vec<Chunk>) -> (Self, u64) {
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
            c.starts = Vec::new();
        }
        (store, merged)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Hosts with more events than this are decoded event by event in a host window.
    pub fn window_decoded_max(&self) -> usize {
        self.decoded_max.unwrap_or(super::WINDOW_DECODED_MAX)
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
        self.chunks.get(c as usize)?.kind_at(at).map(|(_, (_, _, id))| id)
    }

    /// The time of the event at store index `i`, without decoding the rest.
    pub fn time(&self, i: usize) -> Option<DateTime<Utc>> {
        let &(c, at) = self.order.get(i)?;
        Some(self.chunks.get(c as usize)?.header_at(at)?.ts)
    }

    /// Every event in store order, each decoded as it is reached.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// A place in one run of a host's events (a chunk's range, in store order).
struct Cursor<'a> {
    head: Header<'a>,
    run: usize,
    n: usize,
}

impl Cursor<'_> {
    fn key(&self) -> impl Ord + '_ {
        let h = &self.head;
        (
            super::order_key(h.ts, h.file, h.record_id, h.line),
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
fn host_order(chunks: &[Chunk], runs: &[(u32, Range<usize>)]) -> HostOrder {
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

fn flush<'a>(
    chunks: &'a [Chunk],
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
type Kind = (u128, Option<Arc<str>>, u16);

/// Events of one host at the same instant: the first of each record stands for its copies.
/// Records are grouped by their identity first, so many events at one instant cost each one
/// lookup, not a comparison with every earlier event (an attacker can log thousands at once).
/// Copies of a record share their channel and event id, so only the events whose channel and
/// event id another event at the instant has are decoded and compared.
fn merge_copies(chunks: &[Chunk], same_time: &[(Header<'_>, u32, u32)], out: &mut HostOrder) {
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
            .entry(std::hash::BuildHasher::hash_one(&identity, record_identity(&e)))
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
fn record_identity(e: &Event) -> impl std::hash::Hash + '_ {
    (&e.channel, e.event_id, e.logged_record_id(), &e.fields)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let chunks = vec![p.finish()];
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
        let chunks = vec![p.finish()];
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
            assert_eq!((&*host.key, code, other, id), (&*e.host.key, 0, None, e.event_id));
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
}
