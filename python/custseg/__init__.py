"""custseg: customer segmentation on Rust passes.

- `KMeans`, `MiniBatchKMeans`, `GaussianMixture`: scikit-learn estimators (same parameter
  and attribute names) fitted by custseg's CPU (or GPU) passes, with the GIL released.
- `fit_parquet(...)` and `customers(...)`: the CLI's `fit` and `customers` commands.
"""

from ._kmeans import KMeans, MiniBatchKMeans
from ._mixture import GaussianMixture
from ._native import CustsegError
from ._pipeline import customers, fit_parquet

__all__ = ["KMeans", "MiniBatchKMeans", "GaussianMixture", "fit_parquet", "customers", "CustsegError"]
