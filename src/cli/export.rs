//! `svchop export` (a case's report) and `svchop rules export` (the profile as other engines'
//! rules).

use super::args::{DetectArgs, ExportArgs, ExportFormat, RulesExportArgs};
use crate::ingest::LoadOptions;
use crate::investigation::{Evidence, Investigation, Options};
use crate::sink::text::emit;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

pub(super) fn export(a: &ExportArgs) -> Result<ExitCode> {
    let mut case = crate::case::persist::load(&a.case)?
        .with_context(|| format!("{} does not exist", a.case.display()))?;
    if a.format == ExportFormat::Allowlist {
        // The analyst's decisions alone: the evidence is not needed.
        return write_report(
            a.output.as_deref(),
            &crate::sink::report::allowlist_toml(&case),
        );
    }
    let detect = DetectArgs {
        profile: case.sources.profile.clone(),
        allowlists: case
            .sources
            .allowlist_files
            .iter()
            .map(PathBuf::from)
            .collect(),
        no_default_allowlist: false,
    };
    let detector = detect.detector()?;
    let evidence = Evidence::of_case(&case.sources);
    if let Evidence::Paths(paths) = &evidence
        && let Some(p) = paths.iter().find(|p| !p.exists())
    {
        anyhow::bail!("{} does not exist", p.display());
    }
    // Every field, as the workbench reads: the report lists the hashes of the stage events.
    let load = LoadOptions::default();
    let options = Options {
        case: Some(case.clone()),
        ..Options::scan_with(Some(detector), load)
    };
    let opened = Investigation::open(evidence, &options, &|_| {})?;
    case.move_ids(&opened.id_moves);
    let findings = &opened.findings;
    if let Some(missing) = a
        .findings
        .iter()
        .find(|id| !findings.iter().any(|f| &&f.id == id))
    {
        anyhow::bail!("no finding {missing} in this case's evidence");
    }
    let playbook = crate::case::playbook::Playbook::builtin()?;
    let report = crate::sink::report::ReportOptions {
        compact: a.compact,
        min_severity: a.min_severity,
        only: a.findings.clone(),
    };
    let events = |i: usize| opened.store.get(i);
    let text = crate::sink::report::report_text(
        a.format.into(),
        &case,
        findings,
        &playbook,
        &report,
        Some(&events),
    )?;
    write_report(a.output.as_deref(), &text)
}

/// The report to the file asked for, or to standard output.
fn write_report(to: Option<&std::path::Path>, text: &str) -> Result<ExitCode> {
    match to {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
        }
        None => {
            emit(text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn rules_export(a: &RulesExportArgs) -> Result<ExitCode> {
    use crate::rules::{Target, eql, export};
    let detector = a.detect.detector()?;
    let target = a.to;
    let mut text = export(&detector, target)?;
    if target == Target::Eql && a.output.is_none() {
        let m = crate::rules::RuleModel::from_detector(&detector)?;
        text = eql::preamble(&m) + &text;
    }
    match &a.output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            emit(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
