//! Benign activity: interactive and network logons, file-share and SYSVOL access, an admin
//! checking services remotely from the jump box, legitimate service installs and state changes,
//! ordinary processes and SMB traffic, and one admin's local PsExec use.

use super::Env;
use super::emit::{self, Conn, Proc, SCM_PID, Sess, ShareAccess, Who};
use super::records::Host;

const SVCHOST: &str = "C:\\Windows\\System32\\svchost.exe";
const SERVICES: &str = "C:\\Windows\\System32\\services.exe";

/// One day of noise on every host.
pub fn day(env: &mut Env, day: u32, per_host: usize) {
    let hosts = env.hosts.clone();
    for h in &hosts {
        let rounds = (per_host / 8).max(1);
        for r in 0..rounds {
            let secs = 7 * 3600 + i64::try_from(env.rng.below(11 * 3600)).unwrap_or(0);
            match r % 6 {
                0 => interactive(env, h, day, secs),
                1 => machine_logon(env, h, day, secs),
                2 => file_share(env, h, day, secs),
                3 => admin_service_check(env, h, day, secs),
                4 => service_churn(env, h, day, secs),
                _ => background(env, h, day, secs),
            }
        }
    }
    if day == 0 {
        local_psexec(env);
    }
}

fn user_of(env: &mut Env, h: &Host) -> (String, String) {
    let idx = h.name.bytes().map(usize::from).sum::<usize>() % 4;
    let u = &env.users[idx];
    (u.name.clone(), u.sid.clone())
}

fn interactive(env: &mut Env, h: &Host, day: u32, secs: i64) {
    let (user, sid) = user_of(env, h);
    let lid = env.logon_id();
    let ts = env.at(day, secs);
    let sn = Sess {
        lid,
        who: Who {
            user: &user,
            domain: "CORP",
            sid: &sid,
        },
        ip: "127.0.0.1",
    };
    emit::logon(env, h, ts, &sn, 2, "Negotiate");
    let pid = env.pid();
    let cmd =
        format!("\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --profile {pid}");
    let proc_user = format!("CORP\\{user}");
    let p = Proc {
        image: "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        cmd: &cmd,
        pid,
        parent: "C:\\Windows\\explorer.exe",
        ppid: 1800,
        user: &proc_user,
    };
    emit::process(env, h, env.at(day, secs + 3), &p);
}

fn machine_logon(env: &mut Env, h: &Host, day: u32, secs: i64) {
    let dc = env.host("DC01");
    let lid = env.logon_id();
    let machine = format!("{}$", h.name);
    let ts = env.at(day, secs);
    let sn = Sess {
        lid,
        who: Who {
            user: &machine,
            domain: "CORP",
            sid: "S-1-5-18",
        },
        ip: &h.ip,
    };
    emit::logon(env, &dc, ts, &sn, 3, "Kerberos");
    emit::share(
        env,
        &dc,
        ts,
        &sn,
        &ShareAccess {
            share: "SYSVOL",
            rel: None,
            access: "%%4416",
        },
    );
}

fn file_share(env: &mut Env, h: &Host, day: u32, secs: i64) {
    let fs = env.host("FS01");
    if h.name == fs.name {
        return;
    }
    let (user, sid) = user_of(env, h);
    let lid = env.logon_id();
    let sn = Sess {
        lid,
        who: Who {
            user: &user,
            domain: "CORP",
            sid: &sid,
        },
        ip: &h.ip,
    };
    emit::logon(env, &fs, env.at(day, secs), &sn, 3, "Kerberos");
    let rel = format!("Projects\\report-{}.docx", env.rng.below(500));
    let access = ShareAccess {
        share: "Shares",
        rel: Some(&rel),
        access: "%%4416 %%4417",
    };
    emit::share(env, &fs, env.at(day, secs + 1), &sn, &access);
    let conn = Conn {
        src: h,
        dst_ip: &fs.ip,
        dst_name: &fs.fqdn,
        port: 445,
        image: "System",
    };
    emit::connect(env, env.at(day, secs), &conn);
}

