//! Sinks: every form svchop writes findings and events in. The pipeline pushes findings into a
//! `FindingSink` (the table, JSON, JSON lines, CSV, Markdown), one at a time, and the sink
//! writes them to any `io::Write`; the case report (Markdown, JSON), the ATT&CK layer, the
//! timeline and the normalized table are here too. The engine never formats; every string from
//! evidence is made safe here for its sink (terminal text, CSV formulas, Markdown, JSON).
//! Nothing outside this module formats findings for output.

pub mod attack_layer;
pub mod csv;
pub mod json;
pub mod markdown;
pub mod normalized;
pub mod report;
pub mod table;
pub mod text;
pub mod timeline;

use crate::detect::finding::{Finding, Severity};
use crate::model::time::DisplayZone;
use std::io::{self, Write};

/// Where findings go, one at a time (as a search pushes matches into its sink): `finding` for
/// each in order, then `finish` once. A sink that needs every finding before it can write
/// (a table's column widths, a count in a heading) keeps them until `finish`.
pub trait FindingSink {
    fn finding(&mut self, f: &Finding) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
}

/// The forms a list of findings is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsFormat {
    Table,
    Json,
    Jsonl,
    Csv,
    Md,
}

/// What a listing says around its findings.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The profile that made the findings (the table's footer, the Markdown title).
    pub profile: String,
    pub zone: DisplayZone,
    /// The terminal's width for the table (`None`: whole, not fitted).
    pub width: Option<usize>,
    /// Findings the allow-list suppressed that the listing leaves out (the table says how many).
    pub suppressed_hidden: usize,
    /// What the table's footer says.
    pub footer: Footer,
}

impl Listing {
    /// A listing of this profile's findings, whole (not fitted), with `svchop scan`'s footer.
    pub fn new(profile: impl Into<String>, zone: DisplayZone) -> Self {
        Listing {
            profile: profile.into(),
            zone,
            width: None,
            suppressed_hidden: 0,
            footer: Footer::Scan,
        }
    }
}

/// The table's last lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Footer {
    /// `svchop scan` and `fleet rank`: the count and profile, the stage legend, how many the
    /// allow-list hid and how to list them.
    Scan,
    /// The demo's summary: the count and the stage legend on one line.
    Demo,
}

/// The stage letters of the table's STAGES column.
pub const STAGE_LEGEND: &str =
    "Stages: S source L logon H share P pipe I install/M modified E exec C cleanup\n";

/// The sink for one format, writing to `out`.
pub fn findings_sink<'w, W: Write + 'w>(
    format: FindingsFormat,
    listing: Listing,
    out: W,
) -> Box<dyn FindingSink + 'w> {
    match format {
        FindingsFormat::Table => Box::new(Kept::new(out, listing, KeptForm::Table)),
        FindingsFormat::Md => Box::new(Kept::new(out, listing, KeptForm::Markdown)),
        FindingsFormat::Json => Box::new(JsonArray { out, any: false }),
        FindingsFormat::Jsonl => Box::new(JsonLines { out }),
        FindingsFormat::Csv => Box::new(csv::CsvSink::new(out)),
    }
}

/// Pushes findings into a sink, then finishes it.
pub fn write_all<'f>(
    sink: &mut dyn FindingSink,
    findings: impl IntoIterator<Item = &'f Finding>,
) -> io::Result<()> {
    for f in findings {
        sink.finding(f)?;
    }
    sink.finish()
}

/// Which findings a listing shows: at or above `min`, and the suppressed ones only when asked.
pub fn shown(f: &Finding, min: Severity, show_suppressed: bool) -> bool {
    f.severity >= min && (show_suppressed || !f.is_suppressed())
}

/// JSON lines: one finding a line, written as it comes.
struct JsonLines<W> {
    out: W,
}

impl<W: Write> FindingSink for JsonLines<W> {
    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        self.out.write_all(json::line(f)?.as_bytes())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A pretty JSON array, each finding written as it comes (the same text as the array at once).
struct JsonArray<W> {
    out: W,
    any: bool,
}

impl<W: Write> FindingSink for JsonArray<W> {
    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        let text = json::pretty(f)?;
        self.out.write_all(if self.any { b",\n" } else { b"[\n" })?;
        self.any = true;
        for (i, l) in text.lines().enumerate() {
            if i > 0 {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(b"  ")?;
            self.out.write_all(l.as_bytes())?;
        }
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.out
            .write_all(if self.any { b"\n]\n" } else { b"[]\n" })?;
        self.out.flush()
    }
}

enum KeptForm {
    Table,
    Markdown,
}

/// A form that needs every finding first (column widths, a count in the heading).
struct Kept<W> {
    out: W,
    listing: Listing,
    form: KeptForm,
    findings: Vec<Finding>,
}

impl<W: Write> Kept<W> {
    fn new(out: W, listing: Listing, form: KeptForm) -> Self {
        Kept {
            out,
            listing,
            form,
            findings: Vec::new(),
        }
    }
}

impl<W: Write> FindingSink for Kept<W> {
    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        self.findings.push(f.clone());
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        let all: Vec<&Finding> = self.findings.iter().collect();
        let text = match self.form {
            KeptForm::Table => table::listing(&all, &self.listing),
            KeptForm::Markdown => markdown::findings_md(
                &all,
                &format!("svchop findings (profile {})", self.listing.profile),
            ),
        };
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::{Evidence, Investigation, Options};

    /// The findings of a small demo case (several tools, suppressed ones too).
    fn sample_findings() -> Vec<Finding> {
        let demo = crate::demo::generate(&crate::demo::DemoOptions {
            noise_per_day: 20,
            ..Default::default()
        });
        let options = Options::scan_with(
            Some(crate::detect::Detector::builtin("default").unwrap()),
            crate::ingest::LoadOptions::default(),
        );
        Investigation::open(Evidence::Demo(Box::new(demo)), &options, &|_| {})
            .unwrap()
            .findings
    }

    fn written(format: FindingsFormat, findings: &[Finding]) -> String {
        let listing = Listing::new("default", DisplayZone::Utc);
        let mut out = Vec::new();
        let mut sink = findings_sink(format, listing, &mut out);
        write_all(sink.as_mut(), findings).unwrap();
        drop(sink);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_streamed_json_array_is_the_array_at_once() {
        let findings = sample_findings();
        assert!(findings.len() >= 2, "two findings at least");
        for n in [0, 1, findings.len()] {
            let want = json::pretty(&findings[..n]).unwrap() + "\n";
            assert_eq!(written(FindingsFormat::Json, &findings[..n]), want);
        }
        let csv = written(FindingsFormat::Csv, &findings);
        assert_eq!(
            csv.lines().count(),
            findings.len() + 1,
            "a header and a row each"
        );
        assert_eq!(
            written(FindingsFormat::Csv, &[]).lines().count(),
            1,
            "the header alone"
        );
        let lines = written(FindingsFormat::Jsonl, &findings);
        assert_eq!(lines.lines().count(), findings.len());
        for (l, f) in lines.lines().zip(&findings) {
            let back: Finding = serde_json::from_str(l).unwrap();
            assert_eq!(back.id, f.id);
        }
    }
}
