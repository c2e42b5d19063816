//! EvtxECmd output (Eric Zimmerman's EVTX parser, the default of KAPE's EVTX module), CSV and
//! JSON lines, one file per run over many hosts' logs. Its columns, from the parser's source
//! (`EvtxECmd/Program.cs`, `evtx/EventRecord.cs`): `RecordNumber` (the file's record number),
//! `EventRecordId` (the logged one), `TimeCreated` (UTC, `yyyy-MM-dd HH:mm:ss.fffffff` in CSV,
//! ISO 8601 in JSON), `EventId`, `Level`, `Provider`, `Channel`, `ProcessId`, `ThreadId`,
//! `Computer`, `UserId`, `MapDescription`, `UserName`, `RemoteHost`, `PayloadData1`-`6`,
//! `ExecutableInfo`, `HiddenRecord`, `SourceFile`, `Keywords` and `Payload`: the record's
//! `EventData` or `UserData` element as Json.NET writes XML (`@Name` attributes, `#text`).
//!
//! A row becomes the record it came from: its `System` from the columns, its data from
//! `Payload` (the `PayloadData` columns are the maps' summaries of the same data), read by the
//! code that reads a rendered EVTX record, cited by the file's record number as the EVTX reader
//! cites it. `SourceFile`, the EVTX the row was read from, is kept beside the CSV's own location.

use super::fieldmap::RawRecord;
use serde_json::{Map, Value};
use std::io::BufRead;

/// The first columns of EvtxECmd's CSV header, in its order.
const CSV_HEAD: &str = "RecordNumber,EventRecordId,TimeCreated,EventId,";

/// Whether a file's first bytes are EvtxECmd's CSV header.
pub fn looks_like_csv(head: &str) -> bool {
    head.trim_start_matches('\u{feff}').starts_with(CSV_HEAD)
}

/// `looks_like_csv` on a reader's buffered start (nothing consumed).
pub fn looks_like_csv_reader<R: BufRead>(reader: &mut R) -> bool {
    reader
        .fill_buf()
        .is_ok_and(|b| looks_like_csv(&String::from_utf8_lossy(&b[..b.len().min(256)])))
}

/// Whether a JSON record is an EvtxECmd row (its own keys, not a rendered record).
pub fn is_row(m: &Map<String, Value>) -> bool {
    [
        "Payload",
        "EventRecordId",
        "TimeCreated",
        "Channel",
        "Computer",
    ]
    .iter()
    .all(|k| m.contains_key(*k))
}

/// Json.NET's form of XML (`@attr`, `#text`) in the evtx crate's (`#attributes`, `#text`).
fn from_json_net(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut attrs = Map::new();
            let mut out = Map::new();
            for (k, x) in m {
                match k.strip_prefix('@') {
                    Some(name) if name.starts_with("xmlns") => {}
                    Some(name) => {
                        attrs.insert(name.to_string(), x);
                    }
                    None => {
                        out.insert(k, from_json_net(x));
                    }
                }
            }
            if !attrs.is_empty() {
                out.insert("#attributes".into(), Value::Object(attrs));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(from_json_net).collect()),
        other => other,
    }
}

fn text(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k)
        .and_then(super::evtxjson::text_of)
        .filter(|t| !t.is_empty())
}

/// The record a row came from; `None` without a channel and event id.
pub fn to_raw(m: &Map<String, Value>) -> Option<RawRecord<'static>> {
    let attr = |name: &str, value: Option<String>| {
        value.map(|v| {
            Value::Object(Map::from_iter([(
                "#attributes".to_string(),
                Value::Object(Map::from_iter([(name.to_string(), Value::String(v))])),
            )]))
        })
    };
    // CSV times carry no zone; they are UTC.
    let time = text(m, "TimeCreated").map(|t| {
        let zoned = t.ends_with('Z') || t.contains('+') || t.rfind('-').is_some_and(|i| i > 10);
        if zoned { t } else { format!("{t}Z") }
    });
    let mut system = Map::new();
    for (key, value) in [
        ("Channel", text(m, "Channel").map(Value::String)),
        ("EventID", text(m, "EventId").map(Value::String)),
        ("Computer", text(m, "Computer").map(Value::String)),
        ("EventRecordID", text(m, "EventRecordId").map(Value::String)),
        ("Provider", attr("Name", text(m, "Provider"))),
        ("Execution", attr("ProcessID", text(m, "ProcessId"))),
        ("Security", attr("UserID", text(m, "UserId"))),
        ("TimeCreated", attr("SystemTime", time)),
    ] {
        if let Some(v) = value {
            system.insert(key.to_string(), v);
        }
    }
    let mut event = Map::from_iter([("System".to_string(), Value::Object(system))]);
    if let Some(Value::Object(payload)) = m
        .get("Payload")
        .and_then(Value::as_str)
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .map(from_json_net)
    {
        for (k, v) in payload {
            if k == "EventData" || k == "UserData" {
                event.insert(k, v);
            }
        }
    }
    let mut tree = Value::Object(event);
    super::evtxml::number_repeated_names(&mut tree);
    let mut raw = super::evtxjson::to_raw(&tree)?;
    // Cited as the EVTX reader cites a record: by the file's record number, the logged one
    // kept beside it when they differ.
    let number = text(m, "RecordNumber").and_then(|n| n.trim().parse::<u64>().ok());
    if let Some(n) = number {
        if let Some(logged) = raw.record_id.filter(|l| *l != n) {
            raw.data
                .push(("EventRecordID".into(), logged.to_string().into()));
        }
        raw.record_id = Some(n);
    }
    if let Some(src) = text(m, "SourceFile") {
        raw.data.push(("SourceFile".into(), src.into()));
    }
    Some(raw)
}
