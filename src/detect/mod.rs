//! Detection: the chain engine and the reference profiles over an `Window`, scoring, and the
//! allow-list. Pure: takes the store and the loaded assets, returns findings in a deterministic
//! order. The TUI, `svchop scan` and exports all call `Detector::scan`.

pub mod again;
pub mod allowlist;
pub mod assemble;
pub mod assets;
pub mod campaign;
pub mod chain;
pub mod context;
pub mod coverage;
pub mod engine;
pub mod finding;
pub mod fleet;
pub mod install;
pub mod link;
pub mod patterns;
pub mod profile;
pub mod reads;
pub mod score;
pub mod signal;

use crate::store::{Store, Window};
use allowlist::Allowlist;
use assemble::Builder;
use assets::{AssetError, SCORING_TOML, parse_toml};
use chain::Chain;
use context::Context;
use finding::Finding;
use link::Linker;
use patterns::Patterns;
use profile::{Engine, Profile};
use rayon::prelude::*;
use reads::Reads;
use score::Weights;

pub use finding::{Severity, Stage};

/// Everything a scan needs besides the events.
#[derive(Debug, Clone)]
pub struct Detector {
    pub patterns: std::sync::Arc<Patterns>,
    pub weights: Weights,
    pub profile: Profile,
    pub allowlist: Allowlist,
}

impl Detector {
    /// The built-in assets with the named profile and the default allow-list.
    pub fn builtin(profile: &str) -> Result<Self, AssetError> {
        Self::with(Profile::builtin(profile)?)
    }

    /// The built-in assets and allow-list with this profile.
    pub fn with(profile: Profile) -> Result<Self, AssetError> {
        Ok(Detector {
            patterns: std::sync::Arc::new(Patterns::builtin()?),
            weights: parse_toml("assets/scoring.toml", SCORING_TOML)?,
            profile,
            allowlist: Allowlist::builtin()?,
        })
    }

    /// The built-in assets with a profile given by name or as a TOML file path.
    pub fn with_profile(profile: &str) -> Result<Self, AssetError> {
        let path = std::path::Path::new(profile);
        let is_file = path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
            && path.is_file();
        Self::with(if is_file {
            Profile::from_file(path)?
        } else {
            Profile::builtin(profile)?
        })
    }

    /// The findings of the store, sorted by score. Every engine gathers the collection-wide facts
    /// host by host (mergeable: the facts of two parts merge into the facts of the whole), then
    /// scans one host at a time, its events decoded through a window that also reaches the
    /// other hosts' events the facts point at (tool runs, outbound SMB, for the reference joins
    /// Sentinel's tool runs and cross-host logons). Without `keep_suppressed`, findings the
    /// allow-list covers are counted and dropped as each host is done. Returns the findings and
    /// how many were dropped.
    pub fn scan(
        &self,
        packed: &std::sync::Arc<Store>,
        keep_suppressed: bool,
    ) -> (Vec<Finding>, usize) {
        self.scan_keeping(packed, if keep_suppressed { usize::MAX } else { 0 })
    }

    /// `scan`, keeping at most `suppressed_per_host` of each host's suppressed findings (its
    /// highest ranked): the rest are counted and dropped as each host is done, so a collection
    /// where the allow-list covers hundreds of thousands of routine installs never holds them.
    pub fn scan_keeping(
        &self,
        packed: &std::sync::Arc<Store>,
        suppressed_per_host: usize,
    ) -> (Vec<Finding>, usize) {
        let (findings, dropped, _) = self.scan_with_addresses(packed, suppressed_per_host);
        (findings, dropped)
    }

    /// `scan_keeping`, and the collection's address book (which host had which IP, when).
    pub fn scan_with_addresses(
        &self,
        packed: &std::sync::Arc<Store>,
        suppressed_per_host: usize,
    ) -> (Vec<Finding>, usize, context::AddressBook) {
        let hosts: Vec<(&str, std::ops::Range<usize>)> = packed.hosts().collect();
        let mut facts = self.facts(packed, &hosts);
        facts.context.finish();
        let addresses = facts.context.address_book();
        let (mut findings, dropped) = self.scan_hosts(packed, &hosts, facts, suppressed_per_host);
        self.rank(&mut findings);
        (findings, dropped, addresses)
    }

