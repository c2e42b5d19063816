//! The JSON record shapes svchop accepts, and how each is renamed to Windows field names.
//! Detection is per record (a file may mix shapes); `--input-format` forces one.

use super::evtxjson::{flatten_data, text_of, to_raw, unwrap_event};
use super::fieldmap::{DataFields, RawRecord, RecordTime, parse_pid};
use crate::model::time::{ParsedTime, parse_time};
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Also the `--input-format` values (detected per record when the option is not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum Shape {
    /// `evtx_dump` / Velociraptor: `Event.System` + `Event.EventData`.
    EvtxJson,
    /// Elastic winlogbeat / Elastic Agent: `winlog.*`, `@timestamp`, `host.name`.
    Ecs,
    /// Security-Datasets (Mordor) / NXLog flat records: `EventID`, `Channel`, `Hostname`.
    Mordor,
    /// Microsoft Sentinel `SecurityEvent` / `Event` rows: `Computer`, `TimeGenerated`, `EventData`.
    Sentinel,
    /// Microsoft Defender advanced hunting: `DeviceName`, `ActionType`, `Timestamp`.
    Defender,
    /// Winlogbeat 6.x and older (HELK and early Security-Datasets): `event_data.*`,
    /// `computer_name`, `event_id`, `log_name`, `beat.*`.
    #[value(name = "winlogbeat6")]
    #[serde(rename = "winlogbeat6")]
    Winlogbeat6,
    /// EvtxECmd (KAPE) CSV or JSON rows: `RecordNumber`, `EventId`, `Computer`, `Payload`.
    #[value(name = "evtxecmd")]
    #[serde(rename = "evtxecmd")]
    EvtxECmd,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::EvtxJson => "evtx-json",
            Shape::Ecs => "ecs",
            Shape::Mordor => "mordor",
            Shape::Sentinel => "sentinel",
            Shape::Defender => "defender",
            Shape::Winlogbeat6 => "winlogbeat6",
            Shape::EvtxECmd => "evtxecmd",
        }
    }

    /// Guesses the shape of one record from its keys.
    pub fn sniff(v: &Value) -> Option<Shape> {
        let m = v.as_object()?;
        if unwrap_event(v).is_some() {
            Some(Shape::EvtxJson)
        } else if super::evtxecmd::is_row(m) {
            Some(Shape::EvtxECmd)
        } else if m.get("winlog").is_some_and(Value::is_object) {
            Some(Shape::Ecs)
        } else if m.contains_key("event_id")
            && (m.get("event_data").is_some_and(Value::is_object)
                || m.contains_key("computer_name")
                || m.contains_key("log_name"))
        {
            Some(Shape::Winlogbeat6)
        } else if m.contains_key("DeviceName") && m.contains_key("ActionType") {
            Some(Shape::Defender)
        } else if m.contains_key("Computer")
            && (m.contains_key("TimeGenerated") || m.contains_key("Activity"))
        {
            Some(Shape::Sentinel)
        } else if m.contains_key("EventID") {
            Some(Shape::Mordor)
        } else {
            None
        }
    }

    /// Renames the record to a `RawRecord`. `None` when required parts are missing.
    pub fn to_raw(self, v: &Value) -> Option<RawRecord<'static>> {
        match self {
            Shape::EvtxJson => to_raw(unwrap_event(v)?),
            Shape::Ecs => ecs(v.as_object()?),
            Shape::Mordor => mordor(v.as_object()?),
            Shape::Sentinel => sentinel(v.as_object()?),
            Shape::Defender => Some(defender(v.as_object()?)),
            Shape::Winlogbeat6 => winlogbeat6(v),
            Shape::EvtxECmd => super::evtxecmd::to_raw(v.as_object()?),
        }
    }
}

fn s(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(text_of).filter(|t| !t.is_empty())
}

fn path<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |cur, part| cur.get(part))
}

fn ptext(v: &Value, dotted: &str) -> Option<String> {
    path(v, dotted).and_then(text_of).filter(|t| !t.is_empty())
}

fn zoned(text: Option<String>) -> Option<chrono::DateTime<chrono::Utc>> {
    match parse_time(&text?)? {
        ParsedTime::Zoned(t) => Some(t),
        ParsedTime::Naive(n) => Some(n.and_utc()),
    }
}

/// Top-level scalar fields as Windows-named data, skipping collector metadata.
fn scalars(m: &Map<String, Value>, skip: &[&str]) -> DataFields<'static> {
    m.iter()
        .filter(|(k, v)| !skip.contains(&k.as_str()) && !v.is_object() && !v.is_array())
        .filter_map(|(k, v)| text_of(v).map(|t| (k.clone().into(), t.into())))
        .collect()
}

