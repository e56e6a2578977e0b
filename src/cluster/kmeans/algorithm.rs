//! Lloyd iterations over the backend passes, `n_init` runs, empty-cluster re-seeding.

use super::{init, Init, KMeansValidParams};
use crate::backend::{Backend, Centres, LloydState, LloydStats};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// The outcome of a K-Means fit.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    /// Final centres, prepared space.
    pub centres: Centres,
    /// Σ w·‖x − c‖² of every row to its nearest final centre.
    pub inertia: f64,
    /// Lloyd iterations of the winning run.
    pub iterations: usize,
    /// Whether the winning run converged before `max_iter`.
    pub converged: bool,
    /// Which of the `n_init` runs won (0-based).
    pub best_run: usize,
    /// Rows and total weight per cluster against the final centres.
    pub sizes: Vec<u64>,
    pub weights: Vec<f64>,
    /// Empty clusters re-seeded during the winning run.
    pub reseeded: usize,
}

/// What the driver reports after each iteration (for logs and progress bars).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationReport {
    pub run: usize,
    pub iteration: usize,
    /// Inertia against the centres this iteration assigned to.
    pub inertia: f64,
    pub changed: u64,
    pub shift: f64,
}

/// Fits K-Means: `params.n_init` runs, each seeded from `params.seed` and its index.
pub fn fit(
    backend: &dyn Backend,
    data: &Dataset,
    params: &KMeansValidParams,
    on_iteration: &mut dyn FnMut(&IterationReport),
) -> Result<KMeansFit> {
    params.check_data(data.rows(), data.dim())?;
    crate::cluster::ensure_positive_weight(data)?;
    let tol = params.tol * data.mean_variance();
    let mut best: Option<KMeansFit> = None;
    for run in 0..params.n_init {
        let mut rng = Rng::derive(params.seed, run as u64);
        let seeding = std::time::Instant::now();
        let start = match params.init.resolve(data.rows(), params.k) {
            Init::KMeansPlusPlus => init::kmeans_plus_plus(backend, data, params.k, &mut rng)?,
            Init::Random => init::random_rows(data, params.k, &mut rng),
            Init::Parallel { rounds, oversampling } => {
                init::kmeans_parallel(backend, data, params.k, rounds, oversampling, &mut rng)?
            }
            Init::Centres(c) => c,
            Init::Auto { .. } => return Err(Error::Internal("Init::resolve left Auto".into())),
        };
        crate::info!("run {run}: {} initial centres in {:.3}s", params.k, seeding.elapsed().as_secs_f64());
        let mut result = lloyd(backend, data, start, params.max_iter, tol, run, on_iteration)?;
        result.best_run = run;
        if best.as_ref().is_none_or(|b| result.inertia < b.inertia) {
            best = Some(result);
        }
    }
    best.ok_or_else(|| Error::Internal("n_init runs produced no result".into()))
}

/// One run of Lloyd's algorithm from `centres`.
pub(super) fn lloyd(
    backend: &dyn Backend,
    data: &Dataset,
    mut centres: Centres,
    max_iter: usize,
    tol: f64,
    run: usize,
    on_iteration: &mut dyn FnMut(&IterationReport),
) -> Result<KMeansFit> {
    let mut state = backend.new_state(data)?;
    let mut iterations = 0;
    let mut converged = false;
    let mut reseeded = 0;
    let mut skipped = 0;
    for iteration in 1..=max_iter {
        let mut stats = backend.lloyd_pass(data, &centres, &mut state)?;
        iterations = iteration;
        skipped += stats.skipped;
        let mut fallback = centres.clone();
        reseeded += reseed_empty_clusters(backend, data, &state, &mut stats, &mut fallback)?;
        let next = weighted_means(&stats, &fallback);
        let shift = squared_shift(&centres, &next);
        centres = next;
        on_iteration(&IterationReport { run, iteration, inertia: stats.inertia, changed: stats.changed, shift });
        if stats.changed == 0 || shift <= tol {
            converged = true;
            break;
        }
    }
    // One more assignment so labels, sizes and inertia describe the final centres.
    let last = backend.lloyd_pass(data, &centres, &mut state)?;
    if skipped + last.skipped > 0 {
        let assignments = (iterations + 1) as f64 * data.rows() as f64;
        let share = 100.0 * (skipped + last.skipped) as f64 / assignments;
        crate::info!("run {run}: bounds kept {share:.1}% of the row assignments without scoring every centre");
    }
    Ok(KMeansFit {
        centres,
        inertia: last.inertia,
        iterations,
        converged,
        best_run: run,
        sizes: last.counts,
        weights: last.weights,
        reseeded,
    })
}

