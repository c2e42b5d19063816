//! One event as a flat row of documented columns ([`COLUMNS`]): what `svchop normalize` writes,
//! what the fleet phases pass between processes and what the Spark job reads.

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

/// Text of a field as the row borrows it, by its kind in the table.
macro_rules! row_value {
    (text, $v:expr) => {
        $v.as_deref()
    };
    ($other:ident, $v:expr) => {
        $v
    };
}

/// The type of a field's column in `Row`, by its kind in the table.
macro_rules! row_type {
    ('a, text, $ty:ty) => {
        Option<&'a str>
    };
    ('a, $other:ident, $ty:ty) => {
        Option<$ty>
    };
}

/// The columns, the row and its filling: the fields every event has, written here, then the
/// typed field groups of `model::typed`, each field followed by the columns computed from it.
macro_rules! row_schema {
    ($( $group:ident : $T:ident {
        $( $(#[$doc:meta])* $f:ident : $kind:ident ($ty:ty) as $col:ident, $ct:ident, $desc:literal
           $( + [$dcol:ident, $dct:ident, $ddesc:literal, $dfn:path] )* ; )*
    } )*) => {
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
            $( $(
                (stringify!($col), ColType::$ct, $desc),
                $( (stringify!($dcol), ColType::$dct, $ddesc), )*
            )* )*
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
            $( $(
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $col: row_type!('a, $kind, $ty),
                $(
                    #[serde(skip_serializing_if = "Option::is_none")]
                    pub $dcol: Option<String>,
                )*
            )* )*
        }

        /// The row of one event.
        pub fn row(seq: u64, e: &Event) -> Row<'_> {
            let f = &e.fields;
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
                $( $(
                    $col: row_value!($kind, f.$group.$f),
                    $( $dcol: f.$group.$f.as_deref().map($dfn), )*
                )* )*
            }
        }
    };
}
super::typed::typed_groups!(row_schema);
