//! The binary as a pipeline sees it: exit codes, output formats, stderr messages.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

mod common;

use assert_cmd::Command;
use common::{corpus, fixture};

#[allow(clippy::unwrap_used)] // Test helper outside a #[test] fn: a missing binary must fail loudly.
fn svchop() -> Command {
    Command::cargo_bin("svchop").unwrap()
}

/// Runs svchop, requires success (stderr shown if not) and gives its standard output.
fn stdout_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn lm(name: &str) -> std::path::PathBuf {
    corpus()
        .join("evtx-attack-samples/Lateral Movement")
        .join(name)
}

#[test]
fn scan_exit_codes() {
    svchop()
        .args(["scan"])
        .arg(lm("LM_REMCOM_5145_TargetHost.evtx"))
        .assert()
        .code(0);
    svchop()
        .args(["scan", "--fail-on", "high"])
        .arg(lm("LM_REMCOM_5145_TargetHost.evtx"))
        .assert()
        .code(1);
    let quiet = corpus().join("evtx-attack-samples/Command and Control/DE_RDP_Tunneling_4624.evtx");
    svchop()
        .args(["scan", "--fail-on", "medium"])
        .arg(&quiet)
        .assert()
        .code(0);
    svchop()
        .args(["scan", "--profile", "nope"])
        .arg(&quiet)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown profile"));
    svchop()
        .args(["scan", "/no/such/file.evtx"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does not exist"));
    svchop()
        .args(["scan", "--format", "yaml"])
        .arg(&quiet)
        .assert()
        .code(2);
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.evtx");
    std::fs::write(&junk, b"not a log").unwrap();
    svchop()
        .arg("scan")
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nothing could be read"));
}

/// Into a file or pipe the table is whole; on a terminal it fits the terminal's width, the id
/// and first-seen columns whole and the names cut.
#[test]
fn scan_table_is_whole_in_a_pipe_and_fits_a_terminal() {
    let text = stdout_ok(svchop().arg("scan").arg(corpus()));
    assert!(
        text.contains("WORKSTATION6.theshire.local") && text.contains("FIRST SEEN"),
        "{text}"
    );
    // A real terminal: util-linux `script` gives the command a pseudo-terminal.
    if Command::new("script").arg("--version").output().is_err() {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("svchop");
    for width in [80usize, 200] {
        let out = Command::new("script")
            .args(["-qec"])
            .arg(format!("{} scan '{}'", bin.display(), corpus().display()))
            .arg("/dev/null")
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let table: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).collect();
        assert!(table.len() > 3, "{text}");
        for line in &table {
            let n = line.trim_end_matches('\r').chars().count();
            assert!(n <= width, "{n} chars at {width}: {line}");
        }
        assert!(table[1].contains("F-"), "the id stays whole: {}", table[1]);
        if width == 200 {
            assert!(text.contains("WORKSTATION6.theshire.local"), "{text}");
        }
    }
}

#[test]
fn scan_json_has_the_documented_fields() {
    let out = svchop()
        .args(["scan", "--format", "json"])
        .arg(lm("LM_renamed_psexecsvc_5145.evtx"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v[0];
    for key in [
        "id",
        "target_host",
        "source_hosts",
        "source_ips",
        "user",
        "logon_ids",
        "first_seen",
        "last_seen",
        "severity",
        "score",
        "score_breakdown",
        "signals",
        "services",
        "processes",
        "tools",
        "stages",
        "techniques",
        "recommendation",
        "suppressed_by",
    ] {
        assert!(f.get(key).is_some(), "missing {key}");
    }
    assert_eq!(
        f["stages"][0]["evidence"]
            .as_str()
            .map(|s| s.contains("#record=")),
        Some(true)
    );
}

#[test]
fn scan_csv_parses_and_jsonl_has_one_finding_per_line() {
    let out = svchop()
        .args(["scan", "--format", "csv"])
        .arg(corpus())
        .output()
        .unwrap();
    let mut r = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(r.headers().unwrap().len(), 16);
    assert!(r.records().count() > 5);
    let out = svchop()
        .args(["scan", "--format", "jsonl"])
        .arg(corpus())
        .output()
        .unwrap();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let _: serde_json::Value = serde_json::from_str(line).unwrap();
    }
}

#[test]
fn suppressed_findings_are_listed_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let allow = dir.path().join("allow.toml");
    // A name alone never hides a remote chain: the entry vouches for who ran it too.
    std::fs::write(&allow, "[[entry]]\nfield = \"service_name\"\npattern = \"RemCom*\"\nand = [{ field = \"source_ip\", pattern = \"10.0.2.16\" }]\nreason = \"sanctioned by change CHG-1\"\n").unwrap();
    let file = lm("LM_REMCOM_5145_TargetHost.evtx");
    let out = svchop()
        .args(["scan", "--allowlist"])
        .arg(&allow)
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("3 suppressed"), "{text}");
    let out = svchop()
        .args([
            "scan",
            "--show-suppressed",
            "--format",
            "json",
            "--allowlist",
        ])
        .arg(&allow)
        .arg(&file)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v[0]["suppressed_by"]["reason"],
        "sanctioned by change CHG-1"
    );
    svchop()
        .args(["scan", "--fail-on", "low", "--allowlist"])
        .arg(&allow)
        .arg(&file)
        .assert()
        .code(0);
}

