//! Bootstrap stability of a segmentation: refit on B seeded bootstrap samples, assign every
//! row to each refit's segments, and compare with the full fit — the adjusted Rand index
//! overall, and per segment the Jaccard similarity of its best-matching bootstrap segment
//! (Hennig 2007: below about 0.6 a segment is not stable, above 0.85 it is highly stable).

use std::collections::HashMap;

use serde::Serialize;

use super::adjusted_rand_index;
use crate::data::{Chunk, Dataset};
use crate::error::Result;
use crate::rng::Rng;

/// Rows per chunk of a bootstrap sample.
const SAMPLE_CHUNK: usize = 65_536;

/// Stability of the segments over bootstrap refits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stability {
    pub bootstraps: usize,
    /// Mean adjusted Rand index between the full fit's labels and each refit's.
    pub mean_ari: f64,
    /// Per segment, the mean over refits of the best Jaccard similarity with a refit segment.
    pub per_segment_jaccard: Vec<f64>,
}

/// `n` rows drawn with replacement (seeded), with their weights.
pub fn bootstrap_sample(data: &Dataset, seed: u64) -> Dataset {
    let (n, d) = (data.rows(), data.dim());
    let mut rng = Rng::new(seed);
    let mut picks: Vec<usize> = (0..n).map(|_| rng.below(n as u64) as usize).collect();
    picks.sort_unstable();
    let weighted = data.is_weighted();
    let chunks = picks
        .chunks(SAMPLE_CHUNK)
        .map(|rows| {
            Chunk::new(
                rows.iter().flat_map(|&r| data.row(r).iter().copied()).collect(),
                weighted.then(|| rows.iter().map(|&r| data.weight(r)).collect()),
            )
        })
        .collect::<Vec<_>>();
    Dataset::from_chunks(d, chunks)
}

/// Runs `bootstraps` refits. `refit(sample, seed)` fits on the sample and returns the label
/// of every row of `data` under the refit; `labels` are the full fit's labels of `data`.
pub fn bootstrap(
    data: &Dataset,
    labels: &[u32],
    k: usize,
    bootstraps: usize,
    seed: u64,
    refit: &mut dyn FnMut(&Dataset, u64) -> Result<Vec<u32>>,
) -> Result<Stability> {
    let mut ari_sum = 0.0;
    let mut jaccard_sum = vec![0.0; k];
    for b in 0..bootstraps {
        let sample_seed = Rng::derive(seed, 1_000 + b as u64).next_u64();
        let sample = bootstrap_sample(data, sample_seed);
        let other = refit(&sample, sample_seed)?;
        ari_sum += adjusted_rand_index(labels, &other);
        for (c, j) in best_jaccard(labels, &other, k).into_iter().enumerate() {
            jaccard_sum[c] += j;
        }
    }
    let runs = bootstraps.max(1) as f64;
    Ok(Stability {
        bootstraps,
        mean_ari: ari_sum / runs,
        per_segment_jaccard: jaccard_sum.into_iter().map(|s| s / runs).collect(),
    })
}

/// For each segment c of `a`, max over segments j of `b` of |A_c ∩ B_j| / |A_c ∪ B_j|.
fn best_jaccard(a: &[u32], b: &[u32], k: usize) -> Vec<f64> {
    let mut size_a = vec![0u64; k];
    let mut size_b: HashMap<u32, u64> = HashMap::new();
    let mut both: HashMap<(u32, u32), u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        size_a[x as usize] += 1;
        *size_b.entry(y).or_default() += 1;
        *both.entry((x, y)).or_default() += 1;
    }
    let mut best = vec![0.0f64; k];
    for (&(x, y), &inter) in &both {
        let union = size_a[x as usize] + size_b[&y] - inter;
        let j = inter as f64 / union as f64;
        if j > best[x as usize] {
            best[x as usize] = j;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_matches_renamed_and_split_segments() {
        // b renames a's segments; the third segment is split in two.
        let a = [0, 0, 1, 1, 2, 2, 2, 2];
        let b = [5, 5, 7, 7, 1, 1, 3, 3];
        assert_eq!(best_jaccard(&a, &b, 3), vec![1.0, 1.0, 0.5]);
    }

    #[test]
    fn bootstrap_samples_are_seeded_and_keep_the_size() {
        let values: Vec<f32> = (0..100).map(|x| x as f32).collect();
        let data = Dataset::from_rows(&values, 1, None, 30);
        let a = bootstrap_sample(&data, 4);
        assert_eq!(a.rows(), 100);
        assert_eq!(a.chunks(), bootstrap_sample(&data, 4).chunks());
        assert_ne!(a.chunks(), bootstrap_sample(&data, 5).chunks());
    }
}
