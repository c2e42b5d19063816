//! The PySpark job: `assets/spark_job.py` with the profile, allow-list, scoring weights and tool
//! patterns written into its `CONFIG`. It reads tables from `svchop normalize` and writes
//! findings as JSON lines in svchop's finding schema (the same ids, hosts and scores as
//! `svchop scan` with the same profile and allow-list).

use super::{RuleError, RuleModel};
use crate::detect::Detector;
use crate::detect::assets::glob_to_regex;
use crate::model::row::COLUMNS;
use regex::Regex;
use serde_json::{Value, json};

const TEMPLATE: &str = include_str!("../../assets/spark_job.py");
const SLOT: &str = "__SVCHOP_CONFIG__";
/// The table reader both jobs share (the documented schema, Parquet or JSON lines parts), written
/// into each job in place of its slot line.
const TABLES: &str = include_str!("../../assets/spark_tables.py");
const TABLES_SLOT: &str = "__SVCHOP_TABLES__\n";

/// The table's columns with their Spark types, for a job's `CONFIG`.
pub(super) fn columns() -> Vec<Value> {
    COLUMNS
        .iter()
        .map(|(n, t, _)| json!({"name": n, "type": t.label()}))
        .collect()
}

/// A job `template` with its configuration and the shared table reader written in.
pub(super) fn fill(template: &str, cfg: &Value) -> String {
    let cfg = serde_json::to_string_pretty(cfg).unwrap_or_default();
    // The JSON sits in a raw triple-quoted Python string: no `"""` may appear inside (JSON
    // never writes three quotes in a row, but make it impossible), and `\` stays as written.
    let cfg = cfg.replace("\"\"\"", "\"\\u0022\"");
    template
        .replacen(SLOT, &cfg, 1)
        .replacen(TABLES_SLOT, TABLES, 1)
}

/// A regex in Python's `re` dialect with Rust's meaning: `$` (unescaped) only at the very end.
pub fn python_regex(rust: &str) -> String {
    end_anchor(rust, "\\Z")
}

/// A glob as a Java regex (Spark `rlike`) with Rust's meaning: Unicode case folding, only `\n`
/// ends a line, `$` only at the very end.
pub fn java_glob(glob: &str) -> String {
    format!("(?iud){}", end_anchor(&glob_to_regex(glob), "\\z"))
}

fn end_anchor(re: &str, with: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    let mut in_class = false;
    for c in re.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str(with),
            c => out.push(c),
        }
    }
    out
}

fn sources(rs: &[Regex]) -> Vec<String> {
    rs.iter().map(|r| python_regex(r.as_str())).collect()
}

/// What the job needs to read a service's command as svchop does (`normalize_command`): the
/// variables it expands and the shell paths it reduces to bare names.
fn command_forms() -> Value {
    use crate::detect::patterns::{COMMAND_VARS, SHELL_PATH_RE};
    json!({
        "vars": COMMAND_VARS.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "shell_path": python_regex(SHELL_PATH_RE),
    })
}

fn config(m: &RuleModel, d: &Detector) -> Value {
    let p = &d.profile;
    let w = &d.weights;
    let install_sources: Vec<&str> = p
        .install
        .sources
        .iter()
        .map(|s| match s {
            crate::detect::profile::InstallSource::Security4697 => "4697",
            crate::detect::profile::InstallSource::System7045 => "7045",
            crate::detect::profile::InstallSource::SysmonRegistry => "sysmon",
            crate::detect::profile::InstallSource::Defender => "defender",
        })
        .collect();
    json!({
        "profile": p.name,
        "title": p.title,
        "columns": columns(),
        "same_host": m.same_host,
        "window_ns": m.window.map(|s| s.saturating_mul(1_000_000_000)),
        "logon": {
            "event_ids": p.logon.event_ids,
            "logon_types": p.logon.logon_types,
            "exclude_source_ips": p.logon.exclude_source_ips,
            "require_source_ip": p.logon.require_source_ip,
            "exclude_machine_accounts": p.logon.exclude_machine_accounts,
        },
        "install": {
            "sources": install_sources,
            "exclude_subject_logon_ids": m.exclude_subject_logon_ids,
            "exclude_image_regexes": m.exclude_image_globs.iter().map(|g| java_glob(g)).collect::<Vec<_>>(),
            "exclude_service_names": m.exclude_service_names,
        },
        "weights": {
            "base": {"three_or_more": w.base.three_or_more, "two": w.base.two, "one": w.base.one, "none": w.base.none},
            "service": {
                "suspicious": w.service.suspicious,
                "many": w.service.many,
                "other": w.service.other,
                "suspicious_patterns": w.service.suspicious_patterns,
            },
            "tool": {"known": w.tool.known, "any": w.tool.any, "none": w.tool.none},
            "severity": {"critical": w.severity.critical, "high": w.severity.high, "medium": w.severity.medium},
            "recommendation": {
                "critical": w.recommendation.critical,
                "high": w.recommendation.high,
                "medium": w.recommendation.medium,
                "low": w.recommendation.low,
            },
            "technique": w.technique,
        },
        "tools": d.patterns.tools.iter().map(|t| json!({
            "id": t.id,
            "service_names": sources(&t.service_names),
            "images": sources(&t.images),
            "commands": sources(&t.commands),
            "all": t.all,
        })).collect::<Vec<_>>(),
        "getsystem_images": sources(&d.patterns.getsystem_images),
        "command_forms": command_forms(),
        "allowlist": d.allowlist.entries.iter().map(|e| json!({
            "field": e.spec.field.label(),
            "pattern": e.spec.pattern,
            "reason": e.spec.reason,
            "origin": e.origin,
            // Every condition of the entry (its own, then each `and`): image paths are matched
            // on the table's `service_image_exe`, normalized as svchop normalizes them.
            "tests": e.tests().map(|(f, re)| json!({
                "field": f.label(),
                "regex": python_regex(re),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

pub fn write(m: &RuleModel, d: &Detector) -> Result<String, RuleError> {
    if d.profile.origin.local_cap.is_some() || d.profile.origin.unknown_penalty.is_some() {
        return Err(RuleError::OriginRule(d.profile.name.clone()));
    }
    Ok(fill(TEMPLATE, &config(m, d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_mean_the_end() {
        assert_eq!(python_regex("(?i)^PSEXESVC$"), "(?i)^PSEXESVC\\Z");
        assert_eq!(
            python_regex(r"^\\\\\*\\(ADMIN\$|C\$)$"),
            r"^\\\\\*\\(ADMIN\$|C\$)\Z"
        );
        assert_eq!(python_regex("[$]x$"), "[$]x\\Z");
        assert_eq!(java_glob("?:\\a\\*.exe"), "(?iud)^.:\\\\a\\\\.*\\.exe\\z");
    }
}
