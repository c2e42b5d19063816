//! Sigma: base rules for each stage and a Sigma v2 `temporal_ordered` correlation joining the
//! network logon's `TargetLogonId` to the install's `SubjectLogonId` (field aliases), grouped by
//! `Computer`, with the profile's window as timespan. Exclusions and allow-list entries become
//! filters. One YAML stream, documents separated by `---`.

use super::{RuleModel, host_globs, printable, rule_uuid};
use std::fmt::Write as _;

/// The date written in every rule (the rule template's date, so output is reproducible).
const RULES_DATE: &str = "2026-11-22";

/// A YAML scalar: single-quoted (quotes doubled), control characters replaced.
fn q(s: &str) -> String {
    format!("'{}'", printable(s).replace('\'', "''"))
}

/// A literal value as a Sigma string: `*` and `?` escaped, and a backslash doubled where Sigma
/// would read it as an escape (before `*`, `?` or another backslash).
pub fn literal(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '*' | '?' => {
                out.push('\\');
                out.push(c);
            }
            '\\' if matches!(chars.get(i + 1), Some('*' | '?' | '\\')) => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

/// A glob (`*`, `?` wildcards, backslash literal) as a Sigma string with the same meaning.
pub fn glob(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '\\' && matches!(chars.get(i + 1), Some('*' | '?' | '\\')) {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

/// One detection item: a named map of field -> values.
struct Item {
    name: String,
    fields: Vec<(String, Vec<String>)>,
}

impl Item {
    fn one(name: &str, field: &str, values: Vec<String>) -> Self {
        Item {
            name: name.to_string(),
            fields: vec![(field.to_string(), values)],
        }
    }
}

struct Rule<'a> {
    m: &'a RuleModel,
    key: &'a str,
    title: String,
    description: String,
    service: &'a str,
    category: Option<&'a str>,
    selection: Vec<(String, Vec<String>)>,
    filters: Vec<Item>,
    level: &'a str,
    tags: &'a [&'a str],
    falsepositives: &'a [&'a str],
}

fn push_values(out: &mut String, indent: &str, field: &str, values: &[String]) {
    if let [v] = values {
        let _ = writeln!(out, "{indent}{field}: {v}");
    } else {
        let _ = writeln!(out, "{indent}{field}:");
        for v in values {
            let _ = writeln!(out, "{indent}    - {v}");
        }
    }
}

fn header(out: &mut String, title: &str, id: &str, name: Option<&str>, description: &str) {
    let _ = writeln!(out, "title: {}", q(title));
    let _ = writeln!(out, "id: {id}");
    if let Some(n) = name {
        let _ = writeln!(out, "name: {n}");
    }
    let _ = writeln!(out, "status: experimental");
    let _ = writeln!(out, "description: {}", q(description));
    let _ = writeln!(out, "author: svchop rules export");
    let _ = writeln!(out, "date: {RULES_DATE}");
}

fn footer(out: &mut String, tags: &[&str], falsepositives: &[&str], level: &str) {
    if !tags.is_empty() {
        let _ = writeln!(out, "tags:");
        for t in tags {
            let _ = writeln!(out, "    - {t}");
        }
    }
    let _ = writeln!(out, "falsepositives:");
    for f in falsepositives {
        let _ = writeln!(out, "    - {}", q(f));
    }
    let _ = writeln!(out, "level: {level}");
}

impl Rule<'_> {
    fn name(&self) -> String {
        format!("svchop_{}_{}", self.m.slug(), self.key)
    }

    fn write(&self, out: &mut String) {
        let name = self.name();
        header(
            out,
            &self.title,
            &rule_uuid(&[&self.m.profile, self.key]),
            Some(&name),
            &self.description,
        );
        let _ = writeln!(out, "logsource:");
        let _ = writeln!(out, "    product: windows");
        if let Some(c) = self.category {
            let _ = writeln!(out, "    category: {c}");
        } else {
            let _ = writeln!(out, "    service: {}", self.service);
        }
        let _ = writeln!(out, "detection:");
        let _ = writeln!(out, "    selection:");
        for (f, v) in &self.selection {
            push_values(out, "        ", f, v);
        }
        let mut cond = "selection".to_string();
        for item in self.filters.iter().filter(|i| !i.fields.is_empty()) {
            let _ = writeln!(out, "    {}:", item.name);
            for (f, v) in &item.fields {
                push_values(out, "        ", f, v);
            }
            let _ = write!(cond, " and not {}", item.name);
        }
        let _ = writeln!(out, "    condition: {cond}");
        footer(out, self.tags, self.falsepositives, self.level);
    }
}

