//! The `evtx_dump` record shape read straight from its JSON text, without building a
//! `serde_json::Value` of the whole record: `System`'s eight fields the model reads are taken as
//! values (small), the rest of `System` and every other key is skipped (still checked as JSON),
//! and `EventData` of plain fields is read pair by pair into the record.
//!
//! The answer is the one the whole-record path (`Value`, `Shape::sniff`, `to_raw`) gives, or
//! none: a record this reader does not take plainly (no `Event.System`, a key written twice,
//! `UserData`, an `EventData` value that is an object or an array, damaged JSON) is left to that
//! path, which reads or reports it as before.

use super::evtxjson::{Kind, Node, system_to_raw};
use super::fieldmap::{DataFields, RawRecord, names_distinct};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Number;
use std::borrow::Cow;
use std::fmt;

/// The record of one `{"Event": {"System": ..., "EventData": ...}}` text, or `None`.
pub fn read(text: &str) -> Option<RawRecord<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = Top.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(raw)
}

/// A key or string borrowed from the text when it has no escapes (serde's `Cow<str>` always
/// copies).
struct Text<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

/// Why the fast reader stepped aside (the text is then read as a `Value`).
fn aside<E: serde::de::Error>() -> E {
    E::custom("not read here")
}

/// The line: `Event` read, any other key skipped.
struct Top;

