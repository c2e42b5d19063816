//! What the evidence holds: `sources` (per file) and `coverage` (per host, what cannot be seen).

use super::args::{OpenFor, SourcesArgs, SourcesFormat};
use crate::investigation::Investigation;
use crate::model::time::DisplayZone;
use crate::sink::json;
use crate::sink::text::{Column, emit, table};
use anyhow::Result;
use std::fmt::Write;
use std::process::ExitCode;

pub(super) fn sources(a: &SourcesArgs) -> Result<ExitCode> {
    let loaded = a.input.open(None, OpenFor::FILES)?;
    match a.format {
        SourcesFormat::Json => {
            let v = serde_json::json!({
                "files": loaded.report.files,
                "ignored": loaded.ignored,
                "duplicates_merged": loaded.report.duplicates_merged,
            });
            emit(&(json::pretty(&v)? + "\n"))?;
        }
        SourcesFormat::Table => {
            emit(&sources_table(&loaded, a.input.tz))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn coverage(a: &SourcesArgs) -> Result<ExitCode> {
    let loaded = a.input.open(None, OpenFor::FILES)?;
    let cov = crate::detect::coverage::coverage(&loaded.report.files);
    let text = match a.format {
        SourcesFormat::Json => json::pretty(&cov)? + "\n",
        SourcesFormat::Table => coverage_text(&cov, a.input.tz),
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// One block per host, every line under 80 columns.
pub fn coverage_text(cov: &[crate::detect::coverage::HostCoverage], tz: DisplayZone) -> String {
    use crate::model::sanitize::clip;
    let mut out = String::new();
    for h in cov {
        let span = match (h.first, h.last) {
            (Some(a), Some(b)) => format!("{} .. {}", tz.fmt(a), tz.fmt(b)),
            _ => "time unknown".into(),
        };
        let _ = writeln!(out, "{}  {}", clip(&h.host, 30), span);
        for c in &h.channels {
            // The channel whole; the id list wraps under itself.
            let head = format!(
                "  {:<8} {:>6} records  ids ",
                crate::model::sanitize::for_terminal(
                    crate::model::Channel::from_name(&c.channel).short()
                ),
                c.records
            );
            let indent = " ".repeat(head.chars().count());
            let mut line = head;
            for (k, id) in c.ids_text().split_whitespace().enumerate() {
                if k > 0 && line.chars().count() + id.len() + 1 > 78 {
                    let _ = writeln!(out, "{}", line.trim_end());
                    line.clone_from(&indent);
                }
                line.push_str(id);
                line.push(' ');
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        if h.blind.is_empty() {
            let _ = writeln!(out, "  every stage of the chain is visible");
        }
        for b in &h.blind {
            wrap_into(
                &mut out,
                &format!("cannot see {}: {}", b.stage.label(), b.why),
            );
        }
        for n in &h.notes {
            wrap_into(&mut out, &format!("note: {n}"));
        }
        out.push('\n');
    }
    out
}

/// Word-wrapped at 78 columns, indented two (continuations four), sanitized.
pub(super) fn wrap_into(out: &mut String, text: &str) {
    let safe = crate::model::sanitize::for_terminal(text);
    let mut line = String::from("  ");
    for word in safe.split_whitespace() {
        if line.chars().count() + word.chars().count() + 1 > 78 && line.trim().len() > 1 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from("    ");
        }
        line.push_str(word);
        line.push(' ');
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

pub(super) fn sources_table(loaded: &Investigation, tz: DisplayZone) -> String {
    sources_table_in(loaded, tz, crate::tui::terminal::stdout_width())
}

/// The sources table fitted to `width` columns (`None`: nothing cut). On a narrow terminal the
/// times and hosts go first (the JSON form has them); paths keep their file name.
fn sources_table_in(loaded: &Investigation, tz: DisplayZone, width: Option<usize>) -> String {
    let cols = [
        Column::keep_end("PATH").at_least(32),
        Column::whole("FORMAT"),
        Column::whole("READ"),
        Column::whole("KEPT"),
        Column::whole("SKIPPED"),
        Column::new("HOSTS").optional(),
        Column::whole("FIRST").optional(),
        Column::whole("LAST").optional(),
        Column::new("PROBLEMS").at_least(12),
    ];
    let rows: Vec<Vec<String>> = loaded
        .report
        .files
        .iter()
        .map(|f| {
            let probs: Vec<String> = f
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.at, p.what))
                .collect();
            vec![
                f.path.clone(),
                f.format.clone(),
                f.records_read.to_string(),
                f.records_kept.to_string(),
                f.records_skipped.to_string(),
                f.hosts.iter().cloned().collect::<Vec<_>>().join(","),
                f.first.map(|t| tz.fmt(t)).unwrap_or_default(),
                f.last.map(|t| tz.fmt(t)).unwrap_or_default(),
                probs.join("; "),
            ]
        })
        .collect();
    let mut out = table(&cols, &rows, width);
    out.push_str(&sources_summary(loaded));
    out
}

/// The line under the sources table: totals, merged duplicates, ignored files.
pub(super) fn sources_summary(loaded: &Investigation) -> String {
    let mut out = String::new();
    let r = &loaded.report;
    let _ = write!(
        out,
        "\n{} file(s): {} read, {} kept, {} skipped",
        r.files.len(),
        r.records_read(),
        r.records_kept(),
        r.records_skipped()
    );
    if r.duplicates_merged > 0 {
        let _ = write!(
            out,
            "; {} duplicate record(s) merged (same record in several files)",
            r.duplicates_merged
        );
    }
    if !loaded.ignored.is_empty() {
        let _ = write!(
            out,
            "; {} other file(s) ignored (not EVTX or JSON)",
            loaded.ignored.len()
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At 80 columns every row fits on its line and keeps its file name (the times go, the JSON
    /// form has them); wide, every column is there.
    #[test]
    fn the_sources_table_fits_80_columns() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/dev/evtx-attack-samples/Lateral Movement");
        let options =
            crate::investigation::Options::scan_with(None, crate::ingest::LoadOptions::default());
        let inv = Investigation::open(
            crate::investigation::Evidence::Paths(vec![dir]),
            &options,
            &|_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let text = sources_table_in(&inv, DisplayZone::Utc, Some(80));
        let table: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
        assert!(table.len() > 10);
        for l in &table {
            assert!(
                l.chars().count() <= 80,
                "{} columns: {l}",
                l.chars().count()
            );
        }
        assert!(text.contains("LM_REMCOM_5145_TargetHost.evtx"), "{text}");
        assert!(text.contains("PROBLEMS"));
        let wide = sources_table_in(&inv, DisplayZone::Utc, Some(250));
        assert!(wide.contains("FIRST") && wide.contains("HOSTS"), "{wide}");
    }
}
