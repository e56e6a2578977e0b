//! Fitted per-column transforms.

use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use super::{moments, Impute, PrepParams, RowMasks, ScaleKind};
use crate::error::{Error, Param, Result};
use crate::io::reader::RawTable;

/// A column asked for but left out of the prepared data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedColumn {
    pub name: String,
    pub reason: String,
}

/// `(x − center) / scale` and the statistics it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    pub kind: ScaleKind,
    pub center: f64,
    pub scale: f64,
}

/// A column's statistics after log1p, clipping and imputation, before scaling.
struct Stats {
    fill: f64,
    mean: f64,
    std: f64,
    min: f64,
    max: f64,
    missing: u64,
}

/// The error for a column with no value in any kept row.
fn no_values(table: &RawTable, name: &str) -> Error {
    Error::data(
        table.files.first().map_or("input", |f| f.path.as_str()),
        format!("column '{name}' has no values (every row is null or NaN); leave it out of {}", Param::Features),
    )
}

/// A fitted numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericColumn {
    pub name: String,
    pub log1p: bool,
    /// Winsorising bounds, in the log1p'd space when log1p is on.
    pub clip: Option<[f64; 2]>,
    /// Value imputed for a missing entry (transformed space, before scaling).
    pub fill: f64,
    pub scaling: Scaling,
    /// Training statistics after log1p/clip/impute, before scaling.
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub missing: u64,
}

impl NumericColumn {
    /// Fits every numeric column of `table` on the kept rows, in column order (as
    /// [`NumericColumn::fit`]); without quantiles to take, from [`moments`] in one parallel
    /// pass instead of a sorted copy of each column.
    pub fn fit_all(
        table: &RawTable,
        params: &PrepParams,
        masks: &RowMasks,
    ) -> Result<Vec<std::result::Result<NumericColumn, String>>> {
        if !moments::unsorted(params) {
            // In parallel, then the first error in column order.
            let fitted: Vec<_> =
                (0..table.numeric.len()).into_par_iter().map(|j| NumericColumn::fit(table, j, params, masks)).collect();
            return fitted.into_iter().collect();
        }
        let all = moments::moments(table, params, masks)?;
        table
            .numeric
            .iter()
            .zip(all)
            .map(|(name, m)| {
                if m.present == 0 {
                    return Err(no_values(table, name));
                }
                let stats =
                    Stats { fill: m.fill, mean: m.mean, std: m.std, min: m.min, max: m.max, missing: m.missing };
                Ok(NumericColumn::finish(
                    name,
                    params.log1p.contains(name),
                    None,
                    stats,
                    params.scale,
                    || unreachable!(),
                ))
            })
            .collect()
    }

