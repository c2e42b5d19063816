//! EVTX records read from their template and values, without rendering them to JSON.
//!
//! A record written by Windows is one template instance: the template definition (`BinXML` in
//! the chunk, MS-EVEN6 2.2.5) gives the shape, `<Event><System><EventID>%n</EventID>...`, and the
//! record only the substitution values. Which value sits in which field is read once per
//! template (a chunk holds a few dozen) from the definition (`binxml`); each record then costs a
//! walk over its values. So a record no detection uses is dropped on its channel and event id,
//! and a kept record is built straight from its values, neither rendered to JSON text nor parsed
//! again.
//!
//! Anything this reader does not fully understand (another token, an element left out because a
//! value it depends on is NULL, a value of another type, a name written twice, `UserData`) gives
//! [`Read::Render`], and the record is rendered as before: the answer, when there is one, is the
//! one rendering gives (checked record by record on the corpus in the tests).

use crate::ingest::evtxjson::parse_system_time;
use crate::ingest::fieldmap::{DataFields, RawRecord, parse_pid};
use evtx::EvtxRecord;
use evtx::binxml::BinXmlTemplateValues;
use evtx::binxml::value_variant::BinXmlValue;
use std::collections::HashMap;

mod binxml;

use binxml::{DataLayout, Layout, Slot, data_layout_at, layout_at, lossy_utf16, single_instance};

/// What a record's template says about it.
#[derive(Debug)]
pub enum Read {
    /// Its channel, event id and computer, for a record the caller does not keep.
    Drop(Peeked),
    /// The record, as the rendered path would have read it.
    Keep(Box<RawRecord<'static>>),
    /// Not understood here: render it.
    Render,
}

/// A record's channel, event id and computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    pub channel: String,
    pub event_id: u16,
    pub computer: String,
}

/// Template layouts of one chunk, by the definition's offset in the chunk (`None`: a template
/// this reader does not understand, rendered every time).
#[derive(Default, Clone)]
pub struct Templates {
    layouts: HashMap<u32, Option<Layout>>,
    data_layouts: HashMap<u32, Option<DataLayout>>,
}

impl Templates {
    /// Reads `record` from its template: dropped when `keep` says no to its channel and id,
    /// built when kept, or left to the renderer.
    pub fn read(&mut self, record: &EvtxRecord<'_>, keep: impl Fn(&str, u16) -> bool) -> Read {
        self.try_read(record, keep).unwrap_or(Read::Render)
    }

    fn try_read(
        &mut self,
        record: &EvtxRecord<'_>,
        keep: impl Fn(&str, u16) -> bool,
    ) -> Option<Read> {
        let data = record.chunk.data;
        let instance = only_instance(record)?;
        let layout = self
            .layouts
            .entry(instance.template_def_offset)
            .or_insert_with(|| layout_at(data, instance.template_def_offset))
            .as_ref()?;
        let values = &instance.values;
        if !present(&layout.dependencies, values) {
            return None;
        }
        let event_id = match &layout.event_id {
            Slot::Value(i) | Slot::Optional(i) => match values.get(usize::from(*i))? {
                BinXmlValue::UInt16Type(id) => *id,
                _ => return None,
            },
            Slot::Text(t) => t.trim().parse().ok()?,
            Slot::Empty => return None,
        };
        let peeked = Peeked {
            channel: system_text(&layout.channel, values)?,
            event_id,
            computer: system_text(&layout.computer, values)?,
        };
        if !keep(&peeked.channel, event_id) {
            return Some(Read::Drop(peeked));
        }
        let full = layout.full.as_ref()?;
        if !present(&full.dependencies, values) {
            return None;
        }
        // An attribute is absent when its optional value is empty.
        let optional = |slot: &Option<Slot>| match slot {
            Some(Slot::Optional(i)) if values.get(usize::from(*i)).is_some_and(is_empty) => {
                Some(None)
            }
            Some(s) => system_text(s, values).map(Some),
            None => Some(None),
        };
        let time = system_text(&full.time, values)?;
        let mut raw = RawRecord {
            channel: peeked.channel,
            event_id,
            host: peeked.computer,
            provider: optional(&full.provider)?,
            record_id: optional(&full.record_id)?.and_then(|r| r.trim().parse().ok()),
            user_sid: optional(&full.user_sid)?,
            exec_pid: optional(&full.exec_pid)?.and_then(|p| parse_pid(&p)),
            time: parse_system_time(&time),
            ..RawRecord::default()
        };
        push_fields(&full.data, values, &mut raw.data)?;
        if let Some(i) = full.nested {
            self.nested_data(record, values.get(usize::from(i))?, &mut raw.data)?;
        }
        Some(Read::Keep(Box::new(raw)))
    }

