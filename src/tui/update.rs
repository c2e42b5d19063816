//! The only place state changes. `update` does no I/O: it returns effects (save the case, write
//! the export) that the runtime carries out and reports back.

use super::action::Action;
pub use super::action::Effect;
use super::navigate::jump_to_finding;
use super::state::{
    AllowDraft, AppState, EditTarget, Editor, InspectorTab, Loading, Modal, Pane, Partial,
};

const PAGE: i64 = 10;

/// Loading progress and results; gives the action back when it is not one of them.
fn on_load(s: &mut AppState, action: Action) -> Option<Action> {
    match action {
        Action::Progress {
            files_done,
            files_total,
        } => {
            if let Some(p) = s.ui.partial.as_mut() {
                p.files_done = files_done;
            } else {
                s.ui.loading = Loading::Running {
                    files_done,
                    files_total,
                };
            }
        }
        Action::Partial {
            inv,
            files_shown,
            files_total,
        } => {
            super::results::show(s, *inv, None, None);
            s.ui.partial = Some(Partial {
                files_shown,
                files_done: files_shown,
                files_total,
                phase: None,
            });
            let n = s.data.as_ref().map_or(0, |d| d.findings.len());
            s.ui.status = format!(
                "{n} finding(s) so far; the rest of the evidence is loading (notes, triage, allow-list and export open when it is in)"
            );
        }
        Action::Loaded(inv) => {
            let was_partial = s.ui.partial.take().is_some();
            let keep_target = s.target().map(|t| t.key.clone());
            let keep_finding = s.finding().map(|f| f.id.clone());
            if was_partial {
                // Pivots and open views point into the partial events: close them.
                s.ui.pivots.clear();
                s.ui.modal = None;
                s.ui.timeline_sel = 0;
            }
            super::results::show(s, *inv, keep_target, keep_finding);
            let n = s.data.as_ref().map_or(0, |d| d.findings.len());
            let unloaded = s.data.as_ref().map_or(0, |d| {
                d.findings
                    .iter()
                    .flat_map(|f| &f.stages)
                    .filter(|st| d.store.time(st.event_index).is_none())
                    .count()
            });
            let dropped = s.data.as_ref().map_or(0, |d| d.suppressed_dropped);
            let not_loaded = if dropped > 0 {
                format!(
                    "; {dropped} more allow-listed finding(s) not loaded (`svchop scan --show-suppressed` lists them)"
                )
            } else {
                String::new()
            };
            s.ui.status = if unloaded > 0 {
                format!(
                    "{n} finding(s) loaded{not_loaded}; {unloaded} stage(s) without their event (give the evidence paths); ? for help"
                )
            } else {
                format!("{n} finding(s) loaded{not_loaded}; ? for help")
            };
        }
        Action::Phase(what) => {
            if let Some(p) = s.ui.partial.as_mut() {
                p.phase = Some(what);
            } else {
                s.ui.loading = Loading::Working(what);
            }
        }
        Action::LoadFailed(why) => {
            s.ui.loading = Loading::Failed(why);
        }
        other => return Some(other),
    }
    None
}

/// Applies an action; returns the effects for the runtime to carry out (their results come
/// back as actions). The Raw tab's record is asked for here, whatever moved the selection.
pub fn update(s: &mut AppState, action: Action) -> Vec<Effect> {
    // A message about a view goes with it: leaving the view (back, another pane or tab) clears
    // what the view said, unless the step says something new or a save failed.
    let leaves = matches!(
        action,
        Action::Back | Action::Forward | Action::FocusNext | Action::FocusPrev | Action::Tab(_)
    ) && s.ui.modal.is_none();
    let before = leaves.then(|| s.ui.status.clone());
    let mut effects = step(s, action);
    if before.is_some_and(|b| b == s.ui.status) && !s.ui.status.starts_with("NOT SAVED") {
        s.ui.status.clear();
    }
    if let Some(i) = record_wanted(s) {
        effects.push(Effect::ReadRecord(i));
    }
    effects
}

