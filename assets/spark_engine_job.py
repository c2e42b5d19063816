#!/usr/bin/env python3
# svchop rules export --to spark: a PySpark job that runs svchop's own engine, with the profile
# and allow-list below, over tables written by `svchop normalize`, and writes findings as JSON
# lines in svchop's finding schema: the findings `svchop scan` makes of the same events.
#
#   spark-submit svchop_job.py --events TABLE_DIR [TABLE_DIR...] --out FINDINGS_DIR \
#       --svchop /path/to/svchop
#   (or: python3 svchop_job.py ... with pyspark installed; --master local[*] by default)
#
# How it runs (svchop's scan in phases, `svchop fleet --help`):
#   1. every partition of the table's rows -> `svchop fleet facts` on an executor;
#   2. the partitions' facts merged on the driver (`svchop fleet merge`) and shipped to every
#      executor (SparkContext.addFile);
#   3. the rows repartitioned by host, every host partition -> `svchop fleet scan` on an
#      executor (all of a host's events are in one partition);
#   4. the hosts' findings ranked together on the driver (`svchop fleet rank`).
# The svchop binary (Linux, the build that exported this job or a later one) is shipped to the
# executors with addFile; nothing needs installing on the workers but Python.
#
# The configuration below was written by svchop from the profile and allow-list in use; edit the
# profile and export again rather than editing it here.
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

CONFIG = json.loads(r"""__SVCHOP_CONFIG__""")

# What the last run did, for tests and benchmarks: where each host partition ran.
LAST_RUN = {}


__SVCHOP_TABLES__
# ---------------------------------------------------------------------------------------------
# On the executors: svchop over the partition's rows.
# ---------------------------------------------------------------------------------------------


def _executable(name):
    """The shipped svchop binary, executable (addFile may drop the mode bits)."""
    from pyspark import SparkFiles

    path = SparkFiles.get(name)
    if not os.access(path, os.X_OK):
        try:
            os.chmod(path, 0o755)
        except OSError:
            copy = os.path.join(tempfile.mkdtemp(prefix="svchop-bin-"), name)
            shutil.copy(path, copy)
            os.chmod(copy, 0o755)
            path = copy
    return path


