//! Rule profiles (`assets/profiles/*.toml`): which engine, which events, which windows and
//! exclusions. Each reference detection is one profile; `default` combines them.

use super::assets::{AssetError, PROFILES, compile, glob_to_regex, parse_toml};
use crate::model::LogonId;
use chrono::TimeDelta;
use regex::Regex;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// svchop's full chain.
    Chain,
    /// Logon joined to service install on the logon id (Elastic, Sigma, Threat Hunter Playbook).
    LogonService,
    /// Sentinel DE-HY25.07's three correlations.
    Sentinel,
    /// The hunt guide's stage queries chained per host.
    Hunt,
}

impl Engine {
    /// The chain and hunt engines link stages with the linker (and its collection facts); the
    /// others are the reference documents' own joins.
    pub fn is_chain(self) -> bool {
        matches!(self, Engine::Chain | Engine::Hunt)
    }
}

/// Windows in seconds. Negative means "no limit".
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Windows {
    pub logon_to_install: i64,
    pub session_merge: i64,
    pub install_to_process: i64,
    pub helper_children: i64,
    pub tool_to_install: i64,
    pub stage_window: i64,
    pub lifecycle: i64,
    pub install_merge: i64,
    pub burst_window: i64,
    pub burst_hosts: usize,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            logon_to_install: 60,
            session_merge: 10,
            install_to_process: 10,
            helper_children: 3600,
            tool_to_install: 30,
            stage_window: 120,
            lifecycle: 3600,
            install_merge: 5,
            burst_window: 300,
            burst_hosts: 3,
        }
    }
}

pub fn secs(s: i64) -> TimeDelta {
    TimeDelta::try_seconds(s).unwrap_or(TimeDelta::MAX)
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogonRule {
    pub event_ids: Vec<u16>,
    pub logon_types: Vec<u8>,
    pub exclude_source_ips: Vec<String>,
    pub require_source_ip: bool,
    pub exclude_machine_accounts: bool,
    #[serde(default = "yes")]
    pub same_host: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
struct InstallSpec {
    sources: Vec<String>,
    exclude_subject_logon_ids: Vec<String>,
    exclude_image_globs: Vec<String>,
    exclude_service_names: Vec<String>,
}

/// Where an install can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallSource {
    Security4697,
    System7045,
    SysmonRegistry,
    Defender,
}

#[derive(Debug, Clone)]
pub struct InstallRule {
    pub sources: Vec<InstallSource>,
    pub exclude_subject_logon_ids: Vec<LogonId>,
    pub exclude_images: Vec<Regex>,
    /// The globs `exclude_images` was compiled from (rule export writes them).
    pub exclude_image_globs: Vec<String>,
    pub exclude_service_names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Origin {
    pub local_cap: Option<i64>,
    pub unknown_penalty: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct SentinelLists {
    pub process_images: Vec<String>,
    pub process_command_any: Vec<String>,
    pub tool_names: Vec<String>,
    pub tool_command_any: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ProfileSpec {
    name: String,
    title: String,
    engine: Engine,
    report_min_severity: String,
    #[serde(default)]
    windows: Windows,
    logon: LogonRule,
    install: InstallSpec,
    #[serde(default)]
    origin: Origin,
    #[serde(default)]
    sentinel: SentinelLists,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub title: String,
    pub engine: Engine,
    pub report_min_severity: super::finding::Severity,
    pub windows: Windows,
    pub logon: LogonRule,
    pub install: InstallRule,
    pub origin: Origin,
    pub sentinel: SentinelLists,
    /// The TOML text the profile was read from (the Spark job ships it to its executors).
    pub text: std::sync::Arc<str>,
}

impl<'de> Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spec = ProfileSpec::deserialize(d)?;
        Profile::from_spec(spec).map_err(serde::de::Error::custom)
    }
}

impl Profile {
    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<Self, AssetError> {
        let (_, text) = PROFILES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| AssetError::UnknownProfile(name.to_string()))?;
        let p: Profile = parse_toml(&format!("assets/profiles/{name}.toml"), text)?;
        Ok(p.with_text(text))
    }

    fn with_text(mut self, text: &str) -> Self {
        self.text = std::sync::Arc::from(text);
        self
    }

    /// A profile from a TOML file of the same form as `assets/profiles/*.toml` (an analyst's
    /// tuned copy of a built-in profile).
    pub fn from_file(path: &std::path::Path) -> Result<Self, AssetError> {
        let text = std::fs::read_to_string(path).map_err(|e| AssetError::Read {
            file: path.display().to_string(),
            source: e,
        })?;
        let p: Profile = parse_toml(&path.display().to_string(), &text)?;
        Ok(p.with_text(&text))
    }

    pub fn builtin_names() -> Vec<&'static str> {
        PROFILES.iter().map(|(n, _)| *n).collect()
    }

    fn from_spec(s: ProfileSpec) -> Result<Self, AssetError> {
        let file = format!("profile {}", s.name);
        let globs: Vec<String> = s
            .install
            .exclude_image_globs
            .iter()
            .map(|g| glob_to_regex(g))
            .collect();
        let sources = s
            .install
            .sources
            .iter()
            .filter_map(|x| match x.as_str() {
                "4697" => Some(InstallSource::Security4697),
                "7045" => Some(InstallSource::System7045),
                "sysmon" => Some(InstallSource::SysmonRegistry),
                "defender" => Some(InstallSource::Defender),
                _ => None,
            })
            .collect();
        let install = InstallRule {
            sources,
            exclude_subject_logon_ids: s
                .install
                .exclude_subject_logon_ids
                .iter()
                .filter_map(|l| LogonId::parse(l))
                .collect(),
            exclude_images: compile(&file, &globs)?,
            exclude_image_globs: s.install.exclude_image_globs.clone(),
            exclude_service_names: s
                .install
                .exclude_service_names
                .iter()
                .map(|n| n.to_ascii_lowercase())
                .collect(),
        };
        Ok(Profile {
            report_min_severity: super::finding::Severity::parse(&s.report_min_severity)
                .unwrap_or(super::finding::Severity::Low),
            name: s.name,
            title: s.title,
            engine: s.engine,
            windows: s.windows,
            logon: s.logon,
            install,
            origin: s.origin,
            sentinel: s.sentinel,
            text: std::sync::Arc::from(""),
        })
    }
}
