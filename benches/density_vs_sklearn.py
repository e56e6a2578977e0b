"""HDBSCAN: custseg against scikit-learn on the same seeded blobs, in one run.

Usage: python benches/density_vs_sklearn.py N D [MIN_CLUSTER_SIZE] [CUSTSEG]
Writes the blobs to a Parquet file, times scikit-learn's HDBSCAN(min_cluster_size) fit and
`custseg bench --algorithm hdbscan --input FILE` (the same exact pipeline as `fit`, timed pass
by pass), and prints both times, the ratio, and each side's clusters and noise. Needs numpy,
pyarrow, scikit-learn.
"""
import json, subprocess, sys, tempfile, time
import numpy as np
import pyarrow as pa, pyarrow.parquet as pq
from sklearn.cluster import HDBSCAN

n, d = int(sys.argv[1]), int(sys.argv[2])
mcs = int(sys.argv[3]) if len(sys.argv) > 3 else 25
binary = sys.argv[4] if len(sys.argv) > 4 else "target/release/custseg"
rng = np.random.default_rng(0)
centres = rng.normal(0, 4, size=(20, d))
x = (centres[rng.integers(0, 20, n)] + rng.normal(size=(n, d))).astype(np.float32)
with tempfile.TemporaryDirectory() as tmp:
    path = f"{tmp}/blobs.parquet"
    pq.write_table(pa.table({f"x{j}": x[:, j] for j in range(d)}), path)
    started = time.perf_counter()
    out = subprocess.run([binary, "bench", "--algorithm", "hdbscan", "--input", path, "--min-cluster-size", str(mcs),
                          "--backend", "cpu"], capture_output=True, text=True, check=True)
    ours_total = time.perf_counter() - started
    ours = json.loads(out.stdout)
started = time.perf_counter()
theirs = HDBSCAN(min_cluster_size=mcs, copy=True).fit(x.astype(np.float64))
sk_seconds = time.perf_counter() - started
print(json.dumps({"n": n, "d": d, "min_cluster_size": mcs, "custseg_fit_seconds": round(ours["seconds"], 3),
                  "custseg_process_seconds": round(ours_total, 3), "custseg_passes": ours["pass_seconds"],
                  "custseg_mst": ours["mst_algorithm"], "custseg_clusters": ours["clusters"],
                  "custseg_noise": ours["noise"], "sklearn_seconds": round(sk_seconds, 3),
                  "sklearn_clusters": int(theirs.labels_.max() + 1), "sklearn_noise": int((theirs.labels_ < 0).sum()),
                  "speedup": round(sk_seconds / ours["seconds"], 2)}))