    /// `EventData` from a value holding its template instance (nothing for a NULL or empty one,
    /// which renders as nothing).
    fn nested_data(
        &mut self,
        record: &EvtxRecord<'_>,
        value: &BinXmlValue<'_>,
        out: &mut DataFields<'static>,
    ) -> Option<()> {
        let bytes = match value {
            BinXmlValue::NullType | BinXmlValue::BinXmlType([]) => return Some(()),
            BinXmlValue::BinXmlType(b) => *b,
            _ => return None,
        };
        let data = record.chunk.data;
        // The fragment lies in the chunk: read its instance with the parser's own reader.
        let offset = (bytes.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
        if data.get(offset..offset + bytes.len())? != bytes {
            return None;
        }
        let mut inner = record.clone();
        inner.binxml_offset = offset as u64;
        inner.binxml_size = u32::try_from(bytes.len()).ok()?;
        let instance = only_instance(&inner)?;
        let layout = self
            .data_layouts
            .entry(instance.template_def_offset)
            .or_insert_with(|| data_layout_at(data, instance.template_def_offset))
            .as_ref()?;
        let values = &instance.values;
        if !present(&layout.dependencies, values) {
            return None;
        }
        push_fields(&layout.data, values, out)
    }
}

/// The one template instance a record's `BinXML` (at `binxml_offset`, `binxml_size` in its
/// chunk) consists of, with its values; `None` for any other stream.
fn only_instance<'a>(record: &EvtxRecord<'a>) -> Option<BinXmlTemplateValues<'a>> {
    let offset = usize::try_from(record.binxml_offset).ok()?;
    let stream = record
        .chunk
        .data
        .get(offset..offset + record.binxml_size as usize)?;
    if !single_instance(stream, offset) {
        return None;
    }
    let mut instances = record.template_instances().ok()?;
    if instances.len() != 1 {
        return None;
    }
    instances.pop()
}

