//! EQL for Elastic (winlogbeat / ECS fields), in the form of Elastic's prebuilt rule
//! "Remote Windows Service Installed": `sequence by winlog.logon.id, winlog.computer_name with
//! maxspan`, the logon then the install, with the profile's exclusions and the allow-list.

use super::{RuleModel, dq as s, dq_list as list, host_globs, printable};
use std::fmt::Write as _;

/// Winlogbeat's `winlog.logon.type` words.
pub fn logon_type_name(t: u8) -> String {
    match t {
        2 => "Interactive".into(),
        3 => "Network".into(),
        4 => "Batch".into(),
        5 => "Service".into(),
        7 => "Unlock".into(),
        8 => "NetworkCleartext".into(),
        9 => "NewCredentials".into(),
        10 => "RemoteInteractive".into(),
        11 => "CachedInteractive".into(),
        n => n.to_string(),
    }
}

fn account_terms(m: &RuleModel) -> Vec<String> {
    m.allow
        .accounts
        .iter()
        .map(|a| match a.split_once('\\') {
            Some((d, u)) => format!("not (user.domain : {} and user.name : {})", s(d), s(u)),
            None => format!("not user.name : {}", s(a)),
        })
        .collect()
}

fn logon_clause(m: &RuleModel) -> Vec<String> {
    let types: Vec<String> = m.logon_types.iter().map(|t| logon_type_name(*t)).collect();
    let mut c = vec![
        "event.action == \"logged-in\"".to_string(),
        format!("winlog.logon.type in ({})", list(&types)),
        "event.outcome == \"success\"".to_string(),
    ];
    if m.require_source_ip {
        c.push("source.ip != null".into());
    }
    if !m.exclude_source_ips.is_empty() {
        c.push(format!(
            "not source.ip in ({})",
            list(&m.exclude_source_ips)
        ));
    }
    if m.exclude_machine_accounts {
        c.push("not user.name : \"*$\"".into());
    }
    if !m.allow.source_ips.is_empty() {
        c.push(format!(
            "not source.address : ({})",
            list(&m.allow.source_ips)
        ));
    }
    let hosts = host_globs(m);
    if !hosts.is_empty() {
        c.push(format!("not winlog.computer_name : ({})", list(&hosts)));
    }
    c
}

fn install_clause(m: &RuleModel) -> Vec<String> {
    let mut c = vec!["event.action == \"service-installed\"".to_string()];
    if !m.exclude_subject_logon_ids.is_empty() {
        c.push(format!(
            "not winlog.logon.id in ({})",
            list(&m.exclude_subject_logon_ids)
        ));
    }
    let mut images = m.exclude_image_globs.clone();
    images.extend(m.allow.images.iter().cloned());
    if !images.is_empty() {
        c.push(format!(
            "not winlog.event_data.ServiceFileName : ({})",
            list(&images)
        ));
    }
    let mut names = m.exclude_service_names.clone();
    names.extend(m.allow.service_names.iter().cloned());
    if !names.is_empty() {
        c.push(format!(
            "not winlog.event_data.ServiceName : ({})",
            list(&names)
        ));
    }
    c.extend(account_terms(m));
    let hosts = host_globs(m);
    if !hosts.is_empty() {
        c.push(format!("not winlog.computer_name : ({})", list(&hosts)));
    }
    c
}

fn clause(out: &mut String, category: &str, terms: &[String]) {
    let _ = writeln!(out, "  [{category} where");
    for (i, t) in terms.iter().enumerate() {
        let sep = if i + 1 == terms.len() { "]" } else { " and" };
        let _ = writeln!(out, "     {t}{sep}");
    }
}

pub fn write(m: &RuleModel) -> String {
    let mut out = String::new();
    let by = if m.same_host {
        "winlog.logon.id, winlog.computer_name"
    } else {
        "winlog.logon.id"
    };
    let span = m
        .window
        .map_or_else(String::new, |w| format!(" with maxspan={w}s"));
    let _ = writeln!(out, "sequence by {by}{span}");
    clause(&mut out, "authentication", &logon_clause(m));
    clause(&mut out, "iam", &install_clause(m));
    out
}

/// A comment block to print before the query (EQL has no comments in the query itself).
pub fn preamble(m: &RuleModel) -> String {
    format!(
        "// svchop rules export --to eql --profile {}\n// {}\n// Elastic Security: paste as an EQL rule query (index winlogbeat-*, logs-system.security*).\n",
        m.profile,
        printable(&m.title)
    )
}
