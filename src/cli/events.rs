//! Commands that print or write events: `events`, `timeline`, `normalize`.

use super::args::{
    EventsArgs, EventsFormat, Fields, NormalizeArgs, OpenFor, Suppressed, TimelineArgs,
    TimelineFormat,
};
use super::report_problems;
use crate::model::describe::summary;
use crate::model::host::host_key;
use crate::sink::json;
use crate::sink::text::{Column, emit, table};
use anyhow::{Result, bail};
use std::process::ExitCode;

pub(super) fn events(a: &EventsArgs) -> Result<ExitCode> {
    let (since, until) =
        super::args::time_range(a.since.as_deref(), a.until.as_deref(), a.input.tz)?;
    let loaded = a.input.open(None, OpenFor::EVENTS)?;
    let host = a.host.as_deref().map(host_key);
    let in_time = |i: usize| {
        loaded
            .store
            .time(i)
            .is_some_and(|t| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u))
    };
    let store = &loaded.store;
    let mut evs: Vec<crate::model::Event> = (0..store.len())
        .filter(|&i| {
            a.event_ids.is_empty()
                || store
                    .event_id(i)
                    .is_some_and(|id| a.event_ids.contains(&id))
        })
        .filter(|&i| in_time(i))
        .filter_map(|i| store.get(i))
        .filter(|e| host.as_deref().is_none_or(|h| &*e.host.key == h))
        .collect();
    evs.sort_by(|x, y| x.ts.cmp(&y.ts).then(x.host.key.cmp(&y.host.key)));
    match a.format {
        EventsFormat::Jsonl => {
            let mut out = String::new();
            for e in &evs {
                out.push_str(&json::line(e)?);
                if out.len() > 1 << 20 && !emit(&std::mem::take(&mut out))? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            emit(&out)?;
        }
        EventsFormat::Table => {
            let cols = [
                Column::whole("TIME"),
                Column::new("HOST"),
                Column::whole("CH"),
                Column::whole("ID"),
                Column::new("SUMMARY"),
            ];
            let rows: Vec<Vec<String>> = evs
                .iter()
                .map(|e| {
                    vec![
                        a.input.tz.fmt(e.ts),
                        e.host.display.to_string(),
                        e.channel.short().to_string(),
                        e.event_id.to_string(),
                        summary(e),
                    ]
                })
                .collect();
            emit(&table(&cols, &rows, crate::tui::terminal::stdout_width()))?;
        }
    }
    report_problems(&loaded.report);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn timeline(a: &TimelineArgs) -> Result<ExitCode> {
    use crate::sink::timeline::{csv, marks, timesketch};
    let (since, until) =
        super::args::time_range(a.since.as_deref(), a.until.as_deref(), a.input.tz)?;
    let detector = a.detect.detector()?;
    let opened = a.input.open(
        Some(detector),
        OpenFor {
            fields: Fields::All,
            suppressed: Suppressed::Keep,
        },
    )?;
    let store = &opened.store;
    let marks = marks(&opened.findings);
    let host = a.host.as_deref().map(host_key);
    let in_host = |i: usize| match &host {
        None => true,
        Some(h) => store.host_range(h).is_some_and(|r| r.contains(&i)),
    };
    let mut rows: Vec<usize> = (0..store.len())
        .filter(|&i| in_host(i))
        .filter(|i| !a.findings_only || marks.contains(*i))
        .filter(|&i| {
            store
                .time(i)
                .is_some_and(|t| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u))
        })
        .collect();
    rows.sort_by_key(|&i| store.time(i));
    let text = match a.format {
        TimelineFormat::Csv => csv(store, &rows, &marks)?,
        TimelineFormat::Timesketch | TimelineFormat::Jsonl => {
            let mut out = String::new();
            for &i in &rows {
                let Some(e) = store.get(i) else { continue };
                let v = if a.format == TimelineFormat::Timesketch {
                    timesketch(&e, marks.get(i))
                } else {
                    let mut v = serde_json::to_value(&e)?;
                    if let (Some(m), Some(obj)) = (marks.get(i), v.as_object_mut()) {
                        obj.insert("finding_id".into(), serde_json::json!(m.finding));
                        obj.insert("stage".into(), serde_json::json!(m.stage));
                        obj.insert("severity".into(), serde_json::json!(m.severity));
                    }
                    v
                };
                out.push_str(&json::line(&v)?);
            }
            out
        }
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn normalize(a: &NormalizeArgs) -> Result<ExitCode> {
    if let Some(ev) = crate::case::persist::evidence_holding(&a.to, &a.input.paths) {
        bail!(
            "{} is inside the evidence ({}); svchop never writes there. Choose another --to folder",
            a.to.display(),
            ev.display()
        );
    }
    let loaded = a.input.open(None, OpenFor::EVENTS)?;
    let sources: Vec<String> = loaded.report.files.iter().map(|f| f.path.clone()).collect();
    let store = &loaded.store;
    let m = crate::sink::normalized::write_table(store.events(), &a.to, sources, a.format)?;
    eprintln!(
        "svchop: wrote {} event(s) in {} part(s) to {} (schema version {})",
        m.rows,
        m.parts.len(),
        a.to.display(),
        m.schema_version
    );
    report_problems(&loaded.report);
    Ok(ExitCode::SUCCESS)
}