def _svchop(binary, args, rows):
    """Runs svchop on the rows (JSON strings) with `args` (a function of the rows file);
    returns its standard output, or None when the partition is empty."""
    tmp = tempfile.mkdtemp(prefix="svchop-part-")
    try:
        path = os.path.join(tmp, "rows.jsonl")
        n = 0
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(r)
                f.write("\n")
                n += 1
        if n == 0:
            return None
        p = subprocess.run([binary] + args(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError(
                "svchop %s failed (%d): %s"
                % (" ".join(args(path)[:2]), p.returncode, p.stderr.decode("utf-8", "replace"))
            )
        return p.stdout.decode("utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _where():
    from pyspark import TaskContext

    tc = TaskContext.get()
    return {
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "partition": tc.partitionId() if tc else None,
    }


# ---------------------------------------------------------------------------------------------
# The job.
# ---------------------------------------------------------------------------------------------


def _driver(args):
    """Runs svchop on the driver; its standard output, or the error with what svchop said."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError(
            "svchop %s failed (%d): %s"
            % (" ".join(args[1:3]), p.returncode, p.stderr.decode("utf-8", "replace"))
        )
    return p.stdout.decode("utf-8")


def _find_svchop(given):
    """The binary to ship: the one given (--svchop, else SVCHOP), which must exist; only when
    none is given, svchop on PATH or the exporting machine's path."""
    explicit = given or os.environ.get("SVCHOP")
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return os.path.abspath(explicit)
        raise SystemExit(
            "svchop binary %s: %s; give the Linux build of svchop %s or later with --svchop"
            % (
                explicit,
                "not executable" if os.path.isfile(explicit) else "no such file",
                CONFIG["svchop_version"],
            )
        )
    for c in (shutil.which("svchop"), CONFIG.get("svchop_path")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise SystemExit(
        "svchop binary not found: give --svchop PATH (or set SVCHOP), the Linux build of svchop "
        "%s or later" % CONFIG["svchop_version"]
    )


CHECK_MARK = "svchop-binary-check: "


def _binary_kind(path):
    """What a binary is built for, from its header."""
    try:
        with open(path, "rb") as f:
            h = f.read(20)
    except OSError as e:
        return "unreadable (%s)" % e
    if h[:4] == b"\x7fELF" and len(h) >= 20:
        order = "little" if h[5] == 1 else "big"
        m = int.from_bytes(h[18:20], order)
        names = {0x3E: "x86_64", 0xB7: "aarch64", 0x03: "i386", 0x28: "arm", 0xF3: "riscv64"}
        return "Linux/ELF %s" % names.get(m, "machine %#x" % m)
    if h[:2] == b"MZ":
        return "Windows (PE)"
    if h[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return "macOS (Mach-O)"
    if h[:2] == b"#!":
        return "a script"
    return "no program format svchop knows"


def _version_tuple(text):
    import re

    m = re.match(r"^svchop (\d+)\.(\d+)\.(\d+)", text.strip())
    return tuple(int(x) for x in m.groups()) if m else None


def check_binary(path, where):
    """Runs `svchop --version` here; the version line, or an error (prefixed with CHECK_MARK)
    that says what to ship instead."""
    import platform

    here = "%s (%s %s)" % (where, platform.system(), platform.machine())
    want = CONFIG["svchop_version"]
    ship = "ship the %s %s build of svchop %s or later with --svchop" % (
        platform.system(), platform.machine(), want)
    try:
        p = subprocess.run([path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
    except OSError as e:
        raise RuntimeError("%sthe svchop binary %s cannot run on the %s: it is a %s build (%s); %s"
                           % (CHECK_MARK, path, here, _binary_kind(path), e.strerror or e, ship))
    except subprocess.TimeoutExpired:
        raise RuntimeError("%s%s --version did not answer on the %s; %s" % (CHECK_MARK, path, here, ship))
    line = p.stdout.decode("utf-8", "replace").strip()
    got = _version_tuple(line)
    if p.returncode != 0 or got is None:
        raise RuntimeError("%s%s is not svchop (--version said %r) on the %s; %s"
                           % (CHECK_MARK, path, line[:80], here, ship))
    if got < _version_tuple("svchop " + want):
        raise RuntimeError("%s%s is %s, older than svchop %s that exported this job, on the %s; %s"
                           % (CHECK_MARK, path, line, want, here, ship))
    return line


def _check_on_executor(sc, exe_name):
    """The shipped binary's version and platform on one executor, before any phase."""
    try:
        sc.parallelize([0], 1).map(lambda _: check_binary(_executable(exe_name), "executor")).collect()
    except Exception as e:  # Spark wraps the executor's error in its own.
        text = str(e)
        if CHECK_MARK in text:
            raise RuntimeError(text[text.index(CHECK_MARK):].splitlines()[0]) from None
        raise


def run(spark, event_dirs, out_dir, svchop=None, host_partitions=None, overwrite=False):
    sc = spark.sparkContext
    binary = _find_svchop(svchop)
    check_out(spark, out_dir, event_dirs, overwrite)
    check_binary(binary, "driver")
    run_id = uuid.uuid4().hex[:12]
    work = tempfile.mkdtemp(prefix="svchop-job-")
    try:
        return _run(spark, sc, binary, run_id, work, event_dirs, out_dir, host_partitions)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(spark, sc, binary, run_id, work, event_dirs, out_dir, host_partitions):
    # Files every executor needs, under names unique to this run (a session may run many jobs).
    profile_name = "svchop-profile-%s.toml" % run_id
    allow_name = "svchop-allow-%s.toml" % run_id
    # The binary first, checked on an executor before anything else is shipped (a file added
    # but never fetched, its folder then removed, would fail the session's later tasks).
    sc.addFile(binary)
    exe_name = os.path.basename(binary)
    _check_on_executor(sc, exe_name)
    for name, text in ((profile_name, CONFIG["profile_toml"]), (allow_name, CONFIG["allowlist_toml"])):
        with open(os.path.join(work, name), "w", encoding="utf-8") as f:
            f.write(text)
        sc.addFile(os.path.join(work, name))

    from pyspark.sql import functions as F

    ev = read_tables(spark, event_dirs)

    def as_json(df):
        # One JSON object per row, null columns left out (as svchop writes the table).
        return df.select(F.to_json(F.struct(*df.columns)).alias("j")).rdd.map(lambda r: r[0])

    rows = as_json(ev)

    # Phase 1: facts of each partition, any rows.
    def facts_of(part):
        from pyspark import SparkFiles

        out = _svchop(
            _executable(exe_name),
            lambda p: ["fleet", "facts", p, "--profile", SparkFiles.get(profile_name), "--to", "-"],
            part,
        )
        if out is not None:
            yield out

    clock = [time.time()]
    seconds = {}

    def lap(name):
        now = time.time()
        seconds[name] = round(now - clock[0], 3)
        clock[0] = now

    facts = rows.mapPartitions(facts_of).collect()
    lap("facts")
    facts_dir = os.path.join(work, "facts")
    os.makedirs(facts_dir)
    for i, text in enumerate(facts):
        with open(os.path.join(facts_dir, "part-%05d.json" % i), "w", encoding="utf-8") as f:
            f.write(text)
    merged_name = "svchop-facts-%s.json" % run_id
    merged = os.path.join(work, merged_name)
    profile_path = os.path.join(work, profile_name)
    if facts:
        _driver([binary, "fleet", "merge", facts_dir, "--to", merged])
        sc.addFile(merged)
    lap("merge")

    # Phase 2: the findings of each host partition, given the merged facts.
    n_parts = host_partitions or max(2, sc.defaultParallelism * 2)

    def findings_of(part):
        from pyspark import SparkFiles

        t0 = time.time()
        n = [0]

        def counted(rows):
            for r in rows:
                n[0] += 1
                yield r

        out = _svchop(
            _executable(exe_name),
            lambda p: [
                "fleet", "scan", p,
                "--profile", SparkFiles.get(profile_name),
                "--facts", SparkFiles.get(merged_name),
                "--no-default-allowlist", "--allowlist", SparkFiles.get(allow_name),
                "--show-suppressed",
            ],
            counted(part),
        )
        if out is not None:
            yield ("ran", json.dumps(dict(_where(), seconds=round(time.time() - t0, 3), rows=n[0])))
            for line in out.splitlines():
                if line.strip():
                    yield ("finding", line)

    got = []
    if facts:
        got = as_json(ev.repartition(n_parts, "host_key")).mapPartitions(findings_of).collect()
    lap("hosts")
    LAST_RUN.clear()
    LAST_RUN["facts_parts"] = len(facts)
    LAST_RUN["host_tasks"] = [json.loads(t) for k, t in got if k == "ran"]

    # Phase 3: every host's findings ranked together.
    found_dir = os.path.join(work, "findings")
    os.makedirs(found_dir)
    with open(os.path.join(found_dir, "part-00000.jsonl"), "w", encoding="utf-8") as f:
        for k, t in got:
            if k == "finding":
                f.write(t + "\n")
    ranked = _driver(
        [binary, "fleet", "rank", found_dir, "--profile", profile_path,
         "--format", "jsonl", "--show-suppressed"]
    )
    lines = [l for l in ranked.splitlines() if l.strip()]
    from pyspark.sql import types as T

    out = spark.createDataFrame([(l,) for l in lines], T.StructType([T.StructField("value", T.StringType())]))
    out.coalesce(1).write.mode("overwrite").text(out_dir)
    lap("rank")
    LAST_RUN["findings"] = len(lines)
    LAST_RUN["seconds"] = seconds
    return len(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="svchop profile %s on Spark" % CONFIG["profile"])
    ap.add_argument("--events", nargs="+", required=True, help="tables from svchop normalize")
    ap.add_argument("--out", required=True, help="folder for the findings (JSON lines): new or empty")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace what a non-empty --out holds (never an input table)")
    ap.add_argument("--svchop", default=None, help="the svchop binary shipped to the executors")
    ap.add_argument("--master", default=None, help="Spark master (default: local[*] when not set)")
    ap.add_argument("--host-partitions", type=int, default=None,
                    help="partitions of hosts for phase 2 (default: twice the cores)")
    a = ap.parse_args(argv)
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("svchop-" + CONFIG["profile"])
    if a.master:
        b = b.master(a.master)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    n = run(spark, a.events, a.out, a.svchop, a.host_partitions, a.overwrite)
    spark.stop()
    print("svchop spark job: %d finding(s) written to %s" % (n, a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
