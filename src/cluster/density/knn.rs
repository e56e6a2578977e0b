//! The exact k nearest rows of every row, a cell at a time ([`super::cells`]): each cell's
//! rows first search their own cell, then the other cells in order of the cells' lower
//! bound, until that bound exceeds every row's current k-th distance; a row skips a cell
//! whose ball's bound from the row itself exceeds its own k-th distance. Distances are screened in
//! f32 and rescored in f64, so lists and core distances are exactly the f64 ones. Lists are
//! ordered by (distance, original row). Rayon runs the cells in parallel; memory O(n·k).

use rayon::prelude::*;

use super::cells::Cells;
use super::kdtree::{squared_distance, KdTree};

/// Each row's `k` nearest rows (the row itself among them) and what they bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbourhoods {
    /// Rows per list: `min_samples`.
    pub k: usize,
    /// By original row, the distance to its `k`-th nearest row (+∞ with fewer rows).
    pub core: Vec<f64>,
    /// Row-major n × k original rows, nearest first.
    pub neighbours: Vec<usize>,
    /// By original row, a lower bound on its distance to every row outside its list (the
    /// distance to its `k + 1`-th nearest row, +∞ when there is none).
    pub beyond: Vec<f64>,
}

/// A sorted list of (squared distance, original row) of at most `want` entries.
type List = Vec<(f64, usize)>;

/// The `k` nearest rows of every row of `tree`, exactly.
pub fn neighbourhoods(tree: &KdTree, k: usize) -> Neighbourhoods {
    let n = tree.rows();
    let cells = Cells::new(tree);
    let want = k + 1;
    let found: Vec<(usize, Vec<List>)> =
        (0..cells.count()).into_par_iter().map(|c| (cells.range(c).start, nearest_of_cell(&cells, c, want))).collect();
    let mut hoods =
        Neighbourhoods { k, core: vec![f64::INFINITY; n], neighbours: vec![0; n * k], beyond: vec![f64::INFINITY; n] };
    for (start, lists) in found {
        for (offset, list) in lists.into_iter().enumerate() {
            let i = tree.order[start + offset];
            if let Some(&(d2, _)) = list.get(k - 1) {
                hoods.core[i] = d2.sqrt();
            }
            if let Some(&(d2, _)) = list.get(k) {
                hoods.beyond[i] = d2.sqrt();
            }
            for (slot, &(_, j)) in hoods.neighbours[i * k..(i + 1) * k].iter_mut().zip(&list) {
                *slot = j;
            }
        }
    }
    hoods
}

/// The `want` nearest rows of each row of cell `cell`, in tree order.
fn nearest_of_cell(cells: &Cells, cell: usize, want: usize) -> Vec<List> {
    let tree = cells.tree;
    let range = cells.range(cell);
    let mut lists: Vec<List> = range.clone().map(|_| Vec::with_capacity(want + 1)).collect();
    let (mut screened, mut bounds) = (Vec::new(), Vec::new());
    let kth = |list: &List| if list.len() == want { list[want - 1].0 } else { f64::INFINITY };
    let mut visit = |target: usize, lists: &mut [List]| {
        let targets = cells.range(target);
        cells.ball_bounds(cells.node[target], cell, &mut screened, &mut bounds);
        for ((p, list), &bound) in range.clone().zip(lists.iter_mut()).zip(&bounds) {
            let q = tree.point(p);
            let limit = kth(list);
            if bound > limit.sqrt() {
                continue;
            }
            let mut screen_limit = cells.screen_limit(limit);
            cells.screen(q, target, &mut screened);
            for (other, &d32) in targets.clone().zip(&screened) {
                if d32 > screen_limit {
                    continue;
                }
                let d2 = squared_distance(q, tree.point(other));
                let j = tree.order[other];
                if d2.is_nan() || (list.len() == want && (d2, j) >= list[want - 1]) {
                    continue;
                }
                let at = list.partition_point(|&e| e < (d2, j));
                list.insert(at, (d2, j));
                list.truncate(want);
                screen_limit = cells.screen_limit(kth(list));
            }
        }
    };
    visit(cell, &mut lists);
    let reach = |lists: &[List]| lists.iter().map(kth).fold(0.0f64, f64::max).sqrt();
    let here = cells.node[cell];
    let first = reach(&lists);
    let candidates = cells.cells_where(|node| {
        let bound = tree.node_lower_bound(here, node);
        (bound <= first).then_some(bound)
    });
    for (bound, target) in candidates {
        if target == cell {
            continue;
        }
        if bound > reach(&lists) {
            break;
        }
        visit(target, &mut lists);
    }
    lists
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Every row's sorted (squared distance, row) pairs by brute force.
    fn brute_force(rows: &[f32], d: usize, i: usize) -> Vec<(f64, usize)> {
        let n = rows.len() / d;
        let mut all: Vec<(f64, usize)> =
            (0..n).map(|j| (squared_distance(&rows[i * d..(i + 1) * d], &rows[j * d..(j + 1) * d]), j)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all
    }

    #[test]
    fn lists_equal_brute_force_with_ties_duplicates_and_many_dimensions() {
        let mut rng = Rng::new(23);
        // A coarse grid (ties and duplicate rows), smooth blobs in 16 dimensions, and fewer
        // rows than a cell.
        let grid: Vec<f32> = (0..900 * 3).map(|_| (rng.uniform() * 6.0).round() as f32).collect();
        let blobs: Vec<f32> = (0..1500 * 16).map(|i| (rng.normal() + ((i / 16) % 4 * 5) as f64) as f32).collect();
        let small: Vec<f32> = (0..40 * 2).map(|_| rng.normal() as f32).collect();
        for (name, rows, d, k) in [("grid", &grid, 3, 5), ("blobs", &blobs, 16, 25), ("small", &small, 2, 39)] {
            let tree = KdTree::build(rows, d);
            let hoods = neighbourhoods(&tree, k);
            for i in 0..rows.len() / d {
                let all = brute_force(rows, d, i);
                assert_eq!(hoods.core[i], all[k - 1].0.sqrt(), "{name} row {i}");
                let beyond = all.get(k).map_or(f64::INFINITY, |b| b.0.sqrt());
                assert_eq!(hoods.beyond[i], beyond, "{name} row {i}");
                let expected: Vec<usize> = all[..k].iter().map(|b| b.1).collect();
                assert_eq!(&hoods.neighbours[i * k..(i + 1) * k], &expected[..], "{name} row {i}");
            }
        }
    }
}
