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
                    e.fields.service.state =
                        Some(if i.is_multiple_of(2) { "running" } else { "stopped" }.into());
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
