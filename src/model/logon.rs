//! Logon ids as numbers: Security logs write them as hex (`0x3e7`, beyond 32 bits `0x308fd3169`),
//! some exports write decimal, Defender writes them as plain integers. Compare them as `u64`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogonId(pub u64);

impl LogonId {
    /// Parses `0x3e7`, `0X3E7`, `3e7h`-free hex with prefix, or decimal. Empty, `-` and junk give `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if t.is_empty() || t == "-" {
            return None;
        }
        let value = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            u64::from_str_radix(hex, 16).ok()?
        } else {
            t.parse::<u64>().ok()?
        };
        Some(LogonId(value))
    }

    /// Ids that never identify an attacker's session: 0 (none), SYSTEM, LOCAL SERVICE, NETWORK SERVICE.
    pub fn is_well_known(self) -> bool {
        matches!(self.0, 0 | 0x3e4 | 0x3e5 | 0x3e7)
    }
}

impl fmt::Display for LogonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl Serialize for LogonId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for LogonId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LogonId::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad logon id {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_decimal_forms() {
        assert_eq!(LogonId::parse("0x3e7"), Some(LogonId(999)));
        assert_eq!(LogonId::parse("0X3E7"), Some(LogonId(999)));
        assert_eq!(LogonId::parse("999"), Some(LogonId(999)));
        assert_eq!(LogonId::parse("0x308fd3169"), Some(LogonId(0x3_08fd_3169)));
        assert_eq!(LogonId::parse(" 0x95c2e "), Some(LogonId(0x95c2e)));
    }

    #[test]
    fn rejects_junk() {
        assert_eq!(LogonId::parse("-"), None);
        assert_eq!(LogonId::parse(""), None);
        assert_eq!(LogonId::parse("0xZZ"), None);
        assert_eq!(LogonId::parse("abc"), None);
    }

    #[test]
    fn displays_as_hex() {
        assert_eq!(LogonId(999).to_string(), "0x3e7");
        assert!(LogonId(999).is_well_known());
        assert!(!LogonId(0x95c2e).is_well_known());
    }
}
