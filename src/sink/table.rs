//! The findings table for a terminal: fits 80 columns, severity as a word (never colour alone).

use crate::detect::finding::{Finding, Severity, Stage};
use crate::model::sanitize::clip;
use crate::sink::text::{Column, table};

pub fn sev_short(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::High => "HIGH",
        Severity::Medium => "MED",
        Severity::Low => "LOW",
    }
}

/// One letter per stage present, `-` where missing: `SLHPIEC` = source, logon, share (H),
/// pipe, install (`M` for a modified service), exec, cleanup.
pub fn stage_strip(f: &Finding) -> String {
    Stage::ALL
        .iter()
        .map(|s| {
            if let Some(x) = f.stages.iter().find(|x| x.stage.slot() == *s) {
                match x.stage {
                    Stage::Source => 'S',
                    Stage::Logon => 'L',
                    Stage::Share => 'H',
                    Stage::Pipe => 'P',
                    Stage::Install => 'I',
                    Stage::Modify => 'M',
                    Stage::Exec => 'E',
                    Stage::Cleanup => 'C',
                }
            } else {
                '-'
            }
        })
        .collect()
}

pub fn source_label(f: &Finding) -> String {
    f.source_hosts
        .first()
        .or(f.source_ips.first())
        .cloned()
        .unwrap_or_else(|| "-".into())
}

/// The findings as a table: severity (in brackets when suppressed), score, id, first seen,
/// target, source, account, service and the stage strip; fitted to `width` on a terminal,
/// whole otherwise.
pub fn findings_table(
    findings: &[&Finding],
    zone: crate::model::time::DisplayZone,
    width: Option<usize>,
) -> String {
    let cols = [
        Column::whole("SEV"),
        Column::whole("SCR"),
        Column::whole("ID").optional(),
        Column::whole("FIRST SEEN").optional(),
        Column::new("TARGET"),
        // An IPv4 address whole.
        Column::new("SOURCE").at_least(15),
        Column::new("USER"),
        Column::new("SERVICE"),
        Column::whole("STAGES"),
    ];
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let sev = if f.is_suppressed() {
                format!("({})", sev_short(f.severity).to_ascii_lowercase())
            } else {
                sev_short(f.severity).into()
            };
            vec![
                sev,
                f.score.to_string(),
                f.id.clone(),
                zone.fmt_with(f.first_seen, "%Y-%m-%d %H:%M:%S"),
                f.target_host.clone(),
                source_label(f),
                f.user.clone().unwrap_or_else(|| "-".into()),
                f.service_label(),
                stage_strip(f),
            ]
        })
        .collect();
    table(&cols, &rows, width)
}

/// The campaigns among the findings, one block each: what it is, what its names carry, and the
/// findings it groups (`ID TARGET SEVERITY`). Empty when there is none.
pub fn campaigns_section(findings: &[&Finding]) -> String {
    use std::fmt::Write as _;
    let mut by_id: std::collections::BTreeMap<&str, Vec<&Finding>> =
        std::collections::BTreeMap::new();
    for f in findings {
        if let Some(c) = &f.campaign {
            by_id.entry(c.id.as_str()).or_default().push(f);
        }
    }
    let mut out = String::new();
    for (id, members) in by_id {
        let Some(c) = members.first().and_then(|f| f.campaign.as_ref()) else {
            continue;
        };
        // Fits 80 columns like the table above.
        let _ = writeln!(out, "\nCampaign {id}: {}", clip(&c.summary, 54));
        if let Some(p) = &c.pattern {
            let _ = writeln!(out, "  {}", clip(p, 78));
        }
        for f in members {
            let _ = writeln!(
                out,
                "  {}  {}  {}",
                f.id,
                clip(&f.target_host, 40),
                sev_short(f.severity)
            );
        }
    }
    out
}

/// The table `svchop scan`, `fleet rank` and the demo print: the findings, the campaigns they
/// belong to, and the listing's footer.
pub fn listing(findings: &[&Finding], l: &super::Listing) -> String {
    use std::fmt::Write;
    let mut t = findings_table(findings, l.zone, l.width);
    t.push_str(&campaigns_section(findings));
    match l.footer {
        super::Footer::Scan => {
            let _ = writeln!(t, "\n{} finding(s), profile {}.", findings.len(), l.profile);
            t.push_str(super::STAGE_LEGEND);
            if l.suppressed_hidden > 0 {
                let _ = writeln!(
                    t,
                    "{} suppressed by the allow-list (list them with --show-suppressed)",
                    l.suppressed_hidden
                );
            }
        }
        super::Footer::Demo => {
            let _ = writeln!(
                t,
                "\n{} finding(s); stages S source L logon H share P pipe I install (M modified) E exec C cleanup",
                findings.len()
            );
        }
    }
    t
}
