//! Exports checked by each ecosystem's own tooling (installed by `scripts/test.sh`):
//! Sigma rules by sigma-cli/pySigma (`sigma check`, conversion to Splunk and Elasticsearch), EQL by
//! the `eql` package, KQL by Kusto.Language, and the PySpark job run in local Spark over
//! `svchop normalize` tables, against `svchop scan` on the same input.
//!
//! These tests need python3 with `scripts/interop/requirements.txt`, Java, and node with
//! `@kusto/language-service-next` under `$SVCHOP_INTEROP_NODE` (default `target/interop-node`).
//! They fail, never skip, when a tool is missing: `bash scripts/test.sh` installs them.
#![allow(clippy::expect_used, clippy::panic)] // Helpers fail the test loudly.

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const PROFILES: [&str; 3] = ["elastic", "sigma", "otrf"];

fn svchop() -> Command {
    Command::cargo_bin("svchop").expect("binary")
}

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/interop")
}

/// Runs a command; panics with its output when it fails.
fn run(cmd: &mut std::process::Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start ({e}); run `bash scripts/test.sh`, which installs the interop tools"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// sigma-cli, run by the Python that has it (`scripts/interop/sigma_cli.py`).
fn sigma() -> std::process::Command {
    let mut c = std::process::Command::new("python3");
    c.arg(scripts().join("sigma_cli.py"));
    c
}

fn export(profile: &str, to: &str, path: &Path, extra: &[&str]) {
    svchop()
        .args(["rules", "export", "--to", to, "--profile", profile, "-o"])
        .arg(path)
        .args(extra)
        .assert()
        .success();
}

#[test]
fn sigma_rules_pass_sigma_check_and_convert_to_splunk_and_elasticsearch() {
    let dir = tempfile::tempdir().expect("tmp");
    for p in PROFILES {
        let file = dir.path().join(format!("svchop_{p}_rules.yml"));
        export(p, "sigma", &file, &[]);
        // attacktag/d3_fendtag download MITRE data from GitHub at run time; this machine reaches
        // package registries only. Every other validator runs, and any issue fails (-i).
        run(
            sigma()
                .args([
                    "check",
                    "-i",
                    "--exclude",
                    "attacktag",
                    "--exclude",
                    "d3_fendtag",
                ])
                .arg(&file),
            &format!("sigma check {p}"),
        );
        // pySigma's backends convert no temporal_ordered correlation (Splunk: temporal only;
        // Elasticsearch: no correlation aliases): convert the base rules, which every backend
        // must take; the correlation is validated by `sigma check` above.
        let text = std::fs::read_to_string(&file).expect("read");
        let base: Vec<&str> = text
            .split("\n---\n")
            .skip(1)
            .filter(|d| !d.contains("\ncorrelation:") && !d.starts_with("correlation:"))
            .collect();
        assert!(base.len() >= 5, "{p}: {} base rules", base.len());
        let base_file = dir.path().join(format!("svchop_{p}_base_rules.yml"));
        std::fs::write(&base_file, base.join("\n---\n")).expect("write");
        for (target, needle) in [
            ("splunk", "EventID=4697"),
            ("lucene", "EventID:4697"),
            ("eql", "EventID:4697"),
        ] {
            let out = run(
                sigma()
                    .args(["convert", "-t", target, "--without-pipeline"])
                    .arg(&base_file),
                &format!("sigma convert -t {target} ({p})"),
            );
            assert!(out.contains(needle), "{p} {target}:\n{out}");
            assert!(out.contains("4624"), "{p} {target}:\n{out}");
        }
    }
}

#[test]
fn eql_exports_parse_with_the_eql_package() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for p in PROFILES {
        let f = dir.path().join(format!("{p}.eql"));
        export(p, "eql", &f, &[]);
        files.push(f);
    }
    let out = run(
        std::process::Command::new("python3")
            .arg(scripts().join("eql_parse.py"))
            .args(&files),
        "eql parse",
    );
    assert_eq!(out.matches(" parsed").count(), 3, "{out}");
    // The checker itself rejects a broken query.
    let bad = dir.path().join("bad.eql");
    std::fs::write(
        &bad,
        "sequence by host.name [authentication where user.name ==",
    )
    .expect("w");
    let status = std::process::Command::new("python3")
        .arg(scripts().join("eql_parse.py"))
        .arg(&bad)
        .output()
        .expect("python3");
    assert!(!status.status.success());
}

