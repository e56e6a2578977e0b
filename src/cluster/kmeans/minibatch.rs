//! Mini-batch K-Means (Sculley 2010, scikit-learn's `MiniBatchKMeans` update): each step
//! draws a seeded batch of rows, assigns it to the nearest centres and moves every centre to
//! the weighted mean of its past and new rows, so very large n costs a few passes' worth of
//! batches. Centres that stop receiving rows (weight below `REASSIGN_RATIO` of the largest)
//! are re-seeded on batch rows, so no cluster is lost. Stops when the smoothed batch inertia
//! has not improved for `MAX_NO_IMPROVEMENT` steps or after `max_epochs` passes' worth of
//! batches; the inertia reported is a full pass over all rows with the final centres.

use super::{init, IterationReport, KMeansFit, KMeansValidParams};
use crate::backend::{sample_backend, Backend, Centres};
use crate::data::Dataset;
use crate::error::{Param, ParamError, Result};
use crate::rng::Rng;

/// Steps without improvement of the smoothed batch inertia before stopping (scikit-learn's 10).
const MAX_NO_IMPROVEMENT: usize = 10;
/// Centres whose accumulated weight is below this share of the largest are re-seeded…
const REASSIGN_RATIO: f64 = 0.01;
/// …every this many steps (so a seed gets a chance to collect rows first).
const REASSIGN_EVERY: usize = 10;

/// Fits K-Means with mini-batches of `batch_size` rows; `params.max_iter` counts epochs.
pub fn fit_minibatch(
    backend: &dyn Backend,
    data: &Dataset,
    params: &KMeansValidParams,
    batch_size: usize,
    on_iteration: &mut dyn FnMut(&IterationReport),
) -> Result<KMeansFit> {
    params.check_data(data.rows(), data.dim())?;
    ParamError::at_least(Param::BatchSize, batch_size, 1)?;
    crate::cluster::ensure_positive_weight(data)?;
    let (n, d, k) = (data.rows(), data.dim(), params.k);
    let mut rng = Rng::derive(params.seed, 0);
    // Batches are small host samples: their passes run on the sample backend (the CPU).
    let sample = sample_backend();
    // Initialise on a sample of 3 batches (at least 3k rows), as scikit-learn does.
    let init_rows = (3 * batch_size).max(3 * k).min(n);
    let init_sample = batch(data, init_rows, &mut rng);
    let mut centres = match &params.init {
        super::Init::Centres(c) => c.clone(),
        super::Init::Random => init::random_rows(&init_sample, k, &mut rng),
        _ => init::kmeans_plus_plus(sample, &init_sample, k, &mut rng)?,
    };
    let mut counts = vec![0.0f64; k];
    let steps = (params.max_iter as f64 * n as f64 / batch_size as f64).ceil().max(1.0) as usize;
    let mut smoothed: Option<f64> = None;
    let mut best = f64::INFINITY;
    let mut since_best = 0;
    let mut converged = false;
    let mut step = 0;
    while step < steps {
        step += 1;
        let rows = batch(data, batch_size.min(n), &mut rng);
        let stats = sample.lloyd_pass(&rows, &centres, &mut sample.new_state(&rows)?)?;
        let mut shift = 0.0;
        for (c, count) in counts.iter_mut().enumerate() {
            let w = stats.weights[c];
            if w <= 0.0 {
                continue;
            }
            let total = *count + w;
            for (j, v) in centres.values[c * d..(c + 1) * d].iter_mut().enumerate() {
                let old = *v as f64;
                let new = (old * *count + stats.sums[c * d + j]) / total;
                shift += (new - old).powi(2);
                *v = new as f32;
            }
            *count = total;
        }
        if step % REASSIGN_EVERY == 0 {
            reseed_dead(&mut centres, &mut counts, &rows, &mut rng);
        }
        let inertia = stats.inertia / stats.weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let alpha = (2.0 * rows.rows() as f64 / (n as f64 + 1.0)).min(1.0);
        let ewa = smoothed.map_or(inertia, |s| s * (1.0 - alpha) + inertia * alpha);
        smoothed = Some(ewa);
        on_iteration(&IterationReport { run: 0, iteration: step, inertia: stats.inertia, changed: 0, shift });
        if ewa < best {
            best = ewa;
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= MAX_NO_IMPROVEMENT {
                converged = true;
                break;
            }
        }
    }
    // The reported inertia, sizes and weights come from one full pass with the final centres.
    let last = backend.lloyd_pass(data, &centres, &mut backend.new_state(data)?)?;
    if last.counts.contains(&0) {
        // A centre no row is nearest to (re-seeded onto a row another centre also reached):
        // a few full Lloyd iterations relocate it as K-Means does, so no segment stays empty
        // while the data have rows to fill it.
        let tol = params.tol * data.mean_variance();
        let repaired = super::algorithm::lloyd(backend, data, centres, REPAIR_ITERATIONS, tol, 0, on_iteration)?;
        return Ok(KMeansFit { iterations: step + repaired.iterations, converged, ..repaired });
    }
    Ok(KMeansFit {
        centres,
        inertia: last.inertia,
        iterations: step,
        converged,
        best_run: 0,
        sizes: last.counts,
        weights: last.weights,
        reseeded: 0,
    })
}

