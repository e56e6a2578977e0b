//! A kd-tree over the rows: the partition that prunes the exact nearest-neighbour and
//! Borůvka passes. Each node keeps the bounding box of its rows and the ball around their
//! mean that holds them (the ball bounds better than the box in many dimensions, where a
//! box is split along few of them), so a query skips a node when both are farther than the
//! best distance found so far. The rows are copied in
//! tree order (n × d floats, the only O(n·d) memory the density pipeline adds).
//!
//! Distances are Euclidean, summed in f64 over the features in order, as scikit-learn's
//! trees sum them, so thresholds (`eps`) and ties fall the same way.

/// Rows per leaf: below this a node is scanned, not split.
const LEAF_ROWS: usize = 24;

/// One node: rows `start..end` of the tree order, its box, and its children (none in a leaf).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub start: usize,
    pub end: usize,
    pub children: Option<(usize, usize)>,
}

/// A kd-tree over `n` rows of `dim` features.
#[derive(Debug, Clone)]
pub struct KdTree {
    pub(crate) dim: usize,
    /// Rows in tree order, row-major.
    pub(crate) points: Vec<f32>,
    /// `order[p]`: the original index of the row at tree position `p`.
    pub(crate) order: Vec<usize>,
    /// `position[i]`: the tree position of original row `i`.
    position: Vec<usize>,
    pub(crate) nodes: Vec<Node>,
    /// Per node: `dim` lower then `dim` upper bounds.
    bounds: Vec<f32>,
    /// Per node: the mean of its rows (`dim` values) and the largest distance from it to
    /// one of them.
    centres: Vec<f32>,
    radii: Vec<f64>,
}

/// Squared Euclidean distance, summed in f64 in feature order.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64) * (x as f64 - y as f64)).sum()
}

impl KdTree {
    /// Builds the tree over row-major `rows` (`n × dim`): each node splits its rows at the
    /// median of its widest feature. Deterministic for given rows.
    pub fn build(rows: &[f32], dim: usize) -> Self {
        let n = rows.len() / dim;
        let mut order: Vec<usize> = (0..n).collect();
        let mut tree = KdTree {
            dim,
            points: Vec::new(),
            order: Vec::new(),
            position: Vec::new(),
            nodes: Vec::new(),
            bounds: Vec::new(),
            centres: Vec::new(),
            radii: Vec::new(),
        };
        if n > 0 {
            tree.split(rows, &mut order, 0, n);
        }
        tree.points = order.iter().flat_map(|&i| rows[i * dim..(i + 1) * dim].iter().copied()).collect();
        tree.position = vec![0; n];
        for (p, &i) in order.iter().enumerate() {
            tree.position[i] = p;
        }
        tree.order = order;
        tree
    }