fn node_modules() -> PathBuf {
    std::env::var_os("SVCHOP_INTEROP_NODE").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/interop-node"),
        PathBuf::from,
    )
}

#[test]
fn kql_exports_parse_with_kusto_language() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for p in PROFILES {
        let f = dir.path().join(format!("{p}.kql"));
        export(p, "kql", &f, &[]);
        files.push(f);
    }
    let node_path = node_modules().join("node_modules");
    let out = run(
        std::process::Command::new("node")
            .env("NODE_PATH", &node_path)
            .arg(scripts().join("kql_parse.js"))
            .args(&files),
        "kql parse",
    );
    assert_eq!(out.matches(": parsed, 0 diagnostic(s)").count(), 3, "{out}");
    let bad = dir.path().join("bad.kql");
    std::fs::write(&bad, "SecurityEvent | where (EventID == ").expect("w");
    let status = std::process::Command::new("node")
        .env("NODE_PATH", &node_path)
        .arg(scripts().join("kql_parse.js"))
        .arg(&bad)
        .output()
        .expect("node");
    assert!(
        !status.status.success(),
        "the KQL checker accepted a broken query"
    );
}

/// Findings as JSON values, in file order (`svchop scan --format jsonl`, or Spark part files).
fn findings_in(path: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
            })
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .expect("read")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).expect("finding JSON"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The Spark jobs' inputs, normalized: (name, evidence, table). The dev corpus and the
/// ties case as JSON lines tables; the 40-host demo as a Parquet table (`parquet`) or JSON lines.
fn spark_inputs(d: &Path, parquet: bool) -> Vec<(String, PathBuf, PathBuf)> {
    let demo = d.join("demo-case");
    svchop()
        .args(["demo", "--write"])
        .arg(&demo)
        .args(["--hosts", "40", "--days", "3"])
        .assert()
        .success();
    let inputs = [
        ("corpus", common::corpus(), false),
        ("demo", demo, parquet),
        ("ties", ties_case(d), false),
    ];
    inputs
        .into_iter()
        .map(|(name, src, parquet)| {
            let table = d.join(format!("table-{name}"));
            svchop()
                .arg("normalize")
                .arg(&src)
                .arg("--to")
                .arg(&table)
                .args(["--format", if parquet { "parquet" } else { "jsonl" }])
                .assert()
                .success();
            (name.to_string(), src, table)
        })
        .collect()
}

/// One exported job per (profile, with and without an analyst's allow-list) over every input,
/// and `svchop scan`'s findings of the same input to compare with: (plan, checks).
type Check = (String, PathBuf, PathBuf);
fn spark_plan(
    d: &Path,
    to: &str,
    profiles: &[(&str, &str)],
    inputs: &[(String, PathBuf, PathBuf)],
) -> (Vec<serde_json::Value>, Vec<Check>) {
    // An analyst's allow-list that suppresses one demo service: the job must mark it too.
    let allow = d.join("allow.toml");
    std::fs::write(
        &allow,
        "[[entry]]\nfield = \"service_name\"\npattern = \"RemCom*\"\nreason = \"sanctioned in this test\"\n",
    )
    .expect("write");
    let allow_arg = ["--allowlist", allow.to_str().expect("utf-8")];
    let mut plan = Vec::new();
    let mut checks = Vec::new();
    for (name, p) in profiles {
        for with_allow in [false, true] {
            let extra: &[&str] = if with_allow { &allow_arg } else { &[] };
            let tag = format!("{to}-{name}{}", if with_allow { "-allow" } else { "" });
            let job = d.join(format!("job-{tag}.py"));
            export(p, to, &job, extra);
            for (input, src, table) in inputs {
                let out = d.join(format!("out-{tag}-{input}"));
                plan.push(serde_json::json!({"job": job, "events": [table], "out": out}));
                let scan = svchop()
                    .arg("scan")
                    .arg(src)
                    .args(["--profile", p, "--format", "jsonl", "--show-suppressed"])
                    .args(extra)
                    .output()
                    .expect("scan");
                let want = d.join(format!("scan-{tag}-{input}.jsonl"));
                std::fs::write(&want, &scan.stdout).expect("write");
                checks.push((format!("{tag} on {input}"), want, out));
            }
        }
    }
    (plan, checks)
}

/// Runs the plan's jobs in one local Spark session.
fn run_plan(d: &Path, plan: &[serde_json::Value]) {
    let plan_file = d.join("plan.json");
    std::fs::write(&plan_file, serde_json::to_string(plan).expect("json")).expect("write");
    run(
        std::process::Command::new("python3")
            .env("SVCHOP", svchop().get_program())
            .arg(scripts().join("run_spark_jobs.py"))
            .arg(&plan_file),
        "spark jobs",
    );
}

#[test]
fn spark_sql_job_finds_exactly_what_svchop_scan_finds() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let inputs = spark_inputs(d, false);
    let tuned = tuned_profile(d);
    let profiles: Vec<(&str, &str)> = PROFILES
        .iter()
        .map(|p| (*p, *p))
        .chain([("tuned", tuned.as_str())])
        .collect();
    let (plan, checks) = spark_plan(d, "spark-sql", &profiles, &inputs);
    run_plan(d, &plan);
    let (total, suppressed) = compare(checks);
    assert!(total >= 20, "only {total} findings compared");
    assert!(suppressed >= 2, "the allow-list suppressed {suppressed}");
}

