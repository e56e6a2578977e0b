"""custseg.fit_parquet and custseg.customers run the CLI's commands: same outputs as the
binary, and the binary's errors as Python exceptions."""

import os
import pathlib
import subprocess

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import custseg

REPO = pathlib.Path(__file__).resolve().parents[2]


def binary():
    """The CLI built by `cargo build --release` (python/run-tests.sh builds it)."""
    path = pathlib.Path(os.environ.get("CUSTSEG_BIN", REPO / "target" / "release" / "custseg"))
    if not path.exists():
        pytest.fail(f"custseg binary not found at {path}: run `cargo build --release` or set CUSTSEG_BIN")
    return str(path)


@pytest.fixture()
def customer_table(tmp_path, blobs):
    X, _ = blobs
    table = pa.table({"customer": np.arange(len(X)), **{f"f{j}": X[:, j] for j in range(X.shape[1])}})
    path = tmp_path / "customers.parquet"
    pq.write_table(table, path)
    return path


def test_fit_parquet_writes_what_the_binary_writes(tmp_path, customer_table):
    options = dict(id="customer", k=4, algorithm="gmm", covariance="diag", backend="cpu", seed=3)
    summary = custseg.fit_parquet(customer_table, tmp_path / "py", **options)
    flags = [arg for name, value in options.items() for arg in ("--" + name.replace("_", "-"), str(value))]
    subprocess.run(
        [binary(), "fit", "--input", str(customer_table), "--out", str(tmp_path / "cli"), "--quiet", *flags],
        check=True,
    )
    assert summary["k"] == 4 and summary["algorithm"] == "gmm"
    py_files = sorted(p.name for p in (tmp_path / "py").iterdir())
    assert py_files == sorted(p.name for p in (tmp_path / "cli").iterdir())
    py = pq.read_table(tmp_path / "py" / "assignments.parquet")
    cli = pq.read_table(tmp_path / "cli" / "assignments.parquet")
    assert py.equals(cli)
    assert py.num_rows == 2000


def test_fit_parquet_errors_are_exceptions_and_write_nothing(tmp_path, customer_table):
    with pytest.raises(ValueError, match="k"):
        custseg.fit_parquet(customer_table, tmp_path / "bad", id="customer", k=0, backend="cpu")
    with pytest.raises(ValueError, match="no-such-flag"):
        custseg.fit_parquet(customer_table, tmp_path / "bad", no_such_flag=1)
    with pytest.raises((ValueError, custseg.CustsegError), match="missing.parquet"):
        custseg.fit_parquet(tmp_path / "missing.parquet", tmp_path / "bad", k=2, backend="cpu")
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


def test_customers_summarises_transactions_like_the_binary(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    days = pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    tx = pd.DataFrame(
        {"CustomerID": rng.integers(0, 200, n), "InvoiceDate": days, "Amount": rng.gamma(2.0, 20.0, n)}
    )
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    options = dict(customer_id="CustomerID", time="InvoiceDate", amount="Amount")
    summary = custseg.customers(path, tmp_path / "py.parquet", **options)
    flags = [arg for name, value in options.items() for arg in ("--" + name.replace("_", "-"), value)]
    subprocess.run([binary(), "customers", "--input", str(path), "--out", str(tmp_path / "cli.parquet"), "--quiet", *flags], check=True)
    py = pq.read_table(tmp_path / "py.parquet")
    assert py.num_rows == tx.CustomerID.nunique()
    assert py.equals(pq.read_table(tmp_path / "cli.parquet"))
    assert isinstance(summary, dict)
