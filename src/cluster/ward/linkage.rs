//! The tree in SciPy's linkage layout: merge i joins `left` and `right` (leaves are 0..n,
//! merge i makes node n + i) at `height` √(2Δ), holding `size` rows.

use super::nn_chain::ChainMerge;

/// One merge of the tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkageRow {
    /// The smaller of the two node ids joined.
    pub left: usize,
    pub right: usize,
    /// √(2Δ): SciPy's Ward distance (two single rows merge at their Euclidean distance).
    pub height: f64,
    /// Rows under the new node.
    pub size: u64,
}

/// A Ward tree over `leaves` leaves: `leaves − 1` merges, lowest height first.
#[derive(Debug, Clone, PartialEq)]
pub struct Linkage {
    pub leaves: usize,
    /// Rows in each leaf (1 in exact mode; the micro-cluster's rows in two-level mode).
    pub leaf_counts: Vec<u64>,
    pub merges: Vec<LinkageRow>,
}

impl Linkage {
    /// Sorts the chain's merges by height (stable, as SciPy's mergesort) and renumbers
    /// them with a union-find, as SciPy's `label` does: each merge joins the current roots of
    /// its two slots, smaller id first, and makes node `leaves + i`. `counts[i]` is the
    /// number of rows in leaf i.
    pub fn from_chain(counts: &[u64], chain: &[ChainMerge]) -> Linkage {
        let leaves = counts.len();
        let mut sorted: Vec<(f64, usize, usize)> = chain.iter().map(|m| ((2.0 * m.cost).sqrt(), m.x, m.y)).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let nodes = leaves + chain.len();
        let mut parent: Vec<usize> = (0..nodes).collect();
        let mut size: Vec<u64> = counts.iter().copied().chain(std::iter::repeat_n(0, chain.len())).collect();
        let merges = sorted
            .into_iter()
            .enumerate()
            .map(|(i, (height, x, y))| {
                let (rx, ry) = (root(&mut parent, x), root(&mut parent, y));
                let node = leaves + i;
                parent[rx] = node;
                parent[ry] = node;
                size[node] = size[rx] + size[ry];
                LinkageRow { left: rx.min(ry), right: rx.max(ry), height, size: size[node] }
            })
            .collect();
        Linkage { leaves, leaf_counts: counts.to_vec(), merges }
    }

    /// Rows under node `id` (a leaf, or merge `id − leaves`).
    pub fn size(&self, id: usize) -> u64 {
        match id.checked_sub(self.leaves) {
            Some(merge) => self.merges[merge].size,
            None => self.leaf_counts[id],
        }
    }

    /// The merge heights, lowest first.
    pub fn heights(&self) -> Vec<f64> {
        self.merges.iter().map(|m| m.height).collect()
    }

    /// Segments when every merge at or above `threshold` is undone (scikit-learn's
    /// `distance_threshold`): 1 + the number of such merges.
    pub fn k_at_threshold(&self, threshold: f64) -> usize {
        1 + self.merges.iter().filter(|m| m.height >= threshold).count()
    }
}

/// The root of `node`, compressing the path on the way.
fn root(parent: &mut [usize], node: usize) -> usize {
    let mut top = node;
    while parent[top] != top {
        top = parent[top];
    }
    let mut at = node;
    while parent[at] != top && at != top {
        let next = parent[at];
        parent[at] = top;
        at = next;
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_are_sorted_by_height_and_numbered_as_scipy_numbers_them() {
        // The chain found {2,3} first (higher), then {0,1}, then the two pairs (slots 1, 3).
        let chain = [
            ChainMerge { x: 2, y: 3, cost: 2.0 },
            ChainMerge { x: 0, y: 1, cost: 0.5 },
            ChainMerge { x: 1, y: 3, cost: 50.0 },
        ];
        let linkage = Linkage::from_chain(&[1, 1, 1, 2], &chain);
        let rows: Vec<_> = linkage.merges.iter().map(|m| (m.left, m.right, m.height, m.size)).collect();
        assert_eq!(rows, vec![(0, 1, 1.0, 2), (2, 3, 2.0, 3), (4, 5, 10.0, 5)]);
        assert_eq!((linkage.k_at_threshold(2.0), linkage.k_at_threshold(2.5), linkage.k_at_threshold(0.0)), (3, 2, 4));
    }
}