impl<'de> DeserializeSeed<'de> for Top {
    type Value = RawRecord<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawRecord<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top {
    type Value = RawRecord<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an evtx_dump record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRecord<'de>, A::Error> {
        let mut event = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == "Event" {
                if event.is_some() {
                    return Err(aside());
                }
                event = Some(map.next_value_seed(EventPart)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        event.ok_or_else(aside)
    }
}

/// `Event`: `System` and `EventData`; other keys skipped; `UserData` left to the other path.
struct EventPart;

impl<'de> DeserializeSeed<'de> for EventPart {
    type Value = RawRecord<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawRecord<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventPart {
    type Value = RawRecord<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRecord<'de>, A::Error> {
        let mut system: Option<Small> = None;
        let mut data: Option<DataFields<'de>> = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match &*key {
                "System" if system.is_none() => system = Some(map.next_value_seed(SystemPart)?),
                "EventData" if data.is_none() => data = Some(map.next_value_seed(DataPart)?),
                "System" | "EventData" | "UserData" => return Err(aside()),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut raw = system_to_raw(&system.ok_or_else(aside)?).ok_or_else(aside)?;
        raw.data = data.unwrap_or_default();
        Ok(raw)
    }
}

/// The `System` keys `system_to_raw` reads.
const SYSTEM_KEYS: [&str; 8] = [
    "Channel",
    "EventID",
    "Computer",
    "Provider",
    "EventRecordID",
    "Security",
    "Execution",
    "TimeCreated",
];

/// A JSON value as `System`'s fields hold it, without a `Value`'s hashed maps (objects here have
/// one or two keys); read by the same `Node` reader as a `Value`.
#[derive(Debug)]
enum Small<'de> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'de, str>),
    Array(Vec<Small<'de>>),
    Object(Vec<(Cow<'de, str>, Small<'de>)>),
}

impl Node for Small<'_> {
    fn get(&self, key: &str) -> Option<&Self> {
        match self {
            // As in a `Value`: a key written twice holds its last value.
            Small::Object(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn kind(&self) -> Kind<'_, Self> {
        match self {
            Small::Null => Kind::Null,
            Small::Bool(b) => Kind::Bool(*b),
            Small::Number(n) => Kind::Number(n),
            Small::String(s) => Kind::String(s),
            Small::Array(items) => Kind::Array(items),
            Small::Object(_) => Kind::Object,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Small<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SmallVisitor)
    }
}

struct SmallVisitor;

impl<'de> Visitor<'de> for SmallVisitor {
    type Value = Small<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Small<'de>, E> {
        Ok(Small::Bool(v))
    }
    // Numbers as a `Value` holds them.
    fn visit_u64<E>(self, v: u64) -> Result<Small<'de>, E> {
        Ok(Small::Number(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Small<'de>, E> {
        Ok(Small::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Small<'de>, E> {
        Ok(Number::from_f64(v).map_or(Small::Null, Small::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Small<'de>, E> {
        Ok(Small::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Small<'de>, E> {
        Ok(Small::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Small<'de>, E> {
        Ok(Small::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Small<'de>, E> {
        Ok(Small::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Small<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Small::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Small<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some((Text(k), v)) = map.next_entry::<Text<'de>, Small<'de>>()? {
            entries.push((k, v));
        }
        Ok(Small::Object(entries))
    }
}

/// `System` as an object of the keys `system_to_raw` reads, the others skipped.
struct SystemPart;

impl<'de> DeserializeSeed<'de> for SystemPart {
    type Value = Small<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SystemPart {
    type Value = Small<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a System object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(SYSTEM_KEYS.len());
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if SYSTEM_KEYS.contains(&&*key) {
                out.push((key, map.next_value()?));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Small::Object(out))
    }
}

/// `EventData` of plain `"Name": value` fields, as `flatten_data` reads them (`null` for none).
struct DataPart;

impl<'de> DeserializeSeed<'de> for DataPart {
    type Value = DataFields<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataPart {
    type Value = DataFields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an EventData object")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: DataFields<'de> = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == "Data" {
                return Err(aside());
            }
            let Scalar(text) = map.next_value()?;
            if key == "#attributes" || key.ends_with("_attributes") {
                continue;
            }
            out.push((key, text));
        }
        // A key written twice is one field in a `Value` (the last value, in the first place).
        if !names_distinct(out.iter().map(|(k, _)| &**k)) {
            return Err(aside());
        }
        Ok(out)
    }
}

/// A scalar's text as `text_of` reads it (`null`: empty), borrowed from the text when it has no
/// escapes; objects and arrays step aside.
struct Scalar<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    // Numbers as a `Value` holds and prints them.
    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Owned(Number::from(v).to_string())))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Owned(Number::from(v).to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Owned(
            Number::from_f64(v)
                .map(|n| n.to_string())
                .unwrap_or_default(),
        )))
    }
    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar(Cow::Borrowed("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::shapes::Shape;
    use serde_json::Value;

    /// What the whole-record path reads of an `evtx_dump`-shaped text.
    fn slow(text: &str) -> Option<String> {
        let v: Value = serde_json::from_str(text).ok()?;
        (Shape::sniff(&v)? == Shape::EvtxJson).then(|| format!("{:?}", Shape::EvtxJson.to_raw(&v)))
    }

    /// The fast reader answers only where the whole-record path reads an `evtx_dump` record, and
    /// then with the same record, field for field.
    fn same(text: &str) -> bool {
        match read(text) {
            Some(raw) => {
                assert_eq!(Some(format!("{:?}", Some(raw))), slow(text), "{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn reads_what_the_value_path_reads() {
        let taken = [
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"P"}},"EventID":4624,"EventRecordID":7,"TimeCreated":{"#attributes":{"SystemTime":"2024-11-05T08:01:25.000000Z"}},"Execution":{"#attributes":{"ProcessID":700,"ThreadID":4}},"Security":{"#attributes":{"UserID":"S-1-5-18"}},"Channel":"Security","Computer":"a.corp"},"EventData":{"LogonType":3,"IpAddress":"10.0.0.1","Elevated":true,"Ratio":1.50,"Neg":-4,"Empty":null,"x_attributes":"skipped","Esc":"a\"b\\c\u00e9\ud83d\ude00"}}}"##,
            r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System","Computer":"b","TimeCreated":{"#attributes":{"SystemTime":1600000000.5}}},"EventData":null}}"##,
            r#"{"Event":{"System":{"EventID":"1","EventID":"3","Channel":["Microsoft-Windows-Sysmon/Operational"],"Computer":{"Value":"c"},"TimeCreated":{"SystemTime":"2020-01-01 00:00:00"},"Provider_attributes":{"Name":"x"},"Provider":{"Name_attributes":"y"}},"Other":[1,{"a":2}]},"x":1}"#,
            r##"{"Event":{"EventData":{"A":"1"},"System":{"EventID":4688,"Channel":"Security","Computer":"d","TimeCreated":{"#attributes":{"SystemTime":"bad"}}}}}"##,
        ];
        for t in taken {
            assert!(same(t), "not taken: {t}");
        }
        let aside = [
            // Not a record in either path (an unreadable event id).
            r#"{"Event":{"System":{"EventID":"x","Channel":"Security"}}}"#,
            // Another shape, damaged JSON, or something the fast reader leaves to the other path.
            r#"{"System":{"EventID":4624,"Channel":"Security"},"EventData":{"A":"1"}}"#,
            r#"{"Event":{"System":{"EventID":4624}},"Event":{"System":{"EventID":4625}}}"#,
            r##"{"Event":{"System":{"EventID":4624},"EventData":{"Data":[{"#text":"a"}]}}}"##,
            r##"{"Event":{"System":{"EventID":4624},"EventData":{"A":{"#text":"a"}}}}"##,
            r#"{"Event":{"System":{"EventID":4624},"EventData":{"A":"1","A":"2"}}}"#,
            r#"{"Event":{"System":{"EventID":4624},"UserData":{"X":{"A":"1"}}}}"#,
            r#"{"Event":{"System":{"EventID":4624},"EventData":"text"}}"#,
            r#"{"Event":{"System":5}}"#,
            r#"{"Event":{"System":{"EventID":4624}}} trailing"#,
            r#"{"Event":{"System":{"EventID":4624}"#,
        ];
        for t in aside {
            assert!(read(t).is_none(), "taken: {t}");
        }
    }

    /// Every line of the demo case and every record of the corpus's JSON files.
    #[test]
    fn corpus_and_demo_records_read_alike() {
        let (mut taken, mut evtx_shaped) = (0, 0);
        let mut texts: Vec<String> = Vec::new();
        let demo = crate::demo::generate(&crate::demo::DemoOptions::default());
        texts.extend(
            demo.files
                .iter()
                .flat_map(|(_, recs)| recs.iter().map(ToString::to_string)),
        );
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dev/json");
        for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            texts.extend(text.lines().map(str::to_string));
        }
        for t in &texts {
            taken += usize::from(same(t.trim()));
            evtx_shaped += usize::from(slow(t.trim()).is_some());
        }
        assert!(
            evtx_shaped > 1000 && taken == evtx_shaped,
            "{taken} of {evtx_shaped} taken"
        );
    }
}
