//! `svchop coverage` names the missing sources per host, checked against what each corpus file
//! holds.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly; clippy.toml only covers #[test] fns.

mod common;

use svchop::detect::Stage;
use svchop::detect::coverage::{HostCoverage, coverage};

fn cov_of(rel: &str) -> Vec<HostCoverage> {
    let loaded = common::load_paths(&[common::corpus().join(rel)]);
    coverage(&loaded.report.files)
}

fn blind(c: &HostCoverage) -> Vec<Stage> {
    c.blind.iter().map(|b| b.stage).collect()
}

#[test]
fn security_share_audit_only() {
    let c = cov_of("evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].host, "PC01");
    assert_eq!(c[0].channels.len(), 1);
    assert_eq!(c[0].channels[0].event_ids, vec![(5145, 30)]);
    assert_eq!(
        blind(&c[0]),
        vec![
            Stage::Logon,
            Stage::Install,
            Stage::Exec,
            Stage::Cleanup,
            Stage::Source
        ]
    );
}

#[test]
fn system_only_7045() {
    let c = cov_of("evtx-attack-samples/Lateral Movement/LM_Remote_Service02_7045.evtx");
    assert_eq!(
        blind(&c[0]),
        vec![
            Stage::Logon,
            Stage::Share,
            Stage::Pipe,
            Stage::Exec,
            Stage::Cleanup,
            Stage::Source
        ]
    );
    assert!(c[0].notes.iter().any(|n| n.contains("no 4697")));
}

#[test]
fn sysmon_only_host_sees_pipes_but_not_logons() {
    let c = cov_of("evtx-attack-samples/Lateral Movement/LM_sysmon_psexec_smb_meterpreter.evtx");
    let b = blind(&c[0]);
    assert!(b.contains(&Stage::Logon), "no Security log");
    assert!(
        !b.contains(&Stage::Pipe) && !b.contains(&Stage::Install) && !b.contains(&Stage::Exec),
        "{b:?}"
    );
    assert!(
        b.contains(&Stage::Share),
        "no 5140/5145 and no Sysmon 11 in this file"
    );
}

#[test]
fn channels_the_detections_drop_still_count() {
    // Only 4907/4624/... in a Security log: the log is present, so the report says what it lacks.
    let c = cov_of("malformed/Security_with_size_t.evtx");
    let host = c
        .iter()
        .find(|h| {
            h.channels
                .iter()
                .any(|ch| ch.event_ids.iter().any(|(id, _)| *id == 4907))
        })
        .expect("host with 4907");
    assert!(
        host.blind
            .iter()
            .any(|b| b.stage == Stage::Share && b.why.contains("Security log has no 5140/5145")),
        "{:?}",
        host.blind
    );
}

#[test]
fn mordor_collection_covers_the_target() {
    let c = cov_of("json/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json");
    let ws6 = c.iter().find(|h| h.host == "WORKSTATION6").unwrap();
    let b = blind(ws6);
    assert!(
        !b.contains(&Stage::Logon) && !b.contains(&Stage::Install) && !b.contains(&Stage::Exec),
        "{b:?}"
    );
}
