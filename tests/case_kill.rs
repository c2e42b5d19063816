//! Kill svchop's case saving mid-write, 100 times: the case file must always load, with every
//! change that was reported saved. The child is this test binary re-run on an ignored test.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use svchop::case::{Case, CaseSources, persist};

const ENV: &str = "SVCHOP_CASE_KILL_PATH";

/// Child: keep saving the case with an increasing counter, reporting each completed save.
#[test]
#[ignore = "run by kill_during_save_never_loses_a_saved_change"]
fn child_save_loop() {
    let Some(path) = std::env::var_os(ENV) else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    let mut case = persist::load(&path)
        .unwrap()
        .unwrap_or_else(|| Case::new("kill", CaseSources::default()));
    let mut n: u64 = case.case_note.parse().unwrap_or(0);
    loop {
        n += 1;
        case.case_note = n.to_string();
        case.set_note(&format!("F-{n}"), &"note ".repeat(200));
        persist::save(&path, &case).unwrap();
        println!("saved {n}");
    }
}

#[test]
fn kill_during_save_never_loses_a_saved_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kill.svchop-case.json");
    let exe = std::env::current_exe().unwrap();
    let mut last_saved = 0u64;
    for i in 0..100u64 {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "child_save_loop",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it save a few times (a different number each round), then kill it mid-stream.
        let wanted = 1 + i % 7;
        let mut seen = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("saved ") {
                last_saved = n.parse().unwrap();
                seen += 1;
                if seen >= wanted {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(137 * (i % 11)));
        child.kill().unwrap();
        // Saves reported after our last read also completed; take them into account.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("saved ") {
                last_saved = n.parse().unwrap();
            }
        }
        child.wait().unwrap();
        let case = persist::load(&path)
            .expect("case file loads after a kill")
            .expect("case file exists");
        let n: u64 = case.case_note.parse().unwrap();
        assert!(
            n >= last_saved,
            "round {i}: file has change {n}, but {last_saved} was reported saved"
        );
        assert!(
            n <= last_saved + 1,
            "round {i}: at most the save in flight is extra"
        );
        last_saved = n;
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        leftovers.len() <= 2,
        "at most the case and one interrupted temporary file: {leftovers:?}"
    );
}
