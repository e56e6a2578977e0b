"""The job `test_spark_cluster.py` submits to a multi-process Spark cluster with
`spark-submit`: it fits custseg.spark on the rows of `X.npy` from the centres of `C0.npy`
in three ways and saves what the test compares with one machine, the warnings logged
and what the executors imported custseg from, to `result.npz`; all three files in the folder given as argument.

- barrier: 2 partitions, mode='barrier' (one task per executor);
- reread: 5 partitions, mode='reread';
- auto: 3 partitions, mode='auto', on a cluster of 2 task slots whose
  spark.default.parallelism (3) says otherwise: Spark refuses the 3-task barrier stage
  (SPARK-24819) and the fit falls back to re-reading."""

import logging
import os
import sys
import time

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, LongType, StructField, StructType

import custseg.spark

FEATURES = ["f0", "f1", "f2", "f3", "f4"]
FITS = {"barrier": 2, "reread": 5, "auto": 3}


def frame(spark, X, partitions):
    """X's rows with a row id, in `partitions` contiguous slices."""
    fields = [StructField("id", LongType(), False)] + [StructField(f, DoubleType(), False) for f in FEATURES]
    rows = [(i, *map(float, x)) for i, x in enumerate(X)]
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, partitions), StructType(fields))


def wait_for_executors(context, count, seconds=120):
    """Waits until `count` executors have registered (the driver is one more)."""
    deadline = time.monotonic() + seconds
    while len(context.statusTracker().getExecutorInfos()) < count + 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} executors registered within {seconds} s")
        time.sleep(0.5)


def custseg_origin(_):
    """Where an executor's Python worker imports custseg from, and which Python it is."""
    import custseg

    yield sys.executable, os.path.realpath(custseg.__file__), os.getcwd()


class Kept(logging.Handler):
    """Keeps the messages logged to it."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def main(folder):
    kept = Kept()
    logging.getLogger("custseg.spark").addHandler(kept)
    spark = SparkSession.builder.appName("custseg-cluster-test").getOrCreate()
    context = spark.sparkContext
    context.setLogLevel("ERROR")
    wait_for_executors(context, 2)
    X, C0 = np.load(os.path.join(folder, "X.npy")), np.load(os.path.join(folder, "C0.npy"))
    origins = context.parallelize(range(2), 2).mapPartitions(custseg_origin).collect()
    saved = dict(
        app_id=context.applicationId,
        executor_python=[o[0] for o in origins],
        executor_custseg=[o[1] for o in origins],
        executor_cwd=[o[2] for o in origins],
    )
    for name, partitions in FITS.items():
        kept.messages.clear()
        df = frame(spark, X, partitions)
        started = time.perf_counter()
        model = custseg.spark.fit(df, FEATURES, k=len(C0), init=C0, tol=0.0, mode=name)
        saved[f"{name}_seconds"] = time.perf_counter() - started
        rows = custseg.spark.predict(model, df).select("id", "segment").collect()
        saved[f"{name}_labels"] = np.array([r.segment for r in sorted(rows, key=lambda r: r.id)])
        saved[f"{name}_centres"] = model.cluster_centers_
        saved[f"{name}_inertia"] = model.inertia_
        saved[f"{name}_n_iter"] = model.n_iter_
        saved[f"{name}_mode"] = model.spark_mode_
        saved[f"{name}_warnings"] = np.array(kept.messages, dtype=str)
    np.savez(os.path.join(folder, "result.npz"), **saved)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
