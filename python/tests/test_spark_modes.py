"""custseg.spark's modes: 'auto' runs barrier mode and falls back to re-reading, with a
warning and the same result, when the barrier stage fails or Spark would refuse it;
'barrier' and 'reread' force a mode; the model's `spark_mode_` says which ran."""

import logging

import numpy as np
import pytest

import custseg
import custseg.spark
from custseg.spark import _barrier, _modes

from test_spark import FEATURES, frame, labels_by_id


@pytest.fixture
def failing_barrier_tasks(monkeypatch):
    """Every barrier task raises, on every attempt Spark makes."""
    monkeypatch.setattr(_barrier, "FAILURE_FOR_TESTS", "injected barrier task failure")


def test_auto_runs_barrier_mode_and_says_so(spark, blobs, caplog):
    X, _ = blobs
    df = frame(spark, X[:300], 2)
    with caplog.at_level(logging.WARNING, logger="custseg.spark"):
        auto = custseg.spark.fit(df, FEATURES, k=3, seed=1)
    assert auto.spark_mode_ == "barrier"
    assert not caplog.records
    # Forced modes record theirs too (below, and in test_spark_cluster.py).


def test_a_failing_barrier_stage_falls_back_to_rereading_with_one_machines_result(
    spark, blobs, failing_barrier_tasks, caplog
):
    X, _ = blobs
    C0 = X[[0, 400, 800, 1200, 1600, 1999]]
    one = custseg.KMeans(6, init=C0, n_init=1, tol=0.0).fit(X)
    df = frame(spark, X, 5)
    with caplog.at_level(logging.WARNING, logger="custseg.spark"):
        model = custseg.spark.fit(df, FEATURES, "kmeans", k=6, init=C0, tol=0.0)
    assert model.spark_mode_ == "reread"
    [warning] = [r for r in caplog.records if r.name == "custseg.spark"]
    assert warning.levelno == logging.WARNING
    assert "the barrier stage failed" in warning.getMessage()
    assert "mode='reread'" in warning.getMessage()
    np.testing.assert_allclose(model.cluster_centers_, one.cluster_centers_, rtol=1e-9, atol=0)
    assert model.inertia_ == pytest.approx(one.inertia_, rel=1e-9)
    assert model.n_iter_ == one.n_iter_
    np.testing.assert_array_equal(labels_by_id(custseg.spark.predict(model, df)), one.labels_)


def test_a_forced_barrier_mode_raises_sparks_error_instead_of_falling_back(spark, blobs, failing_barrier_tasks):
    df = frame(spark, blobs[0][:200], 2)
    with pytest.raises(Exception, match="injected barrier task failure") as raised:
        custseg.spark.fit(df, FEATURES, k=3, seed=1, mode="barrier")
    assert not isinstance(raised.value, _barrier.StageFailed)
    assert custseg.spark.fit(df, FEATURES, k=3, seed=1, mode="reread").spark_mode_ == "reread"


def test_bad_data_fails_in_auto_mode_with_the_data_error(spark, blobs):
    df = frame(spark, blobs[0][:50], 2)
    with_nulls = df.selectExpr("id", "IF(id = 3, NULL, f0) AS f0", *FEATURES[1:])
    with pytest.raises(Exception, match="column 'f0' has 1 null"):
        custseg.spark.fit(with_nulls, FEATURES, k=2)


def test_dynamic_allocation_on_a_cluster_is_seen_before_starting():
    on = {"spark.dynamicAllocation.enabled": "true"}
    assert "dynamicAllocation" in _modes.barrier_blocker({**on, "spark.master": "yarn"})
    assert "dynamicAllocation" in _modes.barrier_blocker({**on, "spark.master": "local-cluster[2,1,1024]"})
    # Spark ignores dynamic allocation in local mode (unless testing it), and so do we.
    assert _modes.barrier_blocker({**on, "spark.master": "local[2]"}) is None
    testing = {**on, "spark.master": "local[2]", "spark.dynamicAllocation.testing": "true"}
    assert _modes.barrier_blocker(testing) is not None
    assert _modes.barrier_blocker({"spark.master": "yarn"}) is None


def test_the_session_spark_runs_the_suite_in_allows_barrier_mode(spark):
    assert _modes.barrier_blocker(spark.sparkContext.getConf()) is None
