//! The normalized event table (`svchop normalize`): one flat JSON object per event, in a documented
//! schema that data-lake engines (Spark, `DuckDB`, Athena) read as a table. The Spark job that
//! `svchop rules export --to spark` writes reads exactly these columns ([`COLUMNS`]).

use crate::model::Event;
use serde::Serialize;

pub use crate::model::row::{COLUMNS, ColType, Row, SCHEMA_VERSION, row};

/// Rows per part file: parts let Spark read a table in parallel.
pub const ROWS_PER_PART: usize = 500_000;

/// What `svchop normalize` wrote.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    pub schema_version: u32,
    pub svchop_version: &'static str,
    pub rows: usize,
    pub parts: Vec<String>,
    pub sources: Vec<String>,
    pub columns: Vec<serde_json::Value>,
}

pub const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "svchop-normalized-events";

/// How the table's parts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TableFormat {
    /// JSON lines (`events-NNNNN.jsonl`).
    #[default]
    Jsonl,
    /// Apache Parquet, Snappy-compressed (`events-NNNNN.parquet`): what a data lake holds.
    Parquet,
}

impl TableFormat {
    fn extension(self) -> &'static str {
        match self {
            TableFormat::Jsonl => "jsonl",
            TableFormat::Parquet => "parquet",
        }
    }
}

/// Whether `name` is a part file of a table (either format).
fn is_part(name: &str) -> bool {
    name.starts_with("events-")
        && std::path::Path::new(name)
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("jsonl") || x.eq_ignore_ascii_case("parquet"))
}

/// One part file being written.
enum Part {
    Jsonl(std::io::BufWriter<std::fs::File>),
    Parquet(Box<parquet_part::Writer>),
}

impl Part {
    fn create(path: &std::path::Path, format: TableFormat) -> anyhow::Result<Part> {
        use anyhow::Context;
        let f = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(match format {
            TableFormat::Jsonl => Part::Jsonl(std::io::BufWriter::with_capacity(1 << 20, f)),
            TableFormat::Parquet => Part::Parquet(Box::new(parquet_part::Writer::new(f)?)),
        })
    }

    fn push(&mut self, row: &Row<'_>) -> anyhow::Result<()> {
        use std::io::Write;
        match self {
            Part::Jsonl(w) => {
                let line = crate::model::sanitize::for_json(serde_json::to_string(row)?);
                w.write_all(line.as_bytes())?;
                w.write_all(b"\n")?;
            }
            Part::Parquet(w) => w.push(serde_json::to_value(row)?)?,
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        use std::io::Write;
        match self {
            Part::Jsonl(mut w) => w.flush()?,
            Part::Parquet(w) => w.finish()?,
        }
        Ok(())
    }
}

/// Parquet parts written with the parquet crate's own column writers (no Arrow in the build):
/// the documented columns, every one optional, strings as UTF-8 byte arrays, Snappy-compressed.
mod parquet_part {
    use super::{COLUMNS, ColType};
    use parquet::basic::Compression;
    use parquet::column::writer::ColumnWriter;
    use parquet::data_type::ByteArray;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use serde_json::Value;
    use std::sync::Arc;

    /// Rows per row group.
    const BATCH: usize = 1 << 16;

    pub struct Writer {
        out: SerializedFileWriter<std::fs::File>,
        rows: Vec<Value>,
    }

    /// The table's schema as a Parquet message type.
    pub fn message_type() -> String {
        let fields: Vec<String> = COLUMNS
            .iter()
            .map(|(n, t, _)| {
                let ty = match t {
                    ColType::String => "BYTE_ARRAY",
                    ColType::Long => "INT64",
                    ColType::Int => "INT32",
                    ColType::Bool => "BOOLEAN",
                };
                let annotation = if matches!(t, ColType::String) {
                    " (STRING)"
                } else {
                    ""
                };
                format!("  OPTIONAL {ty} {n}{annotation};")
            })
            .collect();
        format!("message svchop_events {{\n{}\n}}", fields.join("\n"))
    }

    impl Writer {
        pub fn new(f: std::fs::File) -> anyhow::Result<Self> {
            let schema = Arc::new(parquet::schema::parser::parse_message_type(&message_type())?);
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            Ok(Writer {
                out: SerializedFileWriter::new(f, schema, Arc::new(props))?,
                rows: Vec::with_capacity(BATCH),
            })
        }

