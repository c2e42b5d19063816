//! Pivots: the value of a field on the selected event (or finding), and every event and finding
//! across all hosts that shares it.

use super::action::PivotField;
use super::state::{AppState, Pivot};
use crate::detect::finding::Finding;
use crate::model::Event;

fn eq(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// `DOMAIN\user` against an account: the user must match, and the domain too when both are
/// known (`CORP` meets `corp.local`; local accounts of different hosts do not meet).
fn account_matches(acct: &crate::model::Account, value: &str) -> bool {
    let (domain, user) = match value.rsplit_once('\\') {
        Some((d, u)) => (Some(d), u),
        None => (None, value),
    };
    let short = |d: &str| d.split('.').next().unwrap_or(d).to_ascii_uppercase();
    acct.user.as_deref().is_some_and(|u| eq(u, user))
        && match (domain, acct.domain.as_deref()) {
            (Some(a), Some(b)) => short(a) == short(b),
            _ => true,
        }
}

/// The value of `field` on an event.
pub fn event_value(e: &Event, field: PivotField) -> Option<String> {
    let f = &e.fields;
    match field {
        PivotField::User => e.actor(),
        PivotField::SourceIp => f.net.src_ip.as_deref().map(str::to_string),
        PivotField::SourceHost => f
            .logon
            .workstation
            .as_deref()
            .or(f.net.src_host.as_deref())
            .map(str::to_string),
        PivotField::LogonId => f
            .logon_id
            .filter(|l| !l.is_well_known())
            .map(|l| l.to_string()),
        PivotField::Service => f.service.name.as_deref().map(str::to_string),
        PivotField::Image => f
            .service
            .image_path
            .as_deref()
            .or(f.process.image.as_deref())
            .map(str::to_string),
        PivotField::CommandLine => f.process.command_line.as_deref().map(str::to_string),
        PivotField::ParentImage => f.process.parent_image.as_deref().map(str::to_string),
    }
}

/// The value of `field` on a finding (used when the event has none).
pub fn finding_value(f: &Finding, field: PivotField) -> Option<String> {
    match field {
        PivotField::User => f.user.clone(),
        PivotField::SourceIp => f.source_ips.first().cloned(),
        PivotField::SourceHost => f.source_hosts.first().cloned(),
        PivotField::LogonId => f.logon_ids.first().map(ToString::to_string),
        PivotField::Service => f.services.iter().find_map(|s| s.name.clone()),
        PivotField::Image => f.services.iter().find_map(|s| s.image_path.clone()),
        PivotField::CommandLine => f.processes.first().cloned(),
        PivotField::ParentImage => None,
    }
}

fn event_matches(e: &Event, field: PivotField, value: &str) -> bool {
    let f = &e.fields;
    match field {
        PivotField::User => {
            [&f.subject, &f.target]
                .iter()
                .any(|a| account_matches(a, value))
                || f.process.user.as_deref().is_some_and(|u| eq(u, value))
        }
        PivotField::SourceHost => {
            let key = crate::model::host_key(value);
            [f.logon.workstation.as_deref(), f.net.src_host.as_deref()]
                .iter()
                .flatten()
                .any(|h| crate::model::host_key(h) == key)
                || *e.host.key == *key && f.net.initiated == Some(true)
        }
        other => event_value(e, other).is_some_and(|v| eq(&v, value)),
    }
}

fn finding_matches(fd: &Finding, field: PivotField, value: &str) -> bool {
    match field {
        PivotField::User => fd.user.as_deref().is_some_and(|u| {
            let acct = match u.rsplit_once('\\') {
                Some((d, n)) => crate::model::Account {
                    domain: Some(d.into()),
                    user: Some(n.into()),
                    sid: None,
                },
                None => crate::model::Account {
                    domain: None,
                    user: Some(u.into()),
                    sid: None,
                },
            };
            account_matches(&acct, value)
        }),
        PivotField::SourceIp => fd.source_ips.iter().any(|i| eq(i, value)),
        PivotField::SourceHost => {
            let key = crate::model::host_key(value);
            fd.source_hosts
                .iter()
                .any(|h| crate::model::host_key(h) == key)
                || fd.target_key == key
        }
        PivotField::LogonId => fd.logon_ids.iter().any(|l| eq(&l.to_string(), value)),
        PivotField::Service => fd.services.iter().any(|s| {
            s.name.as_deref().is_some_and(|n| eq(n, value))
                || s.key_name.as_deref().is_some_and(|n| eq(n, value))
        }),
        PivotField::Image => fd
            .services
            .iter()
            .any(|s| s.image_path.as_deref().is_some_and(|n| eq(n, value))),
        PivotField::CommandLine | PivotField::ParentImage => {
            fd.processes.iter().any(|p| eq(p, value))
        }
    }
}

/// Builds the pivot for the current selection; `Err` says why there is nothing to pivot on.
pub fn build(state: &AppState, field: PivotField) -> Result<Pivot, String> {
    let data = state.data.as_ref().ok_or("still loading")?;
    let value = state
        .selected_event_ref()
        .and_then(|e| event_value(e, field))
        .or_else(|| state.finding().and_then(|f| finding_value(f, field)))
        .ok_or_else(|| format!("no {} on the selected event or finding", field.label()))?;
    Ok(search(data, field, &value))
}

/// Every finding and event sharing `value` in `field`.
pub fn search(data: &super::state::Investigation, field: PivotField, value: &str) -> Pivot {
    let findings = data
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| finding_matches(f, field, value))
        .map(|(i, _)| i)
        .collect();
    let mut events: Vec<usize> = data
        .store
        .events()
        .iter()
        .enumerate()
        .filter(|(_, e)| event_matches(e, field, value))
        .map(|(i, _)| i)
        .collect();
    events.sort_by_key(|&i| data.store.get(i).map(|e| e.ts));
    Pivot {
        field,
        value: value.to_string(),
        findings,
        events,
        sel: 0,
    }
}
