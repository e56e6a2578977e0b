//! Internal validity metrics of a labelling: Calinski-Harabasz and Davies-Bouldin from two
//! passes of per-segment statistics (exact, any n), and the silhouette, exact up to
//! `sample` rows and a seeded-sample estimate with its standard error beyond.
//! Unweighted, as scikit-learn computes them.

use rayon::prelude::*;
use serde::Serialize;

use crate::backend::Backend;
use crate::data::Dataset;
use crate::error::Result;
use crate::rng::Rng;

/// The silhouette and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silhouette {
    pub mean: f64,
    /// Standard error of the mean when estimated from a sample; None when exact.
    pub standard_error: Option<f64>,
    pub rows: usize,
    pub exact: bool,
    /// Mean silhouette of each segment's rows in the (sampled) rows; None if it has none.
    pub per_segment: Vec<Option<f64>>,
}

/// All metrics of one labelling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Between- over within-segment dispersion, each per degree of freedom (higher is better).
    pub calinski_harabasz: f64,
    /// Mean over segments of the worst (s_i + s_j) / d(c_i, c_j) (lower is better).
    pub davies_bouldin: f64,
    pub silhouette: Silhouette,
}

/// Scores labels (one per row, per chunk, values < k) of `data`. The silhouette is exact
/// when the data have at most `sample` rows, else estimated on `sample` rows drawn with
/// `seed`; its pairwise pass runs on `backend`.
pub fn score(
    backend: &dyn Backend,
    data: &Dataset,
    labels: &[Vec<u32>],
    k: usize,
    sample: usize,
    seed: u64,
) -> Result<Scores> {
    let d = data.dim();
    let (counts, sums) = segment_sums(data, labels, k);
    let n: usize = counts.iter().sum();
    let overall: Vec<f64> = (0..d).map(|j| (0..k).map(|c| sums[c * d + j]).sum::<f64>() / n as f64).collect();
    let means: Vec<f64> =
        (0..k * d).map(|i| if counts[i / d] > 0 { sums[i] / counts[i / d] as f64 } else { 0.0 }).collect();
    let (within, spread) = within_segment_distances(data, labels, k, &means);
    let used: Vec<usize> = (0..k).filter(|&c| counts[c] > 0).collect();
    let kk = used.len();
    let between: f64 = used
        .iter()
        .map(|&c| counts[c] as f64 * (0..d).map(|j| (means[c * d + j] - overall[j]).powi(2)).sum::<f64>())
        .sum();
    let calinski_harabasz =
        if kk < 2 || within == 0.0 { 1.0 } else { between * (n - kk) as f64 / (within * (kk - 1) as f64) };
    let s: Vec<f64> = (0..k).map(|c| if counts[c] > 0 { spread[c] / counts[c] as f64 } else { 0.0 }).collect();
    let centre_distance = |a: usize, b: usize| -> f64 {
        (0..d).map(|j| (means[a * d + j] - means[b * d + j]).powi(2)).sum::<f64>().sqrt()
    };
    let davies_bouldin = if kk < 2 {
        0.0
    } else {
        used.iter()
            .map(|&a| {
                used.iter()
                    .filter(|&&b| b != a)
                    .map(|&b| {
                        let dist = centre_distance(a, b);
                        if dist == 0.0 {
                            f64::INFINITY
                        } else {
                            (s[a] + s[b]) / dist
                        }
                    })
                    .fold(0.0, f64::max)
            })
            .sum::<f64>()
            / kk as f64
    };
    let silhouette = silhouette(backend, data, labels, k, sample, seed)?;
    data.release_all(); // the sample's rows were read at random
    Ok(Scores { calinski_harabasz, davies_bouldin, silhouette })
}

