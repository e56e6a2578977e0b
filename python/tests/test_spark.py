"""custseg.spark against single-machine custseg: same initial centres or mixture → same
centres, inertia, lower bounds and labels, for 2, 5 and 8 partitions, with empty partitions
and empty clusters, in barrier mode and in re-reading mode; the initialisations seeded and
independent of scheduling; plus the errors a caller can make."""

import numpy as np
import pytest

import custseg
import custseg.spark

FEATURES = ["f0", "f1", "f2", "f3", "f4"]


def frame(spark, X, partitions, weights=None):
    """X's rows as a DataFrame in `partitions` contiguous slices (partition order = row
    order), with a row id."""
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    fields = [StructField("id", LongType(), False)] + [StructField(f, DoubleType(), False) for f in FEATURES]
    rows = [(i, *map(float, x)) for i, x in enumerate(X)]
    if weights is not None:
        fields.append(StructField("w", DoubleType(), False))
        rows = [(*r, float(w)) for r, w in zip(rows, weights)]
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, partitions), StructType(fields))


def labels_by_id(scored, column="segment"):
    rows = scored.select("id", column).collect()
    return np.array([r[column] for r in sorted(rows, key=lambda r: r.id)])


MODES = ["barrier", "reread"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("partitions", [2, 5, 8])
def test_kmeans_equals_one_machine_from_the_same_centres(spark, blobs, partitions, mode):
    X, _ = blobs
    C0 = X[[0, 400, 800, 1200, 1600, 1999]]
    one = custseg.KMeans(6, init=C0, n_init=1, tol=0.0).fit(X)
    df = frame(spark, X, partitions)
    model = custseg.spark.fit(df, FEATURES, "kmeans", k=6, init=C0, tol=0.0, mode=mode)
    np.testing.assert_allclose(model.cluster_centers_, one.cluster_centers_, rtol=1e-9, atol=0)
    assert model.inertia_ == pytest.approx(one.inertia_, rel=1e-9)
    assert model.n_iter_ == one.n_iter_
    labels = labels_by_id(custseg.spark.predict(model, frame(spark, X, partitions)))
    np.testing.assert_array_equal(labels, one.labels_)


@pytest.mark.parametrize("mode", MODES)
def test_empty_clusters_and_empty_partitions_are_handled_as_on_one_machine(spark, blobs, mode):
    X, _ = blobs
    X = X[:500]
    # Two centres far from every row start empty and are re-seeded from the farthest rows.
    C0 = np.vstack([X[[0, 100, 200]], np.full((2, 5), 1e3, np.float32)])
    weights = np.linspace(0.5, 2.0, len(X))
    one = custseg.KMeans(5, init=C0, n_init=1, tol=1e-4).fit(X, sample_weight=weights)
    # 8 slices of 2,000 ids filtered to the first 500: slices 2..7 are empty.
    df = frame(spark, np.vstack([X, blobs[0][500:]]), 8, np.concatenate([weights, np.ones(1500)]))
    df = df.filter("id < 500")
    assert df.rdd.glom().map(len).collect().count(0) >= 5
    model = custseg.spark.fit(df, FEATURES, k=5, init=C0, tol=1e-4, weight_col="w", mode=mode)
    assert np.abs(model.cluster_centers_).max() < 100, "the far centres were re-seeded into the data"
    np.testing.assert_allclose(model.cluster_centers_, one.cluster_centers_, rtol=1e-9, atol=0)
    assert model.inertia_ == pytest.approx(one.inertia_, rel=1e-9)
    assert model.n_iter_ == one.n_iter_
    np.testing.assert_array_equal(labels_by_id(custseg.spark.predict(model, df)), one.labels_)


@pytest.mark.parametrize("mode", MODES)
def test_gmm_equals_one_machine_from_the_same_mixture(spark, blobs, mode):
    X, _ = blobs
    start = custseg.KMeans(6, init=X[[0, 400, 800, 1200, 1600, 1999]], n_init=1, max_iter=3).fit(X)
    given = dict(
        weights_init=np.full(6, 1 / 6),
        means_init=start.cluster_centers_.astype(np.float64),
        precisions_init=np.stack([np.eye(5)] * 6),
    )
    one = custseg.GaussianMixture(6, tol=1e-6, max_iter=30, **given).fit(X)
    df = frame(spark, X, 5)
    model = custseg.spark.fit(df, FEATURES, "gmm", k=6, tol=1e-6, max_iter=30, mode=mode, **given)
    assert model.n_iter_ == one.n_iter_
    np.testing.assert_allclose(model.lower_bounds_, one.lower_bounds_, rtol=1e-9)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(model, name), getattr(one, name), rtol=1e-9, atol=1e-12)
    scored = custseg.spark.predict(model, df).select("id", "segment", "probabilities").collect()
    scored.sort(key=lambda r: r.id)
    np.testing.assert_array_equal([r.segment for r in scored], one.predict(X))
    probabilities = np.array([r.probabilities for r in scored])
    np.testing.assert_allclose(probabilities, one.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_sampled_kmeans_plus_plus_is_seeded_and_finds_the_blobs(spark, blobs):
    from sklearn.metrics import adjusted_rand_score

    X, truth = blobs
    df = frame(spark, X, 4)
    a = custseg.spark.fit(df, FEATURES, k=6, seed=7, init_sample_size=500)
    b = custseg.spark.fit(df, FEATURES, k=6, seed=7, init_sample_size=500)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    labels = labels_by_id(custseg.spark.predict(a, df))
    assert adjusted_rand_score(truth, labels) > 0.9
    gmm = custseg.spark.fit(df, FEATURES, "gmm", k=6, seed=7, covariance_type="diag", init_sample_size=500)
    assert adjusted_rand_score(truth, labels_by_id(custseg.spark.predict(gmm, df))) > 0.9


def test_gmm_random_init_is_a_single_machines_for_the_same_seed(spark, blobs):
    X, _ = blobs
    one = custseg.GaussianMixture(6, covariance_type="diag", init_params="random", random_state=3, n_init=2).fit(X)
    for mode in MODES:
        model = custseg.spark.fit(
            frame(spark, X, 5), FEATURES, "gmm", k=6, seed=3, covariance_type="diag", init="random", n_init=2, mode=mode
        )
        assert model.n_iter_ == one.n_iter_
        np.testing.assert_allclose(model.lower_bounds_, one.lower_bounds_, rtol=1e-9)
        np.testing.assert_allclose(model.means_, one.means_, rtol=1e-9, atol=1e-12)


def test_kmeans_parallel_runs_over_every_row_independent_of_scheduling(spark, blobs):
    from sklearn.metrics import adjusted_rand_score

    X, truth = blobs
    df = frame(spark, X, 5)
    # Barrier mode regroups the 5 partitions into local[2]'s 2 slots and runs them in one
    # stage; re-reading runs 5 tasks per pass in whatever order the scheduler picks.
    fits = [
        custseg.spark.fit(df, FEATURES, k=6, seed=11, init="k-means||", n_init=1, max_iter=1, mode=mode)
        for mode in ("barrier", "reread", "barrier")
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.cluster_centers_, fits[0].cluster_centers_)
    other_seed = custseg.spark.fit(df, FEATURES, k=6, seed=12, init="k-means||", n_init=1, max_iter=1)
    assert not np.array_equal(other_seed.cluster_centers_, fits[0].cluster_centers_)
    # The same draws as k-means|| over the 5 row slices in one process, then one Lloyd step.
    from custseg.spark import _kmeans

    slices = np.array_split(X, 5)

    def local_gather(compute):
        sent = [compute(rows, None, part) for part, rows in enumerate(slices)]
        return [bytes(b) for b in sent if b is not None]

    seeds = _kmeans.kmeans_parallel(local_gather, 6, 11, 0)
    one = custseg.KMeans(6, init=seeds, n_init=1, max_iter=1).fit(X)
    np.testing.assert_allclose(fits[0].cluster_centers_, one.cluster_centers_, rtol=1e-9, atol=0)
    # Seed 11 ends in a local optimum (ARI 0.77, in one process too); seed 12 finds the blobs.
    full = custseg.spark.fit(df, FEATURES, k=6, seed=12, init="k-means||", n_init=1)
    assert adjusted_rand_score(truth, labels_by_id(custseg.spark.predict(full, df))) > 0.9


def test_a_spark_fitted_model_points_to_predict_for_its_labels(spark, blobs):
    X, _ = blobs
    df = frame(spark, X[:200], 2)
    model = custseg.spark.fit(df, FEATURES, k=3, seed=1)
    assert not hasattr(model, "labels_")
    with pytest.raises(AttributeError, match=r"custseg\.spark\.predict\(model, df\)"):
        model.labels_
    with pytest.raises(AttributeError, match="has no attribute 'nope_'"):
        model.nope_
    assert custseg.KMeans(3).fit(X).labels_.shape == (len(X),)


def test_bad_calls_name_what_is_wrong(spark, blobs):
    X, _ = blobs
    df = frame(spark, X[:50], 2)
    with pytest.raises(ValueError, match="nope"):
        custseg.spark.fit(df, ["f0", "nope"], k=2)
    with pytest.raises(ValueError, match="algorithm"):
        custseg.spark.fit(df, FEATURES, "dbscan", k=2)
    with pytest.raises(ValueError, match="mode"):
        custseg.spark.fit(df, FEATURES, k=2, mode="fast")
    with pytest.raises(ValueError, match="fewer than k"):
        custseg.spark.fit(df, FEATURES, k=60)
    with pytest.raises(ValueError, match="shape of the initial centers"):
        custseg.spark.fit(df, FEATURES, k=2, init=np.zeros((3, 5)))
    with_nulls = df.selectExpr("id", "IF(id = 3, NULL, f0) AS f0", *FEATURES[1:])
    for mode in MODES:
        with pytest.raises(Exception, match="column 'f0' has 1 null"):
            custseg.spark.fit(with_nulls, FEATURES, k=2, mode=mode)
