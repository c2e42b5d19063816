//! The normalized event table (`svchop normalize`): one flat JSON object per event, in a documented
//! schema that data-lake engines (Spark, `DuckDB`, Athena) read as a table. The Spark job that
//! `svchop rules export --to spark` writes reads exactly these columns ([`COLUMNS`]).

use crate::detect::build::image_for_match;
use crate::detect::patterns::normalize_percent;
use crate::model::Event;
use crate::model::describe::summary;
use serde::Serialize;

/// Schema version written in every manifest; bump when a column changes meaning.
pub const SCHEMA_VERSION: u32 = 2;

/// Column type in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    String,
    Long,
    Int,
    Bool,
}

impl ColType {
    pub fn label(self) -> &'static str {
        match self {
            ColType::String => "string",
            ColType::Long => "long",
            ColType::Int => "int",
            ColType::Bool => "boolean",
        }
    }
}

/// Every column of the table: name, type, meaning. The order is the documented order.
pub const COLUMNS: &[(&str, ColType, &str)] = &[
    (
        "ts",
        ColType::String,
        "event time, RFC 3339 UTC (as svchop's finding schema writes it)",
    ),
    (
        "seq",
        ColType::Long,
        "row number in svchop's order (host, then time): a stable tie-break",
    ),
    (
        "ts_ns",
        ColType::Long,
        "event time, nanoseconds since 1970-01-01 UTC (use for windows)",
    ),
    (
        "host_key",
        ColType::String,
        "host as svchop matches it: upper-case short name or IP",
    ),
    ("host", ColType::String, "host name as the log wrote it"),
    (
        "channel",
        ColType::String,
        "Security, System, Microsoft-Windows-Sysmon/Operational, Defender, or as read",
    ),
    ("event_id", ColType::Int, "event id"),
    ("provider", ColType::String, "provider name"),
    (
        "evidence",
        ColType::String,
        "where the record is: file#record=N or file:line",
    ),
    (
        "record_id",
        ColType::Long,
        "record id in the file, when the format has one",
    ),
    (
        "source_file",
        ColType::String,
        "the evidence file the record was read from",
    ),
    (
        "source_line",
        ColType::Long,
        "line of the record in a JSON file, when it has one",
    ),
    (
        "exec_pid",
        ColType::Long,
        "System/Execution/@ProcessID (for SCM events, services.exe)",
    ),
    ("summary", ColType::String, "one-line description"),
    (
        "logon_id",
        ColType::String,
        "session of the event: TargetLogonId of a logon, SubjectLogonId otherwise (0x hex)",
    ),
    (
        "subject_logon_id",
        ColType::String,
        "SubjectLogonId (0x hex)",
    ),
    ("subject_user", ColType::String, "SubjectUserName"),
    ("subject_domain", ColType::String, "SubjectDomainName"),
    ("subject_sid", ColType::String, "SubjectUserSid"),
    ("target_user", ColType::String, "TargetUserName"),
    ("target_domain", ColType::String, "TargetDomainName"),
    ("target_sid", ColType::String, "TargetUserSid"),
    (
        "user_sid",
        ColType::String,
        "System/Security/@UserID (7045: the installing account)",
    ),
    ("logon_type", ColType::Int, "LogonType"),
    ("workstation", ColType::String, "WorkstationName"),
    ("auth_package", ColType::String, "AuthenticationPackageName"),
    ("logon_process", ColType::String, "LogonProcessName"),
    ("service_name", ColType::String, "ServiceName"),
    (
        "service_image_path",
        ColType::String,
        "ServiceFileName / ImagePath as written",
    ),
    (
        "service_image_norm",
        ColType::String,
        "image path with %% folded to % (what tool patterns match)",
    ),
    (
        "service_image_exe",
        ColType::String,
        "executable of the image path, lower-case, quotes and arguments dropped (allow-list match)",
    ),
    (
        "service_account",
        ColType::String,
        "ServiceAccount / AccountName",
    ),
    ("service_type", ColType::String, "ServiceType"),
    ("service_start_type", ColType::String, "StartType"),
    (
        "service_key_name",
        ColType::String,
        "service key name when apart from the display name",
    ),
    (
        "service_state",
        ColType::String,
        "7036 state or 7000/7009 text",
    ),
    ("process_image", ColType::String, "Image / NewProcessName"),
    ("process_command_line", ColType::String, "CommandLine"),
    ("process_pid", ColType::Long, "ProcessId"),
    (
        "parent_image",
        ColType::String,
        "ParentImage / ParentProcessName",
    ),
    ("parent_command_line", ColType::String, "ParentCommandLine"),
    ("parent_pid", ColType::Long, "ParentProcessId"),
    ("process_user", ColType::String, "user the process runs as"),
    ("share_name", ColType::String, "ShareName"),
    (
        "share_relative_target",
        ColType::String,
        "RelativeTargetName",
    ),
    ("share_access_list", ColType::String, "AccessList"),
    ("share_access_mask", ColType::Long, "AccessMask"),
    ("pipe_name", ColType::String, "PipeName"),
    (
        "file_path",
        ColType::String,
        "TargetFilename (Sysmon 11/23/26)",
    ),
    ("src_ip", ColType::String, "IpAddress / SourceIp"),
    ("src_port", ColType::Int, "IpPort / SourcePort"),
    ("src_host", ColType::String, "source host name"),
    ("dst_ip", ColType::String, "DestinationIp"),
    ("dst_port", ColType::Int, "DestinationPort"),
    ("dst_host", ColType::String, "DestinationHostname"),
    ("initiated", ColType::Bool, "Sysmon 3 Initiated"),
    (
        "registry_event_type",
        ColType::String,
        "Sysmon 13 EventType",
    ),
    (
        "registry_target_object",
        ColType::String,
        "Sysmon 13 TargetObject",
    ),
    ("registry_details", ColType::String, "Sysmon 13 Details"),
];

