//! Search inside the focused pane (`/`, then `n` / `N`), jump to a time (`:`) and mark events
//! (`m`). Search reads what each row shows and, for an event, every field it carries (a command
//! line cut at the pane's edge is still found); it wraps around the ends and says so.

use super::panes::fold;
use super::state::{AppState, InspectorTab, Pane};
use crate::case::MarkedEvent;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// Where `n` / `N` move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Targets,
    Timeline,
    Pivot,
    Triage,
    Inspector,
}

fn scope(s: &AppState) -> Scope {
    match s.ui.focus {
        Pane::Targets => Scope::Targets,
        Pane::Timeline if !s.ui.pivots.is_empty() => Scope::Pivot,
        Pane::Timeline => Scope::Timeline,
        Pane::Inspector if s.ui.tab == InspectorTab::Triage => Scope::Triage,
        Pane::Inspector => Scope::Inspector,
    }
}

/// The search typed after `/`: the first match at or after the cursor. An empty line ends the
/// search.
pub fn start(s: &mut AppState, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        s.ui.search = None;
        s.ui.status = "search ended".into();
        return;
    }
    s.ui.search = Some(text.to_string());
    s.ui.search_line = 0;
    step(s, true, true);
}

/// `n` (forward) or `N`: the next or previous match in the focused pane.
pub fn next(s: &mut AppState, forward: bool) {
    if s.ui.search.is_none() {
        s.ui.status = "no search yet: / searches the focused pane".into();
        return;
    }
    step(s, forward, false);
}

/// Moves to the next match from the cursor (`here`: the cursor's own row counts).
fn step(s: &mut AppState, forward: bool, here: bool) {
    let Some(query) = s.ui.search.clone() else {
        return;
    };
    let needle = folded(&query);
    let scope = scope(s);
    let texts = Texts::of(s, scope);
    let len = texts.len();
    let shown = crate::model::sanitize::clip(&query, 40);
    if len == 0 {
        s.ui.status = format!("/{shown}: nothing to search here");
        return;
    }
    let cur = cursor(s, scope).min(len - 1);
    let start = if here {
        cur
    } else if forward {
        cur + 1
    } else {
        cur + len - 1
    };
    for k in 0..len {
        let i = if forward {
            (start + k) % len
        } else {
            (start + len - k) % len
        };
        if texts.matches(s, i, &needle) {
            set_cursor(s, scope, i);
            let wrapped = if forward { i < cur } else { i > cur };
            s.ui.status = format!(
                "/{shown}: row {} of {len}{}",
                i + 1,
                if wrapped && !here {
                    if forward {
                        " (from the top)"
                    } else {
                        " (from the bottom)"
                    }
                } else {
                    ""
                }
            );
            return;
        }
    }
    s.ui.status = format!("/{shown}: no match in {len} row(s)");
}

/// What a scope's rows say: the Inspector's lines and the Timeline's rows computed once, the
/// lists read row by row (an event is decoded only when its turn comes).
enum Texts {
    Lines(Vec<String>),
    /// The Timeline's rows: event index and how it was linked.
    Timeline(Vec<(usize, String)>),
    Targets(usize),
    Pivot(usize),
    Triage(usize),
}