/// `sc \\host query` from the jump box: a remote SCM open, nothing installed.
fn admin_service_check(env: &mut Env, h: &Host, day: u32, secs: i64) {
    let admin = env.host("ADMIN01");
    if h.name == admin.name {
        return;
    }
    let it = env.users[4].clone();
    let lid = env.logon_id();
    let sn = Sess {
        lid,
        who: Who {
            user: &it.name,
            domain: "CORP",
            sid: &it.sid,
        },
        ip: &admin.ip,
    };
    emit::logon(env, h, env.at(day, secs), &sn, 3, "Kerberos");
    let access = ShareAccess {
        share: "IPC$",
        rel: Some("svcctl"),
        access: "%%4416",
    };
    emit::share(env, h, env.at(day, secs), &sn, &access);
    let conn = Conn {
        src: &admin,
        dst_ip: &h.ip,
        dst_name: &h.fqdn,
        port: 445,
        image: "System",
    };
    emit::connect(env, env.at(day, secs), &conn);
}

/// Updaters and drivers the system installs itself, and routine service starts and stops.
fn service_churn(env: &mut Env, h: &Host, day: u32, secs: i64) {
    let ts = env.at(day, secs);
    match env.rng.below(3) {
        0 => emit::install_7045(
            env,
            h,
            ts,
            "S-1-5-18",
            "Google Update Service (gupdate)",
            "\"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe\" /svc",
        ),
        1 => {
            let name = format!("MpKsl{:08x}", env.rng.next_u64() & 0xffff_ffff);
            let image = format!(
                "C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{{{}}}\\{name}.sys",
                env.rng.below(1_000_000)
            );
            emit::install_7045_as(
                env,
                h,
                ts,
                ("S-1-5-18", &name, &image),
                ("kernel mode driver", "system start"),
            );
        }
        _ => {
            emit::state(env, h, ts, "Windows Update", true);
            emit::state(env, h, env.at(day, secs + 300), "Windows Update", false);
        }
    }
}

fn background(env: &mut Env, h: &Host, day: u32, secs: i64) {
    let pid = env.pid();
    let cmd = "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s wuauserv";
    let p = Proc {
        image: SVCHOST,
        cmd,
        pid,
        parent: SERVICES,
        ppid: SCM_PID,
        user: "NT AUTHORITY\\SYSTEM",
    };
    emit::process(env, h, env.at(day, secs), &p);
}

/// The admin runs PsExec on WS05 against WS05 itself: local use, not lateral movement.
fn local_psexec(env: &mut Env) {
    let h = env.host("WS05");
    let it = env.users[4].clone();
    let secs = 10 * 3600;
    let client = env.pid();
    let user = format!("CORP\\{}", it.name);
    let p = Proc {
        image: "C:\\Tools\\PsExec64.exe",
        cmd: "PsExec64.exe -accepteula -s -i cmd.exe",
        pid: client,
        parent: "C:\\Windows\\System32\\cmd.exe",
        ppid: 5000,
        user: &user,
    };
    emit::process(env, &h, env.at(0, secs), &p);
    emit::install_7045(
        env,
        &h,
        env.at(0, secs + 1),
        &it.sid,
        "PSEXESVC",
        "%SystemRoot%\\PSEXESVC.exe",
    );
    let svc = env.pid();
    let p = Proc {
        image: "C:\\Windows\\PSEXESVC.exe",
        cmd: "C:\\Windows\\PSEXESVC.exe",
        pid: svc,
        parent: SERVICES,
        ppid: SCM_PID,
        user: "NT AUTHORITY\\SYSTEM",
    };
    emit::process(env, &h, env.at(0, secs + 1), &p);
    let pipe = format!("\\PSEXESVC-WS05-{client}-stdin");
    emit::pipe(
        env,
        &h,
        env.at(0, secs + 2),
        false,
        &pipe,
        ("C:\\Windows\\PSEXESVC.exe", svc),
    );
    emit::pipe(
        env,
        &h,
        env.at(0, secs + 2),
        true,
        &pipe,
        ("C:\\Tools\\PsExec64.exe", client),
    );
}
