//! Hand-built events for unit tests of the correlations and the adversarial benchmark
//! (synthetic, written here).

use crate::model::{Channel, Event, Fields, HostName, LogonId, SourceRef};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;

/// Events in a store as loading stores them (every field kept).
pub fn store(events: Vec<Event>) -> std::sync::Arc<crate::store::Store> {
    std::sync::Arc::new(crate::store::from_events(events, false).0)
}

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

#[must_use]
pub struct B(pub Event);

static RECORD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// An event on `host`, `ms` milliseconds after `t0()`.
pub fn ev(host: &str, ms: i64, channel: Channel, id: u16) -> B {
    let rid = RECORD.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    B(Event {
        ts: t0() + TimeDelta::try_milliseconds(ms).unwrap_or_default(),
        host: std::sync::Arc::new(HostName::new(host)),
        channel,
        event_id: id,
        provider: None,
        source: SourceRef {
            file: Arc::from("unit"),
            record_id: Some(rid),
            line: None,
            offset: None,
        },
        fields: Fields::default(),
        extra: Box::default(),
        also_at: Box::default(),
    })
}

#[allow(clippy::unnecessary_wraps)] // Why: every typed field it fills is an Option.
fn bs(s: &str) -> Option<std::sync::Arc<str>> {
    Some(std::sync::Arc::from(s))
}

impl B {
    pub fn done(self) -> Event {
        self.0
    }
    pub fn logon(mut self, id: u64, ltype: u8, ip: &str, user: &str, sid: &str) -> Self {
        let f = &mut self.0.fields;
        f.logon_id = Some(LogonId(id));
        f.logon.logon_type = Some(ltype);
        f.net.src_ip = bs(ip);
        f.target.user = bs(user);
        f.target.domain = bs("CORP");
        f.target.sid = bs(sid);
        self
    }
    pub fn subject(mut self, id: u64, user: &str, sid: &str) -> Self {
        let f = &mut self.0.fields;
        f.logon_id = Some(LogonId(id));
        f.subject_logon_id = Some(LogonId(id));
        f.subject.user = bs(user);
        f.subject.domain = bs("CORP");
        f.subject.sid = bs(sid);
        self
    }
    pub fn service(mut self, name: &str, image: &str) -> Self {
        self.0.fields.service.name = bs(name);
        self.0.fields.service.image_path = bs(image);
        self
    }
    pub fn user_sid(mut self, sid: &str) -> Self {
        self.0.fields.user_sid = bs(sid);
        self
    }
    pub fn share(mut self, share: &str, rel: &str, access: &str, ip: &str) -> Self {
        let s = &mut self.0.fields.share;
        s.share_name = bs(share);
        s.relative_target = bs(rel);
        s.access_list = bs(access);
        self.0.fields.net.src_ip = bs(ip);
        self
    }
    pub fn process(
        mut self,
        image: &str,
        cmd: &str,
        pid: u32,
        parent_image: &str,
        parent_pid: u32,
    ) -> Self {
        let p = &mut self.0.fields.process;
        p.image = bs(image);
        p.command_line = bs(cmd);
        p.pid = Some(pid);
        p.parent_image = bs(parent_image);
        p.parent_pid = Some(parent_pid);
        self
    }
}

/// Inputs that grow one dimension an index is keyed by, for the complexity tests and the
/// quadratic-shape benchmark: each `n` events, and its `spread` twin, the same events over 1,000
/// hosts (what the work should cost when nothing piles up).
pub mod shapes {
    use super::ev;
    use crate::model::{Channel, Event};

