//! Archives read in place: a zip, a tar.gz and a zip of zips of the dev corpus give the folder's
//! findings (locations apart); records are read again from inside them; bombs, encrypted members
//! and 7z are refused with a counted problem.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test helpers fail loudly.

mod common;

use assert_cmd::Command;
use common::{corpus, load_paths};
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

fn svchop() -> Command {
    Command::cargo_bin("svchop").unwrap()
}

/// Every file of the dev corpus, with its name below the corpus' parent (`dev/json/x.json`).
fn corpus_files() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let root = corpus();
    let parent = root.parent().unwrap().to_path_buf();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&parent).unwrap().display().to_string();
            (p, name)
        })
        .collect()
}

fn zip_of(files: &[(PathBuf, String)], options: SimpleFileOptions) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, name) in files {
        z.start_file(name.as_str(), options).unwrap();
        z.write_all(&std::fs::read(path).unwrap()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

/// `svchop ARGS` in `dir`: standard output and error.
fn run_in(dir: &Path, args: &[&str]) -> (String, String) {
    let out = svchop().current_dir(dir).args(args).output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The text with every archive level of a location (`a.zip!`, `b.tar.gz!`) taken out.
fn without_archives(text: &str) -> String {
    let re = regex::Regex::new(r"[A-Za-z0-9_./-]+\.(zip|tar\.gz)!").unwrap();
    re.replace_all(text, "").into_owned()
}

#[test]
fn a_zip_a_tar_gz_and_a_zip_of_zips_give_the_folders_findings() {
    let files = corpus_files();
    let parent = corpus().parent().unwrap().to_path_buf();
    let (folder, _) = run_in(&parent, &["scan", "dev", "--format", "json"]);
    assert!(folder.len() > 10_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dev.zip"), zip_of(&files, deflated())).unwrap();
    {
        let f = std::fs::File::create(dir.path().join("dev.tar.gz")).unwrap();
        let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (path, name) in &files {
            tar.append_path_with_name(path, name).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }
    // Per top-level folder a zip (as per-host zips), stored in one zip without compression.
    let mut groups: std::collections::BTreeMap<String, Vec<(PathBuf, String)>> =
        std::collections::BTreeMap::new();
    for (p, n) in &files {
        let group = n.split('/').nth(1).unwrap_or("top").replace(' ', "_");
        groups
            .entry(group)
            .or_default()
            .push((p.clone(), n.clone()));
    }
    let inner: Vec<(PathBuf, String)> = groups
        .iter()
        .map(|(g, fs)| {
            let p = dir.path().join(format!("{g}.zip"));
            std::fs::write(&p, zip_of(fs, deflated())).unwrap();
            (p, format!("hosts/{g}.zip"))
        })
        .collect();
    std::fs::write(
        dir.path().join("nested.zip"),
        zip_of(&inner, SimpleFileOptions::default()),
    )
    .unwrap();
    for archive in ["dev.zip", "dev.tar.gz", "nested.zip"] {
        let (got, err) = run_in(dir.path(), &["scan", archive, "--format", "json"]);
        assert!(got.contains(&format!("{archive}!")), "{archive}: {err}");
        let got = without_archives(&got);
        let first = got.lines().zip(folder.lines()).position(|(a, b)| a != b);
        assert!(
            got == folder,
            "{archive}: first difference at line {first:?}: {:?} vs {:?}",
            first.and_then(|n| got.lines().nth(n)),
            first.and_then(|n| folder.lines().nth(n)),
        );
    }
    // `sources` names each member with its archive and its format.
    let (sources, _) = run_in(dir.path(), &["sources", "nested.zip"]);
    assert!(
        sources.contains("nested.zip!hosts/json.zip!dev/json/"),
        "{sources}"
    );
}

#[test]
fn a_record_is_read_again_from_inside_the_archive() {
    let files: Vec<(PathBuf, String)> = corpus_files()
        .into_iter()
        .filter(|(_, n)| {
            n.ends_with("LM_REMCOM_5145_TargetHost.evtx")
                || n.ends_with("empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json")
        })
        .collect();
    assert_eq!(files.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("two.zip");
    std::fs::write(&zip, zip_of(&files, deflated())).unwrap();
    let plain = load_paths(&files.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
    let zipped = load_paths(std::slice::from_ref(&zip));
    assert_eq!(plain.store.len(), zipped.store.len());
    let opts = svchop::ingest::archive::ArchiveOptions::default();
    let mut compared = 0;
    for i in (0..plain.store.len()).step_by(7) {
        let a = plain.store.get(i).unwrap();
        let b = zipped.store.get(i).unwrap();
        assert!(b.source.file.contains("two.zip!dev/"), "{}", b.source.file);
        let want = svchop::store::raw::record_text_with(&a.source, &opts).unwrap();
        let got = svchop::store::raw::record_text_with(&b.source, &opts).unwrap();
        assert_eq!(got, want);
        compared += 1;
    }
    assert!(compared > 5);
}

#[test]
fn bombs_encrypted_members_and_7z_are_refused_with_a_counted_problem() {
    let dir = tempfile::tempdir().unwrap();
    let json = corpus().join("json/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json");
    let log = std::fs::read(&json).unwrap();
    // A zip whose second member is 64 MiB of zeros (~64 KiB packed): refused from its header;
    // the log beside it is read.
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("log.json", deflated()).unwrap();
    z.write_all(&log).unwrap();
    z.start_file("zeros.evtx", deflated()).unwrap();
    // An EVTX header, then zeros: a log by its first bytes, so it is read until refused.
    let mut block = vec![0u8; 1 << 20];
    block[..8].copy_from_slice(b"ElfFile\0");
    for _ in 0..64 {
        z.write_all(&block).unwrap();
    }
    std::fs::write(
        dir.path().join("bomb.zip"),
        z.finish().unwrap().into_inner(),
    )
    .unwrap();
    // The same zeros as a single .gz: refused while unpacking.
    {
        let f = std::fs::File::create(dir.path().join("zeros.gz")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::best());
        for _ in 0..64 {
            gz.write_all(&block).unwrap();
        }
        gz.finish().unwrap();
    }
    let (out, err) = run_in(dir.path(), &["sources", "bomb.zip", "zeros.gz"]);
    let all = format!("{out}{err}");
    assert!(all.contains("bomb.zip!zeros.evtx"), "{all}");
    assert_eq!(all.matches("an archive bomb?").count(), 2, "{all}");
    assert!(all.contains("bomb.zip!log.json"), "{all}");

    // An encrypted zip: not read without the password, said plainly; read with it.
    let secret = zip_of(
        &[(json.clone(), "log.json".to_string())],
        deflated().with_aes_encryption(zip::AesMode::Aes256, "infected"),
    );
    std::fs::write(dir.path().join("secret.zip"), secret).unwrap();
    let (_, err) = run_in(dir.path(), &["scan", "secret.zip"]);
    assert!(err.contains("--archive-password"), "{err}");
    let (_, err) = run_in(
        dir.path(),
        &["scan", "secret.zip", "--archive-password", "wrong"],
    );
    assert!(err.contains("wrong"), "{err}");
    let (direct, _) = run_in(
        json.parent().unwrap(),
        &[
            "scan",
            json.file_name().unwrap().to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let (opened, err) = run_in(
        dir.path(),
        &[
            "scan",
            "secret.zip",
            "--archive-password",
            "infected",
            "--format",
            "json",
        ],
    );
    assert!(opened.len() > 1000, "{err}");
    assert_eq!(
        without_archives(&opened).replace("log.json", "X"),
        direct.replace(json.file_name().unwrap().to_str().unwrap(), "X")
    );
    let opened_env = svchop()
        .current_dir(dir.path())
        .env("SVCHOP_ARCHIVE_PASSWORD", "infected")
        .args(["scan", "secret.zip", "--format", "json"])
        .output()
        .map(|o| String::from_utf8(o.stdout).unwrap())
        .unwrap();
    assert_eq!(opened_env, opened);

    // 7z: recognised, not read, said so.
    std::fs::write(dir.path().join("c.7z"), b"7z\xBC\xAF\x27\x1C\x00\x04rest").unwrap();
    let (_, err) = run_in(dir.path(), &["scan", "c.7z"]);
    assert!(err.contains("7z"), "{err}");
}

#[test]
fn a_7z_plain_and_encrypted_gives_the_folders_findings() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hosts");
    let picks = [
        "evtx-attack-samples/Lateral Movement/LM_REMCOM_5145_TargetHost.evtx",
        "evtx-attack-samples/Lateral Movement/LM_sysmon_psexec_smb_meterpreter.evtx",
        "json/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json",
    ];
    for p in picks {
        let to = src.join(p);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(corpus().join(p), &to).unwrap();
    }
    let (folder, _) = run_in(&src, &["scan", ".", "--format", "json"]);
    assert!(folder.len() > 1000);
    sevenz_rust2::compress_to_path(&src, dir.path().join("c.7z")).unwrap();
    sevenz_rust2::compress_to_path_encrypted(
        &src,
        dir.path().join("locked.7z"),
        sevenz_rust2::Password::from("infected"),
    )
    .unwrap();
    // Members are named below the folder compressed: the folder's scan names them `./...`.
    let as_folder = |text: &str| {
        regex::Regex::new(r"[A-Za-z0-9_.-]+\.7z!")
            .unwrap()
            .replace_all(text, "./")
            .into_owned()
    };
    let (got, err) = run_in(dir.path(), &["scan", "c.7z", "--format", "json"]);
    assert!(got.contains("c.7z!"), "{err}");
    assert_eq!(as_folder(&got), folder);
    let (_, err) = run_in(dir.path(), &["scan", "locked.7z"]);
    assert!(err.contains("--archive-password"), "{err}");
    let (got, err) = run_in(
        dir.path(),
        &[
            "scan",
            "locked.7z",
            "--archive-password",
            "infected",
            "--format",
            "json",
        ],
    );
    assert_eq!(as_folder(&got), folder, "{err}");
}
