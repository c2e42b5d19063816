//! Rule export (`svchop rules export`): the profile in use — its correlation, windows and
//! exclusions, plus the analyst's allow-list — written as Sigma (base rules and a v2
//! `temporal_ordered` correlation), KQL for Microsoft Sentinel/Defender, EQL for Elastic, SPL for
//! Splunk, and a PySpark job. Pure text generation from a [`RuleModel`]; no I/O.
//!
//! Only profiles of the `logon-service` engine (a network logon joined to a service install on
//! the logon id within a window: Elastic, Sigma, Threat Hunter Playbook, or an analyst's own
//! profile of that engine) have a rule form. The chain, Sentinel and hunt engines link stages
//! through context (helpers, pipes, SIDs, process trees) that these languages cannot express
//! faithfully, so svchop refuses rather than export an approximation under the same name.

pub mod eql;
pub mod kql;
pub mod sigma;
pub mod spark;
pub mod spark_engine;
pub mod spl;

use crate::detect::Detector;
use crate::detect::allowlist::AllowField;
use crate::detect::profile::{Engine, InstallSource};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error(
        "profile {profile} uses the {engine} engine, which has no rule form; rule export covers \
         logon-service profiles (elastic, sigma, otrf, or your own TOML profile of that engine). \
         `--to spark` runs every profile on Spark through svchop's own engine"
    )]
    Engine { profile: String, engine: String },
    #[error("profile {0} has no 4697 install source: its correlation can never match")]
    NoJoinableInstall(String),
    #[error("the Spark job does not implement profile {0}'s [origin] scoring rule yet")]
    OriginRule(String),
}

/// Which language to write (also `svchop rules export --to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Sigma base rules and a Sigma v2 `temporal_ordered` correlation (YAML stream).
    Sigma,
    /// Microsoft Sentinel / Defender XDR query.
    Kql,
    /// Elastic EQL sequence.
    Eql,
    /// Splunk search.
    Spl,
    /// PySpark job over `svchop normalize` tables that runs svchop's own engine on the executors
    /// (every profile), writing svchop findings.
    Spark,
    /// PySpark job over `svchop normalize` tables with the profile's join written in Spark SQL
    /// (logon-service profiles; needs no svchop binary on the cluster).
    SparkSql,
}

/// The analyst's allow-list, as filters on the rule's fields (case-insensitive globs).
#[derive(Debug, Clone, Default)]
pub struct AllowFilters {
    pub service_names: Vec<String>,
    pub images: Vec<String>,
    /// `user` or `DOMAIN\user` globs, matched against the installer and the logon account.
    pub accounts: Vec<String>,
    pub source_ips: Vec<String>,
    pub target_hosts: Vec<String>,
    /// Entries with no field in these events (source host: a logon-service finding has none).
    pub unused: Vec<String>,
}

/// Everything a rule needs, from the profile and the allow-list.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // Each flag is one switch of the profile's TOML.
pub struct RuleModel {
    pub profile: String,
    pub title: String,
    /// Logon-to-install window in seconds; `None` = unlimited.
    pub window: Option<i64>,
    pub same_host: bool,
    pub logon_types: Vec<u8>,
    pub exclude_source_ips: Vec<String>,
    pub require_source_ip: bool,
    pub exclude_machine_accounts: bool,
    /// 7045 is read by the profile (a standalone stage rule; it cannot join: no logon id).
    pub reads_7045: bool,
    /// `0x..` ids, lower-case.
    pub exclude_subject_logon_ids: Vec<String>,
    pub exclude_image_globs: Vec<String>,
    pub exclude_service_names: Vec<String>,
    pub allow: AllowFilters,
}

impl RuleModel {
    pub fn from_detector(d: &Detector) -> Result<Self, RuleError> {
        let p = &d.profile;
        if p.engine != Engine::LogonService {
            return Err(RuleError::Engine {
                profile: p.name.clone(),
                engine: format!("{:?}", p.engine).to_ascii_lowercase(),
            });
        }
        if !p.install.sources.contains(&InstallSource::Security4697) {
            return Err(RuleError::NoJoinableInstall(p.name.clone()));
        }
        let mut allow = AllowFilters::default();
        for e in &d.allowlist.entries {
            let pat = e.spec.pattern.trim().to_string();
            if !e.spec.and.is_empty() {
                // An entry of several facts has no one-field filter: left out, so the rule
                // suppresses less than svchop, never more.
                allow
                    .unused
                    .push(format!("{} {pat} (and more)", e.spec.field.label()));
                continue;
            }
            match e.spec.field {
                AllowField::ServiceName => allow.service_names.push(pat),
                AllowField::ImagePath => allow.images.extend(image_variants(&pat)),
                AllowField::Account => allow.accounts.push(pat),
                AllowField::SourceIp => allow.source_ips.push(pat),
                AllowField::TargetHost => allow.target_hosts.push(pat),
                AllowField::SourceHost => allow.unused.push(format!("source_host {pat}")),
                AllowField::ServiceType => allow.unused.push(format!("service_type {pat}")),
            }
        }
        Ok(RuleModel {
            profile: p.name.clone(),
            title: p.title.clone(),
            window: (p.windows.logon_to_install >= 0).then_some(p.windows.logon_to_install),
            same_host: p.logon.same_host,
            logon_types: p.logon.logon_types.clone(),
            exclude_source_ips: p.logon.exclude_source_ips.clone(),
            require_source_ip: p.logon.require_source_ip,
            exclude_machine_accounts: p.logon.exclude_machine_accounts,
            reads_7045: p.install.sources.contains(&InstallSource::System7045),
            exclude_subject_logon_ids: p
                .install
                .exclude_subject_logon_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            exclude_image_globs: p.install.exclude_image_globs.clone(),
            exclude_service_names: p.install.exclude_service_names.clone(),
            allow,
        })
    }

