//! Scanning a growing collection again: the findings of a one-shot scan of everything so far,
//! with only the hosts that need it scanned again. A host is scanned again when its own events
//! changed, or when one of the lookups its last scan made in the collection-wide facts
//! (`reads::Read`) now answers differently; the others keep their findings, their events found
//! again in the new store by where they were read.

use super::Detector;
use super::finding::Finding;
use super::reads::{Read, Reads, digest};
use crate::store::{Place, Store};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What each host's last scan read and found, and what its events tell the collection.
#[derive(Default)]
pub struct ScanMemo {
    hosts: HashMap<String, HostMemo>,
    /// Each host's facts, with the store index its events started at.
    facts: HashMap<String, (super::Facts, usize)>,
}

#[derive(Debug)]
struct HostMemo {
    reads: BTreeSet<Read>,
    digest: u64,
    /// Each finding with where each of its stages' events was read.
    found: Vec<(Finding, Vec<Option<Place>>)>,
    dropped: usize,
}

/// A scan of the collection so far.
#[derive(Debug)]
pub struct Rescan {
    /// In rank order, as `Detector::scan_keeping` gives them.
    pub findings: Vec<Finding>,
    pub dropped: usize,
    pub addresses: super::context::AddressBook,
    /// The hosts scanned again (the others kept their findings).
    pub scanned: Vec<String>,
}

/// Each finding with where its stages' events were read (found again after the store changes).
fn with_places(found: Vec<Finding>, packed: &Store) -> Vec<(Finding, Vec<Option<Place>>)> {
    found
        .into_iter()
        .map(|f| {
            let places = f
                .stages
                .iter()
                .map(|s| packed.place(s.event_index))
                .collect();
            (f, places)
        })
        .collect()
}

impl Detector {
    /// The findings of `packed`, equal to `scan_keeping(packed, suppressed_per_host)`, scanning
    /// again only the hosts in `changed` (whose own events changed since `memo` was written),
    /// those `memo` does not know, and those whose noted lookups answer differently now.
    pub fn scan_again(
        &self,
        packed: &Arc<Store>,
        memo: &mut ScanMemo,
        changed: &BTreeSet<String>,
        suppressed_per_host: usize,
    ) -> Rescan {
        let hosts: Vec<(&str, std::ops::Range<usize>)> = packed.hosts().collect();
        let mut facts = self.facts_again(packed, &hosts, memo, changed);
        facts.context.finish();
        let addresses = facts.context.address_book();
        let bursts = std::mem::take(&mut facts.bursts).finish(&self.profile);
        // The reference engines' joins are read whole: any change scans every host again.
        let joins = if self.profile.engine.is_chain() {
            0
        } else {
            facts.joins.digest(packed)
        };
        let answers = |reads: &BTreeSet<Read>| {
            let mut h = std::hash::DefaultHasher::new();
            (digest(reads, &facts.context, &bursts, packed), joins).hash(&mut h);
            h.finish()
        };
        let old = &memo.hosts;
        let done: Vec<(String, HostMemo, bool)> = hosts
            .par_iter()
            .map(|(key, range)| {
                if !changed.contains(*key)
                    && let Some(m) = old.get(*key)
                    && answers(&m.reads) == m.digest
                    && let Some(found) = relocated(&m.found, packed)
                {
                    let kept = HostMemo {
                        reads: m.reads.clone(),
                        digest: m.digest,
                        found,
                        dropped: m.dropped,
                    };
                    return ((*key).to_string(), kept, false);
                }
                let reads = Reads::noting(&facts.context, &bursts);
                let (found, dropped) = self.scan_host(
                    packed,
                    (key, range.clone()),
                    &facts,
                    &reads,
                    suppressed_per_host,
                );
                let reads = reads.noted();
                let found = with_places(found, packed);
                let m = HostMemo {
                    digest: answers(&reads),
                    reads,
                    found,
                    dropped,
                };
                ((*key).to_string(), m, true)
            })
            .collect();
        let scanned = done
            .iter()
            .filter(|(_, _, again)| *again)
            .map(|(k, _, _)| k.clone())
            .collect();
        memo.hosts = done.into_iter().map(|(k, m, _)| (k, m)).collect();
        let mut findings: Vec<Finding> = Vec::new();
        let mut dropped = 0;
        for (key, _) in &hosts {
            if let Some(m) = memo.hosts.get(*key) {
                findings.extend(m.found.iter().map(|(f, _)| f.clone()));
                dropped += m.dropped;
            }
        }
        self.rank(&mut findings);
        Rescan {
            findings,
            dropped,
            addresses,
            scanned,
        }
    }