#[test]
fn sources_and_events_commands() {
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(
        svchop()
            .args(["sources", "--format", "json"])
            .arg(corpus().join("malformed")),
    ))
    .unwrap();
    let files = v["files"].as_array().unwrap();
    for f in files {
        for key in [
            "path",
            "format",
            "records_read",
            "records_kept",
            "records_skipped",
            "problems",
            "hosts",
            "first",
            "last",
        ] {
            assert!(f.get(key).is_some(), "missing {key}");
        }
    }
    let out = svchop()
        .args([
            "events",
            "--host",
            "pc01.EXAMPLE.corp",
            "--event-id",
            "5145",
            "--format",
            "jsonl",
        ])
        .arg(lm("LM_REMCOM_5145_TargetHost.evtx"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 30);
    let out = svchop()
        .args(["events"])
        .arg(fixture("ecs_winlogbeat.jsonl"))
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("PSEXESVC"));
}

#[test]
fn damaged_input_is_summarised_on_stderr() {
    svchop()
        .arg("events")
        .arg(corpus().join("malformed/sample_with_a_bad_chunk_magic.evtx"))
        .assert()
        .code(0)
        .stderr(predicates::str::contains("skipped"));
}

#[test]
fn demo_runs_and_writes() {
    let text = stdout_ok(svchop().arg("demo"));
    assert!(
        text.contains("PSEXESVC") && text.contains("BTOBTO") && text.contains("RemComSvc"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    svchop()
        .args(["demo", "--write"])
        .arg(dir.path())
        .assert()
        .code(0);
    assert!(dir.path().join("DC01/Security.jsonl").exists());
    svchop()
        .arg("scan")
        .arg(dir.path())
        .args(["--fail-on", "critical"])
        .assert()
        .code(1);
}

#[test]
fn broken_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let bin = assert_cmd::cargo::cargo_bin("svchop");
    let mut child = Std::new(bin)
        .args(["events", "--format", "jsonl"])
        .arg(corpus())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr {err}");
}

#[test]
fn export_reads_a_case_and_its_sources() {
    use svchop::case::{Case, CaseSources, persist};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.svchop-case.json");
    let src = lm("LM_REMCOM_5145_TargetHost.evtx");
    let mut case = Case::new(
        "remcom",
        CaseSources {
            paths: vec![src.display().to_string()],
            profile: "default".into(),
            allowlist_files: vec![],
            demo: None,
        },
    );
    case.case_note = "escalated to IR | ticket #42".into();
    persist::save(&path, &case).unwrap();
    let md = stdout_ok(svchop().args(["export", "--format", "md"]).arg(&path));
    assert!(
        md.contains("# svchop case: remcom") && md.contains("Critical findings (3)"),
        "{md}"
    );
    assert!(
        md.contains("escalated to IR \\| ticket \\#42"),
        "markdown-escaped note"
    );
    let out = svchop()
        .args(["export", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
    std::fs::write(&path, "{\"svchop_case\": 9}").unwrap();
    svchop()
        .arg("export")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("newer svchop"));
}

#[test]
fn case_inside_the_evidence_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("ecs_winlogbeat.jsonl"), dir.path().join("e.jsonl")).unwrap();
    svchop()
        .arg("open")
        .arg(dir.path())
        .arg("--case")
        .arg(dir.path().join("x.svchop-case.json"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("inside the evidence"));
}

#[test]
fn display_zone_option() {
    let out = svchop()
        .args(["events", "--tz", "+02:00"])
        .arg(lm("LM_Remote_Service02_7045.evtx"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("2019-03-19 02:41:29.008+02:00")
    );
    svchop()
        .args(["events", "--tz", "Mars/Olympus"])
        .arg(lm("LM_Remote_Service02_7045.evtx"))
        .assert()
        .code(2);
}

#[test]
fn timesketch_lines_have_the_required_fields() {
    let text = stdout_ok(
        svchop()
            .args(["timeline", "--format", "timesketch"])
            .arg(corpus()),
    );
    let mut n = 0;
    let mut marked = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in [
            "message",
            "datetime",
            "timestamp_desc",
            "data_type",
            "timestamp",
        ] {
            assert!(
                v.get(key).is_some_and(|x| !x.is_null()),
                "missing {key}: {line}"
            );
        }
        let dt = v["datetime"].as_str().unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(dt).expect("ISO 8601 with offset");
        assert_eq!(parsed.timestamp_micros(), v["timestamp"].as_i64().unwrap());
        if v.get("finding_id").is_some() {
            marked += 1;
            assert!(v["stage"].is_string() && v["severity"].is_string());
        }
        n += 1;
    }
    assert!(n > 4000, "every kept event of the corpus: {n}");
    assert!(marked > 50, "events of findings are marked: {marked}");
    let only = svchop()
        .args([
            "timeline",
            "--format",
            "jsonl",
            "--findings-only",
            "--host",
            "PC01",
        ])
        .arg(corpus())
        .output()
        .unwrap();
    let text = String::from_utf8(only.stdout).unwrap();
    assert!(
        text.lines().count() >= 12
            && text
                .lines()
                .all(|l| l.contains("\"finding_id\"") && l.contains("PC01"))
    );
}

#[test]
fn attack_layer_export() {
    use svchop::case::{Case, CaseSources, persist};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.svchop-case.json");
    let case = Case::new(
        "remcom",
        CaseSources {
            paths: vec![lm("LM_REMCOM_5145_TargetHost.evtx").display().to_string()],
            profile: "default".into(),
            allowlist_files: vec![],
            demo: None,
        },
    );
    persist::save(&path, &case).unwrap();
    let out = svchop()
        .args(["export", "--format", "attack-layer"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["domain"], "enterprise-attack");
    let ids: Vec<&str> = v["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["techniqueID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["T1021.002", "T1570"],
        "share and pipe stages of RemCom"
    );
    assert_eq!(v["techniques"][0]["score"], 4, "critical");
}

#[test]
fn normalize_writes_a_table_with_a_manifest_and_refuses_the_evidence_folder() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let src = common::corpus().join("json");
    for f in std::fs::read_dir(&src).unwrap().flatten().take(2) {
        std::fs::copy(f.path(), evidence.join(f.file_name())).unwrap();
    }
    let before: Vec<_> = std::fs::read_dir(&evidence)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    // Inside the evidence (a folder that does not exist yet): refused, nothing created.
    svchop()
        .arg("normalize")
        .arg(&evidence)
        .arg("--to")
        .arg(evidence.join("new/table"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("inside the evidence"));
    let after: Vec<_> = std::fs::read_dir(&evidence)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after);
    // Elsewhere: parts and a manifest; every row has the documented keys.
    let table = dir.path().join("table");
    svchop()
        .arg("normalize")
        .arg(&evidence)
        .arg("--to")
        .arg(&table)
        .assert()
        .success();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(table.join("manifest.json")).unwrap())
            .unwrap();
    let rows = manifest["rows"].as_u64().unwrap();
    assert!(rows > 100, "{manifest}");
    let text = std::fs::read_to_string(table.join("events-00000.jsonl")).unwrap();
    assert_eq!(text.lines().count() as u64, rows);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for k in [
            "ts", "ts_ns", "seq", "host_key", "event_id", "evidence", "summary",
        ] {
            assert!(!v[k].is_null(), "{k} missing in {line}");
        }
    }
    // A folder with other files in it is not overwritten.
    std::fs::create_dir_all(dir.path().join("other")).unwrap();
    std::fs::write(dir.path().join("other/keep.txt"), "x").unwrap();
    svchop()
        .arg("normalize")
        .arg(&evidence)
        .arg("--to")
        .arg(dir.path().join("other"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("holds no svchop table"));
}

