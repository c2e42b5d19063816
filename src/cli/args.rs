//! What was typed: clap arguments of every command, and how they turn into load options and a
//! detector (`InputArgs::open` opens the evidence through the one pipeline).

use crate::detect::allowlist::Allowlist;
use crate::detect::{Detector, Severity};
use crate::ingest::{LoadOptions, Shape};
use crate::investigation::{Evidence, Investigation, Options};
use crate::model::time::DisplayZone;
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Colour in the workbench: auto (unless `NO_COLOR` is set), always, never. svchop's other
    /// output is plain text.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A shell completion script.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Opening the workbench.
#[derive(Args, Debug, Clone)]
pub struct OpenArgs {
    /// EVTX or JSON files, or folders (searched recursively).
    pub paths: Vec<PathBuf>,
    /// Force the JSON record shape instead of detecting it per record.
    #[arg(long, value_enum)]
    pub input_format: Option<Shape>,
    /// Read zone-less timestamps at this UTC offset (`+02:00`, `-04:00`, `UTC`) instead of inferring it.
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub assume_tz: Option<String>,
    /// Password of encrypted zip archives (Velociraptor collections); else `SVCHOP_ARCHIVE_PASSWORD`.
    #[arg(long, value_name = "PASSWORD")]
    pub archive_password: Option<String>,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Case file (created if missing). Default: `<name>.svchop-case.json` in the working directory.
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Case name (default: the first path's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Show times in this zone (z cycles UTC / local / this zone in the workbench).
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone, allow_hyphen_values = true)]
    pub tz: DisplayZone,
    /// Triage findings made elsewhere (the Spark job's output folder, or `svchop scan --format
    /// jsonl|json`) instead of scanning; PATHs, when given, supply the events of their hosts.
    #[arg(long, value_name = "FILE|DIR")]
    pub findings: Option<PathBuf>,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Md,
    Json,
    /// ATT&CK Navigator layer of the case's techniques.
    AttackLayer,
    /// The case's allow-list decisions as an allow-list file (TOML, the form of
    /// assets/allowlist.toml), for `--allowlist` on any machine.
    Allowlist,
}

impl From<ExportFormat> for crate::sink::report::ReportFormat {
    fn from(f: ExportFormat) -> Self {
        use crate::sink::report::ReportFormat as R;
        match f {
            ExportFormat::Md => R::Md,
            ExportFormat::Json => R::Json,
            ExportFormat::AttackLayer => R::AttackLayer,
            ExportFormat::Allowlist => R::Allowlist,
        }
    }
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
    /// Only events at or after this time (`2020-10-19`, `"2020-10-19 13:05"`, RFC 3339; without
    /// an offset, in the --tz zone).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events at or before this time (a date alone: to the end of that day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
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
    /// Markdown: the summary table, the indicators and a few lines a finding, under 30,000
    /// characters (what a ticket field takes).
    #[arg(long)]
    pub compact: bool,
    /// Only findings of this severity and above.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub min_severity: Option<crate::detect::Severity>,
    /// Only this finding (repeat for several).
    #[arg(long = "finding", value_name = "ID")]
    pub findings: Vec<String>,
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
    /// A scan in phases for a fleet too large for one machine (the Spark job runs these):
    /// facts of each part, merged, findings host group by host group, ranked together.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Print a completion script for a shell on standard output
    /// (`svchop completions bash > /etc/bash_completion.d/svchop`).
    Completions(CompletionsArgs),
    /// Print svchop's manual page (roff) on standard output (`svchop man | man -l -`).
    Man,
    /// The settings every command reads from the config file
    /// (`$XDG_CONFIG_HOME/svchop/config.toml`, else `~/.config/svchop/config.toml`, or the file
    /// `SVCHOP_CONFIG` names): default profile, display zone, colour, mouse, allow-list files
    /// and keymap overrides.
    Config(ConfigArgs),
}

/// `svchop config`.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Print the effective settings as a config file, each with where it came from (the
    /// default).
    #[arg(long)]
    pub print: bool,
    /// Print only where the config file is (or would be).
    #[arg(long, conflicts_with = "print")]
    pub path: bool,
}

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Phase 1: the collection-wide facts of some events (rows of any hosts, in any order).
    Facts(FleetFactsArgs),
    /// Merge facts files (or folders of them) into the facts of the whole collection.
    Merge(FleetMergeArgs),
    /// Phase 2: the findings of the hosts in the input (all of each host's events), given the
    /// merged facts, as JSON lines for `svchop fleet rank`.
    Scan(FleetScanArgs),
    /// Phase 3: the findings of every host group ranked together, sources that moved to many
    /// targets tagged; printed as `svchop scan` prints.
    Rank(FleetRankArgs),
}

