//! Case reports: Markdown an analyst can paste into a ticket, and the same as JSON. Summary,
//! findings by severity with timelines and evidence, score breakdowns, triage progress and notes,
//! allow-list decisions with reasons. Evidence strings are escaped for Markdown.

use crate::case::Case;
use crate::case::playbook::{Playbook, fill};
use crate::detect::finding::{Finding, Severity};
use crate::model::sanitize::for_markdown as md;
use crate::model::sanitize::for_markdown_lines as md_lines;
use crate::model::time::fmt_short;
use crate::sink::markdown::finding_md;
use serde_json::json;
use std::fmt::Write;

/// What a report holds: every finding (the default), those at or above a severity, or named
/// ones; in full or compact (a summary, the IOCs and a few lines a finding, under
/// `COMPACT_MAX` characters: what fits a ticket field).
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub compact: bool,
    pub min_severity: Option<Severity>,
    /// Only these finding ids (empty: all).
    pub only: Vec<String>,
}

/// The most characters a compact report takes (ticket systems cap a field near 32k).
pub const COMPACT_MAX: usize = 30_000;

/// A stage event's fields the report may read (hashes); `None` where events are not at hand.
pub type EventLookup<'a> = Option<&'a dyn Fn(usize) -> Option<crate::model::Event>>;

pub fn report_md(
    case: &Case,
    findings: &[Finding],
    playbook: &Playbook,
    opts: &ReportOptions,
    events: EventLookup<'_>,
) -> String {
    let chosen: Vec<&Finding> = findings
        .iter()
        .filter(|f| opts.min_severity.is_none_or(|m| f.severity >= m))
        .filter(|f| opts.only.is_empty() || opts.only.contains(&f.id))
        .collect();
    let active: Vec<&Finding> = chosen
        .iter()
        .copied()
        .filter(|f| !f.is_suppressed())
        .collect();
    let mut out = format!("# svchop case: {}\n\n", md(&case.name));
    summary(&mut out, case, &chosen, opts);
    summary_table(&mut out, case, &active, playbook);
    iocs(&mut out, &active, events);
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let group: Vec<&Finding> = active
            .iter()
            .copied()
            .filter(|f| f.severity == sev)
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {} findings ({})\n", sev.label(), group.len());
        for f in group {
            if opts.compact {
                compact_md(&mut out, case, f, playbook);
            } else {
                finding_md(&mut out, f);
                triage_md(&mut out, case, f, playbook);
            }
        }
    }
    // Suppressed findings are not findings of the report: the appendix lists each with the
    // entry and reason that suppressed it (no triage list, no timeline).
    let suppressed: Vec<&Finding> = chosen
        .iter()
        .copied()
        .filter(|f| f.is_suppressed())
        .collect();
    allow_md(&mut out, case, &suppressed);
    if opts.compact && out.chars().count() > COMPACT_MAX {
        let cut: String = out.chars().take(COMPACT_MAX - 200).collect();
        let end = cut.rfind('\n').unwrap_or(cut.len());
        out = format!(
            "{}\n\n_… cut at {COMPACT_MAX} characters: export the full report (or fewer findings) for the rest._\n",
            &cut[..end]
        );
    }
    out
}

/// One row a finding: what an analyst scans first in a ticket.
fn summary_table(out: &mut String, case: &Case, active: &[&Finding], playbook: &Playbook) {
    if active.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| severity | score | finding | target | source | account | tool | first seen | last seen | triage |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for f in active {
        let (done, total) = case.progress(&f.id, playbook.step_count());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {done}/{total} |",
            f.severity.label(),
            f.score,
            md(&f.id),
            md(&f.target_host),
            md(&crate::sink::table::source_label(f)),
            md(f.user.as_deref().unwrap_or("-")),
            md(&if f.tools.is_empty() {
                "-".to_string()
            } else {
                f.tools.join(", ")
            }),
            fmt_short(f.first_seen),
            fmt_short(f.last_seen),
        );
    }
    out.push('\n');
}

/// Indicators of the active findings, each list sorted and without repeats.
fn iocs(out: &mut String, active: &[&Finding], events: EventLookup<'_>) {
    if active.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Indicators\n");
    for (label, set) in indicators(active, events) {
        if set.is_empty() {
            continue;
        }
        let _ = writeln!(out, "**{label}** ({})\n", set.len());
        for v in set {
            let _ = writeln!(out, "- {}", md(&v));
        }
        out.push('\n');
    }
}

