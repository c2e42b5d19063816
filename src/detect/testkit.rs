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
