//! Filters an analyst types (the workbench's `f`): a few `key:value` conditions and free words,
//! matched against findings and events. Pure: the workbench applies it to Targets, the Timeline
//! and pivots; `events`/`timeline` share the time bounds.
//!
//! ```text
//! sev:high host:ws01 user:admin tool:psexec src:10.0.0.5 svc:PSEXESVC
//! since:2020-10-19 until:"2020-10-20 12:00" is:suppressed  mimikatz "cmd /c"
//! ```
//! Conditions of different keys must all hold; values of one key repeated are alternatives.
//! Values and words match case-insensitively as substrings; a free word matches a finding when it
//! appears in one of the finding's values or in any field of one of its events, and an event when
//! it appears in any of its fields (command lines, pipe names, paths, ...). Times without an
//! offset are read in the zone the workbench shows; a date alone is the whole day.

use crate::detect::finding::{Finding, Severity};
use crate::model::Event;
use crate::model::time::{DisplayZone, ParsedTime, parse_time};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

/// Whether suppressed findings are shown, hidden, or the only ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suppressed {
    /// As the workbench's `S` toggle says.
    #[default]
    AsToggled,
    Only,
    Hide,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// As typed (shown in the status line, offered again for editing).
    pub text: String,
    pub min_severity: Option<Severity>,
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    pub tools: Vec<String>,
    pub sources: Vec<String>,
    pub services: Vec<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub suppressed: Suppressed,
    /// Free words and quoted phrases, lowercased; all must appear.
    pub words: Vec<String>,
}

/// Splits on spaces, keeping `"quoted phrases"` (also as a `key:"value"`) whole.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A time bound: a date alone is its first instant (`end`: the last of that day); a time
/// without an offset is in `zone`. Shared with `events`/`timeline` `--since`/`--until`.
pub fn bound(value: &str, zone: DisplayZone, end: bool) -> Result<DateTime<Utc>, String> {
    let naive = if let Some(p) = parse_time(value) {
        match p {
            ParsedTime::Zoned(t) => return Ok(t),
            ParsedTime::Naive(n) => n,
        }
    } else if let Ok(d) = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        if end {
            start + TimeDelta::try_days(1).unwrap_or_default() - TimeDelta::nanoseconds(1)
        } else {
            start
        }
    } else if let Ok(n) = NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%d %H:%M") {
        n
    } else {
        return Err(format!(
            "`{value}` is not a time (2020-10-19, \"2020-10-19 13:05\", 2020-10-19T13:05:00Z)"
        ));
    };
    zone.to_utc(naive)
        .ok_or_else(|| format!("`{value}` does not exist in {}", zone.label()))
}

