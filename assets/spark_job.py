#!/usr/bin/env python3
# svchop rules export --to spark: a PySpark job that runs an svchop logon-service profile (its
# correlation, windows, exclusions, scoring and allow-list) over tables written by
# `svchop normalize`, and writes findings as JSON lines in svchop's finding schema.
#
#   spark-submit svchop_job.py --events TABLE_DIR [TABLE_DIR...] --out FINDINGS_DIR
#   (or: python3 svchop_job.py ... with pyspark installed; --master local[*] by default)
#
# The configuration below was written by svchop from the profile and allow-list in use; edit the
# profile and export again rather than editing it here.
import argparse
import hashlib
import json
import re
import sys

CONFIG = json.loads(r"""__SVCHOP_CONFIG__""")

# ---------------------------------------------------------------------------------------------
# Schema of the normalized table (svchop normalize): every column, typed.
# ---------------------------------------------------------------------------------------------


__SVCHOP_TABLES__
# ---------------------------------------------------------------------------------------------
# Per-finding logic (runs on the executors): svchop's finding builder for this engine.
# ---------------------------------------------------------------------------------------------

def _rx(patterns):
    return [re.compile(p) for p in patterns]


_TOOLS = None
_GETSYSTEM = None
_ALLOW = None
_SHELL_PATH = None
_RANDOM = re.compile(r"^[A-Z0-9]{6,8}$")


def _compiled():
    global _TOOLS, _GETSYSTEM, _ALLOW, _SHELL_PATH
    if _TOOLS is None:
        _TOOLS = [
            (t["id"], _rx(t["service_names"]), _rx(t["images"]), _rx(t["commands"]), t["all"])
            for t in CONFIG["tools"]
        ]
        _GETSYSTEM = _rx(CONFIG["getsystem_images"])
        _ALLOW = [
            (a, [(t["field"], re.compile(t["regex"])) for t in a["tests"]])
            for a in CONFIG["allowlist"]
        ]
        _SHELL_PATH = re.compile(CONFIG["command_forms"]["shell_path"])
    return _TOOLS, _GETSYSTEM, _ALLOW


def normalize_command(command):
    """A service command in the one form tool commands are written for (svchop's
    normalize_command): lower-case, quotes dropped, variables expanded, shell paths bare."""
    _compiled()
    c = command.replace("%%", "%").lower().replace('"', "")
    for var, val in CONFIG["command_forms"]["vars"]:
        c = c.replace(var, val)
    if ".exe" in c:
        c = _SHELL_PATH.sub(r"\1", c)
    return " ".join(c.split())


def _search(rxs, text):
    return any(r.search(text) for r in rxs)


def account_display(domain, user, sid):
    if user is not None:
        return "%s\\%s" % (domain, user) if domain is not None else user
    return sid


def is_loopback_or_empty(ip):
    import ipaddress

    t = (ip or "").strip()
    if t == "" or t == "-":
        return True
    t = t.strip("[]").split("%")[0]
    try:
        a = ipaddress.ip_address(t)
    except ValueError:
        return False
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return a.is_loopback or a.is_unspecified


def host_key(name):
    import ipaddress

    t = name.strip().lstrip("\\").rstrip("$")
    try:
        a = ipaddress.ip_address(t.strip("[]").split("%")[0])
        if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
            return str(a.ipv4_mapped)
        return str(a)
    except ValueError:
        return t.split(".")[0].upper()


def service_flags(name, image):
    tools, getsystem, _ = _compiled()
    w = CONFIG["weights"]
    flags = []
    if name is not None:
        if is_suspicious_name(name):
            flags.append("suspicious_name")
        if len(name) <= 8 and _RANDOM.match(name):
            flags.append("random_name")
    if image is not None:
        lo = image.lower()
        if any(p in lo for p in ["\\temp\\", "\\tmp\\", "\\appdata\\", "\\programdata\\"]):
            flags.append("temp_path")
        if lo.startswith("\\\\"):
            flags.append("admin_share_path")
        if any(p in lo for p in ["cmd.exe", "powershell.exe", "wmic.exe", "rundll32.exe", "%comspec%"]):
            flags.append("shell_in_path")
        if " -enc" in lo or "-encodedcommand" in lo or "frombase64string" in lo:
            flags.append("encoded_powershell")
        if _search(getsystem, image.replace("%%", "%")):
            flags.append("getsystem")
    command = normalize_command(image) if image is not None else None
    for tid, names, images, commands, both in tools:
        by_name = name is not None and _search(names, name)
        by_image = image is not None and (
            _search(images, image.replace("%%", "%")) or _search(commands, command)
        )
        if (by_name and by_image) if both else (by_name or by_image):
            flags.append("tool:" + tid)
            break
    return flags


