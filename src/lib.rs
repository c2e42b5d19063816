//! svchop: investigate remote service-based lateral movement (PsExec, PAExec, RemCom, Impacket
//! psexec/smbexec, Metasploit psexec, NetExec) in Windows event logs.
//!
//! Core layers, each using only those before it: `model` -> `ingest` -> `store` -> `detect` ->
//! `investigation` (one pipeline for every command and the workbench), `pivot`, `case` -> the
//! sinks (`export`, `rules`); the `cli` and `tui` shells sit on top.

pub mod case;
pub mod cli;
pub mod demo;
pub mod detect;
pub mod export;
pub mod ingest;
pub mod investigation;
pub mod model;
pub mod output;
pub mod pivot;
pub mod rules;
pub mod store;
pub mod tui;
