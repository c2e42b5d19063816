//! Ingest against the real corpus (EVTX, Security-Datasets JSON) and against small fixtures
//! written from each product's documented schema where the corpus has no sample (ECS/winlogbeat,
//! Microsoft Sentinel SecurityEvent, Microsoft Defender advanced hunting).
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

mod common;

use common::{corpus, fixture, load_paths};
use evtx::EvtxParser;
use svchop::model::{Channel, Event, LogonId};

fn find(events: &[Event], pred: impl Fn(&Event) -> bool) -> &Event {
    events.iter().find(|e| pred(e)).expect("event present")
}

/// Counts with the evtx crate directly (its own iterator, no svchop code): (ok, errors).
fn evtx_counts(path: &std::path::Path) -> (u64, u64) {
    let mut p = EvtxParser::from_path(path).expect("opens");
    let (mut ok, mut err) = (0, 0);
    for r in p.records_json() {
        if r.is_ok() { ok += 1 } else { err += 1 }
    }
    (ok, err)
}

#[test]
fn record_counts_match_the_evtx_crate_for_every_corpus_file() {
    let loaded = load_paths(&[corpus()]);
    let mut checked = 0;
    for f in &loaded.report.files {
        if f.format != "evtx" {
            continue;
        }
        let (ok, err) = evtx_counts(std::path::Path::new(&f.path));
        assert_eq!(f.records_read, ok, "{}: records read", f.path);
        assert_eq!(f.records_skipped, err, "{}: records skipped", f.path);
        checked += 1;
    }
    assert_eq!(checked, 36, "every EVTX file of the dev corpus");
}

#[test]
fn damaged_files_are_reported_not_fatal() {
    let loaded = load_paths(&[corpus().join("malformed")]);
    let by_name = |n: &str| {
        loaded
            .report
            .files
            .iter()
            .find(|f| f.path.ends_with(n))
            .expect(n)
    };
    // Figures from the evtx crate's own tests for these samples.
    let bad_magic = by_name("sample_with_a_bad_chunk_magic.evtx");
    assert_eq!(
        (bad_magic.records_read, bad_magic.records_skipped),
        (301, 3)
    );
    assert!(
        bad_magic
            .problems
            .iter()
            .any(|p| p.at.starts_with("chunk ")),
        "{:?}",
        bad_magic.problems
    );
    let vss =
        by_name("2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx");
    assert_eq!((vss.records_read, vss.records_skipped), (1910, 4));
    let zero = by_name("sample-with-zero-data-size-event.evtx");
    assert_eq!(zero.records_read + zero.records_skipped, 450);
    assert!(
        zero.problems.iter().any(|p| p.what.contains("0x820")),
        "{:?}",
        zero.problems
    );
    assert_eq!(by_name("Application_no_crc32.evtx").records_read, 17);
    assert_eq!(by_name("2-vss_7-System.evtx").records_read, 1160);
    assert_eq!(by_name("post-Security.evtx").records_read, 126);
    // Only the detection ids are kept: the System log keeps its 19 7045s and 52 7040s (start
    // type changes name their service), not its 1160 records.
    assert_eq!(by_name("2-vss_7-System.evtx").records_kept, 71);
}

#[test]
fn evtx_security_5145_values() {
    let loaded = load_paths(&[
        corpus().join("evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx")
    ]);
    let e = find(&loaded.events, |e| {
        e.fields.share.relative_target.as_deref() == Some("svcctl")
    });
    assert_eq!(&*e.host.key, "PC01");
    assert_eq!(&*e.host.display, "PC01.example.corp");
    assert_eq!(e.channel, Channel::Security);
    assert_eq!(e.fields.logon_id, Some(LogonId(0x95c2e)));
    assert_eq!(e.fields.net.src_ip.as_deref(), Some("10.0.2.16"));
    assert_eq!(e.fields.share.share_name.as_deref(), Some("\\\\*\\IPC$"));
    assert_eq!(e.source.record_id, Some(4));
}

#[test]
fn evtx_system_7045_values() {
    let loaded = load_paths(&[
        corpus().join("evtx-attack-samples/Lateral Movement/LM_Remote_Service02_7045.evtx")
    ]);
    let e = find(&loaded.events, |e| {
        e.fields.service.name.as_deref() == Some("remotesvc")
    });
    assert_eq!(e.event_id, 7045);
    assert_eq!(e.fields.service.image_path.as_deref(), Some("calc.exe"));
    assert_eq!(e.fields.service.account.as_deref(), Some("LocalSystem"));
    assert_eq!(
        e.fields.user_sid.as_deref(),
        Some("S-1-5-21-1587066498-1489273250-1035260531-500")
    );
    assert_eq!(e.fields.exec_pid, Some(444));
    assert_eq!(e.fields.logon_id, None, "7045 carries no logon id");
}

