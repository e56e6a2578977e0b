"""custseg on Spark: fit K-Means or a Gaussian mixture on a DataFrame whose rows do not fit
one machine, and assign segments to a DataFrame.

Every pass, each partition's rows go through custseg's Rust pass and come back as the
pass's statistics (K-Means: per-cluster sums, weights, counts, inertia; mixtures: the
responsibilities' moments and log-likelihood) in bytes, which are merged in partition
order in f64 with the library's own update. Two ways to run the passes:

- barrier mode: one barrier stage whose tasks read their rows once, keep them in memory
  and exchange each pass's statistics with `allGather` (`_barrier.py`);
- re-reading: one Spark job per pass over the cached DataFrame, each re-reading its
  partitions into Arrow batches and sending the statistics to the driver; for clusters
  where a barrier stage cannot get a slot per task at once (dynamic allocation) or where
  one failed task should not restart the whole fit.

`mode='auto'` (the default) runs barrier mode and falls back to re-reading, with a
warning, where barrier mode cannot run or its stage fails; 'barrier' and 'reread' force
one (`_modes.py`). The fitted model's `spark_mode_` says which ran.

Both run the same code on the same statistics and give the same bits. The result is the
single-machine fit of the rows in partition order, from the same initial centres,
whatever the partitioning.

    model = custseg.spark.fit(df, features=["recency", "frequency", "spend"], k=6, seed=1)
    scored = custseg.spark.predict(model, df)   # adds a "segment" column
"""

import numpy as np

from .._kmeans import KMeans
from .._mixture import GaussianMixture
from . import _kmeans, _mixture, _modes
from ._modes import MODES
from ._predict import predict

ALGORITHMS = ("kmeans", "gmm")


def _count_checked(data, k):
    rows = data.count()
    if rows < k:
        raise ValueError(f"the DataFrame has {rows} rows, fewer than k = {k}")
    return rows


def _checked_columns(df, features, weight_col):
    if isinstance(features, str) or not features:
        raise ValueError("features must be a non-empty list of column names")
    missing = [c for c in [*features, *([weight_col] if weight_col else [])] if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) {missing} are not in the DataFrame (it has {df.columns})")


def _kmeans_model(k, seed, rows, d, params):
    """The unfitted estimator, its parameters checked as a fit on `rows` × `d` checks them."""
    model = KMeans(n_clusters=k, random_state=seed, **params)
    model._check_params(np.broadcast_to(np.float32(0), (rows, d)))
    if callable(model.init):
        raise ValueError("a callable init cannot run on Spark; give a name or an array of shape (k, n_features)")
    model._init_and_runs(np.broadcast_to(np.float32(0), (rows, d)))  # refuses a wrongly shaped init array
    return model


def _fit_kmeans(gather, model, features, weighted, rows, init_sample_size):
    """Fits the checked KMeans `model` over `gather`'s partitions."""
    k, d, seed = int(model.n_clusters), len(features), int(model.random_state)
    init, given, n_init = model._init_and_runs(np.broadcast_to(np.float32(0), (rows, d)))
    tol = model.tol * _kmeans.mean_variance(gather, d) if model.tol > 0 else 0.0
    best = None
    for run in range(n_init):
        start = given if given is not None else _kmeans.initial_centres(
            gather, features, weighted, k, init, seed, run, rows, init_sample_size
        )
        result = _kmeans.lloyd(gather, start, int(model.max_iter), tol)
        if best is None or result[1] < best[1]:
            best = result
    centres, inertia, n_iter, _ = best
    model.cluster_centers_ = centres
    model.inertia_ = inertia
    model.n_iter_ = n_iter
    model.n_features_in_ = d
    return model


def _gmm_model(k, seed, rows, d, params):
    """The unfitted estimator, its parameters checked as a fit on `rows` × `d` checks them."""
    if "init" in params:
        params["init_params"] = params.pop("init")
    model = GaussianMixture(n_components=k, random_state=seed, **params)
    model._check_params(np.broadcast_to(np.float32(0), (rows, d)))
    return model


