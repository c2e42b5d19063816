//! The investigation workbench: state + actions + rendering over the same engine as the CLI.
//! `run` loads on a worker thread (progress shown, `q` works at once), then answers every key
//! with a new frame; every analyst decision is saved to the case file as it is made.

pub mod action;
pub mod copy;
pub mod editor;
pub mod finder;
pub mod hops;
pub mod keymap;
pub mod live;
pub mod mouse;
pub mod navigate;
pub mod panes;
pub mod pivot;
pub mod results;
pub mod search;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod update_modal;

use crate::case::persist;
use crate::investigation::{Evidence, Investigation, Options, Progress};
use crate::sink::report::{ReportFormat, ReportOptions, report_md, report_text};
use action::Action;
use anyhow::Result;
use crossterm::event::{self, Event as TermEvent, KeyEventKind};
use keymap::Context;
use state::{AppState, CaseHandle, InspectorTab, Modal, Pane};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;
use update::{Effect, update};

pub struct OpenConfig {
    pub evidence: Evidence,
    /// How to open it (`early_results_above` is the workbench's to set).
    pub options: Options,
    pub case: CaseHandle,
    pub zone: crate::model::time::DisplayZone,
    /// Follow the evidence folders as files land (`open --follow`).
    pub follow: Option<crate::live::watch::Settings>,
}

/// Opens the evidence through the one pipeline, reporting progress and partial results as
/// actions; the pivot index is built here, off the UI thread.
fn load(evidence: Evidence, options: &Options, tx: &mpsc::Sender<Action>) {
    let progress = |p: Progress| {
        let _ = tx.send(match p {
            Progress::Files { done, total } => Action::Progress {
                files_done: done,
                files_total: total,
            },
            Progress::Phase(what) => Action::Phase(what),
            Progress::Partial {
                investigation,
                files_shown,
                files_total,
            } => Action::Partial {
                inv: investigation,
                files_shown,
                files_total,
            },
        });
    };
    match Investigation::open(evidence, options, &progress) {
        Ok(opened) => {
            let _ = tx.send(Action::Loaded(Box::new(opened)));
        }
        Err(e) => {
            let _ = tx.send(Action::LoadFailed(e.to_string()));
        }
    }
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
        Effect::ExportFinding(id) => Action::Exported(export_finding(s, id)),
        // The runtime suspends before it gets here (it holds the terminal).
        Effect::Suspend => Action::Resize(s.ui.width, s.ui.height),
        Effect::Copy { what, text } => Action::Copied(copy::out(&report_stem(s), what, text)),
        Effect::ReadRecord(i) => Action::RecordRead {
            event: *i,
            text: s.data.as_ref().map_or_else(
                || Err("still loading".to_string()),
                |d| d.record_text(*i).map_err(|e| e.to_string()),
            ),
        },
    }
}

/// Where reports go: beside the case file, named after it (`<case>-report.md`).
fn report_stem(s: &AppState) -> String {
    s.case
        .path
        .to_string_lossy()
        .trim_end_matches(".json")
        .trim_end_matches(".svchop-case")
        .to_string()
}

/// One finding's report (full form) beside the case: `<case>-<finding id>.md`.
fn export_finding(s: &AppState, id: &str) -> Result<String, String> {
    let data = s.data.as_ref().ok_or("still loading")?;
    let stem = report_stem(s);
    let path = PathBuf::from(format!("{stem}-{id}.md"));
    let events = |i: usize| data.store.get(i);
    let md = report_md(
        &s.case.case,
        &data.findings,
        &s.playbook,
        &crate::sink::report::ReportOptions {
            only: vec![id.to_string()],
            ..Default::default()
        },
        Some(&events),
    );
    std::fs::write(&path, md).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!("exported {}", path.display()))
}

fn export(s: &AppState) -> Result<String, String> {
    let data = s.data.as_ref().ok_or("still loading")?;
    let stem = report_stem(s);
    let md_path = PathBuf::from(format!("{stem}-report.md"));
    let json_path = PathBuf::from(format!("{stem}-report.json"));
    let events = |i: usize| data.store.get(i);
    let md = report_md(
        &s.case.case,
        &data.findings,
        &s.playbook,
        &crate::sink::report::ReportOptions::default(),
        Some(&events),
    );
    let json = report_text(
        ReportFormat::Json,
        &s.case.case,
        &data.findings,
        &s.playbook,
        &ReportOptions::default(),
        None,
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(&md_path, md).map_err(|e| format!("{}: {e}", md_path.display()))?;
    std::fs::write(&json_path, json).map_err(|e| format!("{}: {e}", json_path.display()))?;
    Ok(format!("exported {} and .json", md_path.display()))
}

/// Runs the workbench until the analyst quits; says what became of the analyst's changes (a
/// failed last save is tried once more on the way out).
/// The wheel and a left click; other mouse events do nothing.
fn mouse_action(m: crossterm::event::MouseEvent) -> Option<Action> {
    use crossterm::event::{MouseButton, MouseEventKind as K};
    let what = match m.kind {
        K::ScrollUp => action::Mouse::WheelUp,
        K::ScrollDown => action::Mouse::WheelDown,
        K::Down(MouseButton::Left) => action::Mouse::Click,
        _ => return None,
    };
    Some(Action::Mouse {
        what,
        col: m.column,
        row: m.row,
    })
}

/// How the workbench closed: what was saved, and why loading failed if it did (nothing
/// readable: the command exits 2).
pub struct Closed {
    pub saves: state::Saves,
    pub load_failed: Option<String>,
}

pub fn run(cfg: OpenConfig) -> Result<Closed> {
    let playbook = crate::case::playbook::Playbook::builtin()?;
    let settings = crate::config::current();
    let keymap = keymap::Keymap::builtin()?.with_overrides(&settings.keys);
    let theme = theme::Theme::from_env();
    let mut state = AppState::new(cfg.case, playbook, keymap);
    state.ui.zone = cfg.zone;
    state.ui.configured_zone = cfg.zone;
    let (tx, rx) = mpsc::channel();
    let evidence = cfg.evidence;
    let options = Options {
        case: Some(state.case.case.clone()),
        ..cfg.options
    };
    let follow = cfg.follow;
    std::thread::spawn(move || match (follow, evidence) {
        (Some(settings), Evidence::Paths(paths)) => live::follow(paths, options, settings, &tx),
        (_, evidence) => load(evidence, &options, &tx),
    });
    let (mut term, _guard) = terminal::enter(settings.mouse.value)?;
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
            TermEvent::Mouse(m) if settings.mouse.value => mouse_action(m),
            TermEvent::Paste(text)
                if matches!(context(&state), Context::Editor | Context::Finder) =>
            {
                Some(Action::Paste(text))
            }
            _ => None,
        };
        if let Some(a) = action {
            for effect in update(&mut state, a) {
                if effect == Effect::Suspend {
                    terminal::suspend(&mut term)?;
                    continue;
                }
                let result = execute(&state, &effect);
                update(&mut state, result);
            }
        }
    }
    if state.case.saves.failed.is_some() {
        let result = execute(&state, &Effect::SaveCase);
        update(&mut state, result);
    }
    let load_failed = match &state.ui.loading {
        state::Loading::Failed(why) => Some(why.clone()),
        _ => None,
    };
    Ok(Closed {
        saves: state.case.saves,
        load_failed,
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_live;
#[cfg(test)]
mod tests_nav;
#[cfg(test)]
mod tests_search;
#[cfg(test)]
mod tests_snap;