        pub fn push(&mut self, row: Value) -> anyhow::Result<()> {
            self.rows.push(row);
            if self.rows.len() >= BATCH {
                self.flush()?;
            }
            Ok(())
        }

        /// The buffered rows as one row group, column by column: the values present, and a
        /// definition level per row (1 present, 0 null).
        fn flush(&mut self) -> anyhow::Result<()> {
            if self.rows.is_empty() {
                return Ok(());
            }
            let rows = std::mem::take(&mut self.rows);
            let mut group = self.out.next_row_group()?;
            for (name, _, _) in COLUMNS {
                let Some(mut col) = group.next_column()? else {
                    anyhow::bail!("parquet: no column for {name}");
                };
                let cells: Vec<Option<&Value>> = rows.iter().map(|r| r.get(*name)).collect();
                match col.untyped() {
                    ColumnWriter::ByteArrayColumnWriter(w) => {
                        let (vals, defs) = levels(&cells, |v| {
                            v.as_str().map(|s| ByteArray::from(s.as_bytes().to_vec()))
                        });
                        w.write_batch(&vals, Some(&defs), None)?;
                    }
                    ColumnWriter::Int64ColumnWriter(w) => {
                        let (vals, defs) = levels(&cells, Value::as_i64);
                        w.write_batch(&vals, Some(&defs), None)?;
                    }
                    ColumnWriter::Int32ColumnWriter(w) => {
                        let (vals, defs) =
                            levels(&cells, |v| v.as_i64().and_then(|x| i32::try_from(x).ok()));
                        w.write_batch(&vals, Some(&defs), None)?;
                    }
                    ColumnWriter::BoolColumnWriter(w) => {
                        let (vals, defs) = levels(&cells, Value::as_bool);
                        w.write_batch(&vals, Some(&defs), None)?;
                    }
                    _ => anyhow::bail!("parquet: column {name} has a type svchop does not write"),
                }
                col.close()?;
            }
            group.close()?;
            Ok(())
        }

        pub fn finish(mut self) -> anyhow::Result<()> {
            self.flush()?;
            self.out.close()?;
            Ok(())
        }
    }

