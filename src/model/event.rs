//! The normalized `Event`. Typed fields hold what the detections read; `extra` keeps every other
//! field for the detail pane. The record text is not kept: it is read again from the evidence.

use super::group::{Group, empty_struct};
use super::host::HostName;
use super::logon::LogonId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// The log a record came from, folded from the spellings exporters use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Channel {
    Security,
    System,
    Sysmon,
    /// Microsoft Defender for Endpoint advanced-hunting tables.
    Defender,
    Other(Box<str>),
}

impl Channel {
    pub fn from_name(name: &str) -> Self {
        let t = name.trim();
        if t.eq_ignore_ascii_case("security") {
            Channel::Security
        } else if t.eq_ignore_ascii_case("system") {
            Channel::System
        } else if t.to_ascii_lowercase().contains("sysmon") {
            Channel::Sysmon
        } else if t.starts_with("Device") || t.eq_ignore_ascii_case("Defender") {
            Channel::Defender
        } else {
            Channel::Other(t.into())
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Channel::Security => "Security",
            Channel::System => "System",
            Channel::Sysmon => "Microsoft-Windows-Sysmon/Operational",
            Channel::Defender => "Defender",
            Channel::Other(n) => n,
        }
    }

    pub fn short(&self) -> &str {
        match self {
            Channel::Security => "Sec",
            Channel::System => "Sys",
            Channel::Sysmon => "Sysmon",
            Channel::Defender => "MDE",
            Channel::Other(n) => n,
        }
    }
}

/// Where the evidence is: a file plus a record id (EVTX, exports that keep it) or a line number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SourceRef {
    pub file: Arc<str>,
    pub record_id: Option<u64>,
    pub line: Option<u64>,
    /// Where the record starts in a JSON file (bytes; for a demo case, its place in the file),
    /// so the record text can be read again from the evidence instead of being kept in memory.
    #[serde(skip)]
    pub offset: Option<u64>,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.record_id, self.line) {
            (Some(r), _) => write!(f, "{}#record={r}", self.file),
            (None, Some(l)) => write!(f, "{}:{l}", self.file),
            (None, None) => write!(f, "{}", self.file),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Account {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<Arc<str>>,
}

impl Account {
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.sid.is_none()
    }

    /// `DOMAIN\user`, the user alone, or the SID when nothing else is known.
    pub fn display(&self) -> Option<String> {
        match (&self.domain, &self.user, &self.sid) {
            (Some(d), Some(u), _) => Some(format!("{d}\\{u}")),
            (None, Some(u), _) => Some(u.to_string()),
            (_, None, Some(s)) => Some(s.to_string()),
            _ => None,
        }
    }

    /// Case-folded user name without domain, for matching the same account across forms.
    pub fn user_key(&self) -> Option<String> {
        self.user.as_deref().map(str::to_ascii_lowercase)
    }

    pub fn is_machine_account(&self) -> bool {
        self.user.as_deref().is_some_and(|u| u.ends_with('$'))
    }
}

/// The group structs of the typed field table (`model::typed`).
macro_rules! define_groups {
    ($( $group:ident : $T:ident {
        $( $(#[$doc:meta])* $f:ident : $kind:ident ($ty:ty) as $col:ident, $ct:ident, $desc:literal
           $( + [$dcol:ident, $dct:ident, $ddesc:literal, $dfn:path] )* ; )*
    } )*) => {
        $(
            #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
            pub struct $T {
                $(
                    $(#[$doc])*
                    #[serde(skip_serializing_if = "Option::is_none")]
                    pub $f: Option<$ty>,
                )*
            }
            empty_struct!($T { $($f),* });
        )*
    };
}
super::typed::typed_groups!(define_groups);

/// Typed fields, grouped by what they describe. The groups are stored only when filled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Fields {
    /// The session the event belongs to: `TargetLogonId` of a logon, `SubjectLogonId` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_id: Option<LogonId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_logon_id: Option<LogonId>,
    #[serde(skip_serializing_if = "account_is_empty")]
    pub subject: Group<Account>,
    #[serde(skip_serializing_if = "account_is_empty")]
    pub target: Group<Account>,
    /// SID in `System/Security/@UserID`: for 7045 the installing account, the only link to a logon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<Arc<str>>,
    /// `System/Execution/@ProcessID`: for SCM events, the PID of services.exe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_pid: Option<u32>,
    pub logon: Group<LogonInfo>,
    pub service: Group<ServiceInfo>,
    pub process: Group<ProcessInfo>,
    pub share: Group<ShareInfo>,
    pub net: Group<NetInfo>,
    pub registry: Group<RegistryInfo>,
}

fn account_is_empty(a: &Group<Account>) -> bool {
    a.is_empty()
}

empty_struct!(Account { domain, user, sid });
/// One normalized event.
// `event_id` is Windows's own name for the field.
#[allow(clippy::struct_field_names)]
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub ts: DateTime<Utc>,
    /// Shared by every event of the host as the file names it (one pointer per event).
    pub host: Arc<HostName>,
    pub channel: Channel,
    pub event_id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Arc<str>>,
    pub source: SourceRef,
    pub fields: Fields,
    /// Every field that has no typed slot, as read.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub extra: Box<[(Arc<str>, Arc<str>)]>,
    /// Other places the same record was found (VSS copies, re-exports): it counts once.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub also_at: Box<[SourceRef]>,
}

impl Event {
    /// The account that acted: target of a logon, subject otherwise, or the process user.
    pub fn actor(&self) -> Option<String> {
        let f = &self.fields;
        if matches!(self.event_id, 4624 | 4625) && !f.target.is_empty() {
            return f.target.display();
        }
        f.subject
            .display()
            .or_else(|| f.process.user.as_deref().map(str::to_string))
            .or_else(|| f.user_sid.as_deref().map(str::to_string))
    }

    /// The record id the log itself wrote (the `EventRecordID`), whichever file it came from.
    pub fn logged_record_id(&self) -> Option<u64> {
        self.extra
            .iter()
            .find(|(k, _)| &**k == "EventRecordID")
            .and_then(|(_, v)| v.parse().ok())
            .or(self.source.record_id)
    }

    /// Whether two events are the same record seen in two places (copies, re-exports).
    pub fn same_record(&self, other: &Event) -> bool {
        self.ts == other.ts
            && self.host.key == other.host.key
            && self.channel == other.channel
            && self.event_id == other.event_id
            && self.logged_record_id() == other.logged_record_id()
            && self.fields == other.fields
    }

    /// Stable identity of the record for dedupe and finding ids.
    pub fn identity(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.host.key,
            self.channel.name(),
            self.event_id,
            self.ts.timestamp_nanos_opt().unwrap_or_default(),
            self.source
                .record_id
                .map_or(String::new(), |r| r.to_string())
        )
    }
}
