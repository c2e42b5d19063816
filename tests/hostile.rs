//! Hostile event data, written by the test itself: escape sequences, C0/C1 controls, bidi
//! overrides, NUL, 1 MB values, lone surrogates, formula-looking cells. Nothing may reach a
//! terminal or an export unescaped, and nothing may crash.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

mod common;

use assert_cmd::Command;
use serde_json::json;

const EVIL: &[&str] = &[
    "\u{1b}[2J\u{1b}[31mRED",
    "\u{1b}]0;pwned title\u{7}",
    "\u{9b}31m",
    "a\u{0}b",
    "\u{202e}exe.txt",
    "\u{7f}\u{8}\u{8}",
    "=cmd|' /C calc'!A0",
    "+SUM(1)",
    "-2+3",
    "@IMPORT",
    "| pipe * star _ und [l](x) <script>",
    // Invisible and reordering characters every sink must escape (one sanitizer policy).
    "ar\u{61c}abic soft\u{ad}hy mong\u{180e}ol cgj\u{34f}",
    "line\u{2028}sep\u{2029}par",
    "tag\u{e0041}\u{e007f} hangul\u{3164}\u{115f}\u{1160}\u{ffa0}",
    "http://evil.example/x www.evil.example",
];

fn record(id: u16, channel: &str, rid: u64, data: &serde_json::Value) -> serde_json::Value {
    // Each chain ten minutes after the previous one.
    let time = format!("2024-01-01T{:02}:{:02}:00Z", 10 + (rid / 60) % 12, rid % 60);
    json!({"Event": {"System": {"EventID": id, "Channel": channel, "Computer": "WS\u{1b}[1mHOST", "EventRecordID": rid,
        "TimeCreated": {"#attributes": {"SystemTime": time}},
        "Security": {"#attributes": {"UserID": "S-1-5-21-9-9-9-1001"}}}, "EventData": data}})
}

/// A chain whose every string field is hostile, plus a 1 MB command line and damaged lines.
fn hostile_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut lines = Vec::new();
    for (i, evil) in EVIL.iter().enumerate() {
        let rid = 10 * i as u64;
        let user = format!("adm{evil}");
        lines.push(record(4624, "Security", rid, &json!({"TargetUserName": user, "TargetDomainName": evil, "TargetLogonId": format!("{:#x}", 0x1000 + i), "LogonType": "3", "IpAddress": "10.0.0.9", "WorkstationName": evil})));
        lines.push(record(4697, "Security", rid + 1, &json!({"SubjectUserName": user, "SubjectLogonId": format!("{:#x}", 0x1000 + i), "ServiceName": format!("{evil}PSEXESVC"), "ServiceFileName": format!("%COMSPEC% /c {evil}")})));
        lines.push(record(1, "Microsoft-Windows-Sysmon/Operational", rid + 2, &json!({"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": format!("cmd.exe /c {evil}"), "ParentImage": "C:\\Windows\\System32\\services.exe", "ProcessId": "100"})));
    }
    let big = "A".repeat(1 << 20);
    lines.push(record(1, "Microsoft-Windows-Sysmon/Operational", 999, &json!({"Image": "C:\\x.exe", "CommandLine": big, "ParentImage": "C:\\Windows\\System32\\services.exe"})));
    let mut text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    text.push_str("{\"Event\": {\"System\": {\"EventID\": 7045, \"Channel\": \"System\", \"Computer\": \"X\", \"TimeCreated\": {\"#attributes\": {\"SystemTime\": \"2024-01-01T10:00:00Z\"}}}, \"EventData\": {\"ServiceName\": \"\\ud800lone\"}}}\n");
    text.push_str("{\"Event\": {\"System\": \n");
    let path = dir.join("hostile.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], path: &std::path::Path) -> (String, String, i32) {
    let out = Command::cargo_bin("svchop")
        .unwrap()
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn assert_inert(text: &str, what: &str) {
    for c in text.chars() {
        assert!(
            matches!(c, '\n' | '\r' | '\t')
                || !(c.is_control()
                    || matches!(
                        c,
                        '\u{202a}'..='\u{202e}'
                            | '\u{2066}'..='\u{2069}'
                            | '\u{61c}'
                            | '\u{ad}'
                            | '\u{180e}'
                            | '\u{34f}'
                            | '\u{2028}'
                            | '\u{2029}'
                            | '\u{e0000}'..='\u{e007f}'
                            | '\u{3164}'
                            | '\u{115f}'
                            | '\u{1160}'
                            | '\u{ffa0}'
                    )),
            "{what}: raw {c:?} reached the output"
        );
    }
}

#[test]
fn terminal_outputs_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_file(dir.path());
    for args in [
        &["scan"][..],
        &["scan", "--show-suppressed", "--profile", "hunt"],
        &["events"],
        &["sources"],
        &["coverage"],
    ] {
        let (out, err, code) = run(args, &path);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_inert(&out, &format!("{args:?} stdout"));
        assert_inert(&err, &format!("{args:?} stderr"));
    }
    let (out, _, _) = run(&["events"], &path);
    assert!(out.contains("\\x1b[2J"), "escapes are visible, not dropped");
    // Into a pipe nothing is cut (tables are fitted only to a terminal: tests/cli.rs): the
    // 1 MB value is there whole, and inert (checked above).
    assert!(
        out.lines().any(|l| l.chars().count() > 500_000),
        "a 1 MB value is printed whole into a pipe"
    );
}

