//! The fuzzy finder: every host, user, service and source IP of the findings, ranked by
//! fuzzy-matcher; choosing one selects the host or pivots on the value.

use super::action::PivotField;
use super::state::AppState;
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Host,
    User,
    Service,
    Ip,
}

impl Kind {
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::User => "user",
            Kind::Service => "service",
            Kind::Ip => "ip",
        }
    }
}

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

/// Candidates matching the query, best first (all, in order, for an empty query).
pub fn matches(s: &AppState, query: &str) -> Vec<(Kind, String)> {
    let all = candidates(s);
    if query.is_empty() {
        return all;
    }
    let m = SkimMatcherV2::default();
    let mut scored: Vec<(i64, (Kind, String))> = all
        .into_iter()
        .filter_map(|c| m.fuzzy_match(&c.1, query).map(|sc| (sc, c)))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, c)| c).collect()
}

/// Acts on a chosen value: select the host's target row, or pivot on the value.
pub fn jump(s: &mut AppState, hit: &(Kind, String)) {
    let (kind, value) = hit;
    if *kind == Kind::Host
        && let Some(i) = s.targets.iter().position(|t| &t.key == value)
    {
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
        s.ui.status = format!(
            "pivot {} = {}: {} finding(s), {} event(s)",
            field.label(),
            value,
            p.findings.len(),
            p.events.len()
        );
        s.ui.pivots.push(p);
        s.ui.focus = super::state::Pane::Timeline;
    }
}
