//! One event as a flat row of documented columns ([`COLUMNS`]): what `svchop normalize` writes,
//! what the fleet phases pass between processes and what the Spark job reads.

use crate::model::Event;
use crate::model::describe::summary;
use crate::model::winpath::{image_for_match, normalize_percent};
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
