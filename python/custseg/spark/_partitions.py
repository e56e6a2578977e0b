"""How a Spark fit sees its data: a *gather*, a function that runs `compute(X, w, part)`
over every non-empty partition (X the partition's rows as a float32 matrix, w its weights
or None, part its index) and returns the bytes each sent, in partition order. The fits
in `_kmeans.py` and `_mixture.py` are written against a gather only, so the same code runs
on the driver re-reading the cached DataFrame each pass (`rereading`, one Spark job per
pass) or inside every task of a barrier stage (`_barrier.py`), with the same result."""

import pickle

import numpy as np

from .._inputs import arrow_matrix

PAYLOAD_SCHEMA = "partition int, payload binary"


def matrix(batches, features, weight_col=None):
    """The `features` columns of Arrow `batches` as one row-major float32 matrix (the one
    copy from columns to rows, which the native passes then read in place), and the
    `weight_col` column as float32 weights (or None). A null is a `ValueError` naming its column."""
    batches = list(batches)
    X = arrow_matrix(batches, features, np.float32)
    if weight_col is None:
        return X, None
    w = arrow_matrix(batches, [weight_col], np.float32)[:, 0]
    if (w < 0).any():
        raise ValueError(f"column '{weight_col}' holds negative weights; weights must be >= 0")
    return X, w


def payload_batch(part, payload):
    """One (partition, payload) Arrow record batch of `PAYLOAD_SCHEMA`."""
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(
        [pa.array([part], pa.int32()), pa.array([bytes(payload)], pa.binary())], names=["partition", "payload"]
    )


def in_partition_order(rows):
    """The payloads of collected (partition, payload) rows, in partition order."""
    return [bytes(r.payload) for r in sorted(rows, key=lambda r: r.partition)]


def rereading(df, features, weight_col):
    """The gather that runs each pass as one Spark job over the (cached) `df`: every task
    reads its partition's Arrow batches again, computes, and sends its bytes to the driver."""

    def gather(compute):
        def task(batches):
            from pyspark import TaskContext

            X, w = matrix(list(batches), features, weight_col)
            if X.shape[0] == 0:
                return
            part = TaskContext.get().partitionId()
            payload = compute(X, w, part)
            if payload is not None:
                yield payload_batch(part, payload)

        return in_partition_order(df.mapInArrow(task, PAYLOAD_SCHEMA).collect())

    return gather


def row_offsets(gather):
    """The index of every non-empty partition's first row in the whole data (partition
    order), as {partition: first row}."""
    counts = [pickle.loads(p) for p in gather(lambda X, w, part: pickle.dumps((part, X.shape[0])))]
    offsets, start = {}, 0
    for part, rows in counts:
        offsets[part] = start
        start += rows
    return offsets


def sample(gather, features, weighted, fraction, seed, round_):
    """Rows kept independently with probability `fraction`, each partition drawing from its
    own generator seeded by (seed, round, partition index), so the sample depends on the
    data and its partitioning, never on scheduling. Returns (X, w) in partition order."""

    def keep(X, w, part):
        rng = np.random.default_rng([seed, round_, part])
        kept = rng.random(X.shape[0]) < fraction
        return pickle.dumps((X[kept], None if w is None else w[kept]))

    parts = [pickle.loads(p) for p in gather(keep)]
    X = np.concatenate([p[0] for p in parts]) if parts else np.empty((0, len(features)), np.float32)
    w = np.concatenate([p[1] for p in parts]) if weighted and parts else None
    return X, w