    /// The values present and each row's definition level.
    fn levels<T>(
        cells: &[Option<&Value>],
        get: impl Fn(&Value) -> Option<T>,
    ) -> (Vec<T>, Vec<i16>) {
        let mut vals = Vec::with_capacity(cells.len());
        let defs = cells
            .iter()
            .map(|c| match c.and_then(&get) {
                Some(x) => {
                    vals.push(x);
                    1
                }
                None => 0,
            })
            .collect();
        (vals, defs)
    }
}

/// Writes the table into `dir`: `events-NNNNN.jsonl` (or `.parquet`) parts, then
/// `manifest.json` last (a table without a manifest is incomplete). Parts an earlier run left in
/// `dir` are removed first; a folder that holds other files and no svchop manifest is refused.
pub fn write_table<E: std::borrow::Borrow<Event>>(
    events: impl Iterator<Item = E>,
    dir: &std::path::Path,
    sources: Vec<String>,
    format: TableFormat,
) -> anyhow::Result<Manifest> {
    use anyhow::{Context, bail};
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut old_parts = Vec::new();
    let mut foreign = 0usize;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_part(&name) {
            old_parts.push(entry.path());
        } else if name != MANIFEST {
            foreign += 1;
        }
    }
    let ours = std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["format"] == FORMAT);
    if (foreign > 0 || !old_parts.is_empty()) && !ours {
        bail!(
            "{} is not empty and holds no svchop table: choose an empty or new folder",
            dir.display()
        );
    }
    let _ = std::fs::remove_file(dir.join(MANIFEST));
    for p in old_parts {
        std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
    }
    let mut parts = Vec::new();
    let mut rows = 0usize;
    let mut out: Option<Part> = None;
    for e in events {
        let e = e.borrow();
        if rows.is_multiple_of(ROWS_PER_PART) {
            if let Some(w) = out.take() {
                w.finish()?;
            }
            let name = format!("events-{:05}.{}", parts.len(), format.extension());
            out = Some(Part::create(&dir.join(&name), format)?);
            parts.push(name);
        }
        if let Some(w) = out.as_mut() {
            w.push(&row(rows as u64, e))?;
        }
        rows += 1;
    }
    if let Some(w) = out.take() {
        w.finish()?;
    }
    let manifest = Manifest {
        format: FORMAT,
        schema_version: SCHEMA_VERSION,
        svchop_version: env!("CARGO_PKG_VERSION"),
        rows,
        parts,
        sources,
        columns: COLUMNS
            .iter()
            .map(|(n, t, w)| serde_json::json!({"name": n, "type": t.label(), "meaning": w}))
            .collect(),
    };
    std::fs::write(
        dir.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit;
    use crate::model::Channel;

    #[test]
    fn every_written_key_is_a_documented_column() {
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
        // An event with every typed field set writes every column.
        let mut e = testkit::ev("PC01", 0, Channel::Security, 4624)
            .logon(0x95c2e, 3, "10.0.0.5", "alice", "S-1-5-21-1")
            .subject(0x3e7, "PC01$", "S-1-5-18")
            .service("PSEXESVC", "%SystemRoot%\\PSEXESVC.exe")
            .share("\\\\*\\ADMIN$", "PSEXESVC.exe", "%%4417", "10.0.0.5")
            .user_sid("S-1-5-21-2")
            .done();
        e.provider = Some("p".into());
        let f = &mut e.fields;
        let s = || Some(std::sync::Arc::<str>::from("x"));
        f.logon.workstation = s();
        f.logon.auth_package = s();
        f.logon.logon_process = s();
        f.service.account = s();
        f.service.service_type = s();
        f.service.start_type = s();
        f.service.key_name = s();
        f.service.state = s();
        f.process.image = s();
        f.process.command_line = s();
        f.process.pid = Some(1);
        f.process.parent_image = s();
        f.process.parent_command_line = s();
        f.process.parent_pid = Some(2);
        f.process.user = s();
        f.share.access_mask = Some(2);
        f.share.pipe_name = s();
        f.share.file_path = s();
        f.net.src_port = Some(1);
        f.net.src_host = s();
        f.net.dst_ip = s();
        f.net.dst_port = Some(445);
        f.net.dst_host = s();
        f.net.initiated = Some(true);
        f.registry.event_type = s();
        f.registry.target_object = s();
        f.registry.details = s();
        e.source.record_id = Some(7);
        e.source.line = Some(3);
        e.fields.exec_pid = Some(600);
        let v = serde_json::to_value(row(0, &e)).unwrap_or_default();
        let keys: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for k in &keys {
            assert!(names.contains(&k.as_str()), "undocumented column {k}");
        }
        for n in &names {
            assert!(keys.iter().any(|k| k == n), "column {n} is never written");
        }
    }

    #[test]
    fn a_parquet_table_holds_every_row_in_the_documented_columns() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::record::RowAccessor;
        let events =
            crate::demo::events(&crate::demo::generate(&crate::demo::DemoOptions::default()));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let m = write_table(events.iter(), dir.path(), Vec::new(), TableFormat::Parquet)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.parts, vec!["events-00000.parquet".to_string()]);
        let f = std::fs::File::open(dir.path().join(&m.parts[0])).unwrap_or_else(|e| panic!("{e}"));
        let reader = SerializedFileReader::new(f).unwrap_or_else(|e| panic!("{e}"));
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let names: Vec<String> = schema
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let want: Vec<String> = COLUMNS.iter().map(|c| c.0.to_string()).collect();
        assert_eq!(names, want);
        let at = |name: &str| names.iter().position(|n| n == name).unwrap_or(usize::MAX);
        let (seq, id, ts) = (at("seq"), at("event_id"), at("ts"));
        let mut rows = 0;
        for row in reader.get_row_iter(None).unwrap_or_else(|e| panic!("{e}")) {
            let row = row.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(row.get_long(seq).ok(), i64::try_from(rows).ok());
            assert_eq!(row.get_int(id).ok(), Some(i32::from(events[rows].event_id)));
            assert!(row.get_string(ts).is_ok_and(|t| t.starts_with('2')));
            rows += 1;
        }
        assert_eq!(rows, events.len());
        assert_eq!(rows, m.rows);
    }

    #[test]
    fn columns_are_unique() {
        let mut names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }
}
