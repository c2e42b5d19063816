//! Timestamps from evidence. All storage is UTC. Inputs come as RFC 3339 with an offset, as
//! `YYYY-MM-DD HH:MM:SS[.fraction]` without one (exporters that write local time), with 7 or 9
//! fraction digits, or as epoch numbers. A zone-less time is returned as naive so the caller can
//! apply the rule documented in the README (per-file offset inference, else UTC).

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// A parsed timestamp: either it carried an offset (then it is exact) or it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedTime {
    Zoned(DateTime<Utc>),
    Naive(NaiveDateTime),
}

impl ParsedTime {
    /// The UTC instant, reading a naive time as if it were at `offset` from UTC.
    pub fn to_utc(self, offset: TimeDelta) -> Option<DateTime<Utc>> {
        match self {
            ParsedTime::Zoned(t) => Some(t),
            ParsedTime::Naive(n) => n.checked_sub_signed(offset).map(|n| n.and_utc()),
        }
    }
}

/// Parses the timestamp forms seen in Windows event exports.
pub fn parse_time(text: &str) -> Option<ParsedTime> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(ParsedTime::Zoned(dt.with_timezone(&Utc)));
    }
    // RFC 3339 with a space instead of `T`, and an offset.
    if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(ParsedTime::Zoned(dt.with_timezone(&Utc)));
    }
    if let Some(stripped) = t.strip_suffix('Z').or_else(|| t.strip_suffix(" UTC")) {
        return parse_naive(stripped).map(|n| ParsedTime::Zoned(n.and_utc()));
    }
    if let Some(n) = parse_naive(t) {
        return Some(ParsedTime::Naive(n));
    }
    parse_epoch(t).map(ParsedTime::Zoned)
}

fn parse_naive(t: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
        "%m/%d/%Y %H:%M:%S%.f",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

/// Epoch seconds or milliseconds (ECS exports sometimes carry them as numbers).
pub fn parse_epoch(t: &str) -> Option<DateTime<Utc>> {
    let v: f64 = t.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    // Values past the year 2286 in seconds are milliseconds.
    let secs = if v > 1.0e10 { v / 1000.0 } else { v };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    // Why: bounded above (checked finite and non-negative; from_timestamp rejects out-of-range).
    let whole = secs.trunc() as i64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    // Why: the fraction of a second is in [0, 1), so nanoseconds fit u32.
    let nanos = ((secs - secs.trunc()) * 1e9) as u32;
    DateTime::from_timestamp(whole, nanos)
}

/// A UTC offset as people write it: `+02:00`, `-0400`, `+5`, `UTC`, `Z` (the one offset parser:
/// `--assume-tz`, and fixed zones of `--tz`).
pub fn parse_offset(text: &str) -> Result<TimeDelta, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(TimeDelta::zero());
    }
    let shape = || format!("offset must look like +02:00, -04:00 or UTC, got {t:?}");
    let (sign, rest) = match t.chars().next() {
        Some('+') => (1, &t[1..]),
        Some('-') => (-1, &t[1..]),
        _ => return Err(shape()),
    };
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let number = |s: &str| s.parse::<i64>().map_err(|_| shape());
    let (h, m) = match digits.len() {
        1 | 2 => (number(&digits)?, 0),
        4 => (number(&digits[..2])?, number(&digits[2..])?),
        _ => return Err(shape()),
    };
    if h > 14 || m > 59 {
        return Err(format!("offset out of range: {t:?}"));
    }
    TimeDelta::try_seconds(sign * (h * 3600 + m * 60))
        .ok_or_else(|| format!("offset out of range: {t:?}"))
}

/// Offset (rounded to 15 minutes) between a local time and the same instant in UTC.
pub fn infer_offset(local: NaiveDateTime, utc: DateTime<Utc>) -> Option<TimeDelta> {
    let diff = local.signed_duration_since(utc.naive_utc()).num_seconds();
    let quarter: i64 = 15 * 60;
    let secs = (diff + quarter / 2).div_euclid(quarter) * quarter;
    if secs.abs() > 14 * 3600 {
        return None;
    }
    TimeDelta::try_seconds(secs)
}

