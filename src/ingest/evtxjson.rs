//! The EVTX record shape as JSON — `{"Event": {"System": {...}, "EventData": {...}}}` — written by
//! the evtx crate, `evtx_dump`, and (without the `Event` wrapper) Velociraptor's `parse_evtx`.
//! Turned into a `RawRecord`; shared by the EVTX reader and the JSON reader.

use super::fieldmap::{DataFields, RawRecord, RecordTime, parse_pid};
use crate::model::time::{parse_epoch, parse_time};
use serde_json::Value;
use std::borrow::Cow;

/// A JSON tree the System reader reads: `serde_json::Value`, or the small tree the fast
/// reader builds of `System` alone (`evtxjsonfast`). Both read alike (a key written twice: its
/// last value), so one reader serves both.
pub trait Node: Sized {
    /// The value of `key` in an object.
    fn get(&self, key: &str) -> Option<&Self>;
    /// What the value is.
    fn kind(&self) -> Kind<'_, Self>;
}

/// A JSON value's kind, with its scalar or items.
pub enum Kind<'a, N> {
    Null,
    Bool(bool),
    Number(&'a serde_json::Number),
    String(&'a str),
    Array(&'a [N]),
    Object,
}

impl Node for Value {
    fn get(&self, key: &str) -> Option<&Value> {
        Value::get(self, key)
    }
    fn kind(&self) -> Kind<'_, Value> {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => Kind::Number(n),
            Value::String(s) => Kind::String(s),
            Value::Array(items) => Kind::Array(items),
            Value::Object(_) => Kind::Object,
        }
    }
}

/// Text of a scalar or of an `{"#text": ...}` / `{"Value": ...}` wrapper.
pub fn text_of<N: Node>(v: &N) -> Option<String> {
    match v.kind() {
        Kind::String(s) => Some(s.to_string()),
        Kind::Number(n) => Some(n.to_string()),
        Kind::Bool(b) => Some(b.to_string()),
        Kind::Object => v.get("#text").or_else(|| v.get("Value")).and_then(text_of),
        Kind::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(text_of).collect();
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        Kind::Null => None,
    }
}

/// `text_of`, borrowed when the value is a string.
fn text_cow<N: Node>(v: &N) -> Option<Cow<'_, str>> {
    match v.kind() {
        Kind::String(s) => Some(Cow::Borrowed(s)),
        _ => text_of(v).map(Cow::Owned),
    }
}

/// A whole number as `parse` reads `text_of`'s text, a JSON number read as one without writing
/// its text (a number's text is its decimal digits, or not a whole number when not a `u64`).
fn whole<N: Node, T: TryFrom<u64>>(v: &N, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
    match v.kind() {
        Kind::Number(n) => n.as_u64().and_then(|u| T::try_from(u).ok()),
        _ => parse(&text_cow(v)?),
    }
}

fn attr<'a, N: Node>(v: &'a N, name: &str) -> Option<&'a N> {
    v.get("#attributes")
        .and_then(|a| a.get(name))
        .or_else(|| v.get(name))
        .or_else(|| v.get(&format!("{name}_attributes")))
}

/// The System part: `(channel, event_id)` only, read before deciding whether to keep a record.
pub fn channel_and_id(event: &Value) -> Option<(String, u16)> {
    system_channel_and_id(event.get("System")?)
}

fn system_channel_and_id<N: Node>(system: &N) -> Option<(String, u16)> {
    let channel = system.get("Channel").and_then(text_of).unwrap_or_default();
    let id = whole(system.get("EventID")?, |t| t.trim().parse().ok())?;
    Some((channel, id))
}

/// The record object inside an optional `Event` wrapper.
pub fn unwrap_event(v: &Value) -> Option<&Value> {
    if let Some(e) = v.get("Event")
        && e.get("System").is_some()
    {
        return Some(e);
    }
    v.get("System").is_some().then_some(v)
}

/// Builds the raw record from an unwrapped EVTX-shaped event.
pub fn to_raw(event: &Value) -> Option<RawRecord<'static>> {
    let mut raw = system_to_raw(event.get("System")?)?;
    for part in ["EventData", "UserData"] {
        if let Some(data) = event.get(part) {
            flatten_data(data, &mut raw.data);
        }
    }
    Some(raw)
}

/// The raw record of an EVTX-shaped event's `System`, without its data.
pub fn system_to_raw<N: Node>(system: &N) -> Option<RawRecord<'static>> {
    let (channel, event_id) = system_channel_and_id(system)?;
    Some(RawRecord {
        channel,
        event_id,
        host: system.get("Computer").and_then(text_of).unwrap_or_default(),
        provider: system
            .get("Provider")
            .and_then(|p| attr(p, "Name"))
            .and_then(text_of),
        record_id: system
            .get("EventRecordID")
            .and_then(|r| whole(r, |t| t.trim().parse().ok())),
        user_sid: system
            .get("Security")
            .and_then(|s| attr(s, "UserID"))
            .and_then(text_of),
        exec_pid: system
            .get("Execution")
            .and_then(|s| attr(s, "ProcessID"))
            .and_then(|p| whole(p, parse_pid)),
        time: system_time(system),
        ..RawRecord::default()
    })
}

/// The time of a `System` element (`TimeCreated/@SystemTime`).
pub fn parse_system_time_of(system: &Value) -> RecordTime {
    system_time(system)
}

