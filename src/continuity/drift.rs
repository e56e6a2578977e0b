//! Drift: how far today's rows have moved from the rows a model was trained on.
//!
//! The model stores a [`DriftReference`]: per numeric feature, in original units, the
//! training range and the training rows' shares between decile edges (found on a
//! 1,024-bin histogram between the range's ends, so three streamed passes give the same
//! answer in memory and from the on-disk cache); per categorical feature, each level's share
//! and an `unseen` bin. Against it, today's rows give each feature's population stability
//! index PSI = Σ (a − e)·ln(a / e) over the bins (shares floored at [`PSI_FLOOR`]), the share
//! of values outside the training range, and each segment's share change.
//!
//! Bands (the usual credit-scoring ones): PSI < 0.1 none, 0.1 ≤ PSI < 0.25 moderate,
//! ≥ 0.25 significant; the level is the band of the largest PSI. PSI has sampling noise:
//! two samples of one population give about (bins − 1)·(1/n + 1/n_ref) on average, which
//! the summary reports as `noise_floor` (0.009 for 10 bins and 2,000 rows each).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::drift_blocks::{fold_blocks, Block};
use crate::data::Dataset;
pub use crate::model::drift_reference::{CategoricalReference, DriftReference, NumericReference};
use crate::prep::Prep;

/// The exit code of a run whose drift reached `--fail-on-drift` (its outputs are written).
pub const DRIFT_EXIT_CODE: u8 = 6;
/// Shares below this count as this in PSI (an empty bin would make it infinite).
pub const PSI_FLOOR: f64 = 1e-4;
/// Histogram bins the decile edges are read from.
const FINE_BINS: usize = 1024;
/// Quantile bins per numeric feature (at most; tied values merge bins).
const QUANTILE_BINS: usize = 10;

/// Drift bands of the largest PSI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftLevel {
    /// PSI < 0.1.
    None,
    /// 0.1 ≤ PSI < 0.25.
    Moderate,
    /// PSI ≥ 0.25.
    Significant,
}

impl DriftLevel {
    /// The band of `psi`.
    pub fn of(psi: f64) -> DriftLevel {
        if psi >= 0.25 {
            DriftLevel::Significant
        } else if psi >= 0.1 {
            DriftLevel::Moderate
        } else {
            DriftLevel::None
        }
    }
}

/// One segment's share of the rows in the reference run and today.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareChange {
    pub segment: u32,
    pub previous_share: f64,
    pub share: f64,
    pub change: f64,
}

/// The summary's `drift` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub rows: u64,
    pub reference_rows: u64,
    /// PSI per feature.
    pub psi: BTreeMap<String, f64>,
    pub max_psi: f64,
    pub level: DriftLevel,
    /// Average PSI of two samples of one population of these sizes (see the module docs).
    pub noise_floor: f64,
    /// Per numeric feature, the share of today's rows outside the training range.
    pub outside_training_range: BTreeMap<String, f64>,
    pub segment_share_change: Vec<ShareChange>,
    /// `--fail-on-drift`, and whether the level reached it.
    pub fail_on: Option<DriftLevel>,
    pub failed: bool,
}

/// The process exit code for a run's summary: [`DRIFT_EXIT_CODE`] when its drift failed.
pub fn exit_code(summary: &serde_json::Value) -> u8 {
    if summary.pointer("/drift/failed").and_then(|f| f.as_bool()) == Some(true) {
        DRIFT_EXIT_CODE
    } else {
        0
    }
}

/// Bin of `v` among increasing `edges`: how many edges are ≤ v (counted without branches:
/// a binary search over ten edges mispredicts on every value).
fn bin(edges: &[f64], v: f64) -> usize {
    edges.iter().map(|&e| usize::from(e <= v)).sum()
}

/// Counts of today's rows in a reference's bins.
#[derive(Clone)]
struct Observed {
    rows: u64,
    /// Per reference numeric feature: bin counts and rows outside the range (None: the
    /// feature is not among today's).
    numeric: Vec<Option<(Vec<u64>, u64)>>,
    /// Per reference categorical feature: level counts then unseen (None: not today's).
    categorical: Vec<Option<Vec<u64>>>,
}

