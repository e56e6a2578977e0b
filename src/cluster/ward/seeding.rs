//! Where two-level mode's micro-clustering starts. Micro-clusters need to be fine, not
//! optimal, so on large data they are seeded from a seeded uniform sample of
//! [`SAMPLE_ROWS_PER_MICRO_CLUSTER`] rows per micro-cluster (k-means|| on the sample, in
//! memory) instead of from every row: k-means|| on all rows scores them against ~2M new
//! candidates in each of its 5 rounds and against all ~10M candidates once more, about 18
//! Lloyd passes' work before the first Lloyd pass (10⁷ × 16 rows, M = 2,000: most of the
//! fit). The Lloyd passes that follow run on every row, as before. Data with no more rows
//! than the sample keep the seeding of a K-Means fit on all rows (so every row its own
//! micro-cluster still gives the exact tree).

use crate::backend::{sample_backend, Centres};
use crate::cluster::kmeans::{self, AUTO_PARALLEL_WORK};
use crate::data::Dataset;
use crate::error::Result;
use crate::rng::Rng;

/// Rows of the seeding sample per micro-cluster (at M = 2,000: 64,000 rows; at the default
/// maximum M = 20,000 with 16 columns: 41 MB).
pub const SAMPLE_ROWS_PER_MICRO_CLUSTER: usize = 32;

/// k-means|| rounds and oversampling of the micro-clustering's seeding (those of
/// `Init::Auto` in a K-Means fit).
pub const SEEDING_ROUNDS: usize = 5;
pub const SEEDING_OVERSAMPLING: f64 = 2.0;

/// Seeds for `m` micro-clusters of `data` from a sample drawn with `seed`, or `None` when
/// the data have no more rows than the sample would (or the sample weighs nothing): then
/// the micro-clustering seeds itself from all rows.
pub fn sample_seeds(data: &Dataset, m: usize, seed: u64) -> Result<Option<Centres>> {
    let size = m.saturating_mul(SAMPLE_ROWS_PER_MICRO_CLUSTER);
    if size >= data.rows() {
        return Ok(None);
    }
    let mut rng = Rng::new(seed);
    let sample = draw_weighted(data, size, rng.next_u64());
    if sample.total_weight() <= 0.0 {
        return Ok(None);
    }
    let backend = sample_backend();
    let seeds = if (size as f64) * (m as f64) > AUTO_PARALLEL_WORK {
        kmeans::kmeans_parallel(backend, &sample, m, SEEDING_ROUNDS, SEEDING_OVERSAMPLING, &mut rng)?
    } else {
        kmeans::kmeans_plus_plus(backend, &sample, m, &mut rng)?
    };
    Ok(Some(seeds))
}

/// `size` rows of `data` (fewer than its rows) drawn uniformly with `seed`, in row order,
/// with their weights (an unbiased sample of the weighted rows).
fn draw_weighted(data: &Dataset, size: usize, seed: u64) -> Dataset {
    let (values, weights) = data.uniform_sample(size, seed);
    let weighted = data.is_weighted().then_some(weights.as_slice());
    Dataset::from_rows(&values, data.dim(), weighted, 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, weights: Option<&[f32]>) -> Dataset {
        let values: Vec<f32> = (0..n).map(|i| i as f32).collect();
        Dataset::from_rows(&values, 1, weights, 100)
    }

    /// Rows and weights of `data`, in order.
    fn contents(data: &Dataset) -> (Vec<f32>, Vec<f32>) {
        (
            (0..data.rows()).flat_map(|i| data.row(i).to_vec()).collect(),
            (0..data.rows()).map(|i| data.weight(i)).collect(),
        )
    }

    #[test]
    fn the_sample_is_its_size_in_row_order_with_its_rows_weights_and_depends_on_the_seed() {
        let weights: Vec<f32> = (0..1000).map(|i| (i % 7) as f32).collect();
        let data = line(1000, Some(&weights));
        let a = draw_weighted(&data, 300, 1);
        assert_eq!(a.rows(), 300);
        let rows: Vec<f32> = (0..300).map(|i| a.row(i)[0]).collect();
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "row order, no repeats");
        assert!((0..300).all(|i| a.weight(i) == (a.row(i)[0] as usize % 7) as f32), "each row keeps its weight");
        assert_eq!(contents(&a), contents(&draw_weighted(&data, 300, 1)));
        assert_ne!(contents(&a), contents(&draw_weighted(&data, 300, 2)));
        assert!(!draw_weighted(&line(1000, None), 300, 1).is_weighted());
    }

    #[test]
    fn small_data_seed_from_every_row_and_large_data_from_the_sample() {
        assert_eq!(sample_seeds(&line(64, None), 2, 5).unwrap(), None);
        let seeds = sample_seeds(&line(65, None), 2, 5).unwrap().expect("65 rows > 2 × 32");
        assert_eq!((seeds.k, seeds.dim), (2, 1));
        assert_eq!(Some(seeds), sample_seeds(&line(65, None), 2, 5).unwrap(), "deterministic");
        let nothing = vec![0.0f32; 100];
        assert_eq!(sample_seeds(&line(100, Some(&nothing)), 2, 5).unwrap(), None);
    }
}
