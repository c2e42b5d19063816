//! `svchop scan --follow`: the folders followed as evidence lands, one line per changed finding
//! (`--format jsonl`: the finding's JSON with `change` and `replaces`; `table`: a line to read),
//! until SIGINT or SIGTERM (exit 0). What is being read goes to standard error.

use super::args::{ScanArgs, ScanFormat};
use crate::detect::Severity;
use crate::investigation::Options;
use crate::live::Collection;
use crate::live::changes::{Change, Kind};
use crate::live::watch::Follow;
use crate::model::sanitize::{clip, for_json};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(super) fn scan_follow(a: &ScanArgs) -> Result<ExitCode> {
    let format = a.output.format;
    if !matches!(format, ScanFormat::Jsonl | ScanFormat::Table) {
        bail!("--follow prints one line per change: use --format jsonl or table");
    }
    if a.input
        .paths
        .iter()
        .any(|p| crate::ingest::stdin::is_dash(p))
    {
        bail!("--follow watches folders and files: standard input (-) cannot be followed");
    }
    if a.output.fail_on.is_some() {
        bail!("--fail-on needs the scan to end: it cannot be used with --follow");
    }
    a.input.check_paths()?;
    let options = Options {
        case: a.case()?,
        suppressed_per_host: if a.output.show_suppressed {
            usize::MAX
        } else {
            0
        },
        ..Options::scan_with(
            Some(a.detect.detector()?),
            crate::ingest::LoadOptions {
                typed_only: true,
                ..a.input.load_options()?
            },
        )
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let mut follow = Follow::new(a.input.paths.clone(), a.follow.settings());
    let mut live = Collection::new(options);
    eprintln!(
        "svchop: following {} ({}); ctrl-c ends",
        a.input
            .paths
            .iter()
            .map(|p| clip(&p.display().to_string(), 200))
            .collect::<Vec<_>>()
            .join(", "),
        follow.how()
    );
    let min = a.output.min_severity.unwrap_or(Severity::Low);
    let stdout = std::io::stdout();
    while !stop.load(Ordering::Relaxed) {
        let ready = follow.ready(Duration::from_millis(200));
        if ready.is_empty() {
            continue;
        }
        let up = live.take(&ready, &|_, _| {});
        follow.retry_later(&up.with_problems);
        let mut out = stdout.lock();
        for c in up
            .changes
            .iter()
            .filter(|c| listed(c, min, a.output.show_suppressed))
        {
            let text = match format {
                ScanFormat::Jsonl => for_json(c.json().to_string()),
                _ => table_line(c, a.input.tz),
            };
            // A closed pipe (`| head`) ends the run as the end of the stream.
            if writeln!(out, "{text}").is_err() {
                return Ok(ExitCode::SUCCESS);
            }
        }
        if out.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
        drop(out);
        eprintln!("svchop: {}", up.summary());
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a change is printed: its finding at or above `min` (before or now), allow-listed
/// ones only when asked.
fn listed(c: &Change, min: Severity, show_suppressed: bool) -> bool {
    c.finding.severity >= min && (show_suppressed || !c.finding.is_suppressed())
}

fn table_line(c: &Change, tz: crate::model::time::DisplayZone) -> String {
    let f = &c.finding;
    let kind = match c.kind {
        Kind::New => "NEW",
        Kind::Updated => "UPDATED",
        Kind::Withdrawn => "WITHDRAWN",
    };
    let replaces = c
        .replaces
        .as_deref()
        .map(|r| format!(" (was {r})"))
        .unwrap_or_default();
    format!(
        "{kind:<9} {:<8} {:>3}  {}  {}  {}{replaces}  {}",
        f.severity.label(),
        f.score,
        tz.fmt(f.first_seen),
        clip(&f.target_host, 40),
        f.id,
        clip(&f.service_label(), 60),
    )
}
