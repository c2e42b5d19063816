//! Any text as a case file: refused with a message or loaded, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(case) = svchop::case::persist::parse(text, "fuzz.json") {
            let _ = case.allowlist();
            let _ = case.progress("F-x", 15);
        }
    }
});
