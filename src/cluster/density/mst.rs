//! The minimum spanning tree of the mutual-reachability graph, by Borůvka's algorithm on
//! the kd-tree's cells. The mutual-reachability distance of rows i and j is
//! max(core_i, core_j, ‖x_i − x_j‖). Each round first bounds every component's cheapest
//! outgoing edge by its rows' k nearest neighbours in other components (kept by the
//! core-distance pass); then the rows that may still beat that bound (no row outside a
//! row's list is nearer than its (k+1)-th neighbour) search the other components a cell at
//! a time ([`super::boruvka`]), cells of small core distances first (an edge a row finds
//! lowers its component's bound at once for the rows still searching); the cheapest edge
//! of each component joins the tree. Edges are ordered by (weight, lower row, higher row),
//! a total order, so the tree is unique and no cycle can form even with tied weights.
//! O(log n) rounds; memory O(n) beyond the neighbour lists.

use std::sync::atomic::AtomicU64;

use rayon::prelude::*;

use super::accelerated::{rounding, Device};
use super::boruvka::{groups, RoundSearch};
use super::cells::Cells;
use super::kdtree::{squared_distance, KdTree};
use super::knn::Neighbourhoods;
use crate::backend::density::FAR;
use crate::error::Result;

/// An edge of the tree between original rows `a < b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub a: usize,
    pub b: usize,
    pub weight: f64,
}

impl Edge {
    pub(crate) fn new(i: usize, j: usize, weight: f64) -> Self {
        Edge { a: i.min(j), b: i.max(j), weight }
    }

    /// The total order edges are compared in: weight, then rows.
    pub fn precedes(&self, other: &Edge) -> bool {
        self.weight.total_cmp(&other.weight).then(self.a.cmp(&other.a)).then(self.b.cmp(&other.b)).is_lt()
    }
}

/// Union-find over rows with path halving.
pub(crate) struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect() }
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `x` and `y` (the lower root wins); false when already joined.
    pub fn union(&mut self, x: usize, y: usize) -> bool {
        let (rx, ry) = (self.find(x), self.find(y));
        if rx == ry {
            return false;
        }
        self.parent[rx.max(ry)] = rx.min(ry);
        true
    }
}

/// The n − 1 edges of the mutual-reachability MST of the rows of `tree` with core
/// distances, nearest rows and bounds `hoods` (by original row), sorted by the edge order.
/// With a `device`, each round first runs its nearest-other-component pass
/// ([`super::accelerated`]): its edges bound the components and its per-row bounds spare
/// most rows the search; the tree is the same.
pub fn mutual_reachability_mst(tree: &KdTree, hoods: &Neighbourhoods, device: Option<&Device>) -> Result<Vec<Edge>> {
    let n = tree.rows();
    let (core, neighbours, k) = (&hoods.core[..], &hoods.neighbours[..], hoods.k);
    let core32: Vec<f32> = core.iter().map(|&c| c as f32).collect();
    let core_at: Vec<f64> = tree.order.iter().map(|&i| core[i]).collect();
    let floor_at: Vec<f64> = tree.order.iter().map(|&i| core[i].max(hoods.beyond[i])).collect();
    let node_min_core = node_minimum(tree, &core_at);
    let cells = Cells::new(tree);
    let mut sets = UnionFind::new(n);
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    while edges.len() + 1 < n {
        let component: Vec<usize> = (0..n).map(|p| sets.find(tree.order[p])).collect();
        let node_component = uniform_component(tree, &component);
        // Bounds from the neighbour lists: an outgoing edge each component surely has.
        let by_row = |i: usize| component[tree.position(i)];
        let seeds: Vec<Option<Edge>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut best: Option<Edge> = None;
                for &j in &neighbours[i * k..(i + 1) * k] {
                    if by_row(j) != by_row(i) {
                        let weight = core[i].max(core[j]).max(squared_distance(tree.row(i), tree.row(j)).sqrt());
                        keep_cheaper(&mut best, Some(Edge::new(i, j, weight)));
                    }
                }
                best
            })
            .collect();
        let mut per_component: Vec<Option<Edge>> = vec![None; n];
        for (i, edge) in seeds.into_iter().enumerate() {
            keep_cheaper(&mut per_component[by_row(i)], edge);
        }
        let floor_round = match device {
            Some(device) => {
                let lower = device_round(device, tree, core, &core32, &component, &mut per_component)?;
                floor_at.iter().zip(lower).map(|(&f, l)| f.max(l)).collect()
            }
            None => floor_at.clone(),
        };
        let limits: Vec<AtomicU64> =
            per_component.iter().map(|e| AtomicU64::new(e.map_or(f64::INFINITY, |e| e.weight).to_bits())).collect();
        let search = RoundSearch {
            cells: &cells,
            core_at: &core_at,
            floor_at: &floor_round,
            node_min_core: &node_min_core,
            component: &component,
            node_component: &node_component,
            limits: &limits,
            groups: &groups(&cells, &component, &core_at),
        };
        // The most promising eighth of the cells search first: their edges tighten the
        // components' bounds, which prune the others' searches.
        let promise: Vec<f64> = (0..cells.count()).into_par_iter().map(|c| search.promise(c)).collect();
        let mut order: Vec<usize> = (0..cells.count()).collect();
        order.sort_by(|&a, &b| promise[a].total_cmp(&promise[b]).then(a.cmp(&b)));
        let (first, rest) = order.split_at(order.len().div_ceil(8));
        let mut found: Vec<(usize, Edge)> = first.par_iter().flat_map_iter(|&c| search.cell_edges(c)).collect();
        found.extend(rest.par_iter().flat_map_iter(|&c| search.cell_edges(c)).collect::<Vec<_>>());
        for (p, edge) in found {
            keep_cheaper(&mut per_component[component[p]], Some(edge));
        }
        let before = edges.len();
        for e in per_component.into_iter().flatten() {
            if sets.union(e.a, e.b) {
                edges.push(e);
            }
        }
        assert!(edges.len() > before, "a Borůvka round added no edge");
    }
    edges.sort_by(|x, y| x.weight.total_cmp(&y.weight).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
    Ok(edges)
}