def is_suspicious_name(name):
    n = name.lower()
    return any(p.lower() in n for p in CONFIG["weights"]["service"]["suspicious_patterns"])


def part(name, points, why):
    return {"name": name, "points": points, "why": why}


def score(services):
    w = CONFIG["weights"]
    signals = ["logon_then_service"]
    parts = [part("base", w["base"]["one"], "1 correlation type: " + ", ".join(signals))]
    if not services:
        parts.append(part("service", 0, "no service identified"))
    else:
        suspicious = [
            s.get("name") or s.get("key_name")
            for s in services
            if (s.get("name") or s.get("key_name")) is not None
            and is_suspicious_name(s.get("name") or s.get("key_name"))
        ]
        tool_sig = any(f.startswith("tool:") for s in services for f in s["flags"])
        if suspicious or tool_sig:
            why = (
                "service name matches a known tool pattern (%s)" % ", ".join(suspicious)
                if suspicious
                else "service matches a lateral tool signature"
            )
            parts.append(part("service", w["service"]["suspicious"], why))
        elif len(services) > 2:
            parts.append(part("service", w["service"]["many"], "%d services created" % len(services)))
        else:
            parts.append(part("service", w["service"]["other"], "service created, no known tool pattern"))
    parts.append(part("tool", w["tool"]["none"], "no tool identified"))
    parts.append(part("process", 0, "no process seen"))
    total = sum(p["points"] for p in parts)
    return signals, total, parts


def severity(total):
    t = CONFIG["weights"]["severity"]
    if total >= t["critical"]:
        return "critical"
    if total >= t["high"]:
        return "high"
    if total >= t["medium"]:
        return "medium"
    return "low"


STAGES = ["source", "logon", "share", "pipe", "install", "exec", "cleanup"]


def record_number(evidence):
    """`N` of `file#record=N` or `file:N` (the record's place in its log), else ""."""
    if "#record=" in evidence:
        return evidence.rsplit("#record=", 1)[1]
    tail = evidence.rsplit(":", 1)[1] if ":" in evidence else ""
    return tail if tail.isdigit() and tail.isascii() else ""


def stage_identity(row):
    """What svchop hashes for a stage: host, event id, time (nanoseconds), record number."""
    secs, ns = divmod(row["ts_ns"], 10**9)
    return "%s|%d|%d.%09d|%s" % (
        host_key(row["host"]), row["event_id"], secs, ns, record_number(row["evidence"])
    )


def finding_id(target_key, rows):
    """svchop's finding id: from the records' content, never the evidence path."""
    h = hashlib.sha256()
    h.update(target_key.encode("utf-8"))
    for e in sorted(stage_identity(r) for r in rows):
        h.update(b"\n")
        h.update(e.encode("utf-8"))
    return "F-" + h.hexdigest()[:12]


def _hit(rx, value):
    return value is not None and rx.search(value.strip()) is not None


def _holds(field, rx, f):
    """One condition of an allow-list entry on a finding (svchop's allowlist `holds`)."""
    if field == "service_name":
        names = [s["name"] for s in f["services"] if s.get("name") is not None]
        return bool(names) and all(
            _hit(rx, s.get("name")) or _hit(rx, s.get("key_name")) for s in f["services"]
        )
    if field == "image_path":
        return bool(f["services"]) and all(
            s.get("image_path") is not None and _hit(rx, s["image_exe"])
            for s in f["_services_exe"]
        )
    if field == "service_type":
        return bool(f["services"]) and all(
            any(_hit(rx, x) for x in s["flags"]) for s in f["services"]
        )
    if field == "account":
        u = f["user"]
        return u is not None and (_hit(rx, u) or _hit(rx, u.rsplit("\\", 1)[-1]))
    if field == "source_host":
        return bool(f["source_hosts"]) and all(
            _hit(rx, h) or _hit(rx, host_key(h)) for h in f["source_hosts"]
        )
    if field == "source_ip":
        return bool(f["source_ips"]) and all(_hit(rx, ip) for ip in f["source_ips"])
    if field == "target_host":
        return _hit(rx, f["target_host"]) or _hit(rx, f["target_key"])
    return False