    /// Every finding of the collection in rank order, findings of one source across many targets
    /// tagged as its campaign: the last step of a scan, once every host is done.
    pub fn rank(&self, findings: &mut [Finding]) {
        findings.sort_by(Finding::order);
        if self.profile.engine == Engine::Chain {
            campaign::tag_sources(findings, &self.weights);
        }
    }

    /// The findings of `hosts` (each host's in rank order, not yet ranked across hosts), given
    /// the collection's facts (after `Context::finish`), and how many suppressed were dropped.
    fn scan_hosts(
        &self,
        packed: &std::sync::Arc<Store>,
        hosts: &[(&str, std::ops::Range<usize>)],
        mut facts: Facts,
        suppressed_per_host: usize,
    ) -> (Vec<Finding>, usize) {
        let bursts = std::mem::take(&mut facts.bursts).finish(&self.profile);
        let per_host: Vec<(Vec<Finding>, usize)> = hosts
            .par_iter()
            .map(|(key, range)| {
                let reads = Reads::new(&facts.context, &bursts);
                self.scan_host(
                    packed,
                    (key, range.clone()),
                    &facts,
                    &reads,
                    suppressed_per_host,
                )
            })
            .collect();
        let dropped = per_host.iter().map(|(_, d)| d).sum();
        let findings: Vec<Finding> = per_host.into_iter().flat_map(|(f, _)| f).collect();
        (findings, dropped)
    }

    /// The findings of one host (in rank order) and how many suppressed were dropped, the
    /// collection's facts read through `reads`.
    fn scan_host(
        &self,
        packed: &std::sync::Arc<Store>,
        (key, range): (&str, std::ops::Range<usize>),
        facts: &Facts,
        reads: &Reads<'_>,
        suppressed_per_host: usize,
    ) -> (Vec<Finding>, usize) {
        let outside = if self.profile.engine.is_chain() {
            reads.linkable_from_elsewhere(key)
        } else {
            facts.joins.outside(packed, &range, &self.profile)
        };
        let store = Window::host(packed, range.clone(), outside);
        let view = context::HostView {
            store: &store,
            range,
            key,
        };
        let chains = self.host_chains(view, facts, reads);
        let mut found: Vec<Finding> = chains
            .iter()
            .filter_map(|c| self.finding(&store, reads, c))
            .collect();
        // Finding ids carry the target host: copies are always on the same host.
        self.settle(&mut found);
        if self.profile.engine == Engine::Chain {
            campaign::merge_mass_installs(&mut found, &self.weights);
        }
        found.sort_by(Finding::order);
        let dropped = drop_suppressed(&mut found, suppressed_per_host);
        (found, dropped)
    }

    /// The collection-wide facts, folded host by host.
    fn facts(&self, packed: &Store, hosts: &[(&str, std::ops::Range<usize>)]) -> Facts {
        hosts
            .par_iter()
            .map(|(_, range)| self.host_facts(packed, range.clone()))
            .reduce(Facts::default, Facts::absorb)
    }

    /// What one host's events tell the collection.
    fn host_facts(&self, packed: &Store, range: std::ops::Range<usize>) -> Facts {
        let p = &self.profile;
        let mut f = Facts::default();
        for i in range {
            // The chain engines read the rest of an event only when its id is one they learn
            // from: the others are not decoded.
            if p.engine.is_chain()
                && let Some((host, id)) = packed.host_and_id(i)
                && !context::LEARNED_IDS.contains(&id)
            {
                f.context.learn_host(host);
                continue;
            }
            if let Some(e) = packed.get_typed(i) {
                if p.engine.is_chain() {
                    f.context.learn(i, &e, &self.patterns);
                } else {
                    f.joins.learn(i, &e, p);
                }
                f.bursts.learn(&e);
            }
        }
        f
    }

    /// The finding a chain makes, if the profile keeps it.
    fn finding(&self, store: &Window, reads: &Reads<'_>, c: &Chain) -> Option<Finding> {
        if !keep_chain(c, self.profile.engine) {
            return None;
        }
        let b = Builder {
            store,
            pats: &self.patterns,
            weights: &self.weights,
            profile: &self.profile,
            reads,
        };
        b.finding(c)
            .filter(|f| f.severity >= self.profile.report_min_severity)
    }

    /// Copies merged, allow-list applied.
    fn settle(&self, findings: &mut Vec<Finding>) {
        dedupe(findings);
        self.allowlist.apply(findings);
    }

