//! The data svchop detects with, parsed from `assets/` into typed structs: tool signatures and
//! stage patterns, rule profiles, scoring weights. Built-in copies are compiled into the binary;
//! an analyst's own files can replace them.

use regex::Regex;
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AssetError {
    #[error("{file}: {source}")]
    Toml {
        file: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("{file}: bad pattern {pattern:?}: {source}")]
    Regex {
        file: String,
        pattern: String,
        #[source]
        source: regex::Error,
    },
    #[error(
        "unknown profile {0:?} (known: default, sentinel, elastic, otrf, sigma, hunt, or a TOML file)"
    )]
    UnknownProfile(String),
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

pub const PATTERNS_TOML: &str = include_str!("../../assets/patterns.toml");
pub const LAUNCHERS_TOML: &str = include_str!("../../assets/launchers.toml");
pub const SCORING_TOML: &str = include_str!("../../assets/scoring.toml");
pub const ALLOWLIST_TOML: &str = include_str!("../../assets/allowlist.toml");
pub const PROFILES: &[(&str, &str)] = &[
    (
        "default",
        include_str!("../../assets/profiles/default.toml"),
    ),
    (
        "sentinel",
        include_str!("../../assets/profiles/sentinel.toml"),
    ),
    (
        "elastic",
        include_str!("../../assets/profiles/elastic.toml"),
    ),
    ("otrf", include_str!("../../assets/profiles/otrf.toml")),
    ("sigma", include_str!("../../assets/profiles/sigma.toml")),
    ("hunt", include_str!("../../assets/profiles/hunt.toml")),
];

pub fn parse_toml<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T, AssetError> {
    toml::from_str(text).map_err(|source| AssetError::Toml {
        file: file.to_string(),
        source,
    })
}

/// Compiles patterns case-insensitively.
pub fn compile(file: &str, patterns: &[String]) -> Result<Vec<Regex>, AssetError> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(&format!("(?i){p}")).map_err(|source| AssetError::Regex {
                file: file.to_string(),
                pattern: p.clone(),
                source,
            })
        })
        .collect()
}

/// `?` one character, `*` any run, case-insensitive, whole string.
pub fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

pub fn any_match(res: &[Regex], text: &str) -> bool {
    res.iter().any(|r| r.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let r = Regex::new(&format!("(?i){}", glob_to_regex(r"?:\Program Files\*.exe"))).unwrap();
        assert!(r.is_match(r"C:\Program Files\Foo\bar.EXE"));
        assert!(!r.is_match(r"C:\Windows\bar.exe"));
    }

    #[test]
    fn builtin_assets_parse() {
        let p = super::super::patterns::Patterns::builtin().unwrap();
        assert!(p.tools.len() >= 8);
        for (name, text) in PROFILES {
            let prof: super::super::profile::Profile = parse_toml(name, text).unwrap();
            assert_eq!(&prof.name, name);
        }
        let _s: super::super::score::Weights = parse_toml("scoring.toml", SCORING_TOML).unwrap();
    }
}
