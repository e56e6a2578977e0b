"""custseg.GaussianMixture against scikit-learn."""

import pickle

import numpy as np
import pytest
import sklearn.mixture
from sklearn.metrics import adjusted_rand_score

import custseg

COVARIANCE_TYPES = ["full", "diag", "spherical", "tied"]


def start(X, covariance_type, k=3, seed=2):
    """Weights, means and precisions to start both libraries from."""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    means = X[rng.choice(len(X), k, replace=False)].astype(np.float64)
    weights = np.full(k, 1.0 / k)
    variance = X.astype(np.float64).var(axis=0)
    precisions = {
        "full": np.stack([np.diag(1.0 / variance)] * k),
        "tied": np.diag(1.0 / variance),
        "diag": np.tile(1.0 / variance, (k, 1)),
        "spherical": np.full(k, 1.0 / variance.mean()),
    }[covariance_type]
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_given_start_matches_scikit_learn_lower_bound_every_iteration(blobs, covariance_type):
    X, _ = blobs
    init = start(X, covariance_type)
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=15, tol=1e-12, **init)
    ours = custseg.GaussianMixture(**params).fit(X)
    ref = sklearn.mixture.GaussianMixture(**params).fit(X.astype(np.float64))
    assert len(ours.lower_bounds_) == len(ref.lower_bounds_) == ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-9)
    np.testing.assert_allclose(ours.precisions_, ref.precisions_, rtol=1e-6)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X.astype(np.float64)), rtol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X.astype(np.float64)), atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X.astype(np.float64)))
    assert ours.bic(X) == pytest.approx(ref.bic(X.astype(np.float64)), rel=1e-9)
    assert ours.aic(X) == pytest.approx(ref.aic(X.astype(np.float64)), rel=1e-9)
    assert ours.score(X) == pytest.approx(ref.score(X.astype(np.float64)), rel=1e-9)


def test_default_init_recovers_the_blobs_deterministically(blobs):
    X, y = blobs
    a = custseg.GaussianMixture(6, covariance_type="diag", random_state=3).fit(X)
    b = custseg.GaussianMixture(6, covariance_type="diag", random_state=3).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert adjusted_rand_score(y, a.predict(X)) > 0.95
    assert a.converged_
    np.testing.assert_allclose(a.predict_proba(X).sum(axis=1), 1.0, atol=1e-5)
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict(X), a.predict(X))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(n_components=0), "n_components"),
        (dict(covariance_type="banded"), "covariance_type"),
        (dict(means_init=np.zeros((2, 5))), "together"),
        (dict(init_params="nope"), "init_params 'nope'"),
        (dict(reg_covar=-1.0), "reg_covar"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(blobs, params, message):
    X, _ = blobs
    with pytest.raises(ValueError, match=message):
        custseg.GaussianMixture(**{"n_components": 2, **params}).fit(X[:100])
