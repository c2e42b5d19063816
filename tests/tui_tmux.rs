//! Drives the real binary in tmux (send-keys, capture-pane) on the shared corpus: open, read the
//! top target's timeline, find a host, pivot on the account, allow-list its service and see the
//! finding suppressed, mark a triage step, write a note, quit, reopen and see it all restored,
//! export the case notes and check the file. Skipped (with a message) when tmux is missing;
//! `scripts/test.sh` installs it.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Tests in this binary run in parallel: each session gets its own tmux server.
static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct Tmux {
    socket: String,
    session: &'static str,
}

impl Tmux {
    fn start(cmd: &str, w: u16, h: u16) -> Tmux {
        let t = Tmux {
            socket: format!(
                "svchop-e2e-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            session: "e2e",
        };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "new-session",
                "-d",
                "-s",
                t.session,
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
                cmd,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux session starts");
        t
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", self.session, k])
                .status()
                .unwrap();
        }
    }

    fn literal(&self, text: &str) {
        Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "send-keys",
                "-l",
                "-t",
                self.session,
                text,
            ])
            .status()
            .unwrap();
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (bounded) until the screen shows `text`; the screen on failure.
    fn wait_for(&self, text: &str) -> String {
        self.wait_for_any(&[text])
    }

    /// Waits (bounded) until the screen shows one of `texts`.
    fn wait_for_any(&self, texts: &[&str]) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if texts.iter().any(|t| s.contains(t)) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for one of {texts:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (bounded) until the screen no longer shows `text`.
    fn wait_without(&self, text: &str) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if !s.contains(text) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {text:?} to go; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_gone(&self) {
        let end = Instant::now() + Duration::from_secs(10);
        while Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", self.session])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < end, "svchop did not quit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Whether tmux is here; says on stderr that the test is skipped when it is not.
fn have_tmux() -> bool {
    let here = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        eprintln!(
            "tmux not installed: skipping the tmux end-to-end test (scripts/test.sh installs it)"
        );
    }
    here
}

fn open_cmd(case: &Path) -> String {
    let bin = assert_cmd::cargo::cargo_bin("svchop");
    format!(
        "{} open '{}' --case '{}'",
        bin.display(),
        common::corpus().display(),
        case.display()
    )
}

#[test]
fn workbench_end_to_end_in_tmux() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("e2e.svchop-case.json");
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let _ = std::fs::remove_file(&case);
        session(&case, w, h);
    }
}

/// The width is used: at 200 columns whole host names with LAST SEEN beside them and every hint;
/// at 80 the status line still keeps `q quit`.
fn check_widths(s: &str, w: u16) {
    if w >= 200 {
        assert!(
            s.contains("04246w-win10.threebeesco.com") && s.contains("LAST SEEN"),
            "{s}"
        );
        assert!(s.contains("x export") && s.contains("q quit"), "{s}");
    } else {
        assert!(
            s.contains("q quit"),
            "the status line keeps q quit at {w}: {s}"
        );
    }
}

fn session(case: &Path, w: u16, h: u16) {
    let t = Tmux::start(&open_cmd(case), w, h);
    t.wait_for("finding(s) loaded");
    check_widths(&t.wait_for("CRIT"), w);
    t.keys(&["Enter"]);
    // The tab bar always says "Timeline": wait for the chain's stages themselves.
    t.wait_for_any(&["INSTALL", "PIPE", "EXEC"]);
    t.keys(&["C-p"]);
    t.literal("PC01");
    t.wait_for("> PC01");
    t.keys(&["Enter"]);
    t.wait_for("PC01.example.corp CRIT");
    search_jump_mark_copy(&t);
    inspector_pivot_filter(&t);
    triage_and_notes(&t);
    // Allow-listed last: the host, now covered whole, leaves Targets at once.
    t.keys(&["a"]);
    t.wait_for("Allow-list the selected finding");
    t.literal("sanctioned e2e lab");
    t.keys(&["Enter"]);
    t.wait_for("allow-listed service_name = RemComSvc");
    t.keys(&["q"]);
    t.wait_gone();
    let saved = std::fs::read_to_string(case).unwrap();
    assert!(
        saved.contains("sanctioned e2e lab")
            && saved.contains("e2e note: RemCom from 10.0.2.16")
            && saved.contains("line 1 of step note\\nline 2 of step note")
            && saved.contains("\"marks\"")
            && saved.contains("\"done\""),
        "{saved}"
    );
    reopen(case, w, h);
}

