//! svchop's own normalized table read back (`svchop normalize` JSON lines parts, or the rows a
//! data-lake engine hands svchop, as the Spark job does): each row is the event it was written
//! from, with its original evidence location, so findings made from a table are the findings
//! made from the evidence. Columns svchop does not know are ignored; rows of logs no detection
//! reads are counted and dropped as for any other source.

use super::FileReport;
use super::jsonscan::{Line, each_line};
use super::kept::is_kept;
use crate::model::event::{
    Account, Fields, LogonInfo, NetInfo, ProcessInfo, RegistryInfo, ServiceInfo, ShareInfo,
    SourceRef,
};
use crate::model::{Channel, Event, Group, HostName, LogonId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::io::BufRead;
use std::sync::Arc;

/// Whether the first line of a JSON file is a row of svchop's normalized table.
pub fn looks_like_row(head: &str) -> bool {
    let first = head.lines().next().unwrap_or_default();
    ["\"host_key\":", "\"ts_ns\":", "\"seq\":", "\"event_id\":"]
        .iter()
        .all(|k| first.contains(k))
}

/// Whether a JSON file is the manifest of a normalized table (read through its parts).
pub fn looks_like_manifest(head: &str) -> bool {
    head.contains("\"format\": \"svchop-normalized-events\"")
        || head.contains("\"format\":\"svchop-normalized-events\"")
}

type Text = Option<Arc<str>>;

/// The type of a field's column as read, by its kind in the table.
macro_rules! row_in_type {
    (text, $ty:ty) => {
        Text
    };
    ($other:ident, $ty:ty) => {
        Option<$ty>
    };
}

/// A row as read: every column the model keeps (the fields every event has, then the typed field
/// groups of `model::typed`; computed columns are not read back), and the groups made from it.
macro_rules! row_in {
    ($( $group:ident : $T:ident {
        $( $(#[$doc:meta])* $f:ident : $kind:ident ($ty:ty) as $col:ident, $ct:ident, $desc:literal
           $( + [$dcol:ident, $dct:ident, $ddesc:literal, $dfn:path] )* ; )*
    } )*) => {
        #[derive(Debug, Deserialize)]
        struct RowIn {
            ts: Option<String>,
            ts_ns: Option<i64>,
            host_key: String,
            host: String,
            channel: String,
            event_id: u16,
            provider: Text,
            record_id: Option<u64>,
            source_file: Option<String>,
            source_line: Option<u64>,
            evidence: Option<String>,
            exec_pid: Option<u32>,
            logon_id: Option<String>,
            subject_logon_id: Option<String>,
            subject_user: Text,
            subject_domain: Text,
            subject_sid: Text,
            target_user: Text,
            target_domain: Text,
            target_sid: Text,
            user_sid: Text,
            $( $( $col: row_in_type!($kind, $ty), )* )*
        }

        impl RowIn {
            /// The typed field groups of the row into `fields`, each stored only when something
            /// in it is set, as the model does.
            fn groups_into(&mut self, fields: &mut Fields) {
                $(
                    fields.$group = Group::filled($T { $( $f: self.$col.take(), )* });
                )*
            }
        }
    };
}
crate::model::typed::typed_groups!(row_in);

impl RowIn {
    fn time(&self) -> Option<DateTime<Utc>> {
        match self.ts_ns {
            Some(n) if n != i64::MIN => Some(DateTime::from_timestamp_nanos(n)),
            _ => self
                .ts
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// The event the row was written from; `None` without a time.
    fn into_event(mut self, table: &Arc<str>) -> Option<Event> {
        let ts = self.time()?;
        let file = self
            .source_file
            .take()
            .or(self.evidence.take())
            .map_or_else(|| Arc::clone(table), |f| Arc::from(f.as_str()));
        let display = std::mem::take(&mut self.host);
        let key = match std::mem::take(&mut self.host_key) {
            k if k.is_empty() => crate::model::host_key(&display),
            k => k,
        };
        let channel = Channel::from_name(&self.channel);
        let (event_id, provider) = (self.event_id, self.provider.take());
        let (record_id, line) = (self.record_id, self.source_line);
        Some(Event {
            ts,
            host: Arc::new(HostName {
                display: Arc::from(display.trim()),
                key: Arc::from(key.as_str()),
            }),
            channel,
            event_id,
            provider,
            source: SourceRef {
                file,
                record_id,
                line,
                offset: None,
            },
            fields: self.into_fields(),
            extra: Box::default(),
            also_at: Box::default(),
        })
    }

    /// The typed fields of the row. Each group is stored only when something in it is set, as
    /// the model does.
    fn into_fields(mut self) -> Fields {
        let lid = |t: Option<String>| t.as_deref().and_then(LogonId::parse);
        let mut fields = Fields {
            logon_id: lid(self.logon_id.take()),
            subject_logon_id: lid(self.subject_logon_id.take()),
            subject: Group::filled(Account {
                domain: self.subject_domain.take(),
                user: self.subject_user.take(),
                sid: self.subject_sid.take(),
            }),
            target: Group::filled(Account {
                domain: self.target_domain.take(),
                user: self.target_user.take(),
                sid: self.target_sid.take(),
            }),
            user_sid: self.user_sid.take(),
            exec_pid: self.exec_pid,
            ..Fields::default()
        };
        self.groups_into(&mut fields);
        fields
    }
}

/// The event of a row given as a JSON value (rows carried in fleet facts); `None` when it is not a
/// row of a kept log with a time.
pub fn event_of(row: serde_json::Value, table: &Arc<str>) -> Option<Event> {
    let row: RowIn = serde_json::from_value(row).ok()?;
    if !is_kept(&Channel::from_name(&row.channel), row.event_id) {
        return None;
    }
    row.into_event(table)
}

/// Reads table rows (JSON lines) from `reader`, handing each kept event to `sink`.
pub fn read_rows_into<R: BufRead>(
    mut reader: R,
    shown: &Arc<str>,
    sink: &mut dyn FnMut(Event),
) -> FileReport {
    let mut report = FileReport::new(shown, "svchop table");
    let mut line = 0u64;
    let read = each_line(&mut reader, |_, piece| {
        line += 1;
        let bytes = match piece {
            Line::Text(t) => t,
            Line::TooLarge(bytes) => {
                report.records_read += 1;
                report.records_skipped += 1;
                report.problem(
                    format!("line {line}"),
                    format!("row of {bytes} bytes skipped (over the size cap)"),
                );
                return;
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        report.records_read += 1;
        let row = match serde_json::from_slice::<RowIn>(bytes) {
            Ok(r) => r,
            Err(e) => {
                report.records_skipped += 1;
                report.problem(format!("line {line}"), format!("not a table row: {e}"));
                return;
            }
        };
        let channel = Channel::from_name(&row.channel);
        if !is_kept(&channel, row.event_id) {
            report.note(&row.host, channel.name(), row.event_id, row.time());
            return;
        }
        let Some(e) = row.into_event(shown) else {
            report.records_skipped += 1;
            report.problem(format!("line {line}"), "row without a time");
            return;
        };
        report.records_kept += 1;
        report.saw(&e.host.display, e.ts);
        report.note(&e.host.display, e.channel.name(), e.event_id, Some(e.ts));
        sink(e);
    });
    if let Err(e) = read {
        report.problem(format!("line {}", line + 1), format!("read error: {e}"));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::row::row;

    #[test]
    fn a_row_reads_back_as_the_event_it_was_written_from() {
        let events =
            crate::demo::events(&crate::demo::generate(&crate::demo::DemoOptions::default()));
        let text: String = events
            .iter()
            .take(2000)
            .enumerate()
            .map(|(i, e)| serde_json::to_string(&row(i as u64, e)).unwrap_or_default() + "\n")
            .collect();
        let mut back = Vec::new();
        let rep = read_rows_into(text.as_bytes(), &Arc::from("t.jsonl"), &mut |e| {
            back.push(e);
        });
        assert!(rep.problems.is_empty(), "{:?}", rep.problems);
        let kept: Vec<&Event> = events
            .iter()
            .take(2000)
            .filter(|e| is_kept(&e.channel, e.event_id))
            .collect();
        assert_eq!(back.len(), kept.len());
        assert!(back.len() > 100);
        for (b, e) in back.iter().zip(kept) {
            assert_eq!(b.ts, e.ts);
            assert_eq!(b.host.key, e.host.key);
            assert_eq!(b.host.display, e.host.display);
            assert_eq!(b.channel, e.channel);
            assert_eq!(b.event_id, e.event_id);
            assert_eq!(b.provider, e.provider);
            assert_eq!(b.source.file, e.source.file);
            assert_eq!(b.source.record_id, e.source.record_id);
            assert_eq!(b.source.line, e.source.line);
            assert_eq!(b.fields, e.fields);
        }
    }

    #[test]
    fn bad_rows_are_counted_and_the_rest_read() {
        let text = "{\"seq\":0,\"ts_ns\":0,\"host_key\":\"A\",\"host\":\"a\",\"channel\":\"Security\",\"event_id\":4624}\nnot json\n{\"seq\":1}\n";
        let mut n = 0;
        let rep = read_rows_into(text.as_bytes(), &Arc::from("t"), &mut |_| n += 1);
        assert_eq!(n, 1);
        assert_eq!(rep.records_read, 3);
        assert_eq!(rep.records_skipped, 2);
        assert_eq!(rep.problems.len(), 2);
    }

    #[test]
    fn every_typed_field_is_a_column_that_reads_back() {
        use crate::detect::testkit::ev;
        use crate::model::row::COLUMNS;
        let mut e = ev("WS01", 0, crate::model::Channel::Security, 4624).done();
        e.fields = crate::model::typed::every_field_set();
        let json = serde_json::to_value(row(0, &e)).unwrap_or_default();
        let obj = json.as_object().cloned().unwrap_or_default();
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        for k in &keys {
            assert!(names.contains(k), "{k} is not a documented column");
        }
        // Every column of the typed groups (from `logon_type` on) is written.
        let first = names
            .iter()
            .position(|n| *n == "logon_type")
            .unwrap_or(names.len());
        assert!(first < names.len());
        for n in &names[first..] {
            assert!(keys.contains(n), "{n} not written");
        }
        let text = serde_json::to_string(&json).unwrap_or_default() + "\n";
        let mut back = Vec::new();
        read_rows_into(text.as_bytes(), &Arc::from("t.jsonl"), &mut |e| {
            back.push(e);
        });
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].fields, e.fields);
    }
}
