//! The investigation workbench: state + actions + rendering over the same engine as the CLI.
//! `run` loads on a worker thread (progress shown, `q` works at once), then answers every key
//! with a new frame; every analyst decision is saved to the case file as it is made.

pub mod action;
pub mod finder;
pub mod hops;
pub mod keymap;
pub mod panes;
pub mod pivot;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod update_modal;

use crate::case::export::{report_json, report_md};
use crate::case::persist;
use crate::detect::Detector;
use crate::detect::store::EventStore;
use crate::ingest::LoadOptions;
use action::Action;
use anyhow::Result;
use crossterm::event::{self, Event as TermEvent, KeyEventKind};
use keymap::Context;
use state::{AppState, CaseHandle, InspectorTab, Investigation, Modal, Pane};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;
use update::{Effect, update};

/// Where the events come from.
pub enum Evidence {
    Paths {
        paths: Vec<PathBuf>,
        load: LoadOptions,
    },
    Demo(Box<crate::demo::DemoCase>),
    /// Findings made elsewhere (Spark job, another machine's scan), with the evidence of the
    /// hosts they involve when paths are given.
    Findings {
        imported: crate::case::imported::Imported,
        paths: Vec<PathBuf>,
        load: LoadOptions,
    },
}

pub struct OpenConfig {
    pub evidence: Evidence,
    pub detector: Detector,
    pub case: CaseHandle,
    pub zone: crate::model::time::DisplayZone,
}

/// Reports files read as progress actions.
fn progress(tx: &mpsc::Sender<Action>) -> impl Fn(usize, usize) + Sync + '_ {
    progress_from(tx, 0, None)
}

/// Progress of a part of the files: `before` files were read earlier, out of `total` in all.
fn progress_from(
    tx: &mpsc::Sender<Action>,
    before: usize,
    total: Option<usize>,
) -> impl Fn(usize, usize) + Sync + '_ {
    move |done, part_total| {
        let _ = tx.send(Action::Progress {
            files_done: before + done,
            files_total: total.unwrap_or(part_total),
        });
    }
}

/// Reads the evidence; on a large collection the findings of the first files are sent as soon as
/// they are in (`Action::Partial`), then everything is read, merged and scanned as one.
fn read_in_parts(
    paths: &[PathBuf],
    load: &LoadOptions,
    detector: &Detector,
    min_bytes: u64,
    tx: &mpsc::Sender<Action>,
) -> crate::ingest::Loaded {
    use crate::ingest::{finish, first_part, plan, read_files};
    let files = plan(paths);
    let total = files.len();
    let split = first_part(&files, min_bytes);
    let mut loaded = read_files(&files[..split], load, &progress_from(tx, 0, Some(total)));
    if split > 0 && loaded.report.records_read() > 0 {
        let mut first = crate::ingest::Loaded {
            events: loaded.events.clone(),
            report: loaded.report.clone(),
            ignored: Vec::new(),
        };
        finish(&mut first);
        let _ = tx.send(Action::Phase(format!(
            "correlating the first {split} of {total} files…"
        )));
        let store = EventStore::new(first.events);
        let findings = detector.scan(&store);
        let _ = tx.send(Action::Partial {
            inv: Box::new(Investigation::new(
                store,
                findings,
                first.report,
                detector.clone(),
            )),
            files_shown: split,
            files_total: total,
        });
    }
    let rest = read_files(
        &files[split..],
        load,
        &progress_from(tx, split, Some(total)),
    );
    loaded.absorb(rest);
    finish(&mut loaded);
    loaded
}

fn load(evidence: Evidence, detector: Detector, tx: &mpsc::Sender<Action>) {
    load_with(evidence, detector, crate::ingest::PARTIAL_MIN_BYTES, tx);
}

/// `load` with the evidence size above which the first files are shown early.
fn load_with(evidence: Evidence, detector: Detector, min_bytes: u64, tx: &mpsc::Sender<Action>) {
    let (events, report) = match evidence {
        Evidence::Paths { paths, load } => {
            let loaded = read_in_parts(&paths, &load, &detector, min_bytes, tx);
            if loaded.report.records_read() == 0 {
                let _ = tx.send(Action::LoadFailed(format!(
                    "nothing could be read from {} file(s) ({} other files ignored)",
                    loaded.report.files.len(),
                    loaded.ignored.len()
                )));
                return;
            }
            (loaded.events, loaded.report)
        }
        Evidence::Findings {
            imported,
            paths,
            load,
        } => {
            load_findings(imported, &paths, &load, detector, tx);
            return;
        }
        Evidence::Demo(case) => {
            let events = crate::demo::events(&case);
            let mut file = crate::ingest::FileReport::new("demo", "demo");
            for e in &events {
                file.note(&e.host.display, e.channel.name(), e.event_id, Some(e.ts));
            }
            (
                events,
                crate::ingest::IngestReport {
                    files: vec![file],
                    ..Default::default()
                },
            )
        }
    };
    let _ = tx.send(Action::Phase(format!(
        "correlating {} events…",
        events.len()
    )));
    let store = EventStore::new(events);
    let findings = detector.scan(&store);
    let _ = tx.send(Action::Phase(format!(
        "{} finding(s); indexing {} events for pivots…",
        findings.len(),
        store.len()
    )));
    let _ = tx.send(Action::Loaded(Box::new(Investigation::new(
        store, findings, report, detector,
    ))));
}

