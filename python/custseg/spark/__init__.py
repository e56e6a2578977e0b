"""custseg on Spark: fit K-Means or a Gaussian mixture on a DataFrame whose rows do not fit
one machine, and assign segments to a DataFrame.

Each iteration, every task runs custseg's Rust pass over its partition's Arrow batches
(`mapInArrow`) and sends back the pass's statistics (K-Means: per-cluster sums, weights,
counts, inertia; mixtures: responsibilities' moments and log-likelihood) as bytes; the
driver merges them in partition order in f64 with the library's own update and repeats.
The input is cached and re-read every iteration. The result is the single-machine fit of
the rows in partition order, from the same initial centres, whatever the partitioning.

    model = custseg.spark.fit(df, features=["recency", "frequency", "spend"], k=6, seed=1)
    scored = custseg.spark.predict(model, df)   # adds a "segment" column
"""

import numpy as np

from .._kmeans import KMeans
from .._mixture import GaussianMixture
from . import _kmeans, _mixture
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


def _fit_kmeans(data, features, weight_col, k, seed, rows, init_sample_size, params):
    model = KMeans(n_clusters=k, random_state=seed, **params)
    d = len(features)
    shape_only = np.broadcast_to(np.float32(0), (rows, d))
    model._check_params(shape_only)
    if callable(model.init):
        raise ValueError("a callable init cannot run on Spark; give a name or an array of shape (k, n_features)")
    init, given, n_init = model._init_and_runs(shape_only)
    tol = model.tol * _kmeans.mean_variance(data, features, weight_col) if model.tol > 0 else 0.0
    best = None
    for run in range(n_init):
        start = given if given is not None else _kmeans.initial_centres(
            data, features, weight_col, k, init, seed, run, rows, init_sample_size
        )
        result = _kmeans.lloyd(data, features, weight_col, start, int(model.max_iter), tol)
        if best is None or result[1] < best[1]:
            best = result
    centres, inertia, n_iter, _ = best
    model.cluster_centers_ = centres
    model.inertia_ = inertia
    model.n_iter_ = n_iter
    model.n_features_in_ = d
    return model


def _fit_gmm(data, features, weight_col, k, seed, rows, init_sample_size, params):
    if "init" in params:
        params["init_params"] = params.pop("init")
    model = GaussianMixture(n_components=k, random_state=seed, **params)
    d = len(features)
    model._check_params(np.broadcast_to(np.float32(0), (rows, d)))
    given = model._given(d)
    if given is None and model.init_params not in ("kmeans", "k-means++"):
        raise ValueError(
            f"init_params={model.init_params!r} cannot run on Spark; use 'kmeans', 'k-means++' or the *_init arrays"
        )
    ct, reg = model.covariance_type, float(model.reg_covar)
    best = None
    for run in range(int(model.n_init)):
        if given is not None:
            start = given
        else:
            if model.init_params == "kmeans":
                kmeans = _fit_kmeans(data, features, weight_col, k, seed + run, rows, init_sample_size, {})
                seeds = kmeans.cluster_centers_
            else:
                seeds = _kmeans.initial_centres(
                    data, features, weight_col, k, "k-means++", seed, run, rows, init_sample_size
                )
            start = _mixture.from_centres(data, features, weight_col, seeds, ct, reg)
        result = _mixture.em(data, features, weight_col, start, ct, reg, int(model.max_iter), float(model.tol))
        if best is None or result[1] > best[1]:
            best = result
    (weights, means, covariances), lower_bound, bounds, n_iter, converged = best
    fitted = dict(weights=weights, means=means, covariances=covariances)
    return model._set_fitted(
        dict(fitted, lower_bound=lower_bound, lower_bounds=bounds, n_iter=n_iter, converged=converged)
    )


def fit(df, features, algorithm="kmeans", k=8, seed=0, *, weight_col=None, init_sample_size=100_000, **params):
    """Fits `algorithm` ('kmeans' or 'gmm') with `k` segments on the `features` columns of the
    Spark DataFrame `df` (numeric, no nulls) and returns a fitted `custseg.KMeans` or
    `custseg.GaussianMixture`.

    `params` are the estimator's other parameters under scikit-learn's names: for kmeans
    `init` ('k-means++', 'random', 'k-means||' or an array of shape (k, n_features)),
    `n_init`, `max_iter`, `tol`; for gmm `covariance_type`, `reg_covar`, `tol`, `max_iter`,
    `n_init`, `init_params` (or `init`: 'kmeans' or 'k-means++'), `weights_init`,
    `means_init`, `precisions_init`. Named initialisations run on a sample of about
    `init_sample_size` rows drawn per partition with seeds from (seed, run, partition).
    `weight_col` names a column of non-negative row weights. The fitted model has no
    `labels_` (they would not fit the driver); `predict(model, df)` adds them as a column."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is not one of {ALGORITHMS}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    _checked_columns(df, features, weight_col)
    features = list(features)
    columns = [*features, *([weight_col] if weight_col else [])]
    data = df.select(*columns).cache()
    try:
        rows = _count_checked(data, k)
        fit_algorithm = _fit_kmeans if algorithm == "kmeans" else _fit_gmm
        model = fit_algorithm(data, features, weight_col, k, int(seed), rows, init_sample_size, dict(params))
    finally:
        data.unpersist()
    model.spark_features_ = features
    return model


__all__ = ["fit", "predict"]