/// The findings' indicators by kind (hosts, source IPs, accounts, services, paths and command
/// lines, hashes from the stage events), each sorted and without repeats.
pub fn indicators(
    active: &[&Finding],
    events: EventLookup<'_>,
) -> Vec<(&'static str, std::collections::BTreeSet<String>)> {
    use std::collections::BTreeSet;
    let mut hosts = BTreeSet::new();
    let mut ips = BTreeSet::new();
    let mut accounts = BTreeSet::new();
    let mut services = BTreeSet::new();
    let mut paths = BTreeSet::new();
    let mut hashes = BTreeSet::new();
    for f in active {
        hosts.insert(f.target_host.clone());
        hosts.extend(f.source_hosts.iter().cloned());
        ips.extend(f.source_ips.iter().cloned());
        accounts.extend(f.user.iter().cloned());
        for s in &f.services {
            services.extend(s.name.iter().cloned());
            paths.extend(s.image_path.iter().cloned());
        }
        for st in &f.stages {
            let Some(e) = events.and_then(|get| get(st.event_index)) else {
                continue;
            };
            if let Some(img) = &e.fields.process.image
                && st.stage == crate::detect::Stage::Exec
            {
                paths.insert(img.to_string());
            }
            for (k, v) in &e.extra {
                if k.eq_ignore_ascii_case("Hashes") || k.eq_ignore_ascii_case("Hash") {
                    hashes.extend(
                        v.split(',')
                            .map(str::trim)
                            .filter(|h| h.contains('='))
                            .map(str::to_string),
                    );
                }
            }
        }
    }
    vec![
        ("Hosts", hosts),
        ("Source IPs", ips),
        ("Accounts", accounts),
        ("Services", services),
        ("Paths and command lines", paths),
        ("Hashes", hashes),
    ]
}

/// A finding in a few lines: heading, stages present and missing, triage state and notes.
fn compact_md(out: &mut String, case: &Case, f: &Finding, playbook: &Playbook) {
    let (done, total) = case.progress(&f.id, playbook.step_count());
    crate::sink::markdown::heading_md(out, f);
    let present: Vec<&str> = {
        let mut v: Vec<&str> = f.stages.iter().map(|s| s.stage.label()).collect();
        v.dedup();
        v
    };
    let missing: Vec<&str> = f.missing_stages.iter().map(|s| s.label()).collect();
    let _ = writeln!(
        out,
        "Stages seen: {}; not seen: {}. Triage {done}/{total}. {}\n",
        present.join(", "),
        if missing.is_empty() {
            "none".to_string()
        } else {
            missing.join(", ")
        },
        md(&f.recommendation)
    );
    let note = case.note(&f.id);
    if !note.is_empty() {
        let _ = writeln!(out, "**Note**\n\n{}\n", md_lines(note, ""));
    }
    marks_md(out, case, f);
}

/// The events the analyst marked on the finding, each with where it is in the evidence.
fn marks_md(out: &mut String, case: &Case, f: &Finding) {
    marks_titled(out, case, f, "Marked events");
}

/// `marks_md` under a title of its own.
fn marks_titled(out: &mut String, case: &Case, f: &Finding, title: &str) {
    let marks = case.marks(&f.id);
    if marks.is_empty() {
        return;
    }
    let _ = writeln!(out, "**{title}** ({})\n", marks.len());
    for m in marks {
        let _ = writeln!(
            out,
            "- {} {} {} {}: {} (evidence: {})",
            fmt_short(m.time),
            md(&m.host),
            md(&m.channel),
            m.event_id,
            md(&m.summary),
            md(&m.evidence)
        );
    }
    out.push('\n');
}

fn summary(out: &mut String, case: &Case, findings: &[&Finding], opts: &ReportOptions) {
    let active: Vec<&&Finding> = findings.iter().filter(|f| !f.is_suppressed()).collect();
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
    if opts.min_severity.is_some() || !opts.only.is_empty() {
        let _ = writeln!(
            out,
            "This report holds {}{}.\n",
            opts.min_severity.map_or(String::new(), |s| format!(
                "findings of severity {} and above",
                s.label()
            )),
            if opts.only.is_empty() {
                String::new()
            } else {
                format!("the findings {}", md(&opts.only.join(", ")))
            }
        );
    }
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
    marks_md(out, case, f);
}

