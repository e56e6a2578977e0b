"""Two-level Ward at scale against a K-Means fit with M centres, in memory and streamed.

    python3 benches/ward_scale.py [--rows 10000000] [--micro-clusters 500] [--max-iter 10]
                                  [--budget 16MiB] [--tmp DIR] [--data FILE]
                                  [--runs ward,kmeans,ward_streamed] [--binary PATH]

Writes seeded float32 blobs (16 columns, 20 centres drawn uniformly in [-10, 10]^16,
standard deviation 2, one million rows per seeded block, row groups of 131,072 rows) to a
Parquet file under --tmp (10^7 rows: about 1 GB; removed at the end; with --data FILE the
file is written there if missing and kept, so runs can be split over several calls), then
runs, each once in its own process under GNU time (wall seconds, user + system CPU seconds,
peak RSS):
  fit --algorithm ward --k 20 --micro-clusters M                      (in memory)
  fit --algorithm kmeans --k M --init k-means||                       (in memory)
  fit --algorithm ward --k 20 --micro-clusters M --memory-budget B    (streamed)
all with --scale none --silhouette-sample 0 --max-iter I --backend cpu, and checks that the
streamed dendrogram.parquet equals the in-memory one byte for byte (when both ran).
--runs picks some of the three; --binary runs another build of custseg.
"""
import argparse
import filecmp
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BINARY = os.path.join(HERE, "..", "target", "release", "custseg")
D, CENTRES, BLOCK = 16, 20, 1_000_000


def write_blobs(path, n):
    centres = np.random.RandomState(0).uniform(-10, 10, size=(CENTRES, D))
    schema = pa.schema([("id", pa.int64())] + [(f"x{j}", pa.float32()) for j in range(D)])
    with pq.ParquetWriter(path, schema) as writer:
        for block, start in enumerate(range(0, n, BLOCK)):
            m = min(BLOCK, n - start)
            rng = np.random.RandomState(1 + block)
            x = (centres[rng.randint(0, CENTRES, size=m)] + rng.normal(0, 2.0, size=(m, D))).astype(np.float32)
            columns = [pa.array(np.arange(start, start + m, dtype=np.int64))] + [pa.array(x[:, j]) for j in range(D)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=131072)


def timed(command):
    run = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M"] + command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {run.stderr[-2000:]}")
    seconds, user, system, kib = run.stderr.strip().splitlines()[-1].split()
    fit = re.findall(r"\[\s*([\d.]+)s\] info: (?:prepared|Ward tree|converged|stopped)", run.stderr)
    return float(seconds), float(user) + float(system), int(kib) / 1024, fit


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--micro-clusters", type=int, default=500)
    parser.add_argument("--max-iter", type=int, default=10)
    parser.add_argument("--budget", default="16MiB")
    parser.add_argument("--tmp", default=None, help="folder for the data and outputs (default: the system's)")
    parser.add_argument("--data", default=None, help="the data file: written if missing, kept afterwards")
    parser.add_argument("--runs", default="ward,kmeans,ward_streamed", help="which runs, comma-separated")
    parser.add_argument("--binary", default=DEFAULT_BINARY, help="the custseg binary")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=a.tmp) as tmp:
        data = a.data or os.path.join(tmp, "blobs.parquet")
        if not os.path.exists(data):
            write_blobs(data, a.rows)
        common = ["--input", data, "--id", "id", "--scale", "none", "--silhouette-sample", "0",
                  "--max-iter", str(a.max_iter), "--backend", "cpu"]
        m = str(a.micro_clusters)
        runs = [
            ("ward", ["--algorithm", "ward", "--k", "20", "--micro-clusters", m]),
            ("kmeans", ["--algorithm", "kmeans", "--k", m, "--init", "k-means||"]),
            ("ward_streamed", ["--algorithm", "ward", "--k", "20", "--micro-clusters", m, "--memory-budget", a.budget]),
        ]
        print(f"{a.rows} x {D}, M = {m}, --max-iter {a.max_iter}, load before: {os.getloadavg()[0]:.1f}")
        print("| command | wall seconds | CPU seconds | prep → fit done (s) | peak RSS (MiB) |")
        print("|---|---|---|---|---|")
        chosen = a.runs.split(",")
        for name, extra in runs:
            if name not in chosen:
                continue
            out = os.path.join(tmp, name)
            os.mkdir(out)
            wall, cpu, mib, marks = timed([a.binary, "fit"] + common + extra + ["--out", out])
            span = f"{float(marks[-1]) - float(marks[0]):.1f}" if len(marks) >= 2 else "?"
            print(f"| `fit {' '.join(extra)}` | {wall:.1f} | {cpu:.1f} | {span} | {mib:.0f} |", flush=True)
        if {"ward", "ward_streamed"} <= set(chosen):
            same = filecmp.cmp(os.path.join(tmp, "ward", "dendrogram.parquet"),
                               os.path.join(tmp, "ward_streamed", "dendrogram.parquet"), shallow=False)
            print(f"streamed dendrogram.parquet equals the in-memory one: {same}")
        print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
