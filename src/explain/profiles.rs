//! Segment profiles: size, share, mean and median of every feature in original units (and
//! the whole base's), its z-score against the base, the features that set the segment apart,
//! well-supported categories, and a short generated descriptor in original units ("last
//! purchase 210 days ago vs 48 · 62 % country=UK"; see [`super::labels`] for the rules).
//! Unweighted (rows). Numeric values are the prepared values mapped back to original units,
//! so they include imputed values and winsorising.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::atomic::Staged;
use crate::prep::Prep;

use super::labels;
use super::segment_sums::{segment_sums, SegmentSums};

/// Segment medians are exact up to this many rows; beyond, they are taken on every
/// ⌈n / this⌉-th row (means, z-scores and shares stay exact).
pub const MEDIAN_ROWS: usize = 250_000;

/// |z| above which a feature is named in the descriptor.
const NOTABLE_Z: f64 = 0.5;

/// One numeric feature within a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    pub feature: String,
    /// None when the segment has no rows.
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// (segment mean − base mean) / base standard deviation.
    pub z: f64,
    /// The whole base's mean and median (None when there are no rows).
    #[serde(default)]
    pub base_mean: Option<f64>,
    #[serde(default)]
    pub base_median: Option<f64>,
}

/// A category level common enough in the segment to name (see [`super::labels`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryLift {
    /// `column=level`.
    pub level: String,
    pub share: f64,
    pub base_share: f64,
    pub lift: f64,
    /// Customers of the segment with this level.
    #[serde(default)]
    pub customers: u64,
}

/// One segment's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentProfile {
    pub segment: u32,
    /// The name given with `--names`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub size: u64,
    pub share: f64,
    pub descriptor: String,
    /// Up to three numeric features with the largest |z|, largest first.
    pub top_features: Vec<String>,
    pub features: Vec<FeatureProfile>,
    /// Every one-hot column's share in the segment (same order as the model's features).
    pub category_shares: Vec<(String, f64)>,
    /// Levels well-supported enough to name, largest share first (at most three).
    pub over_represented: Vec<CategoryLift>,
}

/// Profiles of the `k` segments that `labels` (per chunk) give the rows of `data`.
pub fn profile(prep: &Prep, data: &Dataset, labels: &[Vec<u32>], k: usize) -> Vec<SegmentProfile> {
    let d = data.dim();
    let n_numeric = prep.numeric.len();
    let names = prep.feature_names();
    let mut sizes = vec![0u64; k];
    let labelled = || data.stream().zip(labels).flat_map(move |(c, l)| c.values.chunks_exact(d).zip(l.iter()));
    for &l in labels.iter().flatten() {
        sizes[l as usize] += 1;
    }
    let n = sizes.iter().sum::<u64>().max(1) as f64;
    // One pass: per segment and feature, sums in original units (shifted by the first row's
    // value, so the base variance keeps its precision) and the values medians are taken on.
    let stride = (n as usize).div_ceil(MEDIAN_ROWS).max(1);
    let shift: Vec<f64> = match labelled().next() {
        Some((x, _)) => prep.numeric.iter().enumerate().map(|(j, col)| col.inverse(x[j] as f64)).collect(),
        None => vec![0.0; n_numeric],
    };
    let SegmentSums { sums, base_sum, base_sq, mut for_median, shares } =
        segment_sums(prep, data, labels, k, &shift, stride);
    let base_medians: Vec<Option<f64>> = (0..n_numeric)
        .into_par_iter()
        .map(|j| {
            let mut all: Vec<f64> = for_median.iter().flat_map(|s| s[j].iter().copied()).collect();
            (!all.is_empty()).then(|| crate::prep::quantile_unsorted(&mut all, 0.5))
        })
        .collect();
    let numeric: Vec<Vec<FeatureProfile>> = for_median
        .par_iter_mut()
        .enumerate()
        .map(|(c, segment_values)| {
            prep.numeric
                .iter()
                .enumerate()
                .map(|(j, col)| {
                    let base_mean = base_sum[j] / n;
                    let base_sd = (base_sq[j] / n - base_mean * base_mean).max(0.0).sqrt();
                    let values = &mut segment_values[j];
                    let mean = (sizes[c] > 0).then(|| sums[c][j] / sizes[c] as f64 + shift[j]);
                    let median = (!values.is_empty()).then(|| crate::prep::quantile_unsorted(values, 0.5));
                    let z = match mean {
                        Some(m) if base_sd > 0.0 => (m - shift[j] - base_mean) / base_sd,
                        _ => 0.0,
                    };
                    FeatureProfile {
                        feature: col.name.clone(),
                        mean,
                        median,
                        z,
                        base_mean: (sizes.iter().sum::<u64>() > 0).then(|| base_mean + shift[j]),
                        base_median: base_medians[j],
                    }
                })
                .collect()
        })
        .collect();
    let base_shares: Vec<f64> = (0..d - n_numeric).map(|j| (0..k).map(|c| shares[c][j]).sum::<f64>() / n).collect();
    (0..k)
        .map(|c| {
            let size = sizes[c];
            let category_shares: Vec<(String, f64)> = names[n_numeric..]
                .iter()
                .zip(&shares[c])
                .map(|(name, &s)| (name.clone(), if size > 0 { s / size as f64 } else { 0.0 }))
                .collect();
            let over = named_levels(&category_shares, &base_shares, size);
            let mut ranked: Vec<&FeatureProfile> = numeric[c].iter().collect();
            ranked.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
            let top_features: Vec<String> = ranked.iter().take(3).map(|f| f.feature.clone()).collect();
            let descriptor = descriptor(&ranked, &over);
            SegmentProfile {
                segment: c as u32,
                name: None,
                size,
                share: size as f64 / n,
                descriptor,
                top_features,
                features: numeric[c].clone(),
                category_shares,
                over_represented: over,
            }
        })
        .collect()
}

