"""Exact Ward: custseg against scikit-learn's AgglomerativeClustering(linkage="ward").

    python3 benches/ward_compare.py [--n 20000] [--d 16] [--k 10]

Writes seeded float32 blobs to a temporary Parquet file, then runs each implementation in
its own process under GNU time (`/usr/bin/time -v`): wall seconds and peak RSS. custseg
runs `fit --algorithm ward --scale none --silhouette-sample 0` (exact mode, CPU); scikit-
learn fits the same rows. Both trees are cut at k and compared by adjusted Rand index.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.join(HERE, "..", "target", "release", "custseg")

SKLEARN = """
import sys, numpy as np, pyarrow.parquet as pq
from sklearn.cluster import AgglomerativeClustering
t = pq.read_table(sys.argv[1])
x = np.column_stack([t.column(f"x{j}").to_numpy() for j in range(int(sys.argv[2]))]).astype(np.float64)
labels = AgglomerativeClustering(n_clusters=int(sys.argv[3]), linkage="ward").fit_predict(x)
np.save(sys.argv[4], labels)
"""


def timed(command):
    run = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{command[0]} failed: {run.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", run.stderr).group(1)
    seconds = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    return seconds, rss_kib / 1024**2, run.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=10)
    a = parser.parse_args()
    from sklearn.datasets import make_blobs
    from sklearn.metrics import adjusted_rand_score

    x, _ = make_blobs(n_samples=a.n, n_features=a.d, centers=a.k, cluster_std=2.0, random_state=0)
    x = x.astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "blobs.parquet")
        columns = {"id": pa.array(np.arange(a.n))} | {f"x{j}": pa.array(x[:, j]) for j in range(a.d)}
        pq.write_table(pa.table(columns), data)
        out = os.path.join(tmp, "out")
        ours = timed([BINARY, "fit", "--input", data, "--id", "id", "--algorithm", "ward", "--k", str(a.k),
                      "--scale", "none", "--silhouette-sample", "0", "--backend", "cpu", "--quiet", "--out", out])
        ours_labels = pq.read_table(os.path.join(out, "assignments.parquet")).column("segment").to_numpy()
        script = os.path.join(tmp, "sk.py")
        with open(script, "w") as f:
            f.write(SKLEARN)
        theirs = timed([sys.executable, script, data, str(a.d), str(a.k), os.path.join(tmp, "sk.npy")])
        theirs_labels = np.load(os.path.join(tmp, "sk.npy"))
    import sklearn
    print(f"exact Ward, {a.n} x {a.d}, k = {a.k}; ARI between the two cuts: "
          f"{adjusted_rand_score(ours_labels, theirs_labels):.6f}")
    print("| implementation | wall seconds | peak RSS (GiB) |")
    print("|---|---|---|")
    print(f"| custseg fit --algorithm ward (cpu) | {ours[0]:.2f} | {ours[1]:.3f} |")
    print(f"| scikit-learn {sklearn.__version__} AgglomerativeClustering(ward) | {theirs[0]:.2f} | {theirs[1]:.3f} |")


if __name__ == "__main__":
    main()
