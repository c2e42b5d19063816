//! svchop: investigate remote service-based lateral movement (PsExec, PAExec, RemCom, Impacket
//! psexec/smbexec, Metasploit psexec, NetExec) in Windows event logs.
//!
//! Core layers, each using only those before it: `model` -> `ingest` -> `store` -> `detect` ->
//! `investigation` (one pipeline for every command and the workbench), `pivot`, `case` -> the
//! sinks (`export`, `rules`); the `cli` and `tui` shells sit on top.
//!
//! The public API is narrow: [`run`] (the command line), [`Investigation::open`] and the
//! finding types. Every module is crate-private unless the `bench` feature is on: benchmarks,
//! fuzz targets and the integration tests (through the crate's dev-dependency on itself) reach
//! into the core with it; nothing outside the repository should.

/// Declares modules `pub` with the `bench` feature and `pub(crate)` without it.
macro_rules! internal {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "bench")]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "bench"))]
        pub(crate) mod $name;
    )*};
}

internal! {
    case;
    cli;
    config;
    demo;
    detect;
    sink;
    filter;
    ingest;
    investigation;
    live;
    model;
    pivot;
    rules;
    store;
    tui;
}

pub use detect::finding::{Finding, Severity, Stage};
pub use investigation::{Evidence, Investigation, OpenError, Options, Progress};

/// The `svchop` command line: parses the process's arguments, runs the command and returns its
/// exit code (0 clean, 1 findings at or above `--fail-on`, 2 unusable input or arguments).
pub fn run() -> std::process::ExitCode {
    cli::main()
}
