//! The hops graph: every remote finding of Medium or above as an edge source -> target, in time
//! order, with the longest chain of earlier hops that ends at its source, so A -> B -> C stands out.

use super::state::AppState;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Edge {
    pub finding: usize,
    pub source: String,
    pub target: String,
    pub time: DateTime<Utc>,
    pub user: String,
    pub severity: crate::detect::Severity,
    pub tool: String,
    /// `A -> B -> C`: the hops that lead here.
    pub path: Vec<String>,
    /// The campaign the finding belongs to (one source moving to many targets), if any.
    pub campaign: Option<String>,
}

pub fn edges(s: &AppState) -> Vec<Edge> {
    let Some(data) = s.data.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<Edge> = data
        .findings
        .iter()
        .enumerate()
        // Movement worth drawing: not suppressed, remote, Medium or above, with a known source.
        .filter(|(_, f)| {
            !f.is_suppressed()
                && f.origin.kind == crate::detect::finding::OriginKind::Remote
                && f.severity >= crate::detect::Severity::Medium
                && !(f.source_hosts.is_empty() && f.source_ips.is_empty())
        })
        .map(|(i, f)| Edge {
            finding: i,
            source: f
                .source_hosts
                .first()
                .or(f.source_ips.first())
                .cloned()
                .unwrap_or_else(|| "?".into()),
            target: f.target_key.clone(),
            time: f.first_seen,
            user: f.user.clone().unwrap_or_else(|| "-".into()),
            severity: f.severity,
            tool: f.tools.first().cloned().unwrap_or_else(|| "-".into()),
            path: Vec::new(),
            campaign: f.campaign.as_ref().map(|c| c.id.clone()),
        })
        .collect();
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.target.cmp(&b.target)));
    for i in 0..out.len() {
        let mut path = vec![out[i].target.clone(), out[i].source.clone()];
        let mut cur = out[i].source.clone();
        let mut before = out[i].time;
        // Walk back through earlier hops into the current source (bounded: no cycles).
        for _ in 0..16 {
            let Some(prev) = out[..i]
                .iter()
                .rev()
                .find(|e| e.target == cur && e.time <= before)
            else {
                break;
            };
            if path.contains(&prev.source) {
                break;
            }
            path.push(prev.source.clone());
            cur = prev.source.clone();
            before = prev.time;
        }
        path.reverse();
        out[i].path = path;
    }
    out
}
