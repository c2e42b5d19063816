//! Findings as CSV: fixed columns, RFC 4180 quoting by the csv crate, every cell neutralized
//! against spreadsheet formula injection.

use crate::detect::finding::Finding;
use crate::model::sanitize::for_csv;
use crate::model::time::fmt_utc;

pub const HEADER: &[&str] = &[
    "id",
    "severity",
    "score",
    "target_host",
    "source_hosts",
    "source_ips",
    "user",
    "services",
    "image_paths",
    "tools",
    "first_seen",
    "last_seen",
    "stages",
    "missing_stages",
    "origin",
    "suppressed_by",
];

/// Findings as CSV rows, written as they come (the header first).
pub struct CsvSink<W: std::io::Write> {
    w: csv::Writer<W>,
    header: bool,
}

impl<W: std::io::Write> CsvSink<W> {
    pub fn new(out: W) -> Self {
        CsvSink {
            w: csv::Writer::from_writer(out),
            header: false,
        }
    }

    fn header(&mut self) -> csv::Result<()> {
        if !self.header {
            self.header = true;
            self.w.write_record(HEADER)?;
        }
        Ok(())
    }
}

impl<W: std::io::Write> super::FindingSink for CsvSink<W> {
    fn finding(&mut self, f: &Finding) -> std::io::Result<()> {
        self.header()?;
        self.w.write_record(row(f).iter().map(|c| for_csv(c)))?;
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.header()?;
        self.w.flush()
    }
}

/// A finding's cells, in `HEADER`'s order (not yet made safe for a spreadsheet).
fn row(f: &Finding) -> [String; 16] {
    let images: Vec<&str> = f
        .services
        .iter()
        .filter_map(|s| s.image_path.as_deref())
        .collect();
    let stages: Vec<&str> = f.stages.iter().map(|s| s.stage.label()).collect();
    let missing: Vec<&str> = f.missing_stages.iter().map(|s| s.label()).collect();
    [
        f.id.clone(),
        f.severity.label().into(),
        f.score.to_string(),
        f.target_host.clone(),
        f.source_hosts.join(";"),
        f.source_ips.join(";"),
        f.user.clone().unwrap_or_default(),
        f.service_label(),
        images.join(";"),
        f.tools.join(";"),
        fmt_utc(f.first_seen),
        fmt_utc(f.last_seen),
        stages.join(";"),
        missing.join(";"),
        format!("{:?}", f.origin.kind).to_ascii_lowercase(),
        f.suppressed_by
            .as_ref()
            .map(|s| format!("{}={} ({})", s.field, s.pattern, s.reason))
            .unwrap_or_default(),
    ]
}
