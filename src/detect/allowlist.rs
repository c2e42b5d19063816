//! The allow-list: entries on a service name, image path, service type, account, source or
//! target host, each with a reason; an entry may require several facts at once (`and`). A
//! matching finding is marked suppressed, never deleted.
//!
//! Entry rules (README "Allow-list"): image paths are normalized before matching (environment
//! variables expanded, `.` and `..` resolved, case and separators folded) and in a path `*`
//! never crosses a `\` (`**` does). An entry that vouches only for facts the attacker on the
//! target chooses (service name, image path, service type) never hides an attack sign: a tool
//! fingerprint, a launcher command or a remote client keeps the finding active, and the finding
//! says which entry matched and why it was not applied.

use super::assets::{ALLOWLIST_TOML, AssetError, glob_to_regex, parse_toml};
use super::finding::{Finding, OriginKind, ScorePart, Suppression};
use super::patterns::normalize_path;
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
    /// `kernel_driver` (a kernel or file-system driver, however the log words its type).
    ServiceType,
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
            AllowField::ServiceType => "service_type",
        }
    }

    /// A fact the attacker on the target chooses alone (what its service is called, where its
    /// binary lies, what type it declares): an entry of such facts only never outranks an
    /// attack sign.
    pub fn is_target_chosen(self) -> bool {
        matches!(
            self,
            AllowField::ServiceName | AllowField::ImagePath | AllowField::ServiceType
        )
    }
}

/// One more fact an entry requires besides its `field` and `pattern`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Condition {
    pub field: AllowField,
    pub pattern: String,
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
    /// Further facts that must all hold too (the Defender driver: its name AND its folder AND
    /// a kernel-driver type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub and: Vec<Condition>,
}

#[derive(Debug, Clone)]
pub struct AllowEntry {
    pub spec: AllowSpec,
    pub origin: String,
    /// The entry's `field` and each `and` condition, compiled.
    tests: Vec<(AllowField, Regex)>,
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
        let mut tests = Vec::new();
        let conditions = std::iter::once((spec.field, spec.pattern.as_str()))
            .chain(spec.and.iter().map(|c| (c.field, c.pattern.as_str())));
        for (field, pattern) in conditions {
            let re = Regex::new(&entry_regex(field, pattern, spec.literal)).map_err(|source| {
                AssetError::Regex {
                    file: origin.to_string(),
                    pattern: pattern.to_string(),
                    source,
                }
            })?;
            tests.push((field, re));
        }
        Ok(AllowEntry {
            spec,
            origin: origin.to_string(),
            tests,
        })
    }

    /// Whether the entry vouches only for facts the attacker on the target chooses.
    pub fn is_target_chosen_only(&self) -> bool {
        self.tests.iter().all(|(f, _)| f.is_target_chosen())
    }

    /// Each condition's field and regex (the entry's own first, then its `and`), for engines
    /// that match entries outside svchop (the Spark job).
    pub fn tests(&self) -> impl Iterator<Item = (AllowField, &str)> {
        self.tests.iter().map(|(f, re)| (*f, re.as_str()))
    }

    /// Whether the entry's pattern covers this one value (what `matches` asks of each value).
    pub fn matches_value(&self, v: &str) -> bool {
        self.tests.first().is_some_and(|(field, re)| {
            let v = v.trim();
            match field {
                AllowField::ImagePath => re.is_match(&normalize_path(v)),
                _ => re.is_match(v),
            }
        })
    }

    /// Whether the entry covers the finding: every condition holds, for every service (or
    /// source) of it.
    pub fn matches(&self, f: &Finding) -> bool {
        self.covers(&Subject::of(f))
    }

    fn covers(&self, subject: &Subject<'_>) -> bool {
        self.tests
            .iter()
            .all(|(field, re)| holds(*field, re, subject))
    }
}

/// The regex of one condition: a glob (in a path `*` stays within one folder, `**` crosses
/// folders, `?` is one character) or, for a literal, the value itself; case-insensitive.
fn entry_regex(field: AllowField, pattern: &str, literal: bool) -> String {
    let pattern = pattern.trim();
    let body = if literal {
        let v = if field == AllowField::ImagePath {
            normalize_path(pattern)
        } else {
            pattern.to_string()
        };
        format!("^{}$", regex::escape(&v))
    } else if field == AllowField::ImagePath {
        path_glob_to_regex(&normalize_path_glob(pattern))
    } else {
        glob_to_regex(pattern)
    };
    format!("(?i){body}")
}

/// A path glob folded as paths are (separators, case), its wildcards kept.
fn normalize_path_glob(glob: &str) -> String {
    glob.trim()
        .trim_matches('"')
        .replace('/', "\\")
        .to_ascii_lowercase()
}

