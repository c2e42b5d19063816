//! `svchop scan --follow`: a demo collection landing host folder by host folder, then a JSON
//! lines file's second half appended; the changes printed, applied in order, give `svchop scan`
//! of the final folder (every field), and SIGINT/SIGTERM end the run with exit 0. Also the
//! live collection in process: the real corpus landing file by file, and notes following a
//! finding whose id changed.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use svchop::investigation::Options;
use svchop::live::Collection;
use svchop::live::changes::Kind;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_svchop"))
}

/// A running `scan --follow`: its standard output lines and standard error lines as they come.
struct Following {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    lines: Vec<String>,
    status_lines: usize,
}

impl Following {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(bin())
            .args([
                "scan",
                "--follow",
                "--format",
                "jsonl",
                "--settle-ms",
                "150",
            ])
            .args(extra)
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = |r: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                for l in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let out = lines(Box::new(child.stdout.take().unwrap()));
        let err = lines(Box::new(child.stderr.take().unwrap()));
        Following {
            child,
            out,
            err,
            lines: Vec::new(),
            status_lines: 0,
        }
    }

    /// Collects output until nothing has been read for `quiet` (at most `limit`).
    fn settle(&mut self, quiet: Duration, limit: Duration) {
        let start = Instant::now();
        let mut last = Instant::now();
        while last.elapsed() < quiet && start.elapsed() < limit {
            let mut any = false;
            while let Ok(l) = self.out.try_recv() {
                self.lines.push(l);
                any = true;
            }
            while let Ok(l) = self.err.try_recv() {
                if l.contains(" file(s)") {
                    self.status_lines += 1;
                }
                any = true;
            }
            if any {
                last = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self, signal: nix::sys::signal::Signal) -> (Vec<String>, i32) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
        let status = self.child.wait().unwrap();
        while let Ok(l) = self.out.recv_timeout(Duration::from_millis(200)) {
            self.lines.push(l);
        }
        (self.lines, status.code().unwrap_or(-1))
    }
}

/// The findings the change lines leave, by id (`change` and `replaces` taken off).
fn applied(lines: &[String]) -> BTreeMap<String, Value> {
    let mut live = BTreeMap::new();
    for l in lines {
        let mut v: Value = serde_json::from_str(l).unwrap();
        let m = v.as_object_mut().unwrap();
        let change = m.remove("change").unwrap();
        if let Some(Value::String(old)) = m.remove("replaces") {
            assert!(
                live.remove(&old).is_some(),
                "replaces an id not shown: {old}"
            );
        }
        let id = m["id"].as_str().unwrap().to_string();
        match change.as_str().unwrap() {
            "withdrawn" => {
                assert!(
                    live.remove(&id).is_some(),
                    "withdraws an id not shown: {id}"
                );
            }
            other => {
                assert!(matches!(other, "new" | "updated"), "change {other}");
                live.insert(id, v);
            }
        }
    }
    live
}