/// One row of the table. `None` columns are left out of the JSON object (read as null).
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub ts: String,
    pub seq: u64,
    pub ts_ns: i64,
    pub host_key: &'a str,
    pub host: &'a str,
    pub channel: &'a str,
    pub event_id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'a str>,
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    pub source_file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_pid: Option<u32>,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_logon_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_package: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_process: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_image_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_image_norm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_image_exe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_start_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_key_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_command_line: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_command_line: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_relative_target: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_access_list: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_access_mask: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipe_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_event_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_target_object: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_details: Option<&'a str>,
}

/// The row of one event.
pub fn row(seq: u64, e: &Event) -> Row<'_> {
    let f = &e.fields;
    let image = f.service.image_path.as_deref();
    Row {
        // The same text as svchop's finding schema writes times in.
        ts: serde_json::to_value(e.ts)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        seq,
        ts_ns: e.ts.timestamp_nanos_opt().unwrap_or(i64::MIN),
        host_key: &e.host.key,
        host: &e.host.display,
        channel: e.channel.name(),
        event_id: e.event_id,
        provider: e.provider.as_deref(),
        evidence: e.source.to_string(),
        record_id: e.source.record_id,
        source_file: &e.source.file,
        source_line: e.source.line,
        exec_pid: f.exec_pid,
        summary: summary(e),
        logon_id: f.logon_id.map(|l| l.to_string()),
        subject_logon_id: f.subject_logon_id.map(|l| l.to_string()),
        subject_user: f.subject.user.as_deref(),
        subject_domain: f.subject.domain.as_deref(),
        subject_sid: f.subject.sid.as_deref(),
        target_user: f.target.user.as_deref(),
        target_domain: f.target.domain.as_deref(),
        target_sid: f.target.sid.as_deref(),
        user_sid: f.user_sid.as_deref(),
        logon_type: f.logon.logon_type,
        workstation: f.logon.workstation.as_deref(),
        auth_package: f.logon.auth_package.as_deref(),
        logon_process: f.logon.logon_process.as_deref(),
        service_name: f.service.name.as_deref(),
        service_image_path: image,
        service_image_norm: image.map(normalize_percent),
        service_image_exe: image.map(image_for_match),
        service_account: f.service.account.as_deref(),
        service_type: f.service.service_type.as_deref(),
        service_start_type: f.service.start_type.as_deref(),
        service_key_name: f.service.key_name.as_deref(),
        service_state: f.service.state.as_deref(),
        process_image: f.process.image.as_deref(),
        process_command_line: f.process.command_line.as_deref(),
        process_pid: f.process.pid,
        parent_image: f.process.parent_image.as_deref(),
        parent_command_line: f.process.parent_command_line.as_deref(),
        parent_pid: f.process.parent_pid,
        process_user: f.process.user.as_deref(),
        share_name: f.share.share_name.as_deref(),
        share_relative_target: f.share.relative_target.as_deref(),
        share_access_list: f.share.access_list.as_deref(),
        share_access_mask: f.share.access_mask,
        pipe_name: f.share.pipe_name.as_deref(),
        file_path: f.share.file_path.as_deref(),
        src_ip: f.net.src_ip.as_deref(),
        src_port: f.net.src_port,
        src_host: f.net.src_host.as_deref(),
        dst_ip: f.net.dst_ip.as_deref(),
        dst_port: f.net.dst_port,
        dst_host: f.net.dst_host.as_deref(),
        initiated: f.net.initiated,
        registry_event_type: f.registry.event_type.as_deref(),
        registry_target_object: f.registry.target_object.as_deref(),
        registry_details: f.registry.details.as_deref(),
    }
}

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
        && std::path::Path::new(name).extension().is_some_and(|x| {
            x.eq_ignore_ascii_case("jsonl") || x.eq_ignore_ascii_case("parquet")
        })
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