#[test]
fn evtx_sysmon_process_values() {
    let loaded = load_paths(&[corpus().join("evtx-attack-samples/Lateral Movement/remote_file_copy_system_proc_file_write_sysmon_11.evtx")]);
    let e = find(&loaded.events, |e| e.event_id == 1);
    assert_eq!(&*e.host.key, "04246W-WIN10");
    assert_eq!(
        e.fields.process.image.as_deref(),
        Some("C:\\Windows\\PSEXESVC.exe")
    );
    assert_eq!(
        e.fields.process.parent_image.as_deref(),
        Some("C:\\Windows\\System32\\services.exe")
    );
    assert_eq!(e.fields.process.parent_pid, Some(632));
    assert_eq!(e.fields.logon_id, Some(LogonId(0x3e7)));
}

#[test]
fn mordor_json_values_and_local_time_rule() {
    let loaded =
        load_paths(&[corpus().join("json/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json")]);
    let f = &loaded.report.files[0];
    assert_eq!(f.format, "jsonl:mordor");
    assert!(
        f.naive_time_rule
            .as_deref()
            .is_some_and(|r| r.starts_with("UTC-04:00")),
        "{:?}",
        f.naive_time_rule
    );
    let e = find(&loaded.events, |e| e.event_id == 4697);
    assert_eq!(
        e.channel,
        Channel::Security,
        "the lower-case `security` channel is folded"
    );
    assert_eq!(&*e.host.key, "WORKSTATION6");
    assert_eq!(e.fields.logon_id, Some(LogonId(0x299_0d17)));
    assert_eq!(e.fields.service.name.as_deref(), Some("Updater"));
    assert_eq!(
        svchop::model::time::fmt_utc(e.ts),
        "2020-09-20T16:16:56.000000Z"
    );
    let p = find(&loaded.events, |e| {
        e.event_id == 4688
            && e.fields
                .process
                .parent_image
                .as_deref()
                .is_some_and(|p| p.ends_with("services.exe"))
    });
    assert_eq!(
        p.fields.process.parent_image.as_deref(),
        Some("C:\\Windows\\System32\\services.exe")
    );
    let nx = find(&loaded.events, |e| e.event_id == 7045);
    assert_eq!(
        nx.fields.subject.user.as_deref(),
        Some("pgustavo"),
        "NXLog's clobbered AccountName is the installer"
    );
    assert_eq!(nx.fields.service.account, None);
    assert!(nx.source.line.is_some() && nx.source.record_id.is_some());
}

#[test]
fn ecs_fixture_values() {
    // Synthetic, from the winlogbeat / Elastic Agent ECS field reference.
    let loaded = load_paths(&[fixture("ecs_winlogbeat.jsonl")]);
    assert_eq!(loaded.report.files[0].format, "jsonl:ecs");
    let l = find(&loaded.events, |e| e.event_id == 4624);
    assert_eq!(&*l.host.key, "SRV01");
    assert_eq!(l.fields.logon_id, Some(LogonId(0x5a3f1)));
    assert_eq!(l.fields.logon.logon_type, Some(3));
    assert_eq!(l.fields.logon.logon_process.as_deref(), Some("NtLmSsp"));
    let s = find(&loaded.events, |e| e.event_id == 4697);
    assert_eq!(
        s.fields.logon_id,
        Some(LogonId(0x5a3f1)),
        "winlog.logon.id fills SubjectLogonId"
    );
    assert_eq!(
        s.fields.service.image_path.as_deref(),
        Some("%SystemRoot%\\PSEXESVC.exe")
    );
    let p = find(&loaded.events, |e| {
        e.event_id == 1
            && e.fields.process.parent_image.as_deref() == Some("C:\\Windows\\PSEXESVC.exe")
    });
    assert_eq!(p.fields.process.parent_pid, Some(4410));
    let sys = find(&loaded.events, |e| e.event_id == 7045);
    assert_eq!(
        sys.fields.user_sid.as_deref(),
        Some("S-1-5-21-111-222-333-1105")
    );
}

