//! Flat clusters from the condensed tree (scikit-learn's `_get_clusters` without
//! `allow_single_cluster` or an epsilon: the root is never a cluster), the row labels, and
//! GLOSH outlier scores (Campello et al. 2015, as the hdbscan library computes them).

use super::hierarchy::CondensedTree;
use super::hyperparams::ClusterSelection;
use super::NOISE;

/// The selected clusters' ids, ascending.
pub fn select(tree: &CondensedTree, selection: ClusterSelection) -> Vec<usize> {
    let children = tree.children();
    let m = tree.clusters.len();
    let mut selected = vec![false; m];
    match selection {
        ClusterSelection::Leaf => (1..m).filter(|&c| children[c].is_empty()).for_each(|c| selected[c] = true),
        ClusterSelection::Eom => {
            // Excess of mass: children have higher ids than their parent, so a reverse sweep
            // settles every subtree before the cluster above it.
            let mut stability = tree.stabilities();
            for c in (1..m).rev() {
                let below: f64 = children[c].iter().map(|&child| stability[child]).sum();
                if below > stability[c] {
                    stability[c] = below;
                } else {
                    selected[c] = true;
                    let mut stack = children[c].clone();
                    while let Some(d) = stack.pop() {
                        selected[d] = false;
                        stack.extend(&children[d]);
                    }
                }
            }
        }
    }
    (0..m).filter(|&c| selected[c]).collect()
}

/// Row labels: a row belongs to the selected cluster at or above the cluster it fell out
/// of, numbered in the order of `selected`; rows under no selected cluster are [`NOISE`].
pub fn label_rows(tree: &CondensedTree, selected: &[usize]) -> Vec<u32> {
    let mut owner: Vec<u32> = vec![NOISE; tree.clusters.len()];
    for (c, cluster) in tree.clusters.iter().enumerate() {
        owner[c] = match selected.binary_search(&c) {
            Ok(label) => label as u32,
            Err(_) => cluster.parent.map_or(NOISE, |p| owner[p]),
        };
    }
    tree.row_cluster.iter().map(|&c| owner[c]).collect()
}

/// GLOSH: 1 − λ_row / λ_max, where λ_max is the largest λ at which any row leaves the
/// cluster the row fell out of or a cluster below it. 0 for rows that never leave (λ = ∞,
/// exact duplicates); when λ_max is ∞ (a duplicate below) the limit, 1.
pub fn outlier_scores(tree: &CondensedTree) -> Vec<f32> {
    let mut death = vec![0.0f64; tree.clusters.len()];
    for (&c, &lambda) in tree.row_cluster.iter().zip(&tree.row_lambda) {
        death[c] = death[c].max(lambda);
    }
    for c in (1..tree.clusters.len()).rev() {
        if let Some(p) = tree.clusters[c].parent {
            death[p] = death[p].max(death[c]);
        }
    }
    tree.row_cluster
        .iter()
        .zip(&tree.row_lambda)
        .map(|(&c, &lambda)| {
            let max = death[c];
            if max == 0.0 || lambda.is_infinite() {
                0.0
            } else if max.is_infinite() {
                1.0
            } else {
                ((max - lambda) / max) as f32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::density::hierarchy::{condense, single_linkage};
    use crate::cluster::density::mst::Edge;

    fn two_groups_and_a_stray() -> CondensedTree {
        let e = |a, b, weight| Edge { a, b, weight };
        let edges = [e(0, 1, 1.0), e(1, 2, 1.0), e(3, 4, 1.0), e(4, 5, 1.0), e(2, 3, 4.0), e(5, 6, 10.0)];
        condense(7, &single_linkage(7, &edges), 3)
    }

    #[test]
    fn both_groups_are_selected_and_the_stray_is_noise_with_the_highest_outlier_score() {
        let tree = two_groups_and_a_stray();
        for selection in [ClusterSelection::Eom, ClusterSelection::Leaf] {
            let labels = label_rows(&tree, &select(&tree, selection));
            assert_eq!(labels[6], NOISE);
            assert!(labels[0] == labels[2] && labels[3] == labels[5] && labels[0] != labels[3], "{labels:?}");
        }
        let scores = outlier_scores(&tree);
        assert_eq!(scores[0], 0.0);
        assert!((scores[6] - 0.9).abs() < 1e-6, "{scores:?}");
    }
}