impl Observed {
    /// Adds another block's counts (same reference, same features).
    fn add(&mut self, other: Observed) {
        self.rows += other.rows;
        for (mine, theirs) in self.numeric.iter_mut().zip(other.numeric) {
            if let (Some((bins, outside)), Some((more, more_outside))) = (mine, theirs) {
                add_counts(bins, &more);
                *outside += more_outside;
            }
        }
        for (mine, theirs) in self.categorical.iter_mut().zip(other.categorical) {
            if let (Some(counts), Some(more)) = (mine, theirs) {
                add_counts(counts, &more);
            }
        }
    }
}

fn add_counts(counts: &mut [u64], more: &[u64]) {
    for (c, m) in counts.iter_mut().zip(more) {
        *c += m;
    }
}

/// Counts `data` (prepared by `prep`) in the bins of `reference`, one streamed pass.
fn observe(reference: &DriftReference, prep: &Prep, data: &Dataset) -> Observed {
    let numeric_index: Vec<Option<usize>> =
        reference.numeric.iter().map(|r| prep.numeric.iter().position(|c| c.name == r.feature)).collect();
    // Per reference categorical feature: today's one-hot offset of each reference level.
    let mut offsets = Vec::new();
    let mut start = 0;
    for c in &prep.categorical {
        offsets.push((c.name.clone(), start, c.levels.clone()));
        start += c.width();
    }
    let level_index: Vec<Option<Vec<Option<usize>>>> = reference
        .categorical
        .iter()
        .map(|r| {
            offsets.iter().find(|(name, ..)| *name == r.feature).map(|(_, start, levels)| {
                r.levels.iter().map(|l| levels.iter().position(|t| t == l).map(|i| start + i)).collect()
            })
        })
        .collect();
    let empty = Observed {
        rows: 0,
        numeric: reference
            .numeric
            .iter()
            .zip(&numeric_index)
            .map(|(r, i)| i.map(|_| (vec![0; r.shares.len()], 0)))
            .collect(),
        categorical: reference
            .categorical
            .iter()
            .zip(&level_index)
            .map(|(r, i)| i.as_ref().map(|_| vec![0; r.shares.len()]))
            .collect(),
    };
    let count = |observed: &mut Observed, block: &Block| {
        observed.rows += block.rows() as u64;
        for ((r, index), counts) in reference.numeric.iter().zip(&numeric_index).zip(&mut observed.numeric) {
            if let (Some(j), Some((bins, outside))) = (index, counts) {
                for &v in block.column(*j) {
                    bins[bin(&r.edges, v)] += 1;
                    *outside += u64::from(v < r.min || v > r.max);
                }
            }
        }
        for onehot in block.onehot() {
            for (levels, counts) in level_index.iter().zip(&mut observed.categorical) {
                if let (Some(levels), Some(counts)) = (levels, counts) {
                    let hit = levels.iter().position(|o| o.is_some_and(|o| onehot[o] > 0.5));
                    counts[hit.unwrap_or(levels.len())] += 1;
                }
            }
        }
    };
    fold_blocks(prep, data, &empty, count, Observed::add)
}

fn shares(counts: &[u64], rows: u64) -> Vec<f64> {
    counts.iter().map(|&c| c as f64 / rows.max(1) as f64).collect()
}

