//! Ward linkage of segment centres weighted by segment size: which segments are close.
//!
//! Merging clusters u and v costs Δ = n_u·n_v/(n_u+n_v)·‖c_u − c_v‖², the increase of the
//! within-cluster sum of squares; the height drawn is √(2Δ), SciPy's Ward distance, so a
//! merge of two single points sits at their Euclidean distance.

use crate::cluster::ward::Linkage;

/// One merge: node ids `0..k` are the segments, `k + i` the cluster made by merge `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    pub left: usize,
    pub right: usize,
    pub height: f64,
    pub size: f64,
}

/// Ward merges of the segments with centres `centres` (each `dim` long) and sizes `sizes`,
/// in merge order (k − 1 of them). Segments of size 0 are left out; on equal costs the
/// pair with the smaller ids merges first.
pub fn ward(centres: &[Vec<f64>], sizes: &[f64]) -> Vec<Merge> {
    assert_eq!(centres.len(), sizes.len(), "one size per centre");
    // Active clusters: (node id, centre, size).
    let mut active: Vec<(usize, Vec<f64>, f64)> = centres
        .iter()
        .zip(sizes)
        .enumerate()
        .filter(|(_, (_, &n))| n > 0.0)
        .map(|(i, (c, &n))| (i, c.clone(), n))
        .collect();
    let mut merges = Vec::new();
    let mut next_id = centres.len();
    while active.len() > 1 {
        let mut best = (f64::INFINITY, 0, 1);
        for i in 0..active.len() {
            for j in i + 1..active.len() {
                let (_, ci, ni) = &active[i];
                let (_, cj, nj) = &active[j];
                let sq: f64 = ci.iter().zip(cj).map(|(a, b)| (a - b) * (a - b)).sum();
                let cost = ni * nj / (ni + nj) * sq;
                if cost < best.0 {
                    best = (cost, i, j);
                }
            }
        }
        let (cost, i, j) = best;
        let (id_j, cj, nj) = active.remove(j);
        let (id_i, ci, ni) = active.remove(i);
        let n = ni + nj;
        let centre = ci.iter().zip(&cj).map(|(a, b)| (a * ni + b * nj) / n).collect();
        merges.push(Merge { left: id_i, right: id_j, height: (2.0 * cost).sqrt(), size: n });
        active.push((next_id, centre, n));
        next_id += 1;
    }
    merges
}

/// Nodes a fitted tree is drawn with: SciPy's `truncate_mode='lastp'` with p = 30.
pub const DRAWN_LEAVES: usize = 30;

/// The top of a fitted Ward tree: the nodes left when its last p − 1 merges are undone
/// become leaves `0..p` (in node order), and those merges join them.
#[derive(Debug, Clone, PartialEq)]
pub struct Truncated {
    pub merges: Vec<Merge>,
    /// Rows under each leaf.
    pub leaf_sizes: Vec<u64>,
}

/// The last `p − 1` merges of `linkage` over the nodes below them (all of it when it has
/// at most `p` leaves).
pub fn truncate(linkage: &Linkage, p: usize) -> Truncated {
    let n = linkage.leaves;
    if n == 0 {
        return Truncated { merges: Vec::new(), leaf_sizes: Vec::new() };
    }
    let p = p.clamp(1, n);
    let first = n - p; // merges before this one are hidden
    let top = &linkage.merges[first..];
    let mut leaves: Vec<usize> = top.iter().flat_map(|m| [m.left, m.right]).filter(|&id| id < n + first).collect();
    if leaves.is_empty() {
        leaves.push(if n + first > 0 { n + first - 1 } else { 0 });
    }
    leaves.sort_unstable();
    let leaf_index = |id: usize| leaves.binary_search(&id).ok();
    let renumber = |id: usize| leaf_index(id).unwrap_or_else(|| p + (id - n - first));
    let merges = top
        .iter()
        .map(|m| Merge { left: renumber(m.left), right: renumber(m.right), height: m.height, size: m.size as f64 })
        .collect();
    Truncated { merges, leaf_sizes: leaves.iter().map(|&id| linkage.size(id)).collect() }
}

/// Leaf order for drawing (left to right), so no branches cross.
pub fn leaf_order(merges: &[Merge], leaves: usize) -> Vec<usize> {
    let Some(root) = merges.len().checked_sub(1) else {
        return (0..leaves).collect();
    };
    let mut order = Vec::with_capacity(leaves);
    let mut stack = vec![leaves + root];
    while let Some(node) = stack.pop() {
        if node < leaves {
            order.push(node);
        } else {
            let m = &merges[node - leaves];
            stack.push(m.right);
            stack.push(m.left);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ward_merges_the_closest_pair_first_and_weights_by_size() {
        // 0 and 1 are 1 apart, 2 is 10 away from both.
        let centres = vec![vec![0.0], vec![1.0], vec![10.0]];
        let merges = ward(&centres, &[1.0, 1.0, 1.0]);
        assert_eq!((merges[0].left, merges[0].right), (0, 1));
        assert!((merges[0].height - 1.0).abs() < 1e-12, "two points merge at their distance");
        // Cluster {0,1} at 0.5 with n=2 against 2 at 10 with n=1: Δ = 2/3·9.5².
        assert!((merges[1].height - (2.0 * 2.0 / 3.0 * 9.5f64.powi(2)).sqrt()).abs() < 1e-12);
        assert_eq!((merges[1].left, merges[1].right, merges[1].size), (2, 3, 3.0));
        assert_eq!(leaf_order(&merges, 3), vec![2, 0, 1]);
    }

    #[test]
    fn size_changes_the_order() {
        // 1 is equidistant from 0 and 2, but 2 is a heavy segment: merging 0 and 1 is cheaper.
        let centres = vec![vec![0.0], vec![1.0], vec![2.0]];
        let merges = ward(&centres, &[1.0, 1.0, 100.0]);
        assert_eq!((merges[0].left, merges[0].right), (0, 1));
        let merges = ward(&centres, &[100.0, 1.0, 1.0]);
        assert_eq!((merges[0].left, merges[0].right), (1, 2));
    }

    #[test]
    fn a_tree_is_drawn_from_its_last_merges_with_the_hidden_subtrees_as_sized_leaves() {
        use crate::cluster::ward::LinkageRow;
        let row = |left, right, height, size| LinkageRow { left, right, height, size };
        // Leaves 0..4: {1,3}=5, {0,4}=6, {2,5}=7, {6,7}=8.
        let linkage = Linkage {
            leaves: 5,
            leaf_counts: vec![1, 1, 1, 1, 1],
            merges: vec![row(1, 3, 1.0, 2), row(0, 4, 2.0, 2), row(2, 5, 3.0, 3), row(6, 7, 4.0, 5)],
        };
        let top = truncate(&linkage, 3);
        // Last two merges over nodes 2, 5 and 6 (leaves 0, 1, 2 of the drawing).
        assert_eq!(top.leaf_sizes, vec![1, 2, 2]);
        let rows: Vec<_> = top.merges.iter().map(|m| (m.left, m.right, m.height)).collect();
        assert_eq!(rows, vec![(0, 1, 3.0), (2, 3, 4.0)]);
        assert_eq!(truncate(&linkage, 30).leaf_sizes, vec![1; 5]);
        assert_eq!(truncate(&linkage, 1).merges, vec![]);
    }

    #[test]
    fn empty_segments_are_left_out() {
        let merges = ward(&[vec![0.0], vec![5.0], vec![1.0]], &[3.0, 0.0, 2.0]);
        assert_eq!(merges.len(), 1);
        assert_eq!((merges[0].left, merges[0].right), (0, 2));
    }
}
