//! Cells: the kd-tree's nodes of at most [`CELL_ROWS`] rows (or its leaves), each a
//! contiguous run of the tree order, with their rows also stored feature by feature so that
//! one row's f32 squared distances to a whole cell are one vectorised loop
//! ([`Cells::screen`]). The exact searches ([`super::knn`], [`super::boruvka`]) visit
//! cells, not single rows: they skip a cell when a lower bound on its distance (its box and
//! ball, [`KdTree::node_lower_bound`], [`KdTree::lower_bound`]) already exceeds what they
//! have, screen the rows of the others with the f32 distances, and rescore in f64
//! ([`squared_distance`]) only the rows the screen lets through. An f32 squared distance
//! over `dim` features is within a relative [`rounding`]`(dim)` of the f64 one, so the
//! screen never drops a row that counts, and the answers are the f64 ones, bit for bit.

use std::ops::Range;

use super::accelerated::rounding;
use super::kdtree::KdTree;

/// Rows per cell, at most: small enough that cells prune, large enough that a row's
/// distances to a cell are one long vectorised loop.
pub(crate) const CELL_ROWS: usize = 128;

/// The cells of a kd-tree and their rows feature by feature.
pub(crate) struct Cells<'a> {
    pub tree: &'a KdTree,
    /// Per cell, its node of the tree.
    pub node: Vec<usize>,
    /// Per node, the cell it is, if it is one.
    cell_of_node: Vec<Option<usize>>,
    /// The rows of each cell, feature-major: cell `c` over tree positions `s..e` holds
    /// feature `f` of position `p` at `s·dim + f·(e − s) + (p − s)`.
    columns: Vec<f32>,
    /// 1 − [`rounding`]`(dim)`: an f32 squared distance times this is below the f64 one.
    shrink: f64,
    /// An absolute slack for f32 underflow.
    slack: f64,
}

impl<'a> Cells<'a> {
    /// The cells of `tree`: its highest nodes of at most [`CELL_ROWS`] rows, and its leaves.
    pub fn new(tree: &'a KdTree) -> Self {
        let dim = tree.dim;
        let mut cells = Cells {
            tree,
            node: Vec::new(),
            cell_of_node: vec![None; tree.nodes.len()],
            columns: vec![0.0; tree.points.len()],
            shrink: 1.0 - rounding(dim),
            slack: dim as f64 * f32::MIN_POSITIVE as f64,
        };
        let mut stack = if tree.nodes.is_empty() { vec![] } else { vec![0usize] };
        while let Some(id) = stack.pop() {
            let node = &tree.nodes[id];
            match node.children {
                Some((left, right)) if node.end - node.start > CELL_ROWS => stack.extend([right, left]),
                _ => {
                    cells.cell_of_node[id] = Some(cells.node.len());
                    cells.node.push(id);
                }
            }
        }
        for c in 0..cells.node.len() {
            let range = cells.range(c);
            let m = range.len();
            let block = &mut cells.columns[range.start * dim..range.end * dim];
            for (offset, p) in range.enumerate() {
                for (f, &value) in tree.point(p).iter().enumerate() {
                    block[f * m + offset] = value;
                }
            }
        }
        cells
    }

    /// Number of cells.
    pub fn count(&self) -> usize {
        self.node.len()
    }

    /// The tree positions of cell `cell`'s rows.
    pub fn range(&self, cell: usize) -> Range<usize> {
        let node = &self.tree.nodes[self.node[cell]];
        node.start..node.end
    }

    /// The f32 squared distances from `q` to the rows of `cell`, in tree order, into `out`.
    pub fn screen(&self, q: &[f32], cell: usize, out: &mut Vec<f32>) {
        let range = self.range(cell);
        let dim = self.tree.dim;
        out.clear();
        out.resize(range.len(), 0.0);
        squared_distances(q, &self.columns[range.start * dim..range.end * dim], out);
    }

    /// Per row of `cell`, in tree order, a lower bound on its distance to every row of node
    /// `node` by the node's ball (shrunk like [`KdTree::lower_bound`]'s), into `out`;
    /// `screened` is scratch.
    pub fn ball_bounds(&self, node: usize, cell: usize, screened: &mut Vec<f32>, out: &mut Vec<f64>) {
        let (centre, radius) = self.tree.ball(node);
        self.screen(centre, cell, screened);
        out.clear();
        out.extend(screened.iter().map(|&d32| match d32 {
            d32 if d32.is_infinite() => 0.0,
            d32 => {
                let to_centre = (d32 as f64 * self.shrink).sqrt();
                (to_centre - radius) - 1e-9 * (to_centre + radius)
            }
        }));
    }

