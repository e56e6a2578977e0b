//! Column statistics without sorting: when no quantile is needed (no `--clip`, no median
//! imputation, no robust scaling), a numeric column's fit needs only the count, sum, range
//! and squared deviations of its values. They are taken here in two row-major passes over
//! groups of columns at once, in parallel over the groups, instead of copying each column
//! into its own vector: the prep then costs about what copying the rows costs.
//!
//! Sums run in row order, then over the imputed values, as `NumericColumn::fit` adds up its
//! vector, so both ways give the same bits (a test checks it).

use rayon::prelude::*;

use super::{Impute, PrepParams, RowMasks};
use crate::error::{Error, Param, Result};
use crate::io::reader::RawTable;

/// Columns per group (at most): one pass reads the 64-byte lines holding them.
const GROUP: usize = 16;

/// A numeric column's statistics after log1p and imputation (no clipping).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Moments {
    pub fill: f64,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub missing: u64,
    /// Values present (not missing).
    pub present: u64,
}

/// Whether a fit with `params` needs no quantile, so [`moments`] can replace sorting.
pub(super) fn unsorted(params: &PrepParams) -> bool {
    params.clip.is_none() && params.impute != Impute::Median && params.scale != super::ScaleKind::Robust
}

/// Per numeric column of `table`, its [`Moments`] over the rows `masks` keeps (log1p where
/// `params` asks); the first value a log1p column cannot take (in column, then row order)
/// is an error.
pub(super) fn moments(table: &RawTable, params: &PrepParams, masks: &RowMasks) -> Result<Vec<Moments>> {
    let d = table.numeric.len();
    let log1p: Vec<bool> = table.numeric.iter().map(|n| params.log1p.contains(n)).collect();
    // Narrower groups when there are fewer than one per thread (each column's sums keep
    // their row order, so the grouping cannot change a bit).
    let group = GROUP.min(d.div_ceil(rayon::current_num_threads().max(1))).max(1);
    let groups: Vec<Vec<Moments>> = (0..d)
        .step_by(group)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| group_moments(table, masks, start..(start + group).min(d), &log1p))
        .collect::<Result<_>>()?;
    Ok(groups.into_iter().flatten().collect())
}

/// Both passes for the columns `cols`.
fn group_moments(
    table: &RawTable,
    masks: &RowMasks,
    cols: std::ops::Range<usize>,
    log1p: &[bool],
) -> Result<Vec<Moments>> {
    let (d, w) = (table.numeric.len(), cols.len());
    let value = |j: usize, v: f32| if log1p[j] { (v as f64).ln_1p() } else { v as f64 };
    let (mut sum, mut min, mut max) = (vec![0.0f64; w], vec![f64::INFINITY; w], vec![f64::NEG_INFINITY; w]);
    let (mut present, mut missing) = (vec![0u64; w], vec![0u64; w]);
    let mut bad: Vec<Option<(usize, usize, f32)>> = vec![None; w];
    for (b, (batch, keep)) in table.batches.iter().zip(&masks.keep).enumerate() {
        for i in (0..batch.rows()).filter(|&i| keep[i]) {
            let row = &batch.numeric[i * d + cols.start..i * d + cols.end];
            for (c, &v) in row.iter().enumerate() {
                if v.is_nan() {
                    missing[c] += 1;
                } else if log1p[cols.start + c] && v <= -1.0 {
                    bad[c].get_or_insert((b, i, v));
                } else {
                    let x = value(cols.start + c, v);
                    sum[c] += x;
                    min[c] = min[c].min(x);
                    max[c] = max[c].max(x);
                    present[c] += 1;
                }
            }
        }
    }
    if let Some((c, &(b, i, v))) = bad.iter().enumerate().find_map(|(c, e)| e.as_ref().map(|e| (c, e))) {
        let batch = &table.batches[b];
        return Err(Error::data(
            &table.files[batch.file].path,
            format!(
                "column '{}', row {}: value {v} ≤ −1 cannot take {log1p}; clean the values or leave the column out of {log1p}",
                table.numeric[cols.start + c],
                batch.first_row + i,
                log1p = Param::Log1p
            ),
        ));
    }
    // The mean of the present values is the imputed value; the fills then join the sums.
    let mut out: Vec<Moments> = (0..w)
        .map(|c| {
            let fill = sum[c] / present[c] as f64;
            let mut total = sum[c];
            for _ in 0..missing[c] {
                total += fill;
            }
            let (lo, hi) = if missing[c] > 0 { (min[c].min(fill), max[c].max(fill)) } else { (min[c], max[c]) };
            let n = (present[c] + missing[c]) as f64;
            Moments { fill, mean: total / n, std: 0.0, min: lo, max: hi, missing: missing[c], present: present[c] }
        })
        .collect();
    let mut sq = vec![0.0f64; w];
    for (batch, keep) in table.batches.iter().zip(&masks.keep) {
        for i in (0..batch.rows()).filter(|&i| keep[i]) {
            let row = &batch.numeric[i * d + cols.start..i * d + cols.end];
            for (c, &v) in row.iter().enumerate() {
                if !v.is_nan() {
                    let t = value(cols.start + c, v) - out[c].mean;
                    sq[c] += t * t;
                }
            }
        }
    }
    for (c, m) in out.iter_mut().enumerate() {
        let t = m.fill - m.mean;
        for _ in 0..m.missing {
            sq[c] += t * t;
        }
        m.std = (sq[c] / (m.present + m.missing) as f64).sqrt();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::reader::{RawBatch, RawTable};
    use crate::prep::{row_masks, Duplicates, NumericColumn, ScaleKind};

    #[test]
    fn the_unsorted_fit_gives_the_bits_of_the_sorted_one() {
        // Two batches of 3 rows × 3 columns (row-major), missing values, a log1p column.
        let batch = |first_row: usize, numeric: Vec<f32>| RawBatch {
            first_row,
            file: 0,
            ids: std::sync::Arc::new(arrow::array::UInt64Array::from(
                (first_row as u64..first_row as u64 + 3).collect::<Vec<_>>(),
            )),
            numeric,
            codes: Vec::new(),
            weights: None,
        };
        let table = RawTable {
            files: vec![crate::io::reader::InputFile { path: "t.parquet".into(), bytes: 0, rows: 6 }],
            schema: Vec::new(),
            id: None,
            numeric: vec!["a".into(), "b".into(), "c".into()],
            categorical: Vec::new(),
            levels: Vec::new(),
            batches: vec![
                batch(0, vec![1.5, f32::NAN, 0.25, -0.5, 7.0, 0.0, 2.0, 3.0, f32::NAN]),
                batch(3, vec![1e6, 2.0, 0.125, 4.5, 8.0, 1.0, 3.25, 9.0, 1.0]),
            ],
        };
        for scale in [ScaleKind::Zscore, ScaleKind::Minmax, ScaleKind::None] {
            for log1p in [vec![], vec!["c".to_string()]] {
                let params = PrepParams { impute: Impute::Mean, scale, log1p, clip: None, dedup: false };
                assert!(unsorted(&params));
                let masks = row_masks(&table, params.impute, Duplicates::Allow).unwrap();
                let fast = NumericColumn::fit_all(&table, &params, &masks).unwrap();
                for (j, fast) in fast.into_iter().enumerate() {
                    assert_eq!(fast, NumericColumn::fit(&table, j, &params, &masks).unwrap(), "column {j} {scale:?}");
                }
            }
        }
    }
}
