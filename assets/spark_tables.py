def table_schema():
    from pyspark.sql import types as T

    kinds = {
        "string": T.StringType(),
        "long": T.LongType(),
        "int": T.IntegerType(),
        "boolean": T.BooleanType(),
    }
    return T.StructType(
        [T.StructField(c["name"], kinds[c["type"]], True) for c in CONFIG["columns"]]
    )


def _has_parts(spark, pattern):
    """Whether the glob matches a file, on whatever file system the path names (local, HDFS,
    S3, DBFS), through Hadoop's own file system API."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(pattern)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    found = fs.globStatus(path)
    return found is not None and len(found) > 0


def read_tables(spark, dirs):
    """The rows of every table: its Parquet parts when it has them, else its JSON lines parts;
    columns cast to the documented types, in the documented order."""
    from pyspark.sql import functions as F

    schema = table_schema()
    frames = []
    for d in dirs:
        base = d.rstrip("/")
        if _has_parts(spark, base + "/events-*.parquet"):
            df = spark.read.parquet(base + "/events-*.parquet")
        elif _has_parts(spark, base + "/events-*.jsonl"):
            df = spark.read.schema(schema).json(base + "/events-*.jsonl")
        else:
            raise SystemExit(
                "%s holds no svchop table parts (events-*.parquet or events-*.jsonl from "
                "`svchop normalize`)" % d
            )
        have = set(df.columns)
        df = df.select(
            [
                (F.col(f.name) if f.name in have else F.lit(None)).cast(f.dataType).alias(f.name)
                for f in schema.fields
            ]
        )
        frames.append(df)
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out




def check_out(spark, out_dir, event_dirs, overwrite):
    """Refuses an --out that would destroy data, on whatever file system it names: an input
    table (or a folder holding one, or inside one) always; any other non-empty folder unless
    --overwrite. The write then replaces only what the analyst allowed."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()

    def qualified(p):
        path = jvm.org.apache.hadoop.fs.Path(p)
        fs = path.getFileSystem(conf)
        return fs, fs.makeQualified(path).toString().rstrip("/")

    fs, out = qualified(out_dir)
    for d in event_dirs:
        _, table = qualified(d)
        if out == table or table.startswith(out + "/") or out.startswith(table + "/"):
            raise SystemExit(
                "--out %s is the input table %s or holds it (or lies inside it): svchop never "
                "writes over its evidence; give another folder" % (out_dir, d)
            )
    path = jvm.org.apache.hadoop.fs.Path(out_dir)
    if fs.exists(path):
        if not fs.getFileStatus(path).isDirectory():
            raise SystemExit("--out %s is a file, not a folder" % out_dir)
        n = len(fs.listStatus(path))
        if n > 0 and not overwrite:
            raise SystemExit(
                "--out %s is not empty (%d entries): give an empty or new folder, or --overwrite "
                "to replace what it holds" % (out_dir, n)
            )