    /// The largest f32 squared distance ([`Self::screen`]) of a row that may lie within f64
    /// squared distance `limit`: rows screened above it are farther, the others must be
    /// rescored.
    pub fn screen_limit(&self, limit: f64) -> f32 {
        (((limit + self.slack) / self.shrink) as f32).next_up()
    }

    /// Whether node `node` is a cell.
    pub fn is_cell(&self, node: usize) -> bool {
        self.cell_of_node[node].is_some()
    }

    /// The cells under the nodes that `bound` keeps (`Some(lower bound)`; `None` skips the
    /// node and everything under it), with their bounds, least bound first (then by cell).
    pub fn cells_where(&self, bound: impl Fn(usize) -> Option<f64>) -> Vec<(f64, usize)> {
        let mut found = Vec::new();
        let mut stack = if self.tree.nodes.is_empty() { vec![] } else { vec![0usize] };
        while let Some(id) = stack.pop() {
            let Some(b) = bound(id) else { continue };
            match (self.cell_of_node[id], self.tree.nodes[id].children) {
                (Some(cell), _) => found.push((b, cell)),
                (None, Some((left, right))) => stack.extend([right, left]),
                (None, None) => unreachable!("every leaf is or lies in a cell"),
            }
        }
        found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        found
    }
}

/// `out[j] = Σ_f (q[f] − columns[f·m + j])²` in f32, summed in feature order, for the `m`
/// rows of a feature-major block. Compiled for AVX-512, AVX2 and the baseline and chosen at
/// run time; Rust never fuses the multiply and add, so every version computes the same bits.
fn squared_distances(q: &[f32], columns: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the feature (checked just above).
            return unsafe { squared_distances_avx512(q, columns, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has the feature (checked just above).
            return unsafe { squared_distances_avx2(q, columns, out) };
        }
    }
    squared_distances_body(q, columns, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn squared_distances_avx512(q: &[f32], columns: &[f32], out: &mut [f32]) {
    squared_distances_body(q, columns, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn squared_distances_avx2(q: &[f32], columns: &[f32], out: &mut [f32]) {
    squared_distances_body(q, columns, out)
}

#[inline(always)]
fn squared_distances_body(q: &[f32], columns: &[f32], out: &mut [f32]) {
    let m = out.len();
    for (&qf, column) in q.iter().zip(columns.chunks_exact(m)) {
        for (sum, &value) in out.iter_mut().zip(column) {
            let gap = qf - value;
            *sum += gap * gap;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::density::kdtree::squared_distance;
    use crate::rng::Rng;

    #[test]
    fn cells_cover_every_row_once_and_screen_within_the_rounding_bound() {
        let mut rng = Rng::new(5);
        let (n, d) = (1000, 7);
        let rows: Vec<f32> = (0..n * d).map(|_| (rng.normal() * 3.0) as f32).collect();
        let tree = KdTree::build(&rows, d);
        let cells = Cells::new(&tree);
        let mut covered: Vec<usize> = (0..cells.count()).flat_map(|c| cells.range(c)).collect();
        covered.sort();
        assert_eq!(covered, (0..n).collect::<Vec<_>>());
        assert!(cells.count() > 1 && (0..cells.count()).all(|c| cells.range(c).len() <= CELL_ROWS));
        let all = cells.cells_where(|_| Some(0.0));
        assert_eq!(all.len(), cells.count());
        let mut out = Vec::new();
        for c in 0..cells.count() {
            cells.screen(tree.point(3), c, &mut out);
            for (offset, p) in cells.range(c).enumerate() {
                let exact = squared_distance(tree.point(3), tree.point(p));
                assert!(out[offset] <= cells.screen_limit(exact), "cell {c} position {p}");
                assert!((out[offset] as f64 - exact).abs() <= rounding(d) * exact + 1e-30);
            }
        }
        let (mut screened, mut bounds) = (Vec::new(), Vec::new());
        for (query, target) in [(0, 0), (0, cells.count() - 1), (cells.count() / 2, 1)] {
            cells.ball_bounds(cells.node[target], query, &mut screened, &mut bounds);
            for (offset, p) in cells.range(query).enumerate() {
                let nearest = cells.range(target).map(|t| squared_distance(tree.point(p), tree.point(t)).sqrt());
                assert!(bounds[offset] <= nearest.fold(f64::INFINITY, f64::min), "cells {query} {target}");
            }
        }
    }
}
