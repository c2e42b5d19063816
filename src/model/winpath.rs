//! Windows paths and command lines in the one form svchop compares them in, whatever form a log
//! keeps them in: `%SystemRoot%` and `\\SystemRoot` expanded, `%%` read as `%`, `..` resolved, a
//! shell's path read as its bare name. Used by the detections, the allow-list and the
//! normalized table alike.

use regex::Regex;

/// A shell's path in a lower-case command (`c:\windows\system32\cmd.exe`), reduced to its bare
/// name (`cmd`) by `normalize_command`.
pub const SHELL_PATH_RE: &str = r"(?:[a-z]:)?(?:\\?[^\\\s'`]*\\)*\b(cmd|powershell|pwsh|rundll32|regsvr32|mshta|wscript|cscript|sc|wmic)\.exe\b";

/// The variables a service command names that `normalize_command` expands, lower-case.
pub const COMMAND_VARS: [(&str, &str); 3] = [
    ("%comspec%", "cmd"),
    ("%systemroot%", "c:\\windows"),
    ("%windir%", "c:\\windows"),
];

static SHELL_PATH: std::sync::LazyLock<Option<Regex>> =
    std::sync::LazyLock::new(|| Regex::new(SHELL_PATH_RE).ok());

/// A command line in the one form fingerprints and launcher signs are written for, whatever
/// form the log keeps: the service record's (`%COMSPEC% /b /c ...`, Sysmon's `%%COMSPEC%%`) or
/// the process record's (`C:\Windows\system32\cmd.exe /b /c ...`). Lower-case; `%%` read as
/// `%`; double quotes dropped; `%COMSPEC%` and any path of cmd.exe read as `cmd` (likewise
/// powershell, pwsh, rundll32, regsvr32, mshta, wscript, cscript, sc, wmic, with or without
/// `.exe`); `%SystemRoot%` and `%windir%` as `c:\windows`; runs of white space as one space.
pub fn normalize_command(command: &str) -> String {
    let mut c = command.replace("%%", "%").to_lowercase().replace('"', "");
    for (var, val) in COMMAND_VARS {
        if c.contains(var) {
            c = c.replace(var, val);
        }
    }
    if let Some(re) = SHELL_PATH.as_ref()
        && c.contains(".exe")
    {
        c = re.replace_all(&c, "$1").into_owned();
    }
    c.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A target that is the machine the command ran on: empty, `.`, `localhost`, a loopback
/// address (`127.0.0.1`, any of 127/8, `::1`, `0.0.0.0`).
pub fn names_this_machine(target: &str) -> bool {
    let t = target
        .trim()
        .trim_start_matches('\\')
        .trim_matches(['"', '[', ']']);
    t.is_empty()
        || t == "."
        || t.eq_ignore_ascii_case("localhost")
        || t.to_ascii_lowercase().starts_with("localhost.")
        || crate::model::host::is_loopback_or_empty(t)
        || t.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

pub fn pipe_base(pipe: &str) -> &str {
    let t = pipe.trim();
    let t = t
        .strip_prefix("\\\\.\\pipe\\")
        .or_else(|| t.strip_prefix("\\??\\pipe\\"))
        .unwrap_or(t);
    t.trim_start_matches('\\')
}

/// Sysmon doubles `%` in registry values (`%%COMSPEC%%`).
pub fn normalize_percent(s: &str) -> String {
    s.replace("%%", "%")
}

/// The executable part of an image path, lower-case: quotes and arguments dropped,
/// `%SystemRoot%`/`\SystemRoot`/`\??\` expanded to `c:\windows`.
pub fn exe_path(image: &str) -> String {
    let t = normalize_percent(image.trim());
    let exe = if let Some(rest) = t.strip_prefix('"') {
        rest.split('"').next().unwrap_or(rest).to_string()
    } else {
        let first = t.split_whitespace().next().unwrap_or("");
        let lower = t.to_ascii_lowercase();
        let first_lower = first.to_ascii_lowercase();
        if is_exe(&first_lower) || first.starts_with('%') || !first.contains('\\') {
            first.to_string()
        } else {
            // An unquoted path with spaces (`C:\Program Files\x.exe /svc`), as CreateProcess reads it.
            // A driver has no arguments: `...\Definition Updates\{GUID}\x.sys` is whole.
            lower
                .find(".exe")
                .or_else(|| {
                    lower
                        .rsplit_once('.')
                        .is_some_and(|(_, x)| x == "sys")
                        .then(|| lower.len() - 4)
                })
                .map_or_else(|| first.to_string(), |i| t[..i + 4].to_string())
        }
    };
    let l = exe.to_ascii_lowercase();
    let l = l.strip_prefix("\\??\\").unwrap_or(&l).to_string();
    for (from, to) in [
        ("%systemroot%", "c:\\windows"),
        ("%windir%", "c:\\windows"),
        ("\\systemroot", "c:\\windows"),
    ] {
        if let Some(rest) = l.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    l
}

/// An image path as Windows resolves it, for matching: the executable only (quotes and
/// arguments dropped), environment variables and `\SystemRoot` expanded, a driver path relative
/// to the Windows folder (`system32\drivers\x.sys`) made whole, `/` read as `\`, repeated
/// separators, `.` and `..` resolved (never above the root), lower-case. What the allow-list
/// matches, so `C:\Program Files\..\Windows\x.exe` is `c:\windows\x.exe`.
pub fn normalize_path(image: &str) -> String {
    let mut p = exe_path(&image.replace('/', "\\"));
    for (var, val) in [
        ("%programfiles(x86)%", "c:\\program files (x86)"),
        ("%programfiles%", "c:\\program files"),
        ("%programdata%", "c:\\programdata"),
        ("%allusersprofile%", "c:\\programdata"),
        ("%systemdrive%", "c:"),
        ("%comspec%", "c:\\windows\\system32\\cmd.exe"),
    ] {
        if let Some(rest) = p.strip_prefix(var) {
            p = format!("{val}{rest}");
        }
    }
    let p = p.strip_prefix("\\\\?\\").map_or(p.clone(), str::to_string);
    if p.starts_with("system32\\") || p.starts_with("syswow64\\") {
        return resolve_dots("c:\\windows", &p);
    }
    if let Some(rest) = p.strip_prefix("\\\\") {
        // UNC: \\server\share is the root.
        let mut parts = rest.splitn(3, '\\');
        let server = parts.next().unwrap_or("");
        let share = parts.next().unwrap_or("");
        let root = format!("\\\\{server}\\{share}");
        return resolve_dots(&root, parts.next().unwrap_or(""));
    }
    match p.get(..2) {
        Some(d) if d.ends_with(':') => resolve_dots(d, &p[2..]),
        _ => resolve_dots("", &p),
    }
}

/// `root` and the segments of `rest`: empty and `.` segments dropped, `..` taking back the
/// segment before it (never the root), trailing dots and spaces of a segment dropped (Win32
/// path normalization does the same).
fn resolve_dots(root: &str, rest: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for seg in rest.split('\\') {
        match seg {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            _ => {
                let t = seg.trim_end_matches([' ', '.']);
                if !t.is_empty() {
                    kept.push(t);
                }
            }
        }
    }
    if root.is_empty() && !rest.starts_with('\\') {
        return kept.join("\\");
    }
    let mut out = root.to_string();
    for seg in kept {
        out.push('\\');
        out.push_str(seg);
    }
    out
}

/// Whether a name ends in `.exe`, any case.
pub fn is_exe(name: &str) -> bool {
    name.len() >= 4
        && name
            .get(name.len() - 4..)
            .is_some_and(|x| x.eq_ignore_ascii_case(".exe"))
}

/// File name of a Windows path, lower-case.
pub fn file_name(path: &str) -> String {
    let l = path.trim().trim_matches('"').to_ascii_lowercase();
    l.rsplit(['\\', '/']).next().unwrap_or(&l).to_string()
}

/// File stem (`psexesvc` from `C:\Windows\PSEXESVC.exe`), case kept.
pub fn file_stem(path: &str) -> String {
    let t = path.trim().trim_matches('"');
    let name = t.rsplit(['\\', '/']).next().unwrap_or(t);
    name.rsplit_once('.').map_or(name, |(s, _)| s).to_string()
}

/// The executable as the allow-list matches it (`normalize_path`: variables expanded, `.` and
/// `..` resolved, lower-case).
pub fn image_for_match(image: &str) -> String {
    let e = normalize_path(image);
    if e.is_empty() {
        image.to_ascii_lowercase()
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_as_windows_resolves_them() {
        for (raw, want) in [
            (
                "%systemroot%\\AdminArsenal\\PDQ\\..\\..\\X.exe",
                "c:\\windows\\x.exe",
            ),
            (
                "C:\\Program Files\\..\\Windows\\X.exe",
                "c:\\windows\\x.exe",
            ),
            (
                "\"C:\\Program Files\\.\\A\\\\b.exe\" /svc",
                "c:\\program files\\a\\b.exe",
            ),
            (
                "\\SystemRoot\\System32\\drivers\\VBoxSF.sys",
                "c:\\windows\\system32\\drivers\\vboxsf.sys",
            ),
            (
                "system32\\DRIVERS\\VBoxGuest.sys",
                "c:\\windows\\system32\\drivers\\vboxguest.sys",
            ),
            ("\\??\\C:\\ProgramData\\x.sys", "c:\\programdata\\x.sys"),
            ("C:/Windows/../../../x.exe", "c:\\x.exe"),
            ("C:\\Windows\\x.exe. . ", "c:\\windows\\x.exe"),
            (
                "\\\\10.0.0.5\\ADMIN$\\..\\x.exe",
                "\\\\10.0.0.5\\admin$\\x.exe",
            ),
            (
                "%ProgramFiles%\\Acme\\a.exe",
                "c:\\program files\\acme\\a.exe",
            ),
        ] {
            assert_eq!(normalize_path(raw), want, "{raw}");
        }
    }

    #[test]
    fn exe_paths() {
        assert_eq!(
            exe_path("%SystemRoot%\\PSEXESVC.exe"),
            "c:\\windows\\psexesvc.exe"
        );
        assert_eq!(
            exe_path("\"C:\\Program Files\\x\\y.exe\" /svc"),
            "c:\\program files\\x\\y.exe"
        );
        assert_eq!(exe_path("%%COMSPEC%% /b /c start"), "%comspec%");
        assert_eq!(file_name("C:\\Windows\\PSEXESVC.exe"), "psexesvc.exe");
        assert_eq!(file_stem("System32\\RemComSvc.exe"), "RemComSvc");
    }
}
