//! The typed field groups of an `Event`, written down once. `typed_groups!(m)` hands this table to
//! the macro `m`, which makes from it what it needs: the group structs (`model::event`), the pack
//! encoder and decoder (`store::pack`), the normalized table's columns and rows (`model::row`) and
//! the rows read back (`ingest::table`). A field added here is stored, packed, written and read
//! back everywhere, in the same order.
//!
//! Each group: `field_in_event: Struct { ... }`. Each field:
//! `name: kind(Type) as column, ColType, "column meaning"`, where `kind` is `text`
//! (`Option<Arc<str>>`, interned by the pack), `num` (an `Option` of an unsigned integer) or `flag`
//! (`Option<bool>`), and `column` names it in the normalized table. `+ [column, ColType,
//! "meaning", function]` adds a column computed from the field's text (the pack does not store
//! it). Doc comments on a field go to the struct. Every user matches the table with
//!
//! ```text
//! $( $group:ident : $T:ident {
//!     $( $(#[$doc:meta])* $f:ident : $kind:ident ($ty:ty) as $col:ident, $ct:ident, $desc:literal
//!        $( + [$dcol:ident, $dct:ident, $ddesc:literal, $dfn:path] )* ; )*
//! } )*
//! ```
//!
//! The fields every event has outside the groups (time, host, channel, logon ids, the subject and
//! target accounts, the installer SID, the SCM's PID) keep their own places: their types and
//! column order differ field by field.

/// Calls `$then!` with the table of typed field groups.
macro_rules! typed_groups {
    ($then:ident) => {
        $then! {
            logon: LogonInfo {
                logon_type: num(u8) as logon_type, Int, "LogonType";
                workstation: text(Arc<str>) as workstation, String, "WorkstationName";
                auth_package: text(Arc<str>) as auth_package, String, "AuthenticationPackageName";
                logon_process: text(Arc<str>) as logon_process, String, "LogonProcessName";
            }
            service: ServiceInfo {
                name: text(Arc<str>) as service_name, String, "ServiceName";
                image_path: text(Arc<str>) as service_image_path, String,
                    "ServiceFileName / ImagePath as written"
                    + [service_image_norm, String,
                        "image path with %% folded to % (what tool patterns match)",
                        crate::model::winpath::normalize_percent]
                    + [service_image_exe, String,
                        "executable of the image path, lower-case, quotes and arguments dropped (allow-list match)",
                        crate::model::winpath::image_for_match];
                account: text(Arc<str>) as service_account, String, "ServiceAccount / AccountName";
                service_type: text(Arc<str>) as service_type, String, "ServiceType";
                start_type: text(Arc<str>) as service_start_type, String, "StartType";
                /// The key name when the record gives it apart from the display name (7036 `Binary`).
                key_name: text(Arc<str>) as service_key_name, String,
                    "service key name when apart from the display name";
                /// 7036 state (`running`, `stopped`) or 7009/7000 text.
                state: text(Arc<str>) as service_state, String, "7036 state or 7000/7009 text";
            }
            process: ProcessInfo {
                image: text(Arc<str>) as process_image, String, "Image / NewProcessName";
                command_line: text(Arc<str>) as process_command_line, String, "CommandLine";
                pid: num(u32) as process_pid, Long, "ProcessId";
                parent_image: text(Arc<str>) as parent_image, String, "ParentImage / ParentProcessName";
                parent_command_line: text(Arc<str>) as parent_command_line, String, "ParentCommandLine";
                parent_pid: num(u32) as parent_pid, Long, "ParentProcessId";
                /// `DOMAIN\user` the process runs as (Sysmon `User`, Defender `AccountName`).
                user: text(Arc<str>) as process_user, String, "user the process runs as";
            }
            share: ShareInfo {
                share_name: text(Arc<str>) as share_name, String, "ShareName";
                relative_target: text(Arc<str>) as share_relative_target, String, "RelativeTargetName";
                access_list: text(Arc<str>) as share_access_list, String, "AccessList";
                access_mask: num(u32) as share_access_mask, Long, "AccessMask";
                pipe_name: text(Arc<str>) as pipe_name, String, "PipeName";
                /// File created or deleted (Sysmon 11/23/26 `TargetFilename`).
                file_path: text(Arc<str>) as file_path, String, "TargetFilename (Sysmon 11/23/26)";
            }
            net: NetInfo {
                /// The remote client of a logon or share access; for Sysmon 3, the connection's source.
                src_ip: text(Arc<str>) as src_ip, String, "IpAddress / SourceIp";
                src_port: num(u16) as src_port, Int, "IpPort / SourcePort";
                src_host: text(Arc<str>) as src_host, String, "source host name";
                dst_ip: text(Arc<str>) as dst_ip, String, "DestinationIp";
                dst_port: num(u16) as dst_port, Int, "DestinationPort";
                dst_host: text(Arc<str>) as dst_host, String, "DestinationHostname";
                initiated: flag(bool) as initiated, Bool, "Sysmon 3 Initiated";
            }
            registry: RegistryInfo {
                event_type: text(Arc<str>) as registry_event_type, String, "Sysmon 13 EventType";
                target_object: text(Arc<str>) as registry_target_object, String, "Sysmon 13 TargetObject";
                details: text(Arc<str>) as registry_details, String, "Sysmon 13 Details";
            }
        }
    };
}
pub(crate) use typed_groups;