/// Whether none of the values that elements depend on is NULL (such an element is left out).
fn present(dependencies: &[u16], values: &[BinXmlValue<'_>]) -> bool {
    dependencies
        .iter()
        .all(|d| !matches!(values.get(usize::from(*d)), Some(BinXmlValue::NullType)))
}

/// Appends the text of each field; `None` if any value's text is not certain here.
fn push_fields(
    fields: &[(String, Slot)],
    values: &[BinXmlValue<'_>],
    out: &mut DataFields<'static>,
) -> Option<()> {
    out.reserve(fields.len());
    for (name, slot) in fields {
        out.push((name.clone().into(), data_text(slot, values)?.into()));
    }
    Some(())
}

/// Text of a `System` field: only a value that renders as non-empty text (an empty one renders
/// as `null` or is left out, which the rendered path reads as absent).
fn system_text(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<String> {
    let s = match slot {
        Slot::Empty => return None,
        Slot::Text(_) | Slot::Value(_) | Slot::Optional(_) => data_text(slot, values)?,
    };
    (!s.is_empty()).then_some(s)
}

/// Text of an `EventData` field, as the rendered JSON reads: numbers and booleans as JSON writes
/// them, strings as they are, an empty or NULL value as "". `None` for values whose rendering is
/// not certain here (floats, arrays, nested `BinXML`, text with a NUL).
fn data_text(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<String> {
    let v = match slot {
        Slot::Empty => return Some(String::new()),
        Slot::Text(t) => return (!t.contains('\0')).then(|| t.clone()),
        Slot::Value(i) | Slot::Optional(i) => values.get(usize::from(*i))?,
    };
    let s = match v {
        BinXmlValue::NullType => String::new(),
        // An unpaired surrogate (Windows keeps any UTF-16 a service was named with) is read as
        // U+FFFD, the record kept: the renderer would refuse the whole record.
        BinXmlValue::StringType(s) => lossy_utf16(s.as_bytes()),
        BinXmlValue::AnsiStringType(s) => (*s).to_string(),
        BinXmlValue::Int8Type(n) => n.to_string(),
        BinXmlValue::UInt8Type(n) => n.to_string(),
        BinXmlValue::Int16Type(n) => n.to_string(),
        BinXmlValue::UInt16Type(n) => n.to_string(),
        BinXmlValue::Int32Type(n) => n.to_string(),
        BinXmlValue::UInt32Type(n) => n.to_string(),
        BinXmlValue::Int64Type(n) => n.to_string(),
        BinXmlValue::UInt64Type(n) => n.to_string(),
        BinXmlValue::SizeTType(n) => n.to_string(),
        BinXmlValue::BoolType(b) => b.to_string(),
        BinXmlValue::HexInt32Type(_)
        | BinXmlValue::HexInt64Type(_)
        | BinXmlValue::GuidType(_)
        | BinXmlValue::SidType(_)
        | BinXmlValue::FileTimeType(_)
        | BinXmlValue::SysTimeType(_)
        | BinXmlValue::BinaryType(_) => v.to_string(),
        _ => return None,
    };
    (!s.contains('\0')).then_some(s)
}

/// An optional value that renders as nothing.
fn is_empty(v: &BinXmlValue<'_>) -> bool {
    match v {
        BinXmlValue::NullType => true,
        BinXmlValue::StringType(s) => s.is_empty(),
        BinXmlValue::AnsiStringType(s) => s.is_empty(),
        BinXmlValue::BinaryType(b) | BinXmlValue::BinXmlType(b) => b.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::evtxjson::{channel_and_id, text_of, to_raw, unwrap_event};
    use crate::ingest::kept::is_kept;
    use crate::model::Channel;
    use evtx::{EvtxParser, ParserSettings};

    fn corpus_evtx() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        let mut out = Vec::new();
        let mut dirs = vec![root];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "evtx") {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    fn keep(channel: &str, id: u16) -> bool {
        is_kept(&Channel::from_name(channel), id)
    }

    /// Every corpus record read from its template reads as the rendered record reads: dropped
    /// ones with the same channel, id and computer, kept ones field for field; and the template
    /// answers for nearly all records (so this is the path taken).
    #[test]
    fn template_reads_what_rendering_reads() {
        let (mut records, mut dropped, mut kept, mut kept_rendered) = (0usize, 0, 0, 0);
        for path in corpus_evtx() {
            let Ok(p) = EvtxParser::from_path(&path) else {
                continue;
            };
            let mut p = p.with_configuration(ParserSettings::new().num_threads(1));
            let mut templates = Templates::default();
            let seen: Vec<_> = p
                .serialized_records(move |r| {
                    let r = r?;
                    let read = templates.read(&r, keep);
                    Ok((read, r.into_json_value()?.data))
                })
                .flatten()
                .collect();
            for (read, json) in seen {
                records += 1;
                let event = unwrap_event(&json).expect("an Event with System");
                let (channel, id) = channel_and_id(event).expect("channel and id");
                match read {
                    Read::Drop(p) => {
                        dropped += 1;
                        let computer = event["System"].get("Computer").and_then(text_of);
                        assert_eq!(
                            (Some(p.channel), p.event_id, Some(p.computer)),
                            (Some(channel), id, computer),
                            "{}",
                            path.display()
                        );
                    }
                    Read::Keep(raw) => {
                        kept += 1;
                        let rendered = to_raw(event).expect("a record");
                        assert_eq!(
                            format!("{raw:?}"),
                            format!("{rendered:?}"),
                            "{}",
                            path.display()
                        );
                    }
                    Read::Render => kept_rendered += usize::from(keep(&channel, id)),
                }
            }
        }
        eprintln!(
            "{records} records: {dropped} dropped, {kept} built, {kept_rendered} kept and rendered"
        );
        assert!(records > 5_000, "{records} records read");
        assert!(
            (dropped + kept) * 100 >= records * 90,
            "{dropped} + {kept} of {records} read from templates"
        );
    }
}