fn allow_md(out: &mut String, case: &Case, suppressed: &[&Finding]) {
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
    // Events the analyst marked on a finding before allow-listing it stay in the record.
    for f in suppressed {
        marks_titled(out, case, f, &format!("Marked events of {}", md(&f.id)));
    }
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
            let marks = case.marks(&f.id);
            if marks.is_empty() {
                json!({"finding": f, "triage": steps, "note": case.note(&f.id)})
            } else {
                json!({"finding": f, "triage": steps, "note": case.note(&f.id), "marks": marks})
            }
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
        let case = Case::new("t", crate::case::CaseSources::default());
        let md = report_md(
            &case,
            &findings,
            &Playbook::builtin().unwrap(),
            &ReportOptions::default(),
            None,
        );
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

    /// The report that pastes into a ticket: a summary row and indicators for every active
    /// finding, one finding or severities on request, and a compact form under the cap.
    #[test]
    fn summary_indicators_selection_and_compact_form() {
        let demo = crate::demo::generate(&crate::demo::DemoOptions::default());
        let store = crate::detect::testkit::store(crate::demo::events(&demo));
        let findings = crate::detect::Detector::builtin("default")
            .unwrap()
            .scan(&store, true)
            .0;
        let case = Case::new("t", crate::case::CaseSources::default());
        let pb = Playbook::builtin().unwrap();
        let events = |i: usize| store.get(i);
        let full = report_md(
            &case,
            &findings,
            &pb,
            &ReportOptions::default(),
            Some(&events),
        );
        let active: Vec<&Finding> = findings.iter().filter(|f| !f.is_suppressed()).collect();
        let rows = full
            .lines()
            .filter(|l| {
                l.starts_with("| Critical |")
                    || l.starts_with("| High |")
                    || l.starts_with("| Medium |")
                    || l.starts_with("| Low |")
            })
            .count();
        assert_eq!(rows, active.len(), "one summary row a finding");
        assert!(
            full.contains("## Indicators") && full.contains("**Services**"),
            "{full}"
        );
        for f in &active {
            assert!(
                full.contains(&format!("- {}", md(&f.target_host))),
                "{}",
                f.target_host
            );
        }
        // One finding.
        let one = &active[0].id;
        let only = ReportOptions {
            only: vec![one.clone()],
            ..ReportOptions::default()
        };
        let single = report_md(&case, &findings, &pb, &only, Some(&events));
        assert_eq!(single.matches("**Triage**").count(), 1, "{single}");
        assert!(single.contains(&md(one)));
        // Severities.
        let high = ReportOptions {
            min_severity: Some(Severity::High),
            ..ReportOptions::default()
        };
        let h = report_md(&case, &findings, &pb, &high, None);
        assert!(
            !h.contains("## Low findings") && !h.contains("## Medium findings"),
            "{h}"
        );
        // Compact: shorter, and under the cap even for thousands of findings.
        let compact = ReportOptions {
            compact: true,
            ..ReportOptions::default()
        };
        let c = report_md(&case, &findings, &pb, &compact, Some(&events));
        assert!(c.len() < full.len() / 2, "{} vs {}", c.len(), full.len());
        let many: Vec<Finding> = (0..3000)
            .map(|i| {
                let mut f = findings[i % findings.len()].clone();
                f.id = format!("F-{i:012}");
                f
            })
            .collect();
        let big = report_md(&case, &many, &pb, &compact, None);
        assert!(
            big.chars().count() <= COMPACT_MAX,
            "{}",
            big.chars().count()
        );
        assert!(big.contains("cut at"), "says it was cut");
    }

    fn md_id(id: &str) -> String {
        md(id)
    }
}

/// The forms of a case report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Md,
    Json,
    /// The ATT&CK Navigator layer of the case's techniques.
    AttackLayer,
    /// The case's allow-list decisions as an allow-list file (TOML).
    Allowlist,
}

/// The case's allow-list decisions as an allow-list file (`--allowlist` reads it anywhere).
pub fn allowlist_toml(case: &Case) -> String {
    format!(
        "# The allow-list decisions of svchop case {:?} ({} entries), for --allowlist.\n{}",
        case.name.replace(['\n', '\r'], " "),
        case.allowlist.len(),
        case.allowlist().to_toml()
    )
}

/// A case's report as text in one form (`svchop export` and the workbench's `x` and `X`).
pub fn report_text(
    format: ReportFormat,
    case: &Case,
    findings: &[Finding],
    playbook: &Playbook,
    opts: &ReportOptions,
    events: EventLookup<'_>,
) -> serde_json::Result<String> {
    Ok(match format {
        ReportFormat::Md => report_md(case, findings, playbook, opts, events),
        ReportFormat::Json => {
            crate::sink::json::pretty(&report_json(case, findings, playbook))? + "\n"
        }
        ReportFormat::Allowlist => allowlist_toml(case),
        ReportFormat::AttackLayer => {
            crate::sink::json::pretty(&crate::sink::attack_layer::layer(&case.name, findings))?
                + "\n"
        }
    })
}
