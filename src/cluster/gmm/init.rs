//! Initial mixtures: from K-Means labels, from k-means++ seeds, or from random
//! responsibilities; each gives responsibilities whose M-step is the first mixture.

use rayon::prelude::*;

use super::mixture::needs_full;
use super::{GmmValidParams, Mixture};
use crate::backend::mixture::MixtureStats;
use crate::backend::{Backend, Centres};
use crate::cluster::kmeans::{self, kmeans_plus_plus, KMeansParams};
use crate::data::{Chunk, Dataset};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Fills the responsibilities of one row: `(chunk index, row in chunk, row, out)`.
type RespFn<'a> = dyn Fn(usize, usize, &[f32], &mut [f64]) + Sync + 'a;

/// Statistics of responsibilities given per row by `resp(chunk index, row in chunk, out)`,
/// chunk statistics merged in order.
fn stats_from(data: &Dataset, k: usize, full: bool, resp: &RespFn<'_>) -> MixtureStats {
    let d = data.dim();
    let parts: Vec<MixtureStats> = data
        .chunks()
        .par_iter()
        .enumerate()
        .map(|(c, chunk): (usize, &Chunk)| {
            let mut stats = MixtureStats::zeros(k, d, full);
            let mut r = vec![0.0f64; k];
            for (i, x) in chunk.values.chunks_exact(d).enumerate() {
                let w = chunk.weight(i) as f64;
                resp(c, i, x, &mut r);
                stats.weight += w;
                for (comp, &rc) in r.iter().enumerate() {
                    if w * rc != 0.0 {
                        stats.add(comp, x, w * rc);
                    }
                }
            }
            chunk.values.release();
            stats
        })
        .collect();
    let mut total = MixtureStats::zeros(k, d, full);
    for p in &parts {
        total.merge(p);
    }
    total
}

/// Labels of every row (per chunk) for the nearest of `centres`.
fn nearest_labels(backend: &dyn Backend, data: &Dataset, centres: &Centres) -> Result<Vec<Vec<u32>>> {
    let mut labels = Vec::with_capacity(data.chunks().len());
    backend.assign(data, centres, &mut |_, l, _| {
        labels.push(l.to_vec());
        Ok(())
    })?;
    Ok(labels)
}

/// Statistics of every row given wholly to its nearest of `centres` (the K-Means
/// initialisations' first responsibilities); distributed drivers merge them per partition.
pub fn nearest_centre_stats(
    backend: &dyn Backend,
    data: &Dataset,
    centres: &Centres,
    full: bool,
) -> Result<MixtureStats> {
    let labels = nearest_labels(backend, data, centres)?;
    Ok(stats_from(data, centres.k, full, &|c, i, _, r| {
        r.fill(0.0);
        r[labels[c][i] as usize] = 1.0;
    }))
}

/// Statistics of random responsibilities (uniform per component, normalised per row), row
/// `i` of `data` drawing from `Rng::derive(seed, first_row + i)`: a part of a larger data
/// set that starts at row `first_row` gets exactly the rows' draws of the whole, so a
/// distributed driver merging the parts' statistics finds the single machine's first mixture.
pub fn random_stats(data: &Dataset, k: usize, full: bool, seed: u64, first_row: u64) -> MixtureStats {
    let offsets: Vec<u64> = (0..data.chunks().len()).map(|c| first_row + data.chunk_offset(c) as u64).collect();
    stats_from(data, k, full, &|c, i, _, r| {
        let mut row_rng = Rng::derive(seed, offsets[c] + i as u64);
        r.iter_mut().for_each(|v| *v = row_rng.uniform());
        let s: f64 = r.iter().sum();
        r.iter_mut().for_each(|v| *v /= s);
    })
}

/// The first mixture of run `rng` under `params` (not for [`super::GmmInit::Given`]).
pub fn initial_stats(
    backend: &dyn Backend,
    data: &Dataset,
    params: &GmmValidParams,
    rng: &mut Rng,
) -> Result<MixtureStats> {
    let (k, full) = (params.k, needs_full(params.covariance));
    match &params.init {
        super::GmmInit::KMeans => {
            let km = KMeansParams { k, seed: rng.next_u64(), ..KMeansParams::new(k) }.check()?;
            let fit = kmeans::fit(backend, data, &km, &mut |_| {})?;
            nearest_centre_stats(backend, data, &fit.centres, full)
        }
        super::GmmInit::KMeansPlusPlus => {
            let seeds = kmeans_plus_plus(backend, data, k, rng)?;
            nearest_centre_stats(backend, data, &seeds, full)
        }
        super::GmmInit::Random => Ok(random_stats(data, k, full, rng.next_u64(), 0)),
        super::GmmInit::Given(_) => Err(Error::Internal("given mixtures need no initial statistics".into())),
    }
}

/// Per-feature weighted variance of the data (for re-initialised components).
pub fn feature_variances(data: &Dataset) -> Vec<f64> {
    let d = data.dim();
    let stats = stats_from(data, 1, false, &|_, _, _, r| r[0] = 1.0);
    let w = stats.weight.max(f64::MIN_POSITIVE);
    (0..d)
        .map(|j| {
            let m = stats.sum_x[j] / w;
            (stats.sum_xx[j] / w - m * m).max(1e-12)
        })
        .collect()
}

/// Puts component `c` on a random row with the data's variance and weight 1/k.
pub fn reinitialise(mix: &mut Mixture, c: usize, data: &Dataset, variances: &[f64], rng: &mut Rng) {
    let d = mix.dim;
    let row = data.row(rng.below(data.rows() as u64) as usize);
    for (m, &v) in mix.means[c * d..(c + 1) * d].iter_mut().zip(row) {
        *m = v as f64;
    }
    let diag = |m: &mut [f64]| {
        m.fill(0.0);
        (0..d).for_each(|j| m[j * d + j] = variances[j]);
    };
    match mix.covariance {
        super::CovarianceType::Full => diag(&mut mix.covariances[c * d * d..(c + 1) * d * d]),
        super::CovarianceType::Tied => diag(&mut mix.covariances[..]),
        super::CovarianceType::Diag => mix.covariances[c * d..(c + 1) * d].copy_from_slice(variances),
        super::CovarianceType::Spherical => mix.covariances[c] = variances.iter().sum::<f64>() / d as f64,
    }
    mix.weights[c] = 1.0 / mix.k as f64;
    let total: f64 = mix.weights.iter().sum();
    mix.weights.iter_mut().for_each(|w| *w /= total);
}
