"""Shared data for the custseg package tests."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs


@pytest.fixture(scope="session")
def blobs():
    """2,000 float32 rows of 5 features around 6 centres, and the true labels."""
    X, y = make_blobs(n_samples=2000, n_features=5, centers=6, cluster_std=1.5, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for the whole suite. Skipped loudly without pyspark or
    Java, unless CUSTSEG_REQUIRE_SPARK=1 (CI), where that is a failure."""
    import os
    import shutil
    import sys

    required = os.environ.get("CUSTSEG_REQUIRE_SPARK") == "1"

    def missing(what):
        message = f"Spark tests need {what}"
        if required:
            pytest.fail(message + " (CUSTSEG_REQUIRE_SPARK=1)")
        print(f"\nSKIPPING the Spark tests: {message}", file=sys.stderr)
        pytest.skip(message)

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        missing("pyspark (pip install pyspark)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing("Java 17 (apt-get install openjdk-17-jre-headless)")
    # Workers run this interpreter, so they import the custseg installed here.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("custseg-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
