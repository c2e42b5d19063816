//! State changes both the main and the modal update make: jumping to a finding, committing an
//! allow-list entry. A module of its own so `update` and `update_modal` do not import each other.

use super::action::{ALLOW_FIELDS, Effect};
use super::state::{AllowDraft, AppState, Pane};
use crate::detect::allowlist::AllowSpec;

/// Adds the drafted allow-list entry to the case and re-marks the findings.
pub fn commit_allow(s: &mut AppState, d: &AllowDraft) -> Vec<Effect> {
    let field = ALLOW_FIELDS[d.field.min(ALLOW_FIELDS.len() - 1)];
    let pattern = d.values.get(d.field).cloned().unwrap_or_default();
    if pattern.trim().is_empty() {
        s.ui.status = format!("the finding has no {}", field.label());
        return vec![];
    }
    if d.reason.trim().is_empty() {
        s.ui.status = "an allow-list entry needs a reason".into();
        return vec![];
    }
    let spec = draft_spec(d, field, &pattern, d.reason.trim());
    let covered = covered(s, &spec);
    let host = s.target().map(|t| (t.key.clone(), t.display.clone()));
    s.case.case.add_allow(spec);
    s.refresh();
    // A host the entry covers whole leaves Targets: say so, and how to see it again.
    let gone = match host {
        Some((key, display)) if s.target().is_none_or(|t| t.key != key) => format!(
            "; {} hidden, every finding allow-listed (S shows it)",
            crate::model::sanitize::clip(&display, 40)
        ),
        _ => String::new(),
    };
    s.ui.status = format!(
        "allow-listed {} = {pattern} (exactly as written; covers {covered} finding(s)){gone}",
        field.label()
    );
    vec![Effect::SaveCase]
}

/// The entry a draft makes. Copied from the finding (attacker-chosen text), its values are
/// matched exactly, never as globs; an entry on a service name or image path also vouches for
/// who ran it (the finding's account and source address, when it has them), so it keeps
/// covering this activity when the finding shows a remote client, and never another's.
pub fn draft_spec(
    d: &AllowDraft,
    field: crate::detect::allowlist::AllowField,
    pattern: &str,
    reason: &str,
) -> AllowSpec {
    use crate::detect::allowlist::{AllowField, Condition};
    let mut and = Vec::new();
    if field.is_target_chosen() {
        for (i, f) in ALLOW_FIELDS.iter().enumerate() {
            let v = d.values.get(i).map_or("", |v| v.trim());
            if matches!(f, AllowField::Account | AllowField::SourceIp) && !v.is_empty() {
                and.push(Condition {
                    field: *f,
                    pattern: v.to_string(),
                });
            }
        }
    }
    AllowSpec {
        field,
        pattern: pattern.to_string(),
        reason: reason.to_string(),
        literal: true,
        and,
    }
}

/// How many loaded findings an entry would cover (any host), shown before it is saved.
pub fn covered(s: &AppState, spec: &AllowSpec) -> usize {
    s.data.as_ref().map_or(0, |data| {
        crate::detect::allowlist::AllowEntry::new(spec.clone(), "case")
            .map_or(0, |e| data.findings.iter().filter(|f| e.matches(f)).count())
    })
}

/// Opens a pivot over the panes (remembering where the analyst was), through the filter.
pub fn open_pivot(s: &mut AppState, p: super::state::Pivot) {
    s.remember();
    let (field, value) = (p.field, p.value.clone());
    s.ui.pivots.push(p);
    s.refilter_pivots();
    let Some(p) = s.ui.pivots.last() else {
        return;
    };
    let hidden = p.all_findings.len() + p.all_events.len() - p.findings.len() - p.events.len();
    s.ui.status = format!(
        "pivot {} = {}: {}, {}{}",
        field.label(),
        value,
        crate::sink::text::count(p.findings.len() as u64, "finding"),
        crate::sink::text::count(p.events.len() as u64, "event"),
        if hidden > 0 {
            format!(" ({hidden} more hidden by the filter)")
        } else {
            String::new()
        }
    );
    s.ui.focus = Pane::Timeline;
}

/// Selects the target and finding of a finding index (showing suppressed ones if needed).
pub fn jump_to_finding(s: &mut AppState, fi: usize) {
    let suppressed = s
        .data
        .as_ref()
        .and_then(|d| d.findings.get(fi))
        .is_some_and(crate::detect::finding::Finding::is_suppressed);
    if suppressed && !s.ui.show_suppressed {
        s.ui.show_suppressed = true;
        s.refresh();
    }
    // A finding the filter hides is still reachable from a pivot or the hops view: the filter
    // gives way (and says so) rather than the jump going nowhere.
    if !s.passes(fi) {
        s.set_filter(None);
        s.ui.status = "filter cleared to show the finding".into();
    }
    for (ti, t) in s.targets.iter().enumerate() {
        if let Some(pos) = t.findings.iter().position(|&x| x == fi) {
            s.ui.target_sel = ti;
            s.ui.finding_sel = pos;
            s.ui.timeline_sel = 0;
            s.ui.focus = Pane::Timeline;
            return;
        }
    }
}
