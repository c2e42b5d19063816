//! From a source-neutral `RawRecord` (Windows field names, as EVTX writes them) to the typed
//! `Event`. Every reader (EVTX, evtx_dump JSON, ECS, Mordor, Sentinel, Defender) first renames its
//! fields to the Windows names, then calls `normalize`; there is one mapping, not one per format.

use crate::model::host::normalize_ip;
use crate::model::time::ParsedTime;
use crate::model::{
    Account, Channel, Event, Fields, Group, HostCache, LogonId, LogonInfo, NetInfo, ProcessInfo,
    RegistryInfo, ServiceInfo, ShareInfo, SourceRef,
};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use std::borrow::Cow;
use std::sync::Arc;

mod slots;

use slots::{Lookup, TYPED, slot_of, typed_slot};

/// The times a record carries, before the file's zone rule is applied.
#[derive(Debug, Clone, Default)]
pub struct RecordTime {
    /// A time known to be UTC (zoned text, EVTX `SystemTime`, Sysmon `UtcTime`).
    pub utc: Option<DateTime<Utc>>,
    /// A zone-less time the exporter wrote in local time.
    pub local: Option<NaiveDateTime>,
    /// A collector's receive time in UTC (`@timestamp` next to `EventTime`): used to infer the
    /// zone of `local` and as a last resort.
    pub received: Option<DateTime<Utc>>,
}

impl RecordTime {
    pub fn from_parsed(p: ParsedTime) -> Self {
        match p {
            ParsedTime::Zoned(t) => RecordTime {
                utc: Some(t),
                ..RecordTime::default()
            },
            ParsedTime::Naive(n) => RecordTime {
                local: Some(n),
                ..RecordTime::default()
            },
        }
    }

    /// The event time in UTC: exact UTC first, then local at `offset`, then the receive time.
    pub fn resolve(&self, offset: TimeDelta) -> Option<DateTime<Utc>> {
        self.utc
            .or_else(|| self.local.and_then(|l| ParsedTime::Naive(l).to_utc(offset)))
            .or(self.received)
    }
}

/// A record's data fields, name and text: borrowed from the text the record was read from
/// where the reader can, owned otherwise.
pub type DataFields<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// One record in Windows field names, whatever format it was read from.
#[derive(Debug, Clone, Default)]
pub struct RawRecord<'a> {
    pub channel: String,
    pub provider: Option<String>,
    pub event_id: u16,
    pub host: String,
    pub time: RecordTime,
    pub record_id: Option<u64>,
    pub line: Option<u64>,
    pub user_sid: Option<String>,
    pub exec_pid: Option<u32>,
    pub data: DataFields<'a>,
    /// Where the record starts in its file (JSON: bytes), to read its text again later.
    pub offset: Option<u64>,
    /// NXLog overwrote the 7045 `AccountName` with the installing user.
    pub nxlog: bool,
}

/// Whether no name comes twice (a name written twice reads differently in each reader: the
/// readers that cannot tell how leave such a record to the general path).
pub fn names_distinct<'a>(names: impl IntoIterator<Item = &'a str>) -> bool {
    // A record's few names are compared pairwise in place (names of different lengths cost one
    // comparison); many are sorted.
    const FEW: usize = 32;
    let mut few = [""; FEW];
    let mut names = names.into_iter();
    for n in 0..FEW {
        let Some(name) = names.next() else {
            return few[..n]
                .iter()
                .enumerate()
                .all(|(i, a)| few[..i].iter().all(|b| a != b));
        };
        few[n] = name;
    }
    let mut all: Vec<&str> = few.into_iter().chain(names).collect();
    all.sort_unstable();
    all.windows(2).all(|w| w[0] != w[1])
}

impl RawRecord<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The record holding its own data (to keep it past the text it was read from).
    pub fn into_owned(self) -> RawRecord<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        RawRecord {
            data: self
                .data
                .into_iter()
                .map(|(k, v)| (own(k), own(v)))
                .collect(),
            channel: self.channel,
            provider: self.provider,
            event_id: self.event_id,
            host: self.host,
            time: self.time,
            record_id: self.record_id,
            line: self.line,
            user_sid: self.user_sid,
            exec_pid: self.exec_pid,
            offset: self.offset,
            nxlog: self.nxlog,
        }
    }

    /// Sets a field unless it is already there with a value.
    pub fn set_default(&mut self, name: &str, value: String) {
        if value.is_empty() {
            return;
        }
        match self
            .data
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some((_, v)) if v.is_empty() || v == "-" => *v = Cow::Owned(value),
            Some(_) => {}
            None => self
                .data
                .push((Cow::Owned(name.to_string()), Cow::Owned(value))),
        }
    }
}