fn one_shot(dir: &Path) -> BTreeMap<String, Value> {
    let out = Command::new(bin())
        .args(["scan", "--format", "jsonl"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_collection_landing_host_by_host_ends_as_one_scan_of_it() {
    let work = tempfile::tempdir().unwrap();
    let demo = work.path().join("demo");
    let status = Command::new(bin())
        .args([
            "demo",
            "--headless",
            "--hosts",
            "12",
            "--days",
            "2",
            "--write",
        ])
        .arg(&demo)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let live_dir = work.path().join("live");
    std::fs::create_dir(&live_dir).unwrap();
    let mut hosts: Vec<PathBuf> = std::fs::read_dir(&demo)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    hosts.sort();
    let mut f = Following::start(&live_dir, &[]);
    // The last host's Security log lands in halves: its first lines, then the rest appended.
    let last = hosts.pop().unwrap();
    for h in &hosts {
        copy_dir(h, &live_dir.join(h.file_name().unwrap()));
        f.settle(Duration::from_millis(400), Duration::from_secs(20));
    }
    let target = live_dir.join(last.file_name().unwrap());
    std::fs::create_dir(&target).unwrap();
    let security = std::fs::read_to_string(last.join("Security.jsonl")).unwrap();
    let lines: Vec<&str> = security.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    std::fs::write(
        target.join("Security.jsonl"),
        format!("{}\n", first.join("\n")),
    )
    .unwrap();
    f.settle(Duration::from_millis(800), Duration::from_secs(20));
    let before = f.status_lines;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(target.join("Security.jsonl"))
        .unwrap();
    file.write_all(format!("{}\n", second.join("\n")).as_bytes())
        .unwrap();
    drop(file);
    for other in ["Sysmon.jsonl", "System.jsonl"] {
        if last.join(other).exists() {
            std::fs::copy(last.join(other), target.join(other)).unwrap();
        }
    }
    f.settle(Duration::from_millis(1500), Duration::from_secs(30));
    assert!(f.status_lines > before, "the appended half was read");
    let (lines, code) = f.stop(nix::sys::signal::Signal::SIGINT);
    assert_eq!(code, 0, "SIGINT ends the run cleanly");
    assert!(
        lines.iter().any(|l| l.contains("\"change\":\"updated\"")),
        "findings were updated as evidence arrived"
    );
    let live = applied(&lines);
    let want = one_shot(&live_dir);
    assert!(!want.is_empty());
    assert_eq!(
        live.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "ids"
    );
    assert_eq!(live, want, "every field of every finding");

    // SIGTERM too, with nothing read yet.
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let mut f = Following::start(&empty, &["--poll"]);
    f.settle(Duration::from_millis(500), Duration::from_secs(5));
    let (lines, code) = f.stop(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(code, 0);
    assert!(lines.is_empty());
}

#[test]
fn follow_refuses_what_it_cannot_stream() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["--format", "json"], "--format jsonl or table"),
        (vec!["--fail-on", "high"], "--fail-on"),
    ] {
        let out = Command::new(bin())
            .args(["scan", "--follow"])
            .args(&args)
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}"
        );
    }
}

/// The real corpus landing one file at a time, in a shuffled order, some files twice: after
/// every file the live findings equal a one-shot scan of the files landed so far.
#[test]
fn the_corpus_landing_file_by_file_equals_one_scan_after_each() {
    let lm = common::corpus().join("evtx-attack-samples/Lateral Movement");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&lm)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    files.sort();
    assert!(files.len() > 10);
    // A fixed shuffle: every third file first, then the others backwards.
    let mut order: Vec<PathBuf> = files.iter().step_by(3).cloned().collect();
    order.extend(
        files
            .iter()
            .rev()
            .filter(|f| !order.contains(f))
            .cloned()
            .collect::<Vec<_>>(),
    );
    order.push(order[0].clone());
    let detector = svchop::detect::Detector::builtin("default").unwrap();
    let options = || {
        Options::scan_with(
            Some(detector.clone()),
            svchop::ingest::LoadOptions {
                typed_only: true,
                ..Default::default()
            },
        )
    };
    let mut live = Collection::new(options());
    let mut so_far: Vec<PathBuf> = Vec::new();
    let mut kept_hosts = 0;
    for f in &order {
        if !so_far.contains(f) {
            so_far.push(f.clone());
        }
        let up = live.take(&[(f.clone(), true)], &|_, _| {});
        let want = svchop::investigation::Investigation::open(
            svchop::investigation::Evidence::Paths(so_far.clone()),
            &options(),
            &|_| {},
        )
        .unwrap();
        let json = |v: &[svchop::detect::finding::Finding]| serde_json::to_string(v).unwrap();
        assert_eq!(
            json(&up.investigation.findings),
            json(&want.findings),
            "after {}",
            f.display()
        );
        kept_hosts += up.hosts - up.hosts_scanned;
    }
    assert!(kept_hosts > 0, "hosts nothing reached kept their findings");
}