    /// A dimension and how to grow it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Shape {
        /// N hosts that each ran PsExec once against a host of the set (source-side runs: the
        /// index of runs by target).
        PsexecHosts,
        /// N service-control sessions (5145 `IPC$\svcctl`) from N addresses on one host (by
        /// address, session and time).
        SvcctlOneHost,
        /// N network logons and installs on one logon id on one host (by logon id).
        OneLogonId,
        /// N opens of PsExec-style pipes on distinct logon ids on one host (by pipe session).
        PipeFlood,
        /// N state reports of one service name on one host (by service).
        OneService,
        /// N ADMIN$ writes at one instant on one host (by time).
        OneInstant,
    }

    pub const ALL: [Shape; 6] = [
        Shape::PsexecHosts,
        Shape::SvcctlOneHost,
        Shape::OneLogonId,
        Shape::PipeFlood,
        Shape::OneService,
        Shape::OneInstant,
    ];

    impl Shape {
        pub fn label(self) -> &'static str {
            match self {
                Shape::PsexecHosts => "hosts each running PsExec once",
                Shape::SvcctlOneHost => "svcctl sessions from distinct addresses, one host",
                Shape::OneLogonId => "logons and installs on one logon id",
                Shape::PipeFlood => "tool-pipe opens on distinct logon ids, one host",
                Shape::OneService => "state reports of one service, one host",
                Shape::OneInstant => "ADMIN$ writes at one instant, one host",
            }
        }

        /// `n` events of the shape; `spread`: the same events over 1,000 hosts (the host of
        /// event `i` is `i % 1000`; for `PsexecHosts`, 1,000 source hosts run the same runs).
        pub fn events(self, n: usize, spread: bool) -> Vec<Event> {
            (0..n).map(|i| self.event(i, n, spread)).collect()
        }

        #[allow(clippy::cast_possible_wrap)] // i < 10^7 in every use.
        fn event(self, i: usize, n: usize, spread: bool) -> Event {
            let one = |name: &str| {
                if spread {
                    format!("SRV{:04}.corp.local", i % 1000)
                } else {
                    format!("{name}.corp.local")
                }
            };
            let ms = i as i64 * 50;
            let ip = format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255);
            let sid = format!("S-1-5-21-1-2-3-{}", 1100 + i % 50);
            let user = format!("admin{}", i % 50);
            match self {
                Shape::PsexecHosts => {
                    let host = if spread {
                        format!("WS{:06}.corp.local", i % 1000)
                    } else {
                        format!("WS{i:06}.corp.local")
                    };
                    let cmd = format!(
                        "PsExec.exe \\\\SRV{:06} -s cmd.exe /c whoami",
                        (i * 7919 + 1) % n
                    );
                    ev(&host, (i as i64 * 37) % (n as i64 * 10), Channel::Sysmon, 1)
                        .process(
                            "C:\\Tools\\PsExec.exe",
                            &cmd,
                            4000,
                            "C:\\Windows\\explorer.exe",
                            1000,
                        )
                        .done()
                }
                Shape::SvcctlOneHost => ev(&one("SRV01"), ms, Channel::Security, 5145)
                    .subject(0x20_0000 + i as u64, &user, &sid)
                    .share("\\\\*\\IPC$", "svcctl", "%%4416 %%4417", &ip)
                    .done(),
                Shape::OneLogonId => {
                    if i.is_multiple_of(2) {
                        ev(&one("SRV01"), ms, Channel::Security, 4624)
                            .logon(0x77, 3, &ip, &user, &sid)
                            .done()
                    } else {
                        ev(&one("SRV01"), ms, Channel::Security, 4697)
                            .subject(0x77, &user, &sid)
                            .service(&format!("svc{i}"), "C:\\Windows\\Temp\\x.exe")
                            .done()
                    }
                }
                Shape::PipeFlood => ev(&one("SRV01"), ms, Channel::Security, 5145)
                    .subject(0x20_0000 + i as u64, "eve", "S-1-5-21-1-2-3-1108")
                    .share(
                        "\\\\*\\IPC$",
                        &format!("PSEXESVC-ATK-{}-stdin", 1000 + i),
                        "%%4416 %%4417",
                        "10.9.9.9",
                    )
                    .done(),
                Shape::OneService => {
                    let mut e = ev(&one("SRV01"), ms, Channel::System, 7036)
                        .service("PSEXESVC", "")
                        .done();
                    e.fields.service.state = Some(
                        if i.is_multiple_of(2) {
                            "running"
                        } else {
                            "stopped"
                        }
                        .into(),
                    );
                    e
                }
                Shape::OneInstant => ev(&one("SRV01"), 0, Channel::Security, 5145)
                    .subject(0x30_0000 + i as u64, &user, &sid)
                    .share("\\\\*\\ADMIN$", &format!("f{i}.exe"), "%%4417", &ip)
                    .done(),
            }
        }
    }
}

/// The adversarial property (#27): events an attacker running as SYSTEM on a target could write
/// (processes of any name, registry values, service installs of any name and path, loopback
/// logons, pipes of any name, files), placed around a remote chain, never lower its severity
/// nor suppress it. Shared by the unit test (a bounded number of cases) and the fuzz target.
pub mod adversary {
    use super::ev;
    use crate::detect::Detector;
    use crate::detect::finding::{Finding, OriginKind};
    use crate::model::{Channel, Event};
    use chrono::{DateTime, TimeDelta, Utc};