const LATERAL: &[&str] = &[
    "attack.lateral-movement",
    "attack.t1021.002",
    "attack.persistence",
    "attack.t1543.003",
];

fn globs(v: &[String]) -> Vec<String> {
    v.iter().map(|g| q(&glob(g))).collect()
}

fn literals(v: &[String]) -> Vec<String> {
    v.iter().map(|g| q(&literal(g))).collect()
}

/// The allow-listed target hosts on `Computer` (as written, or followed by a domain).
fn target_host_filter(m: &RuleModel) -> Option<Item> {
    (!m.allow.target_hosts.is_empty()).then(|| {
        Item::one(
            "allow_target_host",
            "Computer",
            host_globs(m).iter().map(|g| q(&glob(g))).collect(),
        )
    })
}

/// The allow-listed accounts on the given user/domain fields.
fn account_filters(m: &RuleModel, user_field: &str, domain_field: &str) -> Vec<Item> {
    let mut items = Vec::new();
    for (i, a) in m.allow.accounts.iter().enumerate() {
        let name = format!("allow_account_{}", i + 1);
        match a.split_once('\\') {
            Some((dom, user)) => items.push(Item {
                name,
                fields: vec![
                    (domain_field.to_string(), vec![q(&glob(dom))]),
                    (user_field.to_string(), vec![q(&glob(user))]),
                ],
            }),
            None => items.push(Item::one(&name, user_field, vec![q(&glob(a))])),
        }
    }
    items
}

fn logon_rule(m: &RuleModel) -> Rule<'_> {
    let mut filters = Vec::new();
    if !m.exclude_source_ips.is_empty() {
        filters.push(Item::one(
            "filter_source_ip",
            "IpAddress",
            literals(&m.exclude_source_ips),
        ));
    }
    if m.require_source_ip {
        filters.push(Item::one(
            "filter_no_source_ip",
            "IpAddress",
            vec![q("-"), q("")],
        ));
        filters.push(Item::one(
            "filter_null_source_ip",
            "IpAddress",
            vec!["null".into()],
        ));
    }
    if m.exclude_machine_accounts {
        filters.push(Item::one(
            "filter_machine_account",
            "TargetUserName|endswith",
            vec![q("$")],
        ));
    }
    if !m.allow.source_ips.is_empty() {
        filters.push(Item::one(
            "allow_source_ip",
            "IpAddress",
            globs(&m.allow.source_ips),
        ));
    }
    filters.extend(target_host_filter(m));
    Rule {
        m,
        key: "network_logon",
        title: format!("Network logon (svchop profile {})", m.profile),
        description: "A network logon (4624) whose TargetLogonId a remote service install can \
                      follow; base rule of the svchop correlation."
            .into(),
        service: "security",
        category: None,
        selection: vec![
            ("EventID".into(), vec!["4624".into()]),
            (
                "LogonType".into(),
                m.logon_types.iter().map(ToString::to_string).collect(),
            ),
        ],
        filters,
        level: "informational",
        tags: &[],
        falsepositives: &["Every network logon: this rule is a building block"],
    }
}

