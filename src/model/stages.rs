//! The stage table (`assets/stages.toml`): which logs and event ids show each stage of remote
//! service execution. The records svchop keeps (`ingest::kept`), what the coverage report checks
//! and the ids each linker pass reads are all derived from it, so a stage's evidence is written
//! down once. Parsed once; the built-in table is checked by a test, so it always parses.

use super::Channel;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const STAGES_TOML: &str = include_str!("../../assets/stages.toml");

/// A log and the event ids in it.
#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    pub channel: String,
    pub ids: Vec<u16>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StageRow {
    /// The stage's name as findings spell it (`logon`, `share`, ...).
    pub stage: String,
    /// What a host whose logs hold none of `shown_by` cannot show (coverage report wording).
    pub blind: String,
    pub shown_by: Vec<Source>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Context {
    pub shown_by: Vec<Source>,
}

/// A linker pass or an event kind: the ids of these stages (of these channels only, when given),
/// plus `ids`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pass {
    pub stages: Vec<String>,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub ids: Vec<u16>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StageTable {
    #[serde(rename = "stage")]
    pub stages: Vec<StageRow>,
    #[serde(default)]
    pub context: Context,
    #[serde(default)]
    pub passes: BTreeMap<String, Pass>,
    /// Why a log that is present may lack a stage's ids, by channel (short name).
    #[serde(default)]
    pub hints: BTreeMap<String, String>,
}

/// What the table gives, resolved once: kept ids per channel and each pass's ids.
#[derive(Debug)]
pub struct Resolved {
    pub table: StageTable,
    kept: BTreeMap<String, Vec<u16>>,
    passes: BTreeMap<String, Vec<u16>>,
}

static TABLE: LazyLock<Resolved> = LazyLock::new(|| resolve(parse(STAGES_TOML)));

/// The built-in stage table.
pub fn table() -> &'static Resolved {
    &TABLE
}

/// The event ids of a pass or event kind of the built-in table (`process_start`, `scm_state`,
/// ...), ascending; what the rules test an event's id against instead of spelling ids out.
pub fn ids(name: &str) -> &'static [u16] {
    TABLE.pass(name)
}

fn parse(text: &str) -> StageTable {
    // The built-in table is tested to parse; an empty table keeps nothing rather than panic.
    toml::from_str(text).unwrap_or(StageTable {
        stages: Vec::new(),
        context: Context::default(),
        passes: BTreeMap::new(),
        hints: BTreeMap::new(),
    })
}

/// The long channel name events carry (`Sysmon` -> `Microsoft-Windows-Sysmon/Operational`).
fn channel_name(short: &str) -> String {
    Channel::from_name(short).name().to_string()
}

fn resolve(table: StageTable) -> Resolved {
    let mut kept: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    let rows = table.stages.iter().flat_map(|s| &s.shown_by);
    for src in rows.chain(&table.context.shown_by) {
        let ids = kept.entry(channel_name(&src.channel)).or_default();
        ids.extend(&src.ids);
        ids.sort_unstable();
        ids.dedup();
    }
    let passes = table
        .passes
        .iter()
        .map(|(name, pass)| {
            let want: Vec<String> = pass.channels.iter().map(|c| channel_name(c)).collect();
            let mut ids: Vec<u16> = table
                .stages
                .iter()
                .filter(|s| pass.stages.contains(&s.stage))
                .flat_map(|s| &s.shown_by)
                .filter(|src| want.is_empty() || want.contains(&channel_name(&src.channel)))
                .flat_map(|src| src.ids.iter().copied())
                .chain(pass.ids.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            (name.clone(), ids)
        })
        .collect();
    Resolved {
        table,
        kept,
        passes,
    }
}

impl Resolved {
    /// The kept ids of a channel (long name), ascending.
    pub fn kept_ids(&self, channel: &str) -> &[u16] {
        self.kept.get(channel).map_or(&[], Vec::as_slice)
    }

    /// The event ids a linker pass reads (empty for a pass the table does not name).
    pub fn pass(&self, name: &str) -> &[u16] {
        self.passes.get(name).map_or(&[], Vec::as_slice)
    }

    /// The logs and ids that show a stage, channels by their long names.
    pub fn shown_by(&self, stage: &str) -> Vec<(String, &[u16])> {
        self.table
            .stages
            .iter()
            .filter(|s| s.stage == stage)
            .flat_map(|s| &s.shown_by)
            .map(|src| (channel_name(&src.channel), src.ids.as_slice()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_parses_and_names_every_stage_and_pass() {
        let t: StageTable = toml::from_str(STAGES_TOML).expect("assets/stages.toml parses");
        let names: Vec<&str> = t.stages.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(
            names,
            [
                "logon", "share", "pipe", "install", "exec", "cleanup", "source"
            ]
        );
        let r = table();
        for pass in [
            "install",
            "scm",
            "candidates",
            "hunt",
            "process_start",
            "scm_state",
            "share_access",
            "session",
            "sysmon_pipe",
        ] {
            assert!(!r.pass(pass).is_empty(), "{pass}");
        }
        for p in t.passes.values() {
            for s in &p.stages {
                assert!(names.contains(&s.as_str()), "pass names stage {s}");
            }
        }
    }

    #[test]
    fn passes_and_kept_ids_are_what_the_detections_read() {
        let r = table();
        assert_eq!(r.pass("install"), [13, 4697, 7045]);
        assert_eq!(r.pass("scm"), [7000, 7009, 7034, 7035, 7036, 7045]);
        assert_eq!(ids("process_start"), [1, 4688]);
        assert_eq!(ids("scm_state"), [7000, 7009, 7034, 7035, 7036]);
        assert_eq!(ids("share_access"), [5140, 5145]);
        assert_eq!(ids("session"), [4624, 5140, 5145]);
        assert_eq!(ids("sysmon_pipe"), [17, 18]);
        assert!(ids("no such kind").is_empty());
        let sec = r.kept_ids("Security");
        assert!(sec.contains(&4672) && sec.contains(&4648) && !sec.contains(&4907));
        assert!(
            r.kept_ids("Microsoft-Windows-Sysmon/Operational")
                .contains(&26)
        );
    }
}
