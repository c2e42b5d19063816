//! The built-in demo case: a small synthetic Windows domain with benign noise and lateral
//! movement by several tools (Sysinternals PsExec, Impacket psexec and smbexec, PAExec, RemCom,
//! and a multi-hop A -> B -> C), written as Security, System and Sysmon logs in the `evtx_dump`
//! JSON shape. Deterministic for a seed; also the scale input for benchmarks.

mod beyond;
mod emit;
mod noise;
mod records;
mod rng;
mod tools;

use chrono::{DateTime, TimeDelta, Utc};
use records::Logs;
pub use records::{Host, User};
use rng::Rng;
use serde::Serialize;
use serde_json::Value;

/// How big a demo to make (a case made on the demo records them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DemoOptions {
    pub hosts: usize,
    pub days: u32,
    pub seed: u64,
    /// Benign events per host per day (noise volume).
    pub noise_per_day: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            hosts: 8,
            days: 2,
            seed: 7,
            noise_per_day: 120,
        }
    }
}

/// One generated attack chain: what a correct detection must report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DemoChain {
    /// The least severity a correct detection gives it.
    pub expect: crate::detect::Severity,
    /// Tool id as in `assets/patterns.toml` (empty: no tool to name).
    pub tool: String,
    /// Source host key, or the attacker's IP when the source has no logs (`-`: not in the
    /// target's logs either).
    pub source: String,
    pub source_ip: String,
    pub target: String,
    pub account: String,
    pub service: String,
    pub time: DateTime<Utc>,
}

/// The generated logs, by relative path, and the ground truth.
#[derive(Debug)]
pub struct DemoCase {
    /// Relative path and its records (JSON text), in record-id order.
    pub files: Vec<(String, Vec<Box<str>>)>,
    pub chains: Vec<DemoChain>,
}

impl DemoCase {
    pub fn records(&self) -> usize {
        self.files.iter().map(|(_, r)| r.len()).sum()
    }
}

pub struct Env {
    pub rng: Rng,
    pub logs: Logs,
    pub hosts: Vec<Host>,
    pub users: Vec<User>,
    pub start: DateTime<Utc>,
    pub next_logon: u64,
    pub next_pid: u32,
}

impl Env {
    pub fn logon_id(&mut self) -> u64 {
        self.next_logon += 1 + self.rng.below(40);
        self.next_logon
    }

    pub fn pid(&mut self) -> u32 {
        self.next_pid = self
            .next_pid
            .wrapping_add(4 + u32::try_from(self.rng.below(200)).unwrap_or(0));
        if self.next_pid < 1000 {
            self.next_pid = 1000;
        }
        self.next_pid
    }

    pub fn at(&self, day: u32, secs: i64) -> DateTime<Utc> {
        self.start + TimeDelta::try_seconds(i64::from(day) * 86_400 + secs).unwrap_or_default()
    }

    pub fn host(&self, name: &str) -> Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .cloned()
            .unwrap_or_else(|| self.hosts[0].clone())
    }
}

fn hosts(n: usize) -> Vec<Host> {
    let mut out = vec![
        Host::new("DC01", "10.10.0.10"),
        Host::new("FS01", "10.10.0.20"),
        Host::new("ADMIN01", "10.10.0.30"),
    ];
    for i in 1..=n.saturating_sub(3).max(5) {
        out.push(Host::new(
            &format!("WS{i:02}"),
            &format!("10.10.1.{}", 10 + i),
        ));
    }
    out
}

fn users() -> Vec<User> {
    ["alice", "bob", "carol", "dave", "it-admin"]
        .iter()
        .enumerate()
        .map(|(i, n)| User {
            name: (*n).to_string(),
            sid: format!("S-1-5-21-3141592653-589793238-462643383-{}", 1104 + i),
        })
        .collect()
}

/// Generates the case.
pub fn generate(opts: &DemoOptions) -> DemoCase {
    let mut env = Env {
        rng: Rng::new(opts.seed),
        logs: Logs::default(),
        hosts: hosts(opts.hosts),
        users: users(),
        start: DateTime::from_timestamp(1_730_764_800, 0).unwrap_or_default(),
        next_logon: 0x0010_0000,
        next_pid: 2000,
    };
    for day in 0..opts.days.max(1) {
        noise::day(&mut env, day, opts.noise_per_day);
    }
    let days = opts.days.max(1);
    let mut chains = tools::attacks(&mut env, days);
    chains.extend(beyond::attacks(&mut env, days - 1, tools::OUTSIDE));
    // Record ids count up as records are added, so each log is already in record-id order.
    let mut files: Vec<(String, Vec<Box<str>>)> = env
        .logs
        .logs
        .into_iter()
        .map(|((host, file), recs)| (format!("{host}/{file}"), recs))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    DemoCase { files, chains }
}

/// Writes the case as JSON lines under `dir` (created), plus `ground-truth.tsv` (plain text, so
/// that scanning the folder does not read it as evidence).
pub fn write(case: &DemoCase, dir: &std::path::Path) -> std::io::Result<()> {
    use std::fmt::Write as _;
    use std::io::Write;
    for (rel, recs) in &case.files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for r in recs {
            w.write_all(r.as_bytes())?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    let mut truth =
        String::from("time\ttool\tsource\tsource_ip\ttarget\taccount\tservice\texpect\n");
    for c in &case.chains {
        let _ = writeln!(
            truth,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            crate::model::time::fmt_utc(c.time),
            c.tool,
            c.source,
            c.source_ip,
            c.target,
            c.account,
            c.service,
            c.expect.label()
        );
    }
    std::fs::write(dir.join("ground-truth.tsv"), truth)
}

/// The case as normalized events, without touching the disk.
pub fn events(case: &DemoCase) -> Vec<crate::model::Event> {
    let mut out = Vec::new();
    let mut hosts = crate::model::HostCache::default();
    for (rel, recs) in &case.files {
        let file: std::sync::Arc<str> = std::sync::Arc::from(format!("demo:{rel}").as_str());
        for (n, text) in recs.iter().enumerate() {
            let Ok(r) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let Some(e) = crate::ingest::evtxjson::unwrap_event(&r) else {
                continue;
            };
            let Some((ch, id)) = crate::ingest::evtxjson::channel_and_id(e) else {
                continue;
            };
            if !crate::ingest::kept::is_kept(&crate::model::Channel::from_name(&ch), id) {
                continue;
            }
            let Some(mut raw) = crate::ingest::evtxjson::to_raw(e) else {
                continue;
            };
            // Its place in the file, so the workbench can show the record text.
            raw.offset = Some(n as u64);
            if let Some(ev) =
                crate::ingest::fieldmap::normalize(raw, &file, TimeDelta::zero(), &mut hosts)
            {
                out.push(ev);
            }
        }
    }
    out
}
