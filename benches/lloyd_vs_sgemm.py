"""The Lloyd pass's GFLOP/s as a fraction of this machine's sgemm rate, per core.

Both are measured in CPU seconds of one thread (getrusage), so a machine shared with other
work still gives a fair ratio. sgemm: numpy float32 matmul of 4096² matrices on one BLAS
thread. Lloyd: `custseg bench --threads 1` run with two pass counts; the difference of the
child's user time divided by the difference of passes is the CPU time of one pass
(generation, warm-up and the fit cancel out). FLOPs per pass: 2·n·k·d.

    /tmp/venv/bin/python benches/lloyd_vs_sgemm.py [--custseg target/release/custseg]
        [--n 1000000 --d 32 --k 64]
"""
import argparse
import os
import resource
import subprocess
import sys
import time

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402  (after the thread settings)


def sgemm_gflops(size=4096, reps=3):
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = np.random.default_rng(1).random((size, size), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.process_time()
        a @ b
        best = min(best, time.process_time() - t)
    return 2 * size**3 / best / 1e9


def child_user_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def lloyd_gflops(custseg, n, d, k, few=5, many=45):
    base = [custseg, "bench", "--backend", "cpu", "--threads", "1", "-n", str(n), "-d", str(d), "-k", str(k)]
    t_few = child_user_seconds(base + ["--iters", str(few)])
    t_many = child_user_seconds(base + ["--iters", str(many)])
    per_pass = (t_many - t_few) / (many - few)
    return 2 * n * k * d / per_pass / 1e9, per_pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--custseg", default="target/release/custseg")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    args = p.parse_args()
    sgemm = sgemm_gflops()
    lloyd, per_pass = lloyd_gflops(args.custseg, args.n, args.d, args.k)
    print(f"sgemm (numpy {np.__version__}, 1 thread): {sgemm:.1f} GFLOP/s per core")
    print(f"Lloyd pass {args.n}x{args.d}, k={args.k}: {per_pass * 1e3:.1f} ms CPU, {lloyd:.1f} GFLOP/s per core")
    print(f"fraction of sgemm: {lloyd / sgemm:.0%}")


if __name__ == "__main__":
    sys.exit(main())