/// The event whose record text the Raw tab shows and has not been read yet.
fn record_wanted(s: &AppState) -> Option<usize> {
    if s.ui.tab != InspectorTab::Raw || s.data.is_none() {
        return None;
    }
    let i = s.selected_event()?;
    (s.ui.record.as_ref().map(|r| r.0) != Some(i)).then_some(i)
}

fn step(s: &mut AppState, action: Action) -> Vec<Effect> {
    let Some(action) = on_load(s, action) else {
        return vec![];
    };
    let effects = act(s, action);
    super::live::seen(s);
    effects
}

fn act(s: &mut AppState, action: Action) -> Vec<Effect> {
    match action {
        Action::LiveReading(what) => {
            s.ui.live = Some(what);
            return vec![];
        }
        Action::Live(up) => return super::live::apply(s, *up),
        Action::Saved(r) => {
            s.case.saves.changed = true;
            s.case.saves.failed = r.as_ref().err().cloned();
            // Keep what the analyst just did on the status line; say it is saved.
            s.ui.status = match r {
                Ok(m) if s.ui.status.is_empty() => m,
                Ok(_) if s.ui.status.ends_with("(saved)") => s.ui.status.clone(),
                Ok(_) => format!("{} (saved)", s.ui.status),
                Err(e) => format!("NOT SAVED: {e}"),
            };
            return vec![];
        }
        Action::Exported(r) => {
            s.ui.status = match r {
                Ok(m) => m,
                Err(e) => format!("export failed: {e}"),
            };
            return vec![];
        }
        Action::Copied(r) => {
            s.ui.status = match r {
                Ok(m) => m,
                Err(e) => format!("copy failed: {e}"),
            };
            return vec![];
        }
        Action::RecordRead { event, text } => {
            s.ui.record = Some((event, text));
            return vec![];
        }
        Action::Suspend => return vec![Effect::Suspend],
        Action::Resize(w, h) => {
            s.ui.width = w;
            s.ui.height = h;
            return vec![];
        }
        Action::Mouse { what, col, row } => {
            let Some(delta) = super::mouse::apply(s, what, col, row) else {
                return vec![];
            };
            if s.ui.modal.is_some() {
                let key = if delta < 0 { Action::Up } else { Action::Down };
                return super::update_modal::update_modal(s, &key);
            }
            move_sel(s, delta);
            return vec![];
        }
        // `q` in the help view closes it (the analyst is reading keys, not leaving).
        Action::Quit if matches!(s.ui.modal, Some(Modal::Help { .. })) => {
            s.ui.modal = None;
            return vec![];
        }
        Action::Quit
            if !matches!(
                s.ui.modal,
                Some(Modal::Edit(_) | Modal::Finder { .. } | Modal::AllowEdit(_))
            ) =>
        {
            s.ui.quit = true;
            return vec![];
        }
        _ => {}
    }
    if s.ui.modal.is_some() {
        return super::update_modal::update_modal(s, &action);
    }
    if s.ui.partial.is_some() && changes_case(&action) {
        s.ui.status = "still loading: notes, triage, allow-list and export open once all evidence is in (findings may still change)".into();
        return vec![];
    }
    if open_view(s, &action) {
        return vec![];
    }
    update_main(s, &action)
}

/// `z`: times in UTC, local time, and the zone given on the command line, in turn.
fn cycle_zone(s: &mut AppState) {
    use crate::model::time::DisplayZone as Z;
    let mut order = vec![Z::Utc, Z::Local];
    if !order.contains(&s.ui.configured_zone) {
        order.push(s.ui.configured_zone);
    }
    let i = order.iter().position(|z| *z == s.ui.zone).unwrap_or(0);
    s.ui.zone = order[(i + 1) % order.len()];
    s.ui.status = format!("times shown in {}", s.ui.zone.label());
}