#[test]
fn rules_export_takes_a_tuned_profile_file() {
    // An analyst's copy of the elastic profile with a 2-minute window and an extra service
    // exclusion: the Sigma timespan and filter follow it.
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/elastic.toml"),
    )
    .unwrap();
    let tuned = src
        .replace("name = \"elastic\"", "name = \"elastic-tuned\"")
        .replace("logon_to_install = 60", "logon_to_install = 120")
        .replace(
            "exclude_service_names = []",
            "exclude_service_names = [\"SanctionedDeploy\"]",
        );
    let path = dir.path().join("elastic-tuned.toml");
    std::fs::write(&path, tuned).unwrap();
    let text = stdout_ok(
        svchop()
            .args(["rules", "export", "--to", "sigma", "--profile"])
            .arg(&path),
    );
    assert!(text.contains("timespan: 120s"), "{text}");
    assert!(text.contains("'sanctioneddeploy'"), "{text}"); // names compare case-insensitively
    assert!(text.contains("name: svchop_elastic_tuned_remote_service_creation"));
    // The default profile has no rule form: a clear refusal, exit 2.
    svchop()
        .args(["rules", "export", "--to", "kql"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no rule form"));
}

#[test]
fn negative_offsets_are_values_not_flags() {
    // The help's own examples: `--assume-tz -04:00` and `--tz -05:00`.
    let json = corpus().join("json");
    let out = stdout_ok(
        svchop()
            .args(["scan", "--assume-tz", "-04:00", "--tz", "-05:00"])
            .arg(&json),
    );
    assert!(out.contains("finding(s)"), "{out}");
    let out = stdout_ok(svchop().args(["events", "--tz", "-05:30"]).arg(&json));
    assert!(
        out.contains("-05:30") || out.contains("-0530"),
        "times shown at the zone"
    );
    svchop()
        .args(["scan", "--assume-tz", "-25:00"])
        .arg(&json)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("offset out of range"));
}