    /// Fits column `j` of `table` on the kept rows. `Ok(Err(reason))`: the column is constant
    /// and should be dropped.
    pub fn fit(
        table: &RawTable,
        j: usize,
        params: &PrepParams,
        masks: &RowMasks,
    ) -> Result<std::result::Result<NumericColumn, String>> {
        let name = &table.numeric[j];
        let d = table.numeric.len();
        let log1p = params.log1p.contains(name);
        let mut values: Vec<f64> = Vec::new();
        let mut missing = 0u64;
        for (batch, keep) in table.batches.iter().zip(&masks.keep) {
            for i in (0..batch.rows()).filter(|&i| keep[i]) {
                let v = batch.numeric[i * d + j];
                if v.is_nan() {
                    missing += 1;
                } else if log1p && v <= -1.0 {
                    return Err(Error::data(
                        &table.files[batch.file].path,
                        format!(
                            "column '{name}', row {}: value {v} ≤ −1 cannot take {log1p}; clean the values or leave the column out of {log1p}",
                            batch.first_row + i,
                            log1p = Param::Log1p
                        ),
                    ));
                } else {
                    values.push(if log1p { (v as f64).ln_1p() } else { v as f64 });
                }
            }
        }
        if values.is_empty() {
            return Err(no_values(table, name));
        }
        // Quantiles need the values sorted; mean, deviation and range do not (sorting 10⁷
        // values per column was most of the prep's time).
        let sorted = params.clip.is_some() || params.impute == Impute::Median || params.scale == ScaleKind::Robust;
        if sorted {
            values.sort_unstable_by(f64::total_cmp);
        }
        let clip = params.clip.map(|q| [quantile(&values, q), quantile(&values, 1.0 - q)]);
        if let Some([lo, hi]) = clip {
            values.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
        }
        let fill = match params.impute {
            Impute::Median => quantile(&values, 0.5),
            Impute::Mean | Impute::Drop => mean(&values),
        };
        if missing > 0 {
            values.extend(std::iter::repeat_n(fill, missing as usize));
            if sorted {
                values.sort_unstable_by(f64::total_cmp);
            }
        }
        let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let m = mean(&values);
        let std = (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64).sqrt();
        let stats = Stats { fill, mean: m, std, min, max, missing };
        let robust = || {
            let iqr = quantile(&values, 0.75) - quantile(&values, 0.25);
            (quantile(&values, 0.5), if iqr > 0.0 { iqr } else { 1.0 })
        };
        Ok(NumericColumn::finish(name, log1p, clip, stats, params.scale, robust))
    }

    /// The fitted column from its statistics, or why it is dropped; `robust` gives the
    /// median and interquartile range when the scaling is robust.
    fn finish(
        name: &str,
        log1p: bool,
        clip: Option<[f64; 2]>,
        s: Stats,
        scale: ScaleKind,
        robust: impl FnOnce() -> (f64, f64),
    ) -> std::result::Result<NumericColumn, String> {
        if s.min == s.max {
            return Err(format!("constant (every value is {})", s.min));
        }
        let (center, scale_by) = match scale {
            ScaleKind::Zscore => (s.mean, s.std),
            ScaleKind::Minmax => (s.min, s.max - s.min),
            ScaleKind::Robust => robust(),
            ScaleKind::None => (0.0, 1.0),
        };
        Ok(NumericColumn {
            name: name.to_string(),
            log1p,
            clip,
            fill: s.fill,
            scaling: Scaling { kind: scale, center, scale: scale_by },
            mean: s.mean,
            std: s.std,
            min: s.min,
            max: s.max,
            missing: s.missing,
        })
    }

    /// Whether the transform leaves values as they are (no log1p, clip or scaling): then
    /// only missing values change.
    pub fn is_identity(&self) -> bool {
        !self.log1p && self.clip.is_none() && self.scaling.center == 0.0 && self.scaling.scale == 1.0
    }

    /// Raw value (NaN = missing) → prepared value. Err says why the value cannot be used.
    pub fn transform(&self, raw: f32) -> std::result::Result<f32, String> {
        let mut v = if raw.is_nan() {
            self.fill
        } else if self.log1p {
            if raw <= -1.0 {
                return Err(format!("value {raw} ≤ −1 cannot take log1p"));
            }
            (raw as f64).ln_1p()
        } else {
            raw as f64
        };
        if let Some([lo, hi]) = self.clip {
            v = v.clamp(lo, hi);
        }
        Ok(((v - self.scaling.center) / self.scaling.scale) as f32)
    }

    /// Prepared value → original units (clipping is not undone).
    pub fn inverse(&self, prepared: f64) -> f64 {
        let v = prepared * self.scaling.scale + self.scaling.center;
        if self.log1p {
            v.exp_m1()
        } else {
            v
        }
    }
}

/// A fitted categorical column: one 0/1 output column per level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalColumn {
    pub name: String,
    /// Levels in output order (sorted); `(null)` stands for missing values when they occurred.
    pub levels: Vec<String>,
    /// Training rows per level.
    pub counts: Vec<u64>,
}

pub use crate::io::reader::NULL_LEVEL;

