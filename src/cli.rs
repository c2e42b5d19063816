//! The command line: clap `Args` record what was typed; `run` resolves them and calls the core.
//! Exit codes are interface: 0 the run worked (with or without findings), 1 a finding reached
//! `--fail-on`, 2 usage error or nothing readable.

use crate::detect::allowlist::Allowlist;
use crate::detect::finding::Finding;
use crate::detect::{Detector, Severity};
use crate::export::csv_out::findings_csv;
use crate::export::markdown::findings_md;
use crate::export::table::findings_table;
use crate::ingest::{LoadOptions, Shape};
use crate::investigation::{Evidence, Investigation, Options};
use crate::model::describe::summary;
use crate::model::host::host_key;
use crate::model::time::DisplayZone;
use crate::output::{Column, emit, json_safe, table};
use anyhow::{Context, Result, bail};
use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "svchop",
    version,
    about = "Investigate remote service-based lateral movement (PsExec & co.) in Windows event logs",
    args_conflicts_with_subcommands = true,
    after_help = "With paths and no command, svchop opens the workbench: `svchop PATH...` = `svchop open PATH...`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub open: OpenArgs,
}

/// Opening the workbench.
#[derive(Args, Debug, Clone)]
pub struct OpenArgs {
    /// EVTX or JSON files, or folders (searched recursively).
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,
    #[arg(long, value_name = "OFFSET")]
    pub assume_tz: Option<String>,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Case file (created if missing). Default: `<name>.svchop-case.json` in the working directory.
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Case name (default: the first path's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Show times in this zone (z cycles UTC / local / this zone in the workbench).
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub tz: DisplayZone,
    /// Triage findings made elsewhere (the Spark job's output folder, or `svchop scan --format
    /// jsonl|json`) instead of scanning; PATHs, when given, supply the events of their hosts.
    #[arg(long, value_name = "FILE|DIR")]
    pub findings: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Md,
    Json,
    /// ATT&CK Navigator layer of the case's techniques.
    AttackLayer,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineFormat {
    Timesketch,
    Csv,
    Jsonl,
}

#[derive(Args, Debug)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
    #[arg(long, value_enum)]
    pub format: TimelineFormat,
    /// Only events of this host.
    #[arg(long)]
    pub host: Option<String>,
    /// Only events that belong to a finding.
    #[arg(long)]
    pub findings_only: bool,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A case file written by the workbench.
    pub case: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
    pub format: ExportFormat,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the normalized events in time order (the debugging and pivot view of the model).
    Events(EventsArgs),
    /// Print, per file, the detected format and how many records were read, kept and skipped.
    Sources(SourcesArgs),
    /// Detect remote service-based lateral movement and print findings sorted by score.
    Scan(ScanArgs),
    /// Per host: which logs and event ids are present, over what time, and which stages of the
    /// chain cannot be seen because the logs that would show them are absent.
    Coverage(SourcesArgs),
    /// A timeline of the events (Timesketch JSONL, Timeline Explorer CSV, JSON lines), with the
    /// finding, stage and severity of every event that belongs to a finding.
    Timeline(TimelineArgs),
    /// Open the investigation workbench (terminal UI) on the sources.
    Open(OpenArgs),
    /// Export a case's notes: findings, timelines, scores, triage, notes, allow-list decisions.
    Export(ExportArgs),
    /// The profile in use as rules for other engines (Sigma, KQL, EQL, SPL, a PySpark job).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write the normalized events as a table (JSON lines parts + manifest) for data-lake engines:
    /// the input of the Spark job from `svchop rules export --to spark`.
    Normalize(NormalizeArgs),
    /// The built-in demo case: a synthetic domain with benign noise and attacks by several tools.
    Demo(DemoArgs),
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Write the profile's correlation, windows and exclusions, with the allow-list as filters.
    Export(RulesExportArgs),
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesTarget {
    /// Sigma base rules and a Sigma v2 `temporal_ordered` correlation (YAML stream).
    Sigma,
    /// Microsoft Sentinel / Defender XDR query.
    Kql,
    /// Elastic EQL sequence.
    Eql,
    /// Splunk search.
    Spl,
    /// PySpark job over `svchop normalize` tables, writing svchop findings.
    Spark,
}

#[derive(Args, Debug)]
pub struct RulesExportArgs {
    #[arg(long, value_enum)]
    pub to: RulesTarget,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Write here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct NormalizeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder for the table (created; must be empty, new, or an earlier svchop table).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Write the case as JSON lines (one folder per host) into DIR instead of scanning it.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// Number of hosts (at least 8: DC01, FS01, ADMIN01 and workstations).
    #[arg(long, default_value_t = 8)]
    pub hosts: usize,
    /// Days of activity.
    #[arg(long, default_value_t = 2)]
    pub days: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Benign events per host per day.
    #[arg(long, default_value_t = 120)]
    pub noise: usize,
    /// Print the findings table instead of opening the workbench.
    #[arg(long)]
    pub headless: bool,
    /// Case file for the workbench (default: svchop-demo.svchop-case.json in the working directory).
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Show times in this zone: UTC (default), local, +HH:MM, or an IANA name.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub tz: DisplayZone,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Table,
    Json,
    Jsonl,
    Csv,
    Md,
}

/// Which rules, allow-list and thresholds a detection run uses.
#[derive(Args, Debug, Clone)]
pub struct DetectArgs {
    /// Rule profile: default, sentinel, elastic, otrf, sigma, hunt, or a TOML file of the same
    /// form as assets/profiles/*.toml (a tuned copy).
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// An allow-list file (TOML, same form as assets/allowlist.toml) added to the default one.
    #[arg(long = "allowlist", value_name = "FILE")]
    pub allowlists: Vec<PathBuf>,
    /// Do not use the built-in allow-list.
    #[arg(long)]
    pub no_default_allowlist: bool,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Only findings at or above this severity (low, medium, high, critical).
    #[arg(long, value_parser = parse_severity)]
    pub min_severity: Option<Severity>,
    /// Exit with status 1 when a (not suppressed) finding reaches this severity.
    #[arg(long, value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Also list findings an allow-list entry suppressed (with the entry).
    #[arg(long)]
    pub show_suppressed: bool,
}

fn parse_severity(s: &str) -> std::result::Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("severity must be low, medium, high or critical, got {s:?}"))
}

