//! EVTX records read from their template and values, without rendering them to JSON.
//!
//! A record written by Windows is one template instance: the template definition (`BinXML` in
//! the chunk, MS-EVEN6 2.2.5) gives the shape, `<Event><System><EventID>%n</EventID>...`, and the
//! record only the substitution values. Which value sits in which field is read once per
//! template (a chunk holds a few dozen) from the definition; each record then costs a walk over
//! its values. So a record no detection uses is dropped on its channel and event id, and a kept
//! record is built straight from its values, neither rendered to JSON text nor parsed again.
//!
//! Anything this reader does not fully understand (another token, an element left out because a
//! value it depends on is NULL, a value of another type, a name written twice, `UserData`) gives
//! [`Read::Render`], and the record is rendered as before: the answer, when there is one, is the
//! one rendering gives (checked record by record on the corpus in the tests).

use super::evtxjson::parse_system_time;
use super::fieldmap::{DataFields, RawRecord, names_distinct, parse_pid};
use evtx::EvtxRecord;
use evtx::binxml::BinXmlTemplateValues;
use evtx::binxml::value_variant::BinXmlValue;
use std::collections::HashMap;

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

/// Where a field comes from in a template.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    /// The substitution value of this index.
    Value(u16),
    /// The same, optional: an attribute of an empty or NULL value is left out.
    Optional(u16),
    /// Text written in the template itself.
    Text(String),
    /// Nothing (an empty element).
    Empty,
}

/// Where a template puts what the reader reads.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    /// Values `System` and the three decision fields depend on: an element depending on a NULL
    /// value is left out (MS-EVEN6 2.2.12).
    dependencies: Vec<u16>,
    event_id: Slot,
    channel: Slot,
    computer: Slot,
    /// The rest of the record, when the template is plain enough to build it from.
    full: Option<Full>,
}

#[derive(Debug, Clone, PartialEq)]
struct Full {
    dependencies: Vec<u16>,
    provider: Option<Slot>,
    record_id: Option<Slot>,
    user_sid: Option<Slot>,
    exec_pid: Option<Slot>,
    time: Slot,
    /// `EventData` written in the template.
    data: Vec<(String, Slot)>,
    /// `EventData` given as a value: a `BinXML` fragment of its own template instance (how
    /// Sysmon and most manifest-based providers write it).
    nested: Option<u16>,
}

/// A template whose root is `EventData`, given as a value of the record's template.
#[derive(Debug, Clone, PartialEq)]
struct DataLayout {
    dependencies: Vec<u16>,
    data: Vec<(String, Slot)>,
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

    fn try_read(&mut self, record: &EvtxRecord<'_>, keep: impl Fn(&str, u16) -> bool) -> Option<Read> {
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

/// A template definition as a tree.
#[derive(Debug, Default)]
struct Element {
    name: String,
    dependency: Option<u16>,
    attributes: Vec<(String, Vec<Slot>)>,
    /// Text and values between the tags.
    content: Vec<Slot>,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element's text as one slot: nothing, one value or one text, no child elements.
    fn slot(&self) -> Option<Slot> {
        if !self.children.is_empty() {
            return None;
        }
        one(&self.content)
    }

    /// The pieces of each attribute of this name (more than one: written twice).
    fn attribute(&self, name: &str) -> Vec<&[Slot]> {
        self.attributes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, pieces)| pieces.as_slice())
            .collect()
    }
}

fn one(pieces: &[Slot]) -> Option<Slot> {
    match pieces {
        [] => Some(Slot::Empty),
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// `BinXML` tokens (MS-EVEN6 2.2.12); bit 0x40 marks "more data follows" on some of them.
mod token {
    pub const EOF: u8 = 0x00;
    pub const OPEN_START: u8 = 0x01;
    pub const CLOSE_START: u8 = 0x02;
    pub const CLOSE_EMPTY: u8 = 0x03;
    pub const END: u8 = 0x04;
    pub const VALUE: u8 = 0x05;
    pub const ATTRIBUTE: u8 = 0x06;
    pub const NORMAL_SUB: u8 = 0x0d;
    pub const OPTIONAL_SUB: u8 = 0x0e;
    pub const TEMPLATE_INSTANCE: u8 = 0x0c;
    pub const FRAGMENT: u8 = 0x0f;
    pub const MORE: u8 = 0x40;
}

/// Size of a template definition's header: next offset, GUID, data size.
const DEFINITION_HEADER: usize = 24;
/// Value type of a UTF-16 string.
const STRING_TYPE: u8 = 0x01;
/// Elements nested deeper than this in a template are not read here.
const MAX_DEPTH: usize = 16;
/// An element's dependency id meaning "none".
const NO_DEPENDENCY: u16 = 0xffff;

/// Little-endian reader over chunk bytes, by chunk offset.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf16(&mut self, units: usize) -> Option<String> {
        let bytes = self.data.get(self.pos..self.pos + units * 2)?;
        self.pos += units * 2;
        utf16(bytes)
    }
    /// A name reference: the name at its chunk offset, skipped when it is written right here.
    fn name(&mut self) -> Option<String> {
        let at = self.u32()? as usize;
        let len = usize::from(u16::from_le_bytes([*self.data.get(at + 6)?, *self.data.get(at + 7)?]));
        let name = utf16(self.data.get(at + 8..at + 8 + len * 2)?)?;
        if at == self.pos {
            // next (4), hash (2), length (2), the characters, NUL (2).
            self.pos += 8 + len * 2 + 2;
        }
        Some(name)
    }
}