impl Filter {
    /// Parses what the analyst typed; times without an offset are in `zone`.
    pub fn parse(text: &str, zone: DisplayZone) -> Result<Filter, String> {
        let mut f = Filter {
            text: text.trim().to_string(),
            ..Filter::default()
        };
        for tok in tokens(text) {
            let Some((key, value)) = tok.split_once(':').filter(|(k, v)| {
                !v.is_empty()
                    && matches!(
                        k.to_ascii_lowercase().as_str(),
                        "sev"
                            | "severity"
                            | "host"
                            | "user"
                            | "tool"
                            | "src"
                            | "source"
                            | "svc"
                            | "service"
                            | "since"
                            | "until"
                            | "is"
                    )
            }) else {
                f.words.push(tok.to_lowercase());
                continue;
            };
            let lower = value.to_lowercase();
            match key.to_ascii_lowercase().as_str() {
                "sev" | "severity" => {
                    let s = Severity::parse(value.trim_end_matches('+')).ok_or_else(|| {
                        format!("`{value}`: severity is low, medium, high or critical")
                    })?;
                    f.min_severity = Some(s);
                }
                "host" => f.hosts.push(lower),
                "user" => f.users.push(lower),
                "tool" => f.tools.push(lower),
                "src" | "source" => f.sources.push(lower),
                "svc" | "service" => f.services.push(lower),
                "since" => f.since = Some(bound(value, zone, false)?),
                "until" => f.until = Some(bound(value, zone, true)?),
                _ => {
                    f.suppressed = match lower.as_str() {
                        "suppressed" | "allowlisted" | "allow-listed" => Suppressed::Only,
                        "active" | "open" => Suppressed::Hide,
                        _ => return Err(format!("`is:{value}`: is:suppressed or is:active")),
                    };
                }
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        *self
            == Filter {
                text: self.text.clone(),
                ..Filter::default()
            }
    }

    /// Whether events are filtered at all (free words or a time bound).
    pub fn filters_events(&self) -> bool {
        !self.words.is_empty() || self.since.is_some() || self.until.is_some()
    }

    /// Whether a finding passes; `events` gives the finding's stage events (decoded on demand,
    /// only when free words are asked for).
    pub fn matches_finding(&self, f: &Finding, events: &dyn Fn(usize) -> Option<Event>) -> bool {
        let any = |wanted: &[String], have: &mut dyn Iterator<Item = &str>| {
            wanted.is_empty() || {
                let have: Vec<String> = have.map(str::to_lowercase).collect();
                wanted.iter().any(|w| have.iter().any(|h| h.contains(w)))
            }
        };
        if self.min_severity.is_some_and(|m| f.severity < m) {
            return false;
        }
        match self.suppressed {
            Suppressed::Only if !f.is_suppressed() => return false,
            Suppressed::Hide if f.is_suppressed() => return false,
            _ => {}
        }
        if self.since.is_some_and(|s| f.last_seen < s)
            || self.until.is_some_and(|u| f.first_seen > u)
        {
            return false;
        }
        let services = f
            .services
            .iter()
            .flat_map(|s| [s.name.as_deref(), s.image_path.as_deref()])
            .flatten();
        let sources = f
            .source_hosts
            .iter()
            .chain(&f.source_ips)
            .map(String::as_str);
        if !(any(&self.hosts, &mut std::iter::once(f.target_host.as_str()))
            && any(&self.users, &mut f.user.as_deref().into_iter())
            && any(&self.tools, &mut f.tools.iter().map(String::as_str))
            && any(&self.sources, &mut sources.clone())
            && any(&self.services, &mut services.clone()))
        {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let mut own: Vec<String> = [f.id.as_str(), f.target_host.as_str(), f.profile.as_str()]
            .into_iter()
            .chain(f.user.as_deref())
            .chain(sources)
            .chain(services)
            .chain(f.processes.iter().map(String::as_str))
            .chain(f.tools.iter().map(String::as_str))
            .chain(f.stages.iter().map(|s| s.link.as_str()))
            .map(str::to_lowercase)
            .collect();
        let mut decoded = false;
        for w in &self.words {
            if own.iter().any(|v| v.contains(w)) {
                continue;
            }
            if !decoded {
                decoded = true;
                own.extend(
                    f.stages
                        .iter()
                        .filter_map(|s| events(s.event_index))
                        .flat_map(|e| event_values(&e)),
                );
                if own.iter().any(|v| v.contains(w)) {
                    continue;
                }
            }
            return false;
        }
        true
    }

    /// Whether an event passes the time bounds and the free words (its every field).
    pub fn matches_event(&self, e: &Event) -> bool {
        if self.since.is_some_and(|s| e.ts < s) || self.until.is_some_and(|u| e.ts > u) {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let values = event_values(e);
        self.words
            .iter()
            .all(|w| values.iter().any(|v| v.contains(w.as_str())))
    }
}

/// Every value of an event, lowercased: host, channel, event id and each field as read.
pub fn event_values(e: &Event) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.to_lowercase()),
            serde_json::Value::Number(n) => out.push(n.to_string()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = vec![
        e.host.display.to_lowercase(),
        e.channel.name().to_lowercase(),
        e.event_id.to_string(),
    ];
    if let Ok(v) = serde_json::to_value(&e.fields) {
        walk(&v, &mut out);
    }
    out.extend(e.extra.iter().map(|(_, v)| v.to_lowercase()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::ev;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_keys_words_phrases_and_days() {
        let f = Filter::parse(
            r#"sev:high host:WS01 host:dc tool:psexec since:2020-10-19 until:2020-10-19 "cmd /c" Mimikatz is:active"#,
            DisplayZone::Utc,
        )
        .unwrap();
        assert_eq!(f.min_severity, Some(Severity::High));
        assert_eq!(f.hosts, ["ws01", "dc"]);
        assert_eq!(f.tools, ["psexec"]);
        assert_eq!(f.words, ["cmd /c", "mimikatz"]);
        assert_eq!(f.since, Some(utc("2020-10-19T00:00:00Z")));
        assert_eq!(f.until, Some(utc("2020-10-19T23:59:59.999999999Z")));
        assert_eq!(f.suppressed, Suppressed::Hide);
        // A zone-less time is read in the zone shown.
        let plus2 = DisplayZone::parse("+02:00").unwrap();
        let g = Filter::parse(r#"since:"2020-10-19 13:05""#, plus2).unwrap();
        assert_eq!(g.since, Some(utc("2020-10-19T11:05:00Z")));
        // An unknown key is a free word; a bad value is an error that says what is expected.
        assert_eq!(
            Filter::parse("c:\\windows", DisplayZone::Utc)
                .unwrap()
                .words,
            ["c:\\windows"]
        );
        assert!(
            Filter::parse("sev:urgent", DisplayZone::Utc)
                .unwrap_err()
                .contains("critical")
        );
        assert!(Filter::parse("since:yesterday", DisplayZone::Utc).is_err());
        assert!(Filter::parse("  ", DisplayZone::Utc).unwrap().is_empty());
    }

    #[test]
    fn free_words_reach_every_event_field() {
        let mut e = ev("WS01", 0, crate::model::Channel::Sysmon, 1).done();
        e.fields.process.command_line =
            Some("cmd.exe /c whoami > \\\\127.0.0.1\\ADMIN$\\__out".into());
        let f = Filter::parse("WHOAMI admin$", DisplayZone::Utc).unwrap();
        assert!(f.matches_event(&e));
        assert!(
            !Filter::parse("mimikatz", DisplayZone::Utc)
                .unwrap()
                .matches_event(&e)
        );
        assert!(
            Filter::parse("ws01 sysmon", DisplayZone::Utc)
                .unwrap()
                .matches_event(&e)
        );
        let late = Filter::parse("since:2030-01-01", DisplayZone::Utc).unwrap();
        assert!(!late.matches_event(&e));
    }
}