/// The install exclusions and allow-list on a log's field names (`image`: `ServiceFileName` in
/// 4697, `ImagePath` in 7045, which carries no logon id).
fn install_filters(m: &RuleModel, image: &str, with_logon_ids: bool) -> Vec<Item> {
    let mut filters = Vec::new();
    if with_logon_ids && !m.exclude_subject_logon_ids.is_empty() {
        filters.push(Item::one(
            "filter_subject_logon_id",
            "SubjectLogonId",
            literals(&m.exclude_subject_logon_ids),
        ));
    }
    if !m.exclude_image_globs.is_empty() {
        filters.push(Item::one(
            "filter_image",
            image,
            globs(&m.exclude_image_globs),
        ));
    }
    if !m.exclude_service_names.is_empty() {
        filters.push(Item::one(
            "filter_service_name",
            "ServiceName",
            literals(&m.exclude_service_names),
        ));
    }
    if !m.allow.service_names.is_empty() {
        filters.push(Item::one(
            "allow_service_name",
            "ServiceName",
            globs(&m.allow.service_names),
        ));
    }
    if !m.allow.images.is_empty() {
        filters.push(Item::one("allow_image", image, globs(&m.allow.images)));
    }
    filters
}

fn install_rule(m: &RuleModel) -> Rule<'_> {
    let mut filters = install_filters(m, "ServiceFileName", true);
    filters.extend(target_host_filter(m));
    filters.extend(account_filters(m, "SubjectUserName", "SubjectDomainName"));
    Rule {
        m,
        key: "service_install",
        title: format!("Service installed (svchop profile {})", m.profile),
        description: "A service installed (4697) in a logon session (SubjectLogonId); base rule \
                      of the svchop correlation."
            .into(),
        service: "security",
        category: None,
        selection: vec![("EventID".into(), vec!["4697".into()])],
        filters,
        level: "low",
        tags: &["attack.persistence", "attack.t1543.003"],
        falsepositives: &["Software deployment and management agents"],
    }
}

fn system_install_rule(m: &RuleModel) -> Rule<'_> {
    let mut filters = install_filters(m, "ImagePath", false);
    filters.extend(target_host_filter(m));
    Rule {
        m,
        key: "service_install_system",
        title: format!(
            "Service installed, System log (svchop profile {})",
            m.profile
        ),
        description: "A service installed (7045). 7045 carries no logon id, so it cannot join \
                      the correlation; svchop's default profile links it through the installer \
                      SID."
            .into(),
        service: "system",
        category: None,
        selection: vec![
            ("Provider_Name".into(), vec![q("Service Control Manager")]),
            ("EventID".into(), vec!["7045".into()]),
        ],
        filters,
        level: "low",
        tags: &["attack.persistence", "attack.t1543.003"],
        falsepositives: &["Software deployment and driver installs"],
    }
}

fn stage_rules(m: &RuleModel) -> Vec<Rule<'_>> {
    vec![
        Rule {
            m,
            key: "admin_share_write",
            title: format!(
                "Executable written to ADMIN$ (svchop profile {})",
                m.profile
            ),
            description: "Detailed file share audit (5145): a file written over ADMIN$ or C$, \
                          the copy of a service helper before its install."
                .into(),
            service: "security",
            category: None,
            selection: vec![
                ("EventID".into(), vec!["5145".into()]),
                ("ShareName|endswith".into(), vec![q("\\ADMIN$"), q("\\C$")]),
                ("AccessList|contains".into(), vec![q("%%4417"), q("%%4418")]),
            ],
            filters: Vec::new(),
            level: "informational",
            tags: &["attack.lateral-movement", "attack.t1570"],
            falsepositives: &["Software deployment over admin shares"],
        },
        Rule {
            m,
            key: "service_shell",
            title: format!(
                "Shell started by services.exe (svchop profile {})",
                m.profile
            ),
            description: "A command shell whose parent is the Service Control Manager: the \
                          SYSTEM command of a remote service."
                .into(),
            service: "",
            category: Some("process_creation"),
            selection: vec![
                ("ParentImage|endswith".into(), vec![q("\\services.exe")]),
                (
                    "Image|endswith".into(),
                    vec![q("\\cmd.exe"), q("\\powershell.exe"), q("\\pwsh.exe")],
                ),
            ],
            filters: Vec::new(),
            level: "low",
            tags: &["attack.execution", "attack.t1569.002"],
            falsepositives: &["Services that wrap scripts"],
        },
        Rule {
            m,
            key: "tool_pipe",
            title: format!("Remote execution tool pipe (svchop profile {})", m.profile),
            description: "Named pipes of PsExec, PAExec, RemCom and the Service Control Manager \
                          pipe (Sysmon 17/18)."
                .into(),
            service: "",
            category: Some("pipe_created"),
            selection: vec![(
                "PipeName|contains".into(),
                vec![
                    q("\\PSEXESVC"),
                    q("\\PAExec"),
                    q("\\RemCom_communica"),
                    q("-stdin"),
                    q("-stdout"),
                    q("-stderr"),
                ],
            )],
            filters: Vec::new(),
            level: "low",
            tags: &["attack.lateral-movement", "attack.t1021.002"],
            falsepositives: &["Sanctioned remote administration with these tools"],
        },
    ]
}

