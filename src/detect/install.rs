//! Service installs from every source (7045, 4697, Sysmon 13 `Services\<key>\ImagePath`,
//! Defender `ServiceInstalled`), the profile's exclusions, and grouping of the records one install
//! leaves in several logs (display name in 7045, key name in 4697, same image path).

use super::context::HostView;
use super::patterns::{exe_path, normalize_percent};
use super::profile::{InstallSource, Profile, secs};
use crate::model::{Channel, Event, LogonId};
use chrono::{DateTime, Utc};

/// What one install record says.
#[derive(Debug, Clone)]
pub struct InstallRecord {
    pub idx: usize,
    /// The record's event id (7045, 4697, Sysmon 13, Defender): two records of one kind with
    /// different names are two services, whatever their images.
    pub event_id: u16,
    pub ts: DateTime<Utc>,
    pub name: Option<String>,
    pub image: Option<String>,
    pub account: Option<String>,
    pub logon_id: Option<LogonId>,
    pub sid: Option<String>,
    pub user: Option<String>,
    /// Whether the record declares a kernel or file-system driver (`ServiceType`, in any
    /// language); `None` when it gives no type (Sysmon 13).
    pub kernel_driver: Option<bool>,
}

/// Whether a `ServiceType` value (7045 words it in the system's language, 4697 gives the code)
/// declares a kernel or file-system driver.
pub fn is_driver_type(t: &str) -> bool {
    let l = t.trim().to_lowercase();
    matches!(l.as_str(), "0x1" | "0x2" | "1" | "2")
        || [
            "driver",
            "treiber",
            "pilote",
            "controlador",
            "ドライバー",
            "驱动程序",
            "драйвер",
        ]
        .iter()
        .any(|w| l.contains(w))
}

/// The key name in `HKLM\System\CurrentControlSet\Services\<key>\ImagePath`.
pub fn service_key_from_registry(target_object: &str) -> Option<&str> {
    let lower = target_object.to_ascii_lowercase();
    let i = lower
        .find("\\currentcontrolset\\services\\")
        .or_else(|| lower.find("\\controlset001\\services\\"))?;
    let rest = &target_object[i..];
    let rest = &rest[rest.to_ascii_lowercase().find("\\services\\")? + "\\services\\".len()..];
    let (key, value) = rest.split_once('\\')?;
    value.eq_ignore_ascii_case("ImagePath").then_some(key)
}

fn own(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

/// Reads an install record when the profile counts this kind of event as an install.
pub fn install_record(idx: usize, e: &Event, p: &Profile) -> Option<InstallRecord> {
    let f = &e.fields;
    let rule = &p.install;
    let source = match (e.event_id, &e.channel) {
        (4697, Channel::Security) => InstallSource::Security4697,
        (4697, Channel::Defender) => InstallSource::Defender,
        (7045, Channel::System) => InstallSource::System7045,
        (13, Channel::Sysmon) => InstallSource::SysmonRegistry,
        _ => return None,
    };
    if !rule.sources.contains(&source) {
        return None;
    }
    let (name, image) = if e.event_id == 13 {
        let key = service_key_from_registry(f.registry.target_object.as_deref()?)?;
        if f.registry
            .event_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("SetValue"))
        {
            return None;
        }
        (
            Some(key.to_string()),
            f.registry.details.as_deref().map(normalize_percent),
        )
    } else {
        (
            own(f.service.name.as_deref()),
            own(f.service.image_path.as_deref()),
        )
    };
    let rec = InstallRecord {
        idx,
        event_id: e.event_id,
        ts: e.ts,
        name,
        image,
        account: own(f.service.account.as_deref()),
        logon_id: if e.event_id == 7045 {
            None
        } else {
            f.subject_logon_id
        },
        sid: own(f.subject.sid.as_deref().or(f.user_sid.as_deref())),
        user: f.subject.display(),
        kernel_driver: f.service.service_type.as_deref().map(is_driver_type),
    };
    (!excluded(&rec, p)).then_some(rec)
}

fn excluded(r: &InstallRecord, p: &Profile) -> bool {
    let rule = &p.install;
    r.logon_id
        .is_some_and(|l| rule.exclude_subject_logon_ids.contains(&l))
        || r.image
            .as_deref()
            .is_some_and(|i| rule.exclude_images.iter().any(|re| re.is_match(i)))
        || r.name
            .as_deref()
            .is_some_and(|n| rule.exclude_service_names.contains(&n.to_ascii_lowercase()))
}

/// Install records of one host, grouped: same name or same executable within `install_merge`.
pub fn install_groups(view: &HostView<'_>, p: &Profile) -> Vec<Vec<InstallRecord>> {
    let merge = secs(p.windows.install_merge);
    let mut groups: Vec<Vec<InstallRecord>> = Vec::new();
    for (i, e) in view.events_of(crate::model::stages::table().pass("install")) {
        let Some(rec) = install_record(i, &e, p) else {
            continue;
        };
        // A group is one install: at most one name per kind of record (a 7045 and a 4697 of
        // one install may differ, display vs key name; two 7045s with different names are two
        // services, even with one image, as in a mass deployment of one command).
        let same = groups.iter_mut().rev().take(8).find(|g| {
            g.iter()
                .any(|o| rec.ts.signed_duration_since(o.ts).abs() <= merge && same_service(o, &rec))
                && !g.iter().any(|o| other_name_of_kind(o, &rec))
        });
        match same {
            Some(g) => g.push(rec),
            None => groups.push(vec![rec]),
        }
    }
    groups
}

/// What identifies a service's image: the executable, or the whole command when the
/// executable is a shell (`%COMSPEC% /c ...` services differ only by their command).
fn image_key(image: &str) -> String {
    let exe = exe_path(image);
    let name = super::patterns::file_name(&exe);
    if exe == "%comspec%"
        || matches!(
            name.as_str(),
            "cmd.exe" | "powershell.exe" | "pwsh.exe" | "rundll32.exe"
        )
    {
        crate::detect::patterns::normalize_percent(image)
            .to_ascii_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        exe
    }
}

fn other_name_of_kind(a: &InstallRecord, b: &InstallRecord) -> bool {
    a.event_id == b.event_id
        && matches!((&a.name, &b.name), (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y))
}

fn same_service(a: &InstallRecord, b: &InstallRecord) -> bool {
    if other_name_of_kind(a, b) {
        return false;
    }
    let names = matches!((&a.name, &b.name), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
    let images = matches!((&a.image, &b.image), (Some(x), Some(y)) if !image_key(x).is_empty() && image_key(x) == image_key(y));
    names || images
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_key_names() {
        assert_eq!(
            service_key_from_registry(
                "HKLM\\System\\CurrentControlSet\\services\\hello\\ImagePath"
            ),
            Some("hello")
        );
        assert_eq!(
            service_key_from_registry(
                "HKLM\\System\\CurrentControlSet\\Services\\PSEXESVC\\ImagePath"
            ),
            Some("PSEXESVC")
        );
        assert_eq!(
            service_key_from_registry("HKLM\\System\\CurrentControlSet\\Services\\PSEXESVC\\Start"),
            None
        );
        assert_eq!(service_key_from_registry("HKLM\\SOFTWARE\\x"), None);
    }
}
