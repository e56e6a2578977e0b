//! From the MST to HDBSCAN's condensed tree. The sorted MST edges merge rows into the
//! single-linkage dendrogram (scipy's format: merge i creates node n + i); the condensed
//! tree walks it from the top and keeps a split only when both sides have at least
//! `min_cluster_size` rows; otherwise the smaller side's rows "fall out" of the cluster at
//! λ = 1 / distance. This follows scikit-learn's `_condense_tree` step for step.

use super::mst::Edge;

/// One merge of the dendrogram: two nodes (rows < n, merges ≥ n) at a distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    pub left: usize,
    pub right: usize,
    pub distance: f64,
    pub size: usize,
}

/// A cluster of the condensed tree (cluster 0 is the root, the whole data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cluster {
    /// The cluster it split from (None for the root).
    pub parent: Option<usize>,
    /// λ at which it was born (0 for the root).
    pub birth: f64,
    /// Rows at birth.
    pub size: usize,
}

/// The condensed tree: clusters (parents before children, by id) and, per row, the
/// cluster it fell out of and at which λ.
#[derive(Debug, Clone, PartialEq)]
pub struct CondensedTree {
    pub clusters: Vec<Cluster>,
    pub row_cluster: Vec<usize>,
    pub row_lambda: Vec<f64>,
}

/// The dendrogram of `n` rows from MST edges sorted by weight.
pub fn single_linkage(n: usize, edges: &[Edge]) -> Vec<Merge> {
    let mut parent: Vec<usize> = (0..2 * n).collect();
    let mut size = vec![1usize; 2 * n];
    let find = |parent: &mut Vec<usize>, mut x: usize| {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    };
    edges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (left, right) = (find(&mut parent, e.a), find(&mut parent, e.b));
            let node = n + i;
            parent[left] = node;
            parent[right] = node;
            size[node] = size[left] + size[right];
            Merge { left, right, distance: e.weight, size: size[node] }
        })
        .collect()
}

fn lambda_of(distance: f64) -> f64 {
    if distance > 0.0 {
        1.0 / distance
    } else {
        f64::INFINITY
    }
}

/// Condenses the dendrogram of `n` rows with `min_cluster_size`.
pub fn condense(n: usize, merges: &[Merge], min_cluster_size: usize) -> CondensedTree {
    let mut tree = CondensedTree {
        clusters: vec![Cluster { parent: None, birth: 0.0, size: n }],
        row_cluster: vec![0; n],
        row_lambda: vec![0.0; n],
    };
    if merges.is_empty() {
        return tree;
    }
    let count = |node: usize| if node < n { 1 } else { merges[node - n].size };
    let root = n + merges.len() - 1;
    let mut cluster_of = vec![0usize; root + 1];
    let mut ignore = vec![false; root + 1];
    for node in (n..=root).rev() {
        if ignore[node] {
            continue;
        }
        let Merge { left, right, distance, .. } = merges[node - n];
        let (lambda, here) = (lambda_of(distance), cluster_of[node]);
        let (big_left, big_right) = (count(left) >= min_cluster_size, count(right) >= min_cluster_size);
        for (child, big) in [(left, big_left), (right, big_right)] {
            if big_left && big_right {
                cluster_of[child] = tree.clusters.len();
                tree.clusters.push(Cluster { parent: Some(here), birth: lambda, size: count(child) });
            } else if big {
                cluster_of[child] = here;
            } else {
                fall_out(n, merges, child, here, lambda, &mut tree, &mut ignore);
            }
        }
    }
    tree
}

/// Every row under dendrogram node `top` leaves cluster `cluster` at `lambda`; the
/// node's subtree is not visited again.
fn fall_out(
    n: usize,
    merges: &[Merge],
    top: usize,
    cluster: usize,
    lambda: f64,
    tree: &mut CondensedTree,
    ignore: &mut [bool],
) {
    let mut stack = vec![top];
    while let Some(node) = stack.pop() {
        ignore[node] = true;
        if node < n {
            tree.row_cluster[node] = cluster;
            tree.row_lambda[node] = lambda;
        } else {
            stack.extend([merges[node - n].left, merges[node - n].right]);
        }
    }
}

impl CondensedTree {
    /// Children of every cluster.
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); self.clusters.len()];
        for (c, cluster) in self.clusters.iter().enumerate() {
            if let Some(p) = cluster.parent {
                children[p].push(c);
            }
        }
        children
    }

    /// Each cluster's stability: Σ over the rows that fall out of it of (λ_row − λ_birth),
    /// plus Σ over its child clusters of (λ_child birth − λ_birth) × child size.
    pub fn stabilities(&self) -> Vec<f64> {
        let mut stability = vec![0.0f64; self.clusters.len()];
        for (&c, &lambda) in self.row_cluster.iter().zip(&self.row_lambda) {
            stability[c] += lambda - self.clusters[c].birth;
        }
        for child in &self.clusters {
            if let Some(p) = child.parent {
                stability[p] += (child.birth - self.clusters[p].birth) * child.size as f64;
            }
        }
        stability
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_split_and_a_far_row_falls_out_of_the_root() {
        // Rows 0-2 close together, 3-5 close together, 6 far away.
        let e = |a, b, weight| Edge { a, b, weight };
        let edges = [e(0, 1, 1.0), e(1, 2, 1.0), e(3, 4, 1.0), e(4, 5, 1.0), e(2, 3, 4.0), e(5, 6, 10.0)];
        let merges = single_linkage(7, &edges);
        assert_eq!(merges.last().unwrap().size, 7);
        let tree = condense(7, &merges, 3);
        assert_eq!(tree.clusters.len(), 3);
        assert_eq!((tree.row_cluster[6], tree.row_lambda[6]), (0, 0.1));
        assert_eq!(tree.clusters[1].birth, 0.25);
        assert!(tree.row_cluster[..6].iter().all(|&c| c == 1 || c == 2));
        assert_eq!(tree.row_lambda[0], 1.0);
        let s = tree.stabilities();
        assert!((s[1] - 3.0 * 0.75).abs() < 1e-12, "{s:?}");
    }
}
