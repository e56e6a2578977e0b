//! The core-distance pass: for every row, the distance to its `min_samples`-th nearest
//! row counting the row itself (scikit-learn's definition), by exact kd-tree queries.
//! Each query keeps only its current `min_samples` best, so memory is O(n·S) at most
//! (O(S) per thread in flight), never the neighbourhoods; [`core_distances_and_neighbours`]
//! also keeps each row's S nearest rows (O(n·S)), which seed Borůvka's searches.

use rayon::prelude::*;

use super::kdtree::KdTree;

/// Core distance of every row of `tree`, indexed by original row.
pub fn core_distances(tree: &KdTree, min_samples: usize) -> Vec<f64> {
    let by_position: Vec<f64> =
        (0..tree.rows()).into_par_iter().map(|p| tree.kth_nearest_distance(tree.point(p), min_samples)).collect();
    let mut core = vec![0.0; tree.rows()];
    for (p, &c) in by_position.iter().enumerate() {
        core[tree.order[p]] = c;
    }
    core
}

/// Core distances (by original row) and each row's `min_samples` nearest rows, nearest
/// first, row-major `n × min_samples` (original rows; the row itself among them).
pub fn core_distances_and_neighbours(tree: &KdTree, min_samples: usize) -> (Vec<f64>, Vec<usize>) {
    let lists: Vec<Vec<(f64, usize)>> =
        (0..tree.rows()).into_par_iter().map(|i| tree.nearest(tree.row(i), min_samples)).collect();
    let core = lists.iter().map(|l| l.last().map_or(f64::INFINITY, |b| b.0.sqrt())).collect();
    let neighbours = lists.iter().flat_map(|l| l.iter().map(|b| b.1)).collect();
    (core, neighbours)
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