/// Every profile (the chain engine, hunt and Sentinel included) runs on Spark through svchop's
/// own engine, phase by phase, from a Parquet table too, and finds what `svchop scan` finds.
#[test]
fn spark_engine_job_finds_exactly_what_svchop_scan_finds_for_every_profile() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let inputs = spark_inputs(d, true);
    let tuned = tuned_profile(d);
    let tuned_default = tuned_default_profile(d);
    let profiles: Vec<(&str, &str)> = ["default", "hunt", "sentinel", "elastic", "sigma", "otrf"]
        .iter()
        .map(|p| (*p, *p))
        .chain([
            ("tuned", tuned.as_str()),
            ("tuned-default", tuned_default.as_str()),
        ])
        .collect();
    let (plan, checks) = spark_plan(d, "spark", &profiles, &inputs);
    run_plan(d, &plan);
    let (total, suppressed) = compare(checks);
    assert!(total >= 500, "only {total} findings compared");
    assert!(suppressed >= 10, "the allow-list suppressed {suppressed}");
}

/// The engine job on a Spark standalone cluster started here (one master, two workers, each
/// with its own work folder): same findings, and the per-host phase ran in the workers'
/// executors, on both of them.
#[test]
fn spark_engine_job_runs_its_host_phase_in_cluster_workers() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let inputs: Vec<_> = spark_inputs(d, true)
        .into_iter()
        .filter(|(n, _, _)| n == "demo")
        .collect();
    let profiles = [("default", "default"), ("otrf", "otrf")];
    let (mut plan, checks) = spark_plan(d, "spark", &profiles, &inputs);
    for step in &mut plan {
        step["host_partitions"] = serde_json::json!(8);
    }
    let plan_file = d.join("plan.json");
    std::fs::write(&plan_file, serde_json::to_string(&plan).expect("json")).expect("write");
    let cluster = d.join("cluster");
    let text = run(
        std::process::Command::new("python3")
            .env("SVCHOP", svchop().get_program())
            .arg(scripts().join("spark_cluster.py"))
            .arg(&cluster)
            .arg(&plan_file),
        "spark standalone cluster",
    );
    let report: serde_json::Value = serde_json::from_str(
        text.lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no report in:\n{text}")),
    )
    .expect("report JSON");
    let (total, _) = compare(checks);
    assert!(total >= 100, "only {total} findings compared");
    let workers: Vec<String> = report["worker_dirs"]
        .as_array()
        .expect("worker dirs")
        .iter()
        .map(|w| w.as_str().expect("dir").to_string())
        .collect();
    assert_eq!(workers.len(), 2);
    for job in report["jobs"].as_array().expect("jobs") {
        let tasks = job["host_tasks"].as_array().expect("host tasks");
        assert!(!tasks.is_empty(), "{job}");
        let mut used = std::collections::BTreeSet::new();
        for t in tasks {
            let cwd = t["cwd"].as_str().expect("cwd");
            let w = workers
                .iter()
                .position(|w| cwd.starts_with(w.as_str()))
                .unwrap_or_else(|| panic!("host task ran outside the workers: {cwd}"));
            used.insert(w);
        }
        assert_eq!(used.len(), 2, "host tasks ran in one worker only: {job}");
    }
}

