#!/usr/bin/env python3
"""Scaling table: `custseg fit` (K-Means, k=16) on n = 10^5 … 10^8 rows × 16 features,
in memory and streamed from the on-disk chunk cache, with time per Lloyd iteration and
peak RSS (GNU time's maximum resident set size).

    pip install numpy pyarrow
    cargo build --release
    python3 benches/scaling.py --sizes 1e5,1e6,1e7 --budget 256MiB --dir /tmp/custseg-scaling

Data: seeded Gaussian blobs (float32, 16 centres), written to Parquet in row groups of
1M rows, so the generator's memory stays flat too. Each size is fitted twice: with the
default memory budget (in memory while it fits) and with --memory-budget BUDGET (streamed
from disk past it). --max-iter 10 --tol 0 so every run does the same number of passes.
"read s" is custseg's read (decode + row-major f32), "pyarrow read s" pyarrow's
read_table of the same columns (best of 3, each in a fresh process like custseg's), for
the in-memory runs up to 10^7 rows.
Prints one Markdown table for BENCHMARKS.md.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

D, K, GROUP = 16, 16, 1_000_000


def write_blobs(path, n, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(K, D)).astype(np.float32)
    schema = pa.schema([(f"f{j}", pa.float32()) for j in range(D)])
    with pq.ParquetWriter(path, schema, compression="none") as w:
        for start in range(0, n, GROUP):
            m = min(GROUP, n - start)
            x = centres[rng.integers(0, K, size=m)] + rng.normal(size=(m, D)).astype(np.float32)
            w.write_table(pa.table({f"f{j}": x[:, j] for j in range(D)}, schema=schema))


def fit(custseg, path, out, budget):
    cmd = ["/usr/bin/time", "-v", custseg, "fit", "--input", path, "--k", str(K), "--max-iter", "10", "--tol", "0",
           "--silhouette-sample", "0", "--backend", "cpu", "--init", "random", "--n-init", "1", "--out", out]
    if budget:
        cmd += ["--memory-budget", budget]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{run.stderr[-3000:]}")
    summary = json.loads(run.stdout)
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    return summary, rss_kib / 1024 ** 2, wall


def pyarrow_read(path):
    """Best of 3: pyarrow.parquet.read_table of the 16 feature columns (all its threads),
    each in a fresh process, as custseg reads its input once per run (a second read in the
    same process reuses pyarrow's memory pool and is faster)."""
    code = ("import sys, time, pyarrow.parquet as pq; t = time.perf_counter(); "
            f"pq.read_table(sys.argv[1], columns=[f'f{{j}}' for j in range({D})]); print(time.perf_counter() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code, path], check=True, capture_output=True,
                                 text=True).stdout) for _ in range(3)]
    return min(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--budget", default="256MiB")
    ap.add_argument("--dir", default="/tmp/custseg-scaling")
    ap.add_argument("--custseg", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "custseg"))
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"d={D}, k={K}, 10 Lloyd iterations, --init random --n-init 1; budget for the streamed runs: {args.budget}\n")
    print("| n | mode | s / iteration | read s | pyarrow read s | fit s | total s | peak RSS (GiB) | cache (GiB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in [int(float(s)) for s in args.sizes.split(",")]:
        path = os.path.join(args.dir, f"blobs_{n}.parquet")
        if not os.path.exists(path):
            write_blobs(path, n)
        for mode, budget in [("in memory", None), ("streamed", args.budget)]:
            out = os.path.join(args.dir, f"out_{n}_{mode.replace(' ', '_')}")
            s, rss, wall = fit(args.custseg, path, out, budget)
            streamed = s.get("streamed_from_disk") or {}
            if budget and not streamed:
                mode = "in memory (fits the budget)"
            if not budget and streamed:
                mode = "streamed (over the default budget)"
            cache = streamed.get("cache_bytes", 0) / 1024 ** 3
            # pyarrow's read of the same columns into memory (in-memory runs up to 10^7 rows).
            arrow = f"{pyarrow_read(path):.2f}" if not streamed and n <= 10 ** 7 else "–"
            print(f"| {n:.0e} | {mode} | {s['seconds_per_iteration']:.4f} | {s['seconds']['read']:.2f} | {arrow} | "
                  f"{s['seconds']['fit']:.2f} | {s['seconds']['total']:.2f} | {rss:.2f} | {cache:.2f} |", flush=True)


if __name__ == "__main__":
    main()