const MORDOR_META: &[&str] = &[
    "Message",
    "tags",
    "@version",
    "@timestamp",
    "host",
    "port",
    "Keywords",
    "EventTime",
    "EventReceivedTime",
    "TimeCreated",
    "EventID",
    "Channel",
    "Hostname",
    "RecordNumber",
    "UserID",
    "ExecutionProcessID",
    "SourceName",
    "SourceModuleName",
    "SourceModuleType",
];

fn mordor(m: &Map<String, Value>) -> Option<RawRecord<'static>> {
    let event_id = s(m, "EventID")?.trim().parse().ok()?;
    let local = s(m, "EventTime").or_else(|| s(m, "TimeCreated"));
    let mut time = RecordTime {
        received: zoned(s(m, "@timestamp")),
        ..RecordTime::default()
    };
    // Sysmon's UtcTime is UTC by definition, though written without a zone.
    time.utc = zoned(s(m, "UtcTime"));
    if let Some(p) = local.as_deref().and_then(parse_time) {
        match p {
            ParsedTime::Zoned(t) => time.utc = time.utc.or(Some(t)),
            ParsedTime::Naive(n) => time.local = Some(n),
        }
    }
    Some(RawRecord {
        channel: s(m, "Channel").unwrap_or_default(),
        provider: s(m, "SourceName"),
        event_id,
        host: s(m, "Hostname")
            .or_else(|| s(m, "Computer"))
            .unwrap_or_default(),
        time,
        record_id: s(m, "RecordNumber").and_then(|r| r.parse().ok()),
        user_sid: s(m, "UserID"),
        exec_pid: s(m, "ExecutionProcessID").and_then(|p| parse_pid(&p)),
        data: scalars(m, MORDOR_META),
        nxlog: m.contains_key("EventReceivedTime") || m.contains_key("SourceModuleType"),
        ..RawRecord::default()
    })
}

fn ecs(m: &Map<String, Value>) -> Option<RawRecord<'static>> {
    let v = Value::Object(m.clone());
    let event_id = ptext(&v, "winlog.event_id")
        .or_else(|| ptext(&v, "event.code"))?
        .trim()
        .parse()
        .ok()?;
    let mut raw = RawRecord {
        channel: ptext(&v, "winlog.channel").unwrap_or_default(),
        provider: ptext(&v, "winlog.provider_name"),
        event_id,
        host: ptext(&v, "winlog.computer_name")
            .or_else(|| ptext(&v, "host.name"))
            .or_else(|| ptext(&v, "host.hostname"))
            .unwrap_or_default(),
        record_id: ptext(&v, "winlog.record_id").and_then(|r| r.parse().ok()),
        user_sid: ptext(&v, "winlog.user.identifier"),
        exec_pid: ptext(&v, "winlog.process.pid").and_then(|p| parse_pid(&p)),
        time: RecordTime {
            utc: zoned(s(m, "@timestamp")),
            ..RecordTime::default()
        },
        ..RawRecord::default()
    };
    if let Some(data) = path(&v, "winlog.event_data") {
        flatten_data(data, &mut raw.data);
    }
    let logon_field = if event_id == 4624 {
        "TargetLogonId"
    } else {
        "SubjectLogonId"
    };
    for (field, ecs_path) in [
        (logon_field, "winlog.logon.id"),
        ("LogonType", "winlog.logon.type"),
        ("IpAddress", "source.ip"),
        ("Image", "process.executable"),
        ("CommandLine", "process.command_line"),
        ("ProcessId", "process.pid"),
        ("ParentImage", "process.parent.executable"),
        ("ParentCommandLine", "process.parent.command_line"),
        ("ParentProcessId", "process.parent.pid"),
    ] {
        if let Some(t) = ptext(&v, ecs_path) {
            raw.set_default(field, t);
        }
    }
    Some(raw)
}

/// Winlogbeat 6.x: the Windows record's parts at the top level, its data under `event_data`.
fn winlogbeat6(v: &Value) -> Option<RawRecord<'static>> {
    let event_id = ptext(v, "event_id")?.trim().parse().ok()?;
    let mut raw = RawRecord {
        channel: ptext(v, "log_name").unwrap_or_default(),
        provider: ptext(v, "source_name"),
        event_id,
        host: ptext(v, "computer_name")
            .or_else(|| ptext(v, "host.name"))
            .or_else(|| ptext(v, "beat.hostname"))
            .unwrap_or_default(),
        record_id: ptext(v, "record_number").and_then(|r| r.trim().parse().ok()),
        user_sid: ptext(v, "user.identifier"),
        exec_pid: ptext(v, "process_id").and_then(|p| parse_pid(&p)),
        time: RecordTime {
            utc: zoned(ptext(v, "@timestamp")),
            ..RecordTime::default()
        },
        ..RawRecord::default()
    };
    if let Some(data) = path(v, "event_data") {
        flatten_data(data, &mut raw.data);
    }
    Some(raw)
}