    /// The collection's facts: those of hosts whose events did not change as learned before
    /// (moved to where their events are now), the others learned again.
    fn facts_again(
        &self,
        packed: &Store,
        hosts: &[(&str, std::ops::Range<usize>)],
        memo: &mut ScanMemo,
        changed: &BTreeSet<String>,
    ) -> super::Facts {
        let cached = &memo.facts;
        let per_host: Vec<(super::Facts, bool)> = hosts
            .par_iter()
            .map(|(key, range)| match cached.get(*key) {
                Some((f, start)) if !changed.contains(*key) => {
                    let mut f = f.clone();
                    #[allow(clippy::cast_possible_wrap)]
                    f.shift(range.start as isize - *start as isize);
                    (f, false)
                }
                _ => (self.host_facts(packed, range.clone()), true),
            })
            .collect();
        // Cached facts stay as they were learned, with the start they were learned at.
        let mut all = super::Facts::default();
        let mut kept = HashMap::with_capacity(hosts.len());
        for ((key, range), (f, learned)) in hosts.iter().zip(per_host) {
            if learned {
                kept.insert((*key).to_string(), (f.clone(), range.start));
            } else if let Some((k, v)) = memo.facts.remove_entry(*key) {
                kept.insert(k, v);
            }
            all = all.absorb(f);
        }
        memo.facts = kept;
        all
    }
}

/// The findings with each stage's event index in `packed`, or `None` when an event is not
/// found there (the host is then scanned again).
fn relocated(
    found: &[(Finding, Vec<Option<Place>>)],
    packed: &Store,
) -> Option<Vec<(Finding, Vec<Option<Place>>)>> {
    found
        .iter()
        .map(|(f, places)| {
            let mut f = f.clone();
            for (s, p) in f.stages.iter_mut().zip(places) {
                if let Some(p) = p {
                    s.event_index = packed.locate(p)?;
                }
            }
            Some((f, places.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;
    use crate::store::from_events;

    /// The demo's hosts arriving a few at a time, then each host's events in two halves:
    /// after every arrival the findings equal a one-shot scan of everything so far, and hosts
    /// nothing reached keep their findings.
    #[test]
    fn scanning_again_equals_one_scan_of_everything_so_far() {
        let case = crate::demo::generate(&crate::demo::DemoOptions {
            hosts: 12,
            ..crate::demo::DemoOptions::default()
        });
        let events = crate::demo::events(&case);
        let keys: Vec<String> = events
            .iter()
            .map(|e| e.host.key.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for profile in ["default", "hunt", "sentinel", "otrf"] {
            let d = Detector::builtin(profile).unwrap_or_else(|e| panic!("{e}"));
            let mut memo = ScanMemo::default();
            let mut so_far: Vec<Event> = Vec::new();
            let mut skipped = 0;
            // Arrivals: hosts three at a time (first halves of their events), then the rest.
            let mut arrivals: Vec<Vec<Event>> = Vec::new();
            for group in keys.chunks(3) {
                let mine: Vec<Event> = events
                    .iter()
                    .filter(|e| group.contains(&e.host.key.to_string()))
                    .cloned()
                    .collect();
                let half = mine.len() / 2;
                arrivals.push(mine[..half].to_vec());
                arrivals.push(mine[half..].to_vec());
            }
            for arrival in arrivals {
                let changed: BTreeSet<String> =
                    arrival.iter().map(|e| e.host.key.to_string()).collect();
                so_far.extend(arrival);
                let (store, _) = from_events(so_far.clone(), true);
                let store = Arc::new(store);
                let (want, want_dropped) = d.scan_keeping(&store, usize::MAX);
                let got = d.scan_again(&store, &mut memo, &changed, usize::MAX);
                let json = |v: &[Finding]| serde_json::to_string(v).unwrap_or_default();
                assert_eq!(json(&got.findings), json(&want), "{profile}");
                assert_eq!(got.dropped, want_dropped);
                let index = |v: &[Finding]| -> Vec<Vec<usize>> {
                    v.iter()
                        .map(|f| f.stages.iter().map(|s| s.event_index).collect())
                        .collect()
                };
                assert_eq!(
                    index(&got.findings),
                    index(&want),
                    "{profile}: event indices"
                );
                skipped += store.hosts().count() - got.scanned.len();
            }
            if profile == "default" {
                assert!(skipped > 0, "some hosts kept their findings");
            }
        }
    }
}