/// An analyst's tuned copy of the elastic profile: an excluded service name in another case and
/// a 5 s window. Returns its path.
fn tuned_profile(d: &Path) -> String {
    let tuned = d.join("tuned.toml");
    let elastic = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/elastic.toml"),
    )
    .expect("elastic.toml");
    std::fs::write(
        &tuned,
        elastic
            .replace("name = \"elastic\"", "name = \"tuned\"")
            .replace(
                "exclude_service_names = []",
                "exclude_service_names = [\"UPDSVC1\"]",
            )
            .replace("logon_to_install = 60", "logon_to_install = 5"),
    )
    .expect("write");
    tuned.to_str().expect("utf-8").to_string()
}

/// An analyst's tuned copy of the default profile (the chain engine): another name and a
/// shorter tool-to-install window. Returns its path.
fn tuned_default_profile(d: &Path) -> String {
    let tuned = d.join("tuned-default.toml");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/default.toml"),
    )
    .expect("default.toml");
    let changed = text
        .replace("name = \"default\"", "name = \"tuned-default\"")
        .replace("tool_to_install = 30", "tool_to_install = 20");
    assert_ne!(changed, text, "default.toml names itself");
    std::fs::write(&tuned, changed).expect("write");
    tuned.to_str().expect("utf-8").to_string()
}

/// Two findings on one host with the same score whose first times are 10:00:16Z and
/// 10:00:16.500Z: as text they sort the wrong way round, as instants the right way.
fn ties_case(dir: &Path) -> PathBuf {
    let out = dir.join("ties");
    std::fs::create_dir_all(&out).expect("mkdir");
    let ev = |id: u32, rec: u32, time: &str, data: &str| {
        format!(
            "{{\"Event\":{{\"System\":{{\"Provider\":{{\"#attributes\":{{\"Name\":\"Microsoft-Windows-Security-Auditing\"}}}},\"EventID\":{id},\"EventRecordID\":{rec},\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":\"{time}\"}}}},\"Channel\":\"Security\",\"Computer\":\"srv9.corp.local\"}},\"EventData\":{{{data}}}}}}}\n"
        )
    };
    let logon = |lid: &str| {
        format!(
            "\"TargetUserName\":\"bob\",\"TargetDomainName\":\"CORP\",\"TargetUserSid\":\"S-1-5-21-1-2-3-1200\",\"TargetLogonId\":\"{lid}\",\"LogonType\":\"3\",\"IpAddress\":\"10.0.0.7\",\"AuthenticationPackageName\":\"Kerberos\""
        )
    };
    let install = |lid: &str, name: &str| {
        format!(
            "\"SubjectUserName\":\"bob\",\"SubjectDomainName\":\"CORP\",\"SubjectUserSid\":\"S-1-5-21-1-2-3-1200\",\"SubjectLogonId\":\"{lid}\",\"ServiceName\":\"{name}\",\"ServiceFileName\":\"C:\\\\Users\\\\Public\\\\{name}.exe\",\"ServiceAccount\":\"LocalSystem\""
        )
    };
    let text = [
        ev(4624, 1, "2024-01-01T10:00:16.000000Z", &logon("0x1111")),
        ev(4624, 2, "2024-01-01T10:00:16.500000Z", &logon("0x2222")),
        ev(
            4697,
            3,
            "2024-01-01T10:00:20.000000Z",
            &install("0x1111", "updsvc1"),
        ),
        ev(
            4697,
            4,
            "2024-01-01T10:00:21.000000Z",
            &install("0x2222", "updsvc2"),
        ),
    ]
    .concat();
    std::fs::write(out.join("Security.jsonl"), text).expect("write");
    out
}

