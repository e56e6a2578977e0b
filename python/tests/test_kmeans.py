"""custseg.KMeans and MiniBatchKMeans against scikit-learn, and their input handling."""

import pickle
import sys
import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sklearn.cluster
from sklearn.metrics import adjusted_rand_score

import custseg


def initial_centres(X, k, seed=1):
    return X[np.random.default_rng(seed).choice(len(X), k, replace=False)]


def test_given_init_matches_scikit_learn_centres_and_labels(blobs):
    X, _ = blobs
    C0 = initial_centres(X, 6)
    ours = custseg.KMeans(6, init=C0, n_init=1).fit(X)
    # scikit-learn in float64 on the same (float32) values.
    ref = sklearn.cluster.KMeans(6, init=C0.astype(np.float64), n_init=1, algorithm="lloyd").fit(X.astype(np.float64))
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-6)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.cluster_centers_.dtype == np.float32 and ours.labels_.dtype == np.int32


def test_weights_equal_repeated_rows(blobs):
    X, _ = blobs
    X = X[:500]
    counts = np.random.default_rng(3).integers(1, 4, len(X))
    C0 = initial_centres(X, 4)
    weighted = custseg.KMeans(4, init=C0).fit(X, sample_weight=counts.astype(np.float64))
    repeated = custseg.KMeans(4, init=C0).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-6)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-6)


def test_every_layout_dtype_and_table_gives_the_same_fit(blobs):
    X, _ = blobs
    fit = lambda data: custseg.KMeans(6, random_state=7).fit(data)  # noqa: E731
    base = fit(X)
    columns = {f"f{j}": X[:, j] for j in range(X.shape[1])}
    variants = {
        "fortran": np.asfortranarray(X),
        "strided": np.repeat(X, 2, axis=0)[::2],
        "float64": X.astype(np.float64),
        "pandas": pd.DataFrame(columns),
        "pyarrow": pa.table(columns),
        "record batch": pa.record_batch(columns),
    }
    for name, data in variants.items():
        other = fit(data)
        np.testing.assert_array_equal(other.labels_, base.labels_, err_msg=name)
        np.testing.assert_allclose(other.cluster_centers_, base.cluster_centers_, rtol=1e-7, err_msg=name)
    assert fit(X.astype(np.float64)).cluster_centers_.dtype == np.float64


class ArrowStreamOnly:
    """A table known only by its Arrow C stream (as polars, DuckDB … export one)."""

    def __init__(self, table):
        self.table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self.table.__arrow_c_stream__(requested_schema)


def test_arrow_streams_and_polars_give_the_same_fit(blobs):
    X, _ = blobs
    fit = lambda data: custseg.KMeans(6, random_state=7).fit(data)  # noqa: E731
    base = fit(X)
    table = pa.table({f"f{j}": X[:, j] for j in range(X.shape[1])})
    np.testing.assert_array_equal(fit(ArrowStreamOnly(table)).labels_, base.labels_)
    chunked = pa.concat_tables([table.slice(0, 700), table.slice(700)])
    np.testing.assert_array_equal(fit(chunked).labels_, base.labels_)
    try:
        import polars as pl
    except ImportError:
        print("SKIPPING the polars input check: polars is not installed")
        return
    np.testing.assert_array_equal(fit(pl.from_arrow(table)).labels_, base.labels_)


def test_c_contiguous_float32_is_read_in_place_and_other_layouts_are_copied(blobs):
    from custseg import _native

    X, _ = blobs
    assert _native.reads_in_place(np.ascontiguousarray(X))
    assert not _native.reads_in_place(np.asfortranarray(X))
    assert not _native.reads_in_place(X.astype(np.float64))


def test_same_seed_same_fit_and_recovers_the_blobs(blobs):
    X, y = blobs
    a = custseg.KMeans(6, n_init=5, random_state=11).fit(X)
    b = custseg.KMeans(6, n_init=5, random_state=11).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert adjusted_rand_score(y, a.labels_) > 0.95
    np.testing.assert_array_equal(a.predict(X), a.labels_)
    assert a.score(X) == pytest.approx(-a.inertia_, rel=1e-6)
    assert a.transform(X).shape == (len(X), 6)


def test_minibatch_recovers_the_blobs_and_is_deterministic(blobs):
    X, y = blobs
    a = custseg.MiniBatchKMeans(6, batch_size=256, random_state=0).fit(X)
    b = custseg.MiniBatchKMeans(6, batch_size=256, random_state=0).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert adjusted_rand_score(y, a.labels_) > 0.9
    assert a.n_iter_ > 0


def test_fitted_state_pickles(blobs):
    X, _ = blobs
    model = custseg.KMeans(6, random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert isinstance(again.cluster_centers_, np.ndarray)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda X: custseg.KMeans(3).fit(np.where(np.arange(X.size).reshape(X.shape) == 4, np.nan, X)), "NaN"),
        (lambda X: custseg.KMeans(len(X) + 1).fit(X), "should be >= n_clusters"),
        (lambda X: custseg.KMeans(3, init=np.zeros((2, X.shape[1]))).fit(X), "initial centers"),
        (lambda X: custseg.KMeans(0).fit(X), "n_clusters"),
        (lambda X: custseg.KMeans(3, tol=-1.0).fit(X), "tol"),
        (lambda X: custseg.KMeans(3, init="bogus").fit(X), "init 'bogus'"),
        (lambda X: custseg.KMeans(3).fit(X, sample_weight=np.ones(3)), "sample_weight"),
        (lambda X: custseg.KMeans(3).fit(X).predict(X[:, :2]), "features"),
        (lambda X: custseg.KMeans(3, backend="tpu").fit(X), "backend 'tpu'"),
    ],
)
def test_bad_input_raises_value_error_naming_it(blobs, make, message):
    X, _ = blobs
    with pytest.raises(ValueError, match=message):
        make(X[:50])


def _spin(seconds):
    """Python steps this thread runs in `seconds` of wall time."""
    ticks, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ticks += 1
    return ticks


def test_the_gil_is_released_during_a_fit():
    X = np.random.default_rng(0).normal(size=(1_000_000, 16)).astype(np.float32)
    alone = _spin(0.1) / 0.1  # this thread's steps per second with nothing else running
    started, done, took = threading.Event(), threading.Event(), []

    def fit():
        started.set()
        t = time.perf_counter()
        custseg.KMeans(32, init="random", n_init=1, max_iter=30, tol=0, random_state=0).fit(X)
        took.append(time.perf_counter() - t)
        done.set()

    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # a GIL held by the fit would leave this thread ~1 ms
    try:
        worker = threading.Thread(target=fit)
        worker.start()
        started.wait()
        ticks = 0
        while not done.is_set():
            ticks += 1
        worker.join()
    finally:
        sys.setswitchinterval(previous)
    # With the GIL released this thread runs throughout the fit (slowed by the fit's own
    # threads on the same cores); held, it would run only in the switch intervals around it.
    assert took[0] > 0.02, f"the fit took {took[0]:.3f} s: too short to tell"
    assert ticks > 0.05 * alone * took[0], (
        f"only {ticks} Python steps ran during a {took[0]:.3f} s fit ({alone:.0f} steps/s alone)"
    )
