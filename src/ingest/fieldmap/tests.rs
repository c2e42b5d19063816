//! The mapping from Windows field names to typed fields, on hand-made records.

use super::*;

#[test]
fn names_are_distinct_unless_one_comes_twice() {
    let names: Vec<String> = (0..80).map(|k| format!("n{k}")).collect();
    for n in [0, 1, 2, 31, 32, 33, 80] {
        let some = || names[..n].iter().map(String::as_str);
        assert!(names_distinct(some()), "{n} names");
        if n > 0 {
            // The last name again, and the first again at the end: found either way.
            assert!(!names_distinct(some().chain([names[n - 1].as_str()])));
            assert!(!names_distinct(some().chain([names[0].as_str()])));
        }
    }
    assert!(!names_distinct(["a", "b", "a"]));
    assert!(names_distinct(["a", "A"]));
}

#[test]
fn typed_names_are_found_in_any_case_and_nothing_else_is() {
    for (i, t) in TYPED.iter().enumerate() {
        assert_eq!(typed_slot(t), Some(i));
        assert_eq!(typed_slot(&t.to_ascii_lowercase()), Some(i));
        assert_eq!(typed_slot(&t.to_ascii_uppercase()), Some(i));
        // One byte changed anywhere, or one more or fewer: not typed (unless that is
        // another typed name).
        for k in 0..t.len() {
            let mut b = t.as_bytes().to_vec();
            b[k] = b'_';
            let other = String::from_utf8(b).unwrap();
            assert_eq!(typed_slot(&other), None, "{other}");
        }
        assert_eq!(
            typed_slot(&t[1..]).map(|j| TYPED[j]),
            TYPED
                .iter()
                .copied()
                .find(|n| n.eq_ignore_ascii_case(&t[1..]))
        );
        assert_eq!(typed_slot(&format!("{t}x")), None);
    }
    assert_eq!(typed_slot(""), None);
    assert_eq!(typed_slot("é"), None);
}

/// 64 entries or more: those past the flags are told typed or not by name again.
#[test]
fn records_of_many_fields_keep_their_untyped_ones() {
    let mut data: DataFields<'static> = (0..70)
        .map(|k| (format!("Extra{k}").into(), format!("v{k}").into()))
        .collect();
    data.push(("ServiceName".into(), "svc".into()));
    data.insert(3, ("ImagePath".into(), "c:\\x.exe".into()));
    let r = RawRecord {
        data,
        ..rec(7045, "System", &[])
    };
    let e = normalize(
        r,
        &Arc::from("f"),
        TimeDelta::zero(),
        &mut HostCache::default(),
    )
    .unwrap();
    assert_eq!(e.extra.len(), 70);
    assert!(e.extra.iter().all(|(k, _)| k.starts_with("Extra")));
    assert_eq!(e.fields.service.name.as_deref(), Some("svc"));
    assert_eq!(e.fields.service.image_path.as_deref(), Some("c:\\x.exe"));
}

fn rec(event_id: u16, channel: &str, data: &[(&str, &str)]) -> RawRecord<'static> {
    RawRecord {
        channel: channel.into(),
        event_id,
        host: "ws01.corp.local".into(),
        time: RecordTime {
            utc: DateTime::from_timestamp(1_600_000_000, 0),
            ..RecordTime::default()
        },
        data: data
            .iter()
            .map(|(k, v)| (Cow::Owned((*k).into()), Cow::Owned((*v).into())))
            .collect(),
        ..RawRecord::default()
    }
}

#[test]
fn logon_takes_target_logon_id() {
    let r = rec(
        4624,
        "Security",
        &[
            ("TargetLogonId", "0X3E8"),
            ("SubjectLogonId", "0x3e7"),
            ("LogonType", "3"),
            ("IpAddress", "::ffff:10.0.0.5"),
        ],
    );
    let e = normalize(
        r,
        &Arc::from("f"),
        TimeDelta::zero(),
        &mut HostCache::default(),
    )
    .unwrap();
    assert_eq!(e.fields.logon_id, Some(LogonId(0x3e8)));
    assert_eq!(e.fields.logon.logon_type, Some(3));
    assert_eq!(e.fields.net.src_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(&*e.host.key, "WS01");
}

#[test]
fn process_4688_creator_pid_is_parent() {
    let r = rec(
        4688,
        "Security",
        &[
            ("NewProcessId", "0x1c58"),
            ("ProcessId", "0x850"),
            ("NewProcessName", "C:\\x.exe"),
        ],
    );
    let e = normalize(
        r,
        &Arc::from("f"),
        TimeDelta::zero(),
        &mut HostCache::default(),
    )
    .unwrap();
    assert_eq!(e.fields.process.pid, Some(0x1c58));
    assert_eq!(e.fields.process.parent_pid, Some(0x850));
}

#[test]
fn logon_type_words() {
    let r = rec(4624, "Security", &[("LogonType", "Network")]);
    let e = normalize(
        r,
        &Arc::from("f"),
        TimeDelta::zero(),
        &mut HostCache::default(),
    )
    .unwrap();
    assert_eq!(e.fields.logon.logon_type, Some(3));
}

#[test]
fn binary_key_name_decodes() {
    // "hello/4" in UTF-16LE
    let hex = "680065006C006C006F002F0034000000";
    assert_eq!(decode_binary_key(hex).as_deref(), Some("hello"));
    assert_eq!(decode_binary_key("zz"), None);
}

#[test]
fn short_values_are_shared_long_ones_are_not() {
    let a = intern("CORP");
    let b = intern(&String::from("CORP"));
    assert!(Arc::ptr_eq(&a, &b));
    let long = "x".repeat(INTERN_MAX_LEN + 1);
    assert!(!Arc::ptr_eq(&intern(&long), &intern(&long)));
    // The cache is bounded: past its size it starts over, values stay valid.
    for i in 0..=INTERN_MAX_ENTRIES {
        let _ = intern(&i.to_string());
    }
    assert_eq!(&*intern("CORP"), "CORP");
}

#[test]
fn untyped_fields_go_to_extra() {
    let r = rec(
        5145,
        "Security",
        &[("ShareName", "\\\\*\\IPC$"), ("ObjectType", "File")],
    );
    let e = normalize(
        r,
        &Arc::from("f"),
        TimeDelta::zero(),
        &mut HostCache::default(),
    )
    .unwrap();
    assert_eq!(e.fields.share.share_name.as_deref(), Some("\\\\*\\IPC$"));
    assert_eq!(e.extra.len(), 1);
}
