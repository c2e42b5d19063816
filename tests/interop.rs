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

#[test]
fn spark_job_finds_exactly_what_svchop_scan_finds() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // Inputs: the dev corpus and the demo case, each normalized into a table.
    let demo = d.join("demo-case");
    svchop()
        .args(["demo", "--write"])
        .arg(&demo)
        .args(["--hosts", "40", "--days", "3"])
        .assert()
        .success();
    let inputs = [
        ("corpus", common::corpus()),
        ("demo", demo),
        ("ties", ties_case(d)),
    ];
    for (name, src) in &inputs {
        svchop()
            .arg("normalize")
            .arg(src)
            .arg("--to")
            .arg(d.join(format!("table-{name}")))
            .assert()
            .success();
    }
    // An analyst's allow-list that suppresses one demo service: the job must mark it too.
    let allow = d.join("allow.toml");
    std::fs::write(
        &allow,
        "[[entry]]\nfield = \"service_name\"\npattern = \"RemCom*\"\nreason = \"sanctioned in this test\"\n",
    )
    .expect("write");
    let allow_arg = ["--allowlist", allow.to_str().expect("utf-8")];
    let tuned = tuned_profile(d);
    let mut plan = Vec::new();
    let mut checks = Vec::new();
    for (name, p) in PROFILES
        .iter()
        .map(|p| (*p, *p))
        .chain([("tuned", tuned.as_str())])
    {
        for with_allow in [false, true] {
            let extra: &[&str] = if with_allow { &allow_arg } else { &[] };
            let tag = format!("{name}{}", if with_allow { "-allow" } else { "" });
            let job = d.join(format!("job-{tag}.py"));
            export(p, "spark", &job, extra);
            for (name, src) in &inputs {
                let out = d.join(format!("out-{tag}-{name}"));
                plan.push(serde_json::json!({
                    "job": job,
                    "events": [d.join(format!("table-{name}"))],
                    "out": out,
                }));
                let scan = svchop()
                    .arg("scan")
                    .arg(src)
                    .args(["--profile", p, "--format", "jsonl", "--show-suppressed"])
                    .args(extra)
                    .output()
                    .expect("scan");
                let want = d.join(format!("scan-{tag}-{name}.jsonl"));
                std::fs::write(&want, &scan.stdout).expect("write");
                checks.push((format!("{tag} on {name}"), want, out));
            }
        }
    }
    let plan_file = d.join("plan.json");
    std::fs::write(&plan_file, serde_json::to_string(&plan).expect("json")).expect("write");
    run(
        std::process::Command::new("python3")
            .arg(scripts().join("run_spark_jobs.py"))
            .arg(&plan_file),
        "spark jobs",
    );
    let (total, suppressed) = compare(checks);
    assert!(total >= 20, "only {total} findings compared");
    assert!(suppressed >= 2, "the allow-list suppressed {suppressed}");
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