/// One round's device pass: keeps each row's exact edge to the device's nearest
/// other-component row in its component's bound, and returns per tree position a lower
/// bound on the row's cheapest outgoing edge.
fn device_round(
    device: &Device,
    tree: &KdTree,
    core: &[f64],
    core32: &[f32],
    component: &[usize],
    per_component: &mut [Option<Edge>],
) -> Result<Vec<f64>> {
    let n = tree.rows();
    let by_row: Vec<u32> = (0..n).map(|i| component[tree.position(i)] as u32).collect();
    let nearest = device.passes.nearest_other_component(device.rows, device.dim, core32, &by_row)?;
    for (i, &j) in nearest.row.iter().enumerate() {
        if let Some(j) = (j != u32::MAX).then_some(j as usize) {
            let weight = core[i].max(core[j]).max(squared_distance(tree.row(i), tree.row(j)).sqrt());
            keep_cheaper(&mut per_component[by_row[i] as usize], Some(Edge::new(i, j, weight)));
        }
    }
    let shrink = 1.0 - rounding(device.dim);
    Ok(tree
        .order
        .iter()
        .map(|&i| match nearest.weight[i] {
            w if w >= FAR => f64::INFINITY,
            w => w as f64 * shrink,
        })
        .collect())
}

/// Keeps the cheaper of `slot` and `edge` in `slot`.
fn keep_cheaper(slot: &mut Option<Edge>, edge: Option<Edge>) {
    if let Some(e) = edge {
        if slot.is_none_or(|s| e.precedes(&s)) {
            *slot = Some(e);
        }
    }
}

/// Per node, the least of `values` (by tree position) over its rows.
pub(crate) fn node_minimum(tree: &KdTree, values: &[f64]) -> Vec<f64> {
    tree.nodes.iter().map(|node| values[node.start..node.end].iter().copied().fold(f64::INFINITY, f64::min)).collect()
}

