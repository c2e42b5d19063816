//! Putting an investigation on screen: loaded, partial, or a followed collection's update, on
//! the host and finding the analyst was on where they still exist.

use super::state::{AppState, Loading};

/// Puts loaded results on screen, on this host and finding where they still exist.
pub fn show(
    s: &mut AppState,
    inv: super::state::Investigation,
    keep_target: Option<String>,
    keep_finding: Option<String>,
) {
    s.case.case.move_ids(&inv.id_moves);
    // Store indices of the new data name other events.
    s.ui.record = None;
    s.spans_years = spans_years(&inv.store);
    s.data = Some(inv);
    s.ui.loading = Loading::Done;
    s.refresh_keeping(keep_target, keep_finding);
    s.finder_values = super::finder::candidates(s);
}

/// Whether the evidence's events fall in more than one calendar year (UTC): rows then carry
/// the year, or 2019 rows and 2020 rows read as out of order.
fn spans_years(store: &crate::store::Store) -> bool {
    use chrono::Datelike;
    let mut years = store.hosts().flat_map(|(_, r)| {
        [
            store.time(r.start),
            r.end.checked_sub(1).and_then(|i| store.time(i)),
        ]
        .into_iter()
        .flatten()
        .map(|t| t.year())
    });
    let first = years.next();
    years.any(|y| Some(y) != first)
}
