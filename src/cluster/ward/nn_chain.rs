//! Ward linkage by nearest-neighbour chains: follow each cluster to its nearest neighbour
//! until two clusters are each other's nearest (reciprocal nearest neighbours), merge them,
//! and continue from what is left of the chain. Ward's cost is reducible, so the merges are
//! those of the greedy algorithm, found in O(n²) time with O(n·d) memory.
//!
//! The walk is SciPy's `nn_chain`: it starts from the lowest active slot; a cluster's
//! previous chain element wins ties (so the chain cannot cycle), otherwise the lowest slot
//! does; the merged cluster keeps the larger slot.

use super::linkage::Linkage;
use super::nearest::Clusters;

/// A merge as the chain finds it: the slots of the two clusters (`x < y`; the merged cluster
/// lives on in `y`) and the Ward cost Δ of merging them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainMerge {
    pub x: usize,
    pub y: usize,
    pub cost: f64,
}

/// The n − 1 merges of `clusters` in the order the chain finds them. `clusters` ends as the
/// single cluster of everything (in the last slot merged into).
pub fn nn_chain(clusters: &mut Clusters) -> Vec<ChainMerge> {
    let n = clusters.len();
    let mut active: Vec<u32> = (0..n as u32).collect();
    // Where each slot sits in `active` (for O(1) removal).
    let mut position: Vec<usize> = (0..n).collect();
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    while active.len() > 1 {
        if chain.is_empty() {
            chain.push(*active.iter().min().expect("two or more active clusters") as usize);
        }
        let (a, b, cost) = loop {
            let a = chain[chain.len() - 1];
            let previous = (chain.len() > 1).then(|| chain[chain.len() - 2]);
            let (mut cost, mut b) = clusters.nearest(a, &active).expect("two or more active clusters");
            if let Some(p) = previous {
                let to_previous = clusters.merge_cost(a, p);
                if to_previous <= cost {
                    (cost, b) = (to_previous, p);
                }
            }
            if previous == Some(b) {
                break (a, b, cost);
            }
            chain.push(b);
        };
        chain.truncate(chain.len() - 2);
        let (x, y) = (a.min(b), a.max(b));
        clusters.merge_into(x, y);
        let at = position[x];
        active.swap_remove(at);
        if let Some(&moved) = active.get(at) {
            position[moved as usize] = at;
        }
        merges.push(ChainMerge { x, y, cost });
    }
    merges
}

/// The Ward linkage of `clusters` (leaves with their centroids and weights) whose leaf `i`
/// holds `counts[i]` rows: the chain's merges, sorted by height and numbered as SciPy does.
pub fn linkage(mut clusters: Clusters, counts: &[u64]) -> Linkage {
    assert_eq!(clusters.len(), counts.len(), "one count per leaf");
    let merges = nn_chain(&mut clusters);
    Linkage::from_chain(counts, &merges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reciprocal_neighbours_merge_and_the_merged_cluster_keeps_the_larger_slot() {
        // 0 and 1 are 1 apart; 2 is far; 3 is 2 from 2.
        let mut clusters = Clusters::new(1, vec![0.0, 1.0, 10.0, 12.0], vec![1.0; 4]);
        let merges = nn_chain(&mut clusters);
        assert_eq!(merges.len(), 3);
        assert_eq!((merges[0].x, merges[0].y, merges[0].cost), (0, 1, 0.5));
        assert_eq!((merges[1].x, merges[1].y, merges[1].cost), (2, 3, 2.0));
        assert_eq!((merges[2].x, merges[2].y), (1, 3));
        // {0,1} at 0.5 (w 2) against {2,3} at 11 (w 2): Δ = 1·10.5².
        assert_eq!(merges[2].cost, 10.5 * 10.5);
        assert_eq!((clusters.centroid(3), clusters.weights[3]), (&[5.75][..], 4.0));
    }

    #[test]
    fn one_leaf_has_no_merges() {
        let mut clusters = Clusters::new(2, vec![1.0, 2.0], vec![1.0]);
        assert!(nn_chain(&mut clusters).is_empty());
    }
}
