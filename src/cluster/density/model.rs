//! What a saved density model keeps to assign new rows: a capped, evenly strided subset of
//! each cluster's rows (in the sampled mode all the sample's clustered rows) with their
//! label, reach, core distance and (HDBSCAN) outlier score. A new row joins
//! the cluster of the nearest kept row whose reach covers it, else it is noise; its outlier
//! score is that row's (1 for noise): an approximation of GLOSH, which is only defined for
//! the rows the tree was built on.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::algorithm::DensityFit;
use super::kdtree::{squared_distance, KdTree};
use super::NOISE;
use crate::backend::Centres;

/// The most clustered rows a model keeps (past it, every ⌈m / cap⌉-th row of each cluster).
pub const MODEL_ROWS: usize = 20_000;

/// The kept rows, as model.json stores them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DensityRows {
    /// Rows in the prepared space.
    pub rows: Vec<Vec<f32>>,
    /// Each row's cluster (0..k).
    pub labels: Vec<u32>,
    /// How far a new row may be from each row and still join its cluster.
    pub reach: Vec<f64>,
    /// HDBSCAN: each row's GLOSH outlier score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_scores: Option<Vec<f32>>,
    /// Each row's core distance (at most its reach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_distances: Option<Vec<f64>>,
}

/// Kept rows with their kd-tree, ready to assign.
#[derive(Debug, Clone)]
pub struct DensityAssigner {
    pub kept: DensityRows,
    pub k: usize,
    tree: KdTree,
    /// Per tree node, the largest reach of its rows.
    node_reach: Vec<f64>,
}

impl PartialEq for DensityAssigner {
    fn eq(&self, other: &Self) -> bool {
        self.kept == other.kept && self.k == other.k
    }
}

impl DensityRows {
    /// The clustered rows of a fit on row-major `rows`, at most about `cap` of them; every
    /// cluster keeps at least one row.
    pub fn from_fit(fit: &DensityFit, rows: &[f32], dim: usize, cap: usize) -> Self {
        let clustered = fit.labels.len() - fit.noise;
        let stride = clustered.div_ceil(cap.max(1)).max(1);
        let mut seen = vec![0usize; fit.k];
        let mut kept = DensityRows {
            rows: Vec::new(),
            labels: Vec::new(),
            reach: Vec::new(),
            outlier_scores: None,
            core_distances: None,
        };
        let (mut scores, mut core) = (Vec::new(), Vec::new());
        for (i, &label) in fit.labels.iter().enumerate() {
            if label == NOISE {
                continue;
            }
            let rank = &mut seen[label as usize];
            if *rank % stride == 0 {
                kept.rows.push(rows[i * dim..(i + 1) * dim].to_vec());
                kept.labels.push(label);
                kept.reach.push(fit.reach[i]);
                core.push(fit.core_distances[i]);
                if let Some(s) = &fit.outlier_scores {
                    scores.push(s[i]);
                }
            }
            *rank += 1;
        }
        kept.outlier_scores = fit.outlier_scores.is_some().then_some(scores);
        kept.core_distances = Some(core);
        kept
    }

    /// Each cluster's mean of the kept rows (where the report and profiles place it).
    pub fn centres(&self, k: usize, dim: usize) -> Centres {
        let mut sums = vec![0.0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (row, &label) in self.rows.iter().zip(&self.labels) {
            counts[label as usize] += 1;
            for (s, &v) in sums[label as usize * dim..(label as usize + 1) * dim].iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        let values = sums.iter().enumerate().map(|(i, &s)| (s / counts[i / dim].max(1) as f64) as f32).collect();
        Centres::new(k, dim, values)
    }
}

impl DensityAssigner {
    /// Builds the search tree over the kept rows of `dim` features (shapes checked by the
    /// caller).
    pub fn new(kept: DensityRows, k: usize, dim: usize) -> Self {
        let flat: Vec<f32> = kept.rows.concat();
        let tree = KdTree::build(&flat, dim);
        let reach_at: Vec<f64> = tree.order.iter().map(|&i| kept.reach[i]).collect();
        let node_reach =
            tree.nodes.iter().map(|node| reach_at[node.start..node.end].iter().copied().fold(0.0, f64::max)).collect();
        DensityAssigner { kept, k, tree, node_reach }
    }

    /// Labels (NOISE when no kept row reaches the row) and outlier scores of row-major
    /// `rows`.
    pub fn assign(&self, rows: &[f32]) -> (Vec<u32>, Option<Vec<f32>>) {
        let d = self.tree.dim;
        let found: Vec<Option<usize>> = rows.par_chunks_exact(d).map(|q| self.nearest_reaching(q)).collect();
        let labels = found.iter().map(|f| f.map_or(NOISE, |i| self.kept.labels[i])).collect();
        let scores = self.kept.outlier_scores.as_ref().map(|s| found.iter().map(|f| f.map_or(1.0, |i| s[i])).collect());
        (labels, scores)
    }

    /// The nearest kept row (lowest index on ties) whose reach covers `q`.
    fn nearest_reaching(&self, q: &[f32]) -> Option<usize> {
        let tree = &self.tree;
        let mut best: Option<(f64, usize)> = None;
        let mut stack = if tree.nodes.is_empty() { vec![] } else { vec![0usize] };
        while let Some(node) = stack.pop() {
            let gap = tree.lower_bound(node, q);
            if gap > self.node_reach[node] || best.is_some_and(|(d, _)| gap > d) {
                continue;
            }
            let info = &tree.nodes[node];
            match info.children {
                Some((l, r)) => stack.extend([l, r]),
                None => {
                    for p in info.start..info.end {
                        let i = tree.order[p];
                        let distance = squared_distance(q, tree.point(p)).sqrt();
                        if distance <= self.kept.reach[i] && best.is_none_or(|b| (distance, i) < b) {
                            best = Some((distance, i));
                        }
                    }
                }
            }
        }
        best.map(|(_, i)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::density::algorithm::fit_rows;
    use crate::cluster::density::hyperparams::DbscanParams;

    #[test]
    fn new_rows_join_the_cluster_whose_core_row_reaches_them_else_noise() {
        let rows = [1.0f32, 2.0, 2.0, 2.0, 2.0, 3.0, 8.0, 7.0, 8.0, 8.0, 25.0, 80.0];
        let fit = fit_rows(&rows, 2, &DbscanParams { eps: 3.0, min_samples: 2 }.check().unwrap()).unwrap();
        let kept = DensityRows::from_fit(&fit, &rows, 2, MODEL_ROWS);
        assert_eq!(kept.labels, vec![0, 0, 0, 1, 1]);
        let assigner = DensityAssigner::new(kept, fit.k, 2);
        let (labels, scores) = assigner.assign(&[2.0, 4.5, 9.0, 9.0, 25.0, 80.0, 4.0, 4.0]);
        assert_eq!(labels, vec![0, 1, NOISE, 0]);
        assert!(scores.is_none());
        let capped = DensityRows::from_fit(&fit, &rows, 2, 2);
        assert_eq!(capped.labels, vec![0, 1], "every cluster keeps a row");
    }
}