/// A value for a field of a kind, distinct per call (`n` counts the calls).
#[cfg(test)]
macro_rules! test_value {
    (text, $ty:ty, $n:ident) => {{
        $n += 1;
        std::sync::Arc::from(format!("value {}", $n).as_str())
    }};
    (num, $ty:ty, $n:ident) => {{
        $n += 1;
        <$ty>::try_from($n).unwrap_or_default()
    }};
    (flag, $ty:ty, $n:ident) => {{
        $n += 1;
        true
    }};
}

/// `every_field_set()`: typed fields with every field of every group set to its own value.
#[cfg(test)]
macro_rules! fill_every_field {
    ($( $group:ident : $T:ident {
        $( $(#[$doc:meta])* $f:ident : $kind:ident ($ty:ty) as $col:ident, $ct:ident, $desc:literal
           $( + [$dcol:ident, $dct:ident, $ddesc:literal, $dfn:path] )* ; )*
    } )*) => {
        /// Typed fields with every field of every group of the table set, each to its own value,
        /// so a test of a place the table generates covers a field added to it.
        pub fn every_field_set() -> crate::model::Fields {
            use crate::model::event::{$($T),*};
            let mut n = 0u16;
            let mut f = crate::model::Fields::default();
            $(
                f.$group = crate::model::Group::filled($T { $( $f: Some(test_value!($kind, $ty, n)), )* });
            )*
            f
        }
    };
}

#[cfg(test)]
typed_groups!(fill_every_field);

#[cfg(test)]
mod tests {
    use super::every_field_set;
    use crate::model::row::COLUMNS;

    #[test]
    fn every_group_field_has_a_column_and_a_distinct_value() {
        let f = every_field_set();
        let json = serde_json::to_value(&f).unwrap_or_default();
        let mut values = Vec::new();
        for group in ["logon", "service", "process", "share", "net", "registry"] {
            let g = json[group].as_object().cloned().unwrap_or_default();
            assert!(!g.is_empty(), "{group}");
            values.extend(g.into_values().map(|v| v.to_string()));
        }
        let n = values.len();
        values.sort();
        values.dedup();
        // Each text and number distinct; the one flag is `true`.
        assert_eq!(values.len(), n);
        assert!(
            COLUMNS.len() > n,
            "{} columns for {n} fields",
            COLUMNS.len()
        );
    }
}
