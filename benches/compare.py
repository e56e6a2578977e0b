#!/usr/bin/env python3
"""Compare one K-Means (Lloyd) iteration of custseg with scikit-learn and faiss-cpu on
the same data, in the same run.

    pip install scikit-learn faiss-cpu pyarrow threadpoolctl
    cargo build --release
    python3 benches/compare.py --n 1000000 --d 32 --k 64

Writes the data (seeded Gaussian blobs, float32) to a Parquet file, runs
`custseg bench --input` on it, then times scikit-learn's lloyd and faiss on the same
array from the same initial centres. Per-iteration times are differences between runs of
1 and 1 + ITERS iterations, so set-up and final passes cancel out. Prints one Markdown
table for BENCHMARKS.md.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def blobs(n, d, k, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=0.5, size=(k, d)).astype(np.float32)  # overlapping: Lloyd keeps moving
    labels = rng.integers(0, k, size=n)
    return (centres[labels] + rng.normal(size=(n, d)).astype(np.float32)).astype(np.float32)


def per_iteration(run, iters):
    """Seconds per iteration: (time of 1 + iters iterations − time of 1) / iters, best of 3."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter(); run(1); t1 = time.perf_counter()
        run(1 + iters); t2 = time.perf_counter()
        best = min(best, ((t2 - t1) - (t1 - t0)) / iters)
    return best


def compare_gmm(args, X, init, rows):
    """One EM iteration of scikit-learn's GaussianMixture from the same means (identity
    covariances, equal weights), timed as the difference between 1 and 1 + ITERS iterations."""
    import warnings
    from sklearn.mixture import GaussianMixture
    import sklearn

    warnings.filterwarnings("ignore")
    d, k = args.d, args.k
    prec = np.ones((k, d)) if args.covariance == "diag" else np.array([np.eye(d)] * k)

    def sk(iters):
        # init_params="random_from_data": with every parameter given, the default ("kmeans")
        # would still run a full K-Means fit first and swamp the timing.
        GaussianMixture(k, covariance_type=args.covariance, weights_init=np.full(k, 1 / k), means_init=init,
                        precisions_init=prec, max_iter=iters, tol=0.0, init_params="random_from_data").fit(X)

    rows.append((f"scikit-learn {sklearn.__version__} GaussianMixture", per_iteration(sk, args.iters)))
    ours = rows[0][1]
    print(f"GMM ({args.covariance}) n={args.n} d={d} k={k}, {os.cpu_count()} cores, numpy {np.__version__}")
    print()
    print("| implementation | seconds / EM iteration | time vs custseg |")
    print("|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s:.4f} | {s / ours:.2f}× |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--algorithm", choices=["kmeans", "gmm"], default="kmeans")
    ap.add_argument("--covariance", choices=["diag", "full"], default="diag")
    ap.add_argument("--custseg", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "custseg"))
    args = ap.parse_args()

    X = blobs(args.n, args.d, args.k, args.seed)
    init = X[np.random.default_rng(args.seed + 1).choice(args.n, args.k, replace=False)].copy()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.parquet")
        pq.write_table(pa.table({f"f{j}": X[:, j] for j in range(args.d)}), path)
        cmd = [args.custseg, "bench", "--input", path, "--k", str(args.k), "--iters", str(args.iters), "--backend", "cpu"]
        if args.algorithm == "gmm":
            cmd += ["--algorithm", "gmm", "--covariance", args.covariance]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        report = json.loads(out.stdout)
        rows.append(("custseg (cpu, rayon)", report["seconds_per_iteration"]))

    if args.algorithm == "gmm":
        return compare_gmm(args, X, init, rows)

    from sklearn.cluster import KMeans
    import sklearn
    from threadpoolctl import threadpool_info

    def sk(iters):
        KMeans(args.k, init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd").fit(X)

    rows.append((f"scikit-learn {sklearn.__version__} lloyd", per_iteration(sk, args.iters)))

    import faiss

    def fa(iters):
        km = faiss.Kmeans(args.d, args.k, niter=iters, verbose=False, seed=args.seed,
                          max_points_per_centroid=args.n)
        km.train(X, init_centroids=init)

    rows.append((f"faiss-cpu {faiss.__version__}", per_iteration(fa, args.iters)))

    ours = rows[0][1]
    print(f"n={args.n} d={args.d} k={args.k}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    blas = sorted({i.get("internal_api", "?") for i in threadpool_info()})
    print(f"BLAS/OpenMP in use: {', '.join(blas)}")
    print()
    print("| implementation | seconds / iteration | GFLOP/s (2·n·k·d) | time vs custseg |")
    print("|---|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s:.4f} | {2 * args.n * args.k * args.d / s / 1e9:.1f} | {s / ours:.2f}× |")


if __name__ == "__main__":
    sys.exit(main())
