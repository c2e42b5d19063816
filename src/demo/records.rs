//! Writers for the demo case: records in the `evtx_dump` JSON shape (`Event.System` +
//! `Event.EventData`), one log per host and channel, record ids counting up per log.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A demo host.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub fqdn: String,
    pub ip: String,
}

impl Host {
    pub fn new(name: &str, ip: &str) -> Self {
        Host {
            name: name.to_string(),
            fqdn: format!("{}.corp.local", name.to_ascii_lowercase()),
            ip: ip.to_string(),
        }
    }
}

/// A demo account.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub sid: String,
}

#[derive(Default)]
pub struct Logs {
    /// (host, channel file) -> records as JSON text, in record-id order (text rather than
    /// `Value`s: a 10M-record case has to fit in memory before it is written).
    pub logs: BTreeMap<(String, &'static str), Vec<Box<str>>>,
    next_id: BTreeMap<(String, &'static str), u64>,
}

pub const SECURITY: &str = "Security";
pub const SYSTEM: &str = "System";
pub const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

fn file_of(channel: &'static str) -> &'static str {
    match channel {
        SECURITY => "Security.jsonl",
        SYSTEM => "System.jsonl",
        _ => "Sysmon.jsonl",
    }
}

fn provider(channel: &str) -> &'static str {
    match channel {
        SECURITY => "Microsoft-Windows-Security-Auditing",
        SYSTEM => "Service Control Manager",
        _ => "Microsoft-Windows-Sysmon",
    }
}

pub type Data<'a> = &'a [(&'a str, String)];

impl Logs {
    /// Adds one record; `user_sid` and `exec_pid` go into `System` as Windows writes them.
    pub fn add(
        &mut self,
        host: &Host,
        (channel, id): (&'static str, u16),
        ts: DateTime<Utc>,
        sys: (Option<&str>, u32),
        data: Data<'_>,
    ) {
        let key = (host.name.clone(), file_of(channel));
        let rid = self.next_id.entry(key.clone()).or_insert(1000);
        *rid += 1;
        let mut ed = Map::new();
        for (k, v) in data {
            ed.insert((*k).to_string(), Value::String(v.clone()));
        }
        let mut system = json!({
            "Provider": {"#attributes": {"Name": provider(channel)}},
            "EventID": id,
            "EventRecordID": *rid,
            "TimeCreated": {"#attributes": {"SystemTime": ts.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()}},
            "Execution": {"#attributes": {"ProcessID": sys.1, "ThreadID": 4}},
            "Channel": channel,
            "Computer": host.fqdn,
        });
        if let (Some(sid), Some(obj)) = (sys.0, system.as_object_mut()) {
            obj.insert("Security".into(), json!({"#attributes": {"UserID": sid}}));
        }
        let rec = json!({"Event": {"System": system, "EventData": Value::Object(ed)}});
        self.logs
            .entry(key)
            .or_default()
            .push(rec.to_string().into_boxed_str());
    }
}

pub fn s(v: &(impl ToString + ?Sized)) -> String {
    v.to_string()
}
