//! Pivots in the workbench: the value under the cursor and the pivot view it opens (the rule
//! and the index are core: `crate::pivot`).

use super::state::{AppState, Pivot};
use crate::pivot::{PivotField, event_value, finding_value};

/// Builds the pivot for the current selection; `Err` says why there is nothing to pivot on.
pub fn build(state: &AppState, field: PivotField) -> Result<Pivot, String> {
    let data = state.data.as_ref().ok_or("still loading")?;
    let value = state
        .selected_event_ref()
        .and_then(|e| event_value(&e, field))
        .or_else(|| state.finding().and_then(|f| finding_value(f, field)))
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
