//! Rule export: the exported Sigma rules replayed on the dev corpus by a Sigma evaluator written
//! here over svchop's events (base rules, then the `temporal_ordered` correlation with its aliases,
//! group-by and timespan) give exactly the findings of the profile they came from; golden files
//! for every language; profiles without a rule form are refused.
#![allow(clippy::expect_used, clippy::panic)] // Helpers fail the test loudly on a malformed export.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use svchop::detect::Detector;
use svchop::detect::assemble::finding_id;
use svchop::detect::finding::{Stage, StageRef};
use svchop::model::{Channel, Event};
use svchop::rules::{Target, export};
use svchop::store::Store;
use yaml_rust2::{Yaml, YamlLoader};

const PROFILES: [&str; 3] = ["elastic", "sigma", "otrf"];

// ---- A Sigma evaluator for the subset svchop writes --------------------------------------

/// An event as Sigma sees a Windows Security record: EventData names plus Computer.
fn sigma_fields(e: &Event) -> HashMap<&'static str, String> {
    let f = &e.fields;
    let mut m = HashMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k, v);
        }
    };
    put("EventID", Some(e.event_id.to_string()));
    put("Computer", Some(e.host.display.to_string()));
    put("LogonType", f.logon.logon_type.map(|t| t.to_string()));
    put("IpAddress", f.net.src_ip.as_deref().map(str::to_string));
    if e.event_id == 4624 {
        put("TargetLogonId", f.logon_id.map(|l| l.to_string()));
    }
    put("SubjectLogonId", f.subject_logon_id.map(|l| l.to_string()));
    put(
        "TargetUserName",
        f.target.user.as_deref().map(str::to_string),
    );
    put(
        "TargetDomainName",
        f.target.domain.as_deref().map(str::to_string),
    );
    put(
        "SubjectUserName",
        f.subject.user.as_deref().map(str::to_string),
    );
    put(
        "SubjectDomainName",
        f.subject.domain.as_deref().map(str::to_string),
    );
    put("ServiceName", f.service.name.as_deref().map(str::to_string));
    put(
        "ServiceFileName",
        f.service.image_path.as_deref().map(str::to_string),
    );
    m
}

/// A Sigma string value as a regex: `*`/`?` wildcards, `\` escapes before `*`, `?`, `\`.
fn sigma_regex(v: &str, modifier: Option<&str>) -> regex::Regex {
    let mut re = String::new();
    let chars: Vec<char> = v.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if matches!(chars.get(i + 1), Some('*' | '?' | '\\')) => {
                re.push_str(&regex::escape(&chars[i + 1].to_string()));
                i += 1;
            }
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    let re = match modifier {
        Some("endswith") => format!(".*{re}"),
        Some("startswith") => format!("{re}.*"),
        Some("contains") => format!(".*{re}.*"),
        None => re,
        Some(m) => panic!("modifier {m} not supported by the replay"),
    };
    regex::Regex::new(&format!("(?is)^{re}$")).expect("valid")
}

fn yaml_text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One detection item: every field must match one of its values.
struct Item(Vec<(String, Option<String>, Vec<Option<regex::Regex>>)>);