    /// Adds the node of `order[start..end]` and its subtree; returns its index.
    fn split(&mut self, rows: &[f32], order: &mut [usize], start: usize, end: usize) -> usize {
        let d = self.dim;
        let (mut lo, mut hi) = (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]);
        for &i in &order[start..end] {
            for j in 0..d {
                lo[j] = lo[j].min(rows[i * d + j]);
                hi[j] = hi[j].max(rows[i * d + j]);
            }
        }
        let id = self.nodes.len();
        self.nodes.push(Node { start, end, children: None });
        self.bounds.extend_from_slice(&lo);
        self.bounds.extend_from_slice(&hi);
        let mut mean = vec![0.0f64; d];
        for &i in &order[start..end] {
            for j in 0..d {
                mean[j] += rows[i * d + j] as f64;
            }
        }
        let centre: Vec<f32> = mean.iter().map(|&m| (m / (end - start) as f64) as f32).collect();
        let radius = order[start..end]
            .iter()
            .map(|&i| squared_distance(&centre, &rows[i * d..(i + 1) * d]))
            .fold(0.0f64, f64::max)
            .sqrt();
        self.centres.extend_from_slice(&centre);
        self.radii.push(radius);
        let widest = (0..d).max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])).then(b.cmp(&a))).unwrap_or(0);
        if end - start <= LEAF_ROWS || hi[widest] <= lo[widest] {
            return id;
        }
        let mid = start + (end - start) / 2;
        order[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
            rows[a * d + widest].total_cmp(&rows[b * d + widest]).then(a.cmp(&b))
        });
        let left = self.split(rows, order, start, mid);
        let right = self.split(rows, order, mid, end);
        self.nodes[id].children = Some((left, right));
        id
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.order.len()
    }

    /// Original row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        self.point(self.position[i])
    }

    /// The tree position of original row `i`.
    pub(crate) fn position(&self, i: usize) -> usize {
        self.position[i]
    }

    /// The row at tree position `p`.
    pub(crate) fn point(&self, p: usize) -> &[f32] {
        &self.points[p * self.dim..(p + 1) * self.dim]
    }

    /// Squared distance from `q` to the nearest point of node `node`'s box (0 inside it).
    fn box_squared_distance(&self, node: usize, q: &[f32]) -> f64 {
        let d = self.dim;
        let (lo, hi) =
            (&self.bounds[2 * node * d..(2 * node + 1) * d], &self.bounds[(2 * node + 1) * d..(2 * node + 2) * d]);
        let mut sum = 0.0f64;
        for j in 0..d {
            let x = q[j] as f64;
            let gap = if x < lo[j] as f64 {
                lo[j] as f64 - x
            } else if x > hi[j] as f64 {
                x - hi[j] as f64
            } else {
                0.0
            };
            sum += gap * gap;
        }
        sum
    }

    /// A lower bound on the distance from `q` to any row of node `node`: the larger of the
    /// box's and the ball's (the ball's shrunk by a relative 1e-9 so rounding never prunes
    /// a row at exactly the bound).
    pub(crate) fn lower_bound(&self, node: usize, q: &[f32]) -> f64 {
        let d = self.dim;
        let to_centre = squared_distance(q, &self.centres[node * d..(node + 1) * d]).sqrt();
        let ball = (to_centre - self.radii[node]) - 1e-9 * (to_centre + self.radii[node]);
        self.box_squared_distance(node, q).sqrt().max(ball)
    }

    /// Node `node`'s ball: the mean of its rows and the largest distance from it to one.
    pub(crate) fn ball(&self, node: usize) -> (&[f32], f64) {
        (&self.centres[node * self.dim..(node + 1) * self.dim], self.radii[node])
    }

    /// A lower bound on the distance between any row of node `a` and any row of node `b`:
    /// the larger of the gap between their boxes and between their balls, each shrunk by a
    /// relative 1e-9 so rounding never prunes a pair at exactly the bound.
    pub(crate) fn node_lower_bound(&self, a: usize, b: usize) -> f64 {
        let d = self.dim;
        let (lo_a, hi_a) = (&self.bounds[2 * a * d..(2 * a + 1) * d], &self.bounds[(2 * a + 1) * d..(2 * a + 2) * d]);
        let (lo_b, hi_b) = (&self.bounds[2 * b * d..(2 * b + 1) * d], &self.bounds[(2 * b + 1) * d..(2 * b + 2) * d]);
        let mut gaps = 0.0f64;
        for j in 0..d {
            let gap = (lo_b[j] as f64 - hi_a[j] as f64).max(lo_a[j] as f64 - hi_b[j] as f64).max(0.0);
            gaps += gap * gap;
        }
        let centres = squared_distance(&self.centres[a * d..(a + 1) * d], &self.centres[b * d..(b + 1) * d]).sqrt();
        let radii = self.radii[a] + self.radii[b];
        let ball = (centres - radii) - 1e-9 * (centres + radii);
        (gaps.sqrt() * (1.0 - 1e-9)).max(ball)
    }

    /// The `k` nearest rows of the tree to `q` as (squared distance, original row), nearest
    /// first (fewer with fewer rows). A row equal to `q` counts. Memory O(k).
    pub fn nearest(&self, q: &[f32], k: usize) -> Vec<(f64, usize)> {
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        let kth = |best: &Vec<(f64, usize)>| if best.len() == k { best[k - 1].0 } else { f64::INFINITY };
        let mut stack = vec![(0usize, 0.0f64)];
        while let Some((node, bound)) = stack.pop() {
            if self.nodes.is_empty() || bound * bound > kth(&best) {
                continue;
            }
            let Node { start, end, children } = self.nodes[node];
            match children {
                Some((left, right)) => {
                    let (bl, br) = (self.lower_bound(left, q), self.lower_bound(right, q));
                    // The nearer child is visited first (pushed last).
                    if bl <= br {
                        stack.extend([(right, br), (left, bl)]);
                    } else {
                        stack.extend([(left, bl), (right, br)]);
                    }
                }
                None => {
                    for p in start..end {
                        let d2 = squared_distance(q, self.point(p));
                        if d2 < kth(&best) {
                            let at = best.partition_point(|b| b.0 <= d2);
                            best.insert(at, (d2, self.order[p]));
                            best.truncate(k);
                        }
                    }
                }
            }
        }
        best
    }

    /// The distance from `q` to its `k`-th nearest row of the tree (a row equal to `q`
    /// counts, so for a row of the tree its own 0 is the first), or +∞ with fewer rows.
    /// Memory O(k).
    pub fn kth_nearest_distance(&self, q: &[f32], k: usize) -> f64 {
        let best = self.nearest(q, k);
        if best.len() == k {
            best[k - 1].0.sqrt()
        } else {
            f64::INFINITY
        }
    }

    /// Calls `visit(original index, squared distance)` for every row within `radius` of
    /// `q` (distance ≤ radius, as scikit-learn's radius queries).
    pub fn for_each_within(&self, q: &[f32], radius: f64, visit: &mut dyn FnMut(usize, f64)) {
        let mut stack = vec![0usize];
        while let Some(node) = stack.pop() {
            if self.nodes.is_empty() || self.lower_bound(node, q) > radius {
                continue;
            }
            let Node { start, end, children } = self.nodes[node];
            match children {
                Some((left, right)) => stack.extend([left, right]),
                None => {
                    for p in start..end {
                        let d2 = squared_distance(q, self.point(p));
                        if d2.sqrt() <= radius {
                            visit(self.order[p], d2);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random_rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * d).map(|_| (rng.uniform() * 10.0).round() as f32 / 2.0).collect()
    }

    #[test]
    fn kth_nearest_distance_equals_brute_force_with_ties_and_duplicates() {
        let (n, d) = (700, 3);
        let rows = random_rows(n, d, 7);
        let tree = KdTree::build(&rows, d);
        for i in (0..n).step_by(13) {
            let q = &rows[i * d..(i + 1) * d];
            let mut all: Vec<f64> = (0..n).map(|j| squared_distance(q, &rows[j * d..(j + 1) * d]).sqrt()).collect();
            all.sort_by(f64::total_cmp);
            for k in [1, 2, 5, 40] {
                assert_eq!(tree.kth_nearest_distance(q, k), all[k - 1], "row {i}, k {k}");
            }
        }
    }

    #[test]
    fn radius_query_finds_exactly_the_rows_within_the_radius() {
        let (n, d) = (500, 2);
        let rows = random_rows(n, d, 3);
        let tree = KdTree::build(&rows, d);
        let q = &rows[0..d];
        let mut found = Vec::new();
        tree.for_each_within(q, 1.0, &mut |i, _| found.push(i));
        found.sort();
        let expected: Vec<usize> =
            (0..n).filter(|&j| squared_distance(q, &rows[j * d..(j + 1) * d]).sqrt() <= 1.0).collect();
        assert_eq!(found, expected);
    }
}
