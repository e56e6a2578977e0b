//! The Ward fit: exact (rows are the leaves) or two-level (K-Means micro-clusters are the
//! leaves), then the cut.

use std::sync::Arc;

use super::consolidate::{consolidate, segment_centroids, spread};
use super::cut::cut;
use super::hyperparams::{Cut, WardValidParams};
use super::linkage::Linkage;
use super::micro::micro_statistics;
use super::nearest::Clusters;
use super::nn_chain::linkage;
use super::seeding::{sample_seeds, SEEDING_OVERSAMPLING, SEEDING_ROUNDS};
use super::segments::{FittedLabels, MicroClusters, WardSegments};
use crate::backend::{Backend, Centres};
use crate::cluster::kmeans::{self, Init, IterationReport, KMeansParams};
use crate::data::Dataset;
use crate::error::{Error, Param, ParamError, Result};

/// Which mode built the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WardMode {
    /// Every row is a leaf.
    Exact,
    /// Every micro-cluster is a leaf.
    TwoLevel,
}

impl WardMode {
    /// The name in the summary and the model (`ward_mode`).
    pub fn name(self) -> &'static str {
        match self {
            WardMode::Exact => "exact",
            WardMode::TwoLevel => "two-level",
        }
    }
}

/// A fitted tree and what cutting it (again, at any k) needs.
#[derive(Debug, Clone, PartialEq)]
pub struct WardTree {
    pub mode: WardMode,
    pub linkage: Linkage,
    /// The leaves before any merge: centroids and weights (rows, or micro-clusters).
    pub leaves: Clusters,
    /// Two-level mode: the micro-cluster centre rows are assigned through, one per leaf.
    pub micro_centres: Option<Centres>,
    /// Σ w·‖x − leaf mean‖² inside the leaves (0 in exact mode).
    pub within_leaves: f64,
    /// Lloyd iterations of the micro-clustering (0 in exact mode) and whether it converged.
    pub iterations: usize,
    pub converged: bool,
    /// Whether cuts of this tree are consolidated.
    pub consolidate: bool,
    /// Exact mode: the dataset whose rows are the leaves, and its rows per chunk.
    data_id: u64,
    chunk_rows: Vec<usize>,
}

/// A tree cut into segments.
#[derive(Debug, Clone, PartialEq)]
pub struct WardFit {
    pub tree: Arc<WardTree>,
    pub k: usize,
    /// The segment of every leaf.
    pub leaf_segments: Vec<u32>,
    pub segments: WardSegments,
    /// Σ w per segment.
    pub weights: Vec<f64>,
    /// Σ w·‖x − segment centroid‖²: the leaves' own spread plus the Δ of every merge kept.
    pub inertia: f64,
    /// Height of the highest merge kept and of the lowest merge undone.
    pub kept_height: Option<f64>,
    pub undone_height: Option<f64>,
    /// The consolidation of the cut (leaves moved, rounds), if it ran.
    pub consolidation: Option<(usize, usize)>,
}

/// Builds the tree of `data` (exact or two-level, see [`WardValidParams::micro_clusters_for`])
/// and cuts it as `params` asks. `report` follows the micro-clustering K-Means.
pub fn fit(
    backend: &dyn Backend,
    data: &Dataset,
    params: &WardValidParams,
    report: &mut dyn FnMut(&IterationReport),
) -> Result<WardFit> {
    let rows = data.rows();
    if rows == 0 {
        return Err(ParamError::KTooLarge { k: params.cut.k().unwrap_or(1), rows }.into());
    }
    let micro_clusters = params.micro_clusters_for(rows);
    // A k the tree cannot reach is refused before the tree is built.
    if let Cut::K(k) = params.cut {
        let (mode, leaves) = micro_clusters.map_or((WardMode::Exact, rows), |m| (WardMode::TwoLevel, m));
        if k > leaves {
            return Err(too_many_segments(mode, k, leaves));
        }
    }
    let mut tree = match micro_clusters {
        None => exact_tree(data)?,
        Some(m) => two_level_tree(backend, data, params, m, report)?,
    };
    tree.consolidate = params.consolidates(tree.mode);
    let tree = Arc::new(tree);
    let k = match params.cut {
        Cut::K(k) => k,
        Cut::Distance(d) => tree.linkage.k_at_threshold(d),
    };
    tree.cut(k)
}