/// `y` / `Y`: the value under the cursor or the finding's indicators, to the clipboard.
fn copy(s: &mut AppState, action: &Action) -> Vec<Effect> {
    let copy = if matches!(action, Action::Copy) {
        super::copy::under_cursor(s)
    } else {
        super::copy::indicators(s)
    };
    if let Some((what, text)) = copy {
        vec![Effect::Copy { what, text }]
    } else {
        s.ui.status = "nothing to copy here".into();
        vec![]
    }
}

/// Actions that change or export the case: held back while only part of the evidence is in,
/// since a finding's id (what notes and triage are saved under) can change as the rest loads.
fn changes_case(action: &Action) -> bool {
    matches!(
        action,
        Action::Allow
            | Action::AllowList
            | Action::RemoveAllow
            | Action::EditFindingNote
            | Action::EditCaseNote
            | Action::EditStepNote
            | Action::ToggleStep
            | Action::Mark
            | Action::Export
            | Action::ExportFinding
    )
}

/// Actions that open a view over the panes; `true` when handled.
fn open_view(s: &mut AppState, action: &Action) -> bool {
    match action {
        Action::Help => s.ui.modal = Some(Modal::Help { scroll: 0 }),
        Action::Find => {
            s.ui.modal = Some(Modal::Finder {
                query: String::new(),
                sel: 0,
                hits: super::finder::rank(&s.finder_values, ""),
            });
        }
        Action::Hops => s.ui.modal = Some(Modal::Hops { sel: 0 }),
        Action::Search => {
            s.ui.modal = Some(Modal::Edit(Editor::new(
                EditTarget::Search,
                String::new(),
                false,
            )));
        }
        Action::JumpTime => {
            s.ui.modal = Some(Modal::Edit(Editor::new(
                EditTarget::Jump,
                String::new(),
                false,
            )));
        }
        Action::AllowList => {
            s.ui.modal = Some(Modal::AllowList {
                sel: 0,
                confirm_remove: false,
            });
        }
        Action::Allow => open_allow(s),
        Action::EditFindingNote => {
            if let Some(id) = s.finding().map(|f| f.id.clone()) {
                let text = s.case.case.note(&id).to_string();
                s.ui.modal = Some(Modal::Edit(Editor::new(
                    EditTarget::Finding(id),
                    text,
                    true,
                )));
            }
        }
        Action::EditCaseNote => {
            let text = s.case.case.case_note.clone();
            s.ui.modal = Some(Modal::Edit(Editor::new(EditTarget::Case, text, true)));
        }
        Action::EditStepNote => edit_step_note(s),
        _ => return false,
    }
    true
}