impl DetectArgs {
    pub fn detector(&self) -> Result<Detector> {
        let mut d = Detector::with_profile(&self.profile)?;
        if self.no_default_allowlist {
            d.allowlist = Allowlist::default();
        }
        for path in &self.allowlists {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read allow-list {}", path.display()))?;
            d.allowlist
                .extend(Allowlist::from_toml(&text, &path.display().to_string())?);
        }
        Ok(d)
    }
}

/// Where the evidence is and how to read it.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// EVTX or JSON files, or folders (searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Force the JSON record shape instead of detecting it per record.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,
    /// Read zone-less timestamps at this UTC offset (`+02:00`, `-04:00`, `UTC`) instead of inferring it.
    #[arg(long, value_name = "OFFSET")]
    pub assume_tz: Option<String>,
    /// Show times in this zone: UTC (default), local, +HH:MM, or an IANA name (Europe/Berlin).
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub tz: DisplayZone,
}

fn parse_zone(s: &str) -> std::result::Result<DisplayZone, String> {
    DisplayZone::parse(s)
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Auto,
    /// evtx_dump / Velociraptor JSON (`Event.System`, `Event.EventData`).
    EvtxJson,
    /// Elastic winlogbeat / Elastic Agent (ECS).
    Ecs,
    /// Security-Datasets (Mordor) / NXLog flat records.
    Mordor,
    /// Microsoft Sentinel SecurityEvent / Event rows.
    Sentinel,
    /// Microsoft Defender DeviceProcessEvents / DeviceEvents.
    Defender,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsFormat {
    Jsonl,
    Table,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourcesFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Only events of this host (any form: `WS01`, `ws01.corp.local`).
    #[arg(long)]
    pub host: Option<String>,
    /// Only these event ids (repeatable).
    #[arg(long = "event-id")]
    pub event_ids: Vec<u16>,
    #[arg(long, value_enum, default_value_t = EventsFormat::Table)]
    pub format: EventsFormat,
}

#[derive(Args, Debug)]
pub struct SourcesArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_enum, default_value_t = SourcesFormat::Table)]
    pub format: SourcesFormat,
}

