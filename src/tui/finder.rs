//! The fuzzy finder: every host, user, service and source IP of the findings, ranked by
//! fuzzy-matcher; choosing one selects the host or pivots on the value.

use super::state::AppState;
use crate::pivot::PivotField;
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use std::collections::BTreeSet;

pub use super::state::FinderKind as Kind;

/// Every value the finder offers.
pub fn candidates(s: &AppState) -> Vec<(Kind, String)> {
    let mut out: BTreeSet<(Kind, String)> = BTreeSet::new();
    let Some(data) = s.data.as_ref() else {
        return Vec::new();
    };
    for f in &data.findings {
        out.insert((Kind::Host, f.target_key.clone()));
        for h in &f.source_hosts {
            out.insert((Kind::Host, h.clone()));
        }
        if let Some(u) = &f.user {
            out.insert((Kind::User, u.clone()));
        }
        for sv in &f.services {
            if let Some(n) = &sv.name {
                out.insert((Kind::Service, n.clone()));
            }
        }
        for ip in &f.source_ips {
            out.insert((Kind::Ip, ip.clone()));
        }
    }
    for (k, _) in data.store.hosts() {
        out.insert((Kind::Host, k.to_string()));
    }
    out.into_iter().collect()
}

/// Whether `query`'s characters appear in `value` in order, ignoring ASCII case: every fuzzy
/// match is such a subsequence, and checking it first spares the scorer most values.
fn subsequence(value: &str, query: &[char]) -> bool {
    let mut q = query.iter().peekable();
    for c in value.chars() {
        match q.peek() {
            Some(&&w) if c.to_ascii_lowercase() == w => {
                q.next();
            }
            Some(_) => {}
            None => return true,
        }
    }
    q.peek().is_none()
}

/// Indices of `values` matching `query`, best first (ties in value order); all for an empty
/// query. Large lists are scored in parallel.
pub fn rank(values: &[(Kind, String)], query: &str) -> Vec<usize> {
    use rayon::prelude::*;
    if query.is_empty() {
        return (0..values.len()).collect();
    }
    let q: Vec<char> = query.chars().map(|c| c.to_ascii_lowercase()).collect();
    // The prefilter folds ASCII case only; a query with other letters goes to the scorer as is.
    let ascii = query.is_ascii();
    let score = |(i, (_, v)): (usize, &(Kind, String))| {
        if ascii && !subsequence(v, &q) {
            return None;
        }
        SkimMatcherV2::default()
            .fuzzy_match(v, query)
            .map(|sc| (sc, i))
    };
    let mut scored: Vec<(i64, usize)> = if values.len() > 4096 {
        values.par_iter().enumerate().filter_map(score).collect()
    } else {
        values.iter().enumerate().filter_map(score).collect()
    };
    scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

/// Acts on a chosen value: select the host's target row, or pivot on the value.
pub fn jump(s: &mut AppState, hit: &(Kind, String)) {
    let (kind, value) = hit;
    if *kind == Kind::Host
        && let Some(i) = s.targets.iter().position(|t| &t.key == value)
    {
        s.remember();
        s.ui.target_sel = i;
        s.ui.finding_sel = 0;
        s.ui.timeline_sel = 0;
        s.ui.focus = super::state::Pane::Timeline;
        return;
    }
    let field = match kind {
        Kind::Host => PivotField::SourceHost,
        Kind::User => PivotField::User,
        Kind::Service => PivotField::Service,
        Kind::Ip => PivotField::SourceIp,
    };
    if let Some(data) = s.data.as_ref() {
        let p = super::pivot::search(data, field, value);
        super::navigate::open_pivot(s, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranking without the prefilter and without parallelism.
    fn naive(values: &[(Kind, String)], query: &str) -> Vec<usize> {
        let m = SkimMatcherV2::default();
        let mut v: Vec<(i64, usize)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, (_, s))| m.fuzzy_match(s, query).map(|sc| (sc, i)))
            .collect();
        v.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter().map(|(_, i)| i).collect()
    }

    #[test]
    fn ranking_equals_the_scorer_alone() {
        let mut values: Vec<(Kind, String)> = (0..6000)
            .map(|i| match i % 4 {
                0 => (Kind::Host, format!("WS{i:05}.corp.local")),
                1 => (Kind::User, format!("CORP\\user{i}")),
                2 => (Kind::Ip, format!("10.{}.{}.{}", i % 7, i % 250, i % 199)),
                _ => (Kind::Service, format!("Svc-É{i}-Ärger")),
            })
            .collect();
        values.sort();
        for q in [
            "ws12", "WS12", "corp\\u", "10.3.1", "é", "Ä", "svc", "zz", "r9",
        ] {
            assert_eq!(rank(&values, q), naive(&values, q), "query {q:?}");
        }
        assert_eq!(rank(&values, "").len(), values.len());
    }
}
