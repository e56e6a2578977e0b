"""Shared data for the custseg package tests."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs


@pytest.fixture(scope="session")
def blobs():
    """2,000 float32 rows of 5 features around 6 centres, and the true labels."""
    X, y = make_blobs(n_samples=2000, n_features=5, centers=6, cluster_std=1.5, random_state=0)
    return X.astype(np.float32), y