/// `*` any run within one folder, `**` any run across folders, `?` one character but a `\\`.
pub fn path_glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^\\\\]*"),
            '?' => re.push_str("[^\\\\]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

fn holds(field: AllowField, re: &Regex, subject: &Subject<'_>) -> bool {
    let f = subject.finding;
    let hit = |v: &str| re.is_match(v.trim());
    match field {
        AllowField::ServiceName => {
            f.services.iter().any(|s| s.name.is_some())
                && f.services.iter().all(|s| {
                    s.name.as_deref().is_some_and(hit) || s.key_name.as_deref().is_some_and(hit)
                })
        }
        AllowField::ImagePath => {
            !f.services.is_empty()
                && subject
                    .images()
                    .iter()
                    .all(|i| i.as_deref().is_some_and(hit))
        }
        AllowField::ServiceType => {
            !f.services.is_empty() && f.services.iter().all(|s| s.flags.iter().any(|x| hit(x)))
        }
        AllowField::Account => f
            .user
            .as_deref()
            .is_some_and(|u| hit(u) || hit(u.rsplit('\\').next().unwrap_or(u))),
        AllowField::SourceHost => {
            !f.source_hosts.is_empty() && f.source_hosts.iter().all(|h| hit(h) || hit(&host_key(h)))
        }
        AllowField::SourceIp => !f.source_ips.is_empty() && f.source_ips.iter().all(|ip| hit(ip)),
        AllowField::TargetHost => hit(&f.target_host) || hit(&f.target_key),
    }
}

/// What on a finding outranks an entry of facts the attacker chooses: the first sign found.
pub fn attack_sign(f: &Finding) -> Option<String> {
    let part =
        |name: &str| -> Option<&ScorePart> { f.score_breakdown.iter().find(|p| p.name == name) };
    if let Some(p) = part("fingerprint") {
        return Some(p.why.clone());
    }
    if let Some(p) = part("launcher") {
        return Some(p.why.clone());
    }
    if f.origin.kind == OriginKind::Remote {
        let why = f.origin.reasons.first().cloned().unwrap_or_default();
        return Some(format!("a remote client is shown ({why})"));
    }
    None
}

/// A finding as the entries see it, with what they derive from it worked out once for all.
struct Subject<'f> {
    finding: &'f Finding,
    /// Each service's image path as matched (`normalize_path`).
    images: std::cell::OnceCell<Vec<Option<String>>>,
}

impl<'f> Subject<'f> {
    fn of(finding: &'f Finding) -> Self {
        Subject {
            finding,
            images: std::cell::OnceCell::new(),
        }
    }

    fn images(&self) -> &[Option<String>] {
        self.images.get_or_init(|| {
            self.finding
                .services
                .iter()
                .map(|s| s.image_path.as_deref().map(normalize_path))
                .collect()
        })
    }
}

/// The score part that says an allow-list entry matched but was outranked.
pub const ALLOWLIST_PART: &str = "allowlist";

fn suppression_of(e: &AllowEntry) -> Suppression {
    Suppression {
        field: e.spec.field.label().to_string(),
        pattern: e.spec.pattern.clone(),
        reason: e.spec.reason.clone(),
        origin: e.origin.clone(),
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

    /// The first entry that covers the finding and may hide it, and the first entry that
    /// covered it but was outranked by an attack sign (with that sign).
    pub fn verdict(&self, f: &Finding) -> (Option<Suppression>, Option<String>) {
        let subject = Subject::of(f);
        let sign = std::cell::OnceCell::new();
        let mut overruled = None;
        for e in &self.entries {
            if !e.covers(&subject) {
                continue;
            }
            if e.is_target_chosen_only()
                && let Some(why) = sign.get_or_init(|| attack_sign(f)).as_deref()
            {
                overruled.get_or_insert_with(|| {
                    format!(
                        "allow-list entry {} '{}' ({}) matched, but {why}: not suppressed",
                        e.spec.field.label(),
                        e.spec.pattern,
                        e.origin
                    )
                });
                continue;
            }
            return (Some(suppression_of(e)), overruled);
        }
        (None, overruled)
    }

    /// The first entry that covers the finding and may hide it.
    pub fn suppression(&self, f: &Finding) -> Option<Suppression> {
        self.verdict(f).0
    }

    /// Marks each finding suppressed or not; an entry outranked by an attack sign is said in a
    /// 0-point `allowlist` part of the score.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings {
            let (suppressed, overruled) = self.verdict(f);
            f.suppressed_by = suppressed;
            f.score_breakdown.retain(|p| p.name != ALLOWLIST_PART);
            if let Some(why) = overruled {
                f.score_breakdown.push(ScorePart {
                    name: ALLOWLIST_PART.into(),
                    points: 0,
                    why,
                });
            }
        }
    }
}