/// Short values repeat across records (accounts, domains, SIDs, providers, logon processes,
/// images): one shared copy each per reading thread instead of one per event.
const INTERN_MAX_LEN: usize = 96;
const INTERN_MAX_ENTRIES: usize = 1 << 16;

thread_local! {
    static STRINGS: std::cell::RefCell<crate::model::FastSet<Arc<str>>> =
        std::cell::RefCell::new(crate::model::FastSet::default());
}

/// The text as a shared string: interned when short, its own allocation otherwise.
pub fn intern(t: &str) -> Arc<str> {
    if t.len() > INTERN_MAX_LEN {
        return Arc::from(t);
    }
    STRINGS.with(|cell| {
        let mut set = cell.borrow_mut();
        if let Some(s) = set.get(t) {
            return Arc::clone(s);
        }
        if set.len() >= INTERN_MAX_ENTRIES {
            // A bounded cache: strings already handed out stay alive in their events.
            set.clear();
        }
        let s: Arc<str> = Arc::from(t);
        set.insert(Arc::clone(&s));
        s
    })
}

/// A value worth keeping: not empty, not `-`.
fn val(v: Option<&str>) -> Option<Arc<str>> {
    let t = v?.trim();
    if t.is_empty() || t == "-" {
        None
    } else {
        Some(intern(t))
    }
}

/// PIDs: hex with `0x` in Security, decimal elsewhere.
pub fn parse_pid(v: &str) -> Option<u32> {
    let t = v.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else {
        t.parse().ok()
    }
}

fn parse_logon_type(v: &str) -> Option<u8> {
    let t = v.trim();
    if let Ok(n) = t.parse::<u8>() {
        return Some(n);
    }
    Some(match t.to_ascii_lowercase().replace(' ', "").as_str() {
        "interactive" => 2,
        "network" => 3,
        "batch" => 4,
        "service" => 5,
        "unlock" => 7,
        "networkcleartext" => 8,
        "newcredentials" => 9,
        "remoteinteractive" => 10,
        "cachedinteractive" => 11,
        _ => return None,
    })
}

fn ip(v: Option<&str>) -> Option<Arc<str>> {
    val(v).map(|s| intern(&normalize_ip(&s)))
}

macro_rules! typed {
    ($name:literal) => {
        const {
            let slot = slot_of($name);
            assert!(slot < TYPED.len(), "not a typed field name");
            slot
        }
    };
}

/// Builds the typed event. `None` when the record has no usable time.
pub fn normalize(
    mut raw: RawRecord<'_>,
    file: &Arc<str>,
    offset: TimeDelta,
    hosts: &mut HostCache,
) -> Option<Event> {
    let ts = raw.time.resolve(offset)?;
    let channel = Channel::from_name(&raw.channel);
    let lk = Lookup::new(&raw);
    let fields = typed_fields(&lk, &channel).finish();
    let typed = lk.typed;
    let extra = std::mem::take(&mut raw.data)
        .into_iter()
        .enumerate()
        .filter(|(i, (k, v))| {
            let is_typed = match typed.get(*i) {
                Some(t) => t,
                None => typed_slot(k).is_some(),
            };
            !v.is_empty() && !is_typed
        })
        .map(|(_, kv)| kv)
        // Short values repeat (integrity levels, protocols, flags): shared. Long ones are mostly
        // unique (times, hashes, GUIDs) and would only churn the intern table.
        .map(|(k, v)| {
            let v = if v.len() <= 16 {
                intern(&v)
            } else {
                Arc::from(&*v)
            };
            (intern(&k), v)
        })
        .collect();
    Some(Event {
        ts,
        host: hosts.get(&raw.host),
        channel,
        event_id: raw.event_id,
        provider: raw.provider.as_deref().map(intern),
        source: SourceRef {
            file: Arc::clone(file),
            record_id: raw.record_id,
            line: raw.line,
            offset: raw.offset,
        },
        fields,
        extra,
        also_at: Box::default(),
    })
}

