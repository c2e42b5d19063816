//! The tool signatures and stage patterns on the forms each tool and Windows write.

use super::*;

fn p() -> Patterns {
    Patterns::builtin().unwrap()
}

#[test]
fn psexec_pipes() {
    let p = p();
    let m = p.pipe_match("blabla-NLLT108334-37048-stdin").unwrap();
    assert_eq!(m.service.as_deref(), Some("blabla"));
    assert_eq!(m.source_host.as_deref(), Some("NLLT108334"));
    assert!(p.pipe_match("\\PSEXESVC").is_some());
    assert!(p.pipe_match("\\RemCom_communication").is_some());
    assert!(p.pipe_match("\\lsass").is_none());
    assert!(p.is_scm_pipe("svcctl"));
    assert!(p.is_scm_pipe("\\ntsvcs"));
}

#[test]
fn shares() {
    let p = p();
    assert!(p.is_admin_share("\\\\*\\ADMIN$"));
    assert!(p.is_admin_share("\\\\*\\C$"));
    assert!(!p.is_admin_share("\\\\*\\IPC$"));
    assert!(p.is_ipc_share("\\\\*\\IPC$"));
}

fn tool_id(p: &Patterns, t: Option<usize>) -> Option<&str> {
    t.map(|t| p.tools[t].id.as_str())
}

#[test]
fn service_signatures() {
    let p = p();
    let t = p.tool_for_service(Some("PSEXESVC"), None);
    assert_eq!(tool_id(&p, t), Some("psexec"));
    assert!(
        p.tool_for_service(Some("Updater2"), Some("C:\\Program Files\\x.exe"))
            .is_none()
    );
    // Impacket psexec (psexec.py: 4 random letters, 8-letter helper) vs Metasploit (16-letter
    // name) vs neither (Sigma's rule names both): attribution needs the name too.
    let svc = |n: &str, i: &str| tool_id(&p, p.tool_for_service(Some(n), Some(i)));
    assert_eq!(
        svc("RtUf", "%systemroot%\\xKdLmQpZ.exe"),
        Some("impacket-psexec")
    );
    assert_eq!(
        svc("gTfHjKlQwErTyUiO", "%SYSTEMROOT%\\xKdLmQpZ.exe"),
        Some("metasploit-psexec")
    );
    assert_eq!(
        svc("hello", "%SYSTEMROOT%\\xKdLmQpZ.exe"),
        Some("psexec-like")
    );
    // Cobalt Strike jump psexec: 7-character binary on ADMIN$ (Sigma
    // win_system_cobaltstrike_service_installs.yml); another ADMIN$ binary is unattributed.
    assert_eq!(
        svc("a1b2c3d", "\\\\10.0.0.5\\ADMIN$\\a1b2c3d.exe"),
        Some("cobaltstrike-psexec")
    );
    assert_eq!(
        svc("tool", "\\\\10.0.0.5\\ADMIN$\\backdoor.exe"),
        Some("psexec-like")
    );
    // Invoke-SMBExec: 20 capital letters and %COMSPEC% /C; Invoke-PsExec: start /b launcher.
    assert_eq!(
        svc("QWERTYUIOPASDFGHJKLX", "%COMSPEC% /C \"whoami\""),
        Some("empire-smbexec")
    );
    assert_eq!(
        svc(
            "Updater",
            "%COMSPEC% /C start /b C:\\Windows\\System32\\WindowsPowershell\\v1.0\\powershell.exe -noP -sta -w 1 -enc SQBGACgA"
        ),
        Some("empire-psexec")
    );
    // An admin's own service running cmd /c is not Invoke-SMBExec.
    assert_eq!(svc("Backup", "%COMSPEC% /C \"backup.cmd\""), None);
}

/// Impacket smbexec.py `execute_remote`: `%COMSPEC% /Q /c echo <cmd> ^> <output> 2^>^&1 >
/// <bat> & %COMSPEC% /Q /c <bat> & del <bat>`, output `\\127.0.0.1\C$\__output`.
const SMBEXEC: &str = "C:\\Windows\\system32\\cmd.exe /Q /c echo whoami ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > C:\\Windows\\TEMP\\execute.bat & C:\\Windows\\system32\\cmd.exe /Q /c C:\\Windows\\TEMP\\execute.bat & del C:\\Windows\\TEMP\\execute.bat";