const SENTINEL_META: &[&str] = &[
    "TimeGenerated",
    "Computer",
    "EventID",
    "Channel",
    "EventLog",
    "EventData",
    "Type",
    "TenantId",
    "SourceSystem",
    "Activity",
    "MG",
    "ManagementGroupName",
    "_ResourceId",
];

fn sentinel(m: &Map<String, Value>) -> Option<RawRecord<'static>> {
    let event_id = s(m, "EventID")?.trim().parse().ok()?;
    let channel = s(m, "Channel")
        .or_else(|| s(m, "EventLog"))
        .unwrap_or_else(|| {
            if s(m, "Type").as_deref() == Some("Event") {
                "System".into()
            } else {
                "Security".into()
            }
        });
    let mut raw = RawRecord {
        channel,
        provider: s(m, "EventSourceName").or_else(|| s(m, "Source")),
        event_id,
        host: s(m, "Computer").unwrap_or_default(),
        record_id: s(m, "EventRecordId").and_then(|r| r.parse().ok()),
        time: RecordTime {
            utc: zoned(s(m, "TimeGenerated")),
            ..RecordTime::default()
        },
        data: scalars(m, SENTINEL_META),
        ..RawRecord::default()
    };
    raw.data.retain(|(_, v)| !v.is_empty());
    if let Some(ed) = s(m, "EventData") {
        let pairs = if ed.trim_start().starts_with('<') {
            super::xmldata::data_pairs(&ed)
        } else {
            super::xmldata::message_pairs(&ed)
        };
        for (k, v) in pairs {
            raw.set_default(&k, v);
        }
    }
    if let Some(acct) = s(m, "Account")
        && let Some((d, u)) = acct.split_once('\\')
    {
        let (du, dd) = if event_id == 4624 {
            ("TargetUserName", "TargetDomainName")
        } else {
            ("SubjectUserName", "SubjectDomainName")
        };
        raw.set_default(du, u.to_string());
        raw.set_default(dd, d.to_string());
    }
    Some(raw)
}

/// Full path from `FolderPath` and `FileName` (Defender writes either the folder or the full path).
fn full_path(folder: Option<String>, file: Option<String>) -> Option<String> {
    match (folder, file) {
        (Some(f), Some(n)) if f.to_ascii_lowercase().ends_with(&n.to_ascii_lowercase()) => Some(f),
        (Some(f), Some(n)) => Some(format!("{}\\{n}", f.trim_end_matches('\\'))),
        (f, n) => f.or(n),
    }
}

fn additional(m: &Map<String, Value>) -> Map<String, Value> {
    match m.get("AdditionalFields") {
        Some(Value::Object(o)) => o.clone(),
        Some(Value::String(t)) => serde_json::from_str(t).unwrap_or_default(),
        _ => Map::new(),
    }
}

type Pairs = DataFields<'static>;

fn put(d: &mut Pairs, k: &'static str, v: Option<String>) {
    if let Some(v) = v {
        d.push((Cow::Borrowed(k), v.into()));
    }
}

fn defender_process(m: &Map<String, Value>, d: &mut Pairs, init_path: Option<String>) {
    put(
        d,
        "NewProcessName",
        full_path(s(m, "FolderPath"), s(m, "FileName")),
    );
    put(d, "CommandLine", s(m, "ProcessCommandLine"));
    put(d, "ProcessId", s(m, "ProcessId"));
    put(d, "ParentProcessName", init_path);
    put(d, "ParentCommandLine", s(m, "InitiatingProcessCommandLine"));
    put(d, "ParentProcessId", s(m, "InitiatingProcessId"));
    put(d, "User", acct(s(m, "AccountDomain"), s(m, "AccountName")));
    put(d, "LogonId", s(m, "LogonId"));
}

