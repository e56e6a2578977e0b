//! One Borůvka round's search, a cell at a time ([`super::cells`]): every row of a cell
//! that may still beat its component's bound finds its cheapest mutual-reachability edge
//! to a row of another component.
//!
//! A row is searched only when its floor (a lower bound on every edge to a row outside its
//! k-nearest list: max(core, distance to its (k+1)-th nearest row), and a device's bound)
//! does not exceed its component's bound; the list's own edges already bound the component
//! ([`super::mst`]). A cell's rows visit the other cells in order of the cells' lower bound
//! max(floor, the target's least core distance, the distance between the cells), skipping
//! cells whose rows all share their component, and stop when the bound exceeds what every
//! row can still gain. Each row then skips a cell by its own bound (the cell's ball and the
//! least core distance of its rows of other components), screens the cell's rows in f32
//! (or, when few rows are of other components, rescores just those) and rescores in f64
//! the ones that may weigh no more than its bound. Pruning is strict (a bound equal to the
//! best is still searched), so ties are decided by the edge order and the round finds each
//! component's cheapest edge exactly.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::cells::Cells;
use super::kdtree::squared_distance;
use super::mst::Edge;

/// What a round's searches read.
pub(crate) struct RoundSearch<'a> {
    pub cells: &'a Cells<'a>,
    /// Per tree position, the row's core distance.
    pub core_at: &'a [f64],
    /// Per tree position, a lower bound on the row's edges to rows outside its list.
    pub floor_at: &'a [f64],
    /// Per node, the least core distance of its rows.
    pub node_min_core: &'a [f64],
    /// Per tree position, the row's component.
    pub component: &'a [usize],
    /// Per node, the component all its rows share, if they share one.
    pub node_component: &'a [Option<usize>],
    /// Per component, the weight (f64 bits) of an outgoing edge it surely has (its cheapest
    /// is no dearer), lowered as its rows find cheaper ones.
    pub limits: &'a [AtomicU64],
    /// Per cell, its rows grouped by component ([`groups`]).
    pub groups: &'a [Vec<Group>],
}

/// A cell's rows of one component: how many and their least core distance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    pub component: usize,
    pub rows: usize,
    pub least_core: f64,
}

/// A row searches a cell's rows of other components without screening the cell when they
/// are at most one in this many.
const FEW_ROWS: usize = 8;

/// Per cell, its rows grouped by `component` (per tree position), by component.
pub(crate) fn groups(cells: &Cells, component: &[usize], core_at: &[f64]) -> Vec<Vec<Group>> {
    (0..cells.count())
        .into_par_iter()
        .map(|c| {
            let mut groups: Vec<Group> = Vec::new();
            for p in cells.range(c) {
                match groups.iter_mut().find(|g| g.component == component[p]) {
                    Some(g) => (g.rows, g.least_core) = (g.rows + 1, g.least_core.min(core_at[p])),
                    None => groups.push(Group { component: component[p], rows: 1, least_core: core_at[p] }),
                }
            }
            groups
        })
        .collect()
}