/// Per node, the component all its rows share, if they share one. Children follow their
/// parent in the node list, so a reverse sweep sees them first.
fn uniform_component(tree: &KdTree, component: &[usize]) -> Vec<Option<usize>> {
    let mut uniform = vec![None; tree.nodes.len()];
    for id in (0..tree.nodes.len()).rev() {
        let node = &tree.nodes[id];
        uniform[id] = match node.children {
            Some((l, r)) => match (uniform[l], uniform[r]) {
                (Some(a), Some(b)) if a == b => Some(a),
                _ => None,
            },
            None => {
                let first = component[node.start];
                component[node.start..node.end].iter().all(|&c| c == first).then_some(first)
            }
        };
    }
    uniform
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::density::core::{core_distances, core_distances_and_neighbours};
    use crate::rng::Rng;

    /// Prim's algorithm on the dense mutual-reachability matrix: the O(n²) reference.
    fn prim_weights(rows: &[f32], d: usize, core: &[f64]) -> Vec<f64> {
        let n = core.len();
        let reach = |i: usize, j: usize| {
            core[i].max(core[j]).max(squared_distance(&rows[i * d..(i + 1) * d], &rows[j * d..(j + 1) * d]).sqrt())
        };
        let (mut in_tree, mut best) = (vec![false; n], vec![f64::INFINITY; n]);
        let (mut weights, mut current) = (Vec::new(), 0);
        in_tree[0] = true;
        for _ in 1..n {
            let mut next = usize::MAX;
            for j in 0..n {
                if !in_tree[j] {
                    best[j] = best[j].min(reach(current, j));
                    if next == usize::MAX || best[j] < best[next] {
                        next = j;
                    }
                }
            }
            weights.push(best[next]);
            in_tree[next] = true;
            current = next;
        }
        weights.sort_by(f64::total_cmp);
        weights
    }

    /// Kruskal's algorithm on every pair in the edge order: the unique tree under that
    /// order, edge for edge.
    fn kruskal(rows: &[f32], d: usize, core: &[f64]) -> Vec<Edge> {
        let n = core.len();
        let mut all = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let distance = squared_distance(&rows[i * d..(i + 1) * d], &rows[j * d..(j + 1) * d]).sqrt();
                all.push(Edge::new(i, j, core[i].max(core[j]).max(distance)));
            }
        }
        all.sort_by(|x, y| x.weight.total_cmp(&y.weight).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
        let mut sets = UnionFind::new(n);
        all.into_iter().filter(|e| sets.union(e.a, e.b)).collect()
    }

    #[test]
    fn cell_borůvka_gives_kruskals_tree_edge_for_edge_across_many_cells() {
        let mut rng = Rng::new(29);
        // Ties and duplicates on a grid; blobs in 16 dimensions (cells prune little); both
        // span many cells.
        let grid: Vec<f32> = (0..1200 * 2).map(|_| (rng.uniform() * 12.0).round() as f32).collect();
        let blobs: Vec<f32> = (0..1000 * 16).map(|i| (rng.normal() + ((i / 16) % 5 * 6) as f64) as f32).collect();
        for (name, rows, d, s) in [("grid", &grid, 2, 4), ("blobs", &blobs, 16, 10)] {
            let tree = KdTree::build(rows, d);
            let hoods = core_distances_and_neighbours(&tree, s);
            let mst = mutual_reachability_mst(&tree, &hoods, None).unwrap();
            let expected = kruskal(rows, d, &hoods.core);
            assert_eq!(mst, expected, "{name}");
        }
    }

    #[test]
    fn borůvka_weights_equal_prim_on_the_dense_matrix_with_ties() {
        let mut rng = Rng::new(11);
        for (n, d, s) in [(300, 2, 5), (257, 4, 1), (120, 3, 10)] {
            let rows: Vec<f32> = (0..n * d).map(|_| (rng.uniform() * 8.0).round() as f32).collect();
            let tree = KdTree::build(&rows, d);
            let hoods = core_distances_and_neighbours(&tree, s);
            let core = &hoods.core;
            assert_eq!(core, &core_distances(&tree, s));
            let mst = mutual_reachability_mst(&tree, &hoods, None).unwrap();
            assert_eq!(mst.len(), n - 1);
            let weights: Vec<f64> = mst.iter().map(|e| e.weight).collect();
            assert_eq!(weights, prim_weights(&rows, d, core), "n {n} d {d} s {s}");
            let mut sets = UnionFind::new(n);
            assert!(mst.iter().all(|e| sets.union(e.a, e.b)), "the edges form a tree");
        }
    }
}
