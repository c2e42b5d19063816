"""Runs several exported svchop Spark jobs in one local Spark session (one JVM start).

Usage: python3 run_spark_jobs.py PLAN.json, where PLAN is a list of
{"job": job.py, "events": [table dir...], "out": findings dir}, optional "overwrite", for the
engine job optional "host_partitions" and "svchop", and for a step that must be refused
"expect_error" (a part of the message).
"""
import importlib.util
import json
import sys


def run_plan(spark, plan):
    """Runs each step's job in `spark`; returns, per step, {"job", "findings", "host_tasks"}
    (where the engine job's per-host tasks ran; empty for the SQL job)."""
    done = []
    for i, step in enumerate(plan):
        spec = importlib.util.spec_from_file_location("svchop_job_%d" % i, step["job"])
        job = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(job)
        extra = {k: step[k] for k in ("host_partitions", "overwrite", "svchop") if k in step}
        if "expect_error" in step:
            # A refusal step: the job must stop with a message that says this.
            try:
                job.run(spark, step["events"], step["out"], **extra)
            except BaseException as e:  # SystemExit included: the jobs' refusals use it.
                if step["expect_error"] not in str(e):
                    raise AssertionError(
                        "%s: expected an error saying %r, got: %s"
                        % (step["job"], step["expect_error"], e)
                    )
                print("%s refused as expected: %s" % (step["job"], e), file=sys.stderr)
                done.append({"job": step["job"], "findings": 0, "host_tasks": [], "refused": str(e)})
                continue
            raise AssertionError("%s: expected a refusal saying %r" % (step["job"], step["expect_error"]))
        n = job.run(spark, step["events"], step["out"], **extra)
        print("%s: %d finding(s)" % (step["job"], n), file=sys.stderr)
        done.append(
            {
                "job": step["job"],
                "findings": n,
                "host_tasks": getattr(job, "LAST_RUN", {}).get("host_tasks", []),
            }
        )
    return done


def main():
    from pyspark.sql import SparkSession

    plan = json.load(open(sys.argv[1], encoding="utf-8"))
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("svchop-interop-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    run_plan(spark, plan)
    spark.stop()


if __name__ == "__main__":
    main()
