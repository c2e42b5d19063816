//! Pivots in the workbench: the value under the cursor and the pivot view it opens (the rule
//! and the index are core: `crate::pivot`).

use super::state::{AppState, Pane, Pivot};
use crate::pivot::{PivotField, event_value, finding_value, is_sid};

/// Builds the pivot for the current selection; `Err` says why there is nothing to pivot on. On
/// the Targets pane the finding's value is followed (its account, its source); in the Timeline
/// the selected event's, except that an event naming its account only by SID follows the
/// account the finding names (a SID pivot also finds its account's events).
pub fn build(state: &AppState, field: PivotField) -> Result<Pivot, String> {
    let data = state.data.as_ref().ok_or("still loading")?;
    let on_event = state
        .selected_event_ref()
        .and_then(|e| event_value(&e, field));
    let on_finding = state.finding().and_then(|f| finding_value(f, field));
    let finding_first = state.ui.focus == Pane::Targets
        || (field == PivotField::User && on_event.as_deref().is_some_and(is_sid));
    let value = if finding_first {
        on_finding.or(on_event)
    } else {
        on_event.or(on_finding)
    }
    .ok_or_else(|| format!("no {} on the selected event or finding", field.label()))?;
    Ok(search(data, field, &value))
}

/// Every finding and event sharing `value` in `field`.
pub fn search(data: &super::state::Investigation, field: PivotField, value: &str) -> Pivot {
    let (findings, events) =
        crate::pivot::search(&data.store, &data.pivots, &data.findings, field, value);
    Pivot {
        field,
        value: value.to_string(),
        all_findings: findings.clone(),
        all_events: events.clone(),
        findings,
        events,
        sel: 0,
    }
}