/// Each Spark output against its scan: same ids in the same order, every field equal.
/// Returns (findings compared, suppressed among them).
fn compare(checks: Vec<(String, PathBuf, PathBuf)>) -> (usize, usize) {
    let mut total = 0;
    let mut suppressed = 0;
    for (what, want, got) in checks {
        let want = findings_in(&want);
        let got = findings_in(&got);
        let ids = |v: &[serde_json::Value]| -> Vec<String> {
            v.iter().map(|f| f["id"].to_string()).collect()
        };
        assert_eq!(ids(&got), ids(&want), "{what}: finding ids and order");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{what}: finding {} differs", w["id"]);
        }
        total += want.len();
        suppressed += want
            .iter()
            .filter(|f| !f["suppressed_by"].is_null())
            .count();
    }
    (total, suppressed)
}

/// Executables that are not a svchop the job can ship: a Windows build's header, and a program
/// answering an older version.
fn wrong_binaries(d: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let windows = d.join("svchop.exe");
    std::fs::write(
        &windows,
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00\x00\x00",
    )
    .expect("write");
    std::fs::set_permissions(&windows, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let old = d.join("svchop-old");
    std::fs::write(&old, "#!/bin/sh\necho 'svchop 0.0.1'\n").expect("write");
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (windows, old)
}

/// The Spark jobs never destroy data and say what to ship: a non-empty `--out` is refused
/// unless `--overwrite` (and its files stay), the input table is refused even with it, a given
/// `--svchop` that does not exist is an error (no fallback to another binary), and a binary for
/// another platform or an older svchop is named before any phase runs.
#[test]
fn spark_jobs_refuse_to_destroy_data_and_name_the_binary_to_ship() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let table = d.join("table");
    svchop()
        .arg("normalize")
        .arg(common::corpus())
        .arg("--to")
        .arg(&table)
        .assert()
        .success();
    let sql = d.join("job-sql.py");
    export("elastic", "spark-sql", &sql, &[]);
    let engine = d.join("job-engine.py");
    export("default", "spark", &engine, &[]);
    let full = d.join("full");
    std::fs::create_dir(&full).expect("mkdir");
    std::fs::write(full.join("keep.txt"), "the analyst's notes").expect("write");
    let full2 = d.join("full2");
    std::fs::create_dir(&full2).expect("mkdir");
    std::fs::write(full2.join("old.txt"), "old").expect("write");
    let (windows, old) = wrong_binaries(d);
    let step = |job: &Path, out: &Path, extra: serde_json::Value| {
        let mut s = serde_json::json!({"job": job, "events": [table], "out": out});
        for (k, v) in extra.as_object().expect("object") {
            s[k] = v.clone();
        }
        s
    };
    let plan = vec![
        step(
            &sql,
            &full,
            serde_json::json!({"expect_error": "is not empty"}),
        ),
        step(
            &engine,
            &full,
            serde_json::json!({"expect_error": "is not empty"}),
        ),
        step(
            &sql,
            &table,
            serde_json::json!({"overwrite": true, "expect_error": "input table"}),
        ),
        step(
            &engine,
            &d.join("out-a"),
            serde_json::json!({"svchop": d.join("no-such-svchop"), "expect_error": "no such file"}),
        ),
        step(
            &engine,
            &d.join("out-b"),
            serde_json::json!({"svchop": windows, "expect_error": "Windows (PE) build"}),
        ),
        step(
            &engine,
            &d.join("out-c"),
            serde_json::json!({"svchop": old, "expect_error": "older than svchop"}),
        ),
        step(&sql, &full2, serde_json::json!({"overwrite": true})),
    ];
    run_plan(d, &plan);
    assert_eq!(
        std::fs::read_to_string(full.join("keep.txt")).expect("kept"),
        "the analyst's notes"
    );
    assert!(
        table.join("events-00000.jsonl").exists(),
        "the input table is intact"
    );
    assert!(
        !full2.join("old.txt").exists(),
        "--overwrite replaced the folder"
    );
    assert!(!findings_in(&full2).is_empty());
    for o in ["out-a", "out-b", "out-c"] {
        assert!(!d.join(o).exists(), "{o}: nothing written by a refused job");
    }
}