/// A finding whose evidence grows gets a new id: the case's note and triage follow it.
#[test]
fn notes_follow_a_finding_whose_id_changed() {
    let work = tempfile::tempdir().unwrap();
    let case = svchop::demo::generate(&svchop::demo::DemoOptions {
        hosts: 8,
        ..Default::default()
    });
    svchop::demo::write(&case, work.path()).unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for h in std::fs::read_dir(work.path()).unwrap().flatten() {
        if h.path().is_dir() {
            for f in std::fs::read_dir(h.path()).unwrap().flatten() {
                files.push(f.path());
            }
        }
    }
    files.sort();
    // The Sysmon logs land last: the findings they add stages to change id.
    let (sysmon, rest): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|p| p.to_string_lossy().contains("Sysmon"));
    let planned = |v: &[PathBuf]| v.iter().map(|p| (p.clone(), false)).collect::<Vec<_>>();
    let detector = svchop::detect::Detector::builtin("default").unwrap();
    let mut options = Options::scan_with(Some(detector), svchop::ingest::LoadOptions::default());
    options.case = Some(svchop::case::Case::new(
        "live",
        svchop::case::CaseSources::default(),
    ));
    let mut live = Collection::new(options);
    let first = live.take(&planned(&rest), &|_, _| {});
    // Notes on every finding so far.
    let ids: Vec<String> = first
        .investigation
        .findings
        .iter()
        .map(|f| f.id.clone())
        .collect();
    assert!(!ids.is_empty());
    let held = live.case_mut().unwrap();
    for id in &ids {
        held.notes.insert(id.clone(), "seen at 09:00".into());
    }
    let second = live.take(&planned(&sysmon), &|_, _| {});
    let moved: Vec<(String, String)> = second
        .changes
        .iter()
        .filter(|c| c.kind == Kind::Updated)
        .filter_map(|c| Some((c.replaces.clone()?, c.finding.id.clone())))
        .collect();
    assert!(!moved.is_empty(), "some finding grew and changed id");
    let case = live.case().unwrap();
    for (from, to) in &moved {
        assert_eq!(case.note(to), "seen at 09:00", "{from} -> {to}");
        assert_eq!(case.note(from), "");
    }
}

/// An EVTX file cut off mid-copy, then replaced by the whole copy: the second read replaces
/// what the first gave, and the findings are those of the whole file.
#[test]
fn an_evtx_replaced_by_a_newer_copy_is_read_again() {
    let src =
        common::corpus().join("evtx-attack-samples/Lateral Movement/LM_5145_Remote_FileCopy.evtx");
    let whole = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("Security.evtx");
    // The file header and the first few 64 KiB chunks only.
    std::fs::write(&copy, &whole[..4096 + 3 * 65536]).unwrap();
    let detector = svchop::detect::Detector::builtin("default").unwrap();
    let options = Options::scan_with(Some(detector), svchop::ingest::LoadOptions::default());
    let mut live = Collection::new(options.clone());
    let cut = live.take(&[(copy.clone(), true)], &|_, _| {});
    std::fs::write(&copy, &whole).unwrap();
    let full = live.take(&[(copy.clone(), true)], &|_, _| {});
    let want = svchop::investigation::Investigation::open(
        svchop::investigation::Evidence::Paths(vec![copy.clone()]),
        &options,
        &|_| {},
    )
    .unwrap();
    assert!(
        full.investigation.store.len() > cut.investigation.store.len(),
        "the whole copy has more events"
    );
    assert_eq!(full.investigation.store.len(), want.store.len());
    let json = |v: &[svchop::detect::finding::Finding]| serde_json::to_string(v).unwrap();
    assert_eq!(json(&full.investigation.findings), json(&want.findings));
    assert_eq!(
        full.investigation.report.files.len(),
        1,
        "one report for the file"
    );
}