/// The reference distribution of the training rows `data`, prepared by `prep` (three
/// streamed passes: range, histogram, bin counts).
pub fn reference(prep: &Prep, data: &Dataset) -> DriftReference {
    let n_numeric = prep.numeric.len();
    let range = fold_blocks(
        prep,
        data,
        &vec![(f64::INFINITY, f64::NEG_INFINITY); n_numeric],
        |range, block| {
            for (j, r) in range.iter_mut().enumerate() {
                for &v in block.column(j) {
                    *r = (r.0.min(v), r.1.max(v));
                }
            }
        },
        |range, other| {
            for (r, o) in range.iter_mut().zip(other) {
                *r = (r.0.min(o.0), r.1.max(o.1));
            }
        },
    );
    let (histograms, rows) = fold_blocks(
        prep,
        data,
        &(vec![vec![0u64; FINE_BINS]; n_numeric], 0u64),
        |(histograms, rows), block| {
            *rows += block.rows() as u64;
            for (j, (h, &(lo, hi))) in histograms.iter_mut().zip(&range).enumerate() {
                for &v in block.column(j) {
                    let b = if hi > lo { ((v - lo) / (hi - lo) * FINE_BINS as f64) as usize } else { 0 };
                    h[b.min(FINE_BINS - 1)] += 1;
                }
            }
        },
        |(histograms, rows), (more, more_rows)| {
            *rows += more_rows;
            for (h, m) in histograms.iter_mut().zip(&more) {
                add_counts(h, m);
            }
        },
    );
    let numeric = prep
        .numeric
        .iter()
        .zip(&range)
        .zip(&histograms)
        .map(|((col, &(min, max)), histogram)| {
            let edges = decile_edges(histogram, min, max, rows);
            NumericReference { feature: col.name.clone(), min, max, shares: vec![0.0; edges.len() + 1], edges }
        })
        .collect();
    let categorical = prep
        .categorical
        .iter()
        .map(|c| CategoricalReference {
            feature: c.name.clone(),
            levels: c.levels.clone(),
            shares: vec![0.0; c.width() + 1],
        })
        .collect();
    let mut reference = DriftReference { rows, numeric, categorical };
    let observed = observe(&reference, prep, data);
    for (r, counts) in reference.numeric.iter_mut().zip(&observed.numeric) {
        r.shares = shares(&counts.as_ref().expect("the training prep has every feature").0, rows);
    }
    for (r, counts) in reference.categorical.iter_mut().zip(&observed.categorical) {
        r.shares = shares(counts.as_ref().expect("the training prep has every feature"), rows);
    }
    reference
}

/// Decile edges read off a histogram of `rows` values over `[min, max]`: the upper end of
/// the first bin where the cumulative count reaches each tenth, ties merged.
fn decile_edges(histogram: &[u64], min: f64, max: f64, rows: u64) -> Vec<f64> {
    let width = (max - min) / histogram.len() as f64;
    let mut edges: Vec<f64> = Vec::new();
    let mut cumulative = 0u64;
    let mut q = 1;
    for (b, &count) in histogram.iter().enumerate() {
        cumulative += count;
        while q < QUANTILE_BINS && cumulative as f64 >= q as f64 * rows as f64 / QUANTILE_BINS as f64 {
            let edge = min + (b + 1) as f64 * width;
            if edge < max && edges.last().is_none_or(|&last| edge > last) {
                edges.push(edge);
            }
            q += 1;
        }
    }
    edges
}

