//! Decoding: a `Reader` gives back the `Event` a `Packer` wrote, or `None` for bytes that do
//! not decode (never a panic).

use super::encode::unzigzag;
use super::{Chunk, Header};
use crate::model::group::{Empty, Group};
use crate::model::{
    Account, Channel, Event, Fields, HostName, LogonId, LogonInfo, NetInfo, ProcessInfo,
    RegistryInfo, ServiceInfo, ShareInfo, SourceRef,
};
use chrono::DateTime;
use std::sync::Arc;

pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) chunk: &'a Chunk,
}

// `Some(None)` is an absent value; `None` is bytes that do not decode.
#[allow(clippy::option_option)]
impl<'a> Reader<'a> {
    pub(super) fn get(&mut self) -> Option<u128> {
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

    pub(super) fn small<T: TryFrom<u128>>(&mut self) -> Option<T> {
        T::try_from(self.get()?).ok()
    }

    /// `Some(None)` for an absent number, `None` for bytes that do not decode.
    pub(super) fn num<T: TryFrom<u64>>(&mut self) -> Option<Option<T>> {
        match self.get()? {
            0 => Some(None),
            v => Some(Some(T::try_from(u64::try_from(v - 1).ok()?).ok()?)),
        }
    }

    pub(super) fn flag(&mut self) -> Option<bool> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b != 0)
    }

    pub(super) fn take(&mut self, len: usize) -> Option<&'a str> {
        if self.bytes.len() < len {
            return None;
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(text).ok()
    }

    pub(super) fn text(&mut self) -> Option<Option<Arc<str>>> {
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

    pub(super) fn string_ref(&mut self) -> Option<&'a Arc<str>> {
        self.chunk.strings.get(self.small::<usize>()?)
    }

    /// The header's host, the rest of the header passed over (its time not built): seconds,
    /// nanoseconds, file, record id, line and offset are one number each (see `header`).
    pub(super) fn header_host(&mut self) -> Option<&'a Arc<HostName>> {
        for _ in 0..6 {
            self.get()?;
        }
        self.chunk.hosts.get(self.small::<usize>()?)
    }

    pub(super) fn header(&mut self) -> Option<Header<'a>> {
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
    pub(super) fn event(&mut self, typed_only: bool) -> Option<Event> {
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
    pub(super) fn group<T: Empty + PartialEq>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Group<T>> {
        Some(if self.flag()? {
            Group::filled(read(self)?)
        } else {
            Group::default()
        })
    }

    pub(super) fn account(&mut self) -> Option<Group<Account>> {
        self.group(|r| {
            Some(Account {
                domain: r.text()?,
                user: r.text()?,
                sid: r.text()?,
            })
        })
    }

    pub(super) fn fields(&mut self) -> Option<Fields> {
        let logon_id = self.num()?.map(LogonId);
        let subject_logon_id = self.num()?.map(LogonId);
        let subject = self.account()?;
        let target = self.account()?;
        let user_sid = self.text()?;
        let exec_pid = self.num()?;
        let mut fields = Fields {
            logon_id,
            subject_logon_id,
            subject,
            target,
            user_sid,
            exec_pid,
            ..Fields::default()
        };
        self.groups(&mut fields)?;
        Some(fields)
    }
}

/// Reads one field of a group, by its kind in the table (`None`: bytes that do not decode).
macro_rules! get_field {
    (text, $r:ident) => {
        $r.text()?
    };
    (num, $r:ident) => {
        $r.num()?
    };
    (flag, $r:ident) => {
        $r.num::<u64>()?.map(|b| b != 0)
    };
}

/// The decoder of the typed field groups (`model::typed`), the encoder's order read back.
macro_rules! decode_groups {
    ($( $group:ident : $T:ident {
        $( $(#[$doc:meta])* $f:ident : $kind:ident ($ty:ty) as $col:ident, $ct:ident, $desc:literal
           $( + [$dcol:ident, $dct:ident, $ddesc:literal, $dfn:path] )* ; )*
    } )*) => {
        // `Some(None)` is an absent value; `None` is bytes that do not decode.
        impl Reader<'_> {
            /// The groups in table order, into `fields`.
            pub(super) fn groups(&mut self, fields: &mut Fields) -> Option<()> {
                $(
                    // Struct fields are evaluated in the order written: the table's.
                    fields.$group = self.group(|r| Some($T { $( $f: get_field!($kind, r), )* }))?;
                )*
                Some(())
            }
        }
    };
}
crate::model::typed::typed_groups!(decode_groups);
