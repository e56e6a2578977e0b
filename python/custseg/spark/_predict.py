"""Assigning segments on Spark: each Arrow batch of the DataFrame gets the fitted model's
labels (and, for a mixture, every component's probability) from custseg's assignment pass."""

import numpy as np

from .._mixture import GaussianMixture
from ._partitions import matrix


def _list_column(probabilities):
    import pyarrow as pa

    rows, k = probabilities.shape
    offsets = pa.array(np.arange(0, (rows + 1) * k, k, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(probabilities.ravel()))


def predict(model, df, features=None, segment_col="segment", probabilities_col="probabilities"):
    """`df` with a `segment_col` integer column (each row's segment under the fitted `model`,
    a `custseg.KMeans` or `custseg.GaussianMixture`) and, for a mixture, a
    `probabilities_col` column holding every component's probability as an array.
    `features` defaults to the columns the model was fitted on by `custseg.spark.fit`."""
    from pyspark.sql.types import ArrayType, DoubleType, IntegerType, StructField, StructType

    features = list(features if features is not None else getattr(model, "spark_features_", []))
    if not features:
        raise ValueError("give features=[...]: the model was not fitted by custseg.spark.fit")
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) {missing} are not in the DataFrame (it has {df.columns})")
    mixture = isinstance(model, GaussianMixture)
    added = [StructField(segment_col, IntegerType(), False)]
    if mixture:
        added.append(StructField(probabilities_col, ArrayType(DoubleType(), False), False))
    schema = StructType(df.schema.fields + added)

    def task(batches):
        import pyarrow as pa

        for batch in batches:
            if batch.num_rows == 0:
                continue
            X, _ = matrix([batch], features)
            if mixture:
                labels, probabilities = model._labels_and_probabilities(X)
                extra = [pa.array(labels.astype(np.int32)), _list_column(probabilities)]
            else:
                extra = [pa.array(model.predict(X).astype(np.int32))]
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, *extra], names=[*batch.schema.names, *(f.name for f in added)]
            )

    return df.mapInArrow(task, schema)