    /// Every engine, on one host.
    fn host_chains(
        &self,
        view: context::HostView<'_>,
        facts: &Facts,
        reads: &Reads<'_>,
    ) -> Vec<Chain> {
        let p = &self.profile;
        match p.engine {
            Engine::LogonService => engine::logon_service::logon_service(&view, &facts.joins, p),
            Engine::Sentinel => engine::sentinel::sentinel(&view, &facts.joins, p),
            Engine::Hunt | Engine::Chain => {
                let l = Linker {
                    sess: link::HostIndex::build(&view, &self.patterns),
                    view,
                    ctx: reads,
                    pats: &self.patterns,
                    profile: p,
                    scm_from_processes: std::sync::OnceLock::new(),
                    campaign_rule: &self.weights.campaign,
                };
                if p.engine == Engine::Hunt {
                    engine::hunt::hunt(&l)
                } else {
                    engine::chain::chains_on_host(&l)
                }
            }
        }
    }
}

/// What the whole collection tells each host's scan, gathered host by host.
#[derive(Default, Clone)]
struct Facts {
    /// The chain and hunt engines' (addresses, tool runs, outbound SMB, fan-out).
    context: Context,
    /// The reference joins' (Sentinel's tool runs, cross-host logons).
    joins: engine::JoinFacts,
    bursts: engine::hunt::Bursts,
}

impl Facts {
    /// A host's facts with its events moved `by` places in the store.
    fn shift(&mut self, by: isize) {
        self.context.shift(by);
        self.joins.shift(by);
    }

    fn absorb(mut self, later: Facts) -> Facts {
        self.context.absorb(later.context);
        self.joins.absorb(later.joins);
        self.bursts.absorb(later.bursts);
        self
    }
}

/// The chain engine keeps a chain only when something in it points at lateral movement or at a
/// service worth a look: remote origin, a tool, linked stages beyond the install, a flag, or an
/// install made by a user account rather than by the system itself.
fn keep_chain(c: &Chain, engine: Engine) -> bool {
    if engine != Engine::Chain {
        return true;
    }
    let beyond_install = c.links.iter().any(|l| l.stage != Stage::Install);
    let suspicious_image = c.service.image.as_deref().is_some_and(|i| {
        let l = i.to_ascii_lowercase();
        [
            "cmd",
            "powershell",
            "%comspec%",
            "\\temp\\",
            "\\appdata\\",
            "\\programdata\\",
            "rundll32",
            "\\\\",
        ]
        .iter()
        .any(|p| l.contains(p))
    });
    !c.remote.is_empty()
        || !c.local.is_empty()
        || !c.local_weak.is_empty()
        || !c.fingerprints.is_empty()
        || c.known_tool
        || beyond_install
        || suspicious_image
        || c.by_user_account
}

/// Keeps at most `per_host` suppressed findings of each target host (the first in the list's
/// order) and removes the rest; returns how many were removed.
fn drop_suppressed(findings: &mut Vec<Finding>, per_host: usize) -> usize {
    let before = findings.len();
    if per_host < usize::MAX {
        let mut kept: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        findings.retain(|f| {
            if !f.is_suppressed() {
                return true;
            }
            let n = kept.entry(f.target_key.clone()).or_default();
            *n += 1;
            *n <= per_host
        });
    }
    before - findings.len()
}

/// Two chains that ended up with the same evidence are one finding.
fn dedupe(findings: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert(f.id.clone()));
}

/// The linking's work (index entries visited), counted for the complexity tests: builds with the
/// `bench` feature count, others compile the calls away.
#[doc(hidden)]
pub mod work {
    #[cfg(any(test, feature = "bench"))]
    static VISITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    /// `n` more entries visited.
    #[inline]
    pub fn add(n: usize) {
        #[cfg(any(test, feature = "bench"))]
        VISITS.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(any(test, feature = "bench")))]
        let _ = n;
    }

    /// The entries visited since the last call (the count starts again at 0).
    #[cfg(any(test, feature = "bench"))]
    pub fn take() -> u64 {
        VISITS.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

/// Hand-built events for the unit tests and the adversarial benchmark; not a stable API.
#[doc(hidden)]
#[cfg(any(test, feature = "bench"))]
pub mod testkit;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_forms;
