//! Encoding: a `Packer` writes a file's events into a `Chunk` (numbers as varints, strings a
//! file repeats interned once, mostly-unique values inline once that shows).

use super::Chunk;
use crate::model::group::{Empty, Group};
use crate::model::{Account, Channel, Event, Fields, HostName, SourceRef};
use std::sync::Arc;

/// How a string slot is being stored: counts of values seen and of values new to the table.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SlotStats {
    pub(super) seen: u32,
    pub(super) new: u32,
}

impl SlotStats {
    /// After enough values, a slot whose values are mostly new keeps them inline: a table entry
    /// would cost more than the text and never be shared.
    pub(super) fn mostly_unique(self) -> bool {
        self.seen >= 64 && u64::from(self.new) * 4 > u64::from(self.seen) * 3
    }
}

/// Packs events into a `Chunk`.
#[derive(Debug, Default)]
pub struct Packer {
    pub(super) chunk: Chunk,
    pub(super) ids: crate::model::FastMap<Arc<str>, u32>,
    pub(super) host_ids: crate::model::FastMap<(Arc<str>, Arc<str>), u32>,
    /// The host of the last event packed and its id (events come host by host).
    pub(super) last_host: Option<(Arc<HostName>, u32)>,
    /// Typed slots first (`TYPED_SLOTS`), then one per untyped field name, by its string id.
    pub(super) stats: Vec<SlotStats>,
    pub(super) extra_slots: crate::model::FastMap<u32, usize>,
    /// Keep only the typed fields (and the logged record id, which tells copies apart).
    pub(super) typed_only: bool,
}

/// The untyped field that tells copies of a record apart (`Event::logged_record_id`).
pub(super) const RECORD_ID: &str = "EventRecordID";

/// String slots of the typed fields, each with its own statistics.
pub(super) const TYPED_SLOTS: usize = 40;

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

    pub(super) fn put(&mut self, mut v: u128) {
        while v >= 0x80 {
            self.chunk.bytes.push(low7(v) | 0x80);
            v >>= 7;
        }
        self.chunk.bytes.push(low7(v));
    }

    pub(super) fn num(&mut self, v: Option<u64>) {
        self.put(v.map_or(0, |v| u128::from(v) + 1));
    }

    pub(super) fn flag(&mut self, b: bool) {
        self.chunk.bytes.push(u8::from(b));
    }

    pub(super) fn intern(&mut self, s: &Arc<str>) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.chunk.strings.len()).unwrap_or(u32::MAX);
        self.chunk.strings.push(Arc::clone(s));
        self.ids.insert(Arc::clone(s), id);
        id
    }

    /// A string slot: none, a table id, inline text, or a decimal number.
    pub(super) fn text(&mut self, slot: usize, s: Option<&Arc<str>>) {
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
    pub(super) fn inline(&mut self, s: Option<&str>) {
        match s {
            None => self.put(0),
            Some(s) => {
                self.put(((s.len() as u128) << 2) | 2);
                self.chunk.bytes.extend_from_slice(s.as_bytes());
            }
        }
    }

    pub(super) fn event(&mut self, e: &Event) {
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

    pub(super) fn source(&mut self, s: &SourceRef) {
        let id = self.intern(&s.file);
        self.put(u128::from(id));
        self.num(s.record_id);
        self.num(s.line);
        self.num(s.offset);
    }

    /// A field group: a flag, then its fields when it is filled.
    pub(super) fn group<T: Empty + PartialEq>(
        &mut self,
        g: &Group<T>,
        write: impl FnOnce(&mut Self, &T),
    ) {
        let filled = **g != *T::empty();
        self.flag(filled);
        if filled {
            write(self, g);
        }
    }

    pub(super) fn account(&mut self, slot: usize, a: &Group<Account>) {
        self.group(a, |w, a| {
            w.text(slot, a.domain.as_ref());
            w.text(slot + 1, a.user.as_ref());
            w.text(slot + 2, a.sid.as_ref());
        });
    }

    pub(super) fn fields(&mut self, fl: &Fields) {
        self.num(fl.logon_id.map(|l| l.0));
        self.num(fl.subject_logon_id.map(|l| l.0));
        self.account(2, &fl.subject);
        self.account(5, &fl.target);
        self.text(8, fl.user_sid.as_ref());
        self.num(fl.exec_pid.map(u64::from));
        let end = self.groups(fl, 9);
        debug_assert!(end <= TYPED_SLOTS);
    }
}

/// Writes one field of a group, by its kind in the table; a text takes the next string slot.
macro_rules! put_field {
    (text, $w:ident, $slot:ident, $v:expr) => {{
        $w.text($slot, $v.as_ref());
        $slot += 1;
    }};
    (num, $w:ident, $slot:ident, $v:expr) => {
        $w.num($v.map(u64::from))
    };
    (flag, $w:ident, $slot:ident, $v:expr) => {
        $w.num($v.map(u64::from))
    };
}

/// How many string slots a field of this kind takes.
macro_rules! text_slots {
    (text) => {
        1
    };
    ($other:ident) => {
        0
    };
}

/// The encoder of the typed field groups (`model::typed`): each group's flag, then its fields.
macro_rules! encode_groups {
    ($( $group:ident : $T:ident {
        $( $(#[$doc:meta])* $f:ident : $kind:ident ($ty:ty) as $col:ident, $ct:ident, $desc:literal
           $( + [$dcol:ident, $dct:ident, $ddesc:literal, $dfn:path] )* ; )*
    } )*) => {
        impl Packer {
            /// The groups in table order, their text fields in string slots from `slot` on
            /// (numbered whether or not a group is filled); returns the next free slot.
            #[allow(unused_assignments)]
            pub(super) fn groups(&mut self, fl: &Fields, mut slot: usize) -> usize {
                $(
                    let base = slot;
                    self.group(&fl.$group, |w, g| {
                        let mut slot = base;
                        $( put_field!($kind, w, slot, g.$f); )*
                    });
                    slot += 0 $( + text_slots!($kind) )*;
                )*
                slot
            }
        }
    };
}
crate::model::typed::typed_groups!(encode_groups);

/// The number a string spells when it is a canonical decimal (no sign, no leading zero), so it
/// reads back as the same text.
pub(super) fn decimal(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    s.parse().ok()
}

pub(super) fn low7(v: u128) -> u8 {
    u8::try_from(v & 0x7f).unwrap_or(0)
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)).cast_unsigned()
}

pub(super) fn unzigzag(v: u64) -> i64 {
    (v >> 1).cast_signed() ^ -((v & 1).cast_signed())
}
