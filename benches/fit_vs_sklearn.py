#!/usr/bin/env python3
"""custseg's whole K-Means fit and its k-means++ seeding against scikit-learn, each in its
own process, on the same seeded data.

    cargo build --release
    /tmp/venv/bin/python benches/fit_vs_sklearn.py [--shapes 1000000x32x64,1000000x16x16]
        [--repeats 3] [--custseg target/release/custseg] [--threads 2]

Data: seeded Gaussian blobs (float32), written once to Parquet (and .npy for the seeding).

- Whole fit: `custseg fit --init k-means++ --max-iter 20 --tol 0 --scale none
  --silhouette-sample 0 --rules-depth 0` (Parquet → assignments.parquet + model.json),
  against a Python process that reads the Parquet with pyarrow, runs scikit-learn's
  `KMeans(n_init=1, init="k-means++", max_iter=20, tol=0)` and writes the labels to Parquet.
  Wall time of each process, best of `--repeats`.
- Seeding: scikit-learn's `kmeans_plusplus` on the .npy rows, timed inside its process,
  against the seconds custseg logs for its initial centres in the whole fit's runs
  ("run 0: k initial centres in …s"), best of `--repeats`.

Both use `--threads` threads (threadpoolctl for scikit-learn's BLAS and OpenMP).
Prints one Markdown table with the ratios.
"""
import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SKLEARN_FIT = r"""
import sys, time
from threadpoolctl import threadpool_limits
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from sklearn.cluster import KMeans
path, out, k, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with threadpool_limits(threads):
    table = pq.read_table(path)
    x = np.column_stack([c.to_numpy() for c in table.columns]).astype(np.float32)
    km = KMeans(n_clusters=k, n_init=1, init="k-means++", max_iter=20, tol=0, random_state=0).fit(x)
    pq.write_table(pa.table({"segment": km.labels_.astype(np.int32)}), out)
"""

SKLEARN_SEED = r"""
import sys, time
from threadpoolctl import threadpool_limits
import numpy as np
from sklearn.cluster import kmeans_plusplus
x = np.load(sys.argv[1]); k = int(sys.argv[2]); threads = int(sys.argv[3])
with threadpool_limits(threads):
    t = time.perf_counter()
    kmeans_plusplus(x, k, random_state=0)
    print(time.perf_counter() - t)
"""


def blobs(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d)).astype(np.float32)
    labels = rng.integers(0, k, size=n)
    return (centres[labels] + rng.normal(size=(n, d)).astype(np.float32)).astype(np.float32)


def wall(cmd, env=None):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return time.perf_counter() - t, out.stdout


def custseg_fit(args, parquet, out, k, init, max_iter):
    """Wall seconds of one `custseg fit` and the seconds it logged for its initial centres."""
    cmd = [args.custseg, "fit", "--input", parquet, "--out", out, "-k", str(k), "--init", init,
           "--max-iter", str(max_iter), "--tol", "0", "--scale", "none", "--silhouette-sample", "0", "--rules-depth", "0",
           "--backend", "cpu", "--threads", str(args.threads), "--seed", "0"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    seeding = float(re.search(r"initial centres in ([0-9.]+)s", out.stderr).group(1))
    return seconds, seeding


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", default="1000000x32x64,1000000x16x16")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--custseg", default="target/release/custseg")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            n, d, k = (int(v) for v in shape.split("x"))
            x = blobs(n, d, k)
            parquet, npy = os.path.join(tmp, "x.parquet"), os.path.join(tmp, "x.npy")
            pq.write_table(pa.table({f"f{j}": x[:, j] for j in range(d)}), parquet)
            np.save(npy, x)
            out = os.path.join(tmp, "out")
            runs = [custseg_fit(args, parquet, out, k, "k-means++", 20) for _ in range(args.repeats)]
            fit_c, seed_c = min(r[0] for r in runs), min(r[1] for r in runs)
            fit_s = min(wall([sys.executable, "-c", SKLEARN_FIT, parquet, os.path.join(tmp, "labels.parquet"),
                              str(k), str(args.threads)], env)[0] for _ in range(args.repeats))
            seed_s = min(float(wall([sys.executable, "-c", SKLEARN_SEED, npy, str(k), str(args.threads)], env)[1])
                         for _ in range(args.repeats))
            rows.append((n, d, k, fit_c, fit_s, seed_c, seed_s))
    import sklearn
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; threads {args.threads}; "
          f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, pyarrow {pa.__version__}")
    print("| n × d, k | custseg fit (s) | pyarrow + scikit-learn (s) | ratio | custseg k-means++ (s) "
          "| sklearn kmeans_plusplus (s) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n, d, k, fit_c, fit_s, seed_c, seed_s in rows:
        print(f"| {n:,} × {d}, {k} | {fit_c:.2f} | {fit_s:.2f} | {fit_s / fit_c:.1f}× | {seed_c:.2f} | {seed_s:.2f} "
              f"| {seed_s / seed_c:.1f}× |")


if __name__ == "__main__":
    sys.exit(main())
