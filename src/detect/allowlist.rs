//! The allow-list: entries on a service name, image path, account, source or target host, each
//! with a reason. A matching finding is marked suppressed, never deleted.

use super::assets::{ALLOWLIST_TOML, AssetError, glob_to_regex, parse_toml};
use super::build::image_for_match;
use super::finding::{Finding, Suppression};
use crate::model::host::host_key;
use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowField {
    ServiceName,
    ImagePath,
    Account,
    SourceHost,
    SourceIp,
    TargetHost,
}

impl AllowField {
    pub fn label(self) -> &'static str {
        match self {
            AllowField::ServiceName => "service_name",
            AllowField::ImagePath => "image_path",
            AllowField::Account => "account",
            AllowField::SourceHost => "source_host",
            AllowField::SourceIp => "source_ip",
            AllowField::TargetHost => "target_host",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AllowSpec {
    pub field: AllowField,
    pub pattern: String,
    pub reason: String,
    /// The pattern is a value taken from an event, matched as it is (case-insensitive): `*` and
    /// `?` in it are characters, not wildcards. An attacker names the services and paths a
    /// finding shows; a value copied from one must not cover another host's attack.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub literal: bool,
}

#[derive(Debug, Clone)]
pub struct AllowEntry {
    pub spec: AllowSpec,
    pub origin: String,
    re: Regex,
}

#[derive(Debug, Deserialize)]
struct AllowFile {
    #[serde(default)]
    entry: Vec<EntryIn>,
}

/// An entry as a file holds it: an allow-list svchop writes for another machine (the Spark
/// job's) keeps where each entry came from.
#[derive(Debug, Deserialize)]
struct EntryIn {
    #[serde(flatten)]
    spec: AllowSpec,
    #[serde(default)]
    origin: Option<String>,
}

#[derive(Debug, Serialize)]
struct EntryOut<'a> {
    #[serde(flatten)]
    spec: &'a AllowSpec,
    origin: &'a str,
}

#[derive(Debug, Serialize)]
struct AllowFileOut<'a> {
    entry: Vec<EntryOut<'a>>,
}

#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    pub entries: Vec<AllowEntry>,
}

impl AllowEntry {
    pub fn new(spec: AllowSpec, origin: &str) -> Result<Self, AssetError> {
        let body = if spec.literal {
            format!("^{}$", regex::escape(spec.pattern.trim()))
        } else {
            glob_to_regex(spec.pattern.trim())
        };
        let re = Regex::new(&format!("(?i){body}")).map_err(|source| AssetError::Regex {
            file: origin.to_string(),
            pattern: spec.pattern.clone(),
            source,
        })?;
        Ok(AllowEntry {
            spec,
            origin: origin.to_string(),
            re,
        })
    }

    fn hit(&self, v: &str) -> bool {
        self.re.is_match(v.trim())
    }

    /// Whether the entry's pattern covers this one value (what `matches` asks of each value).
    pub fn matches_value(&self, v: &str) -> bool {
        self.hit(v)
    }

    /// Whether the entry covers the finding: every service (or source) of it must match.
    pub fn matches(&self, f: &Finding) -> bool {
        self.covers(&Subject::of(f))
    }

    fn covers(&self, subject: &Subject<'_>) -> bool {
        let f = subject.finding;
        match self.spec.field {
            AllowField::ServiceName => {
                let names: Vec<&str> = f
                    .services
                    .iter()
                    .filter_map(|s| s.name.as_deref())
                    .collect();
                !names.is_empty()
                    && f.services.iter().all(|s| {
                        s.name.as_deref().is_some_and(|n| self.hit(n))
                            || s.key_name.as_deref().is_some_and(|n| self.hit(n))
                    })
            }
            AllowField::ImagePath => {
                !f.services.is_empty()
                    && subject.images().iter().all(|i| {
                        i.as_ref()
                            .is_some_and(|(i, m)| self.hit(i) || self.hit(m))
                    })
            }
            AllowField::Account => f
                .user
                .as_deref()
                .is_some_and(|u| self.hit(u) || self.hit(u.rsplit('\\').next().unwrap_or(u))),
            AllowField::SourceHost => {
                !f.source_hosts.is_empty()
                    && f.source_hosts
                        .iter()
                        .all(|h| self.hit(h) || self.hit(&host_key(h)))
            }
            AllowField::SourceIp => {
                !f.source_ips.is_empty() && f.source_ips.iter().all(|ip| self.hit(ip))
            }
            AllowField::TargetHost => self.hit(&f.target_host) || self.hit(&f.target_key),
        }
    }
}

/// A finding as the entries see it, with what they derive from it worked out once for all.
struct Subject<'f> {
    finding: &'f Finding,
    /// Each service's image path and its executable as matched (`image_for_match`).
    images: std::cell::OnceCell<Vec<Option<(&'f str, String)>>>,
}

impl<'f> Subject<'f> {
    fn of(finding: &'f Finding) -> Self {
        Subject {
            finding,
            images: std::cell::OnceCell::new(),
        }
    }

    fn images(&self) -> &[Option<(&'f str, String)>] {
        self.images.get_or_init(|| {
            self.finding
                .services
                .iter()
                .map(|s| s.image_path.as_deref().map(|i| (i, image_for_match(i))))
                .collect()
        })
    }
}

impl Allowlist {
    pub fn builtin() -> Result<Self, AssetError> {
        Self::from_toml(ALLOWLIST_TOML, "default")
    }

    pub fn from_toml(text: &str, origin: &str) -> Result<Self, AssetError> {
        let file: AllowFile = parse_toml(origin, text)?;
        let entries = file
            .entry
            .into_iter()
            .map(|e| AllowEntry::new(e.spec, e.origin.as_deref().unwrap_or(origin)))
            .collect::<Result<_, _>>()?;
        Ok(Allowlist { entries })
    }

    /// Every entry as one TOML file, each with its origin: read back with `from_toml`, the same
    /// list in the same order.
    pub fn to_toml(&self) -> String {
        let out = AllowFileOut {
            entry: self
                .entries
                .iter()
                .map(|e| EntryOut {
                    spec: &e.spec,
                    origin: &e.origin,
                })
                .collect(),
        };
        toml::to_string(&out).unwrap_or_default()
    }

    pub fn extend(&mut self, other: Allowlist) {
        self.entries.extend(other.entries);
    }

    /// The first entry that covers the finding.
    pub fn suppression(&self, f: &Finding) -> Option<Suppression> {
        let subject = Subject::of(f);
        self.entries
            .iter()
            .find(|e| e.covers(&subject))
            .map(|e| Suppression {
                field: e.spec.field.label().to_string(),
                pattern: e.spec.pattern.clone(),
                reason: e.spec.reason.clone(),
                origin: e.origin.clone(),
            })
    }

    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings {
            f.suppressed_by = self.suppression(f);
        }
    }
}
