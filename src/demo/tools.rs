//! The attacks: each tool's real artefacts on the target (logons over several SMB sessions,
//! ADMIN$ helper write, svcctl, 7045 + 4697, service start, helper and payload processes, pipes,
//! stop and delete) and, where the source is a domain host, its client run and outbound SMB.

use super::emit::{self, Conn, Proc, SCM_PID, Sess, ShareAccess, Who};
use super::records::{Host, User};
use super::{DemoChain, Env};
use chrono::{DateTime, TimeDelta, Utc};

const SERVICES: &str = "C:\\Windows\\System32\\services.exe";
const SYSTEM_USER: &str = "NT AUTHORITY\\SYSTEM";

/// What one tool leaves behind.
pub(super) struct Spec {
    pub(super) tool: &'static str,
    pub(super) service: String,
    /// Path under ADMIN$ the helper is copied to (none for smbexec-style).
    pub(super) helper_rel: Option<String>,
    /// Service image path as the SCM records it.
    pub(super) image: String,
    /// Full path of the helper process (when the service runs a helper).
    pub(super) helper_image: Option<String>,
    pub(super) pipes: Vec<String>,
    /// Client image and command line on the source, when the source is a logged host.
    pub(super) client: Option<(String, String)>,
    pub(super) payload: String,
    pub(super) ntlm: bool,
}

/// Where the attack comes from: a domain host with logs, or an outside address.
pub(super) enum Source {
    Host(Host),
    Outside(String),
}

impl Source {
    fn ip(&self) -> String {
        match self {
            Source::Host(h) => h.ip.clone(),
            Source::Outside(ip) => ip.clone(),
        }
    }
    fn label(&self) -> String {
        match self {
            Source::Host(h) => h.name.clone(),
            Source::Outside(ip) => ip.clone(),
        }
    }
}

pub(super) fn ms(ms: i64) -> TimeDelta {
    TimeDelta::try_milliseconds(ms).unwrap_or_default()
}

/// The address outside the domain that some attacks come from.
pub const OUTSIDE: &str = "10.10.9.66";

/// The tool runs of the demo, spread over the days (`beyond::attacks` adds the last day's).
pub fn attacks(env: &mut Env, days: u32) -> Vec<DemoChain> {
    let late = days.saturating_sub(1);
    let users = env.users.clone();
    let (ws01, fs01, dc01) = (env.host("WS01"), env.host("FS01"), env.host("DC01"));
    let (ws02, ws03, ws04, admin) = (
        env.host("WS02"),
        env.host("WS03"),
        env.host("WS04"),
        env.host("ADMIN01"),
    );
    let outside = OUTSIDE.to_string();
    let mut chains = Vec::new();
    let t = env.at(0, 14 * 3600);
    let spec = psexec(env, "WS01", "FS01");
    chains.push(run(
        env,
        &spec,
        &Source::Host(ws01.clone()),
        &fs01,
        &users[0],
        t,
    ));
    let t = env.at(0, 14 * 3600 + 20 * 60);
    let spec = psexec(env, "FS01", "DC01");
    chains.push(run(
        env,
        &spec,
        &Source::Host(fs01.clone()),
        &dc01,
        &users[0],
        t,
    ));
    let t = env.at(late, 9 * 3600);
    let spec = impacket_psexec(env);
    chains.push(run(
        env,
        &spec,
        &Source::Outside(outside.clone()),
        &ws02,
        &users[1],
        t,
    ));
    let t = env.at(late, 9 * 3600 + 30 * 60);
    chains.push(run(
        env,
        &smbexec(),
        &Source::Outside(outside.clone()),
        &ws03,
        &users[1],
        t,
    ));
    let t = env.at(late, 10 * 3600);
    let spec = paexec(env, "WS04", "ADMIN01");
    chains.push(run(
        env,
        &spec,
        &Source::Host(ws04.clone()),
        &admin,
        &users[2],
        t,
    ));
    let t = env.at(late, 10 * 3600 + 30 * 60);
    chains.push(run(
        env,
        &remcom(),
        &Source::Outside(outside.clone()),
        &ws04,
        &users[3],
        t,
    ));
    chains
}