#[test]
fn nothing_is_written_beside_an_evidence_file() {
    // `cd EVIDENCE_DIR; svchop open FILE`: the default case (and the reports beside it) would
    // land next to the evidence file; so would `normalize --to` a folder there.
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("e.jsonl");
    std::fs::copy(fixture("ecs_winlogbeat.jsonl"), &ev).unwrap();
    svchop()
        .current_dir(dir.path())
        .args(["open", "e.jsonl"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("inside the evidence"));
    svchop()
        .arg("normalize")
        .arg(&ev)
        .arg("--to")
        .arg(dir.path().join("out"))
        .assert()
        .code(2);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "only the evidence: {names:?}");
}

#[test]
fn streams_links_and_odd_inputs_are_refused_or_counted_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    std::fs::create_dir(&ev).unwrap();
    std::fs::copy(fixture("ecs_winlogbeat.jsonl"), ev.join("e.jsonl")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", ev.join("link.json")).unwrap();
    // A FIFO inside the evidence and named: never opened (it would block forever).
    let fifo = ev.join("pipe.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = stdout_ok(svchop().args(["sources", "--format", "json"]).arg(&ev));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ignored = v["ignored"].to_string();
    assert!(
        ignored.contains("link.json") && ignored.contains("a link"),
        "{ignored}"
    );
    assert!(ignored.contains("pipe.json"), "{ignored}");
    svchop()
        .arg("scan")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a regular file"));
    // A case that is a FIFO or endless device is refused before reading.
    svchop()
        .args(["export", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a case file"));
    // The workbench without a terminal says what to use instead.
    let case_dir = tempfile::tempdir().unwrap();
    svchop()
        .arg("open")
        .arg(&ev)
        .arg("--case")
        .arg(case_dir.path().join("c.svchop-case.json"))
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs a terminal"));
    // Sizes that would grow without limit are usage errors.
    svchop()
        .args(["demo", "--headless", "--hosts", "18446744073709551615"])
        .assert()
        .code(2);
}

#[test]
fn json_with_only_damaged_records_is_nothing_read_like_evtx() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.jsonl");
    std::fs::write(&f, "{\"a\": 1}\n{\"b\": \n{\"x\": tru}\n").unwrap();
    svchop()
        .arg("scan")
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nothing could be read"));
}

#[test]
fn errors_say_their_cause_once_and_escape_what_they_quote() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[entry]]\n").unwrap();
    let out = svchop()
        .arg("scan")
        .arg("--allowlist")
        .arg(&bad)
        .arg(corpus().join("json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.matches("missing field").count(), 1, "{err}");
    // A path an attacker named (escape sequence, bidi override) is shown escaped.
    let evil = dir.path().join("x\u{1b}]0;pwn\u{7}\u{202e}.evtx");
    let out = svchop().arg("scan").arg(&evil).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    assert!(err.contains("\\x1b]0;pwn"), "{err:?}");
}

#[test]
fn finding_ids_do_not_depend_on_how_the_evidence_path_is_spelled() {
    let ids = |cwd: &std::path::Path, path: &str| -> Vec<String> {
        let out = stdout_ok(svchop().current_dir(cwd).args([
            "scan",
            "--format",
            "jsonl",
            "--show-suppressed",
            path,
        ]));
        let mut v: Vec<String> = out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .collect();
        v.sort();
        v
    };
    let dev = corpus();
    let shared = dev.parent().unwrap().parent().unwrap();
    let lateral = "evtx-attack-samples/Lateral Movement";
    let a = ids(&dev, lateral);
    assert!(a.len() > 3);
    assert_eq!(a, ids(&dev.join(lateral), "."));
    assert_eq!(a, ids(shared, &format!("corpus/dev/{lateral}")));
    assert_eq!(a, ids(&dev.join("json"), &format!("../{lateral}")));
    assert_eq!(
        a,
        ids(
            std::path::Path::new("/"),
            &dev.join(lateral).display().to_string()
        )
    );
}

/// `events` and `timeline` take `--since`/`--until` (a date alone: the whole day); a time that
/// does not parse is refused with what is expected.
#[test]
fn events_and_timeline_take_a_time_range() {
    let text = stdout_ok(svchop().arg("events").arg(corpus()).args([
        "--since",
        "2019-04-30",
        "--until",
        "2019-04-30",
    ]));
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|l| l.starts_with("2019-04-30 ")), "{text}");
    let csv = stdout_ok(svchop().arg("timeline").arg(corpus()).args([
        "--format",
        "csv",
        "--since",
        "2019-04-30 20:26",
        "--until",
        "2019-04-30T20:27:00Z",
    ]));
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.contains("2019-04-30")),
        "{csv}"
    );
    svchop()
        .arg("events")
        .arg(corpus())
        .args(["--since", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not a time"));
}

/// `svchop fleet` by hand: facts of each rows file, merged, each host group scanned, ranked.
fn fleet_by_hand(
    d: &std::path::Path,
    profile: &str,
    rows: [&std::path::Path; 2],
    groups: [&std::path::Path; 2],
) -> String {
    let facts = d.join(format!("facts-{profile}"));
    std::fs::create_dir_all(&facts).expect("mkdir");
    for (i, rows) in rows.iter().enumerate() {
        svchop()
            .args(["fleet", "facts", "--profile", profile])
            .arg(rows)
            .arg("--to")
            .arg(facts.join(format!("{i}.json")))
            .assert()
            .success();
    }
    let merged = d.join(format!("merged-{profile}.json"));
    svchop()
        .args(["fleet", "merge"])
        .arg(&facts)
        .arg("--to")
        .arg(&merged)
        .assert()
        .success();
    let found = d.join(format!("found-{profile}"));
    std::fs::create_dir_all(&found).expect("mkdir");
    for (i, group) in groups.iter().enumerate() {
        let out = stdout_ok(
            svchop()
                .args(["fleet", "scan", "--profile", profile, "--show-suppressed"])
                .arg(group)
                .arg("--facts")
                .arg(&merged),
        );
        std::fs::write(found.join(format!("{i}.jsonl")), out).expect("write");
    }
    // Facts of another profile are refused by the host scan.
    svchop()
        .args(["fleet", "scan", "--profile", "sigma"])
        .arg(groups[0])
        .arg("--facts")
        .arg(&merged)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("profile"));
    stdout_ok(
        svchop()
            .args(["fleet", "rank", "--profile", profile, "--format", "jsonl"])
            .arg("--show-suppressed")
            .arg(&found),
    )
}

