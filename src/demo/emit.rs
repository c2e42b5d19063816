//! Record makers for the demo: each writes one Windows event as the real log would.

use super::Env;
use super::records::{Host, SECURITY, SYSMON, SYSTEM, s};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// The SCM's PID on every demo host (System log `Execution/@ProcessID`).
pub const SCM_PID: u32 = 640;
const LSASS_PID: u32 = 700;
const SYSTEM_SID: Option<&str> = Some("S-1-5-18");

pub struct Who<'a> {
    pub user: &'a str,
    pub domain: &'a str,
    pub sid: &'a str,
}

/// One SMB session of a user from an address.
pub struct Sess<'a> {
    pub lid: u64,
    pub who: Who<'a>,
    pub ip: &'a str,
}

/// A share access: share name, relative target (5145) or none (5140), access list.
pub struct ShareAccess<'a> {
    pub share: &'a str,
    pub rel: Option<&'a str>,
    pub access: &'a str,
}

pub fn logon(env: &mut Env, h: &Host, ts: DateTime<Utc>, sn: &Sess<'_>, ltype: u8, auth: &str) {
    let data = [
        ("SubjectUserSid", s("S-1-0-0")),
        ("SubjectLogonId", s("0x0")),
        ("TargetUserSid", s(sn.who.sid)),
        ("TargetUserName", s(sn.who.user)),
        ("TargetDomainName", s(sn.who.domain)),
        ("TargetLogonId", format!("{:#x}", sn.lid)),
        ("LogonType", ltype.to_string()),
        (
            "LogonProcessName",
            s(if auth == "NTLM" {
                "NtLmSsp "
            } else {
                "Kerberos"
            }),
        ),
        ("AuthenticationPackageName", s(auth)),
        ("WorkstationName", s("-")),
        ("IpAddress", s(sn.ip)),
        ("IpPort", s("49832")),
    ];
    env.logs
        .add(h, (SECURITY, 4624), ts, (None, LSASS_PID), &data);
}

pub fn share(env: &mut Env, h: &Host, ts: DateTime<Utc>, sn: &Sess<'_>, a: &ShareAccess<'_>) {
    let mut data = vec![
        ("SubjectUserSid", s(sn.who.sid)),
        ("SubjectUserName", s(sn.who.user)),
        ("SubjectDomainName", s(sn.who.domain)),
        ("SubjectLogonId", format!("{:#x}", sn.lid)),
        ("ObjectType", s("File")),
        ("IpAddress", s(sn.ip)),
        ("IpPort", s("49832")),
        ("ShareName", format!("\\\\*\\{}", a.share)),
        ("AccessList", s(a.access)),
    ];
    let id = if let Some(r) = a.rel {
        data.push(("RelativeTargetName", s(r)));
        5145
    } else {
        5140
    };
    env.logs.add(h, (SECURITY, id), ts, (None, 4), &data);
}

pub fn install_7045(
    env: &mut Env,
    h: &Host,
    ts: DateTime<Utc>,
    sid: &str,
    name: &str,
    image: &str,
) {
    install_7045_as(
        env,
        h,
        ts,
        (sid, name, image),
        ("user mode service", "demand start"),
    );
}

/// A 7045 of a given service type and start type (a kernel driver: `kernel mode driver`,
/// `system start`, and no service account).
pub fn install_7045_as(
    env: &mut Env,
    h: &Host,
    ts: DateTime<Utc>,
    (sid, name, image): (&str, &str, &str),
    (service_type, start_type): (&str, &str),
) {
    let account = if service_type == "user mode service" {
        "LocalSystem"
    } else {
        ""
    };
    let data = [
        ("ServiceName", s(name)),
        ("ImagePath", s(image)),
        ("ServiceType", s(service_type)),
        ("StartType", s(start_type)),
        ("AccountName", s(account)),
    ];
    env.logs
        .add(h, (SYSTEM, 7045), ts, (Some(sid), SCM_PID), &data);
}