    /// Identifier-safe profile name (`svchop_<profile>_...` rule names).
    pub fn slug(&self) -> String {
        slug(&self.profile)
    }

    /// The window as `30s` (Sigma timespan, EQL maxspan), or a year when unlimited.
    pub fn span(&self) -> String {
        match self.window {
            Some(s) => format!("{s}s"),
            None => "365d".to_string(),
        }
    }
}

/// The raw image paths an allow-list image glob covers. svchop matches the pattern against the
/// image as written and against its executable (quotes and arguments dropped, `%SystemRoot%`,
/// `%windir%` and `\SystemRoot` read as `C:\Windows`); a rule engine sees only the raw value, so
/// the rule lists those forms. A rule engine's `*` crosses folders already, so svchop's `**`
/// is written as one `*` (the rule covers at least what svchop covers: a folder-bound `*` is
/// wider in a rule).
pub fn image_variants(glob: &str) -> Vec<String> {
    let mut glob = glob.to_string();
    while glob.contains("**") {
        glob = glob.replace("**", "*");
    }
    let glob = glob.as_str();
    let mut bases = vec![glob.to_string()];
    let lower = glob.to_ascii_lowercase();
    for drive in ["?:\\windows\\", "c:\\windows\\", "*:\\windows\\"] {
        if lower.starts_with(drive) {
            let rest = &glob[drive.len() - 1..];
            for prefix in ["%SystemRoot%", "%windir%", "\\SystemRoot"] {
                bases.push(format!("{prefix}{rest}"));
            }
        }
    }
    let mut out = Vec::new();
    for b in bases {
        out.push(format!("{b} *"));
        out.push(format!("\"{b}\"*"));
        out.insert(out.len() - 2, b);
    }
    out
}

/// Writes the rules of `target` for the detector's profile and allow-list.
pub fn export(d: &Detector, target: Target) -> Result<String, RuleError> {
    let model = || RuleModel::from_detector(d);
    Ok(match target {
        Target::Sigma => sigma::write(&model()?),
        Target::Kql => kql::write(&model()?),
        Target::Eql => eql::write(&model()?),
        Target::Spl => spl::write(&model()?),
        Target::SparkSql => spark::write(&model()?, d)?,
        Target::Spark => spark_engine::write(d),
    })
}

pub fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "profile".into() } else { s }
}

/// A stable UUID (version 5 layout) for a rule: same profile and rule, same id.
pub fn rule_uuid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(b"svchop-rule");
    for p in parts {
        h.update(b"\n");
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::new();
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Globs (`*` any run, `?` one character, everything else literal) as one case-insensitive,
/// anchored regex alternation (RE2 and PCRE read it alike).
pub fn glob_alternation(globs: &[String]) -> String {
    let alts: Vec<String> = globs
        .iter()
        .map(|g| crate::detect::assets::glob_to_regex(g))
        .collect();
    format!("(?i)(?:{})", alts.join("|"))
}

/// A double-quoted string literal as KQL, EQL and SPL read it: `\` and `"` escaped, control
/// characters replaced.
pub fn dq(text: &str) -> String {
    format!(
        "\"{}\"",
        printable(text).replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Comma-separated double-quoted literals.
pub fn dq_list(items: &[String]) -> String {
    items.iter().map(|i| dq(i)).collect::<Vec<_>>().join(", ")
}

/// The target-host allow-list globs: each as written and followed by a domain.
pub fn host_globs(m: &RuleModel) -> Vec<String> {
    m.allow
        .target_hosts
        .iter()
        .flat_map(|h| [h.clone(), format!("{h}.*")])
        .collect()
}

/// Text with every character outside printable ASCII written as `\uXXXX`-free `?`: rule text is
/// pasted into consoles; a control character in an allow-list pattern must not travel.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_and_well_formed() {
        let a = rule_uuid(&["sigma", "logon"]);
        assert_eq!(a, rule_uuid(&["sigma", "logon"]));
        assert_ne!(a, rule_uuid(&["sigma", "install"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
    }

    #[test]
    fn image_variants_cover_svchops_forms() {
        let v = image_variants(r"?:\Windows\System32\svchost.exe");
        assert!(v.contains(&r"%SystemRoot%\System32\svchost.exe *".to_string()));
        assert!(v.contains(&r#""?:\Windows\System32\svchost.exe"*"#.to_string()));
        assert_eq!(v.len(), 12);
    }

    #[test]
    fn chain_profiles_are_refused() {
        let d = Detector::builtin("default").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            export(&d, Target::Sigma),
            Err(RuleError::Engine { .. })
        ));
    }
}
