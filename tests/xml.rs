//! Windows Event XML and EvtxECmd output read as their EVTX reads: every dev-corpus EVTX rendered
//! by an independent parser (python-evtx, installed by `scripts/test.sh` into the project's venv)
//! as XML in the `wevtutil` form (no root) and the Event Viewer form (an `<Events>` root), and as
//! EvtxECmd's CSV and JSON lines (its documented columns, `scripts/interop/evtx_to_xml.py`),
//! gives the events and the findings of the EVTX.
//!
//! What python-evtx's rendering cannot carry is compared as it carries it: times to the
//! microsecond (it drops the last tick digit Windows writes), booleans as `True`/`False`, hex
//! numbers zero-padded (`0x0000000000000000` for Windows' `0x0`), and the
//! record number it writes (the logged `EventRecordID`, which the EVTX reader keeps beside the
//! file's own record number). Records python-evtx cannot render (damaged files) are left out
//! of both sides. Fails, never skips, when python-evtx is missing.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use common::{corpus, load_paths};
use std::path::{Path, PathBuf};
use svchop::detect::Detector;
use svchop::model::Event;

fn evtx_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "evtx") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&corpus(), &mut files);
    files.sort();
    files
}

/// The XML python-evtx renders of `file` in `form`, and whether it rendered every record.
fn render(file: &Path, form: &str, to: &Path) -> bool {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/interop/evtx_to_xml.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(form)
        .arg(file)
        .output()
        .expect("python3 runs (bash scripts/test.sh installs python-evtx)");
    assert!(
        out.status.success(),
        "python-evtx failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(to, &out.stdout).unwrap();
    out.stderr.is_empty()
}

/// A time in microseconds (python-evtx writes times to the microsecond, through a float: the
/// last digit may be one off).
fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    (t.timestamp_nanos_opt().unwrap_or_default() + 500).div_euclid(1000)
}

/// An event as python-evtx's XML can carry it (see the module comment), its location left out.
fn comparable(e: &Event) -> (i64, String) {
    let mut v = serde_json::to_value(e).unwrap();
    v.as_object_mut().unwrap().remove("ts");
    v.as_object_mut().unwrap().remove("extra");
    v["source"] = serde_json::json!(e.logged_record_id());
    v.as_object_mut().unwrap().remove("also_at");
    let extra: Vec<(String, String)> = e
        .extra
        .iter()
        // EvtxECmd rows also name the EVTX they were read from.
        .filter(|(k, _)| &**k != "EventRecordID" && &**k != "SourceFile")
        .map(|(k, x)| {
            let hex = x
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok());
            let x = match (&**x, hex) {
                ("True" | "False", _) => x.to_ascii_lowercase(),
                (_, Some(n)) => format!("{n:#x}"),
                (other, None) => other.to_string(),
            };
            (k.to_string(), x)
        })
        .collect();
    v["extra"] = serde_json::json!(extra);
    // A line break inside a value is CR LF in the EVTX; an XML parser (the one EvtxECmd's
    // Json.NET payload goes through) gives it as LF, as XML requires.
    (micros(e.ts), v.to_string().replace("\\r\\n", "\\n"))
}

/// Whether two comparable events agree: all but the time exactly, the time within 8 us.
fn agree(a: &(i64, String), b: &(i64, String)) -> bool {
    a.1 == b.1 && (a.0 - b.0).abs() <= 8
}

/// A finding as it reads apart from its id and evidence locations.
fn finding_shape(f: &svchop::detect::finding::Finding) -> String {
    let stages: Vec<String> = f
        .stages
        .iter()
        // Times are compared event by event, within python-evtx's precision.
        .map(|s| format!("{}:{}", s.stage.label(), s.event_id))
        .collect();
    let services: Vec<Option<&str>> = f.services.iter().map(|s| s.name.as_deref()).collect();
    format!(
        "{} {:?} {} {:?} {:?} {:?}",
        f.target_key, f.severity, f.score, services, f.tools, stages
    )
}

