//! `svchop scan`: findings for pipelines (table, JSON, JSON lines, CSV, Markdown) and `--fail-on`.

use super::args::{FindingsOutput, ScanArgs, ScanFormat};
use super::{STAGE_LEGEND, report_problems};
use crate::detect::Severity;
use crate::detect::finding::Finding;
use crate::export::csv_out::findings_csv;
use crate::export::markdown::findings_md;
use crate::export::table::{campaigns_section, findings_table};
use crate::output::{emit, json_safe};
use anyhow::Result;
use std::fmt::Write;
use std::process::ExitCode;

pub(super) fn scan(a: &ScanArgs) -> Result<ExitCode> {
    let detector = a.detect.detector()?;
    let profile = detector.profile.name.clone();
    let loaded = a
        .input
        .open(Some(detector), false, a.output.show_suppressed)?;
    let code = print_findings(
        &loaded.findings,
        loaded.suppressed_dropped,
        &profile,
        &a.output,
        a.input.tz,
    )?;
    report_problems(&loaded.report);
    Ok(code)
}

/// Prints ranked findings as `svchop scan` does; the exit code `--fail-on` asks for.
pub(super) fn print_findings(
    findings: &[Finding],
    dropped: usize,
    profile: &str,
    a: &FindingsOutput,
    tz: crate::model::time::DisplayZone,
) -> Result<ExitCode> {
    let min = a.min_severity.unwrap_or(Severity::Low);
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= min && (a.show_suppressed || !f.is_suppressed()))
        .collect();
    let suppressed = dropped + findings.iter().filter(|f| f.is_suppressed()).count();
    let text = match a.format {
        ScanFormat::Table => {
            let mut t = findings_table(&shown, tz, crate::tui::terminal::stdout_width());
            t.push_str(&campaigns_section(&shown));
            let _ = writeln!(t, "\n{} finding(s), profile {}.", shown.len(), profile);
            t.push_str(STAGE_LEGEND);
            if suppressed > 0 && !a.show_suppressed {
                let _ = writeln!(
                    t,
                    "{suppressed} suppressed by the allow-list (list them with --show-suppressed)"
                );
            }
            t
        }
        ScanFormat::Json => format!("{}\n", json_safe(serde_json::to_string_pretty(&shown)?)),
        ScanFormat::Jsonl => shown
            .iter()
            .map(|f| serde_json::to_string(f).map(|s| json_safe(s) + "\n"))
            .collect::<std::result::Result<String, _>>()?,
        ScanFormat::Csv => findings_csv(&shown)?,
        ScanFormat::Md => findings_md(&shown, &format!("svchop findings (profile {profile})")),
    };
    emit(&text)?;
    let failed = a.fail_on.is_some_and(|s| {
        findings
            .iter()
            .any(|f| !f.is_suppressed() && f.severity >= s)
    });
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
