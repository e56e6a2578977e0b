#!/usr/bin/env python3
"""custseg customers against lifetimes on the same transaction log, each in its own process.

    python3 -m venv venv && venv/bin/pip install lifetimes pandas pyarrow numpy
    cargo build --release
    venv/bin/python benches/transactions.py --customers 1000000 --lines 10000000 [--repeats 3]
    venv/bin/python benches/transactions.py --parts 10 --write-only /tmp/log-1e8.parquet  # 10⁸ lines

Writes a seeded synthetic log (customer, date, amount) as Parquet, then times, end to end
(read the file → per-customer summary → BG/NBD → Gamma-Gamma → predictions):
- lifetimes: pandas.read_parquet, summary_data_from_transaction_data, BetaGeoFitter,
  GammaGammaFitter, conditional_expected_number_of_purchases_up_to_time, customer_lifetime_value;
- custseg customers (release binary).
Prints one JSON line with both wall times and CPU seconds (user + system), their ratios, the
load average and both fits' parameters.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LIFETIMES = r"""
import sys, time, json
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
t0 = time.time()
df = pd.read_parquet(sys.argv[1])
s = summary_data_from_transaction_data(df, "customer", "date", monetary_value_col="amount",
                                       observation_period_end=sys.argv[2], freq="D")
bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
e = bg.conditional_expected_number_of_purchases_up_to_time(365, s["frequency"], s["recency"], s["T"])
clv = gg.customer_lifetime_value(bg, rep["frequency"], rep["recency"], rep["T"], rep["monetary_value"],
                                 time=12, discount_rate=0.01, freq="D")
print(json.dumps({"seconds": time.time() - t0, "customers": len(s),
                  "bgnbd": dict(bg.params_), "gamma_gamma": dict(gg.params_)}))
"""


def write_log(path, customers, lines, seed, parts=1):
    """`parts` populations of `customers` each (ids offset so they never meet), one after
    the other in one file; returns the line count and the as-of date."""
    writer, n = None, 0
    for part in range(parts):
        table, as_of = population(customers, lines, seed + part, part * customers)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=1 << 20)
        n += table.num_rows
    writer.close()
    return n, as_of


def population(customers, lines, seed, first_id):
    """A BG/NBD population: rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b) after each purchase,
    exponential gaps, over two years; spend per line Gamma around a per-customer mean.
    `lines` sets the expected lines per customer through the purchase rate."""
    rng = np.random.default_rng(seed)
    horizon = 730.0
    per_customer = lines / customers
    r, a, b = 0.5, 0.5, 5.0
    alpha = r * horizon / (3.0 * per_customer)  # mean rate r/α, thinned by dropout
    lam = rng.gamma(r, 1.0 / alpha, customers)
    drop = rng.beta(a, b, customers)
    mean_spend = rng.gamma(6.0, 5.0, customers)
    t = rng.random(customers) * horizon / 2  # first purchase in the first year
    alive = np.ones(customers, dtype=bool)
    ids, days, amounts = [], [], []
    first = True
    while alive.any():
        idx = np.flatnonzero(alive)
        if not first:
            t[idx] += rng.exponential(1.0, idx.size) / lam[idx]
        first = False
        inside = idx[t[idx] < horizon]
        ids.append(inside)
        days.append(t[inside].astype(np.int64))
        amounts.append(np.round(rng.gamma(4.0, mean_spend[inside] / 4.0), 2))
        alive[idx[t[idx] >= horizon]] = False
        alive[inside[rng.random(inside.size) < drop[inside]]] = False
    ids = np.concatenate(ids)
    order = np.argsort(np.concatenate(days), kind="stable")
    days = np.concatenate(days)[order]
    ids, amounts = ids[order], np.concatenate(amounts)[order]
    start = np.datetime64("2020-01-01")
    dates = (start + days.astype("timedelta64[D]")).astype("datetime64[ms]")
    table = pa.table({"customer": ids.astype(np.int64) + first_id, "date": dates, "amount": amounts})
    return table, str(start + int(horizon) - 1)


def children_cpu():
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--lines", type=int, default=10_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--custseg", default="target/release/custseg")
    p.add_argument("--parts", type=int, default=1,
                   help="write this many populations of --customers/--lines into one file")
    p.add_argument("--repeats", type=int, default=1,
                   help="run each side this many times, alternating, and report each side's fastest run")
    p.add_argument("--write-only", metavar="PATH", help="write the log to PATH, print its as-of date and stop")
    args = p.parse_args()
    if args.write_only:
        n, as_of = write_log(args.write_only, args.customers, args.lines, args.seed, args.parts)
        print(json.dumps({"lines": n, "customers": args.customers * args.parts, "as_of": as_of}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log.parquet")
        n, as_of = write_log(log, args.customers, args.lines, args.seed, args.parts)
        os.sync()  # the log's pages are written back before either side reads it
        lifetimes_runs, custseg_runs = [], []
        for _ in range(args.repeats):  # alternating, so both sides see the same machine
            t0, c0 = time.time(), children_cpu()
            out = subprocess.run([sys.executable, "-c", LIFETIMES, log, as_of], capture_output=True, text=True,
                                 check=True)
            lifetimes_runs.append((time.time() - t0, children_cpu() - c0))
            lt = json.loads(out.stdout.strip().splitlines()[-1])
            t0, c0 = time.time(), children_cpu()
            out = subprocess.run([args.custseg, "customers", "--input", log, "--customer-id", "customer", "--time",
                                  "date", "--amount", "amount", "--as-of", as_of, "--out", os.path.join(tmp, "out")],
                                 capture_output=True, text=True, check=True)
            custseg_runs.append((time.time() - t0, children_cpu() - c0))
            cs = json.loads(out.stdout)
        (lifetimes_wall, lifetimes_cpu), (custseg_wall, custseg_cpu) = min(lifetimes_runs), min(custseg_runs)
    print(json.dumps({
        "lines": n, "customers": args.customers,
        "lifetimes_seconds": round(lifetimes_wall, 2), "custseg_seconds": round(custseg_wall, 2),
        "speedup": round(lifetimes_wall / custseg_wall, 1),
        "lifetimes_cpu_seconds": round(lifetimes_cpu, 2), "custseg_cpu_seconds": round(custseg_cpu, 2),
        "cpu_ratio": round(lifetimes_cpu / custseg_cpu, 1),
        "load_average": os.getloadavg(), "repeats": args.repeats,
        "lifetimes_runs_seconds": [round(w, 2) for w, _ in lifetimes_runs],
        "custseg_runs_seconds": [round(w, 2) for w, _ in custseg_runs],
        "lifetimes": {"bgnbd": lt["bgnbd"], "gamma_gamma": lt["gamma_gamma"]},
        "custseg": {"bgnbd": cs["bgnbd"], "gamma_gamma": cs["gamma_gamma"], "seconds": cs["seconds"]},
    }))


if __name__ == "__main__":
    main()