#[test]
fn sentinel_fixture_values() {
    // Synthetic, from the SecurityEvent table schema; EventData both as XML and as message text.
    let loaded = load_paths(&[fixture("sentinel_securityevent.json")]);
    assert_eq!(loaded.report.files[0].format, "json:sentinel");
    let s = find(&loaded.events, |e| e.event_id == 4697);
    assert_eq!(&*s.host.key, "DB02");
    assert_eq!(s.fields.service.name.as_deref(), Some("BTOBTO"));
    assert_eq!(
        s.fields.logon_id,
        Some(LogonId(0x9f2c1)),
        "parsed from the message text like the KQL rule"
    );
    assert!(
        s.fields
            .service
            .image_path
            .as_deref()
            .is_some_and(|i| i.starts_with("%COMSPEC% /Q /c echo"))
    );
    let l = find(&loaded.events, |e| e.event_id == 4624);
    assert_eq!(l.fields.target.user.as_deref(), Some("svc_backup"));
    assert_eq!(l.fields.net.src_ip.as_deref(), Some("10.30.0.9"));
    let p = find(&loaded.events, |e| e.event_id == 4688);
    assert_eq!(
        p.fields.process.parent_image.as_deref(),
        Some("C:\\Windows\\System32\\services.exe")
    );
    assert_eq!(p.fields.process.pid, Some(0x1a2c));
}

#[test]
fn defender_fixture_values() {
    // Synthetic, from the DeviceProcessEvents / DeviceEvents / DeviceLogonEvents schemas.
    let loaded = load_paths(&[fixture("defender_advanced_hunting.json")]);
    let f = &loaded.report.files[0];
    assert_eq!(f.format, "json:defender");
    assert_eq!(f.records_read, 5);
    assert_eq!(f.records_kept, 4, "FileCreated is not a detection event");
    let s = find(&loaded.events, |e| e.event_id == 4697);
    assert_eq!(s.channel, Channel::Defender);
    assert_eq!(s.fields.service.name.as_deref(), Some("PAExec-4512-WS12"));
    assert_eq!(
        s.fields.logon_id,
        Some(LogonId(4711)),
        "decimal logon ids compare as numbers"
    );
    let p = find(&loaded.events, |e| {
        e.event_id == 4688
            && e.fields
                .process
                .image
                .as_deref()
                .is_some_and(|i| i.ends_with("powershell.exe"))
    });
    assert_eq!(
        p.fields.process.parent_image.as_deref(),
        Some("C:\\Windows\\PAExec-4512-WS12.exe")
    );
    assert_eq!(p.fields.process.parent_pid, Some(5120));
}