#[test]
fn event_xml_in_both_forms_reads_as_the_evtx() {
    let dir = tempfile::tempdir().unwrap();
    let det = Detector::builtin("default").unwrap();
    let mut compared_events = 0;
    let mut compared_findings = 0;
    for (n, file) in evtx_files().iter().enumerate() {
        let evtx = load_paths(std::slice::from_ref(file));
        for form in ["wevtutil", "events", "evtxecmd-csv", "evtxecmd-json"] {
            let xml = dir.path().join(format!("{n}-{form}"));
            let clean = render(file, form, &xml);
            let read = load_paths(std::slice::from_ref(&xml));
            // Every record python-evtx wrote is read.
            let text = std::fs::read_to_string(&xml).unwrap();
            let written = if form.starts_with("evtxecmd") {
                // One row per line: JSON lines, or CSV after its header (no value holds a
                // line break: the payload is JSON, its breaks escaped).
                text.lines().filter(|l| !l.is_empty()).count() as u64
                    - u64::from(form == "evtxecmd-csv")
            } else {
                text.matches("<Event xmlns").count() as u64
            };
            let records = |r: &svchop::ingest::IngestReport| -> u64 {
                r.files.iter().map(|f| f.records_read).sum()
            };
            assert_eq!(
                records(&read.report),
                written,
                "{} ({form})",
                file.display()
            );
            // Damaged files: python-evtx passes over records it cannot render, some silently.
            let complete = clean && written == records(&evtx.report);
            let want: Vec<(i64, String)> = evtx.events.iter().map(comparable).collect();
            let got: Vec<(i64, String)> = read.events.iter().map(comparable).collect();
            if complete {
                assert_eq!(got.len(), want.len(), "{} ({form})", file.display());
                for (g, w) in got.iter().zip(&want) {
                    let at = g.1.bytes().zip(w.1.bytes()).position(|(a, b)| a != b);
                    let near = |t: &str| {
                        at.map(|i| t[i.saturating_sub(80)..(i + 80).min(t.len())].to_string())
                    };
                    assert!(
                        agree(g, w),
                        "{} ({form}): times {} {}, text {:?} vs {:?}",
                        file.display(),
                        g.0,
                        w.0,
                        near(&g.1),
                        near(&w.1)
                    );
                }
                let shapes = |store| {
                    let mut v: Vec<String> =
                        det.scan(store, true).0.iter().map(finding_shape).collect();
                    v.sort();
                    v
                };
                let (a, b) = (shapes(&evtx.store), shapes(&read.store));
                assert_eq!(b, a, "findings of {} ({form})", file.display());
                compared_findings += a.len();
            } else {
                // What python-evtx rendered reads as the EVTX's same records.
                for g in &got {
                    assert!(
                        want.iter().any(|w| agree(g, w)),
                        "{} ({form}): {g:?}",
                        file.display()
                    );
                }
            }
            compared_events += got.len();
        }
    }
    assert!(compared_events > 3000, "{compared_events}");
    assert!(compared_findings > 10, "{compared_findings}");
}

#[test]
fn a_record_is_read_again_from_the_xml() {
    let file = corpus().join("evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx");
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("remcom.xml");
    assert!(render(&file, "events", &xml));
    let read = load_paths(std::slice::from_ref(&xml));
    assert!(read.events.len() > 10);
    for i in 0..read.store.len() {
        let e = read.store.get(i).unwrap();
        let text = svchop::store::raw::record_text(&e.source).unwrap();
        assert!(text.starts_with("<Event"), "{text}");
        assert!(text.ends_with("</Event>"), "{text}");
        let id = e.source.record_id.unwrap();
        assert!(
            text.contains(&format!("<EventRecordID>{id}</EventRecordID>")),
            "{text}"
        );
    }
}

#[test]
fn an_evtxecmd_row_is_read_again_from_the_csv() {
    let file = corpus().join("evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("remcom.csv");
    assert!(render(&file, "evtxecmd-csv", &csv));
    let read = load_paths(std::slice::from_ref(&csv));
    assert!(read.events.len() > 10);
    for i in 0..read.store.len() {
        let e = read.store.get(i).unwrap();
        let text = svchop::store::raw::record_text(&e.source).unwrap();
        let row: serde_json::Value = serde_json::from_str(&text).unwrap();
        let number = e.source.record_id.unwrap().to_string();
        assert_eq!(
            row["RecordNumber"].as_str(),
            Some(number.as_str()),
            "{text}"
        );
        assert!(
            row["Payload"]
                .as_str()
                .is_some_and(|p| p.contains("EventData"))
        );
    }
}

/// Text as Windows PowerShell 5's `>` writes it: UTF-16LE with a byte-order mark.
fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        out.extend(u.to_le_bytes());
    }
    out
}

#[test]
fn utf16_xml_and_json_read_as_their_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let evtx = corpus().join("evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx");
    let xml = dir.path().join("remcom.xml");
    assert!(render(&evtx, "wevtutil", &xml));
    let json = corpus().join("json/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json");
    for utf8 in [xml, json] {
        let wide = dir.path().join("wide.txt");
        std::fs::write(&wide, utf16le(&std::fs::read_to_string(&utf8).unwrap())).unwrap();
        let (a, b) = (
            load_paths(std::slice::from_ref(&utf8)),
            load_paths(std::slice::from_ref(&wide)),
        );
        assert!(a.events.len() > 10, "{}", utf8.display());
        let strip = |e: &Event| {
            let mut e = e.clone();
            e.source.file = "F".into();
            serde_json::to_string(&e).unwrap()
        };
        let (a_ev, b_ev): (Vec<String>, Vec<String>) = (
            a.events.iter().map(strip).collect(),
            b.events.iter().map(strip).collect(),
        );
        assert_eq!(a_ev, b_ev, "{}", utf8.display());
        assert!(b.report.files[0].format.ends_with("(utf-16)"));
        // The Raw tab reads each record again from the UTF-16 file.
        for i in (0..b.store.len()).step_by(5) {
            let want = svchop::store::raw::record_text(&a.store.get(i).unwrap().source).unwrap();
            let got = svchop::store::raw::record_text(&b.store.get(i).unwrap().source).unwrap();
            assert_eq!(got, want);
        }
    }
}