/// `Fields` while the mapper fills them, every group inline; `finish` stores only the groups
/// something was written to, so an event pays for the groups it uses.
#[derive(Default)]
struct Draft {
    logon_id: Option<LogonId>,
    subject_logon_id: Option<LogonId>,
    subject: Account,
    target: Account,
    user_sid: Option<Arc<str>>,
    exec_pid: Option<u32>,
    logon: LogonInfo,
    service: ServiceInfo,
    process: ProcessInfo,
    share: ShareInfo,
    net: NetInfo,
    registry: RegistryInfo,
}

impl Draft {
    fn finish(self) -> Fields {
        Fields {
            logon_id: self.logon_id,
            subject_logon_id: self.subject_logon_id,
            subject: Group::filled(self.subject),
            target: Group::filled(self.target),
            user_sid: self.user_sid,
            exec_pid: self.exec_pid,
            logon: Group::filled(self.logon),
            service: Group::filled(self.service),
            process: Group::filled(self.process),
            share: Group::filled(self.share),
            net: Group::filled(self.net),
            registry: Group::filled(self.registry),
        }
    }
}

fn typed_fields(lk: &Lookup<'_>, channel: &Channel) -> Draft {
    let r = lk.r;
    let mut f = Draft::default();
    let g = |slot: usize| lk.at(slot);
    let is_logon = matches!(r.event_id, 4624 | 4625) && *channel != Channel::Sysmon;
    f.subject_logon_id = g(typed!("SubjectLogonId")).and_then(LogonId::parse);
    f.logon_id = if is_logon {
        g(typed!("TargetLogonId")).and_then(LogonId::parse)
    } else {
        g(typed!("LogonId"))
            .and_then(LogonId::parse)
            .or(f.subject_logon_id)
    };
    f.subject.user = val(g(typed!("SubjectUserName")));
    f.subject.domain = val(g(typed!("SubjectDomainName")));
    f.subject.sid = val(g(typed!("SubjectUserSid")));
    f.target.user = val(g(typed!("TargetUserName")));
    f.target.domain = val(g(typed!("TargetDomainName")));
    f.target.sid = val(g(typed!("TargetUserSid")));
    f.user_sid = val(r.user_sid.as_deref());
    f.exec_pid = r.exec_pid;
    f.logon.logon_type = g(typed!("LogonType")).and_then(parse_logon_type);
    f.logon.workstation = val(g(typed!("WorkstationName")));
    f.logon.auth_package = val(g(typed!("AuthenticationPackageName")));
    f.logon.logon_process = val(g(typed!("LogonProcessName")));
    service_fields(lk, &mut f);
    process_fields(lk, channel, &mut f);
    f.share.share_name = val(g(typed!("ShareName")));
    f.share.relative_target = val(g(typed!("RelativeTargetName")));
    f.share.access_list = val(g(typed!("AccessList"))).map(|s| intern(&fold_space(&s)));
    f.share.access_mask = g(typed!("AccessMask")).and_then(parse_pid);
    f.share.pipe_name = val(g(typed!("PipeName")));
    f.share.file_path = val(g(typed!("TargetFilename")));
    net_fields(lk, &mut f);
    // NXLog renames Sysmon's EventType to `EventTypeOrignal` (sic) and writes its own severity there.
    f.registry.event_type = val(lk.r.get("EventTypeOrignal"))
        .or_else(|| val(lk.r.get("EventTypeOriginal")))
        .or_else(|| val(g(typed!("EventType"))).filter(|t| !r.nxlog && !is_collector_severity(t)));
    f.registry.target_object = val(g(typed!("TargetObject")));
    f.registry.details = val(g(typed!("Details")));
    f
}

/// NXLog writes its own severity (`INFO`, `AUDIT_SUCCESS`, ...) into `EventType`.
fn is_collector_severity(t: &str) -> bool {
    matches!(
        t,
        "INFO" | "WARNING" | "ERROR" | "CRITICAL" | "VERBOSE" | "AUDIT_SUCCESS" | "AUDIT_FAILURE"
    )
}

