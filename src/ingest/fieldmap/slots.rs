//! The typed slots: the Windows field names that have a typed place in an `Event`, found in a
//! record in one pass (by length and two letters, any case), so mapping a record costs its
//! fields, not fields x names.

use super::RawRecord;

/// Field names that have a typed slot; everything else goes to `extra`.
pub(super) const TYPED: &[&str] = &[
    "TargetLogonId",
    "SubjectLogonId",
    "LogonId",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectUserSid",
    "TargetUserName",
    "TargetDomainName",
    "TargetUserSid",
    "LogonType",
    "IpAddress",
    "IpPort",
    "WorkstationName",
    "AuthenticationPackageName",
    "LogonProcessName",
    "ServiceName",
    "ImagePath",
    "ServiceFileName",
    "AccountName",
    "ServiceAccount",
    "ServiceType",
    "StartType",
    "ServiceStartType",
    "NewProcessName",
    "Image",
    "CommandLine",
    "NewProcessId",
    "ProcessId",
    "ParentProcessName",
    "ParentImage",
    "ParentCommandLine",
    "ParentProcessId",
    "User",
    "PipeName",
    "ShareName",
    "RelativeTargetName",
    "AccessList",
    "AccessMask",
    "TargetFilename",
    "SourceIp",
    "SourcePort",
    "SourceHostname",
    "DestinationIp",
    "DestinationPort",
    "DestinationHostname",
    "Initiated",
    "EventType",
    "TargetObject",
    "Details",
    "param1",
    "param2",
    "Binary",
    "Domain",
];

/// The position in `TYPED` of a field name, case-insensitive: compared only with the names of
/// its length (none, one or a few).
pub(super) fn typed_slot(name: &str) -> Option<usize> {
    // Of each length, the names' positions with their first and middle bytes in lower case: no
    // more than two names of one length share those, so the rest are ruled out uncompared.
    pub(super) fn sign(name: &[u8]) -> Option<[u8; 2]> {
        let first = name.first()?.to_ascii_lowercase();
        Some([first, name.get(name.len() / 2)?.to_ascii_lowercase()])
    }
    pub(super) type ByLen = Vec<Vec<([u8; 2], usize)>>;
    pub(super) static BY_LEN: std::sync::LazyLock<ByLen> = std::sync::LazyLock::new(|| {
        let mut by_len = vec![Vec::new(); TYPED.iter().map(|t| t.len()).max().unwrap_or(0) + 1];
        for (i, t) in TYPED.iter().enumerate() {
            if let Some(s) = sign(t.as_bytes()) {
                by_len[t.len()].push((s, i));
            }
        }
        by_len
    });
    let s = sign(name.as_bytes())?;
    BY_LEN
        .get(name.len())?
        .iter()
        .find(|&&(t, i)| t == s && TYPED[i].eq_ignore_ascii_case(name))
        .map(|&(_, i)| i)
}

/// A record's typed fields found in one pass over its data: for each `TYPED` name, the first
/// entry of that name (case-insensitive), which is what `RawRecord::get` finds.
pub(super) struct Lookup<'a> {
    pub(super) r: &'a RawRecord<'a>,
    first: [Option<usize>; TYPED.len()],
    /// Which of the first 64 entries have a typed name (the rest are asked again).
    pub(super) typed: Bits,
}

/// 64 flags.
#[derive(Clone, Copy, Default)]
pub(super) struct Bits(u64);

impl Bits {
    pub(super) fn get(self, i: usize) -> Option<bool> {
        (i < 64).then(|| self.0 >> i & 1 == 1)
    }
}

impl<'a> Lookup<'a> {
    pub(super) fn new(r: &'a RawRecord<'a>) -> Self {
        let mut first = [None; TYPED.len()];
        let mut typed = Bits::default();
        for (i, (k, _)) in r.data.iter().enumerate() {
            if let Some(slot) = typed_slot(k) {
                first[slot].get_or_insert(i);
                if i < 64 {
                    typed.0 |= 1 << i;
                }
            }
        }
        Lookup { r, first, typed }
    }

    /// The first entry of the typed name at `slot` (`typed!`).
    pub(super) fn at(&self, slot: usize) -> Option<&'a str> {
        self.first[slot].map(|i| &*self.r.data[i].1)
    }
}

/// The position of a typed field name in `TYPED` (`TYPED.len()`: not there), found when
/// compiling by `typed!`, where a name not there does not compile.
pub(super) const fn slot_of(name: &str) -> usize {
    let n = name.as_bytes();
    let mut i = 0;
    while i < TYPED.len() {
        let t = TYPED[i].as_bytes();
        if t.len() == n.len() {
            let mut j = 0;
            while j < n.len() && t[j] == n[j] {
                j += 1;
            }
            if j == n.len() {
                return i;
            }
        }
        i += 1;
    }
    TYPED.len()
}
