//! The minimum spanning tree of the mutual-reachability graph, by Borůvka's algorithm on
//! the kd-tree. The mutual-reachability distance of rows i and j is
//! max(core_i, core_j, ‖x_i − x_j‖). Each round first bounds every component's cheapest
//! outgoing edge by its rows' k nearest neighbours in other components (kept by the
//! core-distance pass); then every row, in order of core distance (an edge a row finds lowers
//! its component's bound at once for the rows still searching), finds its cheapest edge to
//! another component by a
//! pruned tree search (a node is skipped when all its rows are in the row's own component,
//! or when max(core_i, the node's least core distance, its distance bound) exceeds the
//! component's bound); the cheapest edge of each component joins the tree. Edges are ordered by (weight, lower row, higher row), a total order, so
//! the tree is unique and no cycle can form even with tied weights. O(log n) rounds; memory
//! O(n).

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::accelerated::{rounding, Device};
use super::kdtree::{squared_distance, KdTree};
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
    fn new(i: usize, j: usize, weight: f64) -> Self {
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
/// distances `core` (by original row) and each row's `k` nearest rows `neighbours`
/// (row-major n × k, original rows), sorted by the edge order. With a `device`, each round
/// first runs its nearest-other-component pass ([`super::accelerated`]): its edges bound
/// the components and its per-row bounds spare most rows the search; the tree is the same.
pub fn mutual_reachability_mst(
    tree: &KdTree,
    core: &[f64],
    neighbours: &[usize],
    k: usize,
    device: Option<&Device>,
) -> Result<Vec<Edge>> {
    let n = tree.rows();
    let core32: Vec<f32> = core.iter().map(|&c| c as f32).collect();
    let core_at: Vec<f64> = tree.order.iter().map(|&i| core[i]).collect();
    let node_min_core = node_minimum(tree, &core_at);
    // Rows with small core distances find cheap edges first and lower their component's
    // limit for the others.
    let mut by_core: Vec<usize> = (0..n).collect();
    by_core.sort_by(|&a, &b| core_at[a].total_cmp(&core_at[b]).then(a.cmp(&b)));
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
        let lower = match device {
            Some(device) => Some(device_round(device, tree, core, &core32, &component, &mut per_component)?),
            None => None,
        };
        let limits: Vec<AtomicU64> =
            per_component.iter().map(|e| AtomicU64::new(e.map_or(f64::INFINITY, |e| e.weight).to_bits())).collect();
        let search = Search {
            tree,
            core_at: &core_at,
            node_min_core: &node_min_core,
            component: &component,
            node_component: &node_component,
            limits: &limits,
            lower: lower.as_deref(),
        };
        let cheapest: Vec<(usize, Option<Edge>)> = by_core.par_iter().map(|&p| (p, search.cheapest_edge(p))).collect();
        for (p, edge) in cheapest {
            keep_cheaper(&mut per_component[component[p]], edge);
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

/// What one row's search for its cheapest outgoing edge reads.
struct Search<'a> {
    tree: &'a KdTree,
    core_at: &'a [f64],
    node_min_core: &'a [f64],
    component: &'a [usize],
    node_component: &'a [Option<usize>],
    /// Per component, the weight (f64 bits) of an outgoing edge it surely has (its cheapest
    /// is no dearer), lowered as its rows find cheaper ones: a search skips what weighs more.
    limits: &'a [AtomicU64],
    /// Per tree position, a lower bound on the row's cheapest outgoing edge (device rounds).
    lower: Option<&'a [f64]>,
}

impl Search<'_> {
    /// The cheapest edge from the row at tree position `p` to a row of another component.
    fn cheapest_edge(&self, p: usize) -> Option<Edge> {
        let (tree, own) = (self.tree, self.component[p]);
        let (q, core_p, row_p) = (tree.point(p), self.core_at[p], tree.order[p]);
        let mut best: Option<Edge> = None;
        let limit = || f64::from_bits(self.limits[own].load(Ordering::Relaxed));
        if core_p > limit() || self.lower.is_some_and(|lower| lower[p] > limit()) {
            // Every edge of this row weighs at least its core distance (and the device's
            // bound): dearer than one its component already has.
            return None;
        }
        let bound = |node: usize| core_p.max(self.node_min_core[node]).max(tree.lower_bound(node, q));
        let mut stack = vec![0usize];
        while let Some(node) = stack.pop() {
            let too_far = |b: f64, best: &Option<Edge>| b > limit() || best.is_some_and(|e| b > e.weight);
            if self.node_component[node] == Some(own) || too_far(bound(node), &best) {
                continue;
            }
            let info = &tree.nodes[node];
            match info.children {
                Some((l, r)) => {
                    if bound(l) <= bound(r) {
                        stack.extend([r, l]);
                    } else {
                        stack.extend([l, r]);
                    }
                }
                None => {
                    for other in info.start..info.end {
                        if self.component[other] == own {
                            continue;
                        }
                        let reach = core_p.max(self.core_at[other]);
                        if too_far(reach, &best) {
                            continue;
                        }
                        let weight = reach.max(squared_distance(q, tree.point(other)).sqrt());
                        let edge = Edge::new(row_p, tree.order[other], weight);
                        if best.is_none_or(|b| edge.precedes(&b)) {
                            best = Some(edge);
                            self.limits[own].fetch_min(weight.to_bits(), Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        best
    }
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

    #[test]
    fn borůvka_weights_equal_prim_on_the_dense_matrix_with_ties() {
        let mut rng = Rng::new(11);
        for (n, d, s) in [(300, 2, 5), (257, 4, 1), (120, 3, 10)] {
            let rows: Vec<f32> = (0..n * d).map(|_| (rng.uniform() * 8.0).round() as f32).collect();
            let tree = KdTree::build(&rows, d);
            let (core, neighbours) = core_distances_and_neighbours(&tree, s);
            assert_eq!(core, core_distances(&tree, s));
            let mst = mutual_reachability_mst(&tree, &core, &neighbours, s, None).unwrap();
            assert_eq!(mst.len(), n - 1);
            let weights: Vec<f64> = mst.iter().map(|e| e.weight).collect();
            assert_eq!(weights, prim_weights(&rows, d, &core), "n {n} d {d} s {s}");
            let mut sets = UnionFind::new(n);
            assert!(mst.iter().all(|e| sets.union(e.a, e.b)), "the edges form a tree");
        }
    }
}
