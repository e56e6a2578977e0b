//! A classification tree (CART: binary splits chosen by the Gini impurity) grown on
//! columns of original-unit values to reproduce the segments. Deterministic: features are
//! tried in order, thresholds in ascending order, and a split must beat the best so far
//! strictly. Each threshold is the shortest decimal between the two values it separates
//! (1,250 rather than 1,249.87), so the rule text states it exactly. A node two levels
//! above the leaves takes the better (in rows kept in their segment) of the greedy subtree
//! and the best pair of splits found jointly ([`super::lookahead`]), so the last two levels
//! are not spent isolating one segment at a time.

use rayon::prelude::*;

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Rows reaching here are predicted to be in `segment`; `counts[s]` of them are in `s`.
    Leaf { segment: u32, counts: Vec<u64> },
    /// Rows with `column ≤ threshold` go left, the others right.
    Split { column: usize, threshold: f64, left: Box<Node>, right: Box<Node> },
}

/// How the tree may grow.
#[derive(Debug, Clone, Copy)]
pub struct Growth {
    pub max_depth: usize,
    /// Fewest rows in a leaf.
    pub min_leaf: usize,
}

/// Grows a tree on `columns` (one `Vec` per feature, a value per row) predicting `labels`
/// (segments below `k`).
pub fn grow(columns: &[Vec<f64>], labels: &[u32], k: usize, growth: Growth) -> Node {
    let rows: Vec<usize> = (0..labels.len()).collect();
    let tree = grow_node(columns, labels, k, growth, rows, 0);
    merge_equal_leaves(tree)
}

/// The segment the tree predicts for the row whose value in column `j` is `value(j)`.
pub fn predict(node: &Node, value: &dyn Fn(usize) -> f64) -> u32 {
    match node {
        Node::Leaf { segment, .. } => *segment,
        Node::Split { column, threshold, left, right } => {
            predict(if value(*column) <= *threshold { left } else { right }, value)
        }
    }
}

fn counts_of(labels: &[u32], rows: &[usize], k: usize) -> Vec<u64> {
    let mut counts = vec![0u64; k];
    rows.iter().for_each(|&r| counts[labels[r] as usize] += 1);
    counts
}

/// The most common segment (the lowest on ties).
fn majority(counts: &[u64]) -> u32 {
    let mut best = 0;
    for (s, &c) in counts.iter().enumerate() {
        if c > counts[best] {
            best = s;
        }
    }
    best as u32
}

fn grow_node(columns: &[Vec<f64>], labels: &[u32], k: usize, growth: Growth, rows: Vec<usize>, depth: usize) -> Node {
    let counts = counts_of(labels, &rows, k);
    let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
    let leaf = || Node::Leaf { segment: majority(&counts), counts: counts.clone() };
    if depth >= growth.max_depth || pure || rows.len() < 2 * growth.min_leaf.max(1) {
        return leaf();
    }
    let Some((column, threshold)) = best_split(columns, labels, &counts, &rows, growth.min_leaf.max(1)) else {
        return leaf();
    };
    // The joint two-level search and the two greedy subtrees are independent: each on its
    // own thread (the tree is the same whatever the threads).
    let joint = || {
        (growth.max_depth - depth == 2)
            .then(|| super::lookahead::best_two_levels(columns, labels, k, &rows, growth.min_leaf.max(1)))
            .flatten()
    };
    let greedy = || {
        let (left, right): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&r| columns[column][r] <= threshold);
        let (left, right) = rayon::join(
            || grow_node(columns, labels, k, growth, left, depth + 1),
            || grow_node(columns, labels, k, growth, right, depth + 1),
        );
        Node::Split { column, threshold, left: Box::new(left), right: Box::new(right) }
    };
    let (joint, greedy) = rayon::join(joint, greedy);
    match joint {
        Some((node, kept)) if kept > rows_kept(&greedy) => node,
        _ => greedy,
    }
}

/// Rows of the subtree's leaves that are in the leaf's segment.
fn rows_kept(node: &Node) -> u64 {
    match node {
        Node::Leaf { segment, counts } => counts[*segment as usize],
        Node::Split { left, right, .. } => rows_kept(left) + rows_kept(right),
    }
}

/// The split of `rows` that lowers the weighted Gini impurity most, if any lowers it.
/// Minimising Σ_side n_side·(1 − Σ_s p_s²) is maximising Σ_side Σ_s c_s² / n_side.
fn best_split(
    columns: &[Vec<f64>],
    labels: &[u32],
    counts: &[u64],
    rows: &[usize],
    min_leaf: usize,
) -> Option<(usize, f64)> {
    let n = rows.len();
    let square = |c: &[u64]| c.iter().map(|&v| (v * v) as f64).sum::<f64>();
    let unsplit = square(counts) / n as f64;
    // The best split so far: score, feature, and the two values it separates (the threshold
    // between them is worked out once, for the winner).
    let mut best: Option<(f64, usize, f64, f64)> = None;
    // Per feature, (value, row) sorted by value then row: the order of a stable sort of the
    // rows by value, with the values beside their rows. Features are sorted a group (one per
    // thread) at a time on all threads, then scanned in feature order: memory for one group.
    let sorted = |column: &Vec<f64>| {
        let mut order: Vec<(f64, usize)> = rows.iter().map(|&r| (column[r], r)).collect();
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        order
    };
    let group = rayon::current_num_threads().max(1);
    for (g, features) in columns.chunks(group).enumerate() {
        let orders: Vec<Vec<(f64, usize)>> = features.par_iter().map(sorted).collect();
        for (offset, order) in orders.iter().enumerate() {
            let j = g * group + offset;
            let (mut left, mut right) = (vec![0u64; counts.len()], counts.to_vec());
            let (mut left_sq, mut right_sq) = (0.0f64, square(counts));
            for i in 0..n - 1 {
                let y = labels[order[i].1] as usize;
                left_sq += (2 * left[y] + 1) as f64;
                right_sq -= (2 * right[y] - 1) as f64;
                left[y] += 1;
                right[y] -= 1;
                let (lo, hi) = (order[i].0, order[i + 1].0);
                let (n_left, n_right) = (i + 1, n - i - 1);
                if lo >= hi || n_left < min_leaf || n_right < min_leaf {
                    continue;
                }
                let score = left_sq / n_left as f64 + right_sq / n_right as f64;
                let gain = score - unsplit;
                if gain > 1e-9 * unsplit.max(1.0) && best.is_none_or(|(b, ..)| score > b + 1e-12 * b.abs()) {
                    best = Some((score, j, lo, hi));
                }
            }
        }
    }
    best.map(|(_, j, lo, hi)| (j, nice_threshold(lo, hi)))
}

