//! The analyst's own settings: `$XDG_CONFIG_HOME/svchop/config.toml` (else
//! `~/.config/svchop/config.toml`; `SVCHOP_CONFIG` names another file). Every command reads it:
//! its `profile`, `tz` and `color` become the defaults of the flags of that name (a flag on the
//! command line still wins), its allow-list files are added to every detection, and the
//! workbench takes its keymap overrides and `mouse`. A file that does not parse, or a value
//! that is not one svchop knows, is an error naming the file and the line.

use crate::model::time::DisplayZone;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    profile: Option<Spanned<String>>,
    tz: Option<Spanned<String>>,
    color: Option<Spanned<String>>,
    mouse: Option<Spanned<bool>>,
    allowlists: Option<Spanned<Vec<String>>>,
    keys: Option<BTreeMap<String, BTreeMap<String, Spanned<String>>>>,
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// The config file, at this line.
    File(usize),
}

/// A setting's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Setting<T> {
    fn builtin(value: T) -> Self {
        Setting {
            value,
            origin: Origin::Builtin,
        }
    }
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file read, or the one that would be (none there).
    pub path: Option<PathBuf>,
    pub found: bool,
    pub profile: Setting<String>,
    pub tz: Setting<String>,
    pub color: Setting<String>,
    pub mouse: Setting<bool>,
    pub allowlists: Setting<Vec<PathBuf>>,
    /// Keymap section -> key -> action name, over `assets/keymap.toml`.
    pub keys: BTreeMap<String, BTreeMap<String, Setting<String>>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            found: false,
            profile: Setting::builtin("default".into()),
            tz: Setting::builtin("UTC".into()),
            color: Setting::builtin("auto".into()),
            mouse: Setting::builtin(true),
            allowlists: Setting::builtin(Vec::new()),
            keys: BTreeMap::new(),
        }
    }
}

static CURRENT: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

/// The settings this process runs with (built-in ones until `set` is called).
pub fn current() -> &'static Config {
    CURRENT.get_or_init(Config::default)
}

/// Makes `c` the settings of this process (once; the command line does it first thing).
pub fn set(c: Config) {
    let _ = CURRENT.set(c);
}

/// Where the config file is: `SVCHOP_CONFIG`, else `$XDG_CONFIG_HOME/svchop/config.toml`,
/// else `~/.config/svchop/config.toml`; `None` without a home.
pub fn location(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(p) = set("SVCHOP_CONFIG") {
        return Some(PathBuf::from(p));
    }
    if let Some(x) = set("XDG_CONFIG_HOME") {
        return Some(Path::new(&x).join("svchop").join("config.toml"));
    }
    set("HOME").map(|h| {
        Path::new(&h)
            .join(".config")
            .join("svchop")
            .join("config.toml")
    })
}

/// Whether a name is a workbench action (the shell that reads the config knows them).
pub type IsAction<'a> = &'a dyn Fn(&str) -> bool;

/// Reads the settings of this process's environment.
pub fn load(is_action: IsAction<'_>) -> Result<Config, String> {
    let env = |k: &str| std::env::var(k).ok();
    let Some(path) = location(&env) else {
        return Ok(Config::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path, is_action),
        // No file is no settings; `SVCHOP_CONFIG` naming a missing file is a mistake.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && env("SVCHOP_CONFIG").is_none() => {
            Ok(Config {
                path: Some(path),
                ..Config::default()
            })
        }
        Err(e) => Err(format!("config file {}: {e}", path.display())),
    }
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at.min(text.len()))
        .map_or(1, |t| t.bytes().filter(|b| *b == b'\n').count() + 1)
}

