//! Which records the detections use (the ids of the stage table). Records outside it are counted as read and
//! dropped before a normalized `Event` is built, so large collections stay cheap in memory.

use crate::model::Channel;

/// Whether an event of this channel and id is kept for the detections: every id of the stage
/// table (`assets/stages.toml`).
pub fn is_kept(channel: &Channel, event_id: u16) -> bool {
    // Looked up per record: each log's ids resolved once.
    static IDS: std::sync::LazyLock<[&[u16]; 3]> = std::sync::LazyLock::new(|| {
        let t = crate::model::stages::table();
        [Channel::Security, Channel::System, Channel::Sysmon].map(|c| t.kept_ids(c.name()))
    });
    let of = |n: usize| IDS[n].binary_search(&event_id).is_ok();
    match channel {
        Channel::Security => of(0),
        Channel::System => of(1),
        Channel::Sysmon => of(2),
        // Defender rows are mapped to a Windows id on read; anything not mapped is 0.
        Channel::Defender => event_id != 0,
        Channel::Other(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_the_ids_the_detections_read() {
        // The ids kept before the stage table existed, per log (and 7040): the table keeps them.
        let before: [(Channel, &[u16]); 3] = [
            (
                Channel::Security,
                &[4624, 4648, 4672, 4688, 4697, 5140, 5145],
            ),
            // 7040 (start type changed) since it names the service for the name fingerprints.
            (Channel::System, &[7000, 7009, 7034, 7035, 7036, 7040, 7045]),
            (Channel::Sysmon, &[1, 3, 11, 12, 13, 17, 18, 23, 26]),
        ];
        for (ch, ids) in before {
            let kept: Vec<u16> = (0..=u16::MAX).filter(|&id| is_kept(&ch, id)).collect();
            assert_eq!(kept, ids, "{ch:?}");
        }
    }

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