/// Parquet parts: rows gathered into Arrow record batches of the documented columns.
mod parquet_part {
    use super::{COLUMNS, ColType};
    use arrow_array::{ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;
    use serde_json::Value;
    use std::sync::Arc;

    /// Rows per record batch (row group pieces).
    const BATCH: usize = 1 << 16;

    pub struct Writer {
        out: ArrowWriter<std::fs::File>,
        schema: Arc<Schema>,
        rows: Vec<Value>,
    }

    pub fn schema() -> Schema {
        Schema::new(
            COLUMNS
                .iter()
                .map(|(n, t, _)| {
                    let dt = match t {
                        ColType::String => DataType::Utf8,
                        ColType::Long => DataType::Int64,
                        ColType::Int => DataType::Int32,
                        ColType::Bool => DataType::Boolean,
                    };
                    Field::new(*n, dt, true)
                })
                .collect::<Vec<_>>(),
        )
    }

    impl Writer {
        pub fn new(f: std::fs::File) -> anyhow::Result<Self> {
            let schema = Arc::new(schema());
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            Ok(Writer {
                out: ArrowWriter::try_new(f, Arc::clone(&schema), Some(props))?,
                schema,
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

        fn flush(&mut self) -> anyhow::Result<()> {
            if self.rows.is_empty() {
                return Ok(());
            }
            let rows = std::mem::take(&mut self.rows);
            let get = |name: &'static str| rows.iter().map(move |r| r.get(name));
            let columns: Vec<ArrayRef> = COLUMNS
                .iter()
                .map(|(n, t, _)| -> ArrayRef {
                    match t {
                        ColType::String => Arc::new(
                            get(n)
                                .map(|v| v.and_then(Value::as_str))
                                .collect::<StringArray>(),
                        ),
                        ColType::Long => Arc::new(
                            get(n)
                                .map(|v| v.and_then(Value::as_i64))
                                .collect::<Int64Array>(),
                        ),
                        ColType::Int => Arc::new(
                            get(n)
                                .map(|v| {
                                    v.and_then(Value::as_i64)
                                        .and_then(|x| i32::try_from(x).ok())
                                })
                                .collect::<Int32Array>(),
                        ),
                        ColType::Bool => Arc::new(
                            get(n)
                                .map(|v| v.and_then(Value::as_bool))
                                .collect::<BooleanArray>(),
                        ),
                    }
                })
                .collect();
            let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
            self.out.write(&batch)?;
            Ok(())
        }

        pub fn finish(mut self) -> anyhow::Result<()> {
            self.flush()?;
            self.out.close()?;
            Ok(())
        }
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
        use arrow_array::Array;
        let events = crate::demo::events(&crate::demo::generate(
            &crate::demo::DemoOptions::default(),
        ));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let m = write_table(events.iter(), dir.path(), Vec::new(), TableFormat::Parquet)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.parts, vec!["events-00000.parquet".to_string()]);
        let f = std::fs::File::open(dir.path().join(&m.parts[0])).unwrap_or_else(|e| panic!("{e}"));
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                .and_then(parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::build)
                .unwrap_or_else(|e| panic!("{e}"));
        let mut rows = 0;
        for batch in reader {
            let batch = batch.unwrap_or_else(|e| panic!("{e}"));
            let names: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let want: Vec<String> = COLUMNS.iter().map(|c| c.0.to_string()).collect();
            assert_eq!(names, want);
            let seq = batch
                .column_by_name("seq")
                .and_then(|c| c.as_any().downcast_ref::<arrow_array::Int64Array>())
                .unwrap_or_else(|| panic!("seq column"));
            assert!(seq.null_count() == 0);
            assert_eq!(seq.value(0), i64::try_from(rows).unwrap_or(-1));
            let ids = batch
                .column_by_name("event_id")
                .and_then(|c| c.as_any().downcast_ref::<arrow_array::Int32Array>())
                .unwrap_or_else(|| panic!("event_id column"));
            assert_eq!(ids.value(0), i32::from(events[rows].event_id));
            rows += batch.num_rows();
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
