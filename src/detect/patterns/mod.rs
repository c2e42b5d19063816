//! Tool signatures and stage patterns (from `assets/patterns.toml`), compiled, with the
//! predicates the detections ask of one event: is this a tool pipe, an admin-share write, a
//! helper image, a client tool naming a target?

use super::assets::{AssetError, LAUNCHERS_TOML, PATTERNS_TOML, any_match, compile, parse_toml};
use crate::model::Event;
use regex::Regex;
use serde::Deserialize;

pub use crate::model::winpath::{
    COMMAND_VARS, SHELL_PATH_RE, exe_path, file_name, file_stem, is_exe, names_this_machine,
    normalize_command, normalize_path, normalize_percent, pipe_base,
};

#[derive(Debug, Deserialize)]
struct ToolSpec {
    id: String,
    name: String,
    #[serde(default)]
    service_names: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    pipes: Vec<String>,
    #[serde(default)]
    client_images: Vec<String>,
    #[serde(default)]
    client_registry: Vec<String>,
    /// Command lines that are the tool's own (a process's command line, or a service's image
    /// path, which the SCM runs as a command line).
    #[serde(default)]
    commands: Vec<String>,
    /// Service name and image must both match (signatures shared by tools).
    #[serde(default)]
    all: bool,
    /// An attack tool: its fingerprint alone is worth investigating (Medium).
    #[serde(default)]
    attack: bool,
    /// Where the signature comes from (the tool's source, a public Sigma rule).
    source: String,
    /// Shapes of the tool's generated service names, matched on any event naming a service.
    #[serde(default)]
    name_shapes: Vec<NameShapeSpec>,
    /// `false` for remote execution that creates no service (WMI, scheduled tasks, `WinRM`).
    #[serde(default = "yes")]
    service: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
struct NameShapeSpec {
    pattern: String,
    #[serde(default)]
    min_case_changes: usize,
}

/// A tool's generated service names: the form, and how often letters at least switch case
/// (random mixed case, not a product's CamelCase: `TrustedInstaller` is 16 letters too).
#[derive(Debug)]
pub struct NameShape {
    pub pattern: Regex,
    pub min_case_changes: usize,
}

impl NameShape {
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim();
        self.pattern.is_match(name) && case_changes(name) >= self.min_case_changes
    }
}

/// How often adjacent letters switch between upper and lower case.
pub fn case_changes(name: &str) -> usize {
    let letters: Vec<bool> = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.is_ascii_uppercase())
        .collect();
    letters.windows(2).filter(|w| w[0] != w[1]).count()
}

#[derive(Debug, Deserialize)]
struct LauncherFile {
    sign: Vec<LauncherSpec>,
}

#[derive(Debug, Deserialize)]
struct LauncherSpec {
    id: String,
    what: String,
    pattern: String,
    rule: String,
}

/// A sign that a service's command launches something (`assets/launchers.toml`).
#[derive(Debug)]
pub struct Launcher {
    pub id: String,
    pub what: String,
    pub rule: String,
    pattern: Regex,
}

#[derive(Debug, Deserialize)]
struct PatternSpec {
    scm_pipes: Vec<String>,
    admin_shares: Vec<String>,
    ipc_share: String,
    scm_images: Vec<String>,
    write_access: Vec<String>,
    helper_paths: Vec<String>,
    getsystem_images: Vec<String>,
    target_in_command: Vec<String>,
    tool: Vec<ToolSpec>,
}

#[derive(Debug)]
pub struct Tool {
    pub id: String,
    pub name: String,
    pub service_names: Vec<Regex>,
    pub images: Vec<Regex>,
    pub pipes: Vec<Regex>,
    pub client_images: Vec<Regex>,
    pub client_registry: Vec<Regex>,
    pub commands: Vec<Regex>,
    pub all: bool,
    pub attack: bool,
    pub source: String,
    pub name_shapes: Vec<NameShape>,
    /// Whether the tool runs commands through a service (WMI, schtasks and `WinRM` do not).
    pub service: bool,
}

#[derive(Debug)]
pub struct Patterns {
    pub scm_pipes: Vec<Regex>,
    pub admin_shares: Vec<Regex>,
    pub ipc_share: Regex,
    pub scm_images: Vec<Regex>,
    pub write_access: Vec<String>,
    pub helper_paths: Vec<Regex>,
    pub getsystem_images: Vec<Regex>,
    pub target_in_command: Vec<Regex>,
    pub tools: Vec<Tool>,
    pub launchers: Vec<Launcher>,
    /// Every tool's `commands` in one set (one pass over a command line), and the tool each
    /// pattern belongs to.
    command_set: regex::RegexSet,
    command_tool: Vec<usize>,
    /// Every tool's `images`, and every tool's `client_images`, in one set each: most process
    /// events match none, which one pass tells.
    image_set: regex::RegexSet,
    client_set: regex::RegexSet,
}