/// Parses `+02:00`, `-0400`, `UTC`, `Z`.
pub fn parse_offset(text: &str) -> Result<TimeDelta> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(TimeDelta::zero());
    }
    let (sign, rest) = match t.chars().next() {
        Some('+') => (1, &t[1..]),
        Some('-') => (-1, &t[1..]),
        _ => bail!("offset must look like +02:00, -04:00 or UTC, got {t:?}"),
    };
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i64>()?, 0),
        4 => (digits[..2].parse::<i64>()?, digits[2..].parse::<i64>()?),
        _ => bail!("offset must look like +02:00, -04:00 or UTC, got {t:?}"),
    };
    if h > 14 || m > 59 {
        bail!("offset out of range: {t:?}");
    }
    TimeDelta::try_seconds(sign * (h * 3600 + m * 60)).context("offset out of range")
}

impl InputArgs {
    pub fn load_options(&self) -> Result<LoadOptions> {
        Ok(LoadOptions {
            forced_shape: match self.input_format {
                InputFormat::Auto => None,
                InputFormat::EvtxJson => Some(Shape::EvtxJson),
                InputFormat::Ecs => Some(Shape::Ecs),
                InputFormat::Mordor => Some(Shape::Mordor),
                InputFormat::Sentinel => Some(Shape::Sentinel),
                InputFormat::Defender => Some(Shape::Defender),
            },
            assume_offset: self.assume_tz.as_deref().map(parse_offset).transpose()?,
            ..LoadOptions::default()
        })
    }

    /// Opens the evidence through the one pipeline (scanned when a detector is given); an
    /// error when not one record could be read. A command that prints no events
    /// (`shows_events` false) keeps only what the detections read.
    pub fn open(
        &self,
        detector: Option<Detector>,
        shows_events: bool,
        keep_suppressed: bool,
    ) -> Result<Investigation> {
        self.check_paths()?;
        let options = Options {
            load: LoadOptions {
                typed_only: !shows_events,
                ..self.load_options()?
            },
            detector,
            suppressed_per_host: if keep_suppressed { usize::MAX } else { 0 },
            early_results_above: None,
        };
        Ok(Investigation::open(
            Evidence::Paths(self.paths.clone()),
            &options,
            &|_| {},
        )?)
    }

    fn check_paths(&self) -> Result<()> {
        for p in &self.paths {
            if !p.exists() {
                bail!("{} does not exist", p.display());
            }
        }
        Ok(())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("svchop: {e:#}");
            ExitCode::from(2)
        }
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Command::Events(a)) => events(&a),
        Some(Command::Sources(a)) => sources(&a),
        Some(Command::Scan(a)) => scan(&a),
        Some(Command::Demo(a)) => demo(&a),
        Some(Command::Open(a)) => open(&a),
        Some(Command::Coverage(a)) => coverage(&a),
        Some(Command::Timeline(a)) => timeline(&a),
        Some(Command::Export(a)) => export(&a),
        Some(Command::Normalize(a)) => normalize(&a),
        Some(Command::Rules(RulesCommand::Export(a))) => rules_export(&a),
        None if !cli.open.paths.is_empty() || cli.open.findings.is_some() => open(&cli.open),
        None => bail!("give paths to open the workbench, or a command (svchop --help)"),
    }
}

impl OpenArgs {
    fn input(&self) -> InputArgs {
        InputArgs {
            paths: self.paths.clone(),
            input_format: self.input_format,
            assume_tz: self.assume_tz.clone(),
            tz: self.tz,
        }
    }
}

