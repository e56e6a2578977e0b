//! The heavy pass of the chain: the active cluster nearest to one cluster by Ward merge cost,
//! on the CPU (rayon over the active clusters, contiguous f64 centroids).
//!
//! It stays on the CPU under `--backend gpu`, on purpose:
//! - it is not where the time goes: in two-level mode the tree has M ≤ 20,000 leaves, about
//!   3M chain steps of one O(M·d) scan each (≈ 6·10¹⁰ flops at M = 20,000, d = 16), against
//!   ≈ 6·10¹² flops for one Lloyd pass of the micro-clustering over 10⁷ rows;
//! - the steps are serial (each scan starts from the previous answer), so a WGSL pass would
//!   be ~60,000 dispatch-and-read-back round trips of a tiny kernel, no faster than this scan;
//! - the tree must equal SciPy's and be the same on every backend: Lance-Williams in f64 with
//!   ties to the lowest index. WGSL has no f64 without an optional device feature, and an f32
//!   kernel would change merges where costs are close.

use rayon::prelude::*;

/// Active lists shorter than this are scanned on one thread (rayon's overhead would dominate).
const PARALLEL_MIN_CLUSTERS: usize = 4096;

/// Clusters of a Ward tree: one slot per leaf; a merge keeps the merged cluster in the
/// larger slot. Centroids are row-major `slots × dim` in f64; weights are Σ w of the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    pub dim: usize,
    pub centroids: Vec<f64>,
    /// Σ w per cluster; every one > 0.
    pub weights: Vec<f64>,
}

impl Clusters {
    /// Wraps `weights.len()` centroids of `dim` values each.
    pub fn new(dim: usize, centroids: Vec<f64>, weights: Vec<f64>) -> Self {
        assert_eq!(centroids.len(), weights.len() * dim, "one centroid of dim values per weight");
        Clusters { dim, centroids, weights }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether there are no slots.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Centroid of slot `i`.
    pub fn centroid(&self, i: usize) -> &[f64] {
        &self.centroids[i * self.dim..(i + 1) * self.dim]
    }

    /// Ward's merge cost of slots `a` and `b`: wₐw_b/(wₐ+w_b)·‖cₐ − c_b‖². Symmetric bit for
    /// bit (the chain relies on it to recognise reciprocal neighbours).
    pub fn merge_cost(&self, a: usize, b: usize) -> f64 {
        let (wa, wb) = (self.weights[a], self.weights[b]);
        let squared: f64 = self.centroid(a).iter().zip(self.centroid(b)).map(|(x, y)| (x - y) * (x - y)).sum();
        wa * wb / (wa + wb) * squared
    }

    /// Merges slot `x` into slot `y`: `y` becomes the weighted mean with the summed weight.
    pub fn merge_into(&mut self, x: usize, y: usize) {
        let (wx, wy) = (self.weights[x], self.weights[y]);
        let w = wx + wy;
        let d = self.dim;
        for j in 0..d {
            let (cx, cy) = (self.centroids[x * d + j], self.centroids[y * d + j]);
            self.centroids[y * d + j] = (wx * cx + wy * cy) / w;
        }
        self.weights[y] = w;
    }

    /// The slot among `active` (any order, `a` may be among them) with the lowest merge cost
    /// to `a`, and that cost; the lowest slot wins ties, so the answer does not depend on the
    /// order of `active` or on the thread count. `None` when no other slot is active.
    pub fn nearest(&self, a: usize, active: &[u32]) -> Option<(f64, usize)> {
        let cost_to = |&i: &u32| (i as usize != a).then(|| (self.merge_cost(a, i as usize), i as usize));
        let better = |p: (f64, usize), q: (f64, usize)| if (q.0, q.1) < (p.0, p.1) { q } else { p };
        if active.len() < PARALLEL_MIN_CLUSTERS {
            active.iter().filter_map(cost_to).reduce(better)
        } else {
            active.par_iter().with_min_len(PARALLEL_MIN_CLUSTERS / 4).filter_map(cost_to).reduce_with(better)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_cluster_weighs_sizes_and_breaks_ties_by_lowest_slot() {
        // Slots 0 and 2 are both 1 away from slot 1; slot 3 is far.
        let clusters = Clusters::new(1, vec![0.0, 1.0, 2.0, 9.0], vec![1.0; 4]);
        assert_eq!(clusters.nearest(1, &[3, 2, 1, 0]), Some((0.5, 0)));
        let heavy = Clusters::new(1, vec![0.0, 1.0, 2.0, 9.0], vec![100.0, 1.0, 1.0, 1.0]);
        assert_eq!(heavy.nearest(1, &[0, 1, 2, 3]).unwrap().1, 2);
        assert_eq!(clusters.nearest(1, &[1]), None);
    }

    #[test]
    fn many_clusters_give_the_same_answer_on_many_threads() {
        let n = 3 * PARALLEL_MIN_CLUSTERS;
        let centroids: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
        let clusters = Clusters::new(1, centroids, vec![1.0; n]);
        let active: Vec<u32> = (0..n as u32).rev().collect();
        let parallel = clusters.nearest(5, &active).unwrap();
        let serial =
            (0..n).filter(|&i| i != 5).map(|i| (clusters.merge_cost(5, i), i)).reduce(|p, q| if q < p { q } else { p });
        assert_eq!(Some(parallel), serial);
    }

    #[test]
    fn merging_keeps_the_weighted_mean_in_the_larger_slot() {
        let mut clusters = Clusters::new(2, vec![0.0, 0.0, 3.0, 6.0], vec![2.0, 1.0]);
        assert_eq!(clusters.merge_cost(0, 1), clusters.merge_cost(1, 0));
        assert!((clusters.merge_cost(0, 1) - 2.0 / 3.0 * 45.0).abs() < 1e-12);
        clusters.merge_into(0, 1);
        assert_eq!((clusters.centroid(1), clusters.weights[1]), (&[1.0, 2.0][..], 3.0));
    }
}