/// The corpus table's rows split two ways for the facts and its hosts in two groups for the
/// host scans: `svchop fleet` gives the bytes of `svchop scan`, for the default and otrf
/// profiles; facts are never written into the evidence.
#[test]
fn fleet_phases_give_the_findings_of_one_scan() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let table = d.join("table");
    svchop()
        .arg("normalize")
        .arg(corpus())
        .arg("--to")
        .arg(&table)
        .assert()
        .success();
    let rows = std::fs::read_to_string(table.join("events-00000.jsonl")).expect("rows");
    let lines: Vec<&str> = rows.lines().collect();
    let part = |name: &str, keep: &dyn Fn(usize, &str) -> bool| {
        let kept: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, l)| keep(*i, l))
            .map(|(_, l)| *l)
            .collect();
        // Evidence sits in its own folder: svchop writes nothing beside it.
        let p = d.join("in").join(name);
        std::fs::create_dir_all(d.join("in")).expect("mkdir");
        std::fs::write(&p, kept.join("\n") + "\n").expect("write");
        p
    };
    let host = |l: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(l).expect("row");
        v["host_key"].as_str().unwrap_or_default().to_string()
    };
    let mut hosts: Vec<String> = lines.iter().map(|l| host(l)).collect();
    hosts.sort();
    hosts.dedup();
    assert!(hosts.len() >= 4, "{hosts:?}");
    let half: std::collections::BTreeSet<String> = hosts.iter().step_by(2).cloned().collect();
    let rows_a = part("rows-a.jsonl", &|i, _| i % 2 == 0);
    let rows_b = part("rows-b.jsonl", &|i, _| i % 2 == 1);
    let hosts_a = part("hosts-a.jsonl", &|_, l| half.contains(&host(l)));
    let hosts_b = part("hosts-b.jsonl", &|_, l| !half.contains(&host(l)));
    for profile in ["default", "otrf"] {
        let got = fleet_by_hand(d, profile, [&rows_a, &rows_b], [&hosts_a, &hosts_b]);
        let want = stdout_ok(svchop().arg("scan").arg(corpus()).args([
            "--profile",
            profile,
            "--format",
            "jsonl",
            "--show-suppressed",
        ]));
        assert!(want.lines().count() >= 2, "{profile}: {want}");
        assert_eq!(got, want, "{profile}");
    }
    svchop()
        .args(["fleet", "facts"])
        .arg(&table)
        .arg("--to")
        .arg(table.join("facts.json"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("never writes there"));
    assert!(!table.join("facts.json").exists());
}