/// A tool pipe: which tool, and what the name tells (PsExec: service and source host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeMatch {
    pub tool: usize,
    pub service: Option<String>,
    pub source_host: Option<String>,
}

const FILE: &str = "assets/patterns.toml";

impl Patterns {
    pub fn builtin() -> Result<Self, AssetError> {
        Self::from_toml(PATTERNS_TOML)
    }

    pub fn from_toml(text: &str) -> Result<Self, AssetError> {
        let spec: PatternSpec = parse_toml(FILE, text)?;
        let tools = spec
            .tool
            .into_iter()
            .map(|t| {
                Ok(Tool {
                    id: t.id,
                    name: t.name,
                    service_names: compile(FILE, &t.service_names)?,
                    images: compile(FILE, &t.images)?,
                    pipes: compile(FILE, &t.pipes)?,
                    client_images: compile(FILE, &t.client_images)?,
                    client_registry: compile(FILE, &t.client_registry)?,
                    commands: compile(FILE, &t.commands)?,
                    all: t.all,
                    attack: t.attack,
                    source: t.source,
                    service: t.service,
                    name_shapes: t
                        .name_shapes
                        .iter()
                        .map(|n| {
                            Ok(NameShape {
                                pattern: one(compile(FILE, std::slice::from_ref(&n.pattern))?)?,
                                min_case_changes: n.min_case_changes,
                            })
                        })
                        .collect::<Result<_, AssetError>>()?,
                })
            })
            .collect::<Result<Vec<_>, AssetError>>()?;
        let mut command_tool = Vec::new();
        let mut command_patterns = Vec::new();
        for (i, t) in tools.iter().enumerate().filter(|(_, t)| !t.all) {
            // A tool whose command needs its service name too (`all`) is no fingerprint on a
            // process's command line alone.
            for re in &t.commands {
                command_tool.push(i);
                command_patterns.push(re.as_str().to_string());
            }
        }
        let set = |patterns: Vec<String>| {
            regex::RegexSet::new(&patterns).map_err(|source| AssetError::Regex {
                file: FILE.to_string(),
                pattern: patterns.join(" | "),
                source,
            })
        };
        let all = |of: fn(&Tool) -> &Vec<Regex>| -> Vec<String> {
            tools
                .iter()
                .flat_map(|t| of(t).iter().map(|r| r.as_str().to_string()))
                .collect()
        };
        let image_set = set(all(|t| &t.images))?;
        let client_set = set(all(|t| &t.client_images))?;
        let command_set = set(command_patterns)?;
        let ipc = compile(FILE, std::slice::from_ref(&spec.ipc_share))?;
        Ok(Patterns {
            scm_pipes: compile(FILE, &spec.scm_pipes)?,
            admin_shares: compile(FILE, &spec.admin_shares)?,
            ipc_share: ipc
                .into_iter()
                .next()
                .ok_or_else(|| AssetError::UnknownProfile("ipc_share".into()))?,
            scm_images: compile(FILE, &spec.scm_images)?,
            write_access: spec.write_access,
            helper_paths: compile(FILE, &spec.helper_paths)?,
            getsystem_images: compile(FILE, &spec.getsystem_images)?,
            target_in_command: compile(FILE, &spec.target_in_command)?,
            tools,
            launchers: launchers()?,
            command_set,
            command_tool,
            image_set,
            client_set,
        })
    }

    /// The tool whose generated-name shape a service name has (Metasploit's 16 random mixed-case
    /// letters): asked of every event that names a service.
    pub fn tool_for_name(&self, name: &str) -> Option<usize> {
        self.tools
            .iter()
            .position(|t| t.name_shapes.iter().any(|s| s.matches(name)))
    }

    /// The launcher signs a service's command carries.
    pub fn launcher_signs(&self, command: &str) -> Vec<&Launcher> {
        if command.trim().is_empty() {
            return Vec::new();
        }
        let c = normalize_command(command);
        self.launchers
            .iter()
            .filter(|l| l.pattern.is_match(&c))
            .collect()
    }

    /// The tool whose service-name, image or command signature matches an installed service
    /// (a service's image path is the command line the SCM runs). Tools marked `all` need the
    /// name and the image to match.
    pub fn tool_for_service(&self, name: Option<&str>, image: Option<&str>) -> Option<usize> {
        let command = image.map(normalize_command);
        let image = image.map(normalize_percent);
        self.tools.iter().position(|t| {
            let by_name = name.is_some_and(|n| any_match(&t.service_names, n));
            let by_image = image.as_deref().is_some_and(|i| any_match(&t.images, i))
                || command
                    .as_deref()
                    .is_some_and(|c| any_match(&t.commands, c));
            if t.all {
                by_name && by_image
            } else {
                by_name || by_image
            }
        })
    }

