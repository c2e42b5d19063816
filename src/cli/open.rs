//! `svchop open` and `svchop demo`: the workbench on evidence, imported findings or the built-in
//! case (and the demo's headless table and written case).

use super::args::{DemoArgs, OpenArgs};
use crate::detect::Detector;
use crate::detect::allowlist::Allowlist;
use crate::ingest::LoadOptions;
use crate::investigation::{Evidence, Investigation, Options};
use crate::sink::text::Stdout;
use crate::sink::text::emit;
use crate::sink::{FindingsFormat, Footer, Listing, findings_sink, write_all};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;

/// The case for a run: loaded from its file when it exists (refusing damaged or foreign files),
/// else new; never inside the evidence; its folder must be writable.
pub(super) fn case_for(
    path: &std::path::Path,
    name: &str,
    sources: crate::case::CaseSources,
    evidence: &[PathBuf],
    base: Allowlist,
) -> Result<crate::tui::state::CaseHandle> {
    use crate::case::persist;
    persist::check_not_in_evidence(path, evidence)?;
    let case = if let Some(c) = persist::load(path)? {
        if let Some(why) = other_evidence(&c.sources, &sources) {
            eprintln!(
                "svchop: note: {} was made for other evidence ({why}); its notes and triage stay with their findings",
                path.display()
            );
        }
        c
    } else {
        persist::check_writable(path)?;
        crate::case::Case::new(name, sources)
    };
    Ok(crate::tui::state::CaseHandle {
        case,
        path: path.to_path_buf(),
        base_allowlist: base,
        saves: crate::tui::state::Saves::default(),
    })
}

