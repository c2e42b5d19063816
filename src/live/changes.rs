//! What an update of a live collection changed: findings new, updated (same id and other
//! content, or a new id for the same suspected movement, whose evidence grew: `replaces`), and
//! withdrawn (an id no finding holds any more, nothing taking its place).

use crate::case::IdMove;
use crate::detect::finding::Finding;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    New,
    Updated,
    Withdrawn,
}

/// One finding that changed.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: Kind,
    /// The finding now (withdrawn: as it was).
    pub finding: Finding,
    /// The id the finding had before, when an update changed it.
    pub replaces: Option<String>,
}

impl Change {
    /// The JSON line `scan --follow --format jsonl` prints: the finding, `change` and
    /// `replaces`.
    pub fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.finding).unwrap_or(serde_json::Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "change".into(),
                serde_json::to_value(self.kind).unwrap_or_default(),
            );
            if let Some(r) = &self.replaces {
                m.insert("replaces".into(), serde_json::Value::String(r.clone()));
            }
        }
        v
    }
}

/// The changes from `old` to `new` (each in rank order): new and updated findings in `new`'s
/// order, then the withdrawn in `old`'s.
pub fn between(old: &[Finding], new: &[Finding]) -> Vec<Change> {
    let old_at: HashMap<&str, usize> = old
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.as_str(), i))
        .collect();
    let new_ids: BTreeSet<&str> = new.iter().map(|f| f.id.as_str()).collect();
    // Findings whose id went away, by target, with their evidence: a new id on the same target
    // sharing evidence with one of them is that finding grown.
    let gone: Vec<usize> = (0..old.len())
        .filter(|&i| !new_ids.contains(old[i].id.as_str()))
        .collect();
    let mut by_target: HashMap<&str, Vec<(usize, BTreeSet<String>)>> = HashMap::new();
    for &i in &gone {
        by_target
            .entry(old[i].target_key.as_str())
            .or_default()
            .push((i, evidence(&old[i])));
    }
    let mut replaced: BTreeSet<usize> = BTreeSet::new();
    let mut out = Vec::new();
    for f in new {
        if let Some(&i) = old_at.get(f.id.as_str()) {
            if fingerprint(&old[i]) != fingerprint(f) {
                out.push(Change {
                    kind: Kind::Updated,
                    finding: f.clone(),
                    replaces: None,
                });
            }
            continue;
        }
        let mine = evidence(f);
        let best = by_target
            .get(f.target_key.as_str())
            .into_iter()
            .flatten()
            .filter(|(i, _)| !replaced.contains(i))
            .map(|(i, ev)| (ev.intersection(&mine).count(), *i))
            .filter(|(shared, _)| *shared > 0)
            .max_by_key(|&(shared, i)| (shared, std::cmp::Reverse(i)));
        match best {
            Some((_, i)) => {
                replaced.insert(i);
                out.push(Change {
                    kind: Kind::Updated,
                    finding: f.clone(),
                    replaces: Some(old[i].id.clone()),
                });
            }
            None => out.push(Change {
                kind: Kind::New,
                finding: f.clone(),
                replaces: None,
            }),
        }
    }
    for i in gone {
        if !replaced.contains(&i) {
            out.push(Change {
                kind: Kind::Withdrawn,
                finding: old[i].clone(),
                replaces: None,
            });
        }
    }
    out
}

/// Notes and triage of findings whose id changed, from the old id to the new.
pub fn id_moves(changes: &[Change]) -> Vec<IdMove> {
    changes
        .iter()
        .filter_map(|c| {
            c.replaces.as_ref().map(|from| IdMove {
                from: from.clone(),
                to: c.finding.id.clone(),
            })
        })
        .collect()
}

/// A finding's events (where each was read).
fn evidence(f: &Finding) -> BTreeSet<String> {
    f.stages
        .iter()
        .map(|s| format!("{}|{}", s.event_id, s.evidence))
        .collect()
}

/// The finding's whole content as one number (its JSON form hashed).
fn fingerprint(f: &Finding) -> u64 {
    struct Hashing(std::hash::DefaultHasher);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            buf.hash(&mut self.0);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Hashing(std::hash::DefaultHasher::new());
    let _ = serde_json::to_writer(&mut h, f);
    h.0.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real finding of the demo, to vary.
    fn proto() -> Finding {
        static PROTO: std::sync::LazyLock<Option<Finding>> = std::sync::LazyLock::new(|| {
            let case = crate::demo::generate(&crate::demo::DemoOptions {
                hosts: 3,
                ..crate::demo::DemoOptions::default()
            });
            let (store, _) = crate::store::from_events(crate::demo::events(&case), true);
            let d = crate::detect::Detector::builtin("default").ok()?;
            d.scan(&std::sync::Arc::new(store), true)
                .0
                .into_iter()
                .next()
        });
        PROTO
            .clone()
            .unwrap_or_else(|| panic!("the demo has findings"))
    }

    fn finding(id: &str, target: &str, evidence: &[&str]) -> Finding {
        let mut f = proto();
        f.id = id.into();
        target.clone_into(&mut f.target_key);
        f.stages.truncate(1);
        let proto = f.stages[0].clone();
        f.stages = evidence
            .iter()
            .map(|e| crate::detect::finding::StageRef {
                evidence: (*e).to_string(),
                ..proto.clone()
            })
            .collect();
        f
    }

    #[test]
    fn new_updated_replaced_and_withdrawn() {
        let old = vec![
            finding("F-a", "ws1", &["s.evtx#record=1"]),
            finding("F-b", "ws1", &["s.evtx#record=5"]),
            finding("F-c", "ws2", &["s.evtx#record=9"]),
        ];
        let mut same_id = finding("F-c", "ws2", &["s.evtx#record=9"]);
        same_id.score += 5;
        let new = vec![
            finding("F-a", "ws1", &["s.evtx#record=1"]),
            // F-b grew: one more event, so another id.
            finding("F-b2", "ws1", &["s.evtx#record=5", "s.evtx#record=6"]),
            same_id,
            finding("F-d", "ws3", &["t.evtx#record=1"]),
        ];
        let c = between(&old, &new);
        let kinds: Vec<(Kind, &str, Option<&str>)> = c
            .iter()
            .map(|c| (c.kind, c.finding.id.as_str(), c.replaces.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (Kind::Updated, "F-b2", Some("F-b")),
                (Kind::Updated, "F-c", None),
                (Kind::New, "F-d", None),
            ]
        );
        let moves = id_moves(&c);
        assert_eq!(moves.len(), 1);
        assert_eq!(
            (moves[0].from.as_str(), moves[0].to.as_str()),
            ("F-b", "F-b2")
        );
        let gone = between(&new, &old[..1]);
        assert!(gone.iter().all(|c| c.kind == Kind::Withdrawn));
        assert_eq!(gone.len(), 3);
        let line = c[0].json();
        assert_eq!(line["change"], "updated");
        assert_eq!(line["replaces"], "F-b");
        assert_eq!(line["id"], "F-b2");
        assert!(between(&new, &new).is_empty());
    }
}
