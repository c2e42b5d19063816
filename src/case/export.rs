//! Case reports: Markdown an analyst can paste into a ticket, and the same as JSON. Summary,
//! findings by severity with timelines and evidence, score breakdowns, triage progress and notes,
//! allow-list decisions with reasons. Evidence strings are escaped for Markdown.

use super::Case;
use super::playbook::{Playbook, fill};
use crate::detect::finding::{Finding, Severity};
use crate::export::markdown::finding_md;
use crate::model::sanitize::for_markdown as md;
use crate::model::sanitize::for_markdown_lines as md_lines;
use crate::model::time::fmt_short;
use serde_json::json;
use std::fmt::Write;

pub fn report_md(case: &Case, findings: &[Finding], playbook: &Playbook) -> String {
    let mut out = format!("# svchop case: {}\n\n", md(&case.name));
    summary(&mut out, case, findings);
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let group: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity == sev && !f.is_suppressed())
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {} findings ({})\n", sev.label(), group.len());
        for f in group {
            finding_md(&mut out, f);
            triage_md(&mut out, case, f, playbook);
        }
    }
    // Suppressed findings are not findings of the report: the appendix lists each with the
    // entry and reason that suppressed it (no triage list, no timeline).
    allow_md(&mut out, case, findings);
    out
}

fn summary(out: &mut String, case: &Case, findings: &[Finding]) {
    let active: Vec<&Finding> = findings.iter().filter(|f| !f.is_suppressed()).collect();
    let count = |s: Severity| active.iter().filter(|f| f.severity == s).count();
    let _ = writeln!(
        out,
        "Report written {} from sources: {}\n",
        fmt_short(chrono::Utc::now()),
        md(&case.sources.paths.join(", "))
    );
    let _ = writeln!(
        out,
        "{} finding(s): {} critical, {} high, {} medium, {} low; {} suppressed by the allow-list. Profile {}.\n",
        active.len(),
        count(Severity::Critical),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
        findings.len() - active.len(),
        md(&case.sources.profile)
    );
    if !case.case_note.trim().is_empty() {
        let _ = writeln!(out, "## Case note\n\n{}\n", md_lines(&case.case_note, ""));
    }
}

fn triage_md(out: &mut String, case: &Case, f: &Finding, playbook: &Playbook) {
    let (done, total) = case.progress(&f.id, playbook.step_count());
    let _ = writeln!(out, "**Triage** ({done}/{total})\n");
    for step in &playbook.step {
        let m = case.mark(&f.id, &step.id);
        let _ = write!(
            out,
            "- {} {}",
            m.state.mark().replace('[', "\\[").replace(']', "\\]"),
            md(&fill(step, f))
        );
        if !m.note.is_empty() {
            let _ = write!(out, " — {}", md_lines(&m.note, "  "));
        }
        out.push('\n');
    }
    let note = case.note(&f.id);
    if !note.is_empty() {
        let _ = writeln!(out, "\n**Note**\n\n{}", md_lines(note, ""));
    }
    out.push('\n');
}

fn allow_md(out: &mut String, case: &Case, findings: &[Finding]) {
    let suppressed: Vec<&Finding> = findings.iter().filter(|f| f.is_suppressed()).collect();
    if case.allowlist.is_empty() && suppressed.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Appendix: Allow-list decisions\n\n| field | pattern | reason | added |\n|---|---|---|---|"
    );
    for a in &case.allowlist {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            a.spec.field.label(),
            md(&a.spec.pattern),
            md(&a.spec.reason),
            fmt_short(a.added)
        );
    }
    let _ = writeln!(
        out,
        "\n| suppressed finding | target | service | entry | reason | analyst's note |\n|---|---|---|---|---|---|"
    );
    for f in suppressed {
        if let Some(s) = &f.suppressed_by {
            // A table cell is one line: the note's lines are joined with ` / `.
            let note: Vec<&str> = case.note(&f.id).lines().collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} = {} | {} | {} |",
                md(&f.id),
                md(&f.target_host),
                md(&f.service_label()),
                md(&s.field),
                md(&s.pattern),
                md(&s.reason),
                md(&note.join(" / "))
            );
        }
    }
    out.push('\n');
}

pub fn report_json(case: &Case, findings: &[Finding], playbook: &Playbook) -> serde_json::Value {
    let items: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let steps: Vec<serde_json::Value> = playbook
                .step
                .iter()
                .map(|s| {
                    let m = case.mark(&f.id, &s.id);
                    json!({"id": s.id, "phase": s.phase, "text": fill(s, f), "state": m.state, "note": m.note})
                })
                .collect();
            json!({"finding": f, "triage": steps, "note": case.note(&f.id)})
        })
        .collect();
    json!({
        "case": case.name,
        "sources": case.sources,
        "case_note": case.case_note,
        "allowlist": case.allowlist,
        "findings": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report's findings are the ones the allow-list leaves: suppressed ones appear once, in
    /// the appendix with the entry and reason, without a triage list.
    #[test]
    fn suppressed_findings_are_in_the_appendix_only() {
        let demo = crate::demo::generate(&crate::demo::DemoOptions::default());
        let findings = crate::detect::Detector::builtin("default")
            .unwrap()
            .scan(
                &crate::detect::testkit::store(crate::demo::events(&demo)),
                true,
            )
            .0;
        let suppressed = findings.iter().filter(|f| f.is_suppressed()).count();
        assert!(
            suppressed > 0,
            "the demo's software rollout is allow-listed"
        );
        let case = Case::new("t", super::super::CaseSources::default());
        let md = report_md(&case, &findings, &Playbook::builtin().unwrap());
        let low = findings
            .iter()
            .filter(|f| f.severity == Severity::Low && !f.is_suppressed())
            .count();
        assert!(md.contains(&format!("## Low findings ({low})")), "{md}");
        let triage_lists = md.matches("**Triage**").count();
        assert_eq!(triage_lists, findings.len() - suppressed);
        for f in findings.iter().filter(|f| f.is_suppressed()) {
            assert_eq!(md.matches(&md_id(&f.id)).count(), 1, "{} once", f.id);
        }
        assert!(md.contains("## Appendix: Allow-list decisions"));
    }

    fn md_id(id: &str) -> String {
        md(id)
    }
}