    /// The tool whose own command line a process runs (Impacket smbexec's `echo ... ^>
    /// \\127.0.0.1\C$\__output`, Cobalt Strike's `start /b /min powershell -nop -w hidden
    /// -encodedcommand`): a fingerprint by itself.
    pub fn tool_for_command(&self, command_line: &str) -> Option<usize> {
        if command_line.trim().is_empty() {
            return None;
        }
        let c = normalize_command(command_line);
        self.command_set
            .matches(&c)
            .iter()
            .map(|i| self.command_tool[i])
            .min()
    }

    /// The tool whose helper image a process runs.
    pub fn tool_for_image(&self, image: &str) -> Option<usize> {
        if !self.image_set.is_match(image) {
            return None;
        }
        self.tools.iter().position(|t| any_match(&t.images, image))
    }

    /// Pipe name without its leading backslash and any `\\.\pipe\` prefix.
    pub fn pipe_match(&self, pipe: &str) -> Option<PipeMatch> {
        let name = pipe_base(pipe);
        for (i, t) in self.tools.iter().enumerate() {
            for re in &t.pipes {
                if let Some(c) = re.captures(name) {
                    return Some(PipeMatch {
                        tool: i,
                        service: c.name("svc").map(|m| m.as_str().to_string()),
                        source_host: c.name("host").map(|m| m.as_str().to_string()),
                    });
                }
            }
        }
        None
    }

    pub fn is_scm_pipe(&self, pipe: &str) -> bool {
        any_match(&self.scm_pipes, pipe_base(pipe))
    }

    pub fn is_admin_share(&self, share: &str) -> bool {
        any_match(&self.admin_shares, share)
    }

    pub fn is_ipc_share(&self, share: &str) -> bool {
        self.ipc_share.is_match(share)
    }

    pub fn is_scm_image(&self, image: &str) -> bool {
        any_match(&self.scm_images, image)
    }

    pub fn is_getsystem(&self, image_path: &str) -> bool {
        any_match(&self.getsystem_images, &normalize_percent(image_path))
    }

    pub fn is_helper_path(&self, path: &str) -> bool {
        any_match(&self.helper_paths, path)
    }

    /// A share access that writes (`AccessList` codes, or write bits in the mask).
    pub fn is_write(&self, e: &Event) -> bool {
        let s = &e.fields.share;
        s.access_list
            .as_deref()
            .is_some_and(|l| self.write_access.iter().any(|w| l.contains(w.as_str())))
            || s.access_mask.is_some_and(|m| m & 0x6 != 0)
    }

    /// A client tool run (lateral tool on a source host): the tool and the target it names.
    pub fn client_tool(&self, e: &Event) -> Option<(usize, Option<String>)> {
        let p = &e.fields.process;
        let image = p.image.as_deref().unwrap_or("");
        let cmd = p.command_line.as_deref().unwrap_or("");
        // A helper binary (PAExec-1234-HOST.exe, PSEXESVC.exe) is the service side, never the client.
        if self.tool_for_image(image).is_some()
            || !(self.client_set.is_match(image) || self.client_set.is_match(cmd))
        {
            return None;
        }
        let tool = self
            .tools
            .iter()
            .position(|t| any_match(&t.client_images, image) || any_match(&t.client_images, cmd))?;
        Some((tool, self.target_in(cmd)))
    }

    /// The first host a command line names (`\\HOST`, `/node:HOST`, `user@HOST`, `smb HOST`).
    pub fn target_in(&self, cmd: &str) -> Option<String> {
        self.target_in_command
            .iter()
            .find_map(|r| {
                r.captures(cmd)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_string())
            })
            .filter(|t| !names_this_machine(t))
    }

    /// A registry write that only a client tool makes (PsExec's `EulaAccepted`).
    pub fn client_registry_tool(&self, key: &str) -> Option<usize> {
        self.tools
            .iter()
            .position(|t| any_match(&t.client_registry, key))
    }
}

fn one(mut v: Vec<Regex>) -> Result<Regex, AssetError> {
    v.pop()
        .ok_or_else(|| AssetError::UnknownProfile("empty pattern list".into()))
}

fn launchers() -> Result<Vec<Launcher>, AssetError> {
    const LFILE: &str = "assets/launchers.toml";
    let file: LauncherFile = parse_toml(LFILE, LAUNCHERS_TOML)?;
    file.sign
        .into_iter()
        .map(|s| {
            Ok(Launcher {
                pattern: one(compile(LFILE, std::slice::from_ref(&s.pattern))?)?,
                id: s.id,
                what: s.what,
                rule: s.rule,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
