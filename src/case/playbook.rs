//! The triage playbook (`assets/playbook.toml`), filled in with a finding's own values.

use crate::detect::assets::{AssetError, parse_toml};
use crate::detect::finding::Finding;
use crate::model::time::fmt_short;
use serde::Deserialize;

pub const PLAYBOOK_TOML: &str = include_str!("../../assets/playbook.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub id: String,
    pub phase: String,
    pub origin: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Playbook {
    pub step: Vec<Step>,
}

impl Playbook {
    pub fn builtin() -> Result<Self, AssetError> {
        parse_toml("assets/playbook.toml", PLAYBOOK_TOML)
    }

    pub fn step_count(&self) -> usize {
        self.step.len()
    }
}

fn or_unknown(v: String) -> String {
    if v.trim().is_empty() {
        "(unknown)".into()
    } else {
        v
    }
}

/// A step's text with the finding's values (raw; sanitize for the sink).
pub fn fill(step: &Step, f: &Finding) -> String {
    let images: Vec<&str> = f
        .services
        .iter()
        .filter_map(|s| s.image_path.as_deref())
        .collect();
    step.text
        .replace("{target}", &f.target_host)
        .replace("{source}", &or_unknown(f.source_hosts.join(", ")))
        .replace("{ips}", &or_unknown(f.source_ips.join(", ")))
        .replace("{user}", &or_unknown(f.user.clone().unwrap_or_default()))
        .replace("{service}", &f.service_label())
        .replace("{image}", &or_unknown(images.join(", ")))
        .replace("{time}", &fmt_short(f.first_seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_playbook_has_every_phase() {
        let p = Playbook::builtin().unwrap();
        let phases: std::collections::BTreeSet<&str> =
            p.step.iter().map(|s| s.phase.as_str()).collect();
        assert!(phases.len() >= 6, "{phases:?}");
        let ids: std::collections::BTreeSet<&str> = p.step.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids.len(), p.step_count(), "step ids are unique");
    }
}