/// Imported findings: the evidence of their hosts (when paths are given) is loaded and each
/// stage tied to its event; the findings are not recomputed.
fn load_findings(
    imported: crate::case::imported::Imported,
    paths: &[PathBuf],
    load: &LoadOptions,
    detector: Detector,
    tx: &mpsc::Sender<Action>,
) {
    use crate::case::imported::{hosts_involved, resolve};
    let crate::case::imported::Imported {
        mut findings,
        mut report,
    } = imported;
    let mut events = Vec::new();
    if !paths.is_empty() {
        let loaded = crate::ingest::load_with_progress(paths, load, &progress(tx));
        let hosts = hosts_involved(&findings);
        events = loaded
            .events
            .into_iter()
            .filter(|e| hosts.contains(&*e.host.key))
            .collect();
        report.files.extend(loaded.report.files);
        report.duplicates_merged += loaded.report.duplicates_merged;
    }
    let store = EventStore::new(events);
    resolve(&mut findings, &store);
    let _ = tx.send(Action::Loaded(Box::new(Investigation::new(
        store, findings, report, detector,
    ))));
}

/// Which keymap context a key press is in.
pub fn context(s: &AppState) -> Context {
    match &s.ui.modal {
        Some(Modal::Edit(_) | Modal::AllowEdit(_)) => Context::Editor,
        Some(Modal::Finder { .. }) => Context::Finder,
        Some(Modal::AllowList { .. }) => Context::AllowList,
        None if s.ui.focus == Pane::Inspector && s.ui.tab == InspectorTab::Triage => {
            Context::Triage
        }
        Some(_) | None => Context::Normal,
    }
}

/// Carries out an effect; the result comes back as an action.
pub fn execute(s: &AppState, effect: &Effect) -> Action {
    match effect {
        Effect::SaveCase => {
            let mut case = s.case.case.clone();
            case.updated = chrono::Utc::now();
            Action::Saved(
                persist::save(&s.case.path, &case)
                    .map(|()| format!("saved {}", s.case.path.display()))
                    .map_err(|e| e.to_string()),
            )
        }
        Effect::Export => Action::Exported(export(s)),
    }
}

fn export(s: &AppState) -> Result<String, String> {
    let data = s.data.as_ref().ok_or("still loading")?;
    let stem = s
        .case
        .path
        .to_string_lossy()
        .trim_end_matches(".json")
        .trim_end_matches(".svchop-case")
        .to_string();
    let md_path = PathBuf::from(format!("{stem}-report.md"));
    let json_path = PathBuf::from(format!("{stem}-report.json"));
    let md = report_md(&s.case.case, &data.findings, &s.playbook);
    let json = report_json(&s.case.case, &data.findings, &s.playbook);
    std::fs::write(&md_path, md).map_err(|e| format!("{}: {e}", md_path.display()))?;
    let text =
        crate::output::json_safe(serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?);
    std::fs::write(&json_path, text + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    Ok(format!("exported {} and .json", md_path.display()))
}

/// Runs the workbench until the analyst quits.
pub fn run(cfg: OpenConfig) -> Result<()> {
    let playbook = crate::case::playbook::Playbook::builtin()?;
    let keymap = keymap::Keymap::builtin()?;
    let theme = theme::Theme::from_env();
    let mut state = AppState::new(cfg.case, playbook, keymap);
    state.ui.zone = cfg.zone;
    state.ui.configured_zone = cfg.zone;
    let (tx, rx) = mpsc::channel();
    let detector = cfg.detector;
    let evidence = cfg.evidence;
    std::thread::spawn(move || load(evidence, detector, &tx));
    let (mut term, _guard) = terminal::enter()?;
    let size = term.size()?;
    update(&mut state, Action::Resize(size.width, size.height));
    loop {
        while let Ok(a) = rx.try_recv() {
            update(&mut state, a);
        }
        term.draw(|f| panes::draw(f, &state, theme))?;
        if state.ui.quit {
            break;
        }
        if !event::poll(Duration::from_millis(100))? {
            continue;
        }
        let action = match event::read()? {
            TermEvent::Key(k) if k.kind == KeyEventKind::Press => {
                state.keymap.resolve(context(&state), k)
            }
            TermEvent::Resize(w, h) => Some(Action::Resize(w, h)),
            _ => None,
        };
        if let Some(a) = action {
            for effect in update(&mut state, a) {
                let result = execute(&state, &effect);
                update(&mut state, result);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
