"""Lloyd's algorithm over a gather (see `_partitions.py`): every iteration, each partition
runs custseg's Lloyd pass and sends the statistics; they are merged in partition order with
custseg's own update (re-seeding, weighted means, shift) and the next iteration starts.
Initial centres come from a seeded sample ('k-means++', 'random') or from k-means|| over
every row ('k-means||', `kmeans_parallel`)."""

import pickle

import numpy as np

from .. import _native
from ._partitions import sample

#: k-means|| as the library runs it: rounds, and candidates drawn per round per centre.
PARALLEL_ROUNDS = 5
OVERSAMPLING = 2.0


def initial_centres(gather, features, weighted, k, init, seed, run, rows, sample_size):
    """Run `run`'s initial centres: k-means|| over all rows for 'k-means||'; otherwise `init`
    ('k-means++', 'random') computed on a seeded sample of about `sample_size` rows (all
    rows when there are fewer)."""
    if init == "k-means||":
        return kmeans_parallel(gather, k, seed, run)
    fraction = min(1.0, sample_size / max(rows, 1))
    X, w = sample(gather, features, weighted, fraction, seed, run)
    if X.shape[0] < k:
        X, w = sample(gather, features, weighted, 1.0, seed, run)
    return _native.kmeans_init(X, w, k, init, seed, run)


def _weights(X, w):
    return np.ones(X.shape[0]) if w is None else w.astype(np.float64)


def _first_centre(gather, seed, run):
    """One row drawn with probability proportional to its weight among all rows: each
    partition offers one row drawn from its own rows with a generator seeded by (seed, run,
    0, partition) together with its total weight; a generator seeded by (seed, run) then
    picks a partition in proportion to those totals."""

    def offer(X, w, part):
        weights = _weights(X, w)
        total = float(weights.sum())
        if total <= 0:
            return None
        rng = np.random.default_rng([seed, run, 0, part])
        i = int(np.searchsorted(np.cumsum(weights), rng.random() * total, side="right"))
        return pickle.dumps((total, X[min(i, X.shape[0] - 1)]))

    offers = [pickle.loads(p) for p in gather(offer)]
    if not offers:
        raise ValueError("the rows' weights sum to 0: at least one row needs a positive weight")
    totals = np.cumsum([t for t, _ in offers])
    pick = int(np.searchsorted(totals, np.random.default_rng([seed, run]).random() * totals[-1], side="right"))
    return offers[min(pick, len(offers) - 1)][1][None, :]


def kmeans_parallel(gather, k, seed, run, rounds=PARALLEL_ROUNDS, oversampling=OVERSAMPLING):
    """k-means|| (Bahmani et al.) over every row: a first row, then `rounds` rounds that
    each keep every row with probability oversampling·k·w·d²/φ (d² its squared distance
    to the nearest candidate so far, φ the sum of w·d² over all rows), each partition
    drawing from a generator seeded by (seed, run, round, partition), so the candidates
    depend on the data and its partitioning, never on scheduling. The candidates, weighted
    by the rows nearest each, are reduced to k by weighted k-means++ and Lloyd (as the
    library's own k-means|| does). Two passes per round, one to weight the candidates."""
    candidates = _first_centre(gather, seed, run)
    for round_ in range(1, rounds + 1):
        potential = _lloyd_step(gather, candidates, None, 0)["inertia"]
        if potential <= 0:
            break

        def draw(X, w, part, C=candidates, potential=potential, round_=round_):
            rng = np.random.default_rng([seed, run, round_, part])
            d2 = _native.nearest_sq_partition(X, C).astype(np.float64)
            kept = rng.random(X.shape[0]) < oversampling * k * _weights(X, w) * d2 / potential
            return pickle.dumps(X[kept]) if kept.any() else None

        picked = [pickle.loads(p) for p in gather(draw)]
        if picked:
            candidates = np.vstack([candidates, *picked])
    weights = _lloyd_step(gather, candidates, None, 0)["weights"]
    if candidates.shape[0] <= k or np.count_nonzero(weights) < k:
        raise ValueError(
            f"k-means|| found {np.count_nonzero(weights)} distinct candidates for k = {k}: "
            "the data has too few distinct rows; use init='k-means++'"
        )
    from .._kmeans import KMeans

    seeds = _native.kmeans_init(candidates, weights.astype(np.float32), k, "k-means++", seed, run)
    reduced = KMeans(k, init=seeds, n_init=1, max_iter=30).fit(candidates, sample_weight=weights)
    return np.ascontiguousarray(reduced.cluster_centers_, dtype=np.float32)


def mean_variance(gather, d):
    """The mean per-feature variance of the data (scikit-learn's scale for `tol`)."""
    origin = np.zeros((1, d), np.float32)
    return _native.mean_variance(gather(lambda X, w, part: _native.nearest_partition(X, w, origin, "diag")))


def _lloyd_step(gather, centres, previous, farthest):
    parts = gather(lambda X, w, part: _native.lloyd_partition(X, w, centres, previous, farthest))
    return _native.lloyd_merge(parts, centres)


def _step(gather, centres, previous):
    """One Lloyd pass over every partition, merged. Only when clusters came out empty does
    a second pass ask each partition for its farthest rows, so the common case costs one pass."""
    step = _lloyd_step(gather, centres, previous, 0)
    empty = int(np.count_nonzero(step["weights"] == 0.0))
    if empty:
        step = _lloyd_step(gather, centres, previous, empty)
    return step


def lloyd(gather, centres, max_iter, tol):
    """One run from `centres`; stops as a single machine does (no label changed, or the
    centres moved by at most `tol`). Returns (centres, inertia, iterations, converged)."""
    centres = np.ascontiguousarray(centres, dtype=np.float32)
    previous = None
    iterations, converged = 0, False
    for iteration in range(1, max_iter + 1):
        step = _step(gather, centres, previous)
        iterations = iteration
        # Labels unchanged imply unchanged centres unless clusters were re-seeded, so the
        # next pass counts changed labels (a second pass per partition) only after a re-seed.
        previous = centres if step["reseeded"] else None
        centres = step["centres"]
        if step["changed"] == 0 or step["shift"] <= tol:
            converged = True
            break
    last = _lloyd_step(gather, centres, None, 0)
    return centres, float(last["inertia"]), iterations, converged