/// PSI of actual shares against expected ones, both floored at [`PSI_FLOOR`].
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(PSI_FLOOR), a.max(PSI_FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Today's drift from `reference`: `data` prepared by `prep`; `shares` pairs each segment
/// id with its reference share and today's.
pub fn measure(
    reference: &DriftReference,
    prep: &Prep,
    data: &Dataset,
    shares_by_id: Vec<(u32, f64, f64)>,
    fail_on: Option<DriftLevel>,
) -> Drift {
    let observed = observe(reference, prep, data);
    let mut psi_by_feature = BTreeMap::new();
    let mut outside = BTreeMap::new();
    let mut most_bins = 1usize;
    for (r, counts) in reference.numeric.iter().zip(&observed.numeric) {
        if let Some((bins, out)) = counts {
            psi_by_feature.insert(r.feature.clone(), psi(&r.shares, &shares(bins, observed.rows)));
            outside.insert(r.feature.clone(), *out as f64 / observed.rows.max(1) as f64);
            most_bins = most_bins.max(r.shares.len());
        }
    }
    for (r, counts) in reference.categorical.iter().zip(&observed.categorical) {
        if let Some(counts) = counts {
            psi_by_feature.insert(r.feature.clone(), psi(&r.shares, &shares(counts, observed.rows)));
            most_bins = most_bins.max(r.shares.len());
        }
    }
    let max_psi = psi_by_feature.values().copied().fold(0.0, f64::max);
    let level = DriftLevel::of(max_psi);
    let noise_floor = (most_bins - 1) as f64 * (1.0 / observed.rows.max(1) as f64 + 1.0 / reference.rows.max(1) as f64);
    Drift {
        rows: observed.rows,
        reference_rows: reference.rows,
        psi: psi_by_feature,
        max_psi,
        level,
        noise_floor,
        outside_training_range: outside,
        segment_share_change: shares_by_id
            .into_iter()
            .map(|(segment, previous_share, share)| ShareChange {
                segment,
                previous_share,
                share,
                change: share - previous_share,
            })
            .collect(),
        fail_on,
        failed: fail_on.is_some_and(|f| level >= f),
    }
}

/// Pairs of (id, reference share, today's share) over the ids of either side (0 where a
/// side lacks the id), in id order.
pub fn share_pairs(reference: &[(u32, u64)], today: &[(u32, u64)]) -> Vec<(u32, f64, f64)> {
    let total = |s: &[(u32, u64)]| s.iter().map(|p| p.1).sum::<u64>().max(1) as f64;
    let (rt, tt) = (total(reference), total(today));
    let mut by_id: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    for &(id, n) in reference {
        by_id.entry(id).or_default().0 = n as f64 / rt;
    }
    for &(id, n) in today {
        by_id.entry(id).or_default().1 = n as f64 / tt;
    }
    by_id.into_iter().map(|(id, (r, t))| (id, r, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_matches_a_hand_computed_value_and_is_zero_on_the_same_shares() {
        let e = [0.25, 0.25, 0.5];
        let a = [0.2, 0.3, 0.5];
        let by_hand = (0.2f64 - 0.25) * (0.2f64 / 0.25).ln() + (0.3f64 - 0.25) * (0.3f64 / 0.25).ln();
        assert!((psi(&e, &a) - by_hand).abs() < 1e-15);
        assert_eq!(psi(&e, &e), 0.0);
        assert!(psi(&[1.0, 0.0], &[0.0, 1.0]).is_finite(), "empty bins are floored");
    }

    #[test]
    fn bins_count_the_edges_at_or_below_a_value_as_a_binary_search_does() {
        let edges = [-2.5, 0.0, 1.0, 1.5, 7.0];
        for v in [-3.0, -2.5, -0.0, 0.0, 0.5, 1.0, 1.25, 1.5, 6.9, 7.0, 8.0, f64::INFINITY, f64::NAN] {
            assert_eq!(bin(&edges, v), edges.partition_point(|&e| e <= v), "{v}");
        }
        assert_eq!(bin(&[], 1.0), 0);
    }

    #[test]
    fn bands_are_none_moderate_significant() {
        assert_eq!(DriftLevel::of(0.099), DriftLevel::None);
        assert_eq!(DriftLevel::of(0.1), DriftLevel::Moderate);
        assert_eq!(DriftLevel::of(0.25), DriftLevel::Significant);
        assert!(DriftLevel::Significant > DriftLevel::Moderate && DriftLevel::Moderate > DriftLevel::None);
    }

    #[test]
    fn deciles_of_uniform_values_are_tenths_and_ties_merge() {
        let mut histogram = vec![0u64; FINE_BINS];
        for v in 0..10_000 {
            histogram[(v as f64 / 10_000.0 * FINE_BINS as f64) as usize] += 1;
        }
        let edges = decile_edges(&histogram, 0.0, 1.0, 10_000);
        assert_eq!(edges.len(), 9);
        for (i, e) in edges.iter().enumerate() {
            assert!((e - (i + 1) as f64 / 10.0).abs() < 2.0 / FINE_BINS as f64, "{edges:?}");
        }
        let mut lumpy = vec![0u64; FINE_BINS];
        lumpy[0] = 900;
        lumpy[FINE_BINS - 1] = 100;
        assert_eq!(decile_edges(&lumpy, 0.0, 1.0, 1000).len(), 1);
    }

    #[test]
    fn share_pairs_cover_ids_of_either_side() {
        let pairs = share_pairs(&[(0, 50), (1, 50)], &[(0, 40), (2, 60)]);
        assert_eq!(pairs, vec![(0, 0.5, 0.4), (1, 0.5, 0.0), (2, 0.0, 0.6)]);
    }
}