#[test]
fn command_fingerprints() {
    let p = p();
    let cmd = |c: &str| tool_id(&p, p.tool_for_command(c));
    assert_eq!(cmd(SMBEXEC), Some("impacket-smbexec"));
    assert_eq!(
        cmd(
            "%COMSPEC% /Q /c echo ipconfig ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat & %COMSPEC% /Q /c %TEMP%\\execute.bat & del %TEMP%\\execute.bat"
        ),
        Some("impacket-smbexec")
    );
    // NetExec: same form, random output and batch names.
    assert_eq!(
        cmd(
            "C:\\Windows\\system32\\cmd.exe /Q /c echo hostname ^> \\\\127.0.0.1\\C$\\qWeRtY 2^>^&1 > C:\\Windows\\TEMP\\aBcDeF.bat & C:\\Windows\\system32\\cmd.exe /Q /c C:\\Windows\\TEMP\\aBcDeF.bat & del C:\\Windows\\TEMP\\aBcDeF.bat"
        ),
        Some("netexec-smbexec")
    );
    // Cobalt Strike psexec_psh vs Metasploit psexec_psh vs neither.
    assert_eq!(
        cmd(
            "%COMSPEC% /b /c start /b /min powershell -nop -w hidden -encodedcommand JABzAD0ATgBlAHcA"
        ),
        Some("cobaltstrike-psexec-psh")
    );
    assert_eq!(
        cmd(
            "%%COMSPEC%% /b /c start /b /min powershell.exe -nop -w hidden -noni -c \"if([IntPtr]::Size -eq 4){$b='powershell.exe'}\""
        ),
        Some("metasploit-psexec-psh")
    );
    assert_eq!(
        cmd("%COMSPEC% /b /c start /b /min powershell.exe -enc AAAA"),
        Some("psexec-like")
    );
    // Look-alikes an admin types: no fingerprint.
    for benign in [
        "cmd.exe /c echo hello > C:\\temp\\out.txt",
        "cmd /Q /c echo %date% >> \\\\fileserver\\logs\\boot.log",
        "cmd.exe /c start /b powershell.exe -File C:\\scripts\\inventory.ps1",
        "powershell.exe -nop -w hidden -File C:\\scripts\\tray.ps1",
        "",
    ] {
        assert_eq!(cmd(benign), None, "{benign}");
    }
}

/// Every tool's documented artefacts (service, helper, pipe, client command line, from the
/// source named beside it in patterns.toml) name it; a look-alike names nothing.
#[test]
#[allow(clippy::too_many_lines)] // Why: one assertion per tool artefact, read as a table.
fn every_tool_by_its_documented_form() {
    let p = p();
    let svc = |n: Option<&str>, i: Option<&str>| tool_id(&p, p.tool_for_service(n, i));
    let pipe = |n: &str| p.pipe_match(n).map(|m| p.tools[m.tool].id.clone());
    let client = |image: &str, cmd: &str| {
        let e = crate::detect::testkit::ev("SRC", 0, crate::model::Channel::Sysmon, 1)
            .process(image, cmd, 10, "C:\\Windows\\System32\\cmd.exe", 9)
            .done();
        p.client_tool(&e).map(|(t, _)| p.tools[t].id.clone())
    };
    // Sysinternals PsExec: PSEXESVC service and pipes; -r keeps the pipe scheme.
    assert_eq!(
        svc(Some("PSEXESVC"), Some("%SystemRoot%\\PSEXESVC.exe")),
        Some("psexec")
    );
    assert_eq!(
        pipe("\\PSEXESVC-WS01-4410-stdin").as_deref(),
        Some("psexec")
    );
    assert_eq!(pipe("\\svcupd-WS01-4410-stdout").as_deref(), Some("psexec"));
    assert_eq!(
        client("C:\\Tools\\PsExec64.exe", "PsExec64.exe \\\\ws02 cmd").as_deref(),
        Some("psexec")
    );
    // PAExec: PAExec-<pid>-<host> service, helper and pipe.
    assert_eq!(
        svc(
            Some("PAExec-4512-WS12"),
            Some("C:\\Windows\\PAExec-4512-WS12.exe")
        ),
        Some("paexec")
    );
    assert_eq!(pipe("\\PAExec-4512-WS12.exe").as_deref(), Some("paexec"));
    // RemCom: RemComSvc and its pipes, the communication pipe spelt as in RemCom's source.
    assert_eq!(
        svc(
            Some("RemComSvc"),
            Some("%SystemRoot%\\system32\\RemComSvc.exe")
        ),
        Some("remcom")
    );
    assert_eq!(pipe("\\RemCom_communicaton").as_deref(), Some("remcom"));
    assert_eq!(pipe("\\RemCom_stdoutWS0112840").as_deref(), Some("remcom"));
    // CSExec and winexe.
    assert_eq!(
        svc(Some("csexecsvc"), Some("C:\\Windows\\csexecsvc.exe")),
        Some("csexec")
    );
    assert_eq!(
        svc(Some("winexesvc"), Some("winexesvc.exe")),
        Some("winexe")
    );
    assert_eq!(pipe("\\ahexec").as_deref(), Some("winexe"));
    // Clients: SharpSC, SharpExec, PurpleSharp, NetExec, Impacket.
    assert_eq!(
        client(
            "C:\\Users\\x\\SharpSC.exe",
            "SharpSC.exe action=create computername=ws02 service=upd command=\"cmd /c calc\""
        )
        .as_deref(),
        Some("sharpsc")
    );
    assert_eq!(
        client("C:\\Users\\x\\SharpExec.exe", "SharpExec.exe -m=psexec -i=10.0.0.5 -u=admin -p=x -d=corp -e=C:\\Windows\\System32\\cmd.exe -c=\"/c whoami\"").as_deref(),
        Some("sharpexec")
    );
    assert_eq!(
        client(
            "C:\\Users\\x\\PurpleSharp.exe",
            "PurpleSharp.exe /rhost ws02 /ru admin /t T1021.002"
        )
        .as_deref(),
        Some("purplesharp")
    );
    assert_eq!(
        client(
            "/usr/bin/nxc",
            "nxc smb 10.0.0.0/24 -u admin -H aad3 -x whoami"
        )
        .as_deref(),
        Some("netexec")
    );
    assert_eq!(
        client(
            "/usr/bin/python3",
            "python3 psexec.py corp/admin@10.0.0.5 cmd.exe"
        )
        .as_deref(),
        Some("impacket-psexec")
    );
    // Look-alikes: product services, a pipe of another program, an admin's tools.
    assert_eq!(
        svc(
            Some("RemoteRegistry"),
            Some("C:\\Windows\\system32\\svchost.exe -k localService")
        ),
        None
    );
    assert_eq!(pipe("\\lsass"), None);
    assert_eq!(pipe("\\MsFteWds"), None);
    assert_eq!(
        client("C:\\Windows\\System32\\sc.exe", "sc.exe query wuauserv"),
        None
    );
    assert_eq!(
        client(
            "C:\\Program Files\\Git\\cmd\\git.exe",
            "git push origin main"
        ),
        None
    );
}