/// The case for a run: loaded from its file when it exists (refusing damaged or foreign files),
/// else new; never inside the evidence; its folder must be writable.
fn case_for(
    path: &std::path::Path,
    name: &str,
    sources: crate::case::CaseSources,
    evidence: &[PathBuf],
    base: Allowlist,
) -> Result<crate::tui::state::CaseHandle> {
    use crate::case::persist;
    persist::check_not_in_evidence(path, evidence)?;
    let case = if let Some(c) = persist::load(path)? {
        c
    } else {
        persist::check_writable(path)?;
        crate::case::Case::new(name, sources)
    };
    Ok(crate::tui::state::CaseHandle {
        case,
        path: path.to_path_buf(),
        base_allowlist: base,
    })
}

/// Reads an imported findings file and says on stderr how many were read and skipped.
fn read_findings(f: &std::path::Path) -> Result<crate::case::imported::Imported> {
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

fn open(a: &OpenArgs) -> Result<ExitCode> {
    if a.paths.is_empty() && a.findings.is_none() {
        bail!("give the evidence to open: svchop open PATH... (or --findings FILE)");
    }
    for p in a.paths.iter().chain(a.findings.iter()) {
        if !p.exists() {
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
        paths: evidence.iter().map(|p| p.display().to_string()).collect(),
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
    crate::tui::run(crate::tui::OpenConfig {
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
    })?;
    eprintln!("svchop: case saved in {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// How many findings the built-in and file allow-lists suppress the workbench keeps per host
/// (shown as `~` rows); the rest are counted (routine installs such as Defender's update driver
/// make hundreds of thousands in a large collection). Findings the analyst allow-lists in the
/// case are never dropped.
const WORKBENCH_SUPPRESSED_PER_HOST: usize = 20;

/// How the workbench opens evidence: every event (the panes show them), suppressed findings kept
/// (marked `~`, up to `WORKBENCH_SUPPRESSED_PER_HOST` a host), the first files' findings shown
/// early on a large collection.
fn workbench_options(load: LoadOptions, detector: Detector) -> Options {
    Options {
        load,
        detector: Some(detector),
        suppressed_per_host: WORKBENCH_SUPPRESSED_PER_HOST,
        early_results_above: Some(crate::ingest::PARTIAL_MIN_BYTES),
    }
}

fn export(a: &ExportArgs) -> Result<ExitCode> {
    let case = crate::case::persist::load(&a.case)?
        .with_context(|| format!("{} does not exist", a.case.display()))?;
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
    let input = InputArgs {
        paths: case.sources.paths.iter().map(PathBuf::from).collect(),
        input_format: InputFormat::Auto,
        assume_tz: None,
        tz: DisplayZone::Utc,
    };
    let base = detector.allowlist.clone();
    let mut findings = if input.paths.iter().any(|p| p.as_os_str() == "demo:") {
        let options = Options {
            load: LoadOptions::default(),
            detector: Some(detector),
            suppressed_per_host: usize::MAX,
            early_results_above: None,
        };
        let demo = crate::demo::generate(&crate::demo::DemoOptions::default());
        Investigation::open(Evidence::Demo(Box::new(demo)), &options, &|_| {})?.findings
    } else {
        input.open(Some(detector), false, true)?.findings
    };
    case.apply(&base, &mut findings);
    let playbook = crate::case::playbook::Playbook::builtin()?;
    let text = match a.format {
        ExportFormat::Md => crate::case::export::report_md(&case, &findings, &playbook),
        ExportFormat::AttackLayer => format!(
            "{}\n",
            json_safe(serde_json::to_string_pretty(
                &crate::export::attack_layer::layer(&case.name, &findings)
            )?)
        ),
        ExportFormat::Json => format!(
            "{}\n",
            json_safe(serde_json::to_string_pretty(
                &crate::case::export::report_json(&case, &findings, &playbook)
            )?)
        ),
    };
    match &a.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
        }
        None => {
            emit(&text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn events(a: &EventsArgs) -> Result<ExitCode> {
    let loaded = a.input.open(None, true, false)?;
    let host = a.host.as_deref().map(host_key);
    let store = &loaded.store;
    let mut evs: Vec<crate::model::Event> = (0..store.len())
        .filter(|&i| {
            a.event_ids.is_empty()
                || store
                    .event_id(i)
                    .is_some_and(|id| a.event_ids.contains(&id))
        })
        .filter_map(|i| store.get(i))
        .filter(|e| host.as_deref().is_none_or(|h| &*e.host.key == h))
        .collect();
    evs.sort_by(|x, y| x.ts.cmp(&y.ts).then(x.host.key.cmp(&y.host.key)));
    match a.format {
        EventsFormat::Jsonl => {
            let mut out = String::new();
            for e in &evs {
                out.push_str(&json_safe(serde_json::to_string(e)?));
                out.push('\n');
                if out.len() > 1 << 20 && !emit(&std::mem::take(&mut out))? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            emit(&out)?;
        }
        EventsFormat::Table => {
            let cols = [
                Column {
                    header: "TIME",
                    max: 30,
                },
                Column {
                    header: "HOST",
                    max: 16,
                },
                Column {
                    header: "CH",
                    max: 6,
                },
                Column {
                    header: "ID",
                    max: 5,
                },
                Column {
                    header: "SUMMARY",
                    max: 120,
                },
            ];
            let rows: Vec<Vec<String>> = evs
                .iter()
                .map(|e| {
                    vec![
                        a.input.tz.fmt(e.ts),
                        e.host.display.to_string(),
                        e.channel.short().to_string(),
                        e.event_id.to_string(),
                        summary(e),
                    ]
                })
                .collect();
            emit(&table(&cols, &rows))?;
        }
    }
    report_problems(&loaded.report);
    Ok(ExitCode::SUCCESS)
}

/// One line on stderr about damaged input, so stdout stays clean for pipelines.
fn report_problems(r: &crate::ingest::report::IngestReport) {
    if r.records_skipped() > 0 || r.files_with_problems() > 0 {
        eprintln!(
            "svchop: {} record(s) skipped in {} file(s) with problems; `svchop sources` lists them",
            r.records_skipped(),
            r.files_with_problems()
        );
    }
}

fn sources(a: &SourcesArgs) -> Result<ExitCode> {
    let loaded = a.input.open(None, false, false)?;
    match a.format {
        SourcesFormat::Json => {
            let v = serde_json::json!({
                "files": loaded.report.files,
                "ignored": loaded.ignored,
                "duplicates_merged": loaded.report.duplicates_merged,
            });
            emit(&format!(
                "{}\n",
                json_safe(serde_json::to_string_pretty(&v)?)
            ))?;
        }
        SourcesFormat::Table => {
            emit(&sources_table(&loaded, a.input.tz))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn timeline(a: &TimelineArgs) -> Result<ExitCode> {
    use crate::export::timeline::{csv, marks, timesketch};
    let detector = a.detect.detector()?;
    let opened = a.input.open(Some(detector), true, true)?;
    let store = &opened.store;
    let marks = marks(&opened.findings);
    let host = a.host.as_deref().map(host_key);
    let in_host = |i: usize| match &host {
        None => true,
        Some(h) => store.host_range(h).is_some_and(|r| r.contains(&i)),
    };
    let mut rows: Vec<usize> = (0..store.len())
        .filter(|&i| in_host(i))
        .filter(|i| !a.findings_only || marks.contains(*i))
        .collect();
    rows.sort_by_key(|&i| store.time(i));
    let text = match a.format {
        TimelineFormat::Csv => csv(store, &rows, &marks)?,
        TimelineFormat::Timesketch | TimelineFormat::Jsonl => {
            let mut out = String::new();
            for &i in &rows {
                let Some(e) = store.get(i) else { continue };
                let v = if a.format == TimelineFormat::Timesketch {
                    timesketch(&e, marks.get(i))
                } else {
                    let mut v = serde_json::to_value(&e)?;
                    if let (Some(m), Some(obj)) = (marks.get(i), v.as_object_mut()) {
                        obj.insert("finding_id".into(), serde_json::json!(m.finding));
                        obj.insert("stage".into(), serde_json::json!(m.stage));
                        obj.insert("severity".into(), serde_json::json!(m.severity));
                    }
                    v
                };
                out.push_str(&json_safe(serde_json::to_string(&v)?));
                out.push('\n');
            }
            out
        }
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn rules_export(a: &RulesExportArgs) -> Result<ExitCode> {
    use crate::rules::{Target, eql, export};
    let detector = a.detect.detector()?;
    let target = match a.to {
        RulesTarget::Sigma => Target::Sigma,
        RulesTarget::Kql => Target::Kql,
        RulesTarget::Eql => Target::Eql,
        RulesTarget::Spl => Target::Spl,
        RulesTarget::Spark => Target::Spark,
    };
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

fn normalize(a: &NormalizeArgs) -> Result<ExitCode> {
    if let Some(ev) = crate::case::persist::evidence_holding(&a.to, &a.input.paths) {
        bail!(
            "{} is inside the evidence ({}); svchop never writes there. Choose another --to folder",
            a.to.display(),
            ev.display()
        );
    }
    let loaded = a.input.open(None, true, false)?;
    let sources: Vec<String> = loaded.report.files.iter().map(|f| f.path.clone()).collect();
    let store = &loaded.store;
    let m = crate::export::normalized::write_table(
        (0..store.len()).filter_map(|i| store.get(i)),
        &a.to,
        sources,
    )?;
    eprintln!(
        "svchop: wrote {} event(s) in {} part(s) to {} (schema version {})",
        m.rows,
        m.parts.len(),
        a.to.display(),
        m.schema_version
    );
    report_problems(&loaded.report);
    Ok(ExitCode::SUCCESS)
}

fn coverage(a: &SourcesArgs) -> Result<ExitCode> {
    let loaded = a.input.open(None, false, false)?;
    let cov = crate::detect::coverage::coverage(&loaded.report.files);
    let text = match a.format {
        SourcesFormat::Json => format!("{}\n", json_safe(serde_json::to_string_pretty(&cov)?)),
        SourcesFormat::Table => coverage_text(&cov, a.input.tz),
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// One block per host, every line under 80 columns.
pub fn coverage_text(cov: &[crate::detect::coverage::HostCoverage], tz: DisplayZone) -> String {
    use crate::model::sanitize::clip;
    let mut out = String::new();
    for h in cov {
        let span = match (h.first, h.last) {
            (Some(a), Some(b)) => format!("{} .. {}", tz.fmt(a), tz.fmt(b)),
            _ => "time unknown".into(),
        };
        let _ = writeln!(out, "{}  {}", clip(&h.host, 30), span);
        for c in &h.channels {
            let _ = writeln!(
                out,
                "  {:<8} {:>6} records  ids {}",
                clip(crate::model::Channel::from_name(&c.channel).short(), 8),
                c.records,
                clip(&c.ids_text(), 44)
            );
        }
        if h.blind.is_empty() {
            let _ = writeln!(out, "  every stage of the chain is visible");
        }
        for b in &h.blind {
            wrap_into(
                &mut out,
                &format!("cannot see {}: {}", b.stage.label(), b.why),
            );
        }
        for n in &h.notes {
            wrap_into(&mut out, &format!("note: {n}"));
        }
        out.push('\n');
    }
    out
}

/// Word-wrapped at 78 columns, indented two (continuations four), sanitized.
fn wrap_into(out: &mut String, text: &str) {
    let safe = crate::model::sanitize::for_terminal(text);
    let mut line = String::from("  ");
    for word in safe.split_whitespace() {
        if line.chars().count() + word.chars().count() + 1 > 78 && line.trim().len() > 1 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from("    ");
        }
        line.push_str(word);
        line.push(' ');
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn sources_table(loaded: &Investigation, tz: DisplayZone) -> String {
    let cols = [
        Column {
            header: "PATH",
            max: 60,
        },
        Column {
            header: "FORMAT",
            max: 16,
        },
        Column {
            header: "READ",
            max: 8,
        },
        Column {
            header: "KEPT",
            max: 8,
        },
        Column {
            header: "SKIPPED",
            max: 8,
        },
        Column {
            header: "HOSTS",
            max: 30,
        },
        Column {
            header: "FIRST",
            max: 24,
        },
        Column {
            header: "LAST",
            max: 24,
        },
        Column {
            header: "PROBLEMS",
            max: 80,
        },
    ];
    let rows: Vec<Vec<String>> = loaded
        .report
        .files
        .iter()
        .map(|f| {
            let probs: Vec<String> = f
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.at, p.what))
                .collect();
            vec![
                f.path.clone(),
                f.format.clone(),
                f.records_read.to_string(),
                f.records_kept.to_string(),
                f.records_skipped.to_string(),
                f.hosts.iter().cloned().collect::<Vec<_>>().join(","),
                f.first.map(|t| tz.fmt(t)).unwrap_or_default(),
                f.last.map(|t| tz.fmt(t)).unwrap_or_default(),
                probs.join("; "),
            ]
        })
        .collect();
    let mut out = table(&cols, &rows);
    out.push_str(&sources_summary(loaded));
    out
}

/// The line under the sources table: totals, merged duplicates, ignored files.
fn sources_summary(loaded: &Investigation) -> String {
    let mut out = String::new();
    let r = &loaded.report;
    let _ = write!(
        out,
        "\n{} file(s): {} read, {} kept, {} skipped",
        r.files.len(),
        r.records_read(),
        r.records_kept(),
        r.records_skipped()
    );
    if r.duplicates_merged > 0 {
        let _ = write!(
            out,
            "; {} duplicate record(s) merged (same record in several files)",
            r.duplicates_merged
        );
    }
    if !loaded.ignored.is_empty() {
        let _ = write!(
            out,
            "; {} other file(s) ignored (not EVTX or JSON)",
            loaded.ignored.len()
        );
    }
    out.push('\n');
    out
}

/// The legend under every findings table (under 80 columns).
const STAGE_LEGEND: &str =
    "Stages: S source  L logon  H share  P pipe  I install  E exec  C cleanup\n";

fn demo(a: &DemoArgs) -> Result<ExitCode> {
    let opts = crate::demo::DemoOptions {
        hosts: a.hosts.max(8),
        days: a.days.max(1),
        seed: a.seed,
        noise_per_day: a.noise,
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
            paths: vec!["demo:".into()],
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
        crate::tui::run(crate::tui::OpenConfig {
            evidence: Evidence::Demo(Box::new(case)),
            options: workbench_options(LoadOptions::default(), detector),
            case: handle,
            zone: a.tz,
        })?;
        eprintln!("svchop: case saved in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let (records, chains) = (case.records(), case.chains.len());
    let options = Options {
        load: LoadOptions {
            typed_only: true,
            ..LoadOptions::default()
        },
        detector: Some(detector),
        suppressed_per_host: 0,
        early_results_above: None,
    };
    let opened = Investigation::open(Evidence::Demo(Box::new(case)), &options, &|_| {})?;
    let shown: Vec<&Finding> = opened.findings.iter().collect();
    let mut t = format!(
        "svchop demo: {} hosts, {} days, seed {}: {} records, {} attack chains generated\n\n",
        opts.hosts, opts.days, opts.seed, records, chains
    );
    t.push_str(&findings_table(&shown));
    let _ = writeln!(
        t,
        "\n{} finding(s); stages S source L logon H share P pipe I install E exec C cleanup",
        shown.len()
    );
    emit(&t)?;
    Ok(ExitCode::SUCCESS)
}

fn scan(a: &ScanArgs) -> Result<ExitCode> {
    let detector = a.detect.detector()?;
    let profile = detector.profile.name.clone();
    let loaded = a.input.open(Some(detector), false, a.show_suppressed)?;
    let (findings, dropped) = (&loaded.findings, loaded.suppressed_dropped);
    let min = a.min_severity.unwrap_or(Severity::Low);
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= min && (a.show_suppressed || !f.is_suppressed()))
        .collect();
    let suppressed = dropped + findings.iter().filter(|f| f.is_suppressed()).count();
    let text = match a.format {
        ScanFormat::Table => {
            let mut t = findings_table(&shown);
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
    report_problems(&loaded.report);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("UTC").unwrap(), TimeDelta::zero());
        assert_eq!(parse_offset("-04:00").unwrap().num_seconds(), -4 * 3600);
        assert_eq!(
            parse_offset("+0530").unwrap().num_seconds(),
            5 * 3600 + 1800
        );
        assert!(parse_offset("4").is_err());
        assert!(parse_offset("+25:00").is_err());
    }
}
