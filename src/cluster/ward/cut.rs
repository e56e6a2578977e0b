//! Cutting the tree: the segment of every leaf when the last k − 1 merges are undone.

use super::linkage::Linkage;

/// The segment (0..k) of every leaf of `linkage` cut into `k` segments (1 ≤ k ≤ leaves),
/// numbered by first leaf: leaf 0's segment is 0, the next new segment met is 1, and so on.
/// The same cut as scikit-learn's and SciPy's `fcluster(maxclust)`.
pub fn cut(linkage: &Linkage, k: usize) -> Vec<u32> {
    let n = linkage.leaves;
    assert!((1..=n.max(1)).contains(&k), "k = {k} must be within 1..={n}");
    let kept = n.saturating_sub(k);
    let nodes = n + kept;
    let mut parent: Vec<usize> = (0..nodes).collect();
    for (i, m) in linkage.merges[..kept].iter().enumerate() {
        parent[m.left] = n + i;
        parent[m.right] = n + i;
    }
    // A parent's id is above its children's: walking down from the top, a node's root is
    // its parent's root.
    let mut root: Vec<usize> = (0..nodes).collect();
    for node in (0..nodes).rev() {
        if parent[node] != node {
            root[node] = root[parent[node]];
        }
    }
    let mut segment_of_root = vec![u32::MAX; nodes];
    let mut next = 0u32;
    (0..n)
        .map(|leaf| {
            let r = root[leaf];
            if segment_of_root[r] == u32::MAX {
                segment_of_root[r] = next;
                next += 1;
            }
            segment_of_root[r]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ward::LinkageRow;

    fn row(left: usize, right: usize, height: f64, size: u64) -> LinkageRow {
        LinkageRow { left, right, height, size }
    }

    #[test]
    fn cutting_undoes_the_last_merges_and_numbers_segments_by_first_leaf() {
        // Leaves 0..4: {1,3} at 1, {0,4} at 2, {2,5} at 3, {6,7} at 4.
        let linkage = Linkage {
            leaves: 5,
            leaf_counts: vec![1; 5],
            merges: vec![row(1, 3, 1.0, 2), row(0, 4, 2.0, 2), row(2, 5, 3.0, 3), row(6, 7, 4.0, 5)],
        };
        assert_eq!(cut(&linkage, 1), vec![0; 5]);
        assert_eq!(cut(&linkage, 2), vec![0, 1, 1, 1, 0]);
        assert_eq!(cut(&linkage, 3), vec![0, 1, 2, 1, 0]);
        assert_eq!(cut(&linkage, 5), vec![0, 1, 2, 3, 4]);
    }
}
