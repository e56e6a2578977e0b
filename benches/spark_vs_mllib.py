#!/usr/bin/env python3
"""custseg.spark against Spark MLlib's KMeans and GaussianMixture on the same DataFrame,
in local mode, from the same initial centres / mixture.

    python/run-tests.sh -k nothing          # builds and installs custseg into .venv
    .venv/bin/python benches/spark_vs_mllib.py --rows 200000 --d 8 --k 8 --partitions 4
    .venv/bin/python benches/spark_vs_mllib.py --master 'local-cluster[2,1,1024]' --partitions 2

Data: seeded Gaussian blobs (float64 columns), cached in `--partitions` partitions.
K-Means: custseg.spark.fit(init=C0, tol=0) against MLlib's RDD `KMeans.train(...,
initialModel=C0, epsilon=0)` (the DataFrame API takes no initial centres), both for
`--iters` iterations at most; the objective is the inertia of each one's final centres,
computed the same way (single-machine custseg against the collected rows). Mixtures:
custseg.spark.fit("gmm", covariance_type="full", *_init=start) against MLlib's RDD
`GaussianMixture.train(..., initialModel=start, convergenceTol=0)`; the objective is the
mean ln p(x) of each final mixture, computed the same way. Time per iteration is the fit's
wall time over its iterations (custseg reports them; MLlib runs exactly `--iters` when it
does not converge, which the table says). custseg in one process on the same rows shows
what the passes cost without Spark. custseg.spark runs in both modes: 'barrier' (one
barrier stage, rows read once, statistics exchanged with allGather) and 'reread' (a Spark
job per pass re-reading the cached partitions into Arrow batches). Prints one Markdown table.
"""
import argparse
import os
import sys
import time
from types import SimpleNamespace

import numpy as np