/// `fleet rank` given the same part twice (a retried task): each finding listed once, with a
/// warning that says so.
#[test]
fn fleet_rank_lists_a_finding_given_twice_once_and_warns() {
    let dir = tempfile::tempdir().expect("tmp");
    let part = dir.path().join("part-0.jsonl");
    let found = stdout_ok(svchop().arg("scan").arg(corpus()).args([
        "--format",
        "jsonl",
        "--show-suppressed",
    ]));
    assert!(found.lines().count() >= 2, "{found}");
    std::fs::write(&part, &found).expect("write");
    let again = dir.path().join("part-0-retry.jsonl");
    std::fs::write(&again, &found).expect("write");
    let out = svchop()
        .args(["fleet", "rank", "--format", "jsonl", "--show-suppressed"])
        .arg(&part)
        .arg(&again)
        .output()
        .expect("rank");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let ids: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["id"].to_string())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "a finding listed twice: {ids:?}");
    assert_eq!(ids.len(), found.lines().count());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("appear more than once"), "{err}");
}

/// The finding ids of JSON findings (`scan --format json`) or of a report (`export --format json`).
fn ids_of(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let list = v.get("findings").cloned().unwrap_or(v);
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let f = f.get("finding").unwrap_or(f);
            f["id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_case_made_on_the_demo_exports_that_demo_and_older_cases_the_default_one() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("demo");
    let opts = [
        "--hosts", "10", "--days", "2", "--seed", "3", "--noise", "50",
    ];
    svchop()
        .args(["demo", "--headless", "--write"])
        .arg(&written)
        .args(opts)
        .assert()
        .code(0);
    let scanned = ids_of(&stdout_ok(
        svchop()
            .args(["scan", "--format", "json", "--show-suppressed"])
            .arg(&written),
    ));
    // A case the workbench saved on `svchop demo --hosts 10 ...` records those options.
    let case = dir.path().join("d.svchop-case.json");
    std::fs::write(
        &case,
        r#"{"svchop_case":1,"name":"d","sources":{"paths":[],"profile":"default","demo":{"hosts":10,"days":2,"seed":3,"noise_per_day":50}},"updated":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let exported = ids_of(&stdout_ok(
        svchop().args(["export", "--format", "json"]).arg(&case),
    ));
    assert_eq!(exported, scanned, "the demo the case was made on");
    // Cases of earlier releases named the demo as the path `demo:` (made with the defaults).
    std::fs::write(
        &case,
        r#"{"svchop_case":1,"name":"d","sources":{"paths":["demo:"],"profile":"default"},"updated":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let legacy = ids_of(&stdout_ok(
        svchop().args(["export", "--format", "json"]).arg(&case),
    ));
    assert!(!legacy.is_empty() && legacy != scanned, "the default demo");
}

