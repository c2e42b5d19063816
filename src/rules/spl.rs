//! SPL for Splunk (Windows events in XML rendering: `XmlWinEventLog`, fields named as in the
//! event's EventData): network logons and service installs in one search, ordered per logon
//! session, each install kept when a logon of its session came within the window before it.

use super::{RuleModel, dq as s, dq_list as list, glob_alternation, host_globs, printable};
use std::fmt::Write as _;

/// `NOT` a case-insensitive whole-value glob match; a missing field never matches.
fn not_glob(field: &str, globs: &[String]) -> String {
    format!(
        "NOT (isnotnull({field}) AND match({field}, {}))",
        s(&glob_alternation(globs))
    )
}

fn logon_terms(m: &RuleModel) -> Vec<String> {
    let types: Vec<String> = m.logon_types.iter().map(ToString::to_string).collect();
    let mut t = vec![
        "EventCode==4624".to_string(),
        format!("in(LogonType, {})", list(&types)),
    ];
    if !m.exclude_source_ips.is_empty() {
        t.push(format!(
            "NOT (isnotnull(IpAddress) AND in(IpAddress, {}))",
            list(&m.exclude_source_ips)
        ));
    }
    if m.require_source_ip {
        t.push("isnotnull(IpAddress) AND IpAddress!=\"\" AND IpAddress!=\"-\"".into());
    }
    if m.exclude_machine_accounts {
        t.push("NOT like(TargetUserName, \"%$\")".into());
    }
    if !m.allow.source_ips.is_empty() {
        t.push(not_glob("IpAddress", &m.allow.source_ips));
    }
    t
}

fn install_terms(m: &RuleModel) -> Vec<String> {
    let mut t = vec!["EventCode==4697".to_string()];
    if !m.exclude_subject_logon_ids.is_empty() {
        t.push(format!(
            "NOT in(lower(SubjectLogonId), {})",
            list(&m.exclude_subject_logon_ids)
        ));
    }
    let mut images = m.exclude_image_globs.clone();
    images.extend(m.allow.images.iter().cloned());
    if !images.is_empty() {
        t.push(not_glob("ServiceFileName", &images));
    }
    if !m.exclude_service_names.is_empty() {
        t.push(format!(
            "NOT in(lower(ServiceName), {})",
            list(&m.exclude_service_names)
        ));
    }
    if !m.allow.service_names.is_empty() {
        t.push(not_glob("ServiceName", &m.allow.service_names));
    }
    for a in &m.allow.accounts {
        t.push(match a.split_once('\\') {
            Some((d, u)) => format!(
                "NOT ({} AND {})",
                not_glob("SubjectDomainName", &[d.to_string()]).trim_start_matches("NOT "),
                not_glob("SubjectUserName", &[u.to_string()]).trim_start_matches("NOT ")
            ),
            None => not_glob("SubjectUserName", std::slice::from_ref(a)),
        });
    }
    t
}

pub fn write(m: &RuleModel) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "``` svchop rules export --to spl --profile {} ```\n``` {} ```",
        m.profile,
        printable(&m.title).replace('`', "'")
    );
    let _ = writeln!(
        out,
        "search index=* (sourcetype=\"XmlWinEventLog\" OR sourcetype=\"XmlWinEventLog:Security\") EventCode IN (4624, 4697)"
    );
    let _ = writeln!(
        out,
        "| where ({}) OR ({})",
        logon_terms(m).join(" AND "),
        install_terms(m).join(" AND ")
    );
    let hosts = host_globs(m);
    if !hosts.is_empty() {
        let _ = writeln!(out, "| where {}", not_glob("Computer", &hosts));
    }
    let _ = writeln!(
        out,
        "| eval kind=if(EventCode==4624, \"logon\", \"install\"), order=if(kind==\"logon\", 0, 1)"
    );
    let _ = writeln!(
        out,
        "| eval LogonId=lower(if(kind==\"logon\", TargetLogonId, SubjectLogonId))"
    );
    let _ = writeln!(
        out,
        "| eval logon_time=if(kind==\"logon\", _time, null()), logon_ip=if(kind==\"logon\", IpAddress, null()), logon_account=if(kind==\"logon\", TargetDomainName.\"\\\\\".TargetUserName, null())"
    );
    let by = if m.same_host {
        "Computer LogonId"
    } else {
        "LogonId"
    };
    let _ = writeln!(out, "| sort 0 {by} _time order");
    let _ = writeln!(
        out,
        "| streamstats current=f last(logon_time) AS prev_logon_time last(logon_ip) AS source_ip last(logon_account) AS logon_account BY {by}"
    );
    let window = m.window.map_or_else(String::new, |w| {
        format!(" AND _time - prev_logon_time <= {w}")
    });
    let _ = writeln!(
        out,
        "| where kind==\"install\" AND isnotnull(prev_logon_time){window}"
    );
    let _ = writeln!(
        out,
        "| table _time Computer LogonId prev_logon_time source_ip logon_account SubjectDomainName SubjectUserName ServiceName ServiceFileName ServiceAccount"
    );
    out
}