#[test]
fn damaged_lines_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_file(dir.path());
    let (out, _, _) = run(&["sources", "--format", "json"], &path);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = &v["files"][0];
    // The lone surrogate's record is kept (its name read with U+FFFD); the truncated line is not.
    assert_eq!(f["records_skipped"], 1, "the truncated line: {f}");
    assert_eq!(f["records_read"], EVIL.len() as u64 * 3 + 1 + 2);
}

#[test]
fn csv_cells_are_inert_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_file(dir.path());
    let (out, _, _) = run(&["scan", "--format", "csv"], &path);
    assert_inert(&out.replace('\n', ""), "csv");
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.expect("valid RFC 4180");
        for cell in &rec {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
        }
        rows += 1;
    }
    assert!(rows >= EVIL.len(), "one row per hostile chain");
    assert!(out.contains("'=cmd|"), "neutralized, not dropped");
}

#[test]
fn markdown_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_file(dir.path());
    let (out, _, _) = run(&["scan", "--format", "md"], &path);
    assert_inert(&out, "markdown");
    assert!(!out.contains("<script>"), "no raw HTML");
    assert!(!out.contains("[l](x)"), "no live links");
    assert!(
        !out.contains("http://") && !out.contains("www.evil"),
        "no autolinks"
    );
    assert!(out.contains("\\<script\\>"));
}

#[test]
fn json_outputs_escape_controls() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_file(dir.path());
    for args in [
        &["scan", "--format", "json"][..],
        &["events", "--format", "jsonl"],
    ] {
        let (out, _, code) = run(args, &path);
        assert_eq!(code, 0);
        assert_inert(&out, "json");
    }
    // Files svchop writes carry the same escapes: normalized tables.
    let out_dir = tempfile::tempdir().unwrap();
    let table = out_dir.path().join("t");
    let status = Command::cargo_bin("svchop")
        .unwrap()
        .arg("normalize")
        .arg(&path)
        .arg("--to")
        .arg(&table)
        .output()
        .unwrap();
    assert!(status.status.success());
    for f in std::fs::read_dir(&table).unwrap().flatten() {
        assert_inert(
            &std::fs::read_to_string(f.path()).unwrap(),
            "normalized table",
        );
    }
}

#[test]
fn timeline_csv_round_trips_hostile_cells_inert() {
    let dir = tempfile::tempdir().unwrap();
    let path = hostile_file(dir.path());
    let (out, _, code) = run(&["timeline", "--format", "csv"], &path);
    assert_eq!(code, 0);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(
        r.headers().unwrap().len(),
        svchop::sink::timeline::CSV_HEADER.len()
    );
    let mut rows = 0;
    let mut saw_formula = false;
    for rec in r.records() {
        let rec = rec.expect("RFC 4180");
        for cell in &rec {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
            assert_inert(cell, "timeline cell");
            saw_formula |= cell.contains("'=cmd|");
        }
        rows += 1;
    }
    // One row per event: the hostile ones and the 7045 with a lone surrogate in its name.
    assert_eq!(rows, EVIL.len() * 3 + 2, "one row per event");
    assert!(saw_formula, "hostile text kept, neutralized");
}

#[test]
fn one_damaged_array_element_costs_only_itself_and_huge_records_are_skipped() {
    // 1,002 records in one JSON array, record 2 with a damaged number: the other 1,001 are read
    // (the whole rest of the file was lost before). Then a JSON-lines file whose second line is
    // 40 MB of zero bytes (a sparse or zero-filled file): skipped and counted, not buffered.
    let dir = tempfile::tempdir().unwrap();
    let mut elems: Vec<String> = (0..1002u64)
        .map(|i| {
            record(
                4624,
                "Security",
                i,
                &json!({"LogonType": "3", "TargetLogonId": "0x1"}),
            )
            .to_string()
        })
        .collect();
    elems[1] = elems[1].replacen("\"EventID\":4624", "\"EventID\":46-24", 1);
    let array = dir.path().join("a.json");
    std::fs::write(&array, format!("[\n{}\n]\n", elems.join(",\n"))).unwrap();
    let loaded = svchop::store::load(
        &[array],
        &svchop::ingest::LoadOptions::default(),
        &|_, _| {},
    );
    let file = &loaded.report.files[0];
    assert_eq!(file.records_read, 1002);
    assert_eq!(file.records_skipped, 1, "{:?}", file.problems);
    assert_eq!(file.records_kept, 1001);
    assert!(
        file.problems.iter().any(|p| p.at == "record 2"),
        "{:?}",
        file.problems
    );

    let lines = dir.path().join("l.jsonl");
    let mut text = elems[0].clone() + "\n";
    text.push_str(&"\0".repeat(40 << 20));
    text.push('\n');
    text.push_str(&elems[2]);
    text.push('\n');
    std::fs::write(&lines, text).unwrap();
    let loaded = svchop::store::load(
        &[lines],
        &svchop::ingest::LoadOptions::default(),
        &|_, _| {},
    );
    let file = &loaded.report.files[0];
    assert_eq!(
        (file.records_read, file.records_skipped, file.records_kept),
        (3, 1, 2)
    );
    assert!(
        file.problems
            .iter()
            .any(|p| p.at == "line 2" && p.what.contains("skipped")),
        "{:?}",
        file.problems
    );
}
