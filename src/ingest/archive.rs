//! Archives read in place: KAPE and Velociraptor collections (zip, sometimes a zip of per-host
//! zips, sometimes password-protected), Security-Datasets (a zip of one JSON file), `.tar`,
//! `.tar.gz`, `.7z` and single `.gz` files. Members are walked as a folder is, each read into memory and
//! sniffed by content like a file; nothing is extracted to disk and the archive is never written
//! to. A member's location names the archive and the member, one `!` per level:
//! `collection.zip!C/Windows/System32/winevt/Logs/Security.evtx`. A single `.gz` is its member:
//! its location is the `.gz` itself.
//!
//! An archive is evidence an attacker may have shaped: `Limits` bound what one can cost (bytes a
//! member unpacks to, bytes in all, unpacked bytes per packed byte, members, nesting), each
//! refusal counted as a problem of the archive, never a crash.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use super::FileReport;

/// The archive formats recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    Gzip,
    Tar,
    SevenZip,
}

impl Format {
    /// The format the first bytes (at least 262 for tar) show, if an archive.
    pub fn of(head: &[u8]) -> Option<Format> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(Format::Zip)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(Format::Gzip)
        } else if head.get(257..262) == Some(b"ustar") {
            Some(Format::Tar)
        } else if head.starts_with(b"7z\xBC\xAF\x27\x1C") {
            Some(Format::SevenZip)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::Gzip => "gzip",
            Format::Tar => "tar",
            Format::SevenZip => "7z",
        }
    }
}

/// What reading one archive (its nested archives included) may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes one member may unpack to (it is held in memory while it is read).
    pub member_bytes: u64,
    /// Bytes all members may unpack to together.
    pub total_bytes: u64,
    /// Unpacked bytes per packed byte a member may reach once past 1 MiB (deflate reaches
    /// ~1000:1 on zeros; logs compress 5-30:1).
    pub ratio: u64,
    /// Members walked, nested ones included.
    pub members: u64,
    /// Archives inside archives.
    pub depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            member_bytes: 4 << 30,
            total_bytes: 1 << 40,
            ratio: 200,
            members: 1_000_000,
            depth: 4,
        }
    }
}

/// How archives are read: the limits and the password of encrypted zips.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveOptions {
    pub limits: Limits,
    /// `--archive-password` or `SVCHOP_ARCHIVE_PASSWORD`.
    pub password: Option<String>,
}

/// How much of a member is read before deciding whether it is worth reading whole.
const SNIFF_BYTES: usize = 4096;

/// Whether a member's first bytes show a log, a JSON export or an archive.
fn worth_reading(head: &[u8]) -> bool {
    !matches!(
        super::kind_of(&head[..head.len().min(SNIFF_BYTES)]),
        super::Kind::Other | super::Kind::NotAFile
    )
}

/// Below this, a member's ratio is not judged (small files of zeros are ordinary).
const RATIO_FREE_BYTES: u64 = 1 << 20;

/// The walk's running totals, shared by nested archives.
struct Walk<'a> {
    opts: &'a ArchiveOptions,
    report: FileReport,
    unpacked: u64,
    members: u64,
    /// Encrypted members skipped for want of the right password.
    locked: u64,
    stopped: bool,
    /// Only the member at this location (and the archives on the way to it) is read.
    target: Option<&'a str>,
    /// Members that are neither logs nor archives (registry hives, `$MFT`, ...): passed over
    /// after their first bytes.
    ignored: Vec<String>,
}

/// What walking an archive gave besides the members: its report and the members passed over.
#[derive(Debug)]
pub struct Walked {
    pub report: FileReport,
    pub ignored: Vec<String>,
}

/// Walks the archive at `path` (located as `shown`), handing `each(location, bytes)` every member
/// that is not itself an archive. Returns the archive's own report: its format, and what was
/// refused or could not be read (records are counted by the members' readers).
pub fn walk_file(
    path: &Path,
    shown: &str,
    format: Format,
    opts: &ArchiveOptions,
    each: &mut dyn FnMut(&str, &[u8]),
) -> Walked {
    walk(path, shown, format, opts, None, each)
}