/// `svchop export` is the report the workbench's `x` writes: its Hashes section too (#29), read
/// from the stage events' every field.
#[test]
fn export_lists_the_hashes_of_the_stage_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.svchop-case.json");
    let case = svchop::case::Case::new(
        "hashes",
        svchop::case::CaseSources {
            paths: vec![corpus().display().to_string()],
            profile: "default".into(),
            allowlist_files: vec![],
            demo: None,
        },
    );
    svchop::case::persist::save(&path, &case).unwrap();
    let md = stdout_ok(svchop().args(["export", "--format", "md"]).arg(&path));
    assert!(md.contains("**Hashes**"), "{md}");
    assert!(md.contains("SHA256="), "{md}");
}

/// The workbench's allow-list decisions reach the command line (#29): a case file given to
/// `--allowlist` or to `scan --case`, and `export --format allowlist` written as a file that
/// `--allowlist` reads on any machine; each hides the findings the decision covers.
#[test]
fn a_case_allow_list_reaches_scan_three_ways() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("c.svchop-case.json");
    std::fs::write(
        &case,
        r#"{"svchop_case":1,"name":"t","sources":{"paths":[],"profile":"default"},"allowlist":[{"field":"target_host","pattern":"PC01","reason":"lab machine","added":"2026-01-01T00:00:00Z"}],"updated":"2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let src = lm("LM_REMCOM_5145_TargetHost.evtx");
    let plain = stdout_ok(svchop().args(["scan", "--format", "jsonl"]).arg(&src));
    assert_eq!(plain.lines().count(), 3, "three RemCom runs on PC01");
    let toml = dir.path().join("decisions.toml");
    svchop()
        .args(["export", "--format", "allowlist", "--output"])
        .arg(&toml)
        .arg(&case)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(
        text.contains("pattern = \"PC01\"") && text.contains("lab machine"),
        "{text}"
    );
    for args in [
        vec!["--allowlist".into(), case.clone()],
        vec!["--case".into(), case.clone()],
        vec!["--allowlist".into(), toml.clone()],
    ] {
        let out = stdout_ok(
            svchop()
                .args(["scan", "--format", "jsonl"])
                .args(&args)
                .arg(&src),
        );
        assert_eq!(out, "", "{args:?}: every finding suppressed");
        let shown = stdout_ok(
            svchop()
                .args(["scan", "--format", "jsonl", "--show-suppressed"])
                .args(&args)
                .arg(&src),
        );
        assert_eq!(shown.lines().count(), 3, "{args:?}");
        assert!(shown.contains("lab machine"), "{args:?}: {shown}");
    }
}