#[derive(Args, Debug)]
pub struct FleetFactsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Write the facts here (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

#[derive(Args, Debug)]
pub struct FleetMergeArgs {
    /// Facts files, or folders of `*.json` facts files.
    #[arg(required = true)]
    pub facts: Vec<PathBuf>,
    /// Write the merged facts here (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// The inputs are not every part of the collection: keep everything, to merge again later
    /// (facts of the whole collection are trimmed to what host scans read).
    #[arg(long)]
    pub partial: bool,
}

#[derive(Args, Debug)]
pub struct FleetScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// The merged facts of the whole collection (`svchop fleet merge`).
    #[arg(long, value_name = "FILE")]
    pub facts: PathBuf,
    /// Also keep findings an allow-list entry suppressed (marked with the entry).
    #[arg(long)]
    pub show_suppressed: bool,
}

#[derive(Args, Debug)]
pub struct FleetRankArgs {
    /// Findings of `svchop fleet scan` runs: JSON lines files, or folders of them.
    #[arg(required = true)]
    pub findings: Vec<PathBuf>,
    #[command(flatten)]
    pub detect: DetectArgs,
    #[command(flatten)]
    pub output: FindingsOutput,
    /// Show times in this zone: UTC (default), local, +HH:MM, or an IANA name (Europe/Berlin).
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone, allow_hyphen_values = true)]
    pub tz: DisplayZone,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Write the profile's correlation, windows and exclusions, with the allow-list as filters.
    Export(RulesExportArgs),
}

#[derive(Args, Debug)]
pub struct RulesExportArgs {
    #[arg(long, value_enum)]
    pub to: crate::rules::Target,
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
    /// Part files: JSON lines, or Parquet (what a data lake holds; Spark reads either).
    #[arg(long, value_enum, default_value_t = crate::sink::normalized::TableFormat::Jsonl)]
    pub format: crate::sink::normalized::TableFormat,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Write the case as JSON lines (one folder per host) into DIR instead of scanning it.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// Number of hosts (8 to 100,000: DC01, FS01, ADMIN01 and workstations).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub hosts: u32,
    /// Days of activity (1 to 366).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Benign events per host per day (up to 100,000).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub noise: u32,
    /// Print the findings table instead of opening the workbench.
    #[arg(long)]
    pub headless: bool,
    /// Case file for the workbench (default: svchop-demo.svchop-case.json in the working directory).
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Show times in this zone: UTC (default), local, +HH:MM, or an IANA name.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone, allow_hyphen_values = true)]
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

impl From<ScanFormat> for crate::sink::FindingsFormat {
    fn from(f: ScanFormat) -> Self {
        use crate::sink::FindingsFormat as F;
        match f {
            ScanFormat::Table => F::Table,
            ScanFormat::Json => F::Json,
            ScanFormat::Jsonl => F::Jsonl,
            ScanFormat::Csv => F::Csv,
            ScanFormat::Md => F::Md,
        }
    }
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
    /// Apply this case's allow-list decisions (those made in the workbench) and list the
    /// findings in its order, as the workbench and `svchop export` do.
    #[arg(long, value_name = "CASE")]
    pub case: Option<PathBuf>,
    #[command(flatten)]
    pub output: FindingsOutput,
    #[command(flatten)]
    pub follow: FollowArgs,
}

/// Following folders as evidence lands in them (`scan --follow`, `open --follow`).
#[derive(Args, Debug, Clone)]
pub struct FollowArgs {
    /// Keep watching the folders: new files, JSON lines appended to, EVTX files replaced by a
    /// newer copy are read as they land, and the findings updated (`scan` prints each change;
    /// ctrl-c ends it, exit 0).
    #[arg(long)]
    pub follow: bool,
    /// With --follow: how long a file's size and time must stay the same before it is read
    /// (a file moved in by a rename is read at once).
    #[arg(long, value_name = "MS", default_value_t = 500, requires = "follow")]
    pub settle_ms: u64,
    /// With --follow: walk the folders every 250 ms without the system's file notifications
    /// (network shares, where they do not arrive).
    #[arg(long, requires = "follow")]
    pub poll: bool,
}

impl ScanArgs {
    /// The case `--case` names.
    pub fn case(&self) -> Result<Option<crate::case::Case>> {
        self.case
            .as_deref()
            .map(|p| {
                crate::case::persist::load(p)?
                    .with_context(|| format!("{} does not exist", p.display()))
            })
            .transpose()
    }
}

impl FollowArgs {
    pub fn settings(&self) -> crate::live::watch::Settings {
        let d = crate::live::watch::Settings::default();
        crate::live::watch::Settings {
            settle: std::time::Duration::from_millis(self.settle_ms),
            poll_only: self.poll,
            ..d
        }
    }
}