/// UTF-16LE text with every unpaired surrogate read as U+FFFD.
fn lossy_utf16(bytes: &[u8]) -> String {
    let units = bytes.chunks_exact(2).map(|u| u16::from_le_bytes([u[0], u[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn utf16(bytes: &[u8]) -> Option<String> {
    let units = bytes.chunks_exact(2).map(|u| u16::from_le_bytes([u[0], u[1]]));
    char::decode_utf16(units).collect::<Result<_, _>>().ok()
}

/// The template defined at `offset` in the chunk, as a tree (`None`: a token not read here).
fn template_at(data: &[u8], offset: u32) -> Option<Element> {
    let start = offset as usize + DEFINITION_HEADER;
    let size = u32::from_le_bytes(data.get(start - 4..start)?.try_into().ok()?) as usize;
    let end = start.checked_add(size)?;
    let mut c = Cursor {
        data: data.get(..end)?,
        pos: start,
    };
    // The root sits at the bottom of the stack, under a holder for it.
    let mut stack = vec![Element::default()];
    let mut in_attribute = false;
    while c.pos < end {
        let t = c.u8()?;
        match t & !token::MORE {
            token::EOF => break,
            token::FRAGMENT => c.pos += 3,
            token::OPEN_START => {
                let dependency = c.u16()?;
                let _size = c.u32()?;
                let name = c.name()?;
                if t & token::MORE != 0 {
                    let _attributes_size = c.u32()?;
                }
                // Event, System or EventData, a field, its text: deeper is not read here (and
                // the tree's drop stays shallow).
                if stack.len() > MAX_DEPTH {
                    return None;
                }
                stack.push(Element {
                    name,
                    dependency: (dependency != NO_DEPENDENCY).then_some(dependency),
                    ..Element::default()
                });
                in_attribute = false;
            }
            token::ATTRIBUTE => {
                let name = c.name()?;
                stack.last_mut()?.attributes.push((name, Vec::new()));
                in_attribute = true;
            }
            token::CLOSE_START => in_attribute = false,
            token::CLOSE_EMPTY | token::END => {
                in_attribute = false;
                if stack.len() < 2 {
                    return None;
                }
                let done = stack.pop()?;
                stack.last_mut()?.children.push(done);
            }
            token::VALUE => {
                if c.u8()? != STRING_TYPE {
                    return None;
                }
                let len = usize::from(c.u16()?);
                let text = c.utf16(len)?;
                push(&mut stack, in_attribute, Slot::Text(text))?;
            }
            token::NORMAL_SUB | token::OPTIONAL_SUB => {
                let index = c.u16()?;
                let _type = c.u8()?;
                let slot = if t == token::OPTIONAL_SUB {
                    Slot::Optional(index)
                } else {
                    Slot::Value(index)
                };
                push(&mut stack, in_attribute, slot)?;
            }
            // Character and entity references, CDATA, processing instructions, nested
            // templates: not read here.
            _ => return None,
        }
    }
    let mut holder = stack.pop()?;
    if !stack.is_empty() || holder.children.len() != 1 || !holder.content.is_empty() {
        return None;
    }
    holder.children.pop()
}

fn push(stack: &mut [Element], in_attribute: bool, piece: Slot) -> Option<()> {
    let top = stack.last_mut()?;
    if in_attribute {
        top.attributes.last_mut()?.1.push(piece);
    } else {
        top.content.push(piece);
    }
    Some(())
}

/// Reads the layout of the template defined at `offset` in the chunk.
fn layout_at(data: &[u8], offset: u32) -> Option<Layout> {
    let event = template_at(data, offset)?;
    if event.name != "Event" {
        return None;
    }
    let systems: Vec<&Element> = event.children.iter().filter(|c| c.name == "System").collect();
    let [system] = systems.as_slice() else {
        return None;
    };
    // Each child of `System` once: a name written twice renders under another key.
    if !names_distinct(system.children.iter().map(|c| c.name.as_str())) {
        return None;
    }
    let field = |name: &str| system.child(name).and_then(Element::slot);
    let mut dependencies: Vec<u16> = system.dependency.into_iter().collect();
    for name in ["EventID", "Channel", "Computer"] {
        dependencies.extend(system.child(name)?.dependency);
    }
    Some(Layout {
        event_id: field("EventID")?,
        channel: field("Channel")?,
        computer: field("Computer")?,
        full: full_layout(&event, system),
        dependencies,
    })
}

/// The rest of a plain template: `System`'s other fields and `EventData` of named `Data`.
fn full_layout(event: &Element, system: &Element) -> Option<Full> {
    let mut dependencies = Vec::new();
    // An attribute of a `System` child (`Provider Name`, `Security UserID`, ...).
    let mut attribute = |element: &str, name: &str| -> Option<Option<Slot>> {
        let Some(e) = system.child(element) else {
            return Some(None);
        };
        if !e.children.is_empty() || !e.content.is_empty() {
            return None;
        }
        dependencies.extend(e.dependency);
        match e.attribute(name).as_slice() {
            [] => Some(None),
            [pieces] => Some(Some(one(pieces)?)),
            _ => None,
        }
    };
    let provider = attribute("Provider", "Name")?;
    let user_sid = attribute("Security", "UserID")?;
    let exec_pid = attribute("Execution", "ProcessID")?;
    let time = attribute("TimeCreated", "SystemTime")??;
    let record_id = match system.child("EventRecordID") {
        Some(e) => {
            dependencies.extend(e.dependency);
            Some(e.slot()?)
        }
        None => None,
    };
    let mut data = Vec::new();
    for part in &event.children {
        match part.name.as_str() {
            "EventData" => {
                dependencies.extend(part.dependency);
                event_data(part, &mut data, &mut dependencies)?;
            }
            "UserData" => return None,
            _ => {}
        }
    }
    unique_names(&data)?;
    // `EventData` as a value, or no text at all in `Event`.
    let nested = match event.content.as_slice() {
        [] => None,
        [Slot::Value(i) | Slot::Optional(i)] if data.is_empty() && event.child("EventData").is_none() => Some(*i),
        _ => return None,
    };
    Some(Full {
        dependencies,
        provider,
        record_id,
        user_sid,
        exec_pid,
        time,
        data,
        nested,
    })
}

/// Reads the layout of a template whose root is `EventData`.
fn data_layout_at(data: &[u8], offset: u32) -> Option<DataLayout> {
    let root = template_at(data, offset)?;
    if root.name != "EventData" {
        return None;
    }
    let mut layout = DataLayout {
        dependencies: Vec::new(),
        data: Vec::new(),
    };
    event_data(&root, &mut layout.data, &mut layout.dependencies)?;
    unique_names(&layout.data)?;
    Some(layout)
}

/// `None` when a field name is written twice (it would render under another key).
fn unique_names(data: &[(String, Slot)]) -> Option<()> {
    names_distinct(data.iter().map(|(n, _)| n.as_str())).then_some(())
}

/// Whether `stream` (at chunk offset `at`) is one template instance and nothing else: an
/// optional fragment header, the instance, its values, then the end or EOF.
fn single_instance(stream: &[u8], at: usize) -> bool {
    single_instance_end(stream, at).is_some_and(|end| matches!(stream.get(end..), Some([] | [0, ..])))
}

/// Where the one template instance of `stream` ends.
fn single_instance_end(stream: &[u8], at: usize) -> Option<usize> {
    let mut pos = match stream {
        [token::FRAGMENT, _, _, _, token::TEMPLATE_INSTANCE, ..] => 5,
        [token::TEMPLATE_INSTANCE, ..] => 1,
        _ => return None,
    };
    let u32_at = |p: usize| -> Option<usize> {
        Some(u32::from_le_bytes(stream.get(p..p + 4)?.try_into().ok()?) as usize)
    };
    // Unknown byte, template id, definition offset.
    let definition = u32_at(pos + 5)?;
    pos += 9;
    if definition == at + pos {
        // Defined right here: next offset, GUID, data size, data.
        pos += DEFINITION_HEADER + u32_at(pos + 20)?;
    }
    let count = u32_at(pos)?;
    pos += 4;
    let descriptors = stream.get(pos..pos.checked_add(count.checked_mul(4)?)?)?;
    pos += count * 4;
    let sizes: usize = descriptors
        .chunks_exact(4)
        .map(|d| usize::from(u16::from_le_bytes([d[0], d[1]])))
        .sum();
    Some(pos + sizes)
}

/// `EventData`'s fields: `<Data Name="X">` and plain child elements, by name; anything else
/// (unnamed `Data`, attributes, nested elements, text between them) is left to the renderer.
fn event_data(part: &Element, out: &mut Vec<(String, Slot)>, deps: &mut Vec<u16>) -> Option<()> {
    if !part.attributes.is_empty() || !part.content.is_empty() {
        return None;
    }
    for item in &part.children {
        let name = if item.name == "Data" {
            let [(attr, name)] = item.attributes.as_slice() else {
                return None;
            };
            match (attr.as_str(), name.as_slice()) {
                ("Name", [Slot::Text(n)]) => n.clone(),
                _ => return None,
            }
        } else if item.attributes.is_empty() {
            item.name.clone()
        } else {
            return None;
        };
        let reserved = name.is_empty()
            || name == "Data"
            || name.starts_with('#')
            || name.ends_with("_attributes");
        if reserved {
            return None;
        }
        deps.extend(item.dependency);
        out.push((name, item.slot()?));
    }
    Some(())
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
        eprintln!("{records} records: {dropped} dropped, {kept} built, {kept_rendered} kept and rendered");
        assert!(records > 5_000, "{records} records read");
        assert!(
            (dropped + kept) * 100 >= records * 90,
            "{dropped} + {kept} of {records} read from templates"
        );
    }
}