/// The rule file.
pub fn write(m: &RuleModel) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# svchop rules export --to sigma --profile {}\n# {}\n# Base rules for each stage and a \
         Sigma v2 temporal_ordered correlation (logon -> install, same logon id{}, {}).",
        m.profile,
        printable(&m.title),
        if m.same_host { ", same Computer" } else { "" },
        m.span()
    );
    if !m.allow.unused.is_empty() {
        let _ = writeln!(
            out,
            "# Allow-list entries with no field in these events (not exported): {}",
            printable(&m.allow.unused.join(", "))
        );
    }
    let logon = logon_rule(m);
    let install = install_rule(m);
    let mut rules = vec![logon, install];
    if m.reads_7045 {
        rules.push(system_install_rule(m));
    }
    rules.extend(stage_rules(m));
    for r in &rules {
        out.push_str("---\n");
        r.write(&mut out);
    }
    out.push_str("---\n");
    correlation(m, &mut out);
    out
}

fn correlation(m: &RuleModel, out: &mut String) {
    let slug = m.slug();
    let logon = format!("svchop_{slug}_network_logon");
    let install = format!("svchop_{slug}_service_install");
    let window = match m.window {
        Some(s) => format!("within {s} seconds"),
        None => "at any time (the profile sets no window; timespan is one year)".into(),
    };
    header(
        out,
        &format!("Remote service creation (svchop profile {})", m.profile),
        &rule_uuid(&[&m.profile, "correlation"]),
        Some(&format!("svchop_{slug}_remote_service_creation")),
        &format!(
            "A network logon followed by a service install in the same logon session \
             (TargetLogonId = SubjectLogonId){}, {window}. {}",
            if m.same_host { " on the same host" } else { "" },
            m.title
        ),
    );
    let _ = writeln!(out, "correlation:");
    let _ = writeln!(out, "    type: temporal_ordered");
    let _ = writeln!(out, "    rules:");
    let _ = writeln!(out, "        - {logon}");
    let _ = writeln!(out, "        - {install}");
    let _ = writeln!(out, "    aliases:");
    let _ = writeln!(out, "        LogonId:");
    let _ = writeln!(out, "            {logon}: TargetLogonId");
    let _ = writeln!(out, "            {install}: SubjectLogonId");
    let _ = writeln!(out, "    group-by:");
    if m.same_host {
        let _ = writeln!(out, "        - Computer");
    }
    let _ = writeln!(out, "        - LogonId");
    let _ = writeln!(out, "    timespan: {}", m.span());
    footer(
        out,
        LATERAL,
        &["Remote administration that installs services (deployment tools)"],
        "high",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_escaping() {
        assert_eq!(literal(r"a*b?c\d"), r"a\*b\?c\d");
        assert_eq!(literal(r"a\*"), r"a\\\*");
        assert_eq!(glob(r"?:\Program Files\*.exe"), r"?:\Program Files\\*.exe");
        assert_eq!(glob(r"\\*\ADMIN$"), r"\\\\*\ADMIN$");
        assert_eq!(q("it's"), "'it''s'");
        assert_eq!(q("a\u{1b}[2Jb"), "'a?[2Jb'");
    }
}