fn system_time<N: Node>(system: &N) -> RecordTime {
    let Some(tc) = system.get("TimeCreated") else {
        return RecordTime::default();
    };
    let st = attr(tc, "SystemTime").unwrap_or(tc);
    match st.kind() {
        Kind::Number(n) => RecordTime {
            utc: n.as_f64().and_then(|f| parse_epoch(&f.to_string())),
            ..RecordTime::default()
        },
        _ => text_cow(st).map_or_else(RecordTime::default, |t| parse_system_time(&t)),
    }
}

/// The time of a `SystemTime` written as text.
pub fn parse_system_time(text: &str) -> RecordTime {
    parse_time(text)
        .map(RecordTime::from_parsed)
        .unwrap_or_default()
}

/// EventData as named fields. Handles `{"Name": value}`, `{"Data": [{"#attributes":{"Name":..},
/// "#text":..}]}`, unnamed `Data` arrays (`Data[0]`…), and one level of UserData nesting.
pub fn flatten_data(data: &Value, out: &mut DataFields<'static>) {
    let Value::Object(map) = data else {
        return;
    };
    for (k, v) in map {
        if k == "#attributes" || k.ends_with("_attributes") {
            continue;
        }
        if k == "Data" {
            flatten_data_items(v, out);
            continue;
        }
        match v {
            Value::Object(inner) if !inner.contains_key("#text") => {
                // UserData: one wrapper element (e.g. LogFileCleared) holding the fields.
                flatten_data(v, out);
            }
            _ => out.push((k.clone().into(), text_of(v).unwrap_or_default().into())),
        }
    }
}

fn flatten_data_items(v: &Value, out: &mut DataFields<'static>) {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    for (i, item) in items.into_iter().enumerate() {
        let name = attr(item, "Name").and_then(text_of);
        let value = match item {
            Value::Object(_) => item.get("#text").and_then(text_of).unwrap_or_default(),
            other => text_of(other).unwrap_or_default(),
        };
        out.push((
            name.unwrap_or_else(|| format!("Data[{i}]")).into(),
            value.into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Ids, record ids and process ids read the same written as numbers or as text.
    #[test]
    fn whole_numbers_read_as_their_text_reads() {
        let read = |id: Value, rid: Value, pid: Value| {
            let sys = json!({"Channel": "System", "EventID": id, "EventRecordID": rid,
                "Execution": {"#attributes": {"ProcessID": pid}}});
            system_to_raw(&sys).map(|r| (r.event_id, r.record_id, r.exec_pid))
        };
        let as_text = |v: &Value| match v {
            Value::Number(n) => json!(n.to_string()),
            other => other.clone(),
        };
        let values = [
            json!(7045),
            json!(0),
            json!(65535),
            json!(65536),
            json!(-1),
            json!(4624.0),
            json!(1.5),
            json!(u64::MAX),
            json!(" 7045 "),
            json!("0x1c4"),
            json!({"#text": 12}),
            json!(null),
        ];
        for v in &values {
            for w in [v.clone(), as_text(v)] {
                let got = read(w.clone(), w.clone(), w.clone());
                let want = read(as_text(&w), as_text(&w), as_text(&w));
                assert_eq!(got, want, "{w}");
            }
        }
        assert_eq!(
            read(json!(7045), json!(9), json!(452)),
            Some((7045, Some(9), Some(452)))
        );
        assert_eq!(
            read(json!(1), json!(2), json!("0x1c4")),
            Some((1, Some(2), Some(452)))
        );
    }

    #[test]
    fn evtx_dump_shape_with_qualifiers() {
        let v = json!({"Event": {"System": {
            "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
            "Channel": "System", "Computer": "PC01.example.corp", "EventRecordID": 3,
            "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T00:41:29.008933Z"}},
            "Security": {"#attributes": {"UserID": "S-1-5-21-1-2-3-500"}},
            "Execution": {"#attributes": {"ProcessID": 444, "ThreadID": 1}}},
            "EventData": {"ServiceName": "remotesvc", "ImagePath": "calc.exe"}}});
        let raw = to_raw(unwrap_event(&v).unwrap()).unwrap();
        assert_eq!(raw.event_id, 7045);
        assert_eq!(raw.user_sid.as_deref(), Some("S-1-5-21-1-2-3-500"));
        assert_eq!(raw.exec_pid, Some(444));
        assert_eq!(raw.record_id, Some(3));
        assert_eq!(raw.get("ServiceName"), Some("remotesvc"));
    }

    #[test]
    fn velociraptor_shape() {
        let v = json!({"System": {"EventID": {"Value": 4624}, "Channel": "Security",
            "Computer": "WS01", "TimeCreated": {"SystemTime": 1_600_000_000.5}},
            "EventData": {"TargetLogonId": "0x1234", "LogonType": 3}});
        let raw = to_raw(unwrap_event(&v).unwrap()).unwrap();
        assert_eq!(raw.event_id, 4624);
        assert!(raw.time.utc.is_some());
        assert_eq!(raw.get("LogonType"), Some("3"));
    }

    #[test]
    fn unnamed_data_items() {
        let v = json!({"Data": [{"#text": "a"}, "b"]});
        let mut out = vec![];
        flatten_data(&v, &mut out);
        assert_eq!(
            out,
            vec![
                ("Data[0]".into(), "a".into()),
                ("Data[1]".into(), "b".into())
            ]
        );
    }
}