/// Moves the rows farthest from their centres (after the pass that filled `state`) into
/// clusters with no weight, adjusting the sums as scikit-learn's `_relocate_empty_clusters` does. A re-seeded cluster whose new
/// row weighs 0 keeps that row as its centre (`fallback`), so no centre is ever 0/0.
fn reseed_empty_clusters(
    backend: &dyn Backend,
    data: &Dataset,
    state: &LloydState,
    stats: &mut LloydStats,
    fallback: &mut Centres,
) -> Result<usize> {
    let empty = empty_clusters(stats);
    if empty.is_empty() {
        return Ok(0);
    }
    let far = backend.farthest_rows(data, state, empty.len())?;
    let moves = far.iter().map(|&(row, old)| Reseed { row: data.row(row), weight: data.weight(row) as f64, from: old });
    Ok(apply_reseeds(stats, &empty, moves, fallback))
}

/// A row that re-seeds an empty cluster: its values, its weight and the cluster it leaves.
#[derive(Debug, Clone, Copy)]
pub struct Reseed<'a> {
    pub row: &'a [f32],
    pub weight: f64,
    pub from: u32,
}

/// The clusters without weight in `stats`, in index order: those [`apply_reseeds`] fills.
pub fn empty_clusters(stats: &LloydStats) -> Vec<usize> {
    (0..stats.k).filter(|&c| stats.weights[c] == 0.0).collect()
}

/// Moves each of `moves` (the rows farthest from their centres, farthest first) into the
/// next of the `empty` clusters, adjusting `stats` and `fallback`; returns how many moved.
/// Distributed drivers call it with the farthest rows gathered from every partition.
pub fn apply_reseeds<'a>(
    stats: &mut LloydStats,
    empty: &[usize],
    moves: impl Iterator<Item = Reseed<'a>>,
    fallback: &mut Centres,
) -> usize {
    let dim = stats.dim;
    let mut moved = 0;
    for (&cluster, Reseed { row: x, weight: w, from }) in empty.iter().zip(moves) {
        let old = from as usize;
        for (j, &v) in x.iter().enumerate() {
            stats.sums[old * dim + j] -= w * v as f64;
            stats.sums[cluster * dim + j] = w * v as f64;
        }
        stats.weights[old] -= w;
        stats.weights[cluster] = w;
        stats.counts[old] -= 1;
        stats.counts[cluster] = 1;
        fallback.values[cluster * dim..(cluster + 1) * dim].copy_from_slice(x);
        moved += 1;
    }
    moved
}

/// New centres: weighted means, or `fallback` for clusters without weight.
pub fn weighted_means(stats: &LloydStats, fallback: &Centres) -> Centres {
    let dim = stats.dim;
    let mut values = fallback.values.clone();
    for c in 0..stats.k {
        let w = stats.weights[c];
        if w > 0.0 {
            for j in 0..dim {
                values[c * dim + j] = (stats.sums[c * dim + j] / w) as f32;
            }
        }
    }
    Centres::new(stats.k, dim, values)
}

/// Σ over clusters of ‖old − new‖², in f64.
pub fn squared_shift(old: &Centres, new: &Centres) -> f64 {
    old.values.iter().zip(&new.values).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;

    use crate::cluster::kmeans::KMeansParams;

    fn fit_quiet(data: &Dataset, params: &KMeansParams) -> KMeansFit {
        fit(&CpuBackend, data, &params.check().unwrap(), &mut |_| {}).unwrap()
    }

    #[test]
    fn zero_weight_rows_never_make_nan_centres() {
        let data = Dataset::from_rows(&[0.0, 1.0, 5.0, 6.0], 1, Some(&[0.0, 1.0, 1.0, 0.0]), 2);
        let params = KMeansParams { k: 4, init: Init::Random, seed: 3, ..KMeansParams::new(4) };
        let result = fit_quiet(&data, &params);
        assert!(result.centres.values.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn duplicate_points_with_k_equal_to_n_stay_finite() {
        let data = Dataset::from_rows(&[1.0, 1.0, 1.0, 2.0], 1, None, 4);
        let result = fit_quiet(&data, &KMeansParams::new(4));
        assert!(result.centres.values.iter().all(|v| v.is_finite()));
        assert_eq!(result.inertia, 0.0);
    }

    #[test]
    fn more_runs_never_give_a_worse_inertia() {
        let mut rng = Rng::new(11);
        let rows: Vec<f32> = (0..600).map(|_| rng.normal() as f32).collect();
        let data = Dataset::from_rows(&rows, 3, None, 64);
        let one = fit_quiet(&data, &KMeansParams { k: 8, seed: 1, ..KMeansParams::new(8) });
        let five = fit_quiet(&data, &KMeansParams { k: 8, seed: 1, n_init: 5, ..KMeansParams::new(8) });
        assert!(five.inertia <= one.inertia);
    }
}