impl Texts {
    fn of(s: &AppState, scope: Scope) -> Texts {
        match scope {
            Scope::Inspector => Texts::Lines(
                super::panes::inspector::line_texts(s)
                    .iter()
                    .map(|l| folded(l))
                    .collect(),
            ),
            Scope::Targets => Texts::Targets(s.targets.len()),
            Scope::Timeline => Texts::Timeline(
                s.timeline_rows()
                    .into_iter()
                    .map(|(i, _, link)| (i, link))
                    .collect(),
            ),
            Scope::Pivot => Texts::Pivot(
                s.ui.pivots
                    .last()
                    .map_or(0, |p| p.findings.len() + p.events.len()),
            ),
            Scope::Triage => Texts::Triage(s.playbook.step.len()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Texts::Lines(l) => l.len(),
            Texts::Timeline(rows) => rows.len(),
            Texts::Targets(n) | Texts::Pivot(n) | Texts::Triage(n) => *n,
        }
    }

    fn matches(&self, s: &AppState, i: usize, needle: &str) -> bool {
        let has = |t: &str| folded(t).contains(needle);
        match self {
            Texts::Lines(l) => l.get(i).is_some_and(|t| t.contains(needle)),
            Texts::Timeline(rows) => rows
                .get(i)
                .is_some_and(|(e, link)| has(link) || event_has(s, *e, needle)),
            Texts::Targets(_) => s
                .targets
                .get(i)
                .is_some_and(|t| has(&t.display) || has(&t.key)),
            Texts::Pivot(_) => s.ui.pivots.last().is_some_and(|p| {
                super::panes::timeline::pivot_row_text(s, p, i).is_some_and(|t| has(&t))
                    || i.checked_sub(p.findings.len())
                        .and_then(|j| p.events.get(j))
                        .is_some_and(|&e| event_has(s, e, needle))
            }),
            Texts::Triage(_) => {
                let (Some(step), Some(f)) = (s.playbook.step.get(i), s.finding()) else {
                    return false;
                };
                has(&crate::case::playbook::fill(step, f))
                    || has(&s.case.case.mark(&f.id, &step.id).note)
            }
        }
    }
}

/// Text as search compares it (each character folded to lower case).
fn folded(t: &str) -> String {
    t.chars().map(fold).collect()
}

/// Whether an event's summary or any of its fields holds the (folded) needle.
fn event_has(s: &AppState, i: usize, needle: &str) -> bool {
    let Some(e) = s.data.as_ref().and_then(|d| d.store.get(i)) else {
        return false;
    };
    folded(&crate::model::describe::summary(&e)).contains(needle)
        || crate::filter::event_values(&e)
            .iter()
            .any(|v| folded(v).contains(needle))
}

fn cursor(s: &AppState, scope: Scope) -> usize {
    match scope {
        Scope::Targets => s.ui.target_sel,
        Scope::Timeline => s.ui.timeline_sel,
        Scope::Pivot => s.ui.pivots.last().map_or(0, |p| p.sel),
        Scope::Triage => s.ui.triage_sel,
        Scope::Inspector => s.ui.search_line,
    }
}

fn set_cursor(s: &mut AppState, scope: Scope, i: usize) {
    match scope {
        Scope::Targets => s.select_target_row(i),
        Scope::Timeline => s.ui.timeline_sel = i,
        Scope::Pivot => {
            if let Some(p) = s.ui.pivots.last_mut() {
                p.sel = i;
            }
        }
        Scope::Triage => {
            s.ui.triage_sel = i;
            s.ui.triage_offset = 0;
        }
        Scope::Inspector => {
            s.ui.search_line = i;
            s.ui.inspector_scroll = super::panes::inspector::scroll_to_line(s, i);
        }
    }
}

/// `:` then a time: the timeline (or the open pivot) goes to its first row at or after it. A
/// time alone is on the day of the selected row; times are in the zone shown.
pub fn jump(s: &mut AppState, text: &str) -> Result<(), String> {
    let pivot = !s.ui.pivots.is_empty();
    let times = row_times(s, pivot);
    if times.is_empty() {
        return Err("nothing to jump in: select a finding first".into());
    }
    let scope = if pivot { Scope::Pivot } else { Scope::Timeline };
    let cur = cursor(s, scope);
    let day = times
        .get(cur.min(times.len() - 1))
        .copied()
        .flatten()
        .or_else(|| s.finding().map(|f| f.first_seen));
    let at = parse_when(text.trim(), s.ui.zone, day)?;
    // Rows are in time order; a row without a time never stops the walk.
    let found = times.iter().position(|t| t.is_some_and(|t| t >= at));
    let i = found.unwrap_or(times.len() - 1);
    if s.ui.focus != Pane::Timeline {
        s.remember();
        s.ui.focus = Pane::Timeline;
    }
    set_cursor(s, scope, i);
    let shown = s.ui.zone.fmt_with(at, "%Y-%m-%d %H:%M:%S");
    s.ui.status = if found.is_some() {
        format!(
            "at the first row at or after {shown} ({})",
            s.ui.zone.label()
        )
    } else {
        format!("every row is before {shown}: at the last")
    };
    Ok(())
}

/// The time of each row of the timeline or of the open pivot (a pivot's findings by their
/// first event).
fn row_times(s: &AppState, pivot: bool) -> Vec<Option<DateTime<Utc>>> {
    let Some(data) = s.data.as_ref() else {
        return Vec::new();
    };
    if pivot {
        let Some(p) = s.ui.pivots.last() else {
            return Vec::new();
        };
        return p
            .findings
            .iter()
            .map(|&i| data.findings.get(i).map(|f| f.first_seen))
            .chain(p.events.iter().map(|&i| data.store.time(i)))
            .collect();
    }
    let stage_time = |i: usize| {
        s.finding()
            .and_then(|f| f.stages.iter().find(|st| st.event_index == i))
            .map(|st| st.time)
    };
    s.timeline_rows()
        .iter()
        .map(|r| data.store.time(r.0).or_else(|| stage_time(r.0)))
        .collect()
}

/// A time the analyst typed: `11:40`, `11:40:56(.123)` on `day`, or what `since:` takes.
fn parse_when(
    text: &str,
    zone: crate::model::time::DisplayZone,
    day: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>, String> {
    let time = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(text, f).ok());
    if let Some(t) = time {
        let day = day.ok_or("no day to put that time on: give the date too")?;
        // The day as the zone shows it (`fmt_with` adds the offset after the pattern).
        let shown = zone.fmt_with(day, "%Y-%m-%d");
        let date = NaiveDate::parse_from_str(shown.get(..10).unwrap_or(&shown), "%Y-%m-%d")
            .map_err(|e| e.to_string())?;
        return zone
            .to_utc(date.and_time(t))
            .ok_or_else(|| format!("`{text}` does not exist in {}", zone.label()));
    }
    crate::filter::bound(text.trim_matches('"'), zone, false)
}

/// `m`: marks the event under the cursor on the finding looked at, or takes the mark off.
pub fn toggle_mark(s: &mut AppState) -> bool {
    let (Some(fid), Some(e)) = (s.finding().map(|f| f.id.clone()), s.selected_event_ref()) else {
        s.ui.status = "select an event (timeline or pivot) of a finding to mark it".into();
        return false;
    };
    let mark = MarkedEvent::of(&e);
    let on = s.case.case.toggle_mark(&fid, mark);
    let n = s.case.case.marks(&fid).len();
    s.ui.status = format!(
        "{} {} event {} on {fid} ({n} marked; 5 Notes lists them)",
        if on { "marked" } else { "unmarked" },
        e.channel.name(),
        e.event_id
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::DisplayZone;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_read_as_analysts_type_them() {
        let day = Some(utc("2020-08-27T23:30:00Z"));
        assert_eq!(
            parse_when("11:40", DisplayZone::Utc, day).unwrap(),
            utc("2020-08-27T11:40:00Z")
        );
        assert_eq!(
            parse_when("11:40:56.5", DisplayZone::Utc, day).unwrap(),
            utc("2020-08-27T11:40:56.5Z")
        );
        assert_eq!(
            parse_when("\"2019-04-30 20:26\"", DisplayZone::Utc, day).unwrap(),
            utc("2019-04-30T20:26:00Z")
        );
        assert_eq!(
            parse_when("2019-04-30", DisplayZone::Utc, day).unwrap(),
            utc("2019-04-30T00:00:00Z")
        );
        // In the zone shown, on the day the row has there.
        let plus2 = DisplayZone::Fixed(chrono::FixedOffset::east_opt(7200).unwrap());
        assert_eq!(
            parse_when("01:00", plus2, day).unwrap(),
            utc("2020-08-27T23:00:00Z")
        );
        assert!(parse_when("yesterday", DisplayZone::Utc, day).is_err());
        assert!(parse_when("11:40", DisplayZone::Utc, None).is_err());
    }
}
