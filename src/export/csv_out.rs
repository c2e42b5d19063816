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

pub fn findings_csv(findings: &[&Finding]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    for f in findings {
        let images: Vec<&str> = f
            .services
            .iter()
            .filter_map(|s| s.image_path.as_deref())
            .collect();
        let stages: Vec<&str> = f.stages.iter().map(|s| s.stage.label()).collect();
        let missing: Vec<&str> = f.missing_stages.iter().map(|s| s.label()).collect();
        let row = [
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
        ];
        w.write_record(row.iter().map(|c| for_csv(c)))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