fn psexec(env: &mut Env, src: &str, dst: &str) -> Spec {
    let pid = env.pid();
    Spec {
        tool: "psexec",
        service: "PSEXESVC".into(),
        helper_rel: Some("PSEXESVC.exe".into()),
        image: "%SystemRoot%\\PSEXESVC.exe".into(),
        helper_image: Some("C:\\Windows\\PSEXESVC.exe".into()),
        pipes: vec![
            "\\PSEXESVC".into(),
            format!("\\PSEXESVC-{src}-{pid}-stdin"),
            format!("\\PSEXESVC-{src}-{pid}-stdout"),
            format!("\\PSEXESVC-{src}-{pid}-stderr"),
        ],
        client: Some((
            "C:\\Tools\\PsExec.exe".into(),
            format!(
                "PsExec.exe \\\\{} -accepteula -s cmd.exe /c \"whoami /all & ipconfig\"",
                dst.to_ascii_lowercase()
            ),
        )),
        payload: "cmd.exe /c \"whoami /all & ipconfig\"".into(),
        ntlm: false,
    }
}

fn impacket_psexec(env: &mut Env) -> Spec {
    let helper = env.rng.letters(8);
    let svc = env.rng.letters(4);
    Spec {
        tool: "impacket-psexec",
        service: svc,
        helper_rel: Some(format!("{helper}.exe")),
        image: format!("%systemroot%\\{helper}.exe"),
        helper_image: Some(format!("C:\\Windows\\{helper}.exe")),
        pipes: vec![
            "\\RemCom_communication".into(),
            "\\RemCom_stdin".into(),
            "\\RemCom_stdout".into(),
        ],
        client: None,
        payload: "cmd.exe /c net group \"domain admins\" /domain".into(),
        ntlm: true,
    }
}

fn smbexec() -> Spec {
    Spec {
        tool: "impacket-smbexec",
        service: "BTOBTO".into(),
        helper_rel: None,
        image: "%COMSPEC% /Q /c echo cd  ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat & %COMSPEC% /Q /c %TEMP%\\execute.bat & del %TEMP%\\execute.bat".into(),
        helper_image: None,
        pipes: vec![],
        client: None,
        payload: "C:\\Windows\\system32\\cmd.exe /Q /c echo cd  ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > C:\\Windows\\TEMP\\execute.bat".into(),
        ntlm: true,
    }
}

fn paexec(env: &mut Env, src: &str, dst: &str) -> Spec {
    let pid = env.pid();
    let name = format!("PAExec-{pid}-{src}");
    Spec {
        tool: "paexec",
        service: name.clone(),
        helper_rel: Some(format!("{name}.exe")),
        image: format!("C:\\Windows\\{name}.exe"),
        helper_image: Some(format!("C:\\Windows\\{name}.exe")),
        pipes: vec![format!("\\{name}.exe")],
        client: Some((
            "C:\\Users\\carol\\Downloads\\paexec.exe".into(),
            format!(
                "paexec.exe \\\\{} -s -i 0 cmd.exe /c hostname",
                dst.to_ascii_lowercase()
            ),
        )),
        payload: "cmd.exe /c hostname".into(),
        ntlm: false,
    }
}

fn remcom() -> Spec {
    Spec {
        tool: "remcom",
        service: "RemComSvc".into(),
        helper_rel: Some("system32\\RemComSvc.exe".into()),
        image: "%SystemRoot%\\system32\\RemComSvc.exe".into(),
        helper_image: Some("C:\\Windows\\System32\\RemComSvc.exe".into()),
        pipes: vec![
            "\\RemCom_communication".into(),
            "\\RemCom_stdin12841".into(),
        ],
        client: None,
        payload: "cmd.exe /c powershell -nop -w hidden -c Get-ADComputer -Filter *".into(),
        ntlm: true,
    }
}

/// Source side: the client run and its outbound SMB.
fn source_side(env: &mut Env, spec: &Spec, src: &Source, dst: &Host, who: &User, t: DateTime<Utc>) {
    let (Source::Host(h), Some((image, cmd))) = (src, &spec.client) else {
        return;
    };
    let pid = env.pid();
    let user = format!("CORP\\{}", who.name);
    let p = Proc {
        image,
        cmd,
        pid,
        parent: "C:\\Windows\\System32\\cmd.exe",
        ppid: 4100,
        user: &user,
    };
    emit::process(env, h, t - ms(3000), &p);
    let conn = Conn {
        src: h,
        dst_ip: &dst.ip,
        dst_name: &dst.fqdn,
        port: 445,
        image: "System",
    };
    emit::connect(env, t - ms(2500), &conn);
}

