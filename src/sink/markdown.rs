//! Findings as Markdown an analyst can paste into a ticket. Evidence strings are escaped so
//! they cannot add markup, links or HTML.

use crate::detect::finding::Finding;
use crate::model::sanitize::for_markdown as md;
use crate::model::time::fmt_short;
use std::fmt::Write;

/// A finding's heading: `### High F-… on HOST (score 80)`.
pub fn heading_md(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "### {} {} on {} (score {})\n",
        f.severity.label(),
        md(&f.id),
        md(&f.target_host),
        f.score
    );
}

/// One finding: summary table, score breakdown, timeline with evidence locations.
pub fn finding_md(out: &mut String, f: &Finding) {
    heading_md(out, f);
    if let Some(s) = &f.suppressed_by {
        let _ = writeln!(
            out,
            "_Suppressed by allow-list entry {} = {}: {}_\n",
            md(&s.field),
            md(&s.pattern),
            md(&s.reason)
        );
    }
    summary_table(out, f);
    breakdown(out, f);
    timeline(out, f);
}

fn summary_table(out: &mut String, f: &Finding) {
    let services: Vec<String> = f
        .services
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                s.name.as_deref().unwrap_or("-"),
                s.image_path.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let rows = [
        ("source hosts", f.source_hosts.join(", ")),
        ("source IPs", f.source_ips.join(", ")),
        ("account", f.user.clone().unwrap_or_default()),
        ("services", services.join("; ")),
        ("tools", f.tools.join(", ")),
        (
            "origin",
            format!("{:?}: {}", f.origin.kind, f.origin.reasons.join("; ")),
        ),
        (
            "first / last seen",
            format!("{} / {}", fmt_short(f.first_seen), fmt_short(f.last_seen)),
        ),
        (
            "missing stages",
            f.missing_stages
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "techniques",
            f.techniques
                .iter()
                .map(|t| format!("{} {}", t.id, t.name))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("recommendation", f.recommendation.clone()),
    ];
    let _ = writeln!(out, "| field | value |\n|---|---|");
    for (k, v) in rows {
        let _ = writeln!(out, "| {} | {} |", k, md(&v));
    }
}

fn breakdown(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "\n**Score breakdown**\n\n| part | points | why |\n|---|---:|---|"
    );
    for p in &f.score_breakdown {
        let _ = writeln!(out, "| {} | {} | {} |", md(&p.name), p.points, md(&p.why));
    }
}

fn timeline(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "\n**Timeline**\n\n| time (UTC) | stage | event | summary | linked by | evidence |\n|---|---|---|---|---|---|"
    );
    for s in &f.stages {
        let _ = writeln!(
            out,
            "| {} | {} | {} {} | {} | {} | {} |",
            fmt_short(s.time),
            s.stage.label(),
            md(&s.channel),
            s.event_id,
            md(&s.summary),
            md(&s.link),
            md(&s.evidence)
        );
    }
    out.push('\n');
}

pub fn findings_md(findings: &[&Finding], title: &str) -> String {
    let mut out = format!("# {}\n\n", md(title));
    let _ = writeln!(out, "{} finding(s).\n", findings.len());
    for f in findings {
        finding_md(&mut out, f);
    }
    out
}
