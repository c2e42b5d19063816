//! The PySpark job that runs svchop's own engine on a cluster (`assets/spark_engine_job.py`):
//! svchop's scan in phases (`svchop fleet`), the per-host phase on the executors, with the
//! profile's TOML and the allow-list (every entry, with its origin) written into its `CONFIG`.
//! Every profile has this form: the job's findings are `svchop scan`'s by construction.

use crate::detect::Detector;
use crate::export::normalized::COLUMNS;
use serde_json::json;

const TEMPLATE: &str = include_str!("../../assets/spark_engine_job.py");
const SLOT: &str = "__SVCHOP_CONFIG__";

pub fn write(d: &Detector) -> String {
    let cfg = json!({
        "profile": d.profile.name,
        "title": d.profile.title,
        "svchop_version": env!("CARGO_PKG_VERSION"),
        // The binary that wrote the job: the last place the job looks for one.
        "svchop_path": std::env::current_exe().ok().map(|p| p.display().to_string()),
        "profile_toml": &*d.profile.text,
        "allowlist_toml": d.allowlist.to_toml(),
        "columns": COLUMNS.iter().map(|(n, t, _)| json!({"name": n, "type": t.label()})).collect::<Vec<_>>(),
    });
    let cfg = serde_json::to_string_pretty(&cfg).unwrap_or_default();
    // The JSON sits in a raw triple-quoted Python string: no `"""` may appear inside.
    let cfg = cfg.replace("\"\"\"", "\"\\u0022\"");
    TEMPLATE.replacen(SLOT, &cfg, 1)
}