impl CategoricalColumn {
    /// Fits categorical column `j`; `Err(reason)` when it has a single level.
    pub fn fit(table: &RawTable, j: usize, masks: &RowMasks) -> std::result::Result<CategoricalColumn, String> {
        let d = table.categorical.len();
        let levels = &table.levels[j];
        let mut counts = vec![0u64; levels.len()];
        let mut nulls = 0u64;
        for (batch, keep) in table.batches.iter().zip(&masks.keep) {
            for i in (0..batch.rows()).filter(|&i| keep[i]) {
                match batch.codes[i * d + j] {
                    u32::MAX => nulls += 1,
                    c => counts[c as usize] += 1,
                }
            }
        }
        let mut seen: Vec<(String, u64)> = levels.iter().cloned().zip(counts).filter(|(_, n)| *n > 0).collect();
        if nulls > 0 {
            seen.push((NULL_LEVEL.to_string(), nulls));
        }
        seen.sort();
        if seen.len() < 2 {
            return Err(format!("constant (a single level: {})", seen.first().map_or("none", |s| s.0.as_str())));
        }
        let (levels, counts) = seen.into_iter().unzip();
        Ok(CategoricalColumn { name: table.categorical[j].clone(), levels, counts })
    }

    /// Number of one-hot columns.
    pub fn width(&self) -> usize {
        self.levels.len()
    }

    /// `name=level` for each one-hot column.
    pub fn onehot_names(&self) -> Vec<String> {
        self.levels.iter().map(|l| format!("{}={l}", self.name)).collect()
    }

    /// For each reader code (index into `reader_levels`), its one-hot column, if any
    /// (a level unseen in training has none and encodes as all zeros).
    pub fn code_map(&self, reader_levels: &[String]) -> Vec<Option<usize>> {
        reader_levels.iter().map(|l| self.levels.iter().position(|x| x == l)).collect()
    }

    /// One-hot column of the null level, if nulls were seen in training.
    pub fn null_column(&self) -> Option<usize> {
        self.levels.iter().position(|l| l == NULL_LEVEL)
    }
}

/// Mean in f64.
fn mean(sorted: &[f64]) -> f64 {
    sorted.iter().sum::<f64>() / sorted.len() as f64
}

/// Quantile of sorted values with linear interpolation (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// [`quantile`] of unsorted values, by selection instead of a sort (O(n); the values are
/// reordered). Same number as sorting first and calling [`quantile`].
pub fn quantile_unsorted(values: &mut [f64], q: f64) -> f64 {
    let pos = q * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let (_, &mut low, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let high = above.iter().copied().min_by(f64::total_cmp).unwrap_or(low);
    low + (pos - lo as f64) * (high - low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_by_selection_equals_quantile_of_the_sorted_values() {
        let mut rng = crate::rng::Rng::new(7);
        for n in [1usize, 2, 3, 10, 101, 1000] {
            // Few distinct values, so ties sit on both sides of the median.
            let values: Vec<f64> = (0..n).map(|_| rng.below(20) as f64).collect();
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            for q in [0.0, 0.25, 0.5, 0.9, 1.0] {
                let mut scratch = values.clone();
                assert_eq!(quantile_unsorted(&mut scratch, q).to_bits(), quantile(&sorted, q).to_bits(), "n {n} q {q}");
            }
        }
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
    }

    #[test]
    fn log1p_round_trips_through_inverse() {
        let col = NumericColumn {
            name: "m".into(),
            log1p: true,
            clip: None,
            fill: 0.0,
            scaling: Scaling { kind: ScaleKind::Zscore, center: 2.0, scale: 0.5 },
            mean: 2.0,
            std: 0.5,
            min: 0.0,
            max: 5.0,
            missing: 0,
        };
        let p = col.transform(99.0).unwrap();
        assert!((col.inverse(p as f64) - 99.0).abs() < 1e-3);
        assert!(col.transform(-1.0).is_err());
        assert_eq!(col.transform(f32::NAN).unwrap(), -4.0);
    }
}