/// The shortest decimal `t` with `lo ≤ t < hi` (so `x ≤ t` separates the two values, and
/// the decimal text of `t` reads back as exactly `t`); `lo` itself when none is shorter.
pub fn nice_threshold(lo: f64, hi: f64) -> f64 {
    let top = lo.abs().max(hi.abs()).max(1.0).log10().ceil() as i32 + 1;
    for e in (-12..=top).rev() {
        let step = 10f64.powi(e);
        let multiple = (lo / step).ceil();
        let text = format!("{:.*}", (-e).max(0) as usize, multiple * step);
        if let Ok(t) = text.parse::<f64>() {
            if lo <= t && t < hi {
                return t;
            }
        }
    }
    lo
}

/// Replaces every split whose two children are leaves of the same segment by one leaf
/// (same predictions, shorter rules).
fn merge_equal_leaves(node: Node) -> Node {
    match node {
        Node::Split { column, threshold, left, right } => {
            let (left, right) = (merge_equal_leaves(*left), merge_equal_leaves(*right));
            match (&left, &right) {
                (Node::Leaf { segment: a, counts: ca }, Node::Leaf { segment: b, counts: cb }) if a == b => {
                    Node::Leaf { segment: *a, counts: ca.iter().zip(cb).map(|(x, y)| x + y).collect() }
                }
                _ => Node::Split { column, threshold, left: Box::new(left), right: Box::new(right) },
            }
        }
        leaf => leaf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_the_same_whatever_the_threads() {
        let mut rng = crate::rng::Rng::new(11);
        let n = 2000;
        let columns: Vec<Vec<f64>> = (0..5).map(|_| (0..n).map(|_| (rng.normal() * 3.0).round()).collect()).collect();
        let labels: Vec<u32> =
            (0..n).map(|i| ((columns[0][i] > 0.0) as u32) * 2 + (columns[3][i] + columns[1][i] > 1.0) as u32).collect();
        let growth = Growth { max_depth: 4, min_leaf: 10 };
        let trees: Vec<Node> = [1, 3]
            .iter()
            .map(|&threads| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| grow(&columns, &labels, 4, growth))
            })
            .collect();
        assert!(matches!(trees[0], Node::Split { .. }));
        assert_eq!(trees[0], trees[1]);
    }

    #[test]
    fn thresholds_are_the_shortest_decimal_between_the_values() {
        assert_eq!(nice_threshold(1249.87, 1251.2), 1250.0);
        assert_eq!(nice_threshold(29.0, 31.0), 30.0);
        assert_eq!(nice_threshold(0.0, 1.0), 0.0);
        assert_eq!(nice_threshold(0.341, 0.352), 0.35);
        assert_eq!(nice_threshold(-3.5, -1.2), -3.0);
        let (lo, hi) = (0.1 + 0.2, 0.300_000_000_000_000_1);
        let t = nice_threshold(lo, hi);
        assert!(lo <= t && t < hi);
    }

    #[test]
    fn a_known_split_is_found_on_tiny_data() {
        // Segment 1 is exactly the rows with x > 5 (y is noise); the best split is x ≤ 5.5
        // written as the shortest decimal between 5 and 6: "5".
        let x = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let y = vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];
        let labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        let tree = grow(&[y, x], &labels, 2, Growth { max_depth: 3, min_leaf: 1 });
        let Node::Split { column, threshold, left, right } = &tree else { panic!("{tree:?}") };
        assert_eq!((*column, *threshold), (1, 5.0));
        assert_eq!(**left, Node::Leaf { segment: 0, counts: vec![5, 0] });
        assert_eq!(**right, Node::Leaf { segment: 1, counts: vec![0, 5] });
    }

    #[test]
    fn gini_prefers_the_purer_split_and_depth_limits_the_tree() {
        // Three segments along x; depth 1 can separate only one of them.
        let x: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let labels: Vec<u32> = (0..30)
            .map(|i| {
                if i < 10 {
                    0
                } else if i < 25 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let deep = grow(std::slice::from_ref(&x), &labels, 3, Growth { max_depth: 3, min_leaf: 1 });
        assert!((0..30).all(|i| predict(&deep, &|_| x[i]) == labels[i]));
        let shallow = grow(std::slice::from_ref(&x), &labels, 3, Growth { max_depth: 1, min_leaf: 1 });
        let Node::Split { threshold, .. } = shallow else { panic!() };
        // Splitting at 9 leaves {1, 2} (15 + 5) on the right: Σc²/n = 100/10 + 250/20 = 22.5;
        // at 24 it leaves {0, 1} (10 + 15) on the left: 325/25 + 25/5 = 18. Gini picks 9.
        assert_eq!(threshold, 9.0);
    }
}
