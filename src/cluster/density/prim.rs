//! Prim's algorithm on the mutual-reachability graph, step for step as scikit-learn's
//! `mst_from_data_matrix`: from row 0; each step adds the first row (lowest index) with the
//! least reach, through the earliest tree row that gave it that reach. O(n²) time, O(n)
//! memory. Used below [`PRIM_ROWS`] rows because mutual-reachability distances tie often
//! (most are a core distance), and where equal merges meet, the order they are condensed in
//! decides which cluster a small group falls out of: Prim's edges, then sorted by weight with
//! numpy's portable argsort ([`super::numpy_order`]) as scikit-learn sorts them, give
//! scikit-learn's HDBSCAN labels exactly (where numpy sorts without SIMD). Past it, Borůvka
//! ([`super::mst`]) gives the same tree weights with ties broken by row order.

use rayon::prelude::*;

use super::kdtree::squared_distance;
use super::mst::Edge;
use super::numpy_order::argsort;

/// Up to this many rows HDBSCAN builds its tree with Prim (scikit-learn's tie order).
pub const PRIM_ROWS: usize = 20_000;

/// The MST edges as (source row `a`, added row `b`, weight), sorted by weight as
/// scikit-learn sorts them (`np.argsort`, [`argsort`]: the order of equal weights decides
/// which cluster a small group falls out of).
pub fn prim_mst(rows: &[f32], dim: usize, core: &[f64]) -> Vec<Edge> {
    let n = core.len();
    let row = |i: usize| &rows[i * dim..(i + 1) * dim];
    let mut in_tree = vec![false; n];
    let mut reach = vec![f64::INFINITY; n];
    let mut source = vec![0usize; n];
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    let mut current = 0usize;
    for _ in 1..n {
        in_tree[current] = true;
        let (here, core_here) = (row(current), core[current]);
        // Relax every row outside the tree from `current`, then take the first least reach.
        let best = reach
            .par_iter_mut()
            .zip(source.par_iter_mut())
            .enumerate()
            .filter(|(j, _)| !in_tree[*j])
            .map(|(j, (reach_j, source_j))| {
                let candidate = core_here.max(core[j]).max(squared_distance(here, row(j)).sqrt());
                if candidate < *reach_j {
                    *reach_j = candidate;
                    *source_j = current;
                }
                (*reach_j, j)
            })
            .reduce(|| (f64::INFINITY, usize::MAX), |a, b| if b.0 < a.0 || (b.0 == a.0 && b.1 < a.1) { b } else { a });
        let (weight, next) = best;
        edges.push(Edge { a: source[next], b: next, weight });
        current = next;
    }
    let weights: Vec<f64> = edges.iter().map(|e| e.weight).collect();
    argsort(&weights).into_iter().map(|i| edges[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_first_row_through_the_earliest_source() {
        // Rows 1, 2 and 3 are all at reach 1 from row 0; row 1 is taken first, then row 2
        // (reach 1 from row 0, the earlier source, and from row 1).
        let rows = [0.0f32, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
        let edges = prim_mst(&rows, 2, &[0.0; 4]);
        let pairs: Vec<(usize, usize)> = edges.iter().map(|e| (e.a, e.b)).collect();
        assert_eq!(pairs, vec![(0, 1), (0, 2), (0, 3)]);
    }
}