def blobs(rows, d, k, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (k, d))
    labels = rng.integers(0, k, rows)
    return centres[labels] + rng.normal(0, 1.5, (rows, d))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--master", default="local[2]", help="e.g. local-cluster[2,1,1024]: 2 executor JVMs of 1 core")
    ap.add_argument("--executor-memory", default="768m", help="per executor (local-cluster: under its worker's MB)")
    ap.add_argument(
        "--split",
        action="store_true",
        help="instead: custseg.spark K-Means's fixed cost and cost per iteration in each mode, "
        "from fits of 1 and --iters iterations (tol 0), twice in alternating order after a warm-up fit",
    )
    args = ap.parse_args()

    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.mllib.clustering import GaussianMixture as MLGmm
    from pyspark.mllib.clustering import KMeans as MLKMeans, KMeansModel
    from pyspark.mllib.linalg import DenseMatrix, DenseVector
    from pyspark.mllib.stat.distribution import MultivariateGaussian
    from pyspark.sql import SparkSession

    import custseg
    import custseg.spark

    spark = (
        SparkSession.builder.master(args.master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.executor.memory", args.executor_memory)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    X = blobs(args.rows, args.d, args.k, 0)
    features = [f"f{j}" for j in range(args.d)]
    import pandas as pd

    df = spark.createDataFrame(pd.DataFrame(X, columns=features)).repartition(args.partitions).cache()
    df.count()
    rows_in_order = np.array(df.collect(), dtype=np.float64)  # partition order, as the fits see it
    rdd = df.rdd.map(lambda r: DenseVector(list(r))).cache()
    rdd.count()
    C0 = rows_in_order[np.linspace(0, args.rows - 1, args.k).astype(int)].astype(np.float32)
    X32 = rows_in_order.astype(np.float32)

    def inertia(centres):
        return custseg.KMeans(args.k, init=np.asarray(centres, np.float32), max_iter=1).fit(X32).score(X32) * -1

    if args.split:
        split(args, df, features, C0)
        spark.stop()
        return
    results = []
    for mode in ("barrier", "reread"):
        model, seconds = timed(
            lambda: custseg.spark.fit(df, features, k=args.k, init=C0, tol=0.0, max_iter=args.iters, mode=mode)
        )
        results.append(("K-Means", f"custseg.spark, {mode}", model.n_iter_, seconds, inertia(model.cluster_centers_)))
    one, seconds = timed(lambda: custseg.KMeans(args.k, init=C0, tol=0.0, max_iter=args.iters).fit(X32))
    results.append(("K-Means", "custseg, one process (no Spark)", one.n_iter_, seconds, inertia(one.cluster_centers_)))
    ml, seconds = timed(
        lambda: MLKMeans.train(
            rdd, args.k, maxIterations=args.iters, initialModel=KMeansModel(C0.astype(np.float64)), epsilon=0.0
        )
    )
    results.append(("K-Means", "MLlib KMeans (RDD)", f"≤{args.iters}", seconds, inertia(ml.clusterCenters)))

    start = custseg.KMeans(args.k, init=C0, max_iter=3).fit(X32)
    means = start.cluster_centers_.astype(np.float64)
    covariance = np.cov(X32.T)
    given = dict(
        weights_init=np.full(args.k, 1 / args.k),
        means_init=means,
        precisions_init=np.stack([np.linalg.inv(covariance)] * args.k),
    )

    def mean_log_likelihood(weights, means, covariances):
        g = custseg.GaussianMixture(args.k, covariance_type="full")
        g._set_fitted(dict(weights=np.asarray(weights), means=np.asarray(means),
                           covariances=np.asarray(covariances).ravel(), lower_bound=0.0,
                           lower_bounds=np.zeros(1), n_iter=0, converged=False))
        return g.score(X32)

    for mode in ("barrier", "reread"):
        gmm, seconds = timed(
            lambda: custseg.spark.fit(df, features, "gmm", k=args.k, tol=0.0, max_iter=args.iters, mode=mode, **given)
        )
        results.append(("GMM (full)", f"custseg.spark, {mode}", gmm.n_iter_, seconds,
                        mean_log_likelihood(gmm.weights_, gmm.means_, gmm.covariances_)))
    one, seconds = timed(lambda: custseg.GaussianMixture(args.k, tol=0.0, max_iter=args.iters, **given).fit(X32))
    results.append(("GMM (full)", "custseg, one process (no Spark)", one.n_iter_, seconds,
                    mean_log_likelihood(one.weights_, one.means_, one.covariances_)))
    # train() reads only k, weights and gaussians of its initialModel (a Java-backed class
    # that cannot be built from Python values).
    initial = SimpleNamespace(
        k=args.k,
        weights=[float(w) for w in given["weights_init"]],
        gaussians=[MultivariateGaussian(DenseVector(m), DenseMatrix(args.d, args.d, covariance.ravel().tolist()))
                   for m in means],
    )
    ml, seconds = timed(
        lambda: MLGmm.train(rdd, args.k, convergenceTol=0.0, maxIterations=args.iters, seed=1, initialModel=initial)
    )
    results.append(("GMM (full)", "MLlib GaussianMixture (RDD)", f"≤{args.iters}", seconds,
                    mean_log_likelihood(ml.weights, [g.mu.toArray() for g in ml.gaussians],
                                        [g.sigma.toArray() for g in ml.gaussians])))

    print(f"{args.rows:,} rows × {args.d}, k = {args.k}, {args.partitions} partitions, {args.master}, "
          f"at most {args.iters} iterations from the same start\n")
    print("| model | implementation | iterations | wall s | s / iteration | objective |")
    print("|---|---|---:|---:|---:|---:|")
    for algorithm, name, iterations, seconds, objective in results:
        n = iterations if isinstance(iterations, int) else args.iters
        label = "inertia" if algorithm == "K-Means" else "mean ln p(x)"
        print(f"| {algorithm} | {name} | {iterations} | {seconds:.2f} | {seconds / n:.3f} | {label} {objective:.6g} |")
    spark.stop()


def split(args, df, features, C0):
    """Prints t₁ (fit of one iteration ≈ the fixed cost) and (t_N − t₁)/(N − 1) per mode."""
    import custseg.spark

    def fit(mode, iterations):
        return timed(
            lambda: custseg.spark.fit(df, features, k=args.k, init=C0, tol=0.0, max_iter=iterations, mode=mode)
        )

    fit("reread", 1)  # starts the Python workers
    print(f"{args.rows:,} rows × {args.d}, k = {args.k}, {args.partitions} partitions, {args.master}\n")
    print(f"| mode | t₁ s | t{args.iters} s | s / iteration |")
    print("|---|---:|---:|---:|")
    for round_ in (1, 2):
        for mode in ("reread", "barrier"):
            _, one = fit(mode, 1)
            model, many = fit(mode, args.iters)
            assert model.n_iter_ == args.iters, "tol 0 runs every iteration unless the centres stop moving"
            print(f"| {mode} ({round_}) | {one:.2f} | {many:.2f} | {(many - one) / (args.iters - 1):.3f} |", flush=True)


if __name__ == "__main__":
    main()
