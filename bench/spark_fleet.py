"""svchop's engine on Spark (the job of `svchop rules export --to spark`) against `svchop scan`,
on a demo case of about a million records, in local Spark with two cores. A benchmark, not a
test: prints the figures (and checks the findings agree).

Usage: python3 bench/spark_fleet.py [WORK_DIR] [--hosts 400 --days 10 --noise 1000]
(run with the interop venv's Python, where pyspark is: target/interop-venv/bin/python3)
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SVCHOP = os.path.join(ROOT, "target", "release", "svchop")


def timed(cmd, **kw):
    t0 = time.time()
    p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    return time.time() - t0, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default=None)
    ap.add_argument("--hosts", type=int, default=400)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--noise", type=int, default=1000)
    ap.add_argument("--profile", default="default")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    work = a.work or tempfile.mkdtemp(prefix="svchop-spark-bench-")
    demo = os.path.join(work, "demo-%d-%d-%d" % (a.hosts, a.days, a.noise))
    table = demo + "-table"
    if not os.path.isdir(demo):
        subprocess.run([SVCHOP, "demo", "--headless", "--write", demo, "--hosts", str(a.hosts),
                        "--days", str(a.days), "--noise", str(a.noise)], check=True,
                       stdout=subprocess.DEVNULL)
    if not os.path.isdir(table):
        subprocess.run([SVCHOP, "normalize", demo, "--to", table, "--format", "parquet"],
                       check=True, stderr=subprocess.DEVNULL)
    rows = json.load(open(os.path.join(table, "manifest.json")))["rows"]
    print("machine: %d cores; demo %s: %d kept events, %d hosts" % (os.cpu_count(), demo, rows, a.hosts))

    scan_s, want = timed([SVCHOP, "scan", demo, "--profile", a.profile, "--format", "jsonl",
                          "--show-suppressed"])
    print("svchop scan (evidence, %d threads): %.2f s" % (os.cpu_count(), scan_s))

    job = os.path.join(work, "job-%s.py" % a.profile)
    subprocess.run([SVCHOP, "rules", "export", "--to", "spark", "--profile", a.profile, "-o", job],
                   check=True)
    spec = importlib.util.spec_from_file_location("svchop_bench_job", job)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("svchop-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    runs = []
    for i in range(3):
        out = os.path.join(work, "out-%d" % i)
        t0 = time.time()
        mod.run(spark, [table], out, SVCHOP)
        runs.append((time.time() - t0, dict(mod.LAST_RUN)))
    spark.stop()
    got = b"".join(
        open(os.path.join(out, f), "rb").read() for f in sorted(os.listdir(out)) if f.startswith("part-")
    )
    same = got == want
    for i, (t, r) in enumerate(runs):
        tasks = r["host_tasks"]
        task_s = sum(x["seconds"] for x in tasks)
        print("spark job run %d (local[2]): %.2f s  phases %s  host tasks %d (%.2f s of svchop, %d rows)"
              % (i + 1, t, r["seconds"], len(tasks), task_s, sum(x["rows"] for x in tasks)))
    best = min(runs, key=lambda x: x[0])
    t, r = best
    task_s = sum(x["seconds"] for x in r["host_tasks"])
    print("best job: %.2f s = %.1fx svchop scan; per host: %.1f ms of host-phase task time"
          % (t, t / scan_s, 1000 * task_s / a.hosts))
    print("findings identical to svchop scan: %s (%d findings)" % (same, r["findings"]))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