fn update_main(s: &mut AppState, action: &Action) -> Vec<Effect> {
    match *action {
        Action::FocusNext | Action::FocusPrev => {
            cycle_focus(s, matches!(action, Action::FocusNext));
        }
        Action::NextFinding | Action::PrevFinding => {
            step_finding(s, matches!(action, Action::NextFinding));
        }
        Action::Tab(t) => {
            // Coming into the Inspector from another pane is a step Esc takes back (to that
            // pane, its selection and scroll); switching tabs inside it is not.
            if s.ui.focus != Pane::Inspector {
                s.remember();
            }
            s.ui.tab = t;
            s.ui.inspector_scroll = 0;
            s.ui.focus = Pane::Inspector;
        }
        Action::CycleZone => cycle_zone(s),
        Action::ToggleAllEvents => {
            s.ui.all_events = !s.ui.all_events;
            s.ui.timeline_sel = 0;
        }
        Action::ToggleSuppressed => {
            s.ui.show_suppressed = !s.ui.show_suppressed;
            s.refresh();
            s.ui.status = if s.ui.show_suppressed {
                "showing suppressed findings".into()
            } else {
                "hiding suppressed findings".into()
            };
        }
        Action::Pivot(field) => match super::pivot::build(s, field) {
            Ok(p) => super::navigate::open_pivot(s, p),
            Err(why) => s.ui.status = why,
        },
        Action::Back => back(s),
        Action::Forward => {
            if let Some(p) = s.ui.forward.pop() {
                let here = s.place();
                super::state::push_place(&mut s.ui.back, here);
                s.go_to(p);
            } else {
                s.ui.status = "nothing to go forward to".into();
            }
        }
        Action::Filter => {
            let text =
                s.ui.filter
                    .as_ref()
                    .map(|f| f.text.clone())
                    .unwrap_or_default();
            s.ui.modal = Some(Modal::Edit(Editor::new(EditTarget::Filter, text, false)));
        }
        Action::ScrollRight => s.ui.hscroll = (s.ui.hscroll + 20).min(100_000),
        Action::ScrollLeft => s.ui.hscroll = s.ui.hscroll.saturating_sub(20),
        Action::ClearFilter if s.ui.filter.is_some() => {
            s.set_filter(None);
            s.ui.status = "filter cleared".into();
        }
        Action::ToggleStep => return toggle_step(s),
        Action::Export => return vec![Effect::Export],
        Action::ExportFinding => {
            return s
                .finding()
                .map(|f| vec![Effect::ExportFinding(f.id.clone())])
                .unwrap_or_default();
        }
        Action::Copy | Action::CopyIocs => return copy(s, action),
        Action::SearchNext | Action::SearchPrev => {
            super::search::next(s, matches!(action, Action::SearchNext));
        }
        Action::Mark if super::search::toggle_mark(s) => return vec![Effect::SaveCase],
        Action::Up => move_sel(s, -1),
        Action::Down => move_sel(s, 1),
        Action::PageUp => move_sel(s, -PAGE),
        Action::PageDown => move_sel(s, PAGE),
        Action::Top => move_sel(s, i64::MIN / 2),
        Action::Bottom => move_sel(s, i64::MAX / 2),
        Action::Open => open(s),
        _ => {}
    }
    vec![]
}

/// `Esc`: back where the analyst came from; with nowhere remembered, out one level (a pivot
/// closes, the Inspector returns to the Timeline, the Timeline to Targets).
fn back(s: &mut AppState) {
    if let Some(p) = s.ui.back.pop() {
        let here = s.place();
        super::state::push_place(&mut s.ui.forward, here);
        s.go_to(p);
        return;
    }
    if s.ui.pivots.pop().is_some() {
        s.ui.status = "pivot closed".into();
        return;
    }
    s.ui.focus = match s.ui.focus {
        Pane::Inspector => Pane::Timeline,
        Pane::Timeline | Pane::Targets => Pane::Targets,
    };
}

fn cycle_focus(s: &mut AppState, forward: bool) {
    let order = [Pane::Targets, Pane::Timeline, Pane::Inspector];
    let i = order.iter().position(|p| *p == s.ui.focus).unwrap_or(0);
    let n = order.len();
    s.ui.focus = order[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }];
}

fn step_finding(s: &mut AppState, forward: bool) {
    let n = s.target().map_or(0, |t| t.findings.len());
    if n == 0 {
        return;
    }
    s.ui.finding_sel = if forward {
        (s.ui.finding_sel + 1) % n
    } else {
        (s.ui.finding_sel + n - 1) % n
    };
    s.ui.timeline_sel = 0;
    s.ui.triage_sel = 0;
    s.ui.triage_offset = 0;
}

fn clamp_move(cur: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let max = i64::try_from(len - 1).unwrap_or(i64::MAX);
    let cur = i64::try_from(cur).unwrap_or(0);
    usize::try_from(cur.saturating_add(delta).clamp(0, max)).unwrap_or(0)
}