fn defender_service(m: &Map<String, Value>, d: &mut Pairs, init_path: Option<String>) {
    let add = additional(m);
    put(d, "ServiceName", s(&add, "ServiceName"));
    let image = s(&add, "ImagePath").or_else(|| full_path(s(m, "FolderPath"), s(m, "FileName")));
    put(d, "ServiceFileName", image);
    put(
        d,
        "ServiceAccount",
        s(&add, "AccountName").or_else(|| s(&add, "ServiceAccount")),
    );
    put(d, "ServiceStartType", s(&add, "ServiceStartType"));
    put(d, "ServiceType", s(&add, "ServiceType"));
    put(d, "SubjectUserName", s(m, "InitiatingProcessAccountName"));
    put(
        d,
        "SubjectDomainName",
        s(m, "InitiatingProcessAccountDomain"),
    );
    put(d, "SubjectUserSid", s(m, "InitiatingProcessAccountSid"));
    put(d, "SubjectLogonId", s(m, "InitiatingProcessLogonId"));
    put(d, "Image", init_path);
}

fn defender_logon(m: &Map<String, Value>, d: &mut Pairs) {
    put(d, "TargetUserName", s(m, "AccountName"));
    put(d, "TargetDomainName", s(m, "AccountDomain"));
    put(d, "TargetUserSid", s(m, "AccountSid"));
    put(d, "TargetLogonId", s(m, "LogonId"));
    put(d, "LogonType", s(m, "LogonType"));
    put(d, "IpAddress", s(m, "RemoteIP"));
    put(d, "WorkstationName", s(m, "RemoteDeviceName"));
    put(d, "AuthenticationPackageName", s(m, "Protocol"));
}

fn defender_network(
    m: &Map<String, Value>,
    d: &mut Pairs,
    init_path: Option<String>,
    inbound: bool,
) {
    let (src, sport, dst, dport) = if inbound {
        ("RemoteIP", "RemotePort", "LocalIP", "LocalPort")
    } else {
        ("LocalIP", "LocalPort", "RemoteIP", "RemotePort")
    };
    put(d, "SourceIp", s(m, src));
    put(d, "SourcePort", s(m, sport));
    put(d, "DestinationIp", s(m, dst));
    put(d, "DestinationPort", s(m, dport));
    put(d, "Initiated", Some((!inbound).to_string()));
    put(d, "Image", init_path);
}

fn defender(m: &Map<String, Value>) -> RawRecord<'static> {
    let action = s(m, "ActionType").unwrap_or_default();
    let mut d: Pairs = Vec::new();
    let init_path = full_path(
        s(m, "InitiatingProcessFolderPath"),
        s(m, "InitiatingProcessFileName"),
    );
    let event_id: u16 = match action.as_str() {
        "ProcessCreated" => {
            defender_process(m, &mut d, init_path);
            4688
        }
        "ServiceInstalled" => {
            defender_service(m, &mut d, init_path);
            4697
        }
        "LogonSuccess" => {
            defender_logon(m, &mut d);
            4624
        }
        "NamedPipeEvent" => {
            put(&mut d, "PipeName", s(&additional(m), "PipeName"));
            put(&mut d, "Image", init_path);
            put(&mut d, "ProcessId", s(m, "InitiatingProcessId"));
            17
        }
        "InboundConnectionAccepted" | "ConnectionSuccess" => {
            defender_network(m, &mut d, init_path, action == "InboundConnectionAccepted");
            3
        }
        _ => 0,
    };
    RawRecord {
        channel: "Defender".into(),
        provider: s(m, "Type").or_else(|| Some("Microsoft Defender for Endpoint".into())),
        event_id,
        host: s(m, "DeviceName").unwrap_or_default(),
        time: RecordTime {
            utc: zoned(s(m, "Timestamp").or_else(|| s(m, "TimeGenerated"))),
            ..RecordTime::default()
        },
        record_id: s(m, "ReportId").and_then(|r| r.parse().ok()),
        data: d,
        ..RawRecord::default()
    }
}

fn acct(domain: Option<String>, name: Option<String>) -> Option<String> {
    match (domain, name) {
        (Some(d), Some(n)) => Some(format!("{d}\\{n}")),
        (None, n) => n,
        (Some(_), None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sniffs_each_shape() {
        assert_eq!(
            Shape::sniff(&json!({"winlog": {"event_id": 4624}})),
            Some(Shape::Ecs)
        );
        assert_eq!(
            Shape::sniff(&json!({"DeviceName": "a", "ActionType": "x"})),
            Some(Shape::Defender)
        );
        assert_eq!(
            Shape::sniff(&json!({"Computer": "a", "TimeGenerated": "x", "EventID": 1})),
            Some(Shape::Sentinel)
        );
        assert_eq!(
            Shape::sniff(&json!({"EventID": 1, "Hostname": "a"})),
            Some(Shape::Mordor)
        );
        assert_eq!(Shape::sniff(&json!({"foo": 1})), None);
    }
}
