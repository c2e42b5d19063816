//! The command line: clap `Args` record what was typed; `run` resolves them and calls the core.
//! Exit codes are interface: 0 the run worked (with or without findings), 1 a finding reached
//! `--fail-on`, 2 usage error or nothing readable.

mod args;
mod events;
mod export;
mod fleet;
mod follow;
mod open;
mod scan;
mod sources;

use anyhow::{Result, bail};
pub use args::*;
use std::process::ExitCode;

pub fn main() -> ExitCode {
    // The config file first: its settings are the flags' defaults (a bad file is exit 2 with
    // its name and line, before anything runs).
    let config = match crate::config::load(&|n| crate::tui::action::Action::from_name(n).is_some())
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("svchop: {}", crate::model::sanitize::for_terminal(&e));
            return ExitCode::from(2);
        }
    };
    let cmd = config.defaults_on(<Cli as clap::CommandFactory>::command());
    crate::config::set(config);
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&cmd.get_matches()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("svchop: {}", message(&e));
            ExitCode::from(2)
        }
    };
    crate::ingest::stdin::remove_spool();
    code
}

/// The error and its causes, each said once: a cause whose text the message already holds (a
/// parse error quoted by the error that wraps it) is not repeated.
pub(super) fn message(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(c.trim()) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    crate::model::sanitize::for_terminal(&out)
        .replace("\\n", "\n")
        .trim_end()
        .to_string()
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    crate::tui::theme::set_color(match cli.color {
        ColorChoice::Auto => None,
        ColorChoice::Always => Some(true),
        ColorChoice::Never => Some(false),
    });
    match cli.command {
        Some(Command::Completions(a)) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(a.shell, &mut cmd, "svchop", &mut out);
            crate::sink::text::emit(&String::from_utf8_lossy(&out))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
            // Each command's own page after the main one (`man -l` shows them in turn).
            for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
                let name = format!("svchop-{}", sub.get_name());
                let page = sub
                    .clone()
                    .display_name(name)
                    .version(env!("CARGO_PKG_VERSION"));
                clap_mangen::Man::new(page).render(&mut out)?;
            }
            crate::sink::text::emit(&String::from_utf8_lossy(&out))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Config(a)) => {
            let c = crate::config::current();
            if a.path {
                let p = c
                    .path
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string());
                crate::sink::text::emit(&format!("{p}\n"))?;
            } else {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                crate::sink::text::emit(&c.print(no_color))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Events(a)) => events::events(&a),
        Some(Command::Sources(a)) => sources::sources(&a),
        Some(Command::Scan(a)) if a.follow.follow => follow::scan_follow(&a),
        Some(Command::Scan(a)) => scan::scan(&a),
        Some(Command::Demo(a)) => open::demo(&a),
        Some(Command::Open(a)) => open::open(&a),
        Some(Command::Coverage(a)) => sources::coverage(&a),
        Some(Command::Timeline(a)) => events::timeline(&a),
        Some(Command::Export(a)) => export::export(&a),
        Some(Command::Normalize(a)) => events::normalize(&a),
        Some(Command::Rules(RulesCommand::Export(a))) => export::rules_export(&a),
        Some(Command::Fleet(c)) => fleet::fleet(&c),
        None if !cli.open.paths.is_empty() || cli.open.findings.is_some() => open::open(&cli.open),
        None => bail!("give paths to open the workbench, or a command (svchop --help)"),
    }
}

/// One line on stderr about damaged input, so stdout stays clean for pipelines.
pub(super) fn report_problems(r: &crate::ingest::report::IngestReport) {
    if r.records_skipped() > 0 || r.files_with_problems() > 0 {
        eprintln!(
            "svchop: {} record(s) skipped in {} file(s) with problems; `svchop sources` lists them",
            r.records_skipped(),
            r.files_with_problems()
        );
    }
}
