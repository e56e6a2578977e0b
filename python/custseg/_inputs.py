"""Turning what callers pass (numpy in any layout, pandas, polars, pyarrow) into the arrays
the native module reads. Arrays stay in float32 or float64 and in whatever memory order
they come; the native side copies rows once into its own chunks."""

import numpy as np
from sklearn.utils.validation import validate_data

#: dtypes passed through unconverted; anything else becomes float64 (scikit-learn's rule).
FLOAT_DTYPES = (np.float64, np.float32)


def _from_arrow(table):
    """A pyarrow Table or RecordBatch as a 2-D array, one column at a time (no pandas)."""
    columns = [np.asarray(column.to_numpy(zero_copy_only=False)) for column in table.columns]
    if not columns:
        return np.empty((table.num_rows, 0))
    return np.column_stack(columns)


def as_array_like(X):
    """pyarrow and polars tables as numpy; everything else unchanged (scikit-learn's own
    validation handles numpy, pandas and lists)."""
    module = type(X).__module__
    if module.startswith("pyarrow") and hasattr(X, "columns") and hasattr(X, "num_rows"):
        return _from_arrow(X)
    if module.startswith("polars") and hasattr(X, "to_numpy"):
        return X.to_numpy()
    return X


def validated(estimator, X, *, reset):
    """`X` checked as scikit-learn checks it (2-D, finite, non-empty, same width as at fit),
    float32 or float64, layout kept."""
    return validate_data(estimator, as_array_like(X), dtype=list(FLOAT_DTYPES), order=None, reset=reset)


def seed_from(random_state):
    """A 64-bit seed from scikit-learn's `random_state` (None, an int or a RandomState)."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        from sklearn.utils import check_random_state

        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) & 0xFFFF_FFFF_FFFF_FFFF
    raise ValueError(f"random_state={random_state!r} is not None, an int or a numpy RandomState")