/// Every row a leaf; a row of weight 0 is refused (it would have no Ward cost).
fn exact_tree(data: &Dataset) -> Result<WardTree> {
    let (rows, dim) = (data.rows(), data.dim());
    let mut centroids = Vec::with_capacity(rows * dim);
    let mut weights = Vec::with_capacity(rows);
    for chunk in data.stream() {
        centroids.extend(chunk.values.iter().map(|&v| v as f64));
        for i in 0..chunk.rows(dim) {
            let w = chunk.weight(i);
            if w.is_nan() || w <= 0.0 {
                return Err(Error::data(
                    format!("the {} column", Param::Weights),
                    format!(
                        "row {} weighs {w}; exact Ward needs every row to weigh more than 0: drop those rows or give them a positive weight",
                        weights.len()
                    ),
                ));
            }
            weights.push(w as f64);
        }
    }
    let leaves = Clusters::new(dim, centroids, weights);
    Ok(WardTree {
        mode: WardMode::Exact,
        linkage: linkage(leaves.clone(), &vec![1; rows]),
        leaves,
        micro_centres: None,
        within_leaves: 0.0,
        iterations: 0,
        converged: true,
        consolidate: false,
        data_id: data.id(),
        chunk_rows: data.chunks().iter().map(|c| c.rows(dim)).collect(),
    })
}

/// `m` K-Means micro-clusters (seeded from a sample of the rows on large data, see
/// [`sample_seeds`]; else as a K-Means fit seeds itself), their count,
/// weight and sum from one more assignment pass (summed in f64 on the host, so every
/// backend builds the same tree from the same partition), and exact weighted Ward on them,
/// numbered by their first row (with one row each, leaf i is row i as in exact mode). Micro-clusters that
/// end with no weight are left out.
fn two_level_tree(
    backend: &dyn Backend,
    data: &Dataset,
    params: &WardValidParams,
    m: usize,
    report: &mut dyn FnMut(&IterationReport),
) -> Result<WardTree> {
    let seeding = std::time::Instant::now();
    let init = match sample_seeds(data, m, params.seed)? {
        Some(seeds) => {
            crate::info!("{m} micro-cluster seeds from a sample in {:.3}s", seeding.elapsed().as_secs_f64());
            Init::Centres(seeds)
        }
        None => Init::Auto { rounds: SEEDING_ROUNDS, oversampling: SEEDING_OVERSAMPLING },
    };
    let kmeans_params =
        KMeansParams { k: m, init, n_init: 1, max_iter: params.max_iter, tol: 1e-4, seed: params.seed }.check()?;
    let micro = kmeans::fit(backend, data, &kmeans_params, report)?;
    let stats = micro_statistics(backend, data, &micro.centres)?;
    let dim = data.dim();
    // Leaves numbered by their first row.
    let mut kept: Vec<usize> = (0..m).filter(|&c| stats.weights[c] > 0.0).collect();
    kept.sort_unstable_by_key(|&c| stats.first_rows[c]);
    let mut centroids = Vec::with_capacity(kept.len() * dim);
    let mut centres = Vec::with_capacity(kept.len() * dim);
    let mut off_centre = 0.0f64;
    for &c in &kept {
        let w = stats.weights[c];
        for j in 0..dim {
            let mean = stats.sums[c * dim + j] / w;
            let centre = micro.centres.centre(c)[j];
            off_centre += w * (mean - centre as f64).powi(2);
            centroids.push(mean);
            centres.push(centre);
        }
    }
    let weights: Vec<f64> = kept.iter().map(|&c| stats.weights[c]).collect();
    let counts: Vec<u64> = kept.iter().map(|&c| stats.counts[c]).collect();
    let leaves = Clusters::new(dim, centroids, weights);
    Ok(WardTree {
        mode: WardMode::TwoLevel,
        linkage: linkage(leaves.clone(), &counts),
        leaves,
        micro_centres: Some(Centres::new(kept.len(), dim, centres)),
        // Σ w‖x − c‖² = Σ w‖x − mean‖² + W‖mean − c‖² per micro-cluster.
        within_leaves: (stats.inertia - off_centre).max(0.0),
        iterations: micro.iterations,
        converged: micro.converged,
        consolidate: false,
        data_id: data.id(),
        chunk_rows: Vec::new(),
    })
}