/// The levels of `category_shares` well-supported enough to name, largest share first (at
/// most three); `size` customers in the segment.
fn named_levels(category_shares: &[(String, f64)], base_shares: &[f64], size: u64) -> Vec<CategoryLift> {
    let mut named: Vec<CategoryLift> = category_shares
        .iter()
        .zip(base_shares)
        .filter(|(_, &base)| base > 0.0)
        .map(|((level, share), &base)| CategoryLift {
            level: level.clone(),
            share: *share,
            base_share: base,
            lift: share / base,
            customers: (share * size as f64).round() as u64,
        })
        .filter(|l| labels::level_is_named(l.customers, l.share, l.lift))
        .collect();
    named.sort_by(|a, b| b.share.total_cmp(&a.share).then(b.lift.total_cmp(&a.lift)));
    named.truncate(3);
    named
}

/// "last purchase 210 days ago vs 48 · monetary 4,100 vs 640 · 62 % country=UK": up to three
/// numeric features with |z| ≥ [`NOTABLE_Z`] (`ranked` by |z|), each with the segment's
/// median next to the base's (a feature whose median and mean disagree on the direction is
/// left out, so no word can mislead), then the best-supported level with its share.
fn descriptor(ranked: &[&FeatureProfile], levels: &[CategoryLift]) -> String {
    let mut words: Vec<String> = ranked
        .iter()
        .take(3)
        .filter(|f| f.z.abs() >= NOTABLE_Z)
        .filter_map(|f| match (f.median, f.base_median) {
            (Some(m), Some(b)) if (m - b) * f.z > 0.0 => Some(labels::feature_phrase(&f.feature, m, b)),
            _ => None,
        })
        .collect();
    if let Some(top) = levels.first() {
        words.push(format!("{} {}", labels::percent(top.share), top.level));
    }
    if words.is_empty() {
        "typical".to_string()
    } else {
        words.join(" · ")
    }
}

/// Writes the profiles as one row per segment (wide: `<feature>_mean`, `_median`, `_z`,
/// `<column=level>_share`) to `target` under a temporary name.
pub fn write_parquet(target: &Path, profiles: &[SegmentProfile]) -> Result<Staged> {
    let Some(first) = profiles.first() else {
        return Err(Error::Internal("no segments to profile".into()));
    };
    let mut fields = vec![
        Field::new("segment", DataType::UInt32, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("share", DataType::Float64, false),
        Field::new("descriptor", DataType::Utf8, false),
        Field::new("top_features", DataType::Utf8, false),
        Field::new("over_represented", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(profiles.iter().map(|p| p.segment))),
        Arc::new(UInt64Array::from_iter_values(profiles.iter().map(|p| p.size))),
        Arc::new(Float64Array::from_iter_values(profiles.iter().map(|p| p.share))),
        Arc::new(StringArray::from_iter_values(profiles.iter().map(|p| p.descriptor.clone()))),
        Arc::new(StringArray::from_iter_values(profiles.iter().map(|p| p.top_features.join(", ")))),
        Arc::new(StringArray::from_iter_values(
            profiles.iter().map(|p| p.over_represented.iter().map(|l| l.level.clone()).collect::<Vec<_>>().join(", ")),
        )),
        Arc::new(StringArray::from(profiles.iter().map(|p| p.name.clone()).collect::<Vec<_>>())),
    ];
    for (j, f) in first.features.iter().enumerate() {
        for (suffix, get) in [
            ("mean", (|f: &FeatureProfile| f.mean) as fn(&FeatureProfile) -> Option<f64>),
            ("median", |f| f.median),
            ("z", |f| Some(f.z)),
        ] {
            fields.push(Field::new(format!("{}_{suffix}", f.feature), DataType::Float64, true));
            columns
                .push(Arc::new(Float64Array::from(profiles.iter().map(|p| get(&p.features[j])).collect::<Vec<_>>())));
        }
    }
    for (j, (name, _)) in first.category_shares.iter().enumerate() {
        fields.push(Field::new(format!("{name}_share"), DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(profiles.iter().map(|p| p.category_shares[j].1))));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::Internal(format!("profiles table: {e}")))?;
    refuse_non_finite(target, &batch)?;
    crate::io::writer::stage_batch(target, &batch)
}

/// A profile value that is not finite is our bug (means of prepared, checked values): it
/// is refused as an internal error naming the column and segment, never written.
fn refuse_non_finite(target: &Path, batch: &RecordBatch) -> Result<()> {
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let Some(values) = column.as_any().downcast_ref::<Float64Array>() else { continue };
        if let Some(row) = values.iter().position(|v| v.is_some_and(|v| !v.is_finite())) {
            return Err(Error::Internal(format!(
                "{}: column '{}', segment row {row} would be {}; nothing was written",
                target.display(),
                field.name(),
                values.value(row)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_profile_value_is_refused_and_nothing_written() {
        let profile = SegmentProfile {
            segment: 0,
            size: 3,
            share: 1.0,
            descriptor: "typical".into(),
            top_features: vec![],
            name: None,
            features: vec![FeatureProfile {
                feature: "spend".into(),
                mean: Some(f64::NAN),
                median: Some(1.0),
                z: 0.0,
                base_mean: None,
                base_median: None,
            }],
            category_shares: vec![],
            over_represented: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("profiles.parquet");
        let err = write_parquet(&target, &[profile]).unwrap_err();
        assert_eq!(err.exit_code(), 1, "{err}");
        assert!(err.to_string().contains("spend_mean"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