/// On the timeline of PC01's chain: search (every event of the host around the chain), the next
/// match, a jump to a time, a mark and a copy of the row.
fn search_jump_mark_copy(t: &Tmux) {
    // Search in the timeline (every event of the host around the chain), the next match, a
    // jump to a time, a mark and a copy of the row.
    t.keys(&["t", "/"]);
    t.wait_for("Search the pane");
    t.literal("remcomsvc");
    t.keys(&["Enter"]);
    t.wait_for("/remcomsvc: row");
    t.keys(&["n"]);
    t.wait_for("/remcomsvc: row");
    t.keys(&[":"]);
    t.wait_for("Jump to a time");
    t.literal("17:55");
    t.keys(&["Enter"]);
    t.wait_for("at the first row at or after");
    t.keys(&["m"]);
    t.wait_for("1 marked");
    t.keys(&["y"]);
    t.wait_for_any(&["copied", "copy failed"]);
    t.keys(&["t"]);
}

/// The Inspector, a pivot from it, a finding opened from the pivot, back twice; a filter.
fn inspector_pivot_filter(t: &Tmux) {
    t.keys(&["Enter"]);
    t.wait_for("1 Detail");
    t.keys(&["u"]);
    t.wait_for("Pivot: user=PC01\\IEUser");
    t.keys(&["j", "Enter"]);
    t.wait_without("Pivot: user=");
    t.keys(&["Escape"]);
    t.wait_for("Pivot: user=PC01\\IEUser");
    t.keys(&["Escape"]);
    t.wait_without("Pivot: user=");
    // Filter to High and above, then clear it with one key.
    t.keys(&["f"]);
    t.wait_for("Filter (enter applies");
    t.literal("sev:high");
    t.keys(&["Enter"]);
    t.wait_for("filter: sev:high");
    t.keys(&["F"]);
    t.wait_for("filter cleared");
}

/// A triage step marked done, a two-line step note, the finding's note from the Notes tab.
fn triage_and_notes(t: &Tmux) {
    t.keys(&["4"]);
    t.wait_for("Triage 0/15");
    // The last step, in view with the header, and marked where the analyst sees it.
    t.keys(&["G"]);
    let s = t.wait_for("Routine administration or a deployment tool");
    assert!(s.contains("Triage 0/15"), "{s}");
    t.keys(&["Space"]);
    t.wait_for("Triage 1/15");
    // A step note of two lines: Enter is a new line, and no key typed reaches the view.
    t.keys(&["e"]);
    t.wait_for("Edit note for step");
    t.literal("line 1 of step note");
    t.keys(&["Enter"]);
    t.literal("line 2 of step note");
    t.keys(&["C-s"]);
    let s = t.wait_for("note saved");
    assert!(
        !s.contains("Pivot:") && s.contains("line 2 of step note"),
        "{s}"
    );
    // The finding's note, from the Notes tab, which lists the marked event.
    t.keys(&["5"]);
    t.wait_for("Marked events: 1");
    t.keys(&["e"]);
    t.wait_for("Edit note for F-");
    // Cursor edits: typed at the end, then at the start of the line.
    t.literal("RemCom from 10.0.2.16");
    t.keys(&["Home"]);
    t.literal("e2e note: ");
    t.wait_for("e2e note: RemCom from 10.0.2.16");
    t.keys(&["C-s"]);
    t.wait_for("note saved");
}