/// Parses a config file's text (`path` for messages and relative allow-list paths).
pub fn parse(text: &str, path: &Path, is_action: IsAction<'_>) -> Result<Config, String> {
    let shown = path.display();
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        format!(
            "config file {shown}{}: {}",
            line.map_or(String::new(), |l| format!(", line {l}")),
            e.message()
        )
    })?;
    let at = |span: std::ops::Range<usize>| Origin::File(line_of(text, span.start));
    let bad = |span: std::ops::Range<usize>, why: String| {
        format!(
            "config file {shown}, line {}: {why}",
            line_of(text, span.start)
        )
    };
    let mut c = Config {
        path: Some(path.to_path_buf()),
        found: true,
        ..Config::default()
    };
    if let Some(p) = file.profile {
        if !known_profile(p.get_ref()) {
            return Err(bad(
                p.span(),
                format!(
                    "profile `{}` is not one of {} (or a .toml file)",
                    p.get_ref(),
                    crate::detect::profile::Profile::builtin_names().join(", ")
                ),
            ));
        }
        c.profile = Setting {
            origin: at(p.span()),
            value: p.into_inner(),
        };
    }
    if let Some(z) = file.tz {
        DisplayZone::parse(z.get_ref()).map_err(|why| bad(z.span(), format!("tz: {why}")))?;
        c.tz = Setting {
            origin: at(z.span()),
            value: z.into_inner(),
        };
    }
    if let Some(col) = file.color {
        if !matches!(col.get_ref().as_str(), "auto" | "always" | "never") {
            return Err(bad(
                col.span(),
                format!("color `{}` is not auto, always or never", col.get_ref()),
            ));
        }
        c.color = Setting {
            origin: at(col.span()),
            value: col.into_inner(),
        };
    }
    if let Some(m) = file.mouse {
        c.mouse = Setting {
            origin: at(m.span()),
            value: m.into_inner(),
        };
    }
    if let Some(list) = file.allowlists {
        let base = path.parent().unwrap_or(Path::new("."));
        c.allowlists = Setting {
            origin: at(list.span()),
            value: list.into_inner().iter().map(|p| resolve(p, base)).collect(),
        };
    }
    c.keys = keys_of(
        file.keys.unwrap_or_default(),
        text,
        &shown.to_string(),
        is_action,
    )?;
    Ok(c)
}

/// `defaults_on` for one command and its subcommands.
fn walk(
    cmd: clap::Command,
    (profile, tz, color): (&'static str, &'static str, &'static str),
) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.mut_args(|a| match a.get_id().as_str() {
        "profile" => a.default_value(profile),
        "tz" => a.default_value(tz),
        "color" => a.default_value(color),
        _ => a,
    });
    for n in names {
        cmd = cmd.mut_subcommand(n, |sub| walk(sub, (profile, tz, color)));
    }
    cmd
}

/// A built-in profile's name, or a profile file.
fn known_profile(name: &str) -> bool {
    crate::detect::profile::Profile::builtin_names().contains(&name)
        || Path::new(name).extension().is_some_and(|x| x == "toml")
}

/// The `[keys.<section>]` tables, each action checked.
fn keys_of(
    file: BTreeMap<String, BTreeMap<String, Spanned<String>>>,
    text: &str,
    shown: &str,
    is_action: IsAction<'_>,
) -> Result<BTreeMap<String, BTreeMap<String, Setting<String>>>, String> {
    let mut all = BTreeMap::new();
    for (section, keys) in file {
        if !["global", "list", "triage", "allowlist", "editor"].contains(&section.as_str()) {
            return Err(format!(
                "config file {shown}: [keys.{section}] is not a keymap section (global, list, triage, allowlist, editor)"
            ));
        }
        let mut out = BTreeMap::new();
        for (key, action) in keys {
            let line = line_of(text, action.span().start);
            if !is_action(action.get_ref()) {
                return Err(format!(
                    "config file {shown}, line {line}: `{key}` is bound to `{}`, which is not an action (svchop's help screen lists them)",
                    action.get_ref()
                ));
            }
            out.insert(
                key,
                Setting {
                    origin: Origin::File(line),
                    value: action.into_inner(),
                },
            );
        }
        all.insert(section, out);
    }
    Ok(all)
}

