//! One-line, human wording of a normalized event, used by tables, the timeline and exports.
//! The text is raw (not sanitized): callers sanitize for their sink.

use super::event::Event;

fn or_dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

/// A short summary such as `logon type 3 IEUser from 10.0.2.16 (NTLM)`.
pub fn summary(e: &Event) -> String {
    let f = &e.fields;
    let actor = e.actor().unwrap_or_else(|| "-".into());
    match (e.event_id, &e.channel) {
        (4624, _) => format!(
            "logon type {} {} from {} ({}) logon {}",
            f.logon.logon_type.map_or("-".into(), |t| t.to_string()),
            actor,
            or_dash(f.net.src_ip.as_deref()),
            or_dash(f.logon.auth_package.as_deref()),
            f.logon_id.map_or("-".into(), |l| l.to_string())
        ),
        (4672, _) => format!("special privileges for {actor}"),
        (4648, _) => format!(
            "explicit credentials by {actor} for {}",
            or_dash(f.target.user.as_deref())
        ),
        (4697 | 7045, _) => format!(
            "service installed {} -> {} by {}",
            or_dash(f.service.name.as_deref()),
            or_dash(f.service.image_path.as_deref()),
            actor
        ),
        (5140 | 5145, _) => format!(
            "share {} {} by {} from {}",
            or_dash(f.share.share_name.as_deref()),
            or_dash(f.share.relative_target.as_deref()),
            actor,
            or_dash(f.net.src_ip.as_deref())
        ),
        (7036 | 7035 | 7034 | 7000 | 7009, _) => format!(
            "service {} {}",
            or_dash(f.service.name.as_deref()),
            or_dash(f.service.state.as_deref())
        ),
        (1 | 4688, _) => format!(
            "process {} (parent {})",
            or_dash(
                f.process
                    .command_line
                    .as_deref()
                    .or(f.process.image.as_deref())
            ),
            or_dash(f.process.parent_image.as_deref())
        ),
        (3, _) => format!(
            "network {}:{} -> {}:{} by {}",
            or_dash(f.net.src_ip.as_deref()),
            f.net.src_port.map_or("-".into(), |p| p.to_string()),
            or_dash(f.net.dst_ip.as_deref()),
            f.net.dst_port.map_or("-".into(), |p| p.to_string()),
            or_dash(f.process.image.as_deref())
        ),
        (11 | 23 | 26, _) => format!(
            "file {} {} by {}",
            if e.event_id == 11 {
                "created"
            } else {
                "deleted"
            },
            or_dash(f.share.file_path.as_deref()),
            or_dash(f.process.image.as_deref())
        ),
        (12 | 13, _) => format!(
            "registry {} {} = {}",
            or_dash(f.registry.event_type.as_deref()),
            or_dash(f.registry.target_object.as_deref()),
            or_dash(f.registry.details.as_deref())
        ),
        (17 | 18, _) => format!(
            "pipe {} {} by {}",
            if e.event_id == 17 {
                "created"
            } else {
                "connected"
            },
            or_dash(f.share.pipe_name.as_deref()),
            or_dash(f.process.image.as_deref())
        ),
        _ => format!("event {}", e.event_id),
    }
}
