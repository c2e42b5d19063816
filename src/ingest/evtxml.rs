//! Windows Event XML: `wevtutil qe LOG /f:xml` (one `<Event>` after another, no root), Event
//! Viewer's "Save as XML" (an `<Events>` root), PowerShell's `Get-WinEvent | % { $_.ToXml() }`
//! and Splunk's `XmlWinEventLog` raw events. Streamed: each `<Event>` element is turned into the
//! JSON tree the evtx crate renders a record as (attributes under `#attributes`, text under
//! `#text`, repeated elements as arrays) and read by the same code as a rendered EVTX record,
//! so a record reads exactly as its EVTX reads. Located by its `EventRecordID` and the byte
//! offset of its `<Event`, so the Raw tab can read it again.

use super::FileReport;
use super::evtx::{Outcome, classify};
use crate::model::Event;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as Xml};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::sync::Arc;

/// A record larger than this (bytes of XML) is skipped and counted: the cap of a JSON record.
pub const RECORD_MAX_BYTES: u64 = super::jsonscan::RECORD_MAX_BYTES as u64;

/// Whether a file's first bytes look like Windows Event XML.
pub fn looks_like_xml(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('<') && (t.contains("<Event ") || t.contains("<Event>") || t.contains("<Events"))
}

/// An element being read: its name, attributes, children so far and text.
struct Open {
    name: String,
    attrs: Map<String, Value>,
    children: Vec<(String, Value)>,
    text: String,
}

impl Open {
    /// An element of a record passed over: nothing of it is kept.
    fn empty() -> Open {
        Open {
            name: String::new(),
            attrs: Map::new(),
            children: Vec::new(),
            text: String::new(),
        }
    }

    fn new(e: &BytesStart<'_>) -> Open {
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        let mut attrs = Map::new();
        for a in e.attributes().with_checks(false).flatten() {
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            if a.key.as_ref().starts_with(b"xmlns") {
                continue;
            }
            let value = a.unescape_value().map_or_else(
                |_| String::from_utf8_lossy(&a.value).into_owned(),
                std::borrow::Cow::into_owned,
            );
            attrs.insert(key, Value::String(value));
        }
        Open {
            name,
            attrs,
            children: Vec::new(),
            text: String::new(),
        }
    }

    /// The element as the evtx crate renders one: its text alone when it has neither
    /// attributes nor children, an object otherwise.
    fn into_value(self) -> (String, Value) {
        if self.attrs.is_empty() && self.children.is_empty() {
            return (self.name, Value::String(self.text));
        }
        let mut obj = Map::new();
        if !self.attrs.is_empty() {
            obj.insert("#attributes".into(), Value::Object(self.attrs));
        }
        let has_children = !self.children.is_empty();
        for (k, v) in self.children {
            match obj.get_mut(&k) {
                Some(Value::Array(items)) => items.push(v),
                Some(first) => {
                    let first = std::mem::take(first);
                    obj.insert(k, Value::Array(vec![first, v]));
                }
                None => {
                    obj.insert(k, v);
                }
            }
        }
        // Whitespace between child elements is layout, not text.
        let layout = has_children && self.text.trim().is_empty();
        if !self.text.is_empty() && !layout {
            obj.insert("#text".into(), Value::String(self.text));
        }
        (self.name, Value::Object(obj))
    }
}

/// The records being read: the elements open in the current `<Event>`, where it starts, and
/// whether it is being passed over (over the size cap).
struct Records<'a> {
    shown: &'a Arc<str>,
    sink: &'a mut dyn FnMut(Event),
    report: FileReport,
    hosts: crate::model::HostCache,
    stack: Vec<Open>,
    start: u64,
    skipping: bool,
    count: u64,
}

impl Records<'_> {
    fn open(&mut self, e: &BytesStart<'_>, at: u64) {
        if self.stack.is_empty() {
            self.start = at;
            self.skipping = false;
        }
        let open = if self.skipping {
            Open::empty()
        } else {
            Open::new(e)
        };
        self.stack.push(open);
    }

    fn empty(&mut self, e: &BytesStart<'_>) {
        if self.skipping {
            return;
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.children.push(Open::new(e).into_value());
        }
    }

    fn text(&mut self, t: &str) {
        if let Some(open) = self.stack.last_mut()
            && !self.skipping
        {
            open.text.push_str(t);
        }
    }

    /// An entity or character reference in text.
    fn reference(&mut self, r: &quick_xml::events::BytesRef<'_>) {
        if let Ok(Some(c)) = r.resolve_char_ref() {
            self.text(&c.to_string());
            return;
        }
        let name = r.decode().unwrap_or_default();
        let text = quick_xml::escape::resolve_xml_entity(&name)
            .map_or_else(|| format!("&{name};"), str::to_string);
        self.text(&text);
    }

    fn close(&mut self) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        if let Some(parent) = self.stack.last_mut() {
            if !self.skipping {
                parent.children.push(open.into_value());
            }
        } else if self.skipping {
            self.report.records_read += 1;
            self.report.records_skipped += 1;
        } else {
            self.count += 1;
            let (_, mut tree) = open.into_value();
            number_repeated_names(&mut tree);
            record(
                &tree,
                self.start,
                (self.shown, &mut self.hosts),
                &mut self.report,
                self.sink,
            );
        }
    }

    /// Past the size cap inside a record: the rest of it is passed over.
    fn check_size(&mut self, at: u64) {
        if !self.stack.is_empty() && !self.skipping && at - self.start > RECORD_MAX_BYTES {
            self.skipping = true;
            self.report.problem(
                format!("byte {}", self.start),
                format!("<Event> over {RECORD_MAX_BYTES} bytes skipped (over the size cap)"),
            );
            for open in &mut self.stack {
                open.children.clear();
                open.text.clear();
            }
        }
    }
}