/// k segments asked of a tree with fewer leaves (rows, or micro-clusters).
fn too_many_segments(mode: WardMode, k: usize, leaves: usize) -> Error {
    match mode {
        WardMode::Exact => ParamError::KTooLarge { k, rows: leaves },
        WardMode::TwoLevel => ParamError::Invalid {
            param: Param::K,
            message: format!(
                "k = {k} but the tree has {leaves} micro-clusters; ask for fewer segments or raise {}",
                Param::MicroClusters
            ),
        },
    }
    .into()
}

impl WardFit {
    /// The same fit with its segments in `order` (segment `order[i]` becomes segment `i`),
    /// as `fit --previous` numbers them by stable id. The tree is unchanged.
    pub fn reordered(&self, order: &[usize]) -> WardFit {
        assert_eq!(order.len(), self.k, "one position per segment");
        let mut new_of_old = vec![0u32; self.k];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old] = new as u32;
        }
        let relabel = |labels: &[u32]| labels.iter().map(|&s| new_of_old[s as usize]).collect::<Vec<u32>>();
        let c = &self.segments.centroids;
        let segments = WardSegments {
            centroids: Centres::new(c.k, c.dim, order.iter().flat_map(|&i| c.centre(i).iter().copied()).collect()),
            micro: self
                .segments
                .micro
                .as_ref()
                .map(|m| MicroClusters { centres: m.centres.clone(), segments: relabel(&m.segments) }),
            fitted: self.segments.fitted.as_ref().map(|f| FittedLabels {
                data_id: f.data_id,
                labels: Arc::new(f.labels.iter().map(|chunk| relabel(chunk)).collect()),
            }),
        };
        WardFit {
            leaf_segments: relabel(&self.leaf_segments),
            segments,
            weights: order.iter().map(|&i| self.weights[i]).collect(),
            tree: Arc::clone(&self.tree),
            ..self.clone()
        }
    }

    /// A height that separates the merges kept from those undone (midway between them).
    pub fn cut_height(&self) -> f64 {
        match (self.kept_height, self.undone_height) {
            (Some(kept), Some(undone)) => (kept + undone) / 2.0,
            (None, Some(undone)) => undone / 2.0,
            (Some(kept), None) => kept * 1.05,
            (None, None) => 0.0,
        }
    }
}

