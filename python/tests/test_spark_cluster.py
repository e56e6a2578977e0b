"""custseg.spark on a multi-process Spark cluster, submitted as on a real one.

`spark-submit --master local-cluster[2,1,1024]` starts a standalone master and worker in
the driver's JVM and two executor JVMs, each with its own Python workers. The executors'
Python (`spark.pyspark.python`) is a venv holding the driver's packages but not custseg,
so they can only import custseg from the wheel shipped with the job (`--archives
custseg.zip#custseg_wheel`, unpacked in each executor's working folder, put on the
workers' PYTHONPATH through `spark.executorEnv.PYTHONPATH`), as executors on other
machines would. The fits there (`spark_cluster_job.py`) equal one machine's.

Needs the wheel run-tests.sh builds (CUSTSEG_WHEEL). Skipped loudly without it, Java or
pyspark; with CUSTSEG_REQUIRE_SPARK=1 (CI) that is a failure."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import custseg

HERE = os.path.dirname(os.path.abspath(__file__))
MASTER = "local-cluster[2,1,1024]"


def _missing(what):
    message = f"the Spark cluster test needs {what}"
    if os.environ.get("CUSTSEG_REQUIRE_SPARK") == "1":
        pytest.fail(message + " (CUSTSEG_REQUIRE_SPARK=1)")
    print(f"\nSKIPPING the Spark cluster test: {message}", file=sys.stderr)
    pytest.skip(message)


def _worker_python(folder):
    """A venv whose site-packages links every package of this interpreter's except
    custseg: the executors' Python, which cannot import custseg by itself."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    python = os.path.join(folder, "bin", "python")
    theirs = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = os.path.dirname(os.path.dirname(os.path.realpath(custseg.__file__)))
    for name in os.listdir(ours):
        if not name.lower().startswith("custseg"):
            os.symlink(os.path.join(ours, name), os.path.join(theirs, name))
    return python


@pytest.fixture(scope="module")
def submitted(tmp_path_factory, blobs):
    """Runs `spark_cluster_job.py` on the cluster; its saved results and the executors' Python."""
    try:
        import pyspark
    except ImportError:
        _missing("pyspark (pip install pyspark)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _missing("Java 17 (apt-get install openjdk-17-jre-headless)")
    wheel = os.environ.get("CUSTSEG_WHEEL", "")
    if not os.path.isfile(wheel):
        _missing(f"the custseg wheel in CUSTSEG_WHEEL (python/run-tests.sh builds it; got {wheel!r})")
    folder = tmp_path_factory.mktemp("cluster")
    X, _ = blobs
    np.save(folder / "X.npy", X)
    np.save(folder / "C0.npy", X[[0, 400, 800, 1200, 1600, 1999]])
    # Spark unpacks .zip archives; a wheel is one under another name.
    shutil.copyfile(wheel, folder / "custseg.zip")
    python = _worker_python(str(folder / "workers"))
    spark_home = os.path.dirname(os.path.realpath(pyspark.__file__))
    command = [
        os.path.join(spark_home, "bin", "spark-submit"),
        *("--master", MASTER),
        *("--archives", f"{folder / 'custseg.zip'}#custseg_wheel"),
        *("--conf", "spark.executorEnv.PYTHONPATH=custseg_wheel"),
        *("--conf", f"spark.pyspark.python={python}"),
        *("--conf", f"spark.pyspark.driver.python={sys.executable}"),
        *("--conf", "spark.executor.memory=512m"),
        *("--conf", "spark.ui.enabled=false"),
        # 3 where the cluster has 2 slots, and a quick give-up on a barrier stage that does
        # not fit (Spark's default waits 40 × 15 s for slots): the 'auto' fit's fall-back.
        *("--conf", "spark.default.parallelism=3"),
        *("--conf", "spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures=1"),
        *("--conf", "spark.scheduler.barrier.maxConcurrentTasksCheck.interval=1s"),
        os.path.join(HERE, "spark_cluster_job.py"),
        str(folder),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")}
    env["SPARK_HOME"] = spark_home
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    result = folder / "result.npz"
    saved = dict(np.load(result, allow_pickle=False)) if result.exists() else None
    if saved is not None:
        # local-cluster's executors work under SPARK_HOME/work/<application>; leave nothing there.
        shutil.rmtree(os.path.join(spark_home, "work", str(saved["app_id"])), ignore_errors=True)
        try:
            os.rmdir(os.path.join(spark_home, "work"))  # when no other application left files there
        except OSError:
            pass
    assert run.returncode == 0 and saved is not None, f"spark-submit failed:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    return saved, python


def test_the_executors_python_cannot_import_custseg_by_itself(submitted):
    _, python = submitted
    alone = subprocess.run([python, "-c", "import custseg"], capture_output=True, text=True)
    assert alone.returncode != 0 and "No module named 'custseg'" in alone.stderr
    assert subprocess.run([python, "-c", "import numpy, pyarrow, pyspark, sklearn"]).returncode == 0


def test_the_executors_import_custseg_from_the_shipped_wheel(submitted):
    saved, python = submitted
    assert list(saved["executor_python"]) == [python, python]
    for module, cwd in zip(saved["executor_custseg"], saved["executor_cwd"]):
        assert module == os.path.join(os.path.realpath(cwd), "custseg_wheel", "custseg", "__init__.py")
    # Two executor JVMs, each in its own working folder.
    assert len(set(saved["executor_cwd"])) == 2


@pytest.mark.parametrize("fit", ["barrier", "reread", "auto"])
def test_fits_on_the_cluster_equal_one_machines(submitted, blobs, fit):
    saved, _ = submitted
    X, _ = blobs
    one = custseg.KMeans(6, init=X[[0, 400, 800, 1200, 1600, 1999]], n_init=1, tol=0.0).fit(X)
    np.testing.assert_allclose(saved[f"{fit}_centres"], one.cluster_centers_, rtol=1e-9, atol=0)
    assert float(saved[f"{fit}_inertia"]) == pytest.approx(one.inertia_, rel=1e-9)
    assert int(saved[f"{fit}_n_iter"]) == one.n_iter_
    np.testing.assert_array_equal(saved[f"{fit}_labels"], one.labels_)


def test_a_barrier_stage_the_cluster_has_too_few_slots_for_falls_back_to_rereading(submitted):
    saved, _ = submitted
    assert str(saved["barrier_mode"]) == "barrier"
    assert str(saved["reread_mode"]) == "reread"
    assert str(saved["auto_mode"]) == "reread"
    assert len(saved["barrier_warnings"]) == 0 and len(saved["reread_warnings"]) == 0
    [warning] = saved["auto_warnings"]
    assert "barrier mode cannot run here" in warning and "SPARK-24819" in warning, warning