/// Lloyd iterations that repair a mini-batch result with empty segments.
const REPAIR_ITERATIONS: usize = 10;

/// `rows` rows drawn with replacement (seeded) as a small dataset.
fn batch(data: &Dataset, rows: usize, rng: &mut Rng) -> Dataset {
    let d = data.dim();
    let mut picks: Vec<usize> = (0..rows).map(|_| rng.below(data.rows() as u64) as usize).collect();
    picks.sort_unstable();
    let values: Vec<f32> = picks.iter().flat_map(|&r| data.row(r).iter().copied()).collect();
    let weights: Option<Vec<f32>> = data.is_weighted().then(|| picks.iter().map(|&r| data.weight(r)).collect());
    Dataset::from_rows(&values, d, weights.as_deref(), rows.max(1))
}

/// Moves centres that receive almost nothing onto random rows of the batch.
fn reseed_dead(centres: &mut Centres, counts: &mut [f64], rows: &Dataset, rng: &mut Rng) {
    let max = counts.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return;
    }
    let d = centres.dim;
    for c in 0..centres.k {
        if counts[c] < REASSIGN_RATIO * max {
            let r = rng.below(rows.rows() as u64) as usize;
            centres.values[c * d..(c + 1) * d].copy_from_slice(rows.row(r));
            counts[c] = counts.iter().copied().filter(|&w| w > 0.0).fold(f64::INFINITY, f64::min).min(max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::synth::blobs;

    #[test]
    fn minibatch_gets_close_to_lloyd_and_loses_no_cluster() {
        let values = blobs(20_000, 4, 10, 3);
        let data = Dataset::from_rows(&values, 4, None, 4096);
        let params =
            crate::cluster::kmeans::KMeansParams { k: 10, seed: 2, ..crate::cluster::kmeans::KMeansParams::new(10) }
                .check()
                .unwrap();
        let lloyd = super::super::fit(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
        let mini = fit_minibatch(&CpuBackend, &data, &params, 512, &mut |_| {}).unwrap();
        assert!(mini.sizes.iter().all(|&s| s > 0), "a cluster was lost: {:?}", mini.sizes);
        assert!(mini.inertia <= 1.1 * lloyd.inertia, "minibatch {} vs lloyd {}", mini.inertia, lloyd.inertia);
        let again = fit_minibatch(&CpuBackend, &data, &params, 512, &mut |_| {}).unwrap();
        assert_eq!(mini, again, "seeded");
    }

    #[test]
    fn k_equal_to_n_distinct_rows_leaves_no_segment_empty() {
        let mut rng = Rng::new(5);
        let values: Vec<f32> = (0..1500).map(|_| rng.uniform() as f32).collect();
        let data = Dataset::from_rows(&values, 3, None, 128);
        let params = crate::cluster::kmeans::KMeansParams::new(500).check().unwrap();
        let fit = fit_minibatch(&CpuBackend, &data, &params, 64, &mut |_| {}).unwrap();
        assert!(fit.sizes.iter().all(|&s| s == 1), "empty segments: {}", fit.sizes.iter().filter(|&&s| s == 0).count());
        assert_eq!(fit.inertia, 0.0);
    }
}