/// An allow-list path as written: `~/` is the home folder, a relative path is beside the
/// config file.
fn resolve(p: &str, base: &Path) -> PathBuf {
    if let (Some(rest), Some(home)) = (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        return Path::new(&home).join(rest);
    }
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

impl Config {
    /// The flags' defaults taken from the settings: `--profile`, `--tz` and `--color` of every
    /// command and subcommand (what `--help` shows, too).
    #[must_use]
    pub fn defaults_on(&self, cmd: clap::Command) -> clap::Command {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        let profile = leak(&self.profile.value);
        let tz = leak(&self.tz.value);
        let color = leak(&self.color.value);
        walk(cmd, (profile, tz, color))
    }

    /// `svchop config --print`: the effective settings as a config file, each with where it
    /// came from.
    pub fn print(&self, no_color_env: bool) -> String {
        use std::fmt::Write;
        let from = |o: &Origin| match o {
            Origin::Builtin => "built-in default".to_string(),
            Origin::File(l) => format!("config file, line {l}"),
        };
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# svchop settings; config file: {}{}",
            self.path.as_ref().map_or_else(
                || "(no home folder)".to_string(),
                |p| p.display().to_string()
            ),
            if self.found {
                ""
            } else {
                " (not there: built-in defaults)"
            }
        );
        let _ = writeln!(out, "# a flag on the command line wins over these\n");
        let _ = writeln!(
            out,
            "profile = {}  # {}",
            q(&self.profile.value),
            from(&self.profile.origin)
        );
        let _ = writeln!(
            out,
            "tz = {}  # {}",
            q(&self.tz.value),
            from(&self.tz.origin)
        );
        let _ = writeln!(
            out,
            "color = {}  # {}{}",
            q(&self.color.value),
            from(&self.color.origin),
            if no_color_env && self.color.value == "auto" {
                "; NO_COLOR is set: no colour"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "mouse = {}  # {}",
            self.mouse.value,
            from(&self.mouse.origin)
        );
        let list: Vec<String> = self
            .allowlists
            .value
            .iter()
            .map(|p| q(&p.display().to_string()))
            .collect();
        let _ = writeln!(
            out,
            "allowlists = [{}]  # {}",
            list.join(", "),
            from(&self.allowlists.origin)
        );
        for (section, keys) in &self.keys {
            let _ = writeln!(out, "\n[keys.{section}]  # over assets/keymap.toml");
            for (k, v) in keys {
                let _ = writeln!(out, "{} = {}  # {}", q(k), q(&v.value), from(&v.origin));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some action names (the command line passes the workbench's own check).
    fn actions(name: &str) -> bool {
        ["quit", "find", "pivot_image"].contains(&name)
    }

    fn p() -> &'static Path {
        Path::new("/home/a/.config/svchop/config.toml")
    }

    #[test]
    fn where_the_file_is() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_string())
            }
        };
        assert_eq!(
            location(&env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")])),
            Some(PathBuf::from("/x/svchop/config.toml"))
        );
        assert_eq!(
            location(&env(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "")])),
            Some(PathBuf::from("/h/.config/svchop/config.toml"))
        );
        assert_eq!(
            location(&env(&[("HOME", "/h"), ("SVCHOP_CONFIG", "/c.toml")])),
            Some(PathBuf::from("/c.toml"))
        );
        assert_eq!(location(&env(&[])), None);
    }

    #[test]
    fn settings_and_where_each_came_from() {
        let c = parse(
            "# mine\nprofile = \"hunt\"\ntz = \"Europe/Berlin\"\nmouse = false\nallowlists = [\"allow.toml\", \"/abs/a.toml\"]\n[keys.global]\n\"ctrl-f\" = \"find\"\n",
            p(),
            &actions,
        )
        .unwrap();
        assert_eq!(c.profile.value, "hunt");
        assert_eq!(c.profile.origin, Origin::File(2));
        assert_eq!(c.tz.origin, Origin::File(3));
        assert_eq!(c.color.origin, Origin::Builtin);
        assert!(!c.mouse.value);
        assert_eq!(
            c.allowlists.value,
            vec![
                PathBuf::from("/home/a/.config/svchop/allow.toml"),
                PathBuf::from("/abs/a.toml")
            ]
        );
        assert_eq!(c.keys["global"]["ctrl-f"].value, "find");
        let printed = c.print(false);
        assert!(
            printed.contains("profile = \"hunt\"  # config file, line 2"),
            "{printed}"
        );
        assert!(
            printed.contains("color = \"auto\"  # built-in default"),
            "{printed}"
        );
        assert!(
            printed.contains("\"ctrl-f\" = \"find\"  # config file, line 7"),
            "{printed}"
        );
        // What it prints reads back as a config file with the same settings.
        let again = parse(&printed, p(), &actions).unwrap();
        assert_eq!(again.profile.value, "hunt");
        assert_eq!(again.keys["global"]["ctrl-f"].value, "find");
    }

    #[test]
    fn a_bad_file_names_itself_and_the_line() {
        for (text, line, what) in [
            ("profile = \"hunt\"\ntz = \"Mars/Olympus\"\n", 2, "tz"),
            ("\n\ncolour = \"never\"\n", 3, "colour"),
            ("profile = \"nope\"\n", 1, "profile `nope`"),
            ("color = \"sometimes\"\n", 1, "sometimes"),
            ("mouse = \"yes\"\n", 1, ""),
            (
                "[keys.global]\nq = \"quit\"\nx = \"explode\"\n",
                3,
                "explode",
            ),
            ("profile = \n", 1, ""),
        ] {
            let e = parse(text, p(), &actions).unwrap_err();
            assert!(
                e.contains("config file /home/a/.config/svchop/config.toml")
                    && e.contains(&format!("line {line}"))
                    && e.contains(what),
                "{text:?}: {e}"
            );
        }
        assert!(parse("[keys.nowhere]\nq = \"quit\"\n", p(), &actions).is_err());
    }
}