#[test]
fn every_format_feeds_the_same_detection() {
    for (name, service) in [
        ("ecs_winlogbeat.jsonl", "PSEXESVC"),
        ("sentinel_securityevent.json", "BTOBTO"),
        ("defender_advanced_hunting.json", "PAExec-4512-WS12"),
    ] {
        let findings = common::scan_paths(&[fixture(name)], "default");
        assert!(
            findings.iter().any(|f| f.service_label().contains(service)
                && f.severity >= svchop::detect::Severity::High),
            "{name}: {:?}",
            findings
                .iter()
                .map(|f| (f.service_label(), f.score))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn truncated_and_unknown_json_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("ecs_winlogbeat.jsonl")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    let cut = &lines[2][..lines[2].len() / 2];
    lines[2] = cut;
    lines.push("{\"hello\": \"world\"}");
    let path = dir.path().join("damaged.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let loaded = load_paths(&[path]);
    let f = &loaded.report.files[0];
    assert_eq!(f.records_read, 7);
    assert_eq!(f.records_skipped, 2, "{:?}", f.problems);
    assert!(
        f.problems
            .iter()
            .any(|p| p.at == "line 3" && p.what.contains("damaged JSON"))
    );
    assert!(f.problems.iter().any(|p| p.what.contains("unknown shape")));
    assert_eq!(loaded.events.len(), 5);

    let arr = dir.path().join("truncated.json");
    let text = std::fs::read_to_string(fixture("defender_advanced_hunting.json")).unwrap();
    std::fs::write(&arr, &text[..text.len() * 2 / 3]).unwrap();
    let loaded = load_paths(&[arr]);
    assert!(
        loaded.report.files[0].records_kept >= 2,
        "records before the damage are kept"
    );
    assert!(!loaded.report.files[0].problems.is_empty());
}

#[test]
fn not_evidence_files_are_named_or_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    let named = load_paths(std::slice::from_ref(&txt));
    assert_eq!(named.report.files[0].format, "unknown");
    assert!(!named.report.files[0].problems.is_empty());
    let walked = load_paths(&[dir.path().to_path_buf()]);
    assert!(walked.report.files.is_empty());
    assert_eq!(walked.ignored.len(), 1);
}

#[test]
fn the_same_record_in_several_files_counts_once() {
    let src = corpus().join("evtx-attack-samples/Lateral Movement/LM_renamed_psexecsvc_5145.evtx");
    let dir = tempfile::tempdir().unwrap();
    // A VSS-style copy, and a re-export of the same records as evtx_dump JSON lines.
    let copy = dir.path().join("vss_copy.evtx");
    std::fs::copy(&src, &copy).unwrap();
    let mut p = EvtxParser::from_path(&src).unwrap();
    let lines: Vec<String> = p
        .records_json_value()
        .map(|r| r.unwrap().data.to_string())
        .collect();
    let export = dir.path().join("reexport.jsonl");
    std::fs::write(&export, lines.join("\n")).unwrap();
    let once = load_paths(std::slice::from_ref(&src));
    let thrice = load_paths(&[src.clone(), copy, export]);
    assert_eq!(thrice.events.len(), once.events.len(), "copies count once");
    assert_eq!(
        thrice.report.duplicates_merged,
        2 * once.events.len() as u64
    );
    assert!(
        thrice.events.iter().all(|e| e.also_at.len() == 2),
        "every location kept"
    );
    let a = common::scan_paths(std::slice::from_ref(&src), "default");
    let b = common::scan_paths(&[src, dir.path().to_path_buf()], "default");
    let scores = |v: &[svchop::detect::finding::Finding]| {
        v.iter()
            .map(|f| (f.target_key.clone(), f.score, f.stages.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(scores(&a), scores(&b), "duplicates change no finding");
}

/// The first part the workbench shows early: about an eighth of the bytes, whole folders (hosts)
/// where there are folders, the byte share in a flat folder, nothing when small.
#[test]
fn first_part_takes_an_eighth_in_whole_folders() {
    use svchop::ingest::{first_part, plan};
    let write = |dir: &std::path::Path, name: &str| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), vec![b'{'; 1000]).unwrap();
    };
    let hosts = tempfile::tempdir().unwrap();
    for h in 0..8 {
        for f in ["Security.json", "Sysmon.json", "System.json"] {
            write(&hosts.path().join(format!("HOST{h}")), f);
        }
    }
    let files = plan(&[hosts.path().to_path_buf()]);
    assert_eq!(files.len(), 24);
    // 24 files of 1000 bytes: an eighth is 3 files, which is exactly the first host.
    assert_eq!(first_part(&files, 1), 3);
    assert_eq!(first_part(&files, 24_001), 0, "under the threshold: one go");

    let flat = tempfile::tempdir().unwrap();
    for i in 0..16 {
        write(flat.path(), &format!("host{i:02}-Security.json"));
    }
    let files = plan(&[flat.path().to_path_buf()]);
    assert_eq!(
        first_part(&files, 1),
        2,
        "flat folder: the byte share alone"
    );

    let uneven = tempfile::tempdir().unwrap();
    write(&uneven.path().join("A"), "a.json");
    for i in 0..9 {
        write(&uneven.path().join("B"), &format!("b{i}.json"));
    }
    let files = plan(&[uneven.path().to_path_buf()]);
    // Host A alone is 1/10 of the bytes (< 1/8): the first part takes one B file, as B whole
    // would be most of the evidence.
    assert_eq!(first_part(&files, 1), 2);
}

#[test]
fn a_cut_or_damaged_evtx_counts_what_it_loses_in_records() {
    // A copy of a one-chunk log (30 records) cut inside its chunk, and one byte short: the
    // parser passes a cut chunk over without a word; svchop says which chunk and how many records.
    let src = common::corpus()
        .join("evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx");
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for cut in [bytes.len() - 1, 4096 + 30_000] {
        let f = dir.path().join(format!("cut-{cut}.evtx"));
        std::fs::write(&f, &bytes[..cut]).unwrap();
        let loaded = svchop::store::load(&[f], &svchop::ingest::LoadOptions::default(), &|_, _| {});
        let file = &loaded.report.files[0];
        assert!(
            file.problems.iter().any(|p| p.at == "chunk 0"
                && p.what.contains("cut inside chunk 0")
                && p.what.contains("30 record(s)")),
            "{:?}",
            file.problems
        );
        assert!(
            file.records_skipped >= 30,
            "counted in records: {}",
            file.records_skipped
        );
    }
}

#[test]
fn winlogbeat6_fixture_values() {
    // Synthetic, in the winlogbeat 6.x layout HELK and early Security-Datasets ship:
    // `event_data.*`, `computer_name`, `event_id`, `log_name`, `record_number`, `beat.*`.
    let loaded = load_paths(&[fixture("winlogbeat6_helk.jsonl")]);
    assert_eq!(loaded.report.files[0].format, "jsonl:winlogbeat6");
    let l = find(&loaded.events, |e| e.event_id == 4624);
    assert!(l.host.key.eq_ignore_ascii_case("HR001"), "{:?}", l.host);
    assert_eq!(l.channel, svchop::model::Channel::Security);
    assert_eq!(l.fields.logon_id, Some(LogonId(0x7a_1c3f)));
    assert_eq!(l.fields.logon.logon_type, Some(3));
    assert_eq!(l.fields.net.src_ip.as_deref(), Some("10.0.10.105"));
    assert_eq!(l.source.record_id, Some(81234));
    let s = find(&loaded.events, |e| e.event_id == 7045);
    assert_eq!(s.channel, svchop::model::Channel::System);
    assert_eq!(
        s.fields.service.name.as_deref(),
        Some("QWERTYUIOPASDFGHJKLX")
    );
    assert_eq!(s.fields.user_sid.as_deref(), Some("S-1-5-21-1-2-3-1104"));
    let p = find(&loaded.events, |e| e.event_id == 1);
    assert_eq!(p.channel, svchop::model::Channel::Sysmon);
    assert_eq!(p.fields.process.parent_pid, Some(588));
    // The chain engine reads it like any other shape: Invoke-SMBExec named.
    let findings = common::scan_paths(&[fixture("winlogbeat6_helk.jsonl")], "default");
    let f = findings
        .iter()
        .find(|f| f.tools.iter().any(|t| t == "Empire Invoke-SMBExec"))
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(f.severity >= svchop::detect::Severity::Medium);
}

/// A service name ending in an unpaired UTF-16 surrogate (Windows accepts it): the record is
/// kept, the surrogate read as U+FFFD, in JSON (`\ud800` as exporters write it) and in EVTX.
#[test]
fn a_lone_surrogate_is_read_as_a_replacement_character_and_the_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    let line = |rec: u32, name: &str| {
        format!(
            "{{\"Event\":{{\"System\":{{\"Provider\":{{\"#attributes\":{{\"Name\":\"Service Control Manager\"}}}},\"EventID\":7045,\"EventRecordID\":{rec},\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":\"2024-01-01T10:00:0{rec}.000000Z\"}}}},\"Channel\":\"System\",\"Computer\":\"srv9.corp.local\"}},\"EventData\":{{\"ServiceName\":\"{name}\",\"ImagePath\":\"C:\\\\Windows\\\\x{rec}.exe\",\"ServiceType\":\"user mode service\",\"StartType\":\"demand start\",\"AccountName\":\"LocalSystem\"}}}}}}"
        )
    };
    let text = [
        line(1, "svc\\ud800"),
        line(2, "\\udc00svc"),
        line(3, "pair\\ud83d\\ude00"),
        line(4, "slash\\\\ud800"),
    ]
    .join("\n");
    let json = dir.path().join("System.jsonl");
    std::fs::write(&json, text).unwrap();
    let loaded = load_paths(&[json]);
    let f = &loaded.report.files[0];
    assert_eq!(f.records_skipped, 0, "{:?}", f.problems);
    let mut names: Vec<String> = loaded
        .events
        .iter()
        .filter_map(|e| e.fields.service.name.as_deref().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "pair\u{1F600}",
            "slash\\ud800",
            "svc\u{FFFD}",
            "\u{FFFD}svc"
        ]
    );

    // The corpus's 7045 of `remotesvc` with its last character made a lone high surrogate.
    let src = corpus().join("evtx-attack-samples/Lateral Movement/LM_Remote_Service02_7045.evtx");
    let mut bytes = std::fs::read(src).unwrap();
    let name: Vec<u8> = "remotesvc"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let at = bytes
        .windows(name.len())
        .position(|w| w == name.as_slice())
        .expect("the name in the file");
    bytes[at + name.len() - 2..at + name.len()].copy_from_slice(&0xD800u16.to_le_bytes());
    let evtx = dir.path().join("System.evtx");
    std::fs::write(&evtx, bytes).unwrap();
    let loaded = load_paths(&[evtx]);
    assert_eq!(loaded.report.records_skipped(), 0);
    let e = find(&loaded.events, |e| {
        e.fields.service.name.as_deref() == Some("remotesv\u{FFFD}")
    });
    assert_eq!(e.event_id, 7045);
}