fn move_sel(s: &mut AppState, delta: i64) {
    if let Some(p) = s.ui.pivots.last_mut()
        && s.ui.focus == Pane::Timeline
    {
        p.sel = clamp_move(p.sel, delta, p.findings.len() + p.events.len());
        return;
    }
    match s.ui.focus {
        Pane::Targets => {
            s.select_target_row(clamp_move(s.ui.target_sel, delta, s.targets.len()));
        }
        Pane::Timeline => {
            s.ui.timeline_sel = clamp_move(s.ui.timeline_sel, delta, s.timeline_rows().len());
        }
        Pane::Inspector if s.ui.tab == InspectorTab::Triage => {
            // A step taller than the pane is read to its end (and its reference) before `j`
            // moves on, and back to its start before `k` does.
            let over = super::panes::inspector::triage_overflow(s);
            let offset = s.ui.triage_offset;
            let by = usize::try_from(delta.unsigned_abs()).unwrap_or(usize::MAX);
            if delta > 0 && offset < over {
                s.ui.triage_offset = offset.saturating_add(by).min(over);
            } else if delta < 0 && offset > 0 {
                s.ui.triage_offset = offset.saturating_sub(by);
            } else {
                let before = s.ui.triage_sel;
                s.ui.triage_sel = clamp_move(s.ui.triage_sel, delta, s.playbook.step_count());
                if before != s.ui.triage_sel {
                    s.ui.triage_offset = 0;
                }
            }
        }
        Pane::Inspector => {
            let max = super::panes::inspector::max_scroll(s);
            s.ui.inspector_scroll = clamp_move(s.ui.inspector_scroll.min(max), delta, max + 1);
        }
    }
}

/// Enter: on a target, go to its timeline; on a pivot row, jump to that finding or event.
fn open(s: &mut AppState) {
    if s.ui.focus == Pane::Timeline
        && let Some(fi) = s.ui.pivots.last().map(|p| p.findings.get(p.sel).copied())
    {
        s.remember();
        if let Some(fi) = fi {
            // The finding is shown on its own; `Esc` brings the pivot back.
            s.ui.pivots.clear();
            jump_to_finding(s, fi);
        } else {
            s.ui.focus = Pane::Inspector;
            s.ui.tab = InspectorTab::Detail;
        }
        return;
    }
    match s.ui.focus {
        Pane::Targets => {
            s.remember();
            s.ui.focus = Pane::Timeline;
        }
        Pane::Timeline => {
            s.remember();
            s.ui.focus = Pane::Inspector;
            s.ui.tab = InspectorTab::Detail;
        }
        Pane::Inspector => {}
    }
}

fn open_allow(s: &mut AppState) {
    let Some(f) = s.finding() else {
        s.ui.status = "select a finding to allow-list".into();
        return;
    };
    let values = vec![
        f.services
            .iter()
            .find_map(|x| x.name.clone())
            .unwrap_or_default(),
        f.services
            .iter()
            .find_map(|x| x.image_path.clone())
            .unwrap_or_default(),
        f.user.clone().unwrap_or_default(),
        f.source_hosts.first().cloned().unwrap_or_default(),
        f.source_ips.first().cloned().unwrap_or_default(),
        f.target_host.clone(),
    ];
    let field = values.iter().position(|v| !v.is_empty()).unwrap_or(0);
    s.ui.modal = Some(Modal::AllowEdit(AllowDraft {
        field,
        values,
        reason: String::new(),
        confirm_discard: false,
    }));
}

fn toggle_step(s: &mut AppState) -> Vec<Effect> {
    if s.ui.tab != InspectorTab::Triage {
        return vec![];
    }
    let (Some(fid), Some(step)) = (
        s.finding().map(|f| f.id.clone()),
        s.playbook.step.get(s.ui.triage_sel).map(|x| x.id.clone()),
    ) else {
        return vec![];
    };
    s.case.case.cycle_step(&fid, &step);
    vec![Effect::SaveCase]
}

fn edit_step_note(s: &mut AppState) {
    if s.ui.tab != InspectorTab::Triage {
        return;
    }
    let (Some(fid), Some(step)) = (
        s.finding().map(|f| f.id.clone()),
        s.playbook.step.get(s.ui.triage_sel).map(|x| x.id.clone()),
    ) else {
        return;
    };
    let text = s.case.case.mark(&fid, &step).note;
    s.ui.modal = Some(Modal::Edit(Editor::new(
        EditTarget::Step { finding: fid, step },
        text,
        true,
    )));
}
