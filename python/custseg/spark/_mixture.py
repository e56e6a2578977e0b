"""EM on a Spark DataFrame: every iteration, each task runs custseg's E-step pass over its
partition and returns the responsibilities' moments and log-likelihood; the driver merges
them in partition order and runs custseg's M-step."""

import numpy as np

from .. import _native
from ._partitions import per_partition


def from_centres(data, features, weight_col, centres, covariance_type, reg_covar):
    """The first mixture: every row given wholly to its nearest of `centres`, then the M-step
    (as a single machine's K-Means initialisation)."""
    centres = np.ascontiguousarray(centres, dtype=np.float32)
    parts = per_partition(
        data, features, weight_col, lambda X, w: _native.nearest_partition(X, w, centres, covariance_type)
    )
    step = _native.mixture_merge(parts, covariance_type, reg_covar)
    return step["weights"], step["means"], step["covariances"]


def em(data, features, weight_col, start, covariance_type, reg_covar, max_iter, tol):
    """EM from `start` = (weights, means, flat covariances); stops when the lower bound
    changes by less than `tol`. Returns (mixture, lower_bound, lower_bounds, iterations, converged)."""
    mixture = start
    lower_bound, bounds, converged = -np.inf, [], False
    for _ in range(max_iter):
        parts_of = (covariance_type, *mixture)
        parts = per_partition(
            data, features, weight_col, lambda X, w, m=parts_of: _native.mixture_partition(X, w, m)
        )
        step = _native.mixture_merge(parts, covariance_type, reg_covar)
        mixture = (step["weights"], step["means"], step["covariances"])
        change = step["lower_bound"] - lower_bound
        lower_bound = step["lower_bound"]
        bounds.append(lower_bound)
        if abs(change) < tol:
            converged = True
            break
    return mixture, lower_bound, np.array(bounds), len(bounds), converged