def suppression(f):
    # The first entry all of whose conditions hold. This job runs profiles without origin rules,
    # fingerprint or launcher parts, so no attack sign outranks an entry here.
    _, _, allow = _compiled()
    for a, tests in allow:
        if all(_holds(field, rx, f) for field, rx in tests):
            return {
                "field": a["field"],
                "pattern": a["pattern"],
                "reason": a["reason"],
                "origin": a["origin"],
            }
    return None


def stage_ref(stage, row, link):
    return {
        "stage": stage,
        "time": row["ts"],
        "host": row["host"],
        "channel": row["channel"],
        "event_id": row["event_id"],
        "evidence": row["evidence"],
        "summary": row["summary"],
        "link": link,
    }


def build_finding(install, logons):
    """One install row and the logon rows joined to it -> svchop finding (dict)."""
    lid = install["subject_logon_id"]
    logons = sorted(logons, key=lambda l: l["seq"])
    name = (install["service_name"] or "").strip() or None
    image = install["service_image_path"]
    user = account_display(install["subject_domain"], install["subject_user"], install["subject_sid"])
    source_ips = set()
    for l in logons:
        ip = l["src_ip"]
        if ip is not None and not is_loopback_or_empty(ip):
            source_ips.add(ip)
        if user is None:
            user = account_display(l["target_domain"], l["target_user"], l["target_sid"])
    rows = [("install", install, "service installed")] + [
        ("logon", l, "logon id %s" % lid) for l in logons
    ]
    order = {s: i for i, s in enumerate(STAGES)}
    # Sort as svchop does: time, stage, evidence (times compared as instants, by ts_ns).
    rows.sort(key=lambda r: (r[1]["ts_ns"], order[r[0]], r[1]["evidence"]))
    stages = [stage_ref(s, r, link) for s, r, link in rows]
    target_key = install["host_key"]
    target = next((r["host"] for _, r, _ in rows if r["host_key"] == target_key), target_key)
    services = []
    services_exe = []
    if name is not None or image is not None:
        services.append(
            {
                "name": name,
                "image_path": image,
                "account": install["service_account"],
                "flags": service_flags(name, image),
            }
        )
        services_exe.append({"image_path": image, "image_exe": install["service_image_exe"]})
    signals, total, parts = score(services)
    sev = severity(total)
    present = {s["stage"] for s in stages}
    want = {
        "T1021.002": bool(present & {"share", "pipe", "logon"}),
        "T1543.003": "install" in present,
        "T1569.002": "exec" in present,
        "T1570": "share" in present,
    }
    f = {
        "id": finding_id(target_key, [r for _, r, _ in rows]),
        "profile": CONFIG["profile"],
        "target_host": target,
        "target_key": target_key,
        "source_hosts": [],
        "source_ips": sorted(source_ips),
        "user": user,
        "logon_ids": [lid],
        "first_seen": stages[0]["time"],
        "last_seen": stages[-1]["time"],
        "severity": sev,
        "score": total,
        "score_breakdown": parts,
        "signals": signals,
        "services": services,
        "processes": [],
        "tools": [],
        "origin": {
            "kind": "unknown",
            "reasons": ["no logon, share, pipe or network event shows a remote client"],
        },
        "stages": stages,
        "missing_stages": [s for s in STAGES if s not in present],
        "techniques": [t for t in CONFIG["weights"]["technique"] if want.get(t["id"], False)],
        "recommendation": CONFIG["weights"]["recommendation"][sev],
        "suppressed_by": None,
        "_services_exe": services_exe,
        "_first_ns": rows[0][1]["ts_ns"],
    }
    f["suppressed_by"] = suppression(f)
    del f["_services_exe"]
    return f


# ---------------------------------------------------------------------------------------------
# The correlation, in Spark: network logons joined to service installs on the logon id.
# ---------------------------------------------------------------------------------------------


