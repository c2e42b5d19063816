"""Runs exported svchop Spark jobs on a Spark standalone cluster started here: one master and two
workers on localhost (one core each, each with its own work folder), stopped when done.

Usage: python3 spark_cluster.py DIR PLAN.json
  DIR   where the cluster keeps its logs and the workers their work folders (created)
  PLAN  a list of {"job": job.py, "events": [table dir...], "out": findings dir,
        "host_partitions": n (optional)}

Prints, last, one JSON line: {"master": url, "worker_dirs": [...], "jobs": [{"job", "findings",
"host_tasks": [{"pid", "cwd", "partition"}...]}...]}: where each job's per-host tasks ran.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pyspark
from run_spark_jobs import run_plan


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_class():
    return os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-class")


def start(cls, args, log):
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1")
    out = open(log, "w")
    return subprocess.Popen([spark_class(), cls] + args, stdout=out, stderr=subprocess.STDOUT, env=env)


def alive_workers(ui_port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/json/" % ui_port, timeout=2) as r:
            return json.load(r).get("aliveworkers", 0)
    except (OSError, ValueError):
        # Not up yet, or not the master's page yet (a port picked free can answer otherwise
        # while the cluster starts): keep waiting, bounded by the caller's deadline.
        return 0


def main():
    base = os.path.abspath(sys.argv[1])
    plan = json.load(open(sys.argv[2], encoding="utf-8"))
    os.makedirs(base, exist_ok=True)
    port, ui = free_port(), free_port()
    master_url = "spark://127.0.0.1:%d" % port
    procs = [
        start(
            "org.apache.spark.deploy.master.Master",
            ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)],
            os.path.join(base, "master.log"),
        )
    ]
    worker_dirs = []
    try:
        for i in range(2):
            wd = os.path.join(base, "worker%d" % i)
            os.makedirs(wd, exist_ok=True)
            worker_dirs.append(os.path.realpath(wd))
            procs.append(
                start(
                    "org.apache.spark.deploy.worker.Worker",
                    ["--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--work-dir", wd,
                     "--webui-port", str(free_port()), master_url],
                    os.path.join(base, "worker%d.log" % i),
                )
            )
        deadline = time.time() + 120
        while alive_workers(ui) < 2:
            if time.time() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("the cluster did not start; logs in %s" % base)
            time.sleep(0.5)

        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master(master_url)
            .appName("svchop-cluster-test")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.executor.cores", "1")
            .config("spark.executor.memory", "1g")
            .config("spark.cores.max", "2")
            .config("spark.pyspark.python", sys.executable)
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate()
        )
        sc = spark.sparkContext
        sc.setLogLevel("ERROR")
        # Both executors registered (driver + 2) before any job, so both can take tasks.
        deadline = time.time() + 120
        while sc._jsc.sc().getExecutorMemoryStatus().size() < 3:
            if time.time() > deadline:
                raise SystemExit("executors did not register; logs in %s" % base)
            time.sleep(0.5)
        report = {"master": master_url, "worker_dirs": worker_dirs, "jobs": run_plan(spark, plan)}
        spark.stop()
        print(json.dumps(report))
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