impl WardTree {
    /// The tree cut into `k` segments (select-k cuts one tree at every k).
    pub fn cut(self: &Arc<Self>, k: usize) -> Result<WardFit> {
        let leaves = self.linkage.leaves;
        if k == 0 || k > leaves {
            return Err(too_many_segments(self.mode, k, leaves));
        }
        let tree_segments = cut(&self.linkage, k);
        let dim = self.leaves.dim;
        let kept = leaves - k;
        let (leaf_segments, inertia, consolidation) = if self.consolidate {
            let c = consolidate(&self.leaves, &tree_segments, k);
            let spread = spread(&self.leaves, &c.leaf_segments, &segment_centroids(&self.leaves, &c.leaf_segments, k));
            (c.leaf_segments, self.within_leaves + spread, Some((c.moved, c.rounds)))
        } else {
            let merged: f64 = self.linkage.merges[..kept].iter().map(|m| m.height * m.height / 2.0).sum();
            (tree_segments, self.within_leaves + merged, None)
        };
        let mut weights = vec![0.0f64; k];
        for (leaf, &s) in leaf_segments.iter().enumerate() {
            weights[s as usize] += self.leaves.weights[leaf];
        }
        let centroids: Vec<f32> =
            segment_centroids(&self.leaves, &leaf_segments, k).iter().map(|&c| c as f32).collect();
        let fitted = (self.mode == WardMode::Exact).then(|| {
            let mut start = 0;
            let per_chunk = self
                .chunk_rows
                .iter()
                .map(|&n| {
                    start += n;
                    leaf_segments[start - n..start].to_vec()
                })
                .collect();
            FittedLabels { data_id: self.data_id, labels: Arc::new(per_chunk) }
        });
        let segments = WardSegments {
            centroids: Centres::new(k, dim, centroids),
            micro: self.micro_centres.clone().map(|centres| MicroClusters { centres, segments: leaf_segments.clone() }),
            fitted,
        };
        Ok(WardFit {
            tree: Arc::clone(self),
            k,
            leaf_segments,
            segments,
            weights,
            inertia,
            kept_height: kept.checked_sub(1).map(|i| self.linkage.merges[i].height),
            undone_height: self.linkage.merges.get(kept).map(|m| m.height),
            consolidation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::cluster::ward::WardParams;

    fn blobs() -> Dataset {
        // Three groups of ten along x, Gaussian within (no tied distances).
        let mut rng = crate::rng::Rng::new(3);
        let values: Vec<f32> =
            (0..30).flat_map(|i| [(i / 10) as f32 * 10.0 + rng.normal() as f32, rng.normal() as f32]).collect();
        Dataset::from_rows(&values, 2, None, 7)
    }

    #[test]
    fn exact_ward_labels_the_fitted_rows_by_the_cut_and_its_inertia_is_the_within_sum_of_squares() {
        let data = blobs();
        let params = WardParams::new(Cut::K(3)).check().unwrap();
        let fit = fit(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
        assert_eq!(fit.tree.mode, WardMode::Exact);
        let labels: Vec<u32> = fit.segments.fitted.as_ref().unwrap().labels.concat();
        assert_eq!(labels, (0..30).map(|i| i / 10).collect::<Vec<u32>>());
        let mut direct = 0.0;
        for (i, &label) in labels.iter().enumerate() {
            let c = fit.segments.centroids.centre(label as usize);
            direct += data.row(i).iter().zip(c).map(|(&x, &c)| (x as f64 - c as f64).powi(2)).sum::<f64>();
        }
        assert!((fit.inertia - direct).abs() <= 1e-5 * direct, "{} vs {direct}", fit.inertia);
        assert!(fit.kept_height.unwrap() < fit.undone_height.unwrap());
        assert!(matches!(fit.tree.cut(31), Err(Error::Param(ParamError::KTooLarge { k: 31, rows: 30 }))));
    }

    #[test]
    fn a_row_of_weight_two_merges_like_two_copies_of_it() {
        let data = blobs();
        let values: Vec<f32> = (0..30).flat_map(|i| data.row(i).to_vec()).collect();
        let weights: Vec<f32> = (0..30).map(|i| if i % 4 == 0 { 2.0 } else { 1.0 }).collect();
        let weighted = Dataset::from_rows(&values, 2, Some(&weights), 8);
        let copies: Vec<f32> = (0..30)
            .flat_map(|i| if i % 4 == 0 { [data.row(i), data.row(i)].concat() } else { data.row(i).to_vec() })
            .collect();
        let duplicated = Dataset::from_rows(&copies, 2, None, 8);
        let params = WardParams::new(Cut::K(3)).check().unwrap();
        let a = fit(&CpuBackend, &weighted, &params, &mut |_| {}).unwrap();
        let b = fit(&CpuBackend, &duplicated, &params, &mut |_| {}).unwrap();
        // The copies first merge at height 0; from there on the trees are the same.
        let copies = weights.iter().filter(|&&w| w == 2.0).count();
        let heights = b.tree.linkage.heights();
        assert!(heights[..copies].iter().all(|&h| h == 0.0));
        assert_eq!(heights[copies..], a.tree.linkage.heights()[..]);
        assert_eq!(a.inertia, b.inertia);
        assert_eq!(a.weights, b.weights);
    }

    #[test]
    fn a_distance_cut_undoes_every_merge_at_or_above_it() {
        let data = blobs();
        let fit = fit(&CpuBackend, &data, &WardParams::new(Cut::Distance(5.0)).check().unwrap(), &mut |_| {}).unwrap();
        assert_eq!(fit.k, 3);
        assert!(fit.undone_height.unwrap() >= 5.0 && fit.kept_height.unwrap() < 5.0);
    }

    #[test]
    fn a_row_of_weight_zero_is_refused_in_exact_mode() {
        let data = Dataset::from_rows(&[0.0, 1.0, 2.0], 1, Some(&[1.0, 0.0, 1.0]), 8);
        let err = fit(&CpuBackend, &data, &WardParams::new(Cut::K(2)).check().unwrap(), &mut |_| {}).unwrap_err();
        assert_eq!(err.exit_code(), 3, "{err}");
        assert!(err.to_string().contains("row 1 weighs 0"), "{err}");
    }

    #[test]
    fn two_level_mode_with_every_row_its_own_micro_cluster_builds_the_exact_tree() {
        let data = blobs();
        let exact = fit(&CpuBackend, &data, &WardParams::new(Cut::K(3)).check().unwrap(), &mut |_| {}).unwrap();
        let params = WardParams { micro_clusters: Some(30), ..WardParams::new(Cut::K(3)) }.check().unwrap();
        let two = fit(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
        assert_eq!(two.tree.mode, WardMode::TwoLevel);
        assert_eq!(two.tree.linkage.heights(), exact.tree.linkage.heights());
        // Two-level mode consolidates its cut; these groups are apart, so nothing moves.
        assert_eq!((exact.consolidation, two.consolidation), (None, Some((0, 0))));
        assert!((two.inertia - exact.inertia).abs() <= 1e-9 * exact.inertia, "{} vs {}", two.inertia, exact.inertia);
    }

    #[test]
    fn consolidation_moves_leaves_to_the_nearest_segment_centroid_and_lowers_the_inertia() {
        // Four overlapping groups on a square: Ward's cut at 4 leaves some rows nearer
        // another segment's centroid.
        let mut rng = crate::rng::Rng::new(11);
        let values: Vec<f32> = (0..800)
            .flat_map(|i| [(i % 2) as f32 * 2.5 + rng.normal() as f32, (i / 2 % 2) as f32 * 2.5 + rng.normal() as f32])
            .collect();
        let data = Dataset::from_rows(&values, 2, None, 64);
        let k = 4;
        let plain = fit(&CpuBackend, &data, &WardParams::new(Cut::K(k)).check().unwrap(), &mut |_| {}).unwrap();
        let params = WardParams { consolidate: Some(true), ..WardParams::new(Cut::K(k)) }.check().unwrap();
        let consolidated = fit(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
        assert_eq!(plain.tree.linkage, consolidated.tree.linkage, "the tree is unchanged");
        let (moved, rounds) = consolidated.consolidation.unwrap();
        assert!(moved > 0 && rounds > 0, "moved {moved} in {rounds} rounds");
        assert!(consolidated.inertia < plain.inertia, "{} vs {}", consolidated.inertia, plain.inertia);
        // Every row is nearest its own segment's centroid now.
        let labels = consolidated.segments.fitted.as_ref().unwrap().labels.concat();
        let c = &consolidated.segments.centroids;
        for (i, &l) in labels.iter().enumerate() {
            let d = |s: usize| data.row(i).iter().zip(c.centre(s)).map(|(x, c)| (x - c).powi(2)).sum::<f32>();
            assert!((0..k).all(|s| d(l as usize) <= d(s) * (1.0 + 1e-6)), "row {i}");
        }
    }
}
