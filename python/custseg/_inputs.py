"""Turning what callers pass (numpy in any layout, pandas, polars, pyarrow) into the arrays
the native module reads. Arrays stay in float32 or float64 and in whatever memory order
they come: the native side reads a C-contiguous float32 array in place and copies any
other once into its own chunks. Tables are columnar, so they are copied once into rows
(float32 kept float32); Arrow tables arrive through the Arrow C stream interface."""

import numpy as np
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

#: dtypes passed through unconverted; anything else becomes float64 (scikit-learn's rule).
FLOAT_DTYPES = (np.float64, np.float32)


def arrow_matrix(batches, columns, dtype):
    """The `columns` of Arrow record `batches` (or a table's chunks) as one C-contiguous
    (rows, len(columns)) array of `dtype`, filled column by column: the one copy that turns
    columns into rows. A null is a `ValueError` naming its column."""
    batches = list(batches)
    rows = sum(b.num_rows for b in batches)
    out = np.empty((rows, len(columns)), dtype=dtype)
    start = 0
    for batch in batches:
        end = start + batch.num_rows
        for j, name in enumerate(columns):
            column = batch.column(batch.schema.get_field_index(name))
            if column.null_count:
                raise ValueError(f"column '{name}' has {column.null_count} null values; fill or drop them first")
            out[start:end, j] = column.to_numpy(zero_copy_only=False)
        start = end
    return out


def _from_arrow(table):
    """A pyarrow Table or RecordBatch as a row-major array: float32 when every column is
    float32 (so the native side reads it in place), else float64."""
    import pyarrow as pa

    all_f32 = all(field.type == pa.float32() for field in table.schema)
    batches = table.to_batches() if hasattr(table, "to_batches") else [table]
    return arrow_matrix(batches, table.schema.names, np.float32 if all_f32 else np.float64)


def as_array_like(X):
    """pyarrow tables, and other tables that export an Arrow C stream (`__arrow_c_stream__`:
    polars, DuckDB, …) imported through it without a copy, as one row-major numpy array;
    everything else unchanged (scikit-learn's own validation handles numpy, pandas, lists)."""
    module = type(X).__module__
    if module.startswith("pyarrow") and hasattr(X, "schema") and hasattr(X, "num_rows"):
        return _from_arrow(X)
    if hasattr(X, "__arrow_c_stream__") and not module.startswith("pandas"):
        import pyarrow as pa

        return _from_arrow(pa.table(X))
    return X


def validated(estimator, X, *, reset):
    """`X` checked as scikit-learn checks it (2-D, finite, non-empty, same width as at fit),
    float32 or float64, layout kept."""
    return validate_data(estimator, as_array_like(X), dtype=list(FLOAT_DTYPES), order=None, reset=reset)


def fit_inputs(estimator, X, sample_weight):
    """`X` validated as at fit (the estimator's width is reset) and `sample_weight` checked
    against it (one non-negative value per row, in X's dtype), or None."""
    X = validated(estimator, X, reset=True)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    return X, sample_weight


def predict_input(estimator, X):
    """`X` validated against a fitted estimator (same width, finite)."""
    check_is_fitted(estimator)
    return validated(estimator, X, reset=False)


def seed_from(random_state):
    """A 64-bit seed from scikit-learn's `random_state` (None, an int or a RandomState)."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        from sklearn.utils import check_random_state

        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) & 0xFFFF_FFFF_FFFF_FFFF
    raise ValueError(f"random_state={random_state!r} is not None, an int or a numpy RandomState")