    /// A small deterministic generator (xorshift64*): the same seed, the same events.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
        }
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
        /// A name the attacker makes up: letters and digits of any case.
        fn word(&mut self) -> String {
            const CH: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            let n = 1 + self.below(16);
            (0..n)
                .map(|_| char::from(CH[self.below(CH.len())]))
                .collect()
        }
    }

    /// Names an attacker would choose to look benign or to look like a local run.
    const PROCESS_NAMES: &[&str] = &[
        "PsExec.exe",
        "PsExec64.exe",
        "paexec.exe",
        "RemCom.exe",
        "svchost.exe",
        "MsMpEng.exe",
        "PDQDeployRunner-1.exe",
        "csexec.exe",
    ];
    const SERVICE_NAMES: &[&str] = &[
        "SCCM",
        "CCMSetup",
        "PDQDeployRunner-1",
        "MpKsl1a2b3c4d",
        "Sysmon",
        "SysmonDrv",
        "VBoxService",
        "ADWS",
        "PSEXESVC",
        "WinDefend",
    ];
    const IMAGE_PATHS: &[&str] = &[
        "%SystemRoot%\\AdminArsenal\\PDQDeployRunner\\..\\..\\x.exe",
        "C:\\Program Files\\..\\Windows\\x.exe",
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{11111111-2222-3333-4444-555555555555}\\MpKslDrv.sys",
        "C:\\Windows\\System32\\drivers\\x.sys",
        "C:\\Windows\\Sysmon64.exe",
        "C:\\Program Files\\Vendor\\updater.exe",
        "%SystemRoot%\\CCM\\CcmExec.exe",
        "C:\\Windows\\PSEXESVC.exe",
    ];
    const REGISTRY_KEYS: &[&str] = &[
        "HKU\\S-1-5-18\\Software\\Sysinternals\\PsExec\\EulaAccepted",
        "HKU\\S-1-5-21-1-2-3-500\\Software\\Sysinternals\\PsExec64\\EulaAccepted",
        "HKLM\\System\\CurrentControlSet\\Services\\PSEXESVC\\ImagePath",
        "HKLM\\System\\CurrentControlSet\\Services\\SCCM\\ImagePath",
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x",
    ];

    /// One to eight events an attacker on `host` could write, within ten minutes of `t0`.
    pub fn attacker_events(rng: &mut Rng, host: &str, t0: DateTime<Utc>) -> Vec<Event> {
        let n = 1 + rng.below(8);
        (0..n).map(|_| attacker_event(rng, host, t0)).collect()
    }

    // Offsets below 1.2M ms; one arm per shape of attacker event, read as a table.
    #[allow(clippy::cast_possible_wrap, clippy::too_many_lines)]
    fn attacker_event(rng: &mut Rng, host: &str, t0: DateTime<Utc>) -> Event {
        let offset = rng.below(1_200_001) as i64 - 600_000;
        let mut e = match rng.below(7) {
            0 | 1 => {
                let name = if rng.below(3) == 0 {
                    format!("{}.exe", rng.word())
                } else {
                    rng.pick(PROCESS_NAMES).to_string()
                };
                let image = format!("C:\\Windows\\Temp\\{name}");
                let cmd = match rng.below(3) {
                    0 => format!("{name} \\\\{host} -s cmd.exe"),
                    1 => format!("{name} \\\\127.0.0.1 -accepteula cmd"),
                    _ => name.clone(),
                };
                let id = if rng.below(2) == 0 { 1 } else { 4688 };
                let ch = if id == 1 {
                    Channel::Sysmon
                } else {
                    Channel::Security
                };
                let mut e = ev(host, 0, ch, id)
                    .process(
                        &image,
                        &cmd,
                        4000 + u32::try_from(rng.below(4000)).unwrap_or(0),
                        "C:\\Windows\\System32\\services.exe",
                        600,
                    )
                    .done();
                e.fields.process.user = Some("NT AUTHORITY\\SYSTEM".into());
                e
            }
            2 => {
                let mut e = ev(host, 0, Channel::Sysmon, 13)
                    .process("C:\\Windows\\Temp\\PsExec64.exe", "", 777, "", 1)
                    .done();
                e.fields.registry.event_type = Some("SetValue".into());
                e.fields.registry.target_object = Some(rng.pick(REGISTRY_KEYS).into());
                e.fields.registry.details = Some("DWORD (0x00000001)".into());
                e
            }
            3 => {
                let name = if rng.below(3) == 0 {
                    rng.word()
                } else {
                    rng.pick(SERVICE_NAMES).to_string()
                };
                ev(host, 0, Channel::System, 7045)
                    .service(&name, rng.pick(IMAGE_PATHS))
                    .user_sid("S-1-5-18")
                    .done()
            }
            4 => {
                let ip = if rng.below(2) == 0 {
                    "127.0.0.1"
                } else {
                    "::1"
                };
                ev(host, 0, Channel::Security, 4624)
                    .logon(
                        0x9000 + u64::try_from(rng.below(1000)).unwrap_or(0),
                        3,
                        ip,
                        "SYSTEM",
                        "S-1-5-18",
                    )
                    .done()
            }
            5 => {
                let pipe = match rng.below(3) {
                    0 => format!("\\PSEXESVC-{host}-{}-stdin", rng.below(9999)),
                    1 => format!("\\{}", rng.word()),
                    _ => "\\svcctl".to_string(),
                };
                let mut e = ev(
                    host,
                    0,
                    Channel::Sysmon,
                    if rng.below(2) == 0 { 17 } else { 18 },
                )
                .process("System", "", 4, "", 0)
                .done();
                e.fields.share.pipe_name = Some(pipe.into());
                e
            }
            _ => {
                let mut e = ev(host, 0, Channel::Sysmon, 11)
                    .process("System", "", 4, "", 0)
                    .done();
                e.fields.share.file_path = Some(format!("C:\\Windows\\{}.exe", rng.word()).into());
                e
            }
        };
        e.ts = t0 + TimeDelta::try_milliseconds(offset).unwrap_or_default();
        e.source.file = std::sync::Arc::from("attacker");
        e
    }

    /// What the property protects of a finding: its host and severity, and its evidence.
    #[derive(Debug, Clone)]
    pub struct Protected {
        pub id: String,
        pub target_key: String,
        pub target_host: String,
        pub severity: crate::detect::finding::Severity,
        pub first_seen: DateTime<Utc>,
        pub evidence: Vec<String>,
    }

    /// The active remote chains of a scan: what the attacker must not lower.
    pub fn protected(findings: &[Finding]) -> Vec<Protected> {
        findings
            .iter()
            .filter(|f| f.suppressed_by.is_none() && f.origin.kind == OriginKind::Remote)
            .map(|f| Protected {
                id: f.id.clone(),
                target_key: f.target_key.clone(),
                target_host: f.target_host.clone(),
                severity: f.severity,
                first_seen: f.first_seen,
                evidence: f.stages.iter().map(|s| s.evidence.clone()).collect(),
            })
            .collect()
    }

    /// Scans `base` plus attacker events around the protected chain `p`; an error says which
    /// verdict went down.
    pub fn check(
        det: &Detector,
        base: &[Event],
        p: &Protected,
        rng: &mut Rng,
    ) -> Result<(), String> {
        let added = attacker_events(rng, &p.target_host, p.first_seen);
        let mut events = base.to_vec();
        events.extend(added.iter().cloned());
        let store = std::sync::Arc::new(crate::store::from_events(events, true).0);
        let (after, _) = det.scan(&store, true);
        let best = after
            .iter()
            .filter(|f| f.target_key == p.target_key)
            .filter(|f| f.stages.iter().any(|s| p.evidence.contains(&s.evidence)))
            .filter(|f| f.suppressed_by.is_none())
            .map(|f| f.severity)
            .max();
        match best {
            Some(s) if s >= p.severity => Ok(()),
            got => {
                let on_target: Vec<String> = after
                    .iter()
                    .filter(|f| f.target_key == p.target_key)
                    .map(|f| {
                        format!(
                            "  {} {:?} {} origin {:?} suppressed {:?} shares evidence: {}",
                            f.id,
                            f.severity,
                            f.score,
                            f.origin.kind,
                            f.suppressed_by.as_ref().map(|s| &s.pattern),
                            f.stages.iter().any(|s| p.evidence.contains(&s.evidence))
                        )
                    })
                    .collect();
                let keys: std::collections::BTreeSet<String> = after
                    .iter()
                    .map(|f| format!("{}={}", f.target_key, f.target_host))
                    .collect();
                Err(format!(
                    "targets after: {keys:?} (want {})\n{} on {} was {:?}, after the attacker's events {:?}\nadded:\n{}\nfindings on the target after:\n{}",
                    p.target_key,
                    p.id,
                    p.target_host,
                    p.severity,
                    got,
                    added.iter().map(describe).collect::<Vec<_>>().join("\n"),
                    on_target.join("\n")
                ))
            }
        }
    }

    /// One line of what an added event holds.
    pub fn describe(e: &Event) -> String {
        let f = &e.fields;
        let parts = [
            f.process.image.as_deref(),
            f.process.command_line.as_deref(),
            f.service.name.as_deref(),
            f.service.image_path.as_deref(),
            f.registry.target_object.as_deref(),
            f.share.pipe_name.as_deref(),
            f.share.file_path.as_deref(),
            f.net.src_ip.as_deref(),
        ];
        let shown: Vec<&str> = parts.into_iter().flatten().collect();
        format!("  {} {} {}", e.ts, e.event_id, shown.join(" | "))
    }
}
