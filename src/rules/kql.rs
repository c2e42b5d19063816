//! KQL for Microsoft Sentinel (`SecurityEvent`) and Defender XDR (`DeviceLogonEvents`,
//! `DeviceEvents`): network logons joined to service installs on the logon id (and computer),
//! within the profile's window, with its exclusions and the allow-list.

use super::{RuleModel, dq as s, dq_list as list, glob_alternation, host_globs, printable};
use std::fmt::Write as _;

/// Case-insensitive whole-value glob match of a column (RE2 regex).
fn glob_any(col: &str, globs: &[String]) -> String {
    format!("{col} matches regex {}", s(&glob_alternation(globs)))
}

fn account_filters(m: &RuleModel, user: &str, domain: &str) -> Vec<String> {
    m.allow
        .accounts
        .iter()
        .map(|a| match a.split_once('\\') {
            Some((d, u)) => format!(
                "not({} and {})",
                glob_any(domain, &[d.to_string()]),
                glob_any(user, &[u.to_string()])
            ),
            None => format!("not({})", glob_any(user, std::slice::from_ref(a))),
        })
        .collect()
}

fn logon_filters(m: &RuleModel, ip: &str, user: &str, computer: &str) -> Vec<String> {
    let mut w = Vec::new();
    if !m.exclude_source_ips.is_empty() {
        w.push(format!("{ip} !in ({})", list(&m.exclude_source_ips)));
    }
    if m.require_source_ip {
        w.push(format!("isnotempty({ip}) and {ip} != \"-\""));
    }
    if m.exclude_machine_accounts {
        w.push(format!("not({user} endswith \"$\")"));
    }
    if !m.allow.source_ips.is_empty() {
        w.push(format!("not({})", glob_any(ip, &m.allow.source_ips)));
    }
    let hosts = host_globs(m);
    if !hosts.is_empty() {
        w.push(format!("not({})", glob_any(computer, &hosts)));
    }
    w
}

fn install_filters(
    m: &RuleModel,
    lid: &str,
    image: &str,
    name: &str,
    computer: &str,
) -> Vec<String> {
    let mut w = Vec::new();
    if !m.exclude_subject_logon_ids.is_empty() {
        w.push(format!(
            "{lid} !in ({})",
            list(&m.exclude_subject_logon_ids)
        ));
    }
    let mut images = m.exclude_image_globs.clone();
    images.extend(m.allow.images.iter().cloned());
    if !images.is_empty() {
        w.push(format!("not({})", glob_any(image, &images)));
    }
    if !m.exclude_service_names.is_empty() {
        w.push(format!(
            "tolower({name}) !in ({})",
            list(&m.exclude_service_names)
        ));
    }
    if !m.allow.service_names.is_empty() {
        w.push(format!("not({})", glob_any(name, &m.allow.service_names)));
    }
    let hosts = host_globs(m);
    if !hosts.is_empty() {
        w.push(format!("not({})", glob_any(computer, &hosts)));
    }
    w
}

fn wheres(out: &mut String, w: &[String]) {
    for c in w {
        let _ = writeln!(out, "    | where {c}");
    }
}

pub fn write(m: &RuleModel) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// svchop rules export --to kql --profile {}\n// {}\n// Network logon, then a service install in the same logon session{}.",
        m.profile,
        printable(&m.title),
        if m.same_host {
            " on the same computer"
        } else {
            ""
        }
    );
    let window = m
        .window
        .map_or_else(|| "3650d".to_string(), |w| format!("{w}s"));
    let _ = writeln!(out, "let window = {window};");
    sentinel_tables(m, &mut out);
    defender_tables(m, &mut out);
    let on = if m.same_host {
        "Computer, LogonId"
    } else {
        "LogonId"
    };
    let _ = writeln!(out, "union SecInstalls, MdeInstalls");
    let _ = writeln!(
        out,
        "| join kind=inner (union SecLogons, MdeLogons) on {on}"
    );
    let _ = writeln!(
        out,
        "| where InstallTime between (LogonTime .. (LogonTime + window))"
    );
    let _ = writeln!(
        out,
        "| summarize FirstLogon = min(LogonTime), Logons = count(), SourceIps = make_set(IpAddress), \
         LogonAccounts = make_set(LogonAccount) by Computer, LogonId, InstallTime, Installer, \
         ServiceName, ServiceFileName, ServiceAccount"
    );
    let _ = writeln!(out, "| order by InstallTime asc");
    out
}

