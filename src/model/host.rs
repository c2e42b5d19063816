//! Host names as logged and as matched. `WS01`, `ws01.corp.local`, `WS01.CORP.LOCAL` and the
//! machine account `WS01$` all meet on the key `WS01`; IP literals are kept whole as their key.

use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HostName {
    /// The name exactly as the log wrote it.
    pub display: Arc<str>,
    /// Upper-case short name (or the IP literal), for matching across files and forms.
    pub key: Arc<str>,
}

impl HostName {
    pub fn new(display: &str) -> Self {
        let key = host_key(display);
        HostName {
            display: Arc::from(display.trim()),
            key: Arc::from(key.as_str()),
        }
    }

    pub fn unknown() -> Self {
        HostName::new("")
    }
}

/// Host names seen so far, so events of the same host share one allocation.
#[derive(Debug, Default, Clone)]
pub struct HostCache(super::FastMap<String, Arc<HostName>>);

impl HostCache {
    pub fn get(&mut self, display: &str) -> Arc<HostName> {
        if let Some(h) = self.0.get(display) {
            return Arc::clone(h);
        }
        let h = Arc::new(HostName::new(display));
        self.0.insert(display.to_string(), Arc::clone(&h));
        h
    }
}

/// True for IPv4 and IPv6 literals (with or without an IPv4-mapped prefix).
pub fn is_ip_literal(text: &str) -> bool {
    text.parse::<std::net::IpAddr>().is_ok()
}

/// The match key of a host name: trimmed, `\\` and `$` stripped, short name, upper case.
pub fn host_key(name: &str) -> String {
    let t = name.trim().trim_start_matches('\\').trim_end_matches('$');
    if is_ip_literal(t) {
        return normalize_ip(t);
    }
    let short = t.split('.').next().unwrap_or(t);
    short.to_ascii_uppercase()
}

/// Canonical text of an IP: IPv4-mapped IPv6 (`::ffff:10.0.0.1`) becomes IPv4, IPv6 compressed.
pub fn normalize_ip(text: &str) -> String {
    canonical_ip(text).into_owned()
}

/// `normalize_ip` without a copy when the text already is canonical (a plain IPv4 address, as
/// nearly every address in the logs is).
pub fn canonical_ip(text: &str) -> std::borrow::Cow<'_, str> {
    let t = text.trim().trim_start_matches('[').trim_end_matches(']');
    let no_zone = t.split('%').next().unwrap_or(t);
    // The parser takes dotted quads without leading zeros only: the text is what it would print.
    if no_zone.parse::<std::net::Ipv4Addr>().is_ok() {
        return std::borrow::Cow::Borrowed(no_zone);
    }
    std::borrow::Cow::Owned(match no_zone.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        Ok(ip) => ip.to_string(),
        Err(_) => t.to_string(),
    })
}

/// Loopback, unspecified, or absent (`-`, empty).
pub fn is_loopback_or_empty(ip: &str) -> bool {
    let t = ip.trim();
    if t.is_empty() || t == "-" {
        return true;
    }
    match canonical_ip(t).parse::<std::net::IpAddr>() {
        Ok(addr) => addr.is_loopback() || addr.is_unspecified(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms_meet() {
        assert_eq!(host_key("WS01"), "WS01");
        assert_eq!(host_key("ws01.corp.local"), "WS01");
        assert_eq!(host_key("WS01.CORP.LOCAL"), "WS01");
        assert_eq!(host_key("WS01$"), "WS01");
        assert_eq!(host_key("\\\\ws01"), "WS01");
    }

    #[test]
    fn ip_keys_stay_whole() {
        assert_eq!(host_key("10.0.2.17"), "10.0.2.17");
        assert_eq!(normalize_ip("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(
            normalize_ip("fe80:0:0:0:90e:17af:263c:5209"),
            "fe80::90e:17af:263c:5209"
        );
    }

    #[test]
    fn canonical_addresses_are_read_in_place() {
        assert!(matches!(
            canonical_ip(" 10.0.0.1"),
            std::borrow::Cow::Borrowed("10.0.0.1")
        ));
        assert_eq!(canonical_ip("[fe80::1%3]"), "fe80::1");
        assert_eq!(canonical_ip("::ffff:10.0.0.1"), "10.0.0.1");
        // Not an address as Windows writes them: kept as written.
        assert_eq!(canonical_ip("010.0.0.1"), "010.0.0.1");
        assert_eq!(canonical_ip("ws01"), "ws01");
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_or_empty("::1"));
        assert!(is_loopback_or_empty("127.0.0.1"));
        assert!(is_loopback_or_empty("-"));
        assert!(is_loopback_or_empty("::ffff:127.0.0.1"));
        assert!(!is_loopback_or_empty("10.0.2.17"));
        assert!(!is_loopback_or_empty("fe80::1"));
    }
}
