"""`GaussianMixture`: scikit-learn's estimator over custseg's EM passes."""

import numbers

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_array

from . import _native
from ._inputs import fit_inputs, predict_input, seed_from

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _covariance_shape(covariance_type, k, d):
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


def _precision_cholesky(covariances, covariance_type):
    """Cholesky factors of the precisions, as scikit-learn stores them."""
    if covariance_type in ("diag", "spherical"):
        return 1.0 / np.sqrt(covariances)

    def factor(cov):
        lower = linalg.cholesky(cov, lower=True)
        return linalg.solve_triangular(lower, np.eye(cov.shape[0]), lower=True).T

    if covariance_type == "tied":
        return factor(covariances)
    return np.stack([factor(c) for c in covariances])


def _precisions(precision_cholesky, covariance_type):
    if covariance_type in ("diag", "spherical"):
        return precision_cholesky**2
    if covariance_type == "tied":
        return precision_cholesky @ precision_cholesky.T
    return np.einsum("kij,klj->kil", precision_cholesky, precision_cholesky)


def _covariances_from_precisions(precisions, covariance_type):
    if covariance_type in ("diag", "spherical"):
        return 1.0 / precisions
    if covariance_type == "tied":
        return linalg.inv(precisions)
    return np.stack([linalg.inv(p) for p in precisions])


class GaussianMixture(DensityMixin, BaseEstimator):
    """A Gaussian mixture fitted by EM with scikit-learn's parameters and attributes, on
    custseg's passes (responsibility statistics merged in f64, in chunk order).

    `init_params` is 'kmeans', 'k-means++' or 'random'; `weights_init`, `means_init` and
    `precisions_init` start EM from given parameters (all three together). `fit` also takes
    a `sample_weight`. `backend` is 'cpu', 'gpu' or 'auto'."""

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        backend="cpu",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.backend = backend

    def _check_params(self, X):
        for name in ("n_components", "max_iter", "n_init"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        for name in ("tol", "reg_covar"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value >= 0:
                raise ValueError(f"{name}={value!r} must be a number >= 0")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type={self.covariance_type!r} is not one of {COVARIANCE_TYPES}")
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                f"n_samples = {X.shape[0]}"
            )

    def _given(self, d):
        """(weights, means, flat covariances) from the *_init parameters, or None."""
        given = (self.weights_init, self.means_init, self.precisions_init)
        if all(g is None for g in given):
            return None
        if any(g is None for g in given):
            raise ValueError(
                "give weights_init, means_init and precisions_init together (custseg starts EM from a whole mixture)"
            )
        k = self.n_components
        weights = check_array(self.weights_init, dtype=np.float64, ensure_2d=False)
        means = check_array(self.means_init, dtype=np.float64)
        precisions = check_array(self.precisions_init, dtype=np.float64, ensure_2d=False, allow_nd=True)
        expected = _covariance_shape(self.covariance_type, k, d)
        if weights.shape != (k,) or means.shape != (k, d) or precisions.shape != expected:
            raise ValueError(
                f"weights_init {weights.shape}, means_init {means.shape} and precisions_init {precisions.shape} "
                f"must have shapes {(k,)}, {(k, d)} and {expected}"
            )
        covariances = _covariances_from_precisions(precisions, self.covariance_type)
        return weights, means, np.ascontiguousarray(covariances).ravel()

    def fit(self, X, y=None, sample_weight=None):
        """Fits the mixture on `X` by EM (the best of `n_init` runs)."""
        X, sample_weight = fit_inputs(self, X, sample_weight)
        self._check_params(X)
        result = _native.gmm_fit(
            X,
            sample_weight,
            int(self.n_components),
            self.covariance_type,
            float(self.reg_covar),
            self.init_params,
            self._given(X.shape[1]),
            int(self.n_init),
            int(self.max_iter),
            float(self.tol),
            seed_from(self.random_state),
            self.backend,
        )
        self._set_fitted(result)
        return self

    def _set_fitted(self, result):
        """The fitted attributes from a native fit's (or a Spark fit's) result dict."""
        k, d = result["means"].shape
        self.weights_ = result["weights"]
        self.means_ = result["means"]
        self.covariances_ = result["covariances"].reshape(_covariance_shape(self.covariance_type, k, d))
        self.precisions_cholesky_ = _precision_cholesky(self.covariances_, self.covariance_type)
        self.precisions_ = _precisions(self.precisions_cholesky_, self.covariance_type)
        self.converged_ = bool(result["converged"])
        self.n_iter_ = int(result["n_iter"])
        self.lower_bound_ = float(result["lower_bound"])
        self.lower_bounds_ = result["lower_bounds"]
        self.n_features_in_ = d
        return self

    def _mixture(self):
        return (self.covariance_type, self.weights_, self.means_, np.ascontiguousarray(self.covariances_).ravel())

    def _checked(self, X):
        return predict_input(self, X)

    def predict(self, X):
        """The most probable component of every row."""
        return self._labels_and_probabilities(X)[0]

    def _labels_and_probabilities(self, X):
        """The most probable component of every row, and every component's probability, in one pass."""
        labels, probabilities = _native.gmm_assign(self._checked(X), self._mixture(), self.backend)
        return labels.astype(np.int64), probabilities.astype(np.float64)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fits, then the most probable component of every row of `X`."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def predict_proba(self, X):
        """Every component's probability for every row (n_samples × n_components)."""
        return self._labels_and_probabilities(X)[1]

    def score_samples(self, X):
        """ln p(x) of every row."""
        return _native.gmm_score_samples(self._checked(X), self._mixture())

    def score(self, X, y=None):
        """Mean ln p(x) over the rows of `X`."""
        return float(self.score_samples(X).mean())

    def _n_parameters(self):
        k, d = self.means_.shape
        covariance = {"full": k * d * (d + 1) / 2, "diag": k * d, "tied": d * (d + 1) / 2, "spherical": k}
        return int(covariance[self.covariance_type] + k * d + k - 1)

    def bic(self, X):
        """Bayesian information criterion of `X` (lower is better)."""
        X = self._checked(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion of `X` (lower is better)."""
        X = self._checked(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()