/// Reopened: everything restored, then exported.
fn reopen(case: &Path, w: u16, h: u16) {
    let t = Tmux::start(&open_cmd(case), w, h);
    t.wait_for("finding(s) loaded");
    // PC01 is fully allow-listed now: hidden from Targets until `S` shows suppressed findings.
    t.wait_for("allow-listed hidden, S shows");
    t.keys(&["S"]);
    t.wait_for("+suppressed");
    t.keys(&["C-p"]);
    t.literal("PC01");
    t.wait_for("> PC01");
    t.keys(&["Enter"]);
    t.wait_for("SUPPRESSED");
    t.keys(&["4"]);
    t.wait_for("Triage 1/15");
    t.keys(&["5"]);
    t.wait_for("e2e note: RemCom from 10.0.2.16");
    t.wait_for("Marked events: 1");
    t.keys(&["x"]);
    t.wait_for("exported");
    t.keys(&["q"]);
    t.wait_gone();
    let report = case.with_file_name("e2e-report.md");
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.contains("e2e note: RemCom from 10.0.2.16"), "{md}");
    // The finding is allow-listed: the Markdown lists it in the appendix, with its marked
    // event; the JSON report carries its triage, step notes and marked event whole.
    assert!(md.contains("**Marked events of F-"), "{md}");
    let json = std::fs::read_to_string(case.with_file_name("e2e-report.json")).unwrap();
    assert!(json.contains("line 2 of step note"), "{json}");
    assert!(
        json.contains("\"marks\"") && json.contains("#record="),
        "{json}"
    );
    assert!(md.contains("sanctioned e2e lab") && md.contains("Allow-list decisions"));
    assert!(md.contains("# svchop case"));
}

/// `svchop open --findings`: findings made elsewhere (here `svchop scan --format jsonl`, the
/// schema the Spark job writes) open for triage, first alone (stages shown from the findings,
/// marked not loaded), then with the evidence (stages tied to their events).
#[test]
fn workbench_opens_imported_findings_in_tmux() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("findings.jsonl");
    let out = Command::new(assert_cmd::cargo::cargo_bin("svchop"))
        .arg("scan")
        .arg(common::corpus())
        .args(["--format", "jsonl", "--show-suppressed"])
        .output()
        .unwrap();
    std::fs::write(&findings, &out.stdout).unwrap();
    let n = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let bin = assert_cmd::cargo::cargo_bin("svchop");
    // The case goes elsewhere: nothing is written beside what svchop reads.
    let case_dir = tempfile::tempdir().unwrap();
    let case = case_dir.path().join("imported.svchop-case.json");
    let alone = format!(
        "{} open --findings '{}' --case '{}'",
        bin.display(),
        findings.display(),
        case.display()
    );
    let t = Tmux::start(&alone, 80, 24);
    t.wait_for(&format!("{n} finding(s) loaded"));
    t.keys(&["Enter"]);
    let s = t.wait_for("[not loaded]");
    assert!(s.contains("CRIT"), "{s}");
    t.keys(&["q"]);
    t.wait_gone();
    let with = format!(
        "{} open --findings '{}' '{}' --case '{}'",
        bin.display(),
        findings.display(),
        common::corpus().display(),
        case.display()
    );
    let t = Tmux::start(&with, 200, 60);
    let s = t.wait_for(&format!("{n} finding(s) loaded; ? for help"));
    assert!(!s.contains("without their event"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("INSTALL");
    assert!(!s.contains("[not loaded]"), "{s}");
    t.keys(&["q"]);
    t.wait_gone();
}

/// ctrl-z hands the terminal back to the shell (job stopped), `fg` brings the workbench back
/// drawn; ctrl-c quits, while loading too.
#[test]
fn ctrl_z_suspends_and_ctrl_c_quits() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("z.svchop-case.json");
    let t = Tmux::start("bash --norc --noprofile", 100, 30);
    t.literal(&open_cmd(&case));
    t.keys(&["Enter"]);
    t.wait_for("finding(s) loaded");
    t.keys(&["C-z"]);
    t.wait_for("Stopped");
    t.literal("fg");
    t.keys(&["Enter"]);
    t.wait_for("Targets (");
    t.keys(&["C-c"]);
    t.wait_for("no changes");
}

/// Evidence where nothing can be read: the workbench says so, and after `q` the command exits 2
/// as README promises (scripts test the exit code).
#[test]
fn open_on_nothing_readable_exits_2() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    std::fs::write(ev.join("Security.evtx"), b"not an event log at all").unwrap();
    let case = dir.path().join("n.svchop-case.json");
    let bin = assert_cmd::cargo::cargo_bin("svchop");
    let t = Tmux::start("bash --norc --noprofile", 100, 30);
    t.literal(&format!(
        "{} open '{}' --case '{}'; echo \"rc=[$?]\"",
        bin.display(),
        ev.display(),
        case.display()
    ));
    t.keys(&["Enter"]);
    // The folder holds no file svchop reads: it is named with what was in it.
    t.wait_for_any(&["nothing could be read", "no event log in"]);
    t.keys(&["q"]);
    // The typed line holds `rc=[$?]`, never a digit there: wait for the printed code.
    let s = t.wait_for_any(&["rc=[0]", "rc=[1]", "rc=[2]"]);
    assert!(s.contains("rc=[2]"), "exit code 2 expected:\n{s}");
}

