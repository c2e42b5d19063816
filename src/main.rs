//! The `svchop` binary: parse arguments, run, map errors to exit codes.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: loading millions of events makes millions of small
/// allocations from several threads, where glibc's malloc spent a third of the scan and kept
/// freed memory fragmented.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    svchop::run()
}