/// Sentinel: `SecurityEvent` logons and installs.
fn sentinel_tables(m: &RuleModel, out: &mut String) {
    let types: Vec<String> = m.logon_types.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "let SecLogons = SecurityEvent");
    let _ = writeln!(
        out,
        "    | where EventID == 4624 and LogonType in ({})",
        types.join(", ")
    );
    wheres(
        out,
        &logon_filters(m, "IpAddress", "TargetUserName", "Computer"),
    );
    let _ = writeln!(
        out,
        "    | project LogonTime = TimeGenerated, Computer, LogonId = tolower(TargetLogonId), \
         LogonAccount = strcat(TargetDomainName, \"\\\\\", TargetUserName), IpAddress, WorkstationName;"
    );
    let _ = writeln!(out, "let SecInstalls = SecurityEvent");
    let _ = writeln!(out, "    | where EventID == 4697");
    let mut w = install_filters(
        m,
        "tolower(SubjectLogonId)",
        "ServiceFileName",
        "ServiceName",
        "Computer",
    );
    w.extend(account_filters(m, "SubjectUserName", "SubjectDomainName"));
    wheres(out, &w);
    let _ = writeln!(
        out,
        "    | project InstallTime = TimeGenerated, Computer, LogonId = tolower(SubjectLogonId), \
         Installer = strcat(SubjectDomainName, \"\\\\\", SubjectUserName), ServiceName, \
         ServiceFileName, ServiceAccount;"
    );
}

/// Defender XDR: `DeviceLogonEvents` and `DeviceEvents` (`ServiceInstalled`).
fn defender_tables(m: &RuleModel, out: &mut String) {
    if m.logon_types.contains(&3) {
        let _ = writeln!(out, "let MdeLogons = DeviceLogonEvents");
        let _ = writeln!(
            out,
            "    | where ActionType == \"LogonSuccess\" and LogonType == \"Network\""
        );
        wheres(
            out,
            &logon_filters(m, "RemoteIP", "AccountName", "DeviceName"),
        );
        let _ = writeln!(
            out,
            "    | project LogonTime = Timestamp, Computer = DeviceName, LogonId = strcat(\"0x\", tohex(LogonId)), \
             LogonAccount = strcat(AccountDomain, \"\\\\\", AccountName), IpAddress = RemoteIP, \
             WorkstationName = RemoteDeviceName;"
        );
    } else {
        let _ = writeln!(out, "let MdeLogons = SecLogons | take 0;");
    }
    let _ = writeln!(out, "let MdeInstalls = DeviceEvents");
    let _ = writeln!(out, "    | where ActionType == \"ServiceInstalled\"");
    let _ = writeln!(
        out,
        "    | extend ServiceName = tostring(parse_json(AdditionalFields).ServiceName), \
         ServiceFileName = FolderPath, ServiceAccount = tostring(parse_json(AdditionalFields).ServiceAccount), \
         InstallerLogonId = strcat(\"0x\", tohex(InitiatingProcessLogonId))"
    );
    let mut w = install_filters(
        m,
        "InstallerLogonId",
        "ServiceFileName",
        "ServiceName",
        "DeviceName",
    );
    w.extend(account_filters(
        m,
        "InitiatingProcessAccountName",
        "InitiatingProcessAccountDomain",
    ));
    wheres(out, &w);
    let _ = writeln!(
        out,
        "    | project InstallTime = Timestamp, Computer = DeviceName, LogonId = InstallerLogonId, \
         Installer = strcat(InitiatingProcessAccountDomain, \"\\\\\", InitiatingProcessAccountName), \
         ServiceName, ServiceFileName, ServiceAccount;"
    );
}
