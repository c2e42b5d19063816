//! Updates while a view is open over the panes: help, finder, hops, allow-list editor and
//! manager, text editor.

use super::action::Effect;
use super::action::{ALLOW_FIELDS, Action};
use super::editor::{EditKey, Editor};
use super::navigate::{commit_allow, jump_to_finding};
use super::state::{AllowDraft, AppState, EditTarget, Modal};

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
        Modal::AllowEdit(d) => allow_edit(s, d, action),
        Modal::AllowList {
            sel,
            confirm_remove,
        } => allow_list(s, sel, confirm_remove, action),
        Modal::Edit(e) => edit(s, e, action),
    };
    s.ui.modal = next;
    effects
}

/// The allow-list entry editor: field choice, the reason typed, Enter saves; `Esc` on a typed
/// reason asks first, as the text editor does.
fn allow_edit(
    s: &mut AppState,
    mut d: AllowDraft,
    action: &Action,
) -> (Option<Modal>, Vec<Effect>) {
    let asked = std::mem::take(&mut d.confirm_discard);
    match *action {
        // A typed reason is the analyst's work: the first Esc asks, as the note editor does
        // (any other key goes on editing, and the next Esc asks again).
        Action::Cancel | Action::Back if d.reason.trim().is_empty() || asked => {
            if asked {
                s.ui.status = "allow-list entry discarded".into();
            }
            (None, vec![])
        }
        Action::Cancel | Action::Back => {
            d.confirm_discard = true;
            s.ui.status = "a reason is typed: esc again discards the entry, Enter saves it".into();
            (Some(Modal::AllowEdit(d)), vec![])
        }
        Action::Up | Action::Edit(EditKey::Left | EditKey::Up) => {
            d.field = (d.field + ALLOW_FIELDS.len() - 1) % ALLOW_FIELDS.len();
            (Some(Modal::AllowEdit(d)), vec![])
        }
        Action::Right | Action::Down | Action::Edit(EditKey::Right | EditKey::Down) => {
            d.field = (d.field + 1) % ALLOW_FIELDS.len();
            (Some(Modal::AllowEdit(d)), vec![])
        }
        Action::Input(c) => {
            if !c.is_control() {
                d.reason.push(c);
            }
            (Some(Modal::AllowEdit(d)), vec![])
        }
        Action::Paste(ref text) => {
            d.reason
                .extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
            (Some(Modal::AllowEdit(d)), vec![])
        }
        Action::Edit(EditKey::Backspace | EditKey::DeleteWordBack) => {
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
    }
}

/// A text editor: typing and cursor keys edit; ctrl-s (Enter on one line) saves; `Esc` closes
/// at once when nothing changed, else asks (a second `Esc` discards, anything else goes on).
fn edit(s: &mut AppState, mut e: Editor, action: &Action) -> (Option<Modal>, Vec<Effect>) {
    let asked = std::mem::take(&mut e.confirm_discard);
    match action {
        Action::Cancel | Action::Back if !e.changed() || asked => {
            if asked {
                s.ui.status = "changes discarded".into();
            }
            return (None, vec![]);
        }
        Action::Cancel | Action::Back => {
            e.confirm_discard = true;
            s.ui.status = "the text has changed: esc again discards it, ctrl-s saves it".into();
        }
        Action::Input(c) => e.insert(*c),
        Action::Paste(text) => e.paste(text),
        Action::Edit(k) => e.key(*k),
        Action::Newline if e.multiline => e.insert('\n'),
        Action::Save | Action::Newline | Action::Open => {
            return match e.target {
                EditTarget::Filter => (apply_filter(s, e), vec![]),
                EditTarget::Search => {
                    super::search::start(s, &e.text);
                    (None, vec![])
                }
                EditTarget::Jump => match super::search::jump(s, &e.text) {
                    Ok(()) => (None, vec![]),
                    Err(why) => {
                        s.ui.status = why;
                        (Some(Modal::Edit(e)), vec![])
                    }
                },
                _ => {
                    save_text(s, &e.target, &e.text);
                    (None, vec![Effect::SaveCase])
                }
            };
        }
        _ => {}
    }
    if asked && !e.confirm_discard {
        s.ui.status.clear();
    }
    (Some(Modal::Edit(e)), vec![])
}

/// Applies the filter line; a line that does not parse stays open with the reason.
fn apply_filter(s: &mut AppState, e: Editor) -> Option<Modal> {
    match crate::filter::Filter::parse(&e.text, s.ui.zone) {
        Ok(f) if f.is_empty() => {
            s.set_filter(None);
            s.ui.status = "filter cleared".into();
            None
        }
        Ok(f) => {
            s.set_filter(Some(f));
            // The status line's filter badge says what it is and how many findings it leaves.
            s.ui.status = format!(
                "on {}",
                crate::sink::text::count(s.targets.len() as u64, "host")
            );
            None
        }
        Err(why) => {
            s.ui.status = format!("filter not applied: {why}");
            Some(Modal::Edit(e))
        }
    }
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
        EditTarget::Filter | EditTarget::Search | EditTarget::Jump => return,
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
        Action::Paste(ref text) => {
            query.extend(text.chars().filter(|c| !c.is_control()));
            sel = 0;
            hits = super::finder::rank(&s.finder_values, &query);
        }
        Action::Edit(EditKey::Backspace | EditKey::DeleteWordBack) => {
            query.pop();
            sel = 0;
            hits = super::finder::rank(&s.finder_values, &query);
        }
        Action::Down | Action::Edit(EditKey::Down) => {
            sel = (sel + 1).min(hits.len().saturating_sub(1));
        }
        Action::Up | Action::Edit(EditKey::Up) => sel = sel.saturating_sub(1),
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
        // Long hop chains scroll sideways, as the Timeline's rows do.
        Action::ScrollRight => {
            s.ui.hscroll = (s.ui.hscroll + 20).min(100_000);
            (Some(Modal::Hops { sel }), vec![])
        }
        Action::ScrollLeft => {
            s.ui.hscroll = s.ui.hscroll.saturating_sub(20);
            (Some(Modal::Hops { sel }), vec![])
        }
        Action::Open => {
            if let Some(e) = super::hops::edges(s).get(sel) {
                let fi = e.finding;
                // Remembered with the hops view open on this row: `Esc` comes back to it.
                s.ui.modal = Some(Modal::Hops { sel });
                s.remember();
                s.ui.modal = None;
                jump_to_finding(s, fi);
            }
            (None, vec![])
        }
        _ => (Some(Modal::Hops { sel }), vec![]),
    }
}