fn fold_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn service_fields(lk: &Lookup, f: &mut Draft) {
    let r = lk.r;
    let g = |slot: usize| lk.at(slot);
    let s = &mut f.service;
    match r.event_id {
        7036 | 7034 => {
            s.name = val(g(typed!("param1")));
            s.state = val(g(typed!("param2")));
            s.key_name = g(typed!("Binary")).and_then(decode_binary_key);
        }
        7035 => {
            s.name = val(g(typed!("param1")));
            s.state = val(g(typed!("param2")));
        }
        7040 => {
            s.name = val(g(typed!("param1")));
            s.state = Some(intern("start type changed"));
        }
        7009 => {
            s.name = val(g(typed!("param2")));
            s.state = Some(intern("start timeout"));
        }
        7000 => {
            s.name = val(g(typed!("param1")));
            s.state = val(g(typed!("param2"))).or_else(|| Some(intern("failed to start")));
            s.key_name = g(typed!("Binary")).and_then(decode_binary_key);
        }
        _ => {
            s.name = val(g(typed!("ServiceName")));
        }
    }
    s.image_path = val(g(typed!("ImagePath"))).or_else(|| val(g(typed!("ServiceFileName"))));
    s.service_type = val(g(typed!("ServiceType")));
    s.start_type = val(g(typed!("StartType"))).or_else(|| val(g(typed!("ServiceStartType"))));
    s.account = val(g(typed!("ServiceAccount")));
    if r.event_id == 7045 {
        if r.nxlog {
            // NXLog put the installing user into AccountName; the service account is lost.
            f.subject.user = val(g(typed!("AccountName")));
            f.subject.domain = val(g(typed!("Domain")));
        } else {
            s.account = val(g(typed!("AccountName")));
        }
    }
}

/// The SCM writes the service key name into 7036/7000 `Binary` as UTF-16LE, `<key>/4`: rendered
/// as hex by Windows and the evtx crate, as base64 by some XML and JSON exporters.
pub fn decode_binary_key(text: &str) -> Option<Arc<str>> {
    use base64::Engine;
    let hex = text.trim();
    let is_hex = hex.len().is_multiple_of(2) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let bytes: Vec<u8> = if is_hex {
        (0..hex.len() / 2)
            .filter_map(|i| hex.get(i * 2..i * 2 + 2))
            .filter_map(|b| u8::from_str_radix(b, 16).ok())
            .collect()
    } else {
        base64::engine::general_purpose::STANDARD.decode(hex).ok()?
    };
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16_lossy(&units);
    let key = text.trim_end_matches('\0').split('/').next()?.trim();
    if key.is_empty() || key.contains('\u{fffd}') {
        None
    } else {
        Some(intern(key))
    }
}

fn process_fields(lk: &Lookup, channel: &Channel, f: &mut Draft) {
    let r = lk.r;
    let g = |slot: usize| lk.at(slot);
    let p = &mut f.process;
    p.image = val(g(typed!("NewProcessName"))).or_else(|| val(g(typed!("Image"))));
    p.command_line = val(g(typed!("CommandLine")));
    p.parent_image = val(g(typed!("ParentProcessName"))).or_else(|| val(g(typed!("ParentImage"))));
    p.parent_command_line = val(g(typed!("ParentCommandLine")));
    if r.event_id == 4688 && *channel == Channel::Security {
        // In 4688, ProcessId is the creator.
        p.pid = g(typed!("NewProcessId")).and_then(parse_pid);
        p.parent_pid = g(typed!("ProcessId")).and_then(parse_pid);
    } else {
        p.pid = g(typed!("ProcessId")).and_then(parse_pid);
        p.parent_pid = g(typed!("ParentProcessId")).and_then(parse_pid);
    }
    p.user = val(g(typed!("User")));
}

fn net_fields(lk: &Lookup, f: &mut Draft) {
    let g = |slot: usize| lk.at(slot);
    let n = &mut f.net;
    n.src_ip = ip(g(typed!("IpAddress"))).or_else(|| ip(g(typed!("SourceIp"))));
    n.src_port = g(typed!("IpPort"))
        .or_else(|| g(typed!("SourcePort")))
        .and_then(|p| p.trim().parse().ok());
    n.src_host = val(g(typed!("SourceHostname")));
    n.dst_ip = ip(g(typed!("DestinationIp")));
    n.dst_port = g(typed!("DestinationPort")).and_then(|p| p.trim().parse().ok());
    n.dst_host = val(g(typed!("DestinationHostname")));
    n.initiated = g(typed!("Initiated")).map(|v| v.eq_ignore_ascii_case("true") || v == "1");
}

#[cfg(test)]
mod tests;
