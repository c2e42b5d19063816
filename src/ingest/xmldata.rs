//! The `EventData` column of Microsoft Sentinel rows: either the XML `<Data Name="…">` elements
//! or the rendered message text that the Sentinel KQL rule extracts with `Label:\s+value`.

use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;

/// `<Data Name="X">v</Data>` pairs; unnamed `<Data>` become `param1`, `param2`, …
pub fn data_pairs(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut text = String::new();
    let mut unnamed = 0;
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(e)) if e.local_name().as_ref() == b"Data" => {
                let name = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"Name")
                    .and_then(|a| a.unescape_value().ok().map(std::borrow::Cow::into_owned));
                current = Some(name.unwrap_or_else(|| {
                    unnamed += 1;
                    format!("param{unnamed}")
                }));
                text.clear();
            }
            Ok(XmlEvent::Text(t)) if current.is_some() => {
                if let Ok(s) = t.decode() {
                    text.push_str(&quick_xml::escape::unescape(&s).unwrap_or(s.clone()));
                }
            }
            Ok(XmlEvent::End(e)) if e.local_name().as_ref() == b"Data" => {
                if let Some(name) = current.take() {
                    out.push((name, std::mem::take(&mut text)));
                }
            }
            Ok(XmlEvent::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// Pairs from message text. Labels inside the `Subject:` block map to `Subject*` fields, inside
/// `New Logon:` / `Account Whose Credentials` to `Target*`, as the Sentinel rule reads them.
pub fn message_pairs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut block = "";
    for line in text.lines() {
        let t = line.trim();
        if let Some(head) = t.strip_suffix(':') {
            block = match head {
                "Subject" => "Subject",
                "New Logon" | "Account Whose Credentials Were Used" => "Target",
                _ => "",
            };
            continue;
        }
        let Some((label, value)) = t.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        let name = match (block, label.trim()) {
            (b, "Security ID") if !b.is_empty() => format!("{b}UserSid"),
            (b, "Account Name") if !b.is_empty() => format!("{b}UserName"),
            (b, "Account Domain") if !b.is_empty() => format!("{b}DomainName"),
            (b, "Logon ID") if !b.is_empty() => format!("{b}LogonId"),
            (_, "Service Name") => "ServiceName".into(),
            (_, "Service File Name") => "ServiceFileName".into(),
            (_, "Service Account") => "ServiceAccount".into(),
            (_, "Service Type") => "ServiceType".into(),
            (_, "Service Start Type") => "ServiceStartType".into(),
            (_, "Logon Type") => "LogonType".into(),
            (_, "Source Network Address") => "IpAddress".into(),
            (_, "Workstation Name") => "WorkstationName".into(),
            _ => continue,
        };
        out.push((name, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_named_and_unnamed() {
        let x = r#"<EventData xmlns="x"><Data Name="ServiceName">PSEXESVC</Data><Data Name="ServiceFileName">%SystemRoot%\PSEXESVC.exe</Data><Data>running</Data></EventData>"#;
        let p = data_pairs(x);
        assert_eq!(p[0], ("ServiceName".into(), "PSEXESVC".into()));
        assert_eq!(p[1].1, "%SystemRoot%\\PSEXESVC.exe");
        assert_eq!(p[2].0, "param1");
    }

    #[test]
    fn message_text_like_the_kql_rule() {
        let m = "A service was installed in the system.\r\n\r\nSubject:\r\n\tSecurity ID:\t\tS-1-5-21-1\r\n\tAccount Name:\t\tadmin\r\n\tAccount Domain:\t\tCORP\r\n\tLogon ID:\t\t0x3E8\r\n\r\nService Information:\r\n\tService Name:\t\tPSEXESVC\r\n\tService File Name:\t%SystemRoot%\\PSEXESVC.exe\r\n";
        let p = message_pairs(m);
        assert!(p.contains(&("SubjectLogonId".into(), "0x3E8".into())));
        assert!(p.contains(&("ServiceName".into(), "PSEXESVC".into())));
        assert!(p.contains(&("SubjectUserName".into(), "admin".into())));
    }
}
