//! The workbench on a followed collection (`open --follow`): a worker thread takes files as they
//! land (`live::watch`), scans the collection again (`live::Collection`) and hands each update
//! to the UI as an action; `update` puts it on screen in place.

use super::action::{Action, Effect, LiveUpdate};
use super::state::{AppState, EditTarget, Loading, Modal, Pivot};
use crate::investigation::Options;
use crate::live::Collection;
use crate::live::changes::{Kind, id_moves};
use crate::live::watch::{Follow, Settings};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::Duration;

/// Follows `paths` until the workbench closes (the channel is gone). The case stays the UI's:
/// it applies its own allow-list decisions and moves notes as ids change.
pub fn follow(paths: Vec<PathBuf>, options: Options, settings: Settings, tx: &Sender<Action>) {
    let mut watch = Follow::new(paths, settings);
    let mut live = Collection::new(Options {
        case: None,
        ..options
    });
    let how = watch.how();
    let mut first = true;
    loop {
        let ready = watch.ready(Duration::from_millis(250));
        if ready.is_empty() {
            if first {
                // Nothing in the folders yet: an empty workbench that says it is waiting.
                first = false;
                let up = live.take(&[], &|_, _| {});
                if send(tx, up, &format!("following ({how}): nothing to read yet")).is_err() {
                    return;
                }
            }
            continue;
        }
        let reading = format!("following: reading {} file(s)…", ready.len());
        if tx.send(Action::LiveReading(reading)).is_err() {
            return;
        }
        // The first files are the collection as it stands: loading progress as for `open`.
        let progress = |done, total| {
            if first {
                let _ = tx.send(Action::Progress {
                    files_done: done,
                    files_total: total,
                });
            }
        };
        let up = live.take(&ready, &progress);
        first = false;
        watch.retry_later(&up.with_problems);
        let status = format!("following: {}", up.brief());
        if send(tx, up, &status).is_err() {
            return;
        }
    }
}

fn send(tx: &Sender<Action>, up: crate::live::Update, status: &str) -> Result<(), ()> {
    tx.send(Action::Live(Box::new(LiveUpdate {
        inv: up.investigation,
        changes: up.changes,
        status: status.to_string(),
    })))
    .map_err(|_| ())
}

/// Puts an update on screen in place: the analyst stays on the host and finding they were on
/// (under its new id when its evidence grew), the back stack, filters, pivots and an open editor
/// are kept (pivots found again in the new events), notes and triage move with their finding
/// (and the case is saved), and new and changed findings are marked until looked at.
pub fn apply(s: &mut AppState, up: LiveUpdate) -> Vec<Effect> {
    let LiveUpdate {
        mut inv,
        changes,
        status,
    } = up;
    let moves = id_moves(&changes);
    let now_id = |id: &str| {
        moves
            .iter()
            .find(|m| m.from == id)
            .map_or_else(|| id.to_string(), |m| m.to.clone())
    };
    let held = moves.iter().any(|m| {
        s.case.case.notes.contains_key(&m.from) || s.case.case.triage.contains_key(&m.from)
    });
    inv.id_moves.extend(moves.iter().cloned());
    let first = !matches!(s.ui.loading, Loading::Done);
    let keep_target = s.target().map(|t| t.key.clone());
    let keep_finding = s.finding().map(|f| now_id(&f.id));
    if let Some(Modal::Edit(e)) = &mut s.ui.modal
        && let EditTarget::Finding(id) | EditTarget::Step { finding: id, .. } = &mut e.target
    {
        *id = now_id(id);
    }
    for p in s.ui.back.iter_mut().chain(s.ui.forward.iter_mut()) {
        if let Some(f) = &mut p.finding {
            *f = now_id(f);
        }
    }
    if !first {
        for c in &changes {
            if let Some(old) = &c.replaces {
                s.ui.fresh.remove(old);
            }
            match c.kind {
                Kind::Withdrawn => {
                    s.ui.fresh.remove(&c.finding.id);
                }
                // Allow-listed findings are not listed: nothing to look at.
                _ if c.finding.is_suppressed() => {
                    s.ui.fresh.remove(&c.finding.id);
                }
                k => {
                    s.ui.fresh.insert(c.finding.id.clone(), k);
                }
            }
        }
    }
    let n = inv.findings.len();
    super::results::show(s, inv, keep_target, keep_finding);
    research_pivots(s);
    s.ui.live = Some(status);
    if first {
        s.ui.status = format!("{n} finding(s); following the folders for more; ? for help");
    }
    if held {
        vec![Effect::SaveCase]
    } else {
        Vec::new()
    }
}

/// Pivots (open and in the back stack) found again in the new events: their rows name store
/// indices, which an update changes.
fn research_pivots(s: &mut AppState) {
    let Some(data) = s.data.as_ref() else { return };
    let again = |p: &mut Pivot| {
        let sel = p.sel;
        *p = super::pivot::search(data, p.field, &p.value);
        p.sel = sel.min((p.findings.len() + p.events.len()).saturating_sub(1));
    };
    s.ui.pivots.iter_mut().for_each(again);
    for place in s.ui.back.iter_mut().chain(s.ui.forward.iter_mut()) {
        place.pivots.iter_mut().for_each(again);
    }
    s.refilter_pivots();
}

/// The finding on screen is looked at: it is no longer marked new or changed.
pub fn seen(s: &mut AppState) {
    if s.ui.fresh.is_empty() || s.ui.focus == super::state::Pane::Targets {
        return;
    }
    if let Some(id) = s.finding().map(|f| f.id.clone()) {
        s.ui.fresh.remove(&id);
    }
}