def _fit_gmm(gather, model, features, weighted, rows, init_sample_size):
    """Fits the checked GaussianMixture `model` over `gather`'s partitions."""
    k, d, seed = int(model.n_components), len(features), int(model.random_state)
    given = model._given(d)
    ct, reg = model.covariance_type, float(model.reg_covar)
    best = None
    for run in range(int(model.n_init)):
        if given is not None:
            start = given
        elif model.init_params == "random":
            start = _mixture.from_random(gather, k, ct, reg, seed, run)
        else:
            if model.init_params == "kmeans":
                kmeans = _kmeans_model(k, seed + run, rows, d, {})
                seeds = _fit_kmeans(gather, kmeans, features, weighted, rows, init_sample_size).cluster_centers_
            else:
                seeds = _kmeans.initial_centres(
                    gather, features, weighted, k, model.init_params, seed, run, rows, init_sample_size
                )
            start = _mixture.from_centres(gather, seeds, ct, reg)
        result = _mixture.em(gather, start, ct, reg, int(model.max_iter), float(model.tol))
        if best is None or result[1] > best[1]:
            best = result
    (weights, means, covariances), lower_bound, bounds, n_iter, converged = best
    fitted = dict(weights=weights, means=means, covariances=covariances)
    return model._set_fitted(
        dict(fitted, lower_bound=lower_bound, lower_bounds=bounds, n_iter=n_iter, converged=converged)
    )


def fit(
    df, features, algorithm="kmeans", k=8, seed=0, *, weight_col=None, init_sample_size=100_000, mode="auto", **params
):
    """Fits `algorithm` ('kmeans' or 'gmm') with `k` segments on the `features` columns of the
    Spark DataFrame `df` (numeric, no nulls) and returns a fitted `custseg.KMeans` or
    `custseg.GaussianMixture`.

    `params` are the estimator's other parameters under scikit-learn's names: for kmeans
    `init` ('k-means++', 'random', 'k-means||' or an array of shape (k, n_features)),
    `n_init`, `max_iter`, `tol`; for gmm `covariance_type`, `reg_covar`, `tol`, `max_iter`,
    `n_init`, `init_params` (or `init`: 'kmeans', 'k-means++', 'random'), `weights_init`,
    `means_init`, `precisions_init`. 'k-means||' runs over every row (5 rounds, each
    partition drawing with seeds from (seed, run, round, partition)); 'k-means++' and
    'random' run on a sample of about `init_sample_size` rows drawn per partition with
    seeds from (seed, run, partition); a mixture's 'random' responsibilities are a single
    machine's for the same seed. `weight_col` names a column of non-negative row weights.
    `mode` is 'auto' (barrier mode, falling back to re-reading with a warning on the
    `custseg.spark` logger where it cannot run), 'barrier' or 'reread' (see the module's
    doc); all give the same result, and the model's `spark_mode_` says which mode ran.

    The fitted model has no `labels_`: the training rows' labels belong with the rows, so
    `predict(model, df)` adds them to the DataFrame as a column."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is not one of {ALGORITHMS}")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {MODES}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    _checked_columns(df, features, weight_col)
    features = list(features)
    columns = [*features, *([weight_col] if weight_col else [])]
    data = df.select(*columns).cache()
    try:
        rows = _count_checked(data, k)
        check, fit_with = (_kmeans_model, _fit_kmeans) if algorithm == "kmeans" else (_gmm_model, _fit_gmm)
        model = check(k, int(seed), rows, len(features), dict(params))
        weighted = weight_col is not None

        def fit_on(gather):
            return fit_with(gather, model, features, weighted, rows, init_sample_size)

        model, mode_used = _modes.run(mode, data, features, weight_col, fit_on)
    finally:
        data.unpersist()
    model.spark_features_ = features
    model.spark_mode_ = mode_used
    return model


__all__ = ["fit", "predict"]
