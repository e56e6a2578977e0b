#!/usr/bin/env python3
"""Compare custseg with scikit-learn and faiss-cpu on the same data, in the same run.

    pip install scikit-learn faiss-cpu pyarrow threadpoolctl
    cargo build --release
    python3 benches/compare.py --n 1000000 --d 32 --k 64                 # K-Means
    python3 benches/compare.py --algorithm gmm --covariance diag --d 16 --k 16

Writes the data (seeded Gaussian blobs, float32) to .npy and Parquet and the k initial
centres (random rows) to Parquet. Every implementation then runs in its own process under
GNU time, so its peak RSS is its own (data included):

K-Means: custseg (`custseg bench` for the time, `custseg fit --init-centroids` for the
objective), scikit-learn lloyd and elkan, faiss-cpu, and mini-batch K-Means (custseg's and
scikit-learn's MiniBatchKMeans, batch 1024, timed per step). Gaussian mixtures: custseg
(`custseg bench --algorithm gmm`) and scikit-learn's GaussianMixture (same covariance
type, started from the same means with identity covariances).

Seconds per iteration are differences between runs of 1 and 1 + ITERS iterations, best
of 3, so set-up and final passes cancel out. The objective is the K-Means inertia of each
implementation's final centres after 1 + ITERS iterations from the same initial centres,
computed here the same way for all (mini-batch: after 1 + min(ITERS, 2) epochs,
randomised, so only roughly comparable); for mixtures it is not shown (custseg's E-step agrees with
scikit-learn's to 1e-9 per iteration in the tests). Prints one Markdown table.
"""
import argparse
import json
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

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 1024
MINIBATCH_EPOCHS = 2  # mini-batch runs are timed over at most this many epochs (they are slow)


def blobs(n, d, k, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=0.5, size=(k, d)).astype(np.float32)  # overlapping: Lloyd keeps moving
    labels = rng.integers(0, k, size=n)
    return (centres[labels] + rng.normal(size=(n, d)).astype(np.float32)).astype(np.float32)


def per_iteration(run, iters):
    """Seconds per iteration: (best of 3 runs of 1 + iters iterations − best of 3 runs of 1
    iteration) / iters, after one warm-up run (thread pools, caches)."""
    def best(i):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            run(i)
            times.append(time.perf_counter() - t0)
        return min(times)
    run(1)
    return (best(1 + iters) - best(1)) / iters


def inertia(X, centres):
    """Σ min ‖x − c‖² in float64, in blocks of rows."""
    c = centres.astype(np.float64)
    cc = (c * c).sum(1)
    total = 0.0
    for start in range(0, len(X), 65536):
        x = X[start:start + 65536].astype(np.float64)
        d2 = (x * x).sum(1)[:, None] - 2 * x @ c.T + cc[None, :]
        total += np.maximum(d2.min(1), 0).sum()
    return total


# ---------------------------------------------------------------- workers (one process each)

def worker(name, a):
    """Runs one implementation; prints {"seconds": per iteration, "objective": ... , "label": ...}."""
    X = np.load(a.data)
    init = np.load(a.init)
    k, iters = len(init), a.iters
    if name in ("sklearn-lloyd", "sklearn-elkan"):
        from sklearn.cluster import KMeans
        import sklearn
        algo = name.split("-")[1]
        fit = lambda i: KMeans(k, init=init, n_init=1, max_iter=i, tol=0.0, algorithm=algo).fit(X)
        return dict(seconds=per_iteration(fit, iters), objective=inertia(X, fit(1 + iters).cluster_centers_),
                    label=f"scikit-learn {sklearn.__version__} {algo}")
    if name == "faiss":
        import faiss

        def fit(i):
            km = faiss.Kmeans(X.shape[1], k, niter=i, verbose=False, seed=a.seed, max_points_per_centroid=len(X))
            km.train(X, init_centroids=init)
            return km
        return dict(seconds=per_iteration(fit, iters), objective=inertia(X, fit(1 + iters).centroids),
                    label=f"faiss-cpu {faiss.__version__}")
    if name == "sklearn-minibatch":
        from sklearn.cluster import MiniBatchKMeans
        import sklearn
        fit = lambda epochs: MiniBatchKMeans(k, init=init, n_init=1, batch_size=BATCH, max_iter=epochs, tol=0.0,
                                             max_no_improvement=None, random_state=a.seed).fit(X)
        steps_per_epoch = -(-len(X) // BATCH)
        epochs = min(iters, MINIBATCH_EPOCHS)
        return dict(seconds=per_iteration(fit, epochs) / steps_per_epoch,
                    objective=inertia(X, fit(1 + epochs).cluster_centers_),
                    label=f"scikit-learn {sklearn.__version__} MiniBatchKMeans (per {BATCH}-row step)")
    if name == "sklearn-gmm":
        import warnings
        from sklearn.mixture import GaussianMixture
        import sklearn
        warnings.filterwarnings("ignore")
        d = X.shape[1]
        prec = np.ones((k, d)) if a.covariance == "diag" else np.array([np.eye(d)] * k)
        # init_params="random_from_data": with every parameter given, the default ("kmeans")
        # would still run a K-Means fit first and swamp the timing.
        fit = lambda i: GaussianMixture(k, covariance_type=a.covariance, weights_init=np.full(k, 1 / k), means_init=init,
                                        precisions_init=prec, max_iter=i, tol=0.0,
                                        init_params="random_from_data").fit(X)
        return dict(seconds=per_iteration(fit, iters), objective=None,
                    label=f"scikit-learn {sklearn.__version__} GaussianMixture ({a.covariance})")
    raise SystemExit(f"unknown worker {name}")


# ---------------------------------------------------------------- parent

def timed(cmd):
    """Runs `cmd` under GNU time: (stdout, peak RSS in GiB)."""
    run = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{run.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1)) / 1024 ** 2
    return run.stdout, rss


