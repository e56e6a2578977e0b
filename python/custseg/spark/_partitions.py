"""What runs in Spark's tasks: Arrow batches of a partition → one float32 matrix (and
weights) → a native pass → bytes, collected on the driver in partition order."""

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


def _partition_task(features, weight_col, compute):
    """A `mapInArrow` function: `compute(X, w)` over the task's whole partition, as one
    (partition index, bytes) row; nothing for an empty partition."""

    def task(batches):
        import pyarrow as pa
        from pyspark import TaskContext

        X, w = matrix(list(batches), features, weight_col)
        if X.shape[0] == 0:
            return
        payload = compute(X, w)
        part = TaskContext.get().partitionId()
        yield pa.RecordBatch.from_arrays(
            [pa.array([part], pa.int32()), pa.array([bytes(payload)], pa.binary())], names=["partition", "payload"]
        )

    return task


def per_partition(df, features, weight_col, compute):
    """`compute(X, w)`'s bytes from every non-empty partition of `df`, in partition order."""
    rows = df.mapInArrow(_partition_task(features, weight_col, compute), PAYLOAD_SCHEMA).collect()
    return [bytes(r.payload) for r in sorted(rows, key=lambda r: r.partition)]


def sample(df, features, weight_col, fraction, seed, round_):
    """Rows of `df` kept independently with probability `fraction`, each partition drawing
    from its own generator seeded by (seed, round, partition index), so the sample depends
    on the data and its partitioning, never on scheduling. Returns (X, w) in partition order."""

    def keep(X, w):
        from pyspark import TaskContext

        rng = np.random.default_rng([seed, round_, TaskContext.get().partitionId()])
        kept = rng.random(X.shape[0]) < fraction
        return pickle.dumps((X[kept], None if w is None else w[kept]))

    parts = [pickle.loads(p) for p in per_partition(df, features, weight_col, keep)]
    X = np.concatenate([p[0] for p in parts]) if parts else np.empty((0, len(features)), np.float32)
    w = None if weight_col is None else np.concatenate([p[1] for p in parts])
    return X, w