/// How the case's recorded sources differ from the evidence given now (paths compared
/// absolute; cases written by earlier releases kept them as typed; a demo by its options).
fn other_evidence(
    case: &crate::case::CaseSources,
    now: &crate::case::CaseSources,
) -> Option<String> {
    let demo = |d: Option<crate::demo::DemoOptions>| {
        d.map_or_else(
            || "no demo".to_string(),
            |d| {
                format!(
                    "the demo of {} hosts, {} days, seed {}, noise {}",
                    d.hosts, d.days, d.seed, d.noise_per_day
                )
            },
        )
    };
    let (was, is) = (case.demo_options(), now.demo_options());
    if was.is_some() || is.is_some() {
        return (was != is).then(|| format!("it was made on {}; now {}", demo(was), demo(is)));
    }
    let abs = |v: &[String]| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = v
            .iter()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| PathBuf::from(p)))
            .collect();
        v.sort();
        v
    };
    let (was, is) = (abs(&case.paths), abs(&now.paths));
    (was != is).then(|| {
        let show = |v: &[PathBuf]| {
            v.iter()
                .map(|p| {
                    crate::model::sanitize::for_terminal(&p.display().to_string()).into_owned()
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("it lists {}; given {}", show(&was), show(&is))
    })
}

/// Reads an imported findings file and says on stderr how many were read and skipped.
pub(super) fn read_findings(f: &std::path::Path) -> Result<crate::case::imported::Imported> {
    let imp = crate::case::imported::read(f)?;
    let r = &imp.report;
    eprintln!(
        "svchop: {} finding(s) read from {}{}",
        imp.findings.len(),
        f.display(),
        if r.records_skipped() > 0 {
            format!(
                "; {} line(s) skipped ({})",
                r.records_skipped(),
                r.files
                    .iter()
                    .flat_map(|x| x.problems.iter().map(|p| {
                        crate::model::sanitize::clip(&format!("{}: {}", p.at, p.what), 160)
                    }))
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        } else {
            String::new()
        }
    );
    Ok(imp)
}

/// What the analyst is told when the workbench closes, and the exit code: only a save that
/// happened is called one, and a last change that is not on disk exits 2.
pub(super) fn after_workbench(
    saves: &crate::tui::state::Saves,
    path: &std::path::Path,
) -> ExitCode {
    match (saves.changed, &saves.failed) {
        (_, Some(e)) => {
            eprintln!(
                "svchop: the case could NOT be saved ({e}); the last changes are not on disk"
            );
            ExitCode::from(2)
        }
        (true, None) => {
            eprintln!("svchop: case saved in {}", path.display());
            ExitCode::SUCCESS
        }
        (false, None) if path.exists() => {
            eprintln!("svchop: no changes; the case is in {}", path.display());
            ExitCode::SUCCESS
        }
        (false, None) => {
            eprintln!("svchop: no changes; no case file was written");
            ExitCode::SUCCESS
        }
    }
}

/// The workbench draws on a terminal and reads keys from it; without one, say so (and what to use
/// instead) rather than fail on the first terminal call.
fn needs_terminal() -> Result<()> {
    use std::io::IsTerminal;
    // Keys come from standard input, or from the controlling terminal when evidence is piped
    // in (`cat export.jsonl | svchop open -`), as the terminal library reads them.
    let keys = std::io::stdin().is_terminal()
        || std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok();
    if !(keys && std::io::stdout().is_terminal()) {
        bail!(
            "the workbench needs a terminal (standard input and output are not one); for scripts and pipelines use `svchop scan`"
        );
    }
    Ok(())
}

pub(super) fn open(a: &OpenArgs) -> Result<ExitCode> {
    if a.follow.follow
        && (a.findings.is_some() || a.paths.iter().any(|p| crate::ingest::stdin::is_dash(p)))
    {
        anyhow::bail!(
            "--follow watches evidence folders: it cannot be used with --findings or standard input (-)"
        );
    }
    if a.paths.is_empty() && a.findings.is_none() {
        bail!("give the evidence to open: svchop open PATH... (or --findings FILE)");
    }
    for p in a.paths.iter().chain(a.findings.iter()) {
        if !p.exists() && !crate::ingest::stdin::is_dash(p) {
            bail!("{} does not exist", p.display());
        }
    }
    let imported = a.findings.as_deref().map(read_findings).transpose()?;
    let detector = a.detect.detector()?;
    // Imported findings name the profile that made them; the allow-list still applies on top.
    let profile = imported
        .as_ref()
        .and_then(|i| i.findings.first())
        .map_or_else(|| detector.profile.name.clone(), |f| f.profile.clone());
    let mut evidence: Vec<PathBuf> = a.paths.clone();
    evidence.extend(a.findings.iter().cloned());
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| crate::case::persist::case_name(&evidence));
    let cwd = std::env::current_dir()?;
    let path = a
        .case
        .clone()
        .unwrap_or_else(|| crate::case::persist::default_case_path(&name, &cwd));
    let sources = crate::case::CaseSources {
        // Absolute, so `svchop export CASE` works from any folder.
        paths: evidence
            .iter()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .map(|p| p.display().to_string())
            .collect(),
        demo: None,
        profile,
        allowlist_files: a
            .detect
            .allowlists
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    let case = case_for(&path, &name, sources, &evidence, detector.allowlist.clone())?;
    let options = workbench_options(a.input().load_options()?, detector);
    needs_terminal()?;
    let _lock = crate::case::persist::lock(&path)?;
    let closed = crate::tui::run(crate::tui::OpenConfig {
        evidence: match imported {
            Some(imported) => Evidence::Findings {
                imported,
                paths: a.paths.clone(),
            },
            None => Evidence::Paths(a.paths.clone()),
        },
        options,
        case,
        zone: a.tz,
        follow: a.follow.follow.then(|| a.follow.settings()),
    })?;
    let code = after_workbench(&closed.saves, &path);
    Ok(match closed.load_failed {
        // README: nothing readable exits 2, whatever the analyst did before quitting.
        Some(why) => {
            eprintln!("svchop: {why}");
            ExitCode::from(2)
        }
        None => code,
    })
}

/// How many findings the built-in and file allow-lists suppress the workbench keeps per host
/// (shown as `~` rows); the rest are counted (routine installs such as Defender's update driver
/// make hundreds of thousands in a large collection). Findings the analyst allow-lists in the
/// case are never dropped.
pub(super) const WORKBENCH_SUPPRESSED_PER_HOST: usize = 20;

/// How the workbench opens evidence: every event (the panes show them), suppressed findings kept
/// (marked `~`, up to `WORKBENCH_SUPPRESSED_PER_HOST` a host), the first files' findings shown
/// early on a large collection.
pub(super) fn workbench_options(load: LoadOptions, detector: Detector) -> Options {
    Options {
        suppressed_per_host: WORKBENCH_SUPPRESSED_PER_HOST,
        early_results_above: Some(crate::ingest::PARTIAL_MIN_BYTES),
        pivots: true,
        ..Options::scan_with(Some(detector), load)
    }
}

pub(super) fn demo(a: &DemoArgs) -> Result<ExitCode> {
    let opts = crate::demo::DemoOptions {
        hosts: (a.hosts as usize).max(8),
        days: a.days.max(1),
        seed: a.seed,
        noise_per_day: a.noise as usize,
    };
    let case = crate::demo::generate(&opts);
    if let Some(dir) = &a.write {
        crate::demo::write(&case, dir)
            .with_context(|| format!("cannot write the demo case to {}", dir.display()))?;
        emit(&format!(
            "wrote {} records in {} files to {} (ground truth: ground-truth.tsv)\nnext: svchop scan {}\n",
            case.records(),
            case.files.len(),
            dir.display(),
            dir.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let detector = a.detect.detector()?;
    if !a.headless && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        let cwd = std::env::current_dir()?;
        let path = a
            .case
            .clone()
            .unwrap_or_else(|| crate::case::persist::default_case_path("svchop-demo", &cwd));
        let sources = crate::case::CaseSources {
            paths: Vec::new(),
            demo: Some(opts.clone()),
            profile: detector.profile.name.clone(),
            allowlist_files: vec![],
        };
        let handle = case_for(
            &path,
            "svchop-demo",
            sources,
            &[],
            detector.allowlist.clone(),
        )?;
        let _lock = crate::case::persist::lock(&path)?;
        let closed = crate::tui::run(crate::tui::OpenConfig {
            evidence: Evidence::Demo(Box::new(case)),
            options: workbench_options(LoadOptions::default(), detector),
            case: handle,
            zone: a.tz,
            follow: None,
        })?;
        return Ok(after_workbench(&closed.saves, &path));
    }
    let (records, chains) = (case.records(), case.chains.len());
    let options = Options {
        suppressed_per_host: 0,
        ..Options::scan_with(
            Some(detector),
            LoadOptions {
                typed_only: true,
                ..LoadOptions::default()
            },
        )
    };
    let opened = Investigation::open(Evidence::Demo(Box::new(case)), &options, &|_| {})?;
    let mut out = Stdout::new();
    std::io::Write::write_all(
        &mut out,
        format!(
            "svchop demo: {} hosts, {} days, seed {}: {} records, {} attack chains generated\n\n",
            opts.hosts, opts.days, opts.seed, records, chains
        )
        .as_bytes(),
    )?;
    let listing = Listing {
        width: crate::tui::terminal::stdout_width(),
        footer: Footer::Demo,
        ..Listing::new("default", crate::model::time::DisplayZone::Utc)
    };
    let mut sink = findings_sink(FindingsFormat::Table, listing, &mut out);
    write_all(sink.as_mut(), &opened.findings)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::after_workbench;
    use crate::tui::state::Saves;

    #[test]
    fn only_a_save_that_happened_is_called_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.svchop-case.json");
        let code = |s: Saves| format!("{:?}", after_workbench(&s, &path));
        let ok = format!("{:?}", std::process::ExitCode::SUCCESS);
        assert_eq!(
            code(Saves::default()),
            ok,
            "no change: fine, nothing claimed"
        );
        let failed = Saves {
            changed: true,
            failed: Some("No space left on device".into()),
        };
        assert_ne!(code(failed), ok, "the last change is not on disk: non-zero");
    }
}