def run(spark, event_dirs, out_dir, overwrite=False):
    from pyspark.sql import functions as F

    check_out(spark, out_dir, event_dirs, overwrite)

    prof = CONFIG["logon"]
    inst = CONFIG["install"]
    ev = read_tables(spark, event_dirs)

    lg = ev.where(F.col("event_id").isin(prof["event_ids"]) & (F.col("event_id") == 4624))
    lg = lg.where(F.col("logon_type").isin(prof["logon_types"]) & F.col("logon_id").isNotNull())
    if prof["require_source_ip"]:
        lg = lg.where(F.col("src_ip").isNotNull() & ~F.col("src_ip").isin("-", ""))
    if prof["exclude_source_ips"]:
        lg = lg.where(F.col("src_ip").isNull() | ~F.col("src_ip").isin(prof["exclude_source_ips"]))
    if prof["exclude_machine_accounts"]:
        lg = lg.where(F.col("target_user").isNull() | ~F.col("target_user").endswith("$"))

    channels = []
    if "4697" in inst["sources"]:
        channels.append("Security")
    if "defender" in inst["sources"]:
        channels.append("Defender")
    ins = ev.where((F.col("event_id") == 4697) & F.col("channel").isin(channels))
    ins = ins.where(F.col("subject_logon_id").isNotNull())
    if inst["exclude_subject_logon_ids"]:
        ins = ins.where(~F.col("subject_logon_id").isin(inst["exclude_subject_logon_ids"]))
    for rx in inst["exclude_image_regexes"]:
        ins = ins.where(F.col("service_image_path").isNull() | ~F.col("service_image_path").rlike(rx))
    if inst["exclude_service_names"]:
        # ASCII case folding, as svchop compares service names.
        ascii_lower = F.translate(
            F.col("service_name"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
        )
        ins = ins.where(
            F.col("service_name").isNull() | ~ascii_lower.isin(inst["exclude_service_names"])
        )

    l = lg.select([F.col(c).alias("l_" + c) for c in lg.columns])
    cond = [F.col("l_logon_id") == F.col("subject_logon_id")]
    if CONFIG["same_host"]:
        cond.append(F.col("l_host_key") == F.col("host_key"))
    delta = F.col("ts_ns") - F.col("l_ts_ns")
    cond.append(delta >= 0)
    if CONFIG["window_ns"] is not None:
        cond.append(delta <= F.lit(CONFIG["window_ns"]))
    joined = ins.join(l, on=cond, how="inner")

    logon_cols = [c for c in l.columns]
    grouped = joined.groupBy(*[F.col(c) for c in ins.columns]).agg(
        F.collect_list(F.struct(*[F.col(c) for c in logon_cols])).alias("logons")
    )

    def to_finding(row):
        d = row.asDict(recursive=True)
        logons = [{k[2:]: v for k, v in x.items()} for x in d.pop("logons")]
        f = build_finding(d, logons)
        first_ns = f.pop("_first_ns")
        return (f["id"], -f["score"], f["target_key"], first_ns, json.dumps(f, ensure_ascii=False))

    rdd = grouped.rdd.map(to_finding)
    # Same evidence, one finding; then svchop's order: score desc, target, first seen (as an
    # instant: the RFC 3339 text varies in its fraction digits), id.
    deduped = rdd.keyBy(lambda t: t[0]).reduceByKey(lambda a, b: a).values()
    out = spark.createDataFrame(deduped, ["id", "neg_score", "target_key", "first_ns", "json"])
    out = out.orderBy("neg_score", "target_key", "first_ns", "id").select("json").persist()
    n = out.count()  # computes the findings once; the write below reuses them
    out.coalesce(1).write.mode("overwrite").text(out_dir)
    out.unpersist()
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(description="svchop profile %s on Spark" % CONFIG["profile"])
    ap.add_argument("--events", nargs="+", required=True, help="tables from svchop normalize")
    ap.add_argument("--out", required=True, help="folder for the findings (JSON lines): new or empty")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace what a non-empty --out holds (never an input table)")
    ap.add_argument("--master", default=None, help="Spark master (default: local[*] when not set)")
    a = ap.parse_args(argv)
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("svchop-" + CONFIG["profile"])
    if a.master:
        b = b.master(a.master)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    n = run(spark, a.events, a.out, a.overwrite)
    spark.stop()
    print("svchop spark job: %d finding(s) written to %s" % (n, a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