/// How findings are printed (`svchop scan`, `svchop fleet rank`).
#[derive(Args, Debug)]
pub struct FindingsOutput {
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
        // The allow-list files of the config file, then those given on the command line.
        let configured = &crate::config::current().allowlists.value;
        for path in configured.iter().chain(&self.allowlists) {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read allow-list {}", path.display()))?;
            // A case file's allow-list decisions (the workbench's), as the case holds them.
            if text.trim_start().starts_with('{') {
                let case = crate::case::persist::load(path)?
                    .with_context(|| format!("{} does not exist", path.display()))?;
                d.allowlist.extend(case.allowlist());
                continue;
            }
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
    #[arg(long, value_enum)]
    pub input_format: Option<Shape>,
    /// Read zone-less timestamps at this UTC offset (`+02:00`, `-04:00`, `UTC`) instead of inferring it.
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub assume_tz: Option<String>,
    /// Password of encrypted zip archives (Velociraptor collections); else `SVCHOP_ARCHIVE_PASSWORD`.
    #[arg(long, value_name = "PASSWORD")]
    pub archive_password: Option<String>,
    /// Show times in this zone: UTC (default), local, +HH:MM, or an IANA name (Europe/Berlin).
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone, allow_hyphen_values = true)]
    pub tz: DisplayZone,
}

fn parse_zone(s: &str) -> std::result::Result<DisplayZone, String> {
    DisplayZone::parse(s)
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
    /// Only events at or after this time (`2020-10-19`, `"2020-10-19 13:05"`, RFC 3339; without
    /// an offset, in the --tz zone).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events at or before this time (a date alone: to the end of that day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
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

/// A time range's bounds; `None` is open.
pub type TimeRange = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// `--since`/`--until` as instants (a time without an offset in `zone`).
pub fn time_range(
    since: Option<&str>,
    until: Option<&str>,
    zone: crate::model::time::DisplayZone,
) -> Result<TimeRange> {
    let parse = |v: Option<&str>, end: bool| {
        v.map(|v| crate::filter::bound(v, zone, end))
            .transpose()
            .map_err(|e| anyhow::anyhow!(e))
    };
    Ok((parse(since, false)?, parse(until, true)?))
}

impl InputArgs {
    pub fn load_options(&self) -> Result<LoadOptions> {
        Ok(LoadOptions {
            forced_shape: self.input_format,
            assume_offset: self
                .assume_tz
                .as_deref()
                .map(crate::model::time::parse_offset)
                .transpose()
                .map_err(anyhow::Error::msg)?,
            archive: crate::ingest::archive::ArchiveOptions {
                password: self
                    .archive_password
                    .clone()
                    .or_else(|| std::env::var("SVCHOP_ARCHIVE_PASSWORD").ok())
                    .filter(|p| !p.is_empty()),
                ..Default::default()
            },
            ..LoadOptions::default()
        })
    }

    /// Opens the evidence through the one pipeline (scanned when a detector is given); an
    /// error when not one record could be read.
    pub fn open(&self, detector: Option<Detector>, how: OpenFor) -> Result<Investigation> {
        self.open_in_case(detector, how, None)
    }

    /// `open`, with the analyst's case applied (its allow-list decisions and order).
    pub fn open_in_case(
        &self,
        detector: Option<Detector>,
        how: OpenFor,
        case: Option<crate::case::Case>,
    ) -> Result<Investigation> {
        self.check_paths()?;
        let options = Options {
            case,
            suppressed_per_host: match how.suppressed {
                Suppressed::Keep => usize::MAX,
                Suppressed::Drop => 0,
            },
            ..Options::scan_with(
                detector,
                LoadOptions {
                    typed_only: how.fields == Fields::Typed,
                    ..self.load_options()?
                },
            )
        };
        Ok(Investigation::open(
            Evidence::Paths(self.paths.clone()),
            &options,
            &|_| {},
        )?)
    }

    pub(super) fn check_paths(&self) -> Result<()> {
        for p in &self.paths {
            if !p.exists() && !crate::ingest::stdin::is_dash(p) {
                bail!("{} does not exist", p.display());
            }
        }
        Ok(())
    }
}

/// What a command reads the evidence for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFor {
    pub fields: Fields,
    pub suppressed: Suppressed,
}

/// Which fields of each event a command keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// Only what the detections read: the command prints findings or counts, never events.
    Typed,
    /// Every field: the command shows events.
    All,
}

/// Whether a command keeps the findings the allow-list suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    Keep,
    Drop,
}

impl OpenFor {
    /// Counts and formats of the files (`sources`, `coverage`).
    pub const FILES: OpenFor = OpenFor {
        fields: Fields::Typed,
        suppressed: Suppressed::Drop,
    };
    /// Events shown whole (`events`, `normalize`).
    pub const EVENTS: OpenFor = OpenFor {
        fields: Fields::All,
        suppressed: Suppressed::Drop,
    };
}

impl OpenArgs {
    pub fn input(&self) -> InputArgs {
        InputArgs {
            paths: self.paths.clone(),
            input_format: self.input_format,
            assume_tz: self.assume_tz.clone(),
            archive_password: self.archive_password.clone(),
            tz: self.tz,
        }
    }
}
