"""EM over a gather (see `_partitions.py`): every iteration, each partition runs custseg's
E-step pass and sends the responsibilities' moments and log-likelihood; they are merged in
partition order and custseg's M-step gives the next mixture."""

import numpy as np

from .. import _native
from ._partitions import row_offsets


def _m_step(parts, covariance_type, reg_covar):
    step = _native.mixture_merge(parts, covariance_type, reg_covar)
    return step["weights"], step["means"], step["covariances"]


def from_centres(gather, centres, covariance_type, reg_covar):
    """The first mixture: every row given wholly to its nearest of `centres`, then the M-step
    (as a single machine's K-Means initialisation)."""
    centres = np.ascontiguousarray(centres, dtype=np.float32)
    parts = gather(lambda X, w, part: _native.nearest_partition(X, w, centres, covariance_type))
    return _m_step(parts, covariance_type, reg_covar)


def from_random(gather, k, covariance_type, reg_covar, seed, run):
    """The first mixture of `init_params='random'`: every row's responsibilities drawn from
    a generator seeded by (seed, run, its index in the whole data), as a single machine
    draws them, then the M-step; so the start is a single machine's, whatever the
    partitioning or scheduling. Costs one extra pass to count each partition's rows."""
    offsets = row_offsets(gather)
    parts = gather(
        lambda X, w, part: _native.random_partition(X, w, k, covariance_type, seed, run, offsets[part])
    )
    return _m_step(parts, covariance_type, reg_covar)


def em(gather, start, covariance_type, reg_covar, max_iter, tol):
    """EM from `start` = (weights, means, flat covariances); stops when the lower bound
    changes by less than `tol`. Returns (mixture, lower_bound, lower_bounds, iterations, converged)."""
    mixture = start
    lower_bound, bounds, converged = -np.inf, [], False
    for _ in range(max_iter):
        parts_of = (covariance_type, *mixture)
        parts = gather(lambda X, w, part, m=parts_of: _native.mixture_partition(X, w, m))
        step = _native.mixture_merge(parts, covariance_type, reg_covar)
        mixture = (step["weights"], step["means"], step["covariances"])
        change = step["lower_bound"] - lower_bound
        lower_bound = step["lower_bound"]
        bounds.append(lower_bound)
        if abs(change) < tol:
            converged = True
            break
    return mixture, lower_bound, np.array(bounds), len(bounds), converged
