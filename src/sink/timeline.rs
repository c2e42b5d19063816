//! Timelines for the tools analysts already use: Timesketch JSONL (one object per line with
//! `message`, `datetime`, `timestamp_desc`, `data_type`), CSV in the Timeline Explorer habit
//! (fixed columns, RFC 4180, formula-safe), and JSON lines of the normalized events. Events that
//! belong to a finding carry its id, stage and severity.

use crate::detect::finding::Finding;
use crate::model::Event;
use crate::model::describe::summary;
use crate::model::sanitize::for_csv;
use crate::model::time::fmt_utc;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The finding an event belongs to (the highest-scoring one), with its stage.
#[derive(Debug, Clone)]
pub struct Mark {
    pub finding: String,
    pub stage: &'static str,
    pub severity: &'static str,
}

/// Event index -> the finding it belongs to.
#[derive(Debug, Default)]
pub struct Marks(HashMap<usize, Mark>);

impl Marks {
    pub fn get(&self, event: usize) -> Option<&Mark> {
        self.0.get(&event)
    }

    pub fn contains(&self, event: usize) -> bool {
        self.0.contains_key(&event)
    }
}

/// Marks for the events of findings. Findings come sorted by score, so the first mark wins.
pub fn marks(findings: &[Finding]) -> Marks {
    let mut out = HashMap::new();
    for f in findings.iter().filter(|f| !f.is_suppressed()) {
        for s in &f.stages {
            out.entry(s.event_index).or_insert_with(|| Mark {
                finding: f.id.clone(),
                stage: s.stage.label(),
                severity: f.severity.label(),
            });
        }
    }
    Marks(out)
}

/// The image an event is about: the service's image (7045/4697, or the value a Sysmon 13 writes
/// to `Services\<key>\ImagePath`), else the process image.
fn image_of(e: &Event) -> Option<&str> {
    let f = &e.fields;
    let registry_image = (e.event_id == 13)
        .then_some(f.registry.target_object.as_deref())
        .flatten()
        .filter(|k| crate::detect::install::service_key_from_registry(k).is_some())
        .and(f.registry.details.as_deref());
    f.service
        .image_path
        .as_deref()
        .or(registry_image)
        .or(f.process.image.as_deref())
}

fn opt(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// One Timesketch event.
pub fn timesketch(e: &Event, mark: Option<&Mark>) -> Value {
    let f = &e.fields;
    let mut v = json!({
        "message": format!("[{} {}] {}", e.channel.short(), e.event_id, summary(e)),
        "datetime": e.ts.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        "timestamp": e.ts.timestamp_micros(),
        "timestamp_desc": "Event Recorded",
        "data_type": "windows:svchop:event",
        "computer_name": e.host.display.to_string(),
        "channel": e.channel.name(),
        "event_identifier": e.event_id,
        "evidence": e.source.to_string(),
        "user": opt(e.actor().as_deref()),
        "logon_id": f.logon_id.map(|l| l.to_string()),
        "source_ip": opt(f.net.src_ip.as_deref()),
        "service_name": opt(f.service.name.as_deref()),
        "image_path": opt(image_of(e)),
        "command_line": opt(f.process.command_line.as_deref()),
        "parent_image": opt(f.process.parent_image.as_deref()),
        "pipe_name": opt(f.share.pipe_name.as_deref()),
        "share_name": opt(f.share.share_name.as_deref()),
        "relative_target": opt(f.share.relative_target.as_deref()),
    });
    if let (Some(m), Some(obj)) = (mark, v.as_object_mut()) {
        obj.insert("finding_id".into(), json!(m.finding));
        obj.insert("stage".into(), json!(m.stage));
        obj.insert("severity".into(), json!(m.severity));
        obj.insert(
            "tag".into(),
            json!([
                "svchop",
                format!("svchop:{}", m.stage),
                format!("severity:{}", m.severity)
            ]),
        );
    }
    v
}

pub const CSV_HEADER: &[&str] = &[
    "Timestamp",
    "Computer",
    "Channel",
    "EventId",
    "FindingId",
    "Stage",
    "Severity",
    "User",
    "SourceIp",
    "LogonId",
    "ServiceName",
    "ImagePath",
    "CommandLine",
    "ParentImage",
    "Summary",
    "Evidence",
];

/// The CSV timeline: one row per event, fixed columns, every cell formula-safe.
pub fn csv(
    store: &crate::store::Store,
    rows: &[usize],
    marks: &Marks,
) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for &i in rows {
        let Some(e) = store.get(i) else { continue };
        let f = &e.fields;
        let m = marks.get(i);
        let cells = [
            fmt_utc(e.ts),
            e.host.display.to_string(),
            e.channel.name().to_string(),
            e.event_id.to_string(),
            m.map(|m| m.finding.clone()).unwrap_or_default(),
            m.map(|m| m.stage.to_string()).unwrap_or_default(),
            m.map(|m| m.severity.to_string()).unwrap_or_default(),
            e.actor().unwrap_or_default(),
            f.net.src_ip.as_deref().unwrap_or("").to_string(),
            f.logon_id.map(|l| l.to_string()).unwrap_or_default(),
            f.service.name.as_deref().unwrap_or("").to_string(),
            image_of(&e).unwrap_or("").to_string(),
            f.process.command_line.as_deref().unwrap_or("").to_string(),
            f.process.parent_image.as_deref().unwrap_or("").to_string(),
            summary(&e),
            e.source.to_string(),
        ];
        w.write_record(cells.iter().map(|c| for_csv(c)))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
