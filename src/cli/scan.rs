//! `svchop scan`: findings for pipelines (table, JSON, JSON lines, CSV, Markdown) and `--fail-on`.

use super::args::{Fields, FindingsOutput, OpenFor, ScanArgs, Suppressed};
use super::report_problems;
use crate::detect::Severity;
use crate::detect::finding::Finding;
use crate::sink::{Footer, Listing, findings_sink, shown, text::Stdout, write_all};
use anyhow::Result;
use std::process::ExitCode;

pub(super) fn scan(a: &ScanArgs) -> Result<ExitCode> {
    let detector = a.detect.detector()?;
    let profile = detector.profile.name.clone();
    let case = a.case()?;
    let loaded = a.input.open_in_case(
        Some(detector),
        OpenFor {
            fields: Fields::Typed,
            suppressed: if a.output.show_suppressed {
                Suppressed::Keep
            } else {
                Suppressed::Drop
            },
        },
        case,
    )?;
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

/// Ranked findings into the sink of the asked format, on standard output; the exit code
/// `--fail-on` asks for.
pub(super) fn print_findings(
    findings: &[Finding],
    dropped: usize,
    profile: &str,
    a: &FindingsOutput,
    tz: crate::model::time::DisplayZone,
) -> Result<ExitCode> {
    let min = a.min_severity.unwrap_or(Severity::Low);
    let listed = findings.iter().filter(|f| shown(f, min, a.show_suppressed));
    let suppressed = dropped + findings.iter().filter(|f| f.is_suppressed()).count();
    let listing = Listing {
        profile: profile.to_string(),
        zone: tz,
        width: crate::tui::terminal::stdout_width(),
        suppressed_hidden: if a.show_suppressed { 0 } else { suppressed },
        footer: Footer::Scan,
    };
    let mut sink = findings_sink(a.format.into(), listing, Stdout::new());
    write_all(sink.as_mut(), listed)?;
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
