"""Lloyd's algorithm on a Spark DataFrame: every iteration, each task runs custseg's Lloyd
pass over its partition and returns the statistics; the driver merges them in partition
order with custseg's own update (re-seeding, weighted means, shift) and starts the next."""

import numpy as np

from .. import _native
from ._partitions import per_partition, sample


def initial_centres(data, features, weight_col, k, init, seed, run, rows, sample_size):
    """Run `run`'s initial centres: `init` ('k-means++', 'random', 'k-means||') computed on
    a seeded sample of about `sample_size` rows (all rows when there are fewer)."""
    fraction = min(1.0, sample_size / max(rows, 1))
    X, w = sample(data, features, weight_col, fraction, seed, run)
    if X.shape[0] < k:
        X, w = sample(data, features, weight_col, 1.0, seed, run)
    return _native.kmeans_init(X, w, k, init, seed, run)


def mean_variance(data, features, weight_col):
    """The mean per-feature variance of the data (scikit-learn's scale for `tol`)."""
    origin = np.zeros((1, len(features)), np.float32)
    parts = per_partition(
        data, features, weight_col, lambda X, w: _native.nearest_partition(X, w, origin, "diag")
    )
    return _native.mean_variance(parts)


def _step(data, features, weight_col, centres, previous):
    """One Lloyd pass over every partition, merged. Only when clusters came out empty does
    a second pass ask each partition for its farthest rows, so the common case costs one pass."""
    parts = per_partition(
        data, features, weight_col, lambda X, w: _native.lloyd_partition(X, w, centres, previous, 0)
    )
    step = _native.lloyd_merge(parts, centres)
    empty = int(np.count_nonzero(step["weights"] == 0.0))
    if empty:
        parts = per_partition(
            data, features, weight_col, lambda X, w: _native.lloyd_partition(X, w, centres, previous, empty)
        )
        step = _native.lloyd_merge(parts, centres)
    return step


def lloyd(data, features, weight_col, centres, max_iter, tol):
    """One run from `centres`; stops as a single machine does (no label changed, or the
    centres moved by at most `tol`). Returns (centres, inertia, iterations, converged)."""
    centres = np.ascontiguousarray(centres, dtype=np.float32)
    previous = None
    iterations, converged = 0, False
    for iteration in range(1, max_iter + 1):
        step = _step(data, features, weight_col, centres, previous)
        iterations = iteration
        # Labels unchanged imply unchanged centres unless clusters were re-seeded, so the
        # next pass counts changed labels (a second pass per partition) only after a re-seed.
        previous = centres if step["reseeded"] else None
        centres = step["centres"]
        if step["changed"] == 0 or step["shift"] <= tol:
            converged = True
            break
    last = _native.lloyd_merge(
        per_partition(data, features, weight_col, lambda X, w: _native.lloyd_partition(X, w, centres, None, 0)),
        centres,
    )
    return centres, float(last["inertia"]), iterations, converged
