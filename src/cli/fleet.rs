//! `svchop fleet`: a scan in phases (facts, merge, host groups, rank) for fleets processed on a
//! cluster; the Spark job from `svchop rules export --to spark` runs these steps.

use super::args::{
    FleetCommand, FleetFactsArgs, FleetMergeArgs, FleetRankArgs, FleetScanArgs, InputArgs,
};
use super::report_problems;
use super::scan::print_findings;
use crate::detect::Detector;
use crate::detect::fleet::{FactsError, FleetFacts};
use crate::investigation::{Evidence, Investigation, Options};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(super) fn fleet(c: &FleetCommand) -> Result<ExitCode> {
    match c {
        FleetCommand::Facts(a) => facts(a),
        FleetCommand::Merge(a) => merge(a),
        FleetCommand::Scan(a) => scan(a),
        FleetCommand::Rank(a) => rank(a),
    }
}

/// How a fleet phase opens its part: typed fields only, the suppressed findings kept or not.
fn fleet_options(input: &InputArgs, detector: Detector, keep_suppressed: bool) -> Result<Options> {
    input.check_paths()?;
    let load = crate::ingest::LoadOptions {
        typed_only: true,
        ..input.load_options()?
    };
    Ok(Options {
        suppressed_per_host: if keep_suppressed { usize::MAX } else { 0 },
        ..Options::scan_with(Some(detector), load)
    })
}

/// Writes `text` to `to` (`-`: standard output). Never into, over or beside the evidence the run
/// read (`evidence`); never over or into the facts it read (`facts`).
fn write_out(to: &Path, text: &str, evidence: &[PathBuf], facts: &[PathBuf]) -> Result<()> {
    if to == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        return Ok(out.flush()?);
    }
    if facts.iter().any(|p| inside(to, p)) {
        bail!("{} is one of the facts read: write elsewhere", to.display());
    }
    if let Some(ev) = crate::case::persist::evidence_holding(to, evidence) {
        bail!(
            "{} is inside or beside what this run reads ({}); svchop never writes there. Choose another --to",
            to.display(),
            ev.display()
        );
    }
    std::fs::write(to, text).with_context(|| format!("cannot write {}", to.display()))
}

/// Whether `path` is `read` or inside it.
fn inside(path: &Path, read: &Path) -> bool {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    abs(path).starts_with(abs(read))
}

fn facts(a: &FleetFactsArgs) -> Result<ExitCode> {
    let options = fleet_options(&a.input, a.detect.detector()?, false)?;
    let evidence = Evidence::FleetPart {
        paths: a.input.paths.clone(),
        facts: None,
    };
    let opened = Investigation::open(evidence, &options, &|_| {})?;
    let f = opened
        .fleet_facts
        .context("no detector to learn the facts with")?;
    write_out(
        &a.to,
        &(serde_json::to_string(&f)? + "\n"),
        &a.input.paths,
        &[],
    )?;
    report_problems(&opened.report);
    Ok(ExitCode::SUCCESS)
}

/// Facts files named, or the `*.json` files of named folders, sorted.
fn facts_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn read_facts(path: &Path) -> Result<FleetFacts> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not svchop facts", path.display()))
}

fn merge(a: &FleetMergeArgs) -> Result<ExitCode> {
    let files = facts_files(&a.facts)?;
    let mut merged: Option<FleetFacts> = None;
    for f in &files {
        let facts = read_facts(f)?;
        merged = Some(match merged {
            None => {
                facts
                    .check(&facts.profile)
                    .with_context(|| f.display().to_string())?;
                if facts.complete && files.len() > 1 {
                    return Err(FactsError::Complete).with_context(|| f.display().to_string());
                }
                facts
            }
            Some(m) => m.merge(facts).with_context(|| f.display().to_string())?,
        });
    }
    let Some(mut merged) = merged else {
        bail!("no facts files found");
    };
    if !a.partial && !merged.complete {
        merged = merged.completed();
    } else {
        merged.tidy();
    }
    eprintln!(
        "svchop: facts of {} host(s), {} event(s), from {} file(s){}",
        merged.hosts.len(),
        merged.events,
        files.len(),
        if merged.complete { "" } else { " (partial)" }
    );
    write_out(
        &a.to,
        &(serde_json::to_string(&merged)? + "\n"),
        &[],
        &a.facts,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn scan(a: &FleetScanArgs) -> Result<ExitCode> {
    let detector = a.detect.detector()?;
    let facts = read_facts(&a.facts)?;
    facts
        .check(&detector.profile.name)
        .with_context(|| a.facts.display().to_string())?;
    let facts = if facts.complete {
        facts
    } else {
        facts.completed()
    };
    let profile = detector.profile.name.clone();
    let options = fleet_options(&a.input, detector, a.show_suppressed)?;
    let evidence = Evidence::FleetPart {
        paths: a.input.paths.clone(),
        facts: Some(Box::new(facts)),
    };
    let opened = Investigation::open(evidence, &options, &|_| {})?;
    for w in &opened.warnings {
        eprintln!("svchop: warning: {w}");
    }
    let listing = crate::sink::Listing::new(profile, a.input.tz);
    let mut sink = crate::sink::findings_sink(
        crate::sink::FindingsFormat::Jsonl,
        listing,
        crate::sink::text::Stdout::new(),
    );
    crate::sink::write_all(sink.as_mut(), &opened.findings)?;
    report_problems(&opened.report);
    Ok(ExitCode::SUCCESS)
}

fn rank(a: &FleetRankArgs) -> Result<ExitCode> {
    let detector = a.detect.detector()?;
    let mut findings = Vec::new();
    // A part given twice (a retried task, a glob that matched a copy) would list every finding
    // twice under one id: the first of each id is kept, and the analyst told.
    let mut duplicates = 0usize;
    let mut differing = 0usize;
    let mut first_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let same = |a: &crate::detect::finding::Finding, b: &crate::detect::finding::Finding| {
        serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
    };
    for p in &a.findings {
        let got = crate::case::imported::read(p)?;
        report_problems(&got.report);
        for f in got.findings {
            if let Some(&i) = first_of.get(&f.id) {
                duplicates += 1;
                if !same(&findings[i], &f) {
                    differing += 1;
                }
            } else {
                first_of.insert(f.id.clone(), findings.len());
                findings.push(f);
            }
        }
    }
    if duplicates > 0 {
        let differ = if differing > 0 {
            format!(" ({differing} of them differ from the first: parts of different runs?)")
        } else {
            String::new()
        };
        eprintln!(
            "svchop: warning: {duplicates} finding(s) appear more than once (same id in another part: a part given twice or a retried task); each listed once, the first kept{differ}"
        );
    }
    detector.rank(&mut findings);
    print_findings(&findings, 0, &detector.profile.name, &a.output, a.tz)
}