/// Two SMB sessions (file copy, then service control), as the tools open them.
pub(super) fn sessions(
    env: &mut Env,
    spec: &Spec,
    ip: &str,
    dst: &Host,
    user: &User,
    t: DateTime<Utc>,
) -> u64 {
    let auth = if spec.ntlm { "NTLM" } else { "Kerberos" };
    let who = || Who {
        user: &user.name,
        domain: "CORP",
        sid: &user.sid,
    };
    let first = Sess {
        lid: env.logon_id(),
        who: who(),
        ip,
    };
    emit::logon(env, dst, t - ms(1900), &first, 3, auth);
    emit::share(
        env,
        dst,
        t - ms(1890),
        &first,
        &ShareAccess {
            share: "IPC$",
            rel: None,
            access: "%%4416",
        },
    );
    if let Some(rel) = &spec.helper_rel {
        emit::share(
            env,
            dst,
            t - ms(1850),
            &first,
            &ShareAccess {
                share: "ADMIN$",
                rel: None,
                access: "%%4416",
            },
        );
        let write = ShareAccess {
            share: "ADMIN$",
            rel: Some(rel),
            access: "%%1538 %%4417 %%4418",
        };
        emit::share(env, dst, t - ms(1800), &first, &write);
    }
    let second = Sess {
        lid: env.logon_id(),
        who: who(),
        ip,
    };
    emit::logon(env, dst, t - ms(1000), &second, 3, auth);
    let scm = ShareAccess {
        share: "IPC$",
        rel: Some("svcctl"),
        access: "%%4416 %%4417",
    };
    emit::share(env, dst, t - ms(900), &second, &scm);
    second.lid
}

pub(super) fn run(
    env: &mut Env,
    spec: &Spec,
    src: &Source,
    dst: &Host,
    user: &User,
    t: DateTime<Utc>,
) -> DemoChain {
    source_side(env, spec, src, dst, user, t);
    let lid = sessions(env, spec, &src.ip(), dst, user, t);
    emit::install_7045(env, dst, t, &user.sid, &spec.service, &spec.image);
    let sn = Sess {
        lid,
        who: Who {
            user: &user.name,
            domain: "CORP",
            sid: &user.sid,
        },
        ip: "",
    };
    emit::install_4697(env, dst, t + ms(2), &sn, &spec.service, &spec.image);
    emit::state(env, dst, t + ms(50), &spec.service, true);
    let mut parent = (SERVICES.to_string(), SCM_PID);
    if let Some(helper) = &spec.helper_image {
        let pid = env.pid();
        let p = Proc {
            image: helper,
            cmd: helper,
            pid,
            parent: SERVICES,
            ppid: SCM_PID,
            user: SYSTEM_USER,
        };
        emit::process(env, dst, t + ms(60), &p);
        for (i, pipe) in spec.pipes.iter().enumerate() {
            let at = t + ms(200 + 10 * i64::try_from(i).unwrap_or(0));
            emit::pipe(env, dst, at, false, pipe, (helper, pid));
            emit::pipe(env, dst, at + ms(5), true, pipe, ("System", 4));
        }
        parent = (helper.clone(), pid);
    }
    let pid = env.pid();
    let p = Proc {
        image: "C:\\Windows\\System32\\cmd.exe",
        cmd: &spec.payload,
        pid,
        parent: &parent.0,
        ppid: parent.1,
        user: SYSTEM_USER,
    };
    emit::process(env, dst, t + ms(900), &p);
    emit::state(env, dst, t + ms(30_000), &spec.service, false);
    if let Some(helper) = &spec.helper_image {
        emit::file(env, dst, t + ms(31_000), true, helper, ("System", 4));
    }
    DemoChain {
        expect: crate::detect::Severity::High,
        tool: spec.tool.to_string(),
        source: src.label(),
        source_ip: src.ip(),
        target: dst.name.clone(),
        account: format!("CORP\\{}", user.name),
        service: spec.service.clone(),
        time: t,
    }
}
