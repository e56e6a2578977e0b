//! DBSCAN at `eps` from the density pipeline's tree. A row is core when its core distance
//! (`min_samples`-th neighbour, counting itself) is ≤ eps. Two core rows within eps of each
//! other have mutual-reachability distance ≤ eps, so the clusters are the components of the
//! MST's edges of weight ≤ eps (the MST keeps the thresholded graph's components). They are
//! numbered by their lowest core row, as scikit-learn's scan numbers them. A border row (not
//! core, within eps of a core row) takes the lowest-numbered cluster among its core
//! neighbours within eps: scikit-learn's expansion finishes cluster 0 before it starts
//! cluster 1, so that is the cluster that reaches it first. Other rows are noise.

use rayon::prelude::*;

use super::kdtree::KdTree;
use super::mst::{Edge, UnionFind};
use super::NOISE;

/// DBSCAN labels of the rows of `tree` (by original row).
pub fn dbscan_labels(tree: &KdTree, core: &[f64], mst: &[Edge], eps: f64) -> Vec<u32> {
    let n = core.len();
    let is_core: Vec<bool> = core.iter().map(|&c| c <= eps).collect();
    let mut sets = UnionFind::new(n);
    for e in mst.iter().take_while(|e| e.weight <= eps) {
        sets.union(e.a, e.b);
    }
    let mut label_of_root = vec![NOISE; n];
    let mut labels = vec![NOISE; n];
    let mut next = 0u32;
    for i in (0..n).filter(|&i| is_core[i]) {
        let root = sets.find(i);
        if label_of_root[root] == NOISE {
            label_of_root[root] = next;
            next += 1;
        }
        labels[i] = label_of_root[root];
    }
    let core_labels = labels.clone();
    let border: Vec<(usize, u32)> = (0..n)
        .into_par_iter()
        .filter(|&i| !is_core[i])
        .map(|i| {
            let mut lowest = NOISE;
            tree.for_each_within(tree.row(i), eps, &mut |j, _| {
                if is_core[j] {
                    lowest = lowest.min(core_labels[j]);
                }
            });
            (i, lowest)
        })
        .collect();
    for (i, label) in border {
        labels[i] = label;
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::density::core::core_distances_and_neighbours;
    use crate::cluster::density::mst::mutual_reachability_mst;

    #[test]
    fn scikit_learn_docstring_example() {
        // sklearn.cluster.DBSCAN(eps=3, min_samples=2) → [0, 0, 0, 1, 1, -1]
        let rows = [1.0f32, 2.0, 2.0, 2.0, 2.0, 3.0, 8.0, 7.0, 8.0, 8.0, 25.0, 80.0];
        let tree = KdTree::build(&rows, 2);
        let hoods = core_distances_and_neighbours(&tree, 2);
        let labels = dbscan_labels(&tree, &hoods.core, &mutual_reachability_mst(&tree, &hoods, None).unwrap(), 3.0);
        assert_eq!(labels, vec![0, 0, 0, 1, 1, NOISE]);
    }

    #[test]
    fn a_border_row_within_eps_of_two_clusters_joins_the_lower_numbered_not_the_nearer() {
        // Cluster 0 (lowest core row) at 2.75..3.75, cluster 1 at -1..0; the border row at
        // 1.25 is 1.25 from cluster 1 and 1.5 (= eps) from cluster 0.
        let rows = [2.75f32, 3.0, 3.25, 3.5, 3.75, -1.0, -0.75, -0.5, -0.25, 0.0, 1.25];
        let tree = KdTree::build(&rows, 1);
        let hoods = core_distances_and_neighbours(&tree, 5);
        let core = &hoods.core;
        assert!(core[10] > 1.5 && core[..10].iter().all(|&c| c <= 1.5), "{core:?}");
        let labels = dbscan_labels(&tree, core, &mutual_reachability_mst(&tree, &hoods, None).unwrap(), 1.5);
        assert_eq!(labels, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]);
    }
}