fn walk(
    path: &Path,
    shown: &str,
    format: Format,
    opts: &ArchiveOptions,
    target: Option<&str>,
    each: &mut dyn FnMut(&str, &[u8]),
) -> Walked {
    let mut w = Walk {
        opts,
        report: FileReport::new(shown, format.name()),
        unpacked: 0,
        members: 0,
        locked: 0,
        stopped: false,
        target,
        ignored: Vec::new(),
    };
    match std::fs::File::open(path) {
        Ok(f) => {
            let packed = f.metadata().map_or(0, |m| m.len());
            w.archive((std::io::BufReader::new(f), packed), shown, format, 0, each);
        }
        Err(e) => w.report.problem("file", format!("cannot open: {e}")),
    }
    if w.locked > 0 {
        let why = if opts.password.is_some() {
            "the archive password given is wrong for them"
        } else {
            "they are encrypted: give the password with --archive-password or SVCHOP_ARCHIVE_PASSWORD"
        };
        w.report
            .problem("archive", format!("{} member(s) not read: {why}", w.locked));
        w.report.records_skipped += w.locked;
    }
    Walked {
        report: w.report,
        ignored: w.ignored,
    }
}

impl Walk<'_> {
    /// Whether the member named `name` is to be read (all are, unless one is sought).
    fn wanted(&self, name: &str) -> bool {
        self.target.is_none_or(|t| {
            t == name
                || t.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('!'))
        })
    }

    fn refuse(&mut self, at: &str, why: String) {
        self.report.problem(at, why);
        self.report.records_skipped += 1;
    }

    /// One archive (the file, or a member held in memory) of `packed` bytes.
    fn archive<R: Read + Seek>(
        &mut self,
        (reader, packed): (R, u64),
        shown: &str,
        format: Format,
        depth: usize,
        each: &mut dyn FnMut(&str, &[u8]),
    ) {
        match format {
            Format::Zip => self.zip(reader, shown, depth, each),
            Format::Tar => self.tar(reader, packed, shown, depth, each),
            Format::Gzip => self.gzip(reader, packed, shown, depth, each),
            Format::SevenZip => self.sevenz(reader, packed, shown, depth, each),
        }
    }

    fn zip<R: Read + Seek>(
        &mut self,
        reader: R,
        shown: &str,
        depth: usize,
        each: &mut dyn FnMut(&str, &[u8]),
    ) {
        let mut zip = match zip::ZipArchive::new(reader) {
            Ok(z) => z,
            Err(e) => return self.refuse(shown, format!("not readable as zip: {e}")),
        };
        for i in 0..zip.len() {
            if self.stopped {
                return;
            }
            let password = self.opts.password.as_deref().map(str::as_bytes);
            let opened = match password {
                Some(p) => zip.by_index_decrypt(i, p),
                None => zip.by_index(i),
            };
            let mut member = match opened {
                Ok(m) => m,
                Err(zip::result::ZipError::InvalidPassword) => {
                    self.locked += 1;
                    continue;
                }
                Err(zip::result::ZipError::UnsupportedArchive(why)) if why.contains("assword") => {
                    self.locked += 1;
                    continue;
                }
                Err(e) => {
                    self.refuse(
                        &format!("{shown}!#{i}"),
                        format!("member not readable: {e}"),
                    );
                    continue;
                }
            };
            let name = format!("{shown}!{}", member.name());
            if !member.is_file() || !self.wanted(&name) {
                continue;
            }
            let packed = member.compressed_size();
            // What the header declares is judged before a byte is unpacked (a header that
            // understates is caught while reading).
            let l = self.opts.limits;
            let declared = member.size();
            if declared > l.member_bytes
                || (declared > RATIO_FREE_BYTES && declared > packed.max(1).saturating_mul(l.ratio))
            {
                self.members += 1;
                self.refuse(
                    &name,
                    format!(
                        "declares {declared} bytes unpacked from {packed} (over {}x, or over {} bytes per member: an archive bomb?): not read",
                        l.ratio, l.member_bytes
                    ),
                );
                continue;
            }
            if let Some(bytes) = self.take(&mut member, packed, &name) {
                drop(member);
                self.member(&name, bytes, depth, each);
            }
        }
    }

    fn sevenz<R: Read + Seek>(
        &mut self,
        reader: R,
        packed: u64,
        shown: &str,
        depth: usize,
        each: &mut dyn FnMut(&str, &[u8]),
    ) {
        use sevenz_rust2::{ArchiveReader, Error, Password};
        let password = self
            .opts
            .password
            .as_deref()
            .map_or_else(Password::empty, Password::from);
        let locked = |e: &Error| matches!(e, Error::PasswordRequired | Error::MaybeBadPassword(_));
        let mut archive = match ArchiveReader::new(reader, password) {
            Ok(a) => a,
            Err(e) if locked(&e) => {
                self.locked += 1;
                return;
            }
            Err(e) => return self.refuse(shown, format!("not readable as 7z: {e}")),
        };
        let walked = archive.for_each_entries(|entry, r| {
            let name = format!("{shown}!{}", entry.name());
            if self.stopped || entry.is_directory() || !entry.has_stream() {
                return Ok(!self.stopped);
            }
            if !self.wanted(&name) {
                // Solid blocks are one stream: a member passed over is still read through.
                std::io::copy(r, &mut std::io::sink())?;
                return Ok(true);
            }
            let ignored = self.ignored.len();
            // A member's packed size is not kept apart in a solid block: the archive's is the
            // bound its ratio is judged by.
            match self.take(r, packed, &name) {
                Some(bytes) => self.member(&name, bytes, depth, each),
                None if self.ignored.len() > ignored => {
                    std::io::copy(r, &mut std::io::sink())?;
                }
                // Refused: reading on would unpack what was refused.
                None => {
                    self.refuse(shown, "the rest of the 7z archive is not read".into());
                    return Ok(false);
                }
            }
            Ok(true)
        });
        match walked {
            Ok(()) => {}
            Err(e) if locked(&e) => self.locked += 1,
            Err(e) => self.refuse(shown, format!("7z member not readable: {e}")),
        }
    }

    fn tar<R: Read>(
        &mut self,
        reader: R,
        packed: u64,
        shown: &str,
        depth: usize,
        each: &mut dyn FnMut(&str, &[u8]),
    ) {
        let mut tar = tar::Archive::new(reader);
        let entries = match tar.entries() {
            Ok(e) => e,
            Err(e) => return self.refuse(shown, format!("not readable as tar: {e}")),
        };
        for entry in entries {
            if self.stopped {
                return;
            }
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => return self.refuse(shown, format!("tar entry not readable: {e}")),
            };
            // Sparse files (GNU tar writes files with holes so) read back with their holes.
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind.is_gnu_sparse()) {
                continue;
            }
            let name = format!("{shown}!{}", String::from_utf8_lossy(&entry.path_bytes()));
            if !self.wanted(&name) {
                continue;
            }
            // A tar stores members unpacked: the archive's own packing (gzip) is judged by the
            // stream it comes from.
            let size = entry.header().size().unwrap_or(0);
            if let Some(bytes) = self.take(&mut entry, packed.max(size), &name) {
                self.member(&name, bytes, depth, each);
            }
        }
    }

    fn gzip<R: Read>(
        &mut self,
        reader: R,
        packed: u64,
        shown: &str,
        depth: usize,
        each: &mut dyn FnMut(&str, &[u8]),
    ) {
        let mut stream = Ratio {
            inner: flate2::read::MultiGzDecoder::new(reader),
            packed,
            limit: self.opts.limits.ratio,
            out: 0,
        };
        let mut head = Vec::with_capacity(512);
        if let Err(e) = (&mut stream).take(512).read_to_end(&mut head) {
            return self.refuse(shown, format!("not readable as gzip: {e}"));
        }
        if Format::of(&head) == Some(Format::Tar) {
            // Streamed: a .tar.gz is never held whole.
            return self.tar(Cursor::new(head).chain(stream), packed, shown, depth, each);
        }
        let mut whole = Cursor::new(head).chain(stream);
        if let Some(bytes) = self.take(&mut whole, packed, shown) {
            self.member(shown, bytes, depth, each);
        }
    }

    /// A member's bytes, within the limits (`None`, and a problem, past them).
    fn take(&mut self, r: &mut dyn Read, packed: u64, name: &str) -> Option<Vec<u8>> {
        let l = self.opts.limits;
        self.members += 1;
        if self.members > l.members {
            self.stopped = true;
            self.refuse(
                name,
                format!("more than {} members: the rest are not read", l.members),
            );
            return None;
        }
        let room = l
            .member_bytes
            .min(l.total_bytes.saturating_sub(self.unpacked));
        let mut bytes = Vec::new();
        let mut block = vec![0u8; 64 << 10];
        loop {
            let n = match r.read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    self.refuse(name, format!("member not readable: {e}"));
                    return None;
                }
            };
            let before = bytes.len();
            bytes.extend_from_slice(&block[..n]);
            // Judged by its first bytes, as a file in a folder is: a member that is neither a
            // log nor an archive is not read further.
            if before < SNIFF_BYTES && bytes.len() >= SNIFF_BYTES && !worth_reading(&bytes) {
                self.ignored.push(name.to_string());
                return None;
            }
            let out = bytes.len() as u64;
            if out > room {
                self.unpacked += out;
                if l.total_bytes.saturating_sub(self.unpacked) == 0 {
                    self.stopped = true;
                }
                self.refuse(
                    name,
                    format!(
                        "unpacks to more than {} bytes (the limit {}): not read",
                        room,
                        if room < l.member_bytes {
                            "for the archive"
                        } else {
                            "per member"
                        }
                    ),
                );
                return None;
            }
            if out > RATIO_FREE_BYTES && out > packed.max(1).saturating_mul(l.ratio) {
                self.unpacked += out;
                self.refuse(
                    name,
                    format!(
                        "unpacks to over {}x its packed size of {packed} bytes (an archive bomb?): not read",
                        l.ratio
                    ),
                );
                return None;
            }
        }
        self.unpacked += bytes.len() as u64;
        if bytes.len() < SNIFF_BYTES && !worth_reading(&bytes) {
            self.ignored.push(name.to_string());
            return None;
        }
        Some(bytes)
    }

    /// A member read: walked when it is an archive, handed on otherwise.
    fn member(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        depth: usize,
        each: &mut dyn FnMut(&str, &[u8]),
    ) {
        match Format::of(&bytes) {
            Some(inner) if depth < self.opts.limits.depth => {
                let len = bytes.len() as u64;
                self.archive((Cursor::new(bytes), len), name, inner, depth + 1, each);
            }
            Some(inner) => self.refuse(
                name,
                format!(
                    "a {} archive nested more than {} deep: not read",
                    inner.name(),
                    self.opts.limits.depth
                ),
            ),
            None => each(name, &bytes),
        }
    }
}