/// Pass 1 of the segment statistics: rows and per-feature sums (`k × d`) of each segment.
/// Groups of features run on their own threads; each sum adds its rows in row order, so the
/// bits do not depend on the number of threads.
fn segment_sums(data: &Dataset, labels: &[Vec<u32>], k: usize) -> (Vec<usize>, Vec<f64>) {
    let d = data.dim();
    let per_group = d.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let groups: Vec<std::ops::Range<usize>> =
        (0..d).step_by(per_group).map(|start| start..(start + per_group).min(d)).collect();
    let mut group_sums: Vec<Vec<f64>> = groups.iter().map(|g| vec![0.0f64; k * g.len()]).collect();
    let mut counts = vec![0usize; k];
    for (chunk, chunk_labels) in data.stream().zip(labels) {
        let rows = || chunk.values.chunks_exact(d).zip(chunk_labels);
        rayon::join(
            || {
                group_sums.par_iter_mut().zip(&groups).for_each(|(sums, group)| {
                    let g = group.len();
                    for (x, &l) in rows() {
                        for (s, &v) in sums[l as usize * g..(l as usize + 1) * g].iter_mut().zip(&x[group.clone()]) {
                            *s += v as f64;
                        }
                    }
                })
            },
            || rows().for_each(|(_, &l)| counts[l as usize] += 1),
        );
    }
    let mut sums = vec![0.0f64; k * d];
    for (group, group_sums) in groups.iter().zip(&group_sums) {
        let g = group.len();
        for c in 0..k {
            sums[c * d + group.start..c * d + group.end].copy_from_slice(&group_sums[c * g..(c + 1) * g]);
        }
    }
    (counts, sums)
}

/// Pass 2: the sum of squared distances to the own segment's mean, and per segment the sum
/// of the distances. The distances are computed in parallel, then added in row order.
fn within_segment_distances(data: &Dataset, labels: &[Vec<u32>], k: usize, means: &[f64]) -> (f64, Vec<f64>) {
    let d = data.dim();
    let mut within = 0.0f64;
    let mut spread = vec![0.0f64; k];
    let mut squared = Vec::new();
    for (chunk, chunk_labels) in data.stream().zip(labels) {
        chunk
            .values
            .par_chunks_exact(d)
            .zip(chunk_labels.par_iter())
            .map(|(x, &l)| {
                let m = &means[l as usize * d..(l as usize + 1) * d];
                x.iter().zip(m).map(|(&a, &b)| (a as f64 - b).powi(2)).sum::<f64>()
            })
            .collect_into_vec(&mut squared);
        for (&d2, &l) in squared.iter().zip(chunk_labels) {
            within += d2;
            spread[l as usize] += d2.sqrt();
        }
    }
    (within, spread)
}