/// `open --follow` at 80x24 and 200x60: the workbench waits on an empty folder, a host folder
/// landing shows its findings, a later one marks new and changed findings (`*`), the status
/// line says what was read, a note written before the update is still there after it, and
/// quitting keeps the case.
#[test]
fn workbench_follows_a_collection_as_it_lands() {
    if !have_tmux() {
        return;
    }
    for (w, h) in [(80, 24), (200, 60)] {
        let dir = tempfile::tempdir().unwrap();
        let demo = dir.path().join("demo");
        let status = Command::new(assert_cmd::cargo::cargo_bin("svchop"))
            .args(["demo", "--headless", "--hosts", "12", "--write"])
            .arg(&demo)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let live = dir.path().join("live");
        std::fs::create_dir(&live).unwrap();
        let case = dir.path().join("f.svchop-case.json");
        let bin = assert_cmd::cargo::cargo_bin("svchop");
        let t = Tmux::start(
            &format!(
                "{} open --follow --settle-ms 100 '{}' --case '{}'",
                bin.display(),
                live.display(),
                case.display()
            ),
            w,
            h,
        );
        t.wait_for("nothing to read yet");
        let land = |name: &str| {
            let to = live.join(name);
            std::fs::create_dir(&to).unwrap();
            for f in std::fs::read_dir(demo.join(name)).unwrap().flatten() {
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        };
        land("FS01");
        // Its three logs may be read in one update or several, as they settle.
        let s = t.wait_for("fs01");
        assert!(s.contains("following: ") && s.contains("q quit"), "{s}");
        std::thread::sleep(Duration::from_millis(1500));
        // A note on the top finding, then more evidence: the note stays, new findings are marked.
        t.keys(&["Enter", "e"]);
        t.literal("seen before the rest landed");
        t.keys(&["C-s"]);
        t.wait_for("saved");
        t.keys(&["Escape", "Escape"]);
        land("WS04");
        land("ADMIN01");
        let s = t.wait_for("new/changed");
        assert!(s.contains("q quit"), "{s}");
        assert!(s.contains('*'), "{s}");
        t.keys(&["q"]);
        t.wait_gone();
        let saved = std::fs::read_to_string(&case).unwrap();
        assert!(saved.contains("seen before the rest landed"), "{saved}");
    }
}

/// The mouse at 200x60: a click on a host selects it (its chain in the Timeline), the wheel over
/// the Timeline moves there; with `mouse = false` in the config file a click does nothing.
#[test]
fn mouse_clicks_select_and_the_config_can_turn_it_off() {
    if !have_tmux() {
        return;
    }
    for mouse in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, format!("mouse = {mouse}\n")).unwrap();
        let case = dir.path().join("m.svchop-case.json");
        let t = Tmux::start(
            &format!(
                "env SVCHOP_CONFIG='{}' {}",
                config.display(),
                open_cmd(&case)
            ),
            200,
            60,
        );
        let s = t.wait_for("finding(s) loaded");
        let y = s
            .lines()
            .position(|l| l.contains("PC01.example.corp"))
            .expect("PC01 listed");
        // SGR mouse report of a left click at column 5, row y (1-based).
        t.literal(&format!("\x1b[<0;5;{}M", y + 1));
        if mouse {
            t.wait_for("Timeline 2019-02-16Z PC01");
            // Three rows down: the fourth row's event (the svcctl pipe) in the Inspector below.
            t.literal("\x1b[<65;120;10M");
            let end = Instant::now() + Duration::from_secs(30);
            while !t.screen().lines().skip(34).any(|l| l.contains("svcctl")) {
                assert!(Instant::now() < end, "wheel: {}", t.screen());
                std::thread::sleep(Duration::from_millis(50));
            }
        } else {
            std::thread::sleep(Duration::from_millis(500));
            let s = t.screen();
            assert!(!s.contains("Timeline 2019-02-16Z PC01"), "{s}");
        }
        t.keys(&["q"]);
        t.wait_gone();
    }
}