/// RFC 3339 text with microseconds and an explicit `Z`, as svchop prints every time.
pub fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Short form for tables: `2019-02-16 17:54:26.956Z`.
pub fn fmt_short(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_one_way_for_every_option() {
        assert_eq!(parse_offset("UTC").unwrap(), TimeDelta::zero());
        assert_eq!(parse_offset("-04:00").unwrap().num_seconds(), -4 * 3600);
        assert_eq!(
            parse_offset("+0530").unwrap().num_seconds(),
            5 * 3600 + 1800
        );
        assert!(parse_offset("4").is_err());
        assert!(parse_offset("+25:00").is_err());
        assert!(parse_offset("+05:99").is_err());
        assert!(
            matches!(DisplayZone::parse("-05:00"), Ok(DisplayZone::Fixed(o)) if o.local_minus_utc() == -5 * 3600)
        );
        assert!(
            DisplayZone::parse("+15:00").is_err(),
            "same range as --assume-tz"
        );
    }

    #[test]
    fn zoned_forms() {
        let a = parse_time("2019-02-16T17:54:26.956251Z").unwrap();
        let b = parse_time("2019-02-16 17:54:26.956251 UTC").unwrap();
        assert_eq!(a, b);
        let c = parse_time("2020-08-06T06:26:36.286+00:00").unwrap();
        assert!(matches!(c, ParsedTime::Zoned(_)));
        let nine = parse_time("2019-02-16T17:54:26.956251123Z").unwrap();
        assert!(matches!(nine, ParsedTime::Zoned(_)));
    }

    #[test]
    fn naive_forms() {
        let n = parse_time("2020-10-19 03:30:41.104").unwrap();
        assert!(matches!(n, ParsedTime::Naive(_)));
        let off = TimeDelta::try_hours(-4).unwrap();
        let utc = n.to_utc(off).unwrap();
        assert_eq!(fmt_short(utc), "2020-10-19 07:30:41.104Z");
    }

    #[test]
    fn epoch_forms() {
        let s = parse_time("1600000000").unwrap();
        let ms = parse_time("1600000000000").unwrap();
        assert_eq!(s, ms);
        assert!(parse_time("-5").is_none());
        assert!(parse_time("nonsense").is_none());
    }

    #[test]
    fn offset_inference_rounds_collector_delay() {
        let local =
            NaiveDateTime::parse_from_str("2020-09-20 12:16:56", "%Y-%m-%d %H:%M:%S").unwrap();
        let utc = parse_time("2020-09-20T16:16:58.233Z")
            .unwrap()
            .to_utc(TimeDelta::zero())
            .unwrap();
        assert_eq!(infer_offset(local, utc), TimeDelta::try_hours(-4));
    }
}

/// The zone times are shown in. Storage is always UTC; this only changes display, and every
/// displayed time carries its offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DisplayZone {
    #[default]
    Utc,
    /// The machine's zone (TZ, /etc/localtime).
    Local,
    Fixed(chrono::FixedOffset),
    Named(chrono_tz::Tz),
}

impl DisplayZone {
    /// `UTC`, `local`, `+02:00` / `-0430`, or an IANA name such as `Europe/Berlin`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(DisplayZone::Utc);
        }
        if t.eq_ignore_ascii_case("local") {
            return Ok(DisplayZone::Local);
        }
        if t.starts_with(['+', '-']) {
            let secs = parse_offset(t)?.num_seconds();
            return i32::try_from(secs)
                .ok()
                .and_then(chrono::FixedOffset::east_opt)
                .map(DisplayZone::Fixed)
                .ok_or_else(|| format!("offset out of range: {t:?}"));
        }
        t.parse::<chrono_tz::Tz>().map(DisplayZone::Named).map_err(|_| format!("unknown time zone {t:?}: use UTC, local, +HH:MM or an IANA name like Europe/Berlin"))
    }

    pub fn label(self) -> String {
        match self {
            DisplayZone::Utc => "UTC".into(),
            DisplayZone::Local => "local".into(),
            DisplayZone::Fixed(o) => o.to_string(),
            DisplayZone::Named(tz) => tz.name().into(),
        }
    }

    /// A wall-clock time in this zone as a UTC instant (the earlier one where a clock change
    /// repeats it; `None` where one skips it).
    pub fn to_utc(self, t: NaiveDateTime) -> Option<DateTime<Utc>> {
        use chrono::TimeZone;
        match self {
            DisplayZone::Utc => Some(t.and_utc()),
            DisplayZone::Local => chrono::Local
                .from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc)),
            DisplayZone::Fixed(o) => o
                .from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc)),
            DisplayZone::Named(tz) => tz
                .from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc)),
        }
    }

    /// `2019-02-16 18:54:26.956+01:00` (UTC prints `Z`).
    pub fn fmt(self, t: DateTime<Utc>) -> String {
        self.fmt_with(t, "%Y-%m-%d %H:%M:%S%.3f")
    }

    /// Any strftime pattern, with the offset appended.
    pub fn fmt_with(self, t: DateTime<Utc>, pattern: &str) -> String {
        match self {
            DisplayZone::Utc => format!("{}Z", t.format(pattern)),
            DisplayZone::Local => t
                .with_timezone(&chrono::Local)
                .format(&format!("{pattern}%:z"))
                .to_string(),
            DisplayZone::Fixed(o) => t
                .with_timezone(&o)
                .format(&format!("{pattern}%:z"))
                .to_string(),
            DisplayZone::Named(tz) => t
                .with_timezone(&tz)
                .format(&format!("{pattern}%:z"))
                .to_string(),
        }
    }
}

#[cfg(test)]
mod zone_tests {
    use super::*;

    #[test]
    fn zones_parse_and_show_their_offset() {
        let t = DateTime::from_timestamp(1_550_339_666, 956_000_000).unwrap();
        assert_eq!(
            DisplayZone::parse("UTC").unwrap().fmt(t),
            "2019-02-16 17:54:26.956Z"
        );
        assert_eq!(
            DisplayZone::parse("+01:00").unwrap().fmt(t),
            "2019-02-16 18:54:26.956+01:00"
        );
        assert_eq!(
            DisplayZone::parse("-0430").unwrap().fmt(t),
            "2019-02-16 13:24:26.956-04:30"
        );
        assert_eq!(
            DisplayZone::parse("Europe/Berlin").unwrap().fmt(t),
            "2019-02-16 18:54:26.956+01:00"
        );
        assert!(DisplayZone::parse("Mars/Olympus").is_err());
        assert!(DisplayZone::parse("+25:00").is_err());
        assert!(DisplayZone::parse("local").unwrap().fmt(t).contains(':'));
    }
}