fn allow_list(
    s: &mut AppState,
    sel: usize,
    confirm: bool,
    action: &Action,
) -> (Option<Modal>, Vec<Effect>) {
    let n = s.case.case.allowlist.len();
    let at = |sel: usize| {
        Some(Modal::AllowList {
            sel,
            confirm_remove: false,
        })
    };
    match action {
        Action::Back | Action::Cancel if confirm => {
            s.ui.status = "kept".into();
            (at(sel), vec![])
        }
        Action::Back | Action::Cancel | Action::AllowList => (None, vec![]),
        Action::Down => (at((sel + 1).min(n.saturating_sub(1))), vec![]),
        Action::Up => (at(sel.saturating_sub(1)), vec![]),
        // An entry is a decision with its reason: the first `d` asks.
        Action::RemoveAllow if !confirm => {
            if let Some(e) = s.case.case.allowlist.get(sel) {
                s.ui.status = format!(
                    "remove allow-list entry {} = {}? d again removes it, esc keeps it",
                    e.spec.field.label(),
                    crate::model::sanitize::for_terminal(&e.spec.pattern)
                );
                return (
                    Some(Modal::AllowList {
                        sel,
                        confirm_remove: true,
                    }),
                    vec![],
                );
            }
            (at(sel), vec![])
        }
        Action::RemoveAllow => {
            if let Some(removed) = s.case.case.remove_allow(sel) {
                s.refresh();
                s.ui.status = format!(
                    "removed allow-list entry {} = {}",
                    removed.spec.field.label(),
                    removed.spec.pattern
                );
                (at(sel.min(n.saturating_sub(2))), vec![Effect::SaveCase])
            } else {
                (at(sel), vec![])
            }
        }
        _ => (at(sel), vec![]),
    }
}
