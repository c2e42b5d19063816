//! The PySpark job that runs svchop's own engine on a cluster (`assets/spark_engine_job.py`):
//! svchop's scan in phases (`svchop fleet`), the per-host phase on the executors, with the
//! profile's TOML and the allow-list (every entry, with its origin) written into its `CONFIG`.
//! Every profile has this form: the job's findings are `svchop scan`'s by construction.

use super::spark::{columns, fill};
use crate::detect::Detector;
use serde_json::json;

const TEMPLATE: &str = include_str!("../../assets/spark_engine_job.py");

pub fn write(d: &Detector) -> String {
    let cfg = json!({
        "profile": d.profile.name,
        "title": d.profile.title,
        "svchop_version": env!("CARGO_PKG_VERSION"),
        // The binary that wrote the job: the last place the job looks for one.
        "svchop_path": std::env::current_exe().ok().map(|p| p.display().to_string()),
        "profile_toml": &*d.profile.text,
        "allowlist_toml": d.allowlist.to_toml(),
        "columns": columns(),
    });
    fill(TEMPLATE, &cfg)
}
