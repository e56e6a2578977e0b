"""The CLI's `fit` and `customers` commands as functions: keyword arguments become the
flags the binary takes (`max_iter=50` → `--max-iter 50`, `report=True` → `--report`,
lists are joined with commas), and the command runs in-process through the same parser and
pipeline code, so defaults, outputs and errors are the binary's."""

import json
import os

from . import _native


def _flags(options):
    args = []
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, str(value)]
    return args


def _inputs(input):
    paths = [input] if isinstance(input, (str, os.PathLike)) else list(input)
    return [arg for path in paths for arg in ("--input", os.fspath(path))]


def _run(command, input, out, options):
    summary = _native.run_cli([command, *_inputs(input), "--out", os.fspath(out), "--quiet", *_flags(options)])
    return json.loads(summary)


def fit_parquet(input, out, **options):
    """Runs `custseg fit --input INPUT --out OUT ...` and returns its JSON summary as a dict.

    `input` is a Parquet/CSV path (or a list of them); `options` are `fit`'s flags, e.g.
    `fit_parquet("customers.parquet", "run", k=6, features=["recency", "spend"],
    algorithm="gmm", backend="cpu", report=True)`. Bad parameters or data raise
    `ValueError`; I/O and backend failures raise `custseg.CustsegError`."""
    return _run("fit", input, out, options)


def customers(input, out, **options):
    """Runs `custseg customers --input INPUT --out OUT ...` (transactions → one row per
    customer: RFM, BG/NBD, Gamma-Gamma) and returns its JSON summary as a dict, e.g.
    `customers("tx.parquet", "customers.parquet", customer_id="CustomerID",
    time="InvoiceDate", amount="Amount")`."""
    return _run("customers", input, out, options)
