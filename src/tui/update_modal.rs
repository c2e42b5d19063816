//! Updates while a view is open over the panes: help, finder, hops, allow-list editor and
//! manager, text editor.

use super::action::Effect;
use super::action::{ALLOW_FIELDS, Action};
use super::navigate::{commit_allow, jump_to_finding};
use super::state::{AppState, EditTarget, Modal};

pub fn update_modal(s: &mut AppState, action: &Action) -> Vec<Effect> {
    let Some(modal) = s.ui.modal.take() else {
        return vec![];
    };
    let (next, effects) = match modal {
        Modal::Help { scroll } => (
            help(scroll, super::panes::overlays::help_max_scroll(s), action),
            vec![],
        ),
        Modal::Finder { query, sel, hits } => finder(s, query, sel, hits, action),
        Modal::Hops { sel } => hops(s, sel, action),
        Modal::AllowEdit(mut d) => match *action {
            Action::Cancel | Action::Back => (None, vec![]),
            Action::Left | Action::Up => {
                d.field = (d.field + ALLOW_FIELDS.len() - 1) % ALLOW_FIELDS.len();
                (Some(Modal::AllowEdit(d)), vec![])
            }
            Action::Right | Action::Down => {
                d.field = (d.field + 1) % ALLOW_FIELDS.len();
                (Some(Modal::AllowEdit(d)), vec![])
            }
            Action::Input(c) => {
                d.reason.push(c);
                (Some(Modal::AllowEdit(d)), vec![])
            }
            Action::Backspace => {
                d.reason.pop();
                (Some(Modal::AllowEdit(d)), vec![])
            }
            Action::Open | Action::Save | Action::Newline => {
                let eff = commit_allow(s, &d);
                if eff.is_empty() {
                    (Some(Modal::AllowEdit(d)), eff)
                } else {
                    (None, eff)
                }
            }
            _ => (Some(Modal::AllowEdit(d)), vec![]),
        },
        Modal::AllowList { sel } => allow_list(s, sel, action),
        Modal::Edit(mut e) => match *action {
            Action::Cancel => (None, vec![]),
            Action::Input(c) => {
                e.text.push(c);
                (Some(Modal::Edit(e)), vec![])
            }
            Action::Backspace => {
                e.text.pop();
                (Some(Modal::Edit(e)), vec![])
            }
            Action::Newline if e.multiline => {
                e.text.push('\n');
                (Some(Modal::Edit(e)), vec![])
            }
            Action::Save | Action::Newline | Action::Open => {
                save_text(s, &e.target, &e.text);
                (None, vec![Effect::SaveCase])
            }
            _ => (Some(Modal::Edit(e)), vec![]),
        },
    };
    s.ui.modal = next;
    effects
}

/// The help view: scrolls within its text (never past the last screenful), `g`/`G`,
/// Home/End, PgUp/PgDn; closes on esc, `?`, enter or `q`.
fn help(scroll: usize, max: usize, action: &Action) -> Option<Modal> {
    let scroll = scroll.min(max);
    let to = match action {
        Action::Back | Action::Cancel | Action::Help | Action::Open => return None,
        Action::Down => scroll + 1,
        Action::PageDown => scroll + 10,
        Action::Up => scroll.saturating_sub(1),
        Action::PageUp => scroll.saturating_sub(10),
        Action::Top => 0,
        Action::Bottom => max,
        _ => scroll,
    };
    Some(Modal::Help {
        scroll: to.min(max),
    })
}

fn save_text(s: &mut AppState, target: &EditTarget, text: &str) {
    match target {
        EditTarget::Finding(id) => s.case.case.set_note(id, text),
        EditTarget::Case => s.case.case.case_note = text.to_string(),
        EditTarget::Step { finding, step } => s.case.case.set_step_note(finding, step, text),
    }
    s.ui.status = "note saved".into();
}

fn finder(
    s: &mut AppState,
    mut query: String,
    mut sel: usize,
    mut hits: Vec<usize>,
    action: &Action,
) -> (Option<Modal>, Vec<Effect>) {
    match *action {
        Action::Cancel | Action::Back => return (None, vec![]),
        Action::Input(c) => {
            query.push(c);
            sel = 0;
            hits = super::finder::rank(&s.finder_values, &query);
        }
        Action::Backspace => {
            query.pop();
            sel = 0;
            hits = super::finder::rank(&s.finder_values, &query);
        }
        Action::Down => sel = (sel + 1).min(hits.len().saturating_sub(1)),
        Action::Up => sel = sel.saturating_sub(1),
        Action::Open => {
            let hit = hits
                .get(sel.min(hits.len().saturating_sub(1)))
                .and_then(|&i| s.finder_values.get(i))
                .cloned();
            if let Some(hit) = hit {
                super::finder::jump(s, &hit);
            }
            return (None, vec![]);
        }
        _ => {}
    }
    (Some(Modal::Finder { query, sel, hits }), vec![])
}

fn hops(s: &mut AppState, sel: usize, action: &Action) -> (Option<Modal>, Vec<Effect>) {
    let n = super::hops::edges(s).len();
    match action {
        Action::Back | Action::Cancel | Action::Hops => (None, vec![]),
        Action::Down => (
            Some(Modal::Hops {
                sel: (sel + 1).min(n.saturating_sub(1)),
            }),
            vec![],
        ),
        Action::Up => (
            Some(Modal::Hops {
                sel: sel.saturating_sub(1),
            }),
            vec![],
        ),
        Action::Open => {
            if let Some(e) = super::hops::edges(s).get(sel) {
                let fi = e.finding;
                jump_to_finding(s, fi);
            }
            (None, vec![])
        }
        _ => (Some(Modal::Hops { sel }), vec![]),
    }
}

fn allow_list(s: &mut AppState, sel: usize, action: &Action) -> (Option<Modal>, Vec<Effect>) {
    let n = s.case.case.allowlist.len();
    match action {
        Action::Back | Action::Cancel | Action::AllowList => (None, vec![]),
        Action::Down => (
            Some(Modal::AllowList {
                sel: (sel + 1).min(n.saturating_sub(1)),
            }),
            vec![],
        ),
        Action::Up => (
            Some(Modal::AllowList {
                sel: sel.saturating_sub(1),
            }),
            vec![],
        ),
        Action::RemoveAllow => {
            if let Some(removed) = s.case.case.remove_allow(sel) {
                s.refresh();
                s.ui.status = format!(
                    "removed allow-list entry {} = {}",
                    removed.spec.field.label(),
                    removed.spec.pattern
                );
                (
                    Some(Modal::AllowList {
                        sel: sel.min(n.saturating_sub(2)),
                    }),
                    vec![Effect::SaveCase],
                )
            } else {
                (Some(Modal::AllowList { sel }), vec![])
            }
        }
        _ => (Some(Modal::AllowList { sel }), vec![]),
    }
}
