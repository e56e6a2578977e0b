//! The core-distance pass: for every row, the distance to its `min_samples`-th nearest
//! row counting the row itself (scikit-learn's definition), by the exact cell-pruned
//! k-nearest-rows search ([`super::knn`]). Memory O(n·S), never the neighbourhoods;
//! [`core_distances_and_neighbours`] also keeps each row's S nearest rows, which seed
//! Borůvka's searches.

use super::kdtree::KdTree;
use super::knn::{neighbourhoods, Neighbourhoods};

/// Core distance of every row of `tree`, indexed by original row.
pub fn core_distances(tree: &KdTree, min_samples: usize) -> Vec<f64> {
    neighbourhoods(tree, min_samples).core
}

/// Core distances (by original row), each row's `min_samples` nearest rows, nearest first
/// (original rows; the row itself among them), and the bound beyond them.
pub fn core_distances_and_neighbours(tree: &KdTree, min_samples: usize) -> Neighbourhoods {
    neighbourhoods(tree, min_samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_itself_counts_as_the_first_neighbour() {
        let rows = [0.0f32, 1.0, 3.0, 10.0];
        let tree = KdTree::build(&rows, 1);
        assert_eq!(core_distances(&tree, 1), vec![0.0; 4]);
        assert_eq!(core_distances(&tree, 2), vec![1.0, 1.0, 2.0, 7.0]);
        assert_eq!(core_distances(&tree, 3), vec![3.0, 2.0, 3.0, 9.0]);
    }
}
