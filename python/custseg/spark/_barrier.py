"""Barrier mode: the whole fit runs inside one barrier stage. Every task reads its rows
from the cached DataFrame once, keeps them in memory as float32 matrices (which the Rust
passes read in place) and, for each pass, computes its partitions' statistics and
exchanges them with every other task through `BarrierTaskContext.allGather`. Each task
then merges all partitions' statistics in partition order with the same code, so every
task takes the same steps and ends with the same bits; the driver checks that and keeps
one. A pass costs one exchange of a few kilobytes instead of a Spark job that re-reads
the cached partitions into Arrow batches.

A barrier stage needs a task slot per partition at once. A DataFrame with more partitions
than the session has slots is regrouped first (one shuffle): each task gets whole
original partitions, in order, tagged with their original index, and computes their
statistics one by one; so the statistics, their merge order and the per-partition seeds
are those of the original partitioning, and the result is bit for bit the re-reading
mode's."""

import base64
import pickle

import numpy as np

from ._partitions import PAYLOAD_SCHEMA, in_partition_order, matrix, payload_batch

PARTITION_COLUMN = "__custseg_partition"
ROW_COLUMN = "__custseg_row"

#: Tests only: a message every barrier task raises instead of fitting (a task that fails on
#: every attempt), to exercise the fall-back to re-reading. Read on the driver when the
#: stage is built, so it reaches executors inside the task's closure.
FAILURE_FOR_TESTS = None


class StageFailed(Exception):
    """Spark could not schedule the barrier stage, or it failed after Spark's retries;
    `__cause__` is Spark's error."""


def _segments(batches, features, weight_col, regrouped, part):
    """The task's rows as [(original partition index, X, w)], X's rows in their order."""
    X, w = matrix(batches, features, weight_col)
    if X.shape[0] == 0:
        return []
    if not regrouped:
        return [(part, X, w)]
    origin = np.concatenate([b.column(b.schema.get_field_index(PARTITION_COLUMN)).to_numpy() for b in batches])
    cuts = [0, *(np.flatnonzero(np.diff(origin)) + 1), X.shape[0]]
    return [(int(origin[a]), X[a:b], None if w is None else w[a:b]) for a, b in zip(cuts, cuts[1:])]


def _gather(context, segments):
    """The gather of a barrier task: this task's partitions' bytes, exchanged with every task."""

    def gather(compute):
        mine = [(part, compute(X, w, part)) for part, X, w in segments]
        message = pickle.dumps([(part, bytes(payload)) for part, payload in mine if payload is not None])
        messages = context.allGather(base64.b64encode(message).decode("ascii"))
        everything = [item for m in messages for item in pickle.loads(base64.b64decode(m))]
        return [payload for _, payload in sorted(everything, key=lambda item: item[0])]

    return gather


def _regrouped(df, slots):
    """`df`'s rows in at most `slots` partitions, each original partition whole and in order
    in one of them, tagged with its index."""
    from pyspark.sql import functions as F

    return (
        df.withColumn(PARTITION_COLUMN, F.spark_partition_id())
        .withColumn(ROW_COLUMN, F.monotonically_increasing_id())
        .repartitionByRange(slots, PARTITION_COLUMN)
        .sortWithinPartitions(PARTITION_COLUMN, ROW_COLUMN)
    )


def run(df, features, weight_col, fit, slots):
    """`fit(gather)` run in every task of a barrier stage over `df` (cached); its result, the
    same in every task, pickled back to the driver. `StageFailed` when Spark cannot run the
    stage or it fails."""
    regrouped = df.rdd.getNumPartitions() > slots
    staged = _regrouped(df, slots) if regrouped else df
    failure = FAILURE_FOR_TESTS

    def task(batches):
        from pyspark import BarrierTaskContext

        if failure is not None:
            raise RuntimeError(failure)
        context = BarrierTaskContext.get()
        part = context.partitionId()
        segments = _segments(list(batches), features, weight_col, regrouped, part)
        yield payload_batch(part, pickle.dumps(fit(_gather(context, segments))))

    try:
        results = in_partition_order(staged.mapInArrow(task, PAYLOAD_SCHEMA, barrier=True).collect())
    except Exception as error:
        raise StageFailed("the barrier stage failed") from error
    if any(r != results[0] for r in results):
        raise RuntimeError("the barrier tasks' fits differ; this is a bug in custseg.spark, please report it")
    return pickle.loads(results[0])