/// Reads Windows Event XML from `reader`, handing each kept event to `sink`.
pub fn read_xml_into<R: BufRead>(
    reader: R,
    shown: &Arc<str>,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    let mut xml = Reader::from_reader(reader);
    xml.config_mut().check_end_names = false;
    let mut r = Records {
        shown,
        sink,
        report: FileReport::new(shown, "xml"),
        hosts: crate::model::HostCache::default(),
        stack: Vec::new(),
        start: 0,
        skipping: false,
        count: 0,
    };
    let mut buf = Vec::new();
    loop {
        let before = xml.buffer_position();
        let event = match xml.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                r.report.records_skipped += 1;
                r.report.problem(
                    format!("byte {}", xml.error_position()),
                    format!("not well-formed XML: {e}; the rest of the file is not read"),
                );
                break;
            }
        };
        match event {
            // `<Events>` and other wrappers: their `<Event>` children are the records.
            Xml::Start(e) if r.stack.is_empty() && e.local_name().as_ref() != b"Event" => {}
            Xml::Start(e) => r.open(&e, before),
            Xml::Empty(e) => r.empty(&e),
            Xml::Text(t) => {
                let raw = t.decode().unwrap_or_default();
                r.text(&quick_xml::escape::unescape(&raw).unwrap_or(raw.clone()));
            }
            Xml::CData(t) => r.text(&String::from_utf8_lossy(&t)),
            Xml::GeneralRef(g) => r.reference(&g),
            Xml::End(_) => r.close(),
            Xml::Eof => break,
            _ => {}
        }
        r.check_size(xml.buffer_position());
        buf.clear();
    }
    let mut report = r.report;
    if !r.stack.is_empty() {
        report.records_skipped += 1;
        report.problem(
            format!("byte {}", r.start),
            "the file ends inside an <Event>",
        );
    }
    if r.count == 0 && report.problems.is_empty() {
        report.problem("file", "no <Event> element in it");
    }
    report
}

/// `<Data Name="X">` written twice in one record (4648's two `LogonGuid`s): the second is `X_1`,
/// the third `X_2`, as the evtx crate names them.
pub(crate) fn number_repeated_names(tree: &mut Value) {
    let Some(Value::Array(items)) = tree.get_mut("EventData").and_then(|d| d.get_mut("Data"))
    else {
        return;
    };
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in items {
        let Some(Value::String(name)) = item.get_mut("#attributes").and_then(|a| a.get_mut("Name"))
        else {
            continue;
        };
        let n = seen.entry(name.clone()).or_default();
        if *n > 0 {
            *name = format!("{name}_{n}");
        }
        *n += 1;
    }
}

/// One `<Event>` read: kept, dropped or unusable, counted as an EVTX record is.
fn record(
    tree: &Value,
    offset: u64,
    (shown, hosts): (&Arc<str>, &mut crate::model::HostCache),
    report: &mut FileReport,
    sink: &mut dyn FnMut(Event),
) {
    // The record as the evtx crate renders it, without the `Event` wrapper (read alike).
    let id = tree
        .get("System")
        .and_then(|s| s.get("EventRecordID"))
        .and_then(super::evtxjson::text_of)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0);
    report.records_read += 1;
    match classify(tree, (id, shown), hosts) {
        Outcome::Kept(mut ev) => {
            ev.source.offset = Some(offset);
            report.records_kept += 1;
            report.saw(&ev.host.display, ev.ts);
            report.note(
                &ev.host.display,
                ev.channel.name(),
                ev.event_id,
                Some(ev.ts),
            );
            sink(*ev);
        }
        Outcome::Dropped(what) => {
            if let Some((host, channel, eid)) = what {
                let ts = tree
                    .get("System")
                    .map(super::evtxjson::parse_system_time_of)
                    .and_then(|t| t.utc);
                report.note(&host, &channel, eid, ts);
            }
        }
        Outcome::Unusable(why) => {
            report.records_skipped += 1;
            report.problem(format!("record {id}"), why);
        }
    }
}
