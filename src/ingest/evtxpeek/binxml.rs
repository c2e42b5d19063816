//! Template definitions (`BinXML`, MS-EVEN6 2.2.5) read into the layout of a record: which
//! substitution value is which System field and which `EventData` name; anything not fully
//! understood gives `None` (the record is then rendered).

use crate::ingest::fieldmap::names_distinct;

/// Where a field comes from in a template.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Slot {
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
pub(super) struct Layout {
    /// Values `System` and the three decision fields depend on: an element depending on a NULL
    /// value is left out (MS-EVEN6 2.2.12).
    pub(super) dependencies: Vec<u16>,
    pub(super) event_id: Slot,
    pub(super) channel: Slot,
    pub(super) computer: Slot,
    /// The rest of the record, when the template is plain enough to build it from.
    pub(super) full: Option<Full>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Full {
    pub(super) dependencies: Vec<u16>,
    pub(super) provider: Option<Slot>,
    pub(super) record_id: Option<Slot>,
    pub(super) user_sid: Option<Slot>,
    pub(super) exec_pid: Option<Slot>,
    pub(super) time: Slot,
    /// `EventData` written in the template.
    pub(super) data: Vec<(String, Slot)>,
    /// `EventData` given as a value: a `BinXML` fragment of its own template instance (how
    /// Sysmon and most manifest-based providers write it).
    pub(super) nested: Option<u16>,
}

/// A template whose root is `EventData`, given as a value of the record's template.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DataLayout {
    pub(super) dependencies: Vec<u16>,
    pub(super) data: Vec<(String, Slot)>,
}

/// A template definition as a tree.
#[derive(Debug, Default)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) dependency: Option<u16>,
    pub(super) attributes: Vec<(String, Vec<Slot>)>,
    /// Text and values between the tags.
    pub(super) content: Vec<Slot>,
    pub(super) children: Vec<Element>,
}

impl Element {
    pub(super) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element's text as one slot: nothing, one value or one text, no child elements.
    pub(super) fn slot(&self) -> Option<Slot> {
        if !self.children.is_empty() {
            return None;
        }
        one(&self.content)
    }

    /// The pieces of each attribute of this name (more than one: written twice).
    pub(super) fn attribute(&self, name: &str) -> Vec<&[Slot]> {
        self.attributes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, pieces)| pieces.as_slice())
            .collect()
    }
}

pub(super) fn one(pieces: &[Slot]) -> Option<Slot> {
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
pub(super) const DEFINITION_HEADER: usize = 24;
/// Value type of a UTF-16 string.
pub(super) const STRING_TYPE: u8 = 0x01;
/// Elements nested deeper than this in a template are not read here.
pub(super) const MAX_DEPTH: usize = 16;
/// An element's dependency id meaning "none".
pub(super) const NO_DEPENDENCY: u16 = 0xffff;

/// Little-endian reader over chunk bytes, by chunk offset.
pub(super) struct Cursor<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
}

impl Cursor<'_> {
    pub(super) fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    pub(super) fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn utf16(&mut self, units: usize) -> Option<String> {
        let bytes = self.data.get(self.pos..self.pos + units * 2)?;
        self.pos += units * 2;
        utf16(bytes)
    }
    /// A name reference: the name at its chunk offset, skipped when it is written right here.
    pub(super) fn name(&mut self) -> Option<String> {
        let at = self.u32()? as usize;
        let len = usize::from(u16::from_le_bytes([
            *self.data.get(at + 6)?,
            *self.data.get(at + 7)?,
        ]));
        let name = utf16(self.data.get(at + 8..at + 8 + len * 2)?)?;
        if at == self.pos {
            // next (4), hash (2), length (2), the characters, NUL (2).
            self.pos += 8 + len * 2 + 2;
        }
        Some(name)
    }
}

/// UTF-16LE text with every unpaired surrogate read as U+FFFD.
pub(super) fn lossy_utf16(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

pub(super) fn utf16(bytes: &[u8]) -> Option<String> {
    let units = bytes
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]));
    char::decode_utf16(units).collect::<Result<_, _>>().ok()
}

/// The template defined at `offset` in the chunk, as a tree (`None`: a token not read here).
pub(super) fn template_at(data: &[u8], offset: u32) -> Option<Element> {
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

pub(super) fn push(stack: &mut [Element], in_attribute: bool, piece: Slot) -> Option<()> {
    let top = stack.last_mut()?;
    if in_attribute {
        top.attributes.last_mut()?.1.push(piece);
    } else {
        top.content.push(piece);
    }
    Some(())
}

/// Reads the layout of the template defined at `offset` in the chunk.
pub(super) fn layout_at(data: &[u8], offset: u32) -> Option<Layout> {
    let event = template_at(data, offset)?;
    if event.name != "Event" {
        return None;
    }
    let systems: Vec<&Element> = event
        .children
        .iter()
        .filter(|c| c.name == "System")
        .collect();
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
pub(super) fn full_layout(event: &Element, system: &Element) -> Option<Full> {
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
        [Slot::Value(i) | Slot::Optional(i)]
            if data.is_empty() && event.child("EventData").is_none() =>
        {
            Some(*i)
        }
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
pub(super) fn data_layout_at(data: &[u8], offset: u32) -> Option<DataLayout> {
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
pub(super) fn unique_names(data: &[(String, Slot)]) -> Option<()> {
    names_distinct(data.iter().map(|(n, _)| n.as_str())).then_some(())
}

/// Whether `stream` (at chunk offset `at`) is one template instance and nothing else: an
/// optional fragment header, the instance, its values, then the end or EOF.
pub(super) fn single_instance(stream: &[u8], at: usize) -> bool {
    single_instance_end(stream, at)
        .is_some_and(|end| matches!(stream.get(end..), Some([] | [0, ..])))
}

/// Where the one template instance of `stream` ends.
pub(super) fn single_instance_end(stream: &[u8], at: usize) -> Option<usize> {
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
pub(super) fn event_data(
    part: &Element,
    out: &mut Vec<(String, Slot)>,
    deps: &mut Vec<u16>,
) -> Option<()> {
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