#[test]
fn remote_service_control_clients() {
    let p = p();
    let client = |c: &str| {
        let e = crate::detect::testkit::ev("SRC", 0, crate::model::Channel::Sysmon, 1)
            .process("C:\\Windows\\System32\\sc.exe", c, 10, "cmd.exe", 9)
            .done();
        p.client_tool(&e)
            .map(|(t, target)| (p.tools[t].id.clone(), target))
    };
    assert_eq!(
        client("sc.exe \\\\WS02 create upd binPath= \"cmd /c calc\""),
        Some(("sc-remote".into(), Some("WS02".into())))
    );
    assert_eq!(
        client("sc \\\\10.0.0.9 config Spooler binPath= \"C:\\x.exe\""),
        Some(("sc-remote".into(), Some("10.0.0.9".into())))
    );
    // Queries and local use name no remote change.
    assert_eq!(client("sc.exe \\\\WS02 query"), None);
    assert_eq!(client("sc.exe create upd binPath= C:\\x.exe"), None);
}

#[test]
fn getsystem() {
    let p = p();
    assert!(p.is_getsystem("cmd.exe /c echo msdhch > \\\\.\\pipe\\msdhch"));
    assert!(p.is_getsystem(
        "%COMSPEC% /c ping -n 1 127.0.0.1 >nul && echo 'WinPwnage' > \\\\.\\pipe\\WinPwnagePipe"
    ));
    assert!(!p.is_getsystem("%SystemRoot%\\PSEXESVC.exe"));
}

#[test]
fn targets_in_commands() {
    let p = p();
    assert_eq!(
        p.target_in("psexec.exe \\\\ws02 -s cmd").as_deref(),
        Some("ws02")
    );
    assert_eq!(
        p.target_in("wmic /node:\"srv1\" process call create")
            .as_deref(),
        Some("srv1")
    );
    assert_eq!(
        p.target_in("psexec.py corp/admin:pw@10.0.0.5 cmd")
            .as_deref(),
        Some("10.0.0.5")
    );
    assert_eq!(
        p.target_in("nxc smb 10.1.1.0/24 -x whoami").as_deref(),
        Some("10.1.1.0/24")
    );
}
