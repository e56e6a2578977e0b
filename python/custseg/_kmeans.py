"""`KMeans` and `MiniBatchKMeans`: scikit-learn's estimators over custseg's Lloyd and
mini-batch passes."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import _check_sample_weight

from . import _native
from ._inputs import FLOAT_DTYPES, fit_inputs, predict_input, seed_from


class _BaseKMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """What both K-Means estimators share: checks, the native call, predict/transform/score."""

    def _batch_size(self):
        return None

    def __getattr__(self, name):
        # Only reached for attributes the instance lacks: a Spark fit keeps no labels_.
        if name == "labels_" and "spark_features_" in self.__dict__:
            raise AttributeError(
                "this model was fitted by custseg.spark.fit, which keeps no labels_ (the training "
                "rows stay in the DataFrame): custseg.spark.predict(model, df) adds them as a "
                "'segment' column, and model.predict(X) labels rows held locally"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _check_params(self, X):
        if not isinstance(self.n_clusters, numbers.Integral) or self.n_clusters < 1:
            raise ValueError(f"n_clusters={self.n_clusters!r} must be an integer >= 1")
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        for name in ("max_iter",):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol={self.tol!r} must be a number >= 0")

    def _init_and_runs(self, X):
        """(init name, initial centres or None, n_init) as scikit-learn resolves them."""
        init = self.init
        if callable(init):
            init = init(X, self.n_clusters, random_state=check_random_state(self.random_state))
        if isinstance(init, str):
            if self.n_init == "auto":
                n_init = 10 if init == "random" else 1
            else:
                n_init = self.n_init
            if not isinstance(n_init, numbers.Integral) or n_init < 1:
                raise ValueError(f"n_init={self.n_init!r} must be 'auto' or an integer >= 1")
            return init, None, int(n_init)
        centres = check_array(init, dtype=X.dtype, copy=False, order="C")
        if centres.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"The shape of the initial centers {centres.shape} does not match the number of clusters "
                f"{self.n_clusters} and the number of features {X.shape[1]}: give init of shape "
                f"(n_clusters, n_features)"
            )
        if self.n_init not in ("auto", 1):
            warnings.warn(
                f"Explicit initial center position passed: performing only one init in {type(self).__name__} "
                f"instead of n_init={self.n_init}.",
                RuntimeWarning,
                stacklevel=3,
            )
        return "given", centres, 1

    def fit(self, X, y=None, sample_weight=None):
        """Fits on `X` (n_samples × n_features), optionally weighting rows."""
        X, sample_weight = fit_inputs(self, X, sample_weight)
        self._check_params(X)
        init, centres, n_init = self._init_and_runs(X)
        result = _native.kmeans_fit(
            X,
            sample_weight,
            int(self.n_clusters),
            init,
            centres,
            n_init,
            int(self.max_iter),
            float(self.tol),
            seed_from(self.random_state),
            self._batch_size(),
            self.backend,
        )
        self.cluster_centers_ = result["cluster_centers"].astype(X.dtype, copy=False)
        self.labels_ = result["labels"].astype(np.int32)
        self.inertia_ = float(result["inertia"])
        self.n_iter_ = int(result["n_iter"])
        return self

    def _assign(self, X):
        X = predict_input(self, X)
        return X, _native.kmeans_assign(X, self.cluster_centers_, self.backend)

    def predict(self, X):
        """The nearest centre of every row."""
        return self._assign(X)[1][0].astype(np.int32)

    def transform(self, X):
        """Distances of every row to every centre (n_samples × n_clusters)."""
        X = predict_input(self, X)
        return euclidean_distances(X, self.cluster_centers_)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fits, then the distances of every row to every centre."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the (weighted) inertia of `X` against the centres."""
        X, (_, distances) = self._assign(X)
        squared = distances.astype(np.float64) ** 2
        if sample_weight is not None:
            squared *= _check_sample_weight(sample_weight, X, dtype=np.float64)
        return -float(squared.sum())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class KMeans(_BaseKMeans):
    """K-Means by Lloyd's algorithm with scikit-learn's parameters and attributes, fitted by
    custseg's passes (statistics merged in f64, in chunk order, so fits are reproducible).

    `init` is 'k-means++' (greedy, as scikit-learn), 'random', 'k-means||', an array of
    shape (n_clusters, n_features) or a callable; `backend` is 'cpu', 'gpu' or 'auto'.
    Data are computed in float32; centres are float32 means accumulated in float64."""

    def __init__(
        self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4, random_state=None, backend="cpu"
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.backend = backend


class MiniBatchKMeans(_BaseKMeans):
    """Mini-batch K-Means (scikit-learn's update) on custseg's passes; `max_iter` counts
    epochs, `batch_size` rows per step."""

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        tol=0.0,
        n_init="auto",
        random_state=None,
        backend="cpu",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.backend = backend

    def _batch_size(self):
        if not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size!r} must be an integer >= 1")
        return int(self.batch_size)


__all__ = ["KMeans", "MiniBatchKMeans", "FLOAT_DTYPES"]
