//! An ATT&CK Navigator layer of a case's findings: each technique scored by the most severe
//! finding that shows it, with the findings listed in the comment.

use crate::detect::finding::{Finding, Severity};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn sev_score(s: Severity) -> u8 {
    match s {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

pub fn layer(name: &str, findings: &[Finding]) -> Value {
    let mut by: BTreeMap<String, (u8, Vec<String>)> = BTreeMap::new();
    for f in findings.iter().filter(|f| !f.is_suppressed()) {
        for t in &f.techniques {
            let e = by.entry(t.id.clone()).or_insert((0, Vec::new()));
            e.0 = e.0.max(sev_score(f.severity));
            e.1.push(format!(
                "{} {} on {}",
                f.id,
                f.severity.label(),
                f.target_host
            ));
        }
    }
    let techniques: Vec<Value> = by
        .into_iter()
        .map(|(id, (score, list))| json!({"techniqueID": id, "score": score, "enabled": true, "comment": list.join("; ")}))
        .collect();
    json!({
        "name": format!("svchop: {name}"),
        "versions": {"attack": "16", "navigator": "5.1.0", "layer": "4.5"},
        "domain": "enterprise-attack",
        "description": "Techniques of the case's findings (remote service-based lateral movement), scored by the most severe finding: 1 low, 2 medium, 3 high, 4 critical.",
        "techniques": techniques,
        "gradient": {"colors": ["#ffe766", "#ff8c00", "#e60d0d"], "minValue": 1, "maxValue": 4},
        "legendItems": [
            {"label": "low", "color": "#ffe766"},
            {"label": "medium", "color": "#ffb000"},
            {"label": "high", "color": "#ff8c00"},
            {"label": "critical", "color": "#e60d0d"}
        ],
        "sorting": 3,
        "hideDisabled": false
    })
}