/// The silhouette of `labels`: exact when the data have at most `sample` rows, else
/// estimated on `sample` rows drawn with `seed` (with its standard error).
pub fn silhouette(
    backend: &dyn Backend,
    data: &Dataset,
    labels: &[Vec<u32>],
    k: usize,
    sample: usize,
    seed: u64,
) -> Result<Silhouette> {
    let d = data.dim();
    let n = data.rows();
    let exact = n <= sample;
    let chosen: Vec<usize> = if exact {
        (0..n).collect()
    } else {
        // Floyd's sampling: `sample` distinct rows, sorted for locality.
        let mut rng = Rng::new(seed);
        let mut set = std::collections::HashSet::with_capacity(sample);
        for j in (n - sample) as u64..n as u64 {
            let t = rng.below(j + 1);
            set.insert(if set.contains(&t) { j } else { t });
        }
        let mut v: Vec<usize> = set.into_iter().map(|x| x as usize).collect();
        v.sort_unstable();
        v
    };
    let label_of = |row: usize| {
        let (c, local) = data.locate(row);
        labels[c][local]
    };
    // The points grouped by label (stable, so in row order within a label): the pairwise
    // pass sums distances over each label's contiguous range.
    let mut by_label: Vec<(u32, usize)> = chosen.iter().map(|&r| (label_of(r), r)).collect();
    by_label.sort_by_key(|&(l, _)| l);
    let points: Vec<f32> = by_label.iter().flat_map(|&(_, r)| data.row(r).iter().copied()).collect();
    let point_labels: Vec<u32> = by_label.iter().map(|&(l, _)| l).collect();
    let mut sizes = vec![0usize; k];
    for &l in &point_labels {
        sizes[l as usize] += 1;
    }
    let mut ranges = Vec::with_capacity(k);
    let mut start = 0;
    for &size in &sizes {
        ranges.push((start, start + size));
        start += size;
    }
    let m = chosen.len();
    let sums = backend.pair_sums(&points, d, &ranges)?;
    let values: Vec<f64> = (0..m)
        .map(|i| {
            let sums = &sums[i * k..(i + 1) * k];
            let own = point_labels[i] as usize;
            if sizes[own] <= 1 {
                return 0.0;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() || a.max(b) == 0.0 {
                0.0
            } else {
                (b - a) / a.max(b)
            }
        })
        .collect();
    let mean = values.iter().sum::<f64>() / m.max(1) as f64;
    let standard_error = (!exact).then(|| {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m.max(2) - 1) as f64;
        (var / m as f64).sqrt()
    });
    let per_segment = (0..k)
        .map(|c| {
            let own: Vec<f64> =
                values.iter().zip(&point_labels).filter(|(_, &l)| l as usize == c).map(|(v, _)| *v).collect();
            (!own.is_empty()).then(|| own.iter().sum::<f64>() / own.len() as f64)
        })
        .collect();
    Ok(Silhouette { mean, standard_error, rows: m, exact, per_segment })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two passes as plain row-by-row loops: the order every sum must keep.
    fn sequential(data: &Dataset, labels: &[Vec<u32>], k: usize) -> (Vec<usize>, Vec<f64>, f64, Vec<f64>) {
        let d = data.dim();
        let rows = || data.stream().zip(labels).flat_map(move |(c, l)| c.values.chunks_exact(d).zip(l.iter()));
        let (mut counts, mut sums) = (vec![0usize; k], vec![0.0f64; k * d]);
        for (x, &l) in rows() {
            counts[l as usize] += 1;
            for (s, &v) in sums[l as usize * d..(l as usize + 1) * d].iter_mut().zip(x) {
                *s += v as f64;
            }
        }
        let means: Vec<f64> = (0..k * d).map(|i| sums[i] / counts[i / d].max(1) as f64).collect();
        let (mut within, mut spread) = (0.0f64, vec![0.0f64; k]);
        for (x, &l) in rows() {
            let m = &means[l as usize * d..(l as usize + 1) * d];
            let d2: f64 = x.iter().zip(m).map(|(&a, &b)| (a as f64 - b).powi(2)).sum();
            within += d2;
            spread[l as usize] += d2.sqrt();
        }
        (counts, sums, within, spread)
    }

    #[test]
    fn parallel_passes_give_the_sequential_bits_whatever_the_thread_count() {
        let (n, d, k) = (10_007, 5, 7);
        let mut rng = Rng::new(3);
        let values: Vec<f32> = (0..n * d).map(|_| (rng.uniform() * 1e4 - 3e3) as f32).collect();
        let data = Dataset::from_rows(&values, d, None, 1000);
        let labels: Vec<Vec<u32>> =
            data.chunks().iter().map(|c| (0..c.rows(d)).map(|_| rng.below(k as u64 - 1) as u32).collect()).collect();
        let (counts, sums, within, spread) = sequential(&data, &labels, k);
        assert_eq!(counts[k - 1], 0, "an empty segment is part of the case");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let (c, s) = pool.install(|| segment_sums(&data, &labels, k));
            assert_eq!((c, bits(&s)), (counts.clone(), bits(&sums)), "{threads} thread(s)");
            let means: Vec<f64> = (0..k * d).map(|i| s[i] / counts[i / d].max(1) as f64).collect();
            let (w, sp) = pool.install(|| within_segment_distances(&data, &labels, k, &means));
            assert_eq!((w.to_bits(), bits(&sp)), (within.to_bits(), bits(&spread)), "{threads} thread(s)");
        }
    }
}