def custseg_rows(a, X, files):
    """custseg's time (bench), objective (fit from the same centres) and RSS (bench)."""
    cs = a.custseg
    bench = [cs, "bench", "--input", files["parquet"], "--k", str(a.k), "--iters", str(a.iters), "--backend", "cpu"]
    if a.algorithm == "gmm":
        out, rss = timed(bench + ["--algorithm", "gmm", "--covariance", a.covariance])
        return [(f"custseg (cpu, rayon) gmm ({a.covariance})", json.loads(out)["seconds_per_iteration"], None, rss)]
    out, rss = timed(bench)
    seconds = json.loads(out)["seconds_per_iteration"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fit = [cs, "fit", "--input", files["parquet"], "--k", str(a.k), "--init-centroids", files["init_parquet"],
               "--init-space", "prepared", "--scale", "none", "--n-init", "1", "--tol", "0",
               "--silhouette-sample", "0", "--backend", "cpu", "--max-iter", str(1 + a.iters), "--out", tmp]
        subprocess.run(fit, check=True, capture_output=True)
        centres = np.array(json.load(open(os.path.join(tmp, "model.json")))["centres"], dtype=np.float32)
        rows.append(("custseg (cpu, rayon) lloyd", seconds, inertia(X, centres), rss))
        epochs = str(1 + min(a.iters, MINIBATCH_EPOCHS))
        mini = fit[:fit.index("--max-iter")] + ["--max-iter", epochs, "--out", tmp]
        out, mb_rss = timed(mini + ["--algorithm", "minibatch-kmeans", "--batch-size", str(BATCH)])
        summary = json.loads(out)
        centres = np.array(json.load(open(os.path.join(tmp, "model.json")))["centres"], dtype=np.float32)
        rows.append((f"custseg minibatch-kmeans (per {BATCH}-row step)", summary["seconds_per_iteration"],
                     inertia(X, centres), mb_rss))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--algorithm", choices=["kmeans", "gmm"], default="kmeans")
    ap.add_argument("--covariance", choices=["diag", "full"], default="diag")
    ap.add_argument("--custseg", default=os.path.join(HERE, "..", "target", "release", "custseg"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--init", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a)))
        return

    X = blobs(a.n, a.d, a.k, a.seed)
    init = X[np.random.default_rng(a.seed + 1).choice(a.n, a.k, replace=False)].copy()
    with tempfile.TemporaryDirectory() as tmp:
        files = {name: os.path.join(tmp, name) for name in ["x.npy", "init.npy", "parquet", "init_parquet"]}
        np.save(files["x.npy"], X)
        np.save(files["init.npy"], init)
        pq.write_table(pa.table({f"f{j}": X[:, j] for j in range(a.d)}), files["parquet"])
        pq.write_table(pa.table({f"f{j}": init[:, j] for j in range(a.d)}), files["init_parquet"])
        rows = custseg_rows(a, X, files)
        others = ["sklearn-gmm"] if a.algorithm == "gmm" else ["sklearn-lloyd", "sklearn-elkan", "faiss",
                                                                "sklearn-minibatch"]
        for name in others:
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--data", files["x.npy"],
                   "--init", files["init.npy"], "--iters", str(a.iters), "--seed", str(a.seed),
                   "--covariance", a.covariance]
            out, rss = timed(cmd)
            r = json.loads(out)
            rows.append((r["label"], r["seconds"], r["objective"], rss))

    from threadpoolctl import threadpool_info
    blas = sorted({i.get("internal_api", "?") for i in threadpool_info()})
    what = f"GMM ({a.covariance})" if a.algorithm == "gmm" else "K-Means"
    print(f"{what}: n={a.n} d={a.d} k={a.k}, {a.iters} timed iterations; {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"BLAS/OpenMP: {', '.join(blas)}")
    print()
    print("| implementation | seconds / iteration | time vs custseg | objective (inertia) | peak RSS (GiB) |")
    print("|---|---|---|---|---|")
    ours = {"step": next((s for n, s, _, _ in rows if "minibatch" in n), None), "full": rows[0][1]}
    for name, seconds, objective, rss in rows:
        base = ours["step"] if ("step" in name and ours["step"]) else ours["full"]
        obj = "–" if objective is None else f"{objective:.6e}"
        print(f"| {name} | {seconds:.5f} | {seconds / base:.2f}× | {obj} | {rss:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