/// `-` reads standard input (a spool in the cache directory, removed at exit): the same findings
/// and events as the file, located at `(stdin)`.
#[test]
fn standard_input_reads_as_the_file() {
    let cache = tempfile::tempdir().unwrap();
    let files = [
        lm("LM_renamed_psexecsvc_5145.evtx"),
        corpus().join("json/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json"),
    ];
    for file in &files {
        for what in [
            &["scan", "--format", "json"][..],
            &["events", "--format", "jsonl"],
        ] {
            let direct = stdout_ok(svchop().args(what).arg(file));
            let piped = stdout_ok(
                svchop()
                    .env("XDG_CACHE_HOME", cache.path())
                    .args(what)
                    .arg("-")
                    .pipe_stdin(file)
                    .unwrap(),
            );
            assert!(direct.len() > 200, "{what:?} {}", file.display());
            let shown = file.display().to_string();
            let direct = direct
                .replace(&shown.replace('\\', "\\\\"), "(stdin)")
                .replace(&shown, "(stdin)");
            assert_eq!(direct, piped, "{what:?} {}", file.display());
        }
    }
    // The spool is gone once svchop has exited.
    let left: Vec<_> = std::fs::read_dir(cache.path().join("svchop"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// Completion scripts for every shell clap knows, and a man page with a page for each command;
/// `--color` is accepted on every command.
#[test]
fn completions_man_page_and_color() {
    for (shell, says) in [
        ("bash", "_svchop()"),
        ("zsh", "#compdef svchop"),
        ("fish", "complete -c svchop"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = stdout_ok(svchop().args(["completions", shell]));
        assert!(
            out.contains(says),
            "{shell}: {}",
            &out[..out.len().min(300)]
        );
        assert!(out.contains("follow"), "{shell} completes --follow");
    }
    let man = stdout_ok(svchop().arg("man"));
    assert!(
        man.starts_with(".ie") || man.contains(".TH svchop 1"),
        "{}",
        &man[..200]
    );
    for page in [
        "svchop-scan",
        "svchop-open",
        "svchop-export",
        "svchop-completions",
    ] {
        assert!(man.contains(&format!(".TH {page} ")), "{page}");
    }
    for color in ["auto", "always", "never"] {
        svchop()
            .args(["scan", "--color", color])
            .arg(lm("LM_REMCOM_5145_TargetHost.evtx"))
            .assert()
            .code(0);
    }
    svchop()
        .args(["scan", "--color", "sometimes"])
        .arg(lm("LM_REMCOM_5145_TargetHost.evtx"))
        .assert()
        .code(2);
}

/// A folder without one event log says which folder and what was in it (exit 2).
#[test]
fn a_folder_without_logs_is_named_with_what_it_held() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "notes, not a log").unwrap();
    let out = svchop().arg("scan").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(
        err.contains("a.txt") && err.contains("1 file(s) ignored"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let out = svchop().arg("scan").arg(empty.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no files in it"));
}

/// The config file: every command takes its profile, zone and allow-list files (a flag still
/// wins), `svchop config --print` says where each setting came from, and a bad file is exit 2
/// naming the file and the line.
#[test]
fn the_config_file_is_read_by_every_command() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("svchop");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("allow.toml"), "[[entry]]\nfield = \"service_name\"\npattern = \"RemCom*\"\nand = [{ field = \"source_ip\", pattern = \"10.0.2.16\" }]\nreason = \"sanctioned by change CHG-1\"\n").unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "# an analyst's settings\ntz = \"+02:00\"\nallowlists = [\"allow.toml\"]\n",
    )
    .unwrap();
    let file = lm("LM_REMCOM_5145_TargetHost.evtx");
    let with = |cmd: &mut Command| {
        cmd.env("XDG_CONFIG_HOME", home.path())
            .env_remove("SVCHOP_CONFIG");
    };
    let mut c = svchop();
    with(&mut c);
    let text = stdout_ok(c.args(["scan"]).arg(&file));
    assert!(
        text.contains("3 suppressed"),
        "the config's allow-list: {text}"
    );
    let mut c = svchop();
    with(&mut c);
    let text = stdout_ok(c.args(["scan", "--show-suppressed"]).arg(&file));
    assert!(text.contains("+02:00"), "the config's zone: {text}");
    let mut c = svchop();
    with(&mut c);
    let text = stdout_ok(
        c.args(["scan", "--show-suppressed", "--tz", "UTC"])
            .arg(&file),
    );
    assert!(!text.contains("+02:00"), "the flag wins: {text}");
    let mut c = svchop();
    with(&mut c);
    let text = stdout_ok(c.args(["config", "--print"]));
    assert!(
        text.contains("tz = \"+02:00\"  # config file, line 2"),
        "{text}"
    );
    assert!(
        text.contains("profile = \"default\"  # built-in default"),
        "{text}"
    );
    assert!(text.contains("allow.toml"), "{text}");
    std::fs::write(
        dir.join("config.toml"),
        "tz = \"+02:00\"\n\nprofile = \"no-such\"\n",
    )
    .unwrap();
    let mut c = svchop();
    with(&mut c);
    let out = c.args(["scan"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.toml, line 3") && err.contains("no-such"),
        "{err}"
    );
}
