//! The one list of event ids the detections use. Records outside it are counted as read and
//! dropped before a normalized `Event` is built, so large collections stay cheap in memory.

use crate::model::Channel;

/// Security: logons, special privileges, explicit credentials, process creation, service
/// install, share access.
pub const SECURITY_IDS: &[u16] = &[4624, 4648, 4672, 4688, 4697, 5140, 5145];
/// System (Service Control Manager): install, start failures, crash, start/stop control, state.
pub const SYSTEM_IDS: &[u16] = &[7000, 7009, 7034, 7035, 7036, 7045];
/// Sysmon: process, network, file create, registry, pipes, file delete.
pub const SYSMON_IDS: &[u16] = &[1, 3, 11, 12, 13, 17, 18, 23, 26];

/// Whether an event of this channel and id is kept for the detections.
pub fn is_kept(channel: &Channel, event_id: u16) -> bool {
    match channel {
        Channel::Security => SECURITY_IDS.contains(&event_id),
        Channel::System => SYSTEM_IDS.contains(&event_id),
        Channel::Sysmon => SYSMON_IDS.contains(&event_id),
        // Defender rows are mapped to a Windows id on read; anything not mapped is 0.
        Channel::Defender => event_id != 0,
        Channel::Other(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_detection_ids_only() {
        assert!(is_kept(&Channel::Security, 4624));
        assert!(is_kept(&Channel::System, 7045));
        assert!(is_kept(&Channel::Sysmon, 17));
        assert!(!is_kept(&Channel::Security, 4907));
        assert!(!is_kept(&Channel::System, 16));
        assert!(!is_kept(&Channel::Other("Application".into()), 1));
    }
}
