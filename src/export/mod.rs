//! Sinks for findings: table (80 columns), CSV (formula-safe), Markdown (escaped), JSON/JSONL.
//! The engine never formats; every string from evidence is sanitized here for its sink.

pub mod attack_layer;
pub mod csv_out;
pub mod markdown;
pub mod normalized;
pub mod table;
pub mod timeline;
