//! The profiles' one pass over the labelled rows: per segment and feature, sums in original
//! units (shifted), the whole base's sums and squares, the values medians are taken on, and
//! the one-hot shares. Groups of numeric features (and the one-hot columns) run on their own
//! threads; each sum still adds its rows in row order, so the bits do not depend on the
//! number of threads.

use std::ops::Range;

use rayon::prelude::*;

use crate::data::Dataset;
use crate::prep::{NumericColumn, Prep};

/// What the pass gives, indexed `[segment][feature]` (numeric features, then one-hot columns).
pub(super) struct SegmentSums {
    /// Sums of `value − shift` per segment and numeric feature.
    pub sums: Vec<Vec<f64>>,
    /// Over every row: sums of `value − shift` and of its square, per numeric feature.
    pub base_sum: Vec<f64>,
    pub base_sq: Vec<f64>,
    /// Values (original units) of every `stride`-th row, per segment and numeric feature.
    pub for_median: Vec<Vec<Vec<f64>>>,
    /// Sums of each one-hot column per segment.
    pub shares: Vec<Vec<f64>>,
}

/// The sums of one group of numeric features, flat `segment × feature in the group`.
struct FeatureGroup {
    features: Range<usize>,
    sums: Vec<f64>,
    base_sum: Vec<f64>,
    base_sq: Vec<f64>,
    for_median: Vec<Vec<f64>>,
}

impl FeatureGroup {
    fn new(features: Range<usize>, k: usize) -> FeatureGroup {
        let g = features.len();
        FeatureGroup {
            features,
            sums: vec![0.0; k * g],
            base_sum: vec![0.0; g],
            base_sq: vec![0.0; g],
            for_median: vec![Vec::new(); k * g],
        }
    }

    /// Adds one chunk's rows (`first_row` is the first one's row number).
    fn add(&mut self, columns: &[NumericColumn], rows: Rows, shift: &[f64], stride: usize) {
        let (start, g) = (self.features.start, self.features.len());
        let columns = &columns[self.features.clone()];
        for (i, (x, &l)) in rows.values.chunks_exact(rows.dim).zip(rows.labels).enumerate() {
            let l = l as usize;
            let take = (rows.first_row + i).is_multiple_of(stride);
            for (f, col) in columns.iter().enumerate() {
                let j = start + f;
                let v = col.inverse(x[j] as f64);
                let t = v - shift[j];
                self.sums[l * g + f] += t;
                self.base_sum[f] += t;
                self.base_sq[f] += t * t;
                if take {
                    self.for_median[l * g + f].push(v);
                }
            }
        }
    }
}

/// One chunk's labelled rows.
#[derive(Clone, Copy)]
struct Rows<'a> {
    values: &'a [f32],
    labels: &'a [u32],
    dim: usize,
    first_row: usize,
}

/// Adds one chunk's one-hot columns (those after the `n_numeric` numeric ones) per segment.
fn add_shares(shares: &mut [Vec<f64>], rows: Rows, n_numeric: usize) {
    for (x, &l) in rows.values.chunks_exact(rows.dim).zip(rows.labels) {
        for (s, &v) in shares[l as usize].iter_mut().zip(&x[n_numeric..]) {
            *s += v as f64;
        }
    }
}

/// The profiles' sums of `data` (prepared by `prep`) in the `k` segments of `labels` (per
/// chunk), numeric values shifted by `shift`, medians' values on every `stride`-th row.
pub(super) fn segment_sums(
    prep: &Prep,
    data: &Dataset,
    labels: &[Vec<u32>],
    k: usize,
    shift: &[f64],
    stride: usize,
) -> SegmentSums {
    let (d, n_numeric) = (data.dim(), prep.numeric.len());
    let per_group = n_numeric.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let mut groups: Vec<FeatureGroup> = (0..n_numeric)
        .step_by(per_group)
        .map(|start| FeatureGroup::new(start..(start + per_group).min(n_numeric), k))
        .collect();
    let mut shares = vec![vec![0.0f64; d - n_numeric]; k];
    let mut first_row = 0;
    for (chunk, chunk_labels) in data.stream().zip(labels) {
        let rows = Rows { values: &chunk.values, labels: chunk_labels, dim: d, first_row };
        rayon::join(
            || groups.par_iter_mut().for_each(|g| g.add(&prep.numeric, rows, shift, stride)),
            || add_shares(&mut shares, rows, n_numeric),
        );
        first_row += chunk_labels.len();
    }
    let mut sums = vec![Vec::with_capacity(n_numeric); k];
    let mut for_median: Vec<Vec<Vec<f64>>> = vec![Vec::with_capacity(n_numeric); k];
    let (mut base_sum, mut base_sq) = (Vec::with_capacity(n_numeric), Vec::with_capacity(n_numeric));
    for group in groups {
        let g = group.features.len();
        let mut values = group.for_median.into_iter();
        for (c, (segment_sums, segment_values)) in sums.iter_mut().zip(&mut for_median).enumerate() {
            segment_sums.extend_from_slice(&group.sums[c * g..(c + 1) * g]);
            segment_values.extend(values.by_ref().take(g));
        }
        base_sum.extend(group.base_sum);
        base_sq.extend(group.base_sq);
    }
    SegmentSums { sums, base_sum, base_sq, for_median, shares }
}