impl Item {
    fn parse(y: &Yaml) -> Item {
        let map = y.as_hash().expect("detection item is a map");
        Item(
            map.iter()
                .map(|(k, v)| {
                    let key = k.as_str().expect("field name");
                    let (field, modifier) = match key.split_once('|') {
                        Some((f, m)) => (f.to_string(), Some(m.to_string())),
                        None => (key.to_string(), None),
                    };
                    let values: Vec<&Yaml> = match v {
                        Yaml::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    let values = values
                        .into_iter()
                        .map(|v| {
                            if v.is_null() {
                                None
                            } else {
                                let t = yaml_text(v).expect("scalar value");
                                Some(sigma_regex(&t, modifier.as_deref()))
                            }
                        })
                        .collect();
                    (field, modifier, values)
                })
                .collect(),
        )
    }

    fn matches(&self, ev: &HashMap<&'static str, String>) -> bool {
        self.0.iter().all(|(field, _, values)| {
            let have = ev.get(field.as_str());
            values.iter().any(|v| match (v, have) {
                (None, None) => true,
                (Some(re), Some(h)) => re.is_match(h),
                _ => false,
            })
        })
    }
}

struct BaseRule {
    name: String,
    service: String,
    items: HashMap<String, Item>,
    /// `selection and not a and not b`: the names after `not`.
    negated: Vec<String>,
}

impl BaseRule {
    fn matches(&self, e: &Event) -> bool {
        let on_channel = match self.service.as_str() {
            "security" => e.channel == Channel::Security,
            "system" => e.channel == Channel::System,
            _ => false,
        };
        if !on_channel {
            return false;
        }
        let f = sigma_fields(e);
        self.items["selection"].matches(&f)
            && self.negated.iter().all(|n| !self.items[n].matches(&f))
    }
}

struct Correlation {
    kind: String,
    rules: Vec<String>,
    group_by: Vec<String>,
    aliases: HashMap<String, HashMap<String, String>>,
    timespan: TimeDelta,
}

fn timespan(s: &str) -> TimeDelta {
    let (n, unit) = s.split_at(s.len() - 1);
    let n: i64 = n.parse().expect("timespan number");
    match unit {
        "s" => TimeDelta::try_seconds(n),
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        u => panic!("timespan unit {u}"),
    }
    .expect("in range")
}

fn parse_rules(text: &str) -> (Vec<BaseRule>, Correlation) {
    let docs = YamlLoader::load_from_str(text).expect("exported Sigma is valid YAML");
    let mut base = Vec::new();
    let mut corr = None;
    for d in &docs {
        if let Some(c) = d["correlation"].as_hash() {
            let _ = c;
            let c = &d["correlation"];
            let list = |y: &Yaml| -> Vec<String> {
                y.as_vec()
                    .map(|v| {
                        v.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut aliases = HashMap::new();
            if let Some(a) = c["aliases"].as_hash() {
                for (alias, per_rule) in a {
                    let mut m = HashMap::new();
                    for (rule, field) in per_rule.as_hash().expect("alias map") {
                        m.insert(
                            rule.as_str().expect("rule").to_string(),
                            field.as_str().expect("field").to_string(),
                        );
                    }
                    aliases.insert(alias.as_str().expect("alias").to_string(), m);
                }
            }
            corr = Some(Correlation {
                kind: c["type"].as_str().expect("type").to_string(),
                rules: list(&c["rules"]),
                group_by: list(&c["group-by"]),
                aliases,
                timespan: timespan(c["timespan"].as_str().expect("timespan")),
            });
            continue;
        }
        let det = &d["detection"];
        let Some(h) = det.as_hash() else { continue };
        let mut items = HashMap::new();
        for (k, v) in h {
            let k = k.as_str().expect("key");
            if k != "condition" {
                items.insert(k.to_string(), Item::parse(v));
            }
        }
        let cond = det["condition"].as_str().expect("condition");
        let mut parts = cond.split(" and ");
        assert_eq!(parts.next(), Some("selection"), "condition form: {cond}");
        let negated = parts
            .map(|p| p.strip_prefix("not ").expect("`not name`").to_string())
            .collect();
        base.push(BaseRule {
            name: d["name"].as_str().unwrap_or_default().to_string(),
            service: d["logsource"]["service"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            items,
            negated,
        });
    }
    (base, corr.expect("a correlation rule"))
}

/// The correlation's findings: for each event of the last rule, the earlier-rule events of its
/// group within the timespan before it (`temporal_ordered`: first rule first). Returned as svchop
/// finding ids over (target host, evidence of the events).
fn replay(text: &str, store: &Arc<Store>) -> BTreeSet<String> {
    let events: Vec<Event> = store.events().collect();
    let (base, corr) = parse_rules(text);
    assert_eq!(corr.kind, "temporal_ordered");
    assert_eq!(corr.rules.len(), 2);
    let rule = |n: &str| {
        base.iter()
            .find(|r| r.name == n)
            .expect("referenced rule exists")
    };
    let (first, last) = (rule(&corr.rules[0]), rule(&corr.rules[1]));
    let group_key = |r: &BaseRule, e: &Event| -> Option<Vec<String>> {
        let f = sigma_fields(e);
        corr.group_by
            .iter()
            .map(|g| {
                let field = corr
                    .aliases
                    .get(g)
                    .and_then(|m| m.get(&r.name))
                    .map_or(g.as_str(), String::as_str);
                f.get(field).map(|v| v.to_ascii_lowercase())
            })
            .collect()
    };
    let mut firsts: BTreeMap<Vec<String>, Vec<(DateTime<Utc>, &Event)>> = BTreeMap::new();
    for e in &events {
        if first.matches(e)
            && let Some(k) = group_key(first, e)
        {
            firsts.entry(k).or_default().push((e.ts, e));
        }
    }
    let mut ids = BTreeSet::new();
    for e in &events {
        if !last.matches(e) {
            continue;
        }
        let Some(k) = group_key(last, e) else {
            continue;
        };
        let hits: Vec<&Event> = firsts
            .get(&k)
            .into_iter()
            .flatten()
            .filter(|(t, _)| *t <= e.ts && e.ts - *t <= corr.timespan)
            .map(|(_, l)| *l)
            .collect();
        if hits.is_empty() {
            continue;
        }
        let stages: Vec<StageRef> = std::iter::once(e)
            .chain(hits)
            .map(|x| StageRef {
                stage: Stage::Logon,
                time: x.ts,
                host: x.host.display.to_string(),
                channel: String::new(),
                event_id: x.event_id,
                evidence: x.source.to_string(),
                summary: String::new(),
                link: String::new(),
                event_index: 0,
            })
            .collect();
        ids.insert(finding_id(&e.host.key, &stages));
    }
    ids
}

/// The ids of the findings a profile reports and does not suppress.
fn unsuppressed_ids(d: &Detector, store: &Arc<Store>) -> BTreeSet<String> {
    d.scan(store, true)
        .0
        .into_iter()
        .filter(|f| !f.is_suppressed())
        .map(|f| f.id)
        .collect()
}

#[test]
fn exported_sigma_replayed_on_the_corpus_finds_what_the_profile_finds() {
    let loaded = common::load_paths(&[common::corpus()]);
    let store = Arc::clone(&loaded.store);
    let mut total = 0;
    for p in PROFILES {
        let d = Detector::with_profile(p).expect("profile");
        let want = unsuppressed_ids(&d, &store);
        let text = export(&d, Target::Sigma).expect("export");
        let got = replay(&text, &store);
        assert_eq!(got, want, "profile {p}: Sigma replay vs svchop scan");
        total += want.len();
    }
    // The comparison means something only if the corpus gives findings.
    assert!(total >= 4, "only {total} findings across the profiles");
}

#[test]
fn exported_sigma_replayed_on_the_demo_case_finds_what_the_profile_finds() {
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts: 40,
        days: 3,
        ..svchop::demo::DemoOptions::default()
    });
    let store = svchop::detect::testkit::store(svchop::demo::events(&case));
    for p in PROFILES {
        let d = Detector::with_profile(p).expect("profile");
        let want = unsuppressed_ids(&d, &store);
        assert!(want.len() >= 3, "profile {p}: {} findings", want.len());
        assert_eq!(
            replay(&export(&d, Target::Sigma).expect("export"), &store),
            want,
            "profile {p}"
        );
    }
}

#[test]
fn replay_honours_each_profiles_window_and_host_rule() {
    // A logon 61 s before the install: outside Elastic's 60 s and Sigma's 30 s, inside the
    // Threat Hunter Playbook's unlimited window; a second logon id on another host joins only
    // for otrf (same_host = false).
    use svchop::detect::testkit::ev;
    let evs = vec![
        ev("PC01", 0, Channel::Security, 4624)
            .logon(0x77, 3, "10.0.0.9", "eve", "S-1-5-21-9")
            .done(),
        ev("PC01", 61_000, Channel::Security, 4697)
            .subject(0x77, "eve", "S-1-5-21-9")
            .service("updsvc", "C:\\Users\\Public\\u.exe")
            .done(),
        ev("PC02", 1_000, Channel::Security, 4624)
            .logon(0x88, 3, "10.0.0.9", "eve", "S-1-5-21-9")
            .done(),
        ev("PC03", 2_000, Channel::Security, 4697)
            .subject(0x88, "eve", "S-1-5-21-9")
            .service("othersvc", "C:\\Users\\Public\\o.exe")
            .done(),
    ];
    let store = svchop::detect::testkit::store(evs);
    let mut counts = Vec::new();
    for p in PROFILES {
        let d = Detector::with_profile(p).expect("profile");
        let want: BTreeSet<String> = d.scan(&store, true).0.into_iter().map(|f| f.id).collect();
        assert_eq!(
            replay(&export(&d, Target::Sigma).expect("export"), &store),
            want,
            "profile {p}"
        );
        counts.push(want.len());
    }
    assert_eq!(counts, vec![0, 0, 2], "elastic, sigma, otrf");
}

#[test]
fn allowlist_entries_filter_the_replayed_correlation() {
    // An analyst's allow-list that covers one corpus finding: the replay loses exactly it.
    let loaded = common::load_paths(&[common::corpus()]);
    let store = Arc::clone(&loaded.store);
    let mut d = Detector::with_profile("sigma").expect("profile");
    let before = d.scan(&store, true).0;
    let victim = before
        .iter()
        .find(|f| !f.is_suppressed())
        .expect("a finding");
    let name = victim.services[0].name.clone().expect("service name");
    d.allowlist.extend(
        svchop::detect::allowlist::Allowlist::from_toml(
            &format!(
                "[[entry]]\nfield = \"service_name\"\npattern = '{name}'\nreason = \"test\"\n"
            ),
            "test",
        )
        .expect("allow-list"),
    );
    let want = unsuppressed_ids(&d, &store);
    assert!(!want.contains(&victim.id));
    let got = replay(&export(&d, Target::Sigma).expect("export"), &store);
    assert_eq!(got, want);
}

// ---- Golden files ----------------------------------------------------------------------------

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/rules")
}

#[test]
fn rule_exports_match_their_golden_files() {
    let bless = std::env::var_os("SVCHOP_BLESS").is_some();
    let mut failures = Vec::new();
    for p in PROFILES {
        let d = Detector::with_profile(p).expect("profile");
        for (target, ext) in [
            (Target::Sigma, "yml"),
            (Target::Kql, "kql"),
            (Target::Eql, "eql"),
            (Target::Spl, "spl"),
        ] {
            let text = export(&d, target).expect("export");
            let path = golden_dir().join(format!("svchop_{p}.{ext}"));
            if bless {
                std::fs::create_dir_all(golden_dir()).expect("golden dir");
                std::fs::write(&path, &text).expect("write golden");
                continue;
            }
            let want = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run with SVCHOP_BLESS=1)", path.display()));
            if want != text {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "differs from golden: {failures:?}");
}

#[test]
fn profiles_without_a_rule_form_are_refused() {
    for p in ["default", "sentinel", "hunt"] {
        let d = Detector::with_profile(p).expect("profile");
        let err = export(&d, Target::Sigma).expect_err("refused");
        assert!(err.to_string().contains("no rule form"), "{err}");
    }
}

#[test]
fn hostile_allowlist_patterns_stay_inert_in_every_language() {
    let mut d = Detector::with_profile("elastic").expect("profile");
    let text = "[[entry]]\nfield = \"service_name\"\npattern = \"x'\\\"\\u001b[2J`|eval\\nevil: 1\"\nreason = \"r\"\n";
    d.allowlist.extend(
        svchop::detect::allowlist::Allowlist::from_toml(text, "hostile").expect("allow-list"),
    );
    for t in [
        Target::Sigma,
        Target::Kql,
        Target::Eql,
        Target::Spl,
        Target::Spark,
        Target::SparkSql,
    ] {
        let out = export(&d, t).expect("export");
        assert!(!out.contains('\u{1b}'), "{t:?} carries an escape character");
        assert!(
            !out.contains("\nevil: 1"),
            "{t:?} lets a pattern start a line"
        );
    }
    // The Sigma stream still parses, with the pattern as one value.
    let sigma = export(&d, Target::Sigma).expect("export");
    let docs = YamlLoader::load_from_str(&sigma).expect("valid YAML");
    assert!(docs.len() >= 4);
}
