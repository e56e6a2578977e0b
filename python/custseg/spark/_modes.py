"""Which way a Spark fit runs its passes (`mode`), and the fall-back from barrier mode.

- 'auto' (the default): barrier mode where the cluster can run it, re-reading otherwise,
  with a warning on the `custseg.spark` logger saying why. Re-reading is chosen before
  starting when Spark would refuse a barrier stage outright (dynamic allocation on a
  cluster), and after the barrier stage failed: Spark could not schedule it (fewer task
  slots than tasks, after `spark.scheduler.barrier.maxConcurrentTasksCheck.*` retries), or
  a task failed and Spark's stage retries did not help. A fit that then fails again (bad
  data: a null, a negative weight) raises the re-reading mode's error.
- 'barrier' or 'reread' forces that mode; a forced barrier fit that cannot run raises
  Spark's error.

Both modes give the same bits, so a fall-back changes the time a fit takes, never its
result. The fitted model's `spark_mode_` says which mode ran."""

import logging
import re

from . import _barrier
from ._partitions import rereading

MODES = ("auto", "barrier", "reread")

log = logging.getLogger("custseg.spark")


def _is_true(value):
    return str(value).strip().lower() == "true"


def _is_local(master):
    """Spark's own test (`Utils.isLocalMaster`): 'local' and 'local[…]', not 'local-cluster[…]'."""
    return master == "local" or master.startswith("local[")


def barrier_blocker(conf):
    """Why Spark would refuse a barrier stage under `conf` (a `SparkConf` or a dict of
    settings) before running any task, or None. Spark refuses barrier stages when dynamic
    allocation is on (it ignores dynamic allocation in local mode, unless testing it)."""
    get = conf.get
    dynamic = _is_true(get("spark.dynamicAllocation.enabled", "false"))
    if dynamic and (not _is_local(get("spark.master", "")) or _is_true(get("spark.dynamicAllocation.testing", "false"))):
        return "spark.dynamicAllocation.enabled is true and Spark runs no barrier stage under dynamic allocation"
    return None


def _summary(error):
    """The line of Spark's error that says what happened (its messages run to a Java
    stack trace): one naming a Spark issue or the barrier, else the first exception line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for wanted in (
        lambda line: "[SPARK-" in line or "barrier" in line.lower(),
        lambda line: re.search(r"\w(Exception|Error): ", line),
        lambda line: True,
    ):
        for line in lines:
            if wanted(line):
                return line[:300]
    return type(error).__name__


def run(mode, data, features, weight_col, fit):
    """`fit(gather)` over the cached `data` in `mode` ('auto', 'barrier' or 'reread');
    returns (the fit's result, the mode that ran)."""
    if mode != "reread":
        context = data.sparkSession.sparkContext
        blocker = barrier_blocker(context.getConf()) if mode == "auto" else None
        if blocker is None:
            try:
                return _barrier.run(data, features, weight_col, fit, context.defaultParallelism), "barrier"
            except _barrier.StageFailed as failure:
                if mode == "barrier":
                    raise failure.__cause__ from None
                blocker = f"the barrier stage failed: {_summary(failure.__cause__)}"
        log.warning(
            "barrier mode cannot run here (%s); fitting in mode='reread' instead: the same result, "
            "one Spark job per pass (give mode='reread' to skip the attempt, or mode='barrier' to get the error)",
            blocker,
        )
    return fit(rereading(data, features, weight_col)), "reread"