pub fn install_4697(
    env: &mut Env,
    h: &Host,
    ts: DateTime<Utc>,
    sn: &Sess<'_>,
    name: &str,
    image: &str,
) {
    let data = [
        ("SubjectUserSid", s(sn.who.sid)),
        ("SubjectUserName", s(sn.who.user)),
        ("SubjectDomainName", s(sn.who.domain)),
        ("SubjectLogonId", format!("{:#x}", sn.lid)),
        ("ServiceName", s(name)),
        ("ServiceFileName", s(image)),
        ("ServiceType", s("0x10")),
        ("ServiceStartType", s("3")),
        ("ServiceAccount", s("LocalSystem")),
    ];
    env.logs
        .add(h, (SECURITY, 4697), ts, (None, LSASS_PID), &data);
}

/// 7036 with the key name in `Binary` as the SCM writes it (hex UTF-16LE `<key>/4`).
pub fn state(env: &mut Env, h: &Host, ts: DateTime<Utc>, name: &str, running: bool) {
    let key = format!("{name}/4")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .fold(String::new(), |mut acc, b| {
            let _ = write!(acc, "{b:02X}");
            acc
        });
    let data = [
        ("param1", s(name)),
        ("param2", s(if running { "running" } else { "stopped" })),
        ("Binary", key),
    ];
    env.logs
        .add(h, (SYSTEM, 7036), ts, (SYSTEM_SID, SCM_PID), &data);
}

pub struct Proc<'a> {
    pub image: &'a str,
    pub cmd: &'a str,
    pub pid: u32,
    pub parent: &'a str,
    pub ppid: u32,
    pub user: &'a str,
}

pub fn process(env: &mut Env, h: &Host, ts: DateTime<Utc>, p: &Proc<'_>) {
    let data = [
        ("UtcTime", ts.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
        ("ProcessId", p.pid.to_string()),
        ("Image", s(p.image)),
        ("CommandLine", s(p.cmd)),
        ("User", s(p.user)),
        ("ParentProcessId", p.ppid.to_string()),
        ("ParentImage", s(p.parent)),
        (
            "IntegrityLevel",
            s(if p.user.starts_with("NT AUTHORITY") {
                "System"
            } else {
                "Medium"
            }),
        ),
    ];
    env.logs.add(h, (SYSMON, 1), ts, (SYSTEM_SID, 3000), &data);
}

pub fn pipe(
    env: &mut Env,
    h: &Host,
    ts: DateTime<Utc>,
    connect: bool,
    name: &str,
    (image, pid): (&str, u32),
) {
    let data = [
        (
            "EventType",
            s(if connect { "ConnectPipe" } else { "CreatePipe" }),
        ),
        ("ProcessId", pid.to_string()),
        ("PipeName", s(name)),
        ("Image", s(image)),
    ];
    env.logs.add(
        h,
        (SYSMON, if connect { 18 } else { 17 }),
        ts,
        (SYSTEM_SID, 3000),
        &data,
    );
}

pub struct Conn<'a> {
    pub src: &'a Host,
    pub dst_ip: &'a str,
    pub dst_name: &'a str,
    pub port: u16,
    pub image: &'a str,
}

/// Outbound connection logged on the source, Sysmon 3.
pub fn connect(env: &mut Env, ts: DateTime<Utc>, c: &Conn<'_>) {
    let data = [
        ("Image", s(c.image)),
        ("Protocol", s("tcp")),
        ("Initiated", s("true")),
        ("SourceIp", s(&c.src.ip)),
        ("SourceHostname", s(&c.src.fqdn)),
        ("SourcePort", s("50112")),
        ("DestinationIp", s(c.dst_ip)),
        ("DestinationHostname", s(c.dst_name)),
        ("DestinationPort", c.port.to_string()),
    ];
    env.logs
        .add(c.src, (SYSMON, 3), ts, (SYSTEM_SID, 3000), &data);
}

pub fn file(
    env: &mut Env,
    h: &Host,
    ts: DateTime<Utc>,
    delete: bool,
    path: &str,
    (image, pid): (&str, u32),
) {
    let data = [
        ("ProcessId", pid.to_string()),
        ("Image", s(image)),
        ("TargetFilename", s(path)),
    ];
    env.logs.add(
        h,
        (SYSMON, if delete { 23 } else { 11 }),
        ts,
        (SYSTEM_SID, 3000),
        &data,
    );
}