/// A decompressing reader that stops, with an error, once it has given out more than `ratio`
/// times the packed size (past `RATIO_FREE_BYTES`): a gzip bomb never fills memory.
struct Ratio<R> {
    inner: R,
    packed: u64,
    limit: u64,
    out: u64,
}

impl<R: Read> Read for Ratio<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if self.out > RATIO_FREE_BYTES && self.out > self.packed.max(1).saturating_mul(self.limit) {
            return Err(std::io::Error::other(format!(
                "unpacks to over {}x its packed size of {} bytes (an archive bomb?)",
                self.limit, self.packed
            )));
        }
        Ok(n)
    }
}

/// The bytes at a location inside an archive (`a.zip!dir/b.zip!Security.evtx`, or a `.gz`
/// file), read again as the walk read them; `Ok(None)` when the location is a plain file.
pub fn read_location(location: &str, opts: &ArchiveOptions) -> std::io::Result<Option<Vec<u8>>> {
    let plain = Path::new(location);
    let (file, rest) = if plain.is_file() {
        (plain, "")
    } else {
        let split = location
            .match_indices('!')
            .map(|(i, _)| (Path::new(&location[..i]), &location[i + 1..]))
            .find(|(p, _)| p.is_file());
        match split {
            Some(s) => s,
            None => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not found",
                ));
            }
        }
    };
    let mut head = [0u8; 512];
    let n = std::fs::File::open(file)?.read(&mut head)?;
    let Some(format) = Format::of(&head[..n]) else {
        return if rest.is_empty() {
            Ok(None)
        } else {
            Err(std::io::Error::other("not an archive"))
        };
    };
    let shown = file.display().to_string();
    let want = if rest.is_empty() {
        shown.clone()
    } else {
        format!("{shown}!{rest}")
    };
    // Walk as loading walked (the same names), keeping the member asked for.
    let mut found = None;
    let walked = walk(
        file,
        &shown,
        format,
        opts,
        Some(&want),
        &mut |name, bytes| {
            if found.is_none() && name == want {
                found = Some(bytes.to_vec());
            }
        },
    );
    match found {
        Some(b) => Ok(Some(b)),
        None => Err(std::io::Error::other(
            walked
                .report
                .problems
                .first()
                .map_or_else(|| "no such member".to_string(), |p| p.what.clone()),
        )),
    }
}
