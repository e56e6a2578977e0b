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
//! row can still gain. Each row then skips a cell by its own bound, screens the cell's rows
//! in f32 and rescores in f64 the ones that may weigh no more than its bound. Pruning is
//! strict (a bound equal to the best is still searched), so ties are decided by the edge
//! order and the round finds each component's cheapest edge exactly.

use std::sync::atomic::{AtomicU64, Ordering};

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

    /// The cheapest edges to other components found from the rows of cell `cell`, as
    /// (tree position, edge); rows that cannot beat their component's bound find none.
    pub fn cell_edges(&self, cell: usize) -> Vec<(usize, Edge)> {
        let (cells, tree) = (self.cells, self.cells.tree);
        let active: Vec<usize> =
            self.cells.range(cell).filter(|&p| self.floor_at[p] <= self.limit(self.component[p])).collect();
        let Some(&first) = active.first() else { return Vec::new() };
        let mut best: Vec<Option<Edge>> = vec![None; active.len()];
        let shared = active.iter().all(|&p| self.component[p] == self.component[first]).then_some(self.component[first]);
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
        let mut screened = Vec::new();
        for (bound, target) in candidates {
            if bound > reach(&best) {
                break;
            }
            let (node, targets) = (cells.node[target], cells.range(target));
            for (&p, best) in active.iter().zip(best.iter_mut()) {
                let own = self.component[p];
                let (q, core_p) = (tree.point(p), self.core_at[p]);
                let mut cap = self.cap(p, best);
                if self.node_component[node] == Some(own)
                    || self.floor_at[p].max(self.node_min_core[node]) > cap
                    || tree.lower_bound(node, q) > cap
                {
                    continue;
                }
                cells.screen(q, target, &mut screened);
                for (other, &d32) in targets.clone().zip(&screened) {
                    let reach = core_p.max(self.core_at[other]);
                    if self.component[other] == own || reach > cap || !cells.may_be_within(d32, cap * cap) {
                        continue;
                    }
                    let weight = reach.max(squared_distance(q, tree.point(other)).sqrt());
                    let edge = Edge::new(tree.order[p], tree.order[other], weight);
                    if best.is_none_or(|b| edge.precedes(&b)) {
                        *best = Some(edge);
                        self.limits[own].fetch_min(weight.to_bits(), Ordering::Relaxed);
                        cap = self.cap(p, best);
                    }
                }
            }
        }
        active.into_iter().zip(best).filter_map(|(p, e)| e.map(|e| (p, e))).collect()
    }
}
