//! The normalized event model: one `Event` for every source format, plus the small value types
//! (host names, logon ids, timestamps) the detections compare, and `sanitize` for any string that
//! came from evidence. Nothing here reads files, prints, or knows about the terminal.

pub mod decode;
pub mod describe;
pub mod event;
pub mod group;
pub mod host;
pub mod logon;
pub mod row;
pub mod sanitize;
pub mod stages;
pub mod time;
pub mod typed;
pub mod winpath;

/// Hash tables of strings read from evidence (interned values, host names, a chunk's string
/// ids): foldhash's quality hasher, seeded per process (evidence is attacker-controlled), several
/// times faster than the standard library's `SipHash` on short strings. No output depends on a
/// table's order.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::quality::RandomState>;
/// The set form of `FastMap`.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::quality::RandomState>;

pub use event::{
    Account, Channel, Event, Fields, LogonInfo, NetInfo, ProcessInfo, RegistryInfo, ServiceInfo,
    ShareInfo, SourceRef,
};
pub use group::Group;
pub use host::{HostCache, HostName, host_key, is_ip_literal};
pub use logon::LogonId;
