//! Consolidating a cut (Ward then K-Means, as FactoMineR's HCPC `consol = TRUE`): every leaf
//! moves to its nearest segment centroid, the centroids are recomputed, and so on until no
//! leaf moves. Ward's greedy merges place the borders between segments where the merge
//! order left them, not midway between the segments: on Fränti's Birch1 (a Voronoi truth)
//! the cut at k = 100 reaches ARI 0.83–0.85 whether the leaves are rows (SciPy on samples
//! of 5,000 and 20,000 rows) or micro-clusters, and 0.96 once consolidated. Each round can
//! only lower Σ w·‖x − segment centroid‖² (Lloyd's argument on the leaves).

use rayon::prelude::*;

use super::nearest::Clusters;

/// Most rounds a consolidation runs.
pub const CONSOLIDATION_ROUNDS: usize = 100;

/// A consolidated cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Consolidated {
    /// The segment of every leaf (numbered as the cut it started from).
    pub leaf_segments: Vec<u32>,
    /// Leaves whose segment differs from the cut's.
    pub moved: usize,
    /// Rounds that moved leaves.
    pub rounds: usize,
}

/// Consolidates `cut` (the segment 0..k of every leaf of `leaves`). A round that would leave
/// a segment without leaves is not taken (k segments stay k), and neither is one past
/// [`CONSOLIDATION_ROUNDS`]. Ties go to the lowest segment, so the result does not depend on
/// the thread count.
pub fn consolidate(leaves: &Clusters, cut: &[u32], k: usize) -> Consolidated {
    assert_eq!(leaves.len(), cut.len(), "one segment per leaf");
    let mut current = cut.to_vec();
    let mut rounds = 0;
    while rounds < CONSOLIDATION_ROUNDS {
        let centroids = segment_centroids(leaves, &current, k);
        let next: Vec<u32> = (0..leaves.len())
            .into_par_iter()
            .with_min_len(1024)
            .map(|leaf| nearest_segment(leaves.centroid(leaf), &centroids, leaves.dim))
            .collect();
        let mut filled = vec![false; k];
        next.iter().for_each(|&s| filled[s as usize] = true);
        if next == current || filled.contains(&false) {
            break;
        }
        current = next;
        rounds += 1;
    }
    let moved = current.iter().zip(cut).filter(|(a, b)| a != b).count();
    Consolidated { leaf_segments: current, moved, rounds }
}

/// The weighted mean of each segment's leaf centroids, `k × dim` (f64).
pub fn segment_centroids(leaves: &Clusters, leaf_segments: &[u32], k: usize) -> Vec<f64> {
    let dim = leaves.dim;
    let mut weights = vec![0.0f64; k];
    let mut sums = vec![0.0f64; k * dim];
    for (leaf, &s) in leaf_segments.iter().enumerate() {
        let (s, w) = (s as usize, leaves.weights[leaf]);
        weights[s] += w;
        for (sum, &c) in sums[s * dim..(s + 1) * dim].iter_mut().zip(leaves.centroid(leaf)) {
            *sum += w * c;
        }
    }
    sums.iter().enumerate().map(|(i, &s)| s / weights[i / dim]).collect()
}

/// Σ w·‖leaf centroid − segment centroid‖² over the leaves.
pub fn spread(leaves: &Clusters, leaf_segments: &[u32], centroids: &[f64]) -> f64 {
    let dim = leaves.dim;
    leaf_segments
        .iter()
        .enumerate()
        .map(|(leaf, &s)| {
            let centre = &centroids[s as usize * dim..(s as usize + 1) * dim];
            leaves.weights[leaf] * squared_distance(leaves.centroid(leaf), centre)
        })
        .sum()
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The segment whose centroid is nearest to `x` (the lowest on ties).
fn nearest_segment(x: &[f64], centroids: &[f64], dim: usize) -> u32 {
    let mut best = (f64::INFINITY, 0u32);
    for (s, centre) in centroids.chunks_exact(dim).enumerate() {
        let d = squared_distance(x, centre);
        if d < best.0 {
            best = (d, s as u32);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_left_on_the_wrong_side_moves_to_the_nearer_segment_and_inertia_falls() {
        // Segment 0 = {0, 1, 4}, segment 1 = {5, 6}: leaf 4 sits nearer segment 1's centroid.
        let leaves = Clusters::new(1, vec![0.0, 1.0, 4.0, 5.0, 6.0], vec![1.0; 5]);
        let cut = [0, 0, 0, 1, 1];
        let before = spread(&leaves, &cut, &segment_centroids(&leaves, &cut, 2));
        let c = consolidate(&leaves, &cut, 2);
        assert_eq!((c.leaf_segments, c.moved, c.rounds), (vec![0, 0, 1, 1, 1], 1, 1));
        let after = spread(&leaves, &[0, 0, 1, 1, 1], &segment_centroids(&leaves, &[0, 0, 1, 1, 1], 2));
        assert!(after < before, "{after} vs {before}");
    }

    #[test]
    fn a_round_that_would_empty_a_segment_is_not_taken() {
        // Segment 1 is the middle leaf alone, at segment 0's centroid: ties send it to 0.
        let leaves = Clusters::new(1, vec![0.0, 2.0, 4.0], vec![1.0; 3]);
        let c = consolidate(&leaves, &[0, 1, 0], 2);
        assert_eq!((c.leaf_segments, c.moved, c.rounds), (vec![0, 1, 0], 0, 0));
        let leaves = Clusters::new(1, vec![0.0, 1.0, 1.2, 10.0], vec![1.0; 4]);
        let stable = consolidate(&leaves, &[0, 0, 0, 1], 2);
        assert_eq!((stable.moved, stable.rounds), (0, 0));
    }
}