impl RoundSearch<'_> {
    fn limit(&self, component: usize) -> f64 {
        f64::from_bits(self.limits[component].load(Ordering::Relaxed))
    }

    /// The most the row at tree position `p` can still gain: an edge of no more than this.
    fn cap(&self, p: usize, best: &Option<Edge>) -> f64 {
        let limit = self.limit(self.component[p]);
        best.map_or(limit, |e| limit.min(e.weight))
    }

    /// Rescores the edge from tree position `p` to `other` (of another component; `reach`
    /// the larger core distance) in f64, keeps it in `best` when it precedes it (lowering
    /// the component's bound), and returns what the row can still gain.
    fn offer(&self, p: usize, other: usize, reach: f64, best: &mut Option<Edge>) -> f64 {
        let tree = self.cells.tree;
        let weight = reach.max(squared_distance(tree.point(p), tree.point(other)).sqrt());
        let edge = Edge::new(tree.order[p], tree.order[other], weight);
        if best.is_none_or(|b| edge.precedes(&b)) {
            *best = Some(edge);
            self.limits[self.component[p]].fetch_min(weight.to_bits(), Ordering::Relaxed);
        }
        self.cap(p, best)
    }

    /// A lower bound on every edge a row of cell `cell` may find this round: the least
    /// cell bound over the cells of other components (+∞ when there are none). Cells of
    /// low bounds search first, so their edges tighten the components' bounds for the rest.
    pub fn promise(&self, cell: usize) -> f64 {
        let (cells, tree) = (self.cells, self.cells.tree);
        let here = cells.node[cell];
        let own = self.node_component[here];
        let floor = cells.range(cell).map(|p| self.floor_at[p]).fold(f64::INFINITY, f64::min);
        let mut least = f64::INFINITY;
        let mut stack = vec![0usize];
        while let Some(node) = stack.pop() {
            if own.is_some() && self.node_component[node] == own {
                continue;
            }
            let bound = floor.max(self.node_min_core[node]).max(tree.node_lower_bound(here, node));
            if bound >= least {
                continue;
            }
            match tree.nodes[node].children {
                Some((left, right)) if !cells.is_cell(node) => stack.extend([left, right]),
                _ => least = bound,
            }
        }
        least
    }

    /// The cheapest edges to other components found from the rows of cell `cell`, as
    /// (tree position, edge); rows that cannot beat their component's bound find none.
    pub fn cell_edges(&self, cell: usize) -> Vec<(usize, Edge)> {
        let (cells, tree) = (self.cells, self.cells.tree);
        let active: Vec<usize> =
            self.cells.range(cell).filter(|&p| self.floor_at[p] <= self.limit(self.component[p])).collect();
        let Some(&first) = active.first() else { return Vec::new() };
        let mut best: Vec<Option<Edge>> = vec![None; active.len()];
        let shared =
            active.iter().all(|&p| self.component[p] == self.component[first]).then_some(self.component[first]);
        let floor = active.iter().map(|&p| self.floor_at[p]).fold(f64::INFINITY, f64::min);
        let reach = |best: &[Option<Edge>]| {
            active.iter().zip(best).map(|(&p, b)| self.cap(p, b)).fold(f64::NEG_INFINITY, f64::max)
        };
        let here = cells.node[cell];
        let first_reach = reach(&best);
        let candidates = cells.cells_where(|node| {
            if shared.is_some() && self.node_component[node] == shared {
                return None;
            }
            let bound = floor.max(self.node_min_core[node]).max(tree.node_lower_bound(here, node));
            (bound <= first_reach).then_some(bound)
        });
        let (mut screened, mut bounds) = (Vec::new(), Vec::new());
        let start = cells.range(cell).start;
        for (bound, target) in candidates {
            if bound > reach(&best) {
                break;
            }
            let (node, targets) = (cells.node[target], cells.range(target));
            cells.ball_bounds(node, cell, &mut screened, &mut bounds);
            for (&p, best) in active.iter().zip(best.iter_mut()) {
                let own = self.component[p];
                let (foreign_core, foreign_rows) = self.groups[target]
                    .iter()
                    .filter(|g| g.component != own)
                    .fold((f64::INFINITY, 0), |(core, rows), g| (core.min(g.least_core), rows + g.rows));
                let mut cap = self.cap(p, best);
                if foreign_rows == 0 || self.floor_at[p].max(foreign_core).max(bounds[p - start]) > cap {
                    continue;
                }
                let (q, core_p) = (tree.point(p), self.core_at[p]);
                if foreign_rows * FEW_ROWS <= targets.len() {
                    // Few rows of other components: rescore them without screening.
                    for other in targets.clone() {
                        let reach = core_p.max(self.core_at[other]);
                        if self.component[other] != own && reach <= cap {
                            cap = self.offer(p, other, reach, best);
                        }
                    }
                    continue;
                }
                let mut screen_limit = cells.screen_limit(cap * cap);
                cells.screen(q, target, &mut screened);
                for (other, &d32) in targets.clone().zip(&screened) {
                    if d32 > screen_limit {
                        continue;
                    }
                    let reach = core_p.max(self.core_at[other]);
                    if self.component[other] != own && reach <= cap {
                        cap = self.offer(p, other, reach, best);
                        screen_limit = cells.screen_limit(cap * cap);
                    }
                }
            }
        }
        active.into_iter().zip(best).filter_map(|(p, e)| e.map(|e| (p, e))).collect()
    }
}
