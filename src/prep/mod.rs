//! Prep: missing values, log1p, winsorising, scaling and one-hot encoding, fitted once on
//! the training rows, saved in the model and re-applied unchanged by `predict`.
//!
//! Per numeric column, in this order: `log1p` (if asked) → clip at the `[q, 1 − q]`
//! quantiles (if `--clip q`) → impute missing values (mean or median of the clipped values,
//! or drop the row) → scale (z-score, min-max, robust or none; statistics taken after
//! imputation, as a scikit-learn Pipeline would). Categorical columns become one 0/1
//! column per level seen in training, levels sorted, nulls as the level `(null)`, unscaled;
//! an unseen level at predict time encodes as all zeros. A column that is constant after
//! these steps carries no information: it is dropped with a warning and listed in the model.

mod column;
mod moments;
mod passthrough;
mod rows;
pub mod spill;

pub use column::{quantile, quantile_unsorted, CategoricalColumn, DroppedColumn, NumericColumn, Scaling, NULL_LEVEL};
pub use rows::{has_missing, row_masks, Duplicates, RowMasks};

use arrow::array::{ArrayRef, BooleanArray};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{Chunk, Dataset};
use crate::error::{Error, Param, Result};
use crate::io::reader::{RawBatch, RawTable};

/// What to do with a missing (null or NaN) numeric value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impute {
    Mean,
    Median,
    Drop,
}

/// How numeric columns are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleKind {
    /// (x − mean) / standard deviation.
    Zscore,
    /// (x − min) / (max − min).
    Minmax,
    /// (x − median) / interquartile range (1 when the range is 0, as scikit-learn).
    Robust,
    /// Unchanged.
    None,
}

/// Prep options from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepParams {
    pub impute: Impute,
    pub scale: ScaleKind,
    pub log1p: Vec<String>,
    /// Winsorise at the `[q, 1 − q]` quantiles; 0 ≤ q < 0.5.
    pub clip: Option<f64>,
    /// Keep the first row of each id, drop the others (otherwise duplicates are an error).
    pub dedup: bool,
}

impl PrepParams {
    /// Checks parameter ranges (before any data are read).
    pub fn check(&self) -> Result<()> {
        if let Some(q) = self.clip {
            if !(0.0..0.5).contains(&q) {
                return Err(Error::param(Param::Clip, format!("{q} is not a quantile in [0, 0.5); try 0.01")));
            }
        }
        Ok(())
    }

    /// Checks parameter ranges and that `log1p` names numeric features.
    pub fn validate(&self, numeric: &[String]) -> Result<()> {
        self.check()?;
        if let Some(c) = self.log1p.iter().find(|c| !numeric.contains(c)) {
            return Err(Error::param(
                Param::Log1p,
                format!("'{c}' is not one of the numeric features ({})", numeric.join(", ")),
            ));
        }
        Ok(())
    }
}

/// The fitted prep, serialised into model.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prep {
    pub impute: Impute,
    /// Kept numeric columns, in output order.
    pub numeric: Vec<NumericColumn>,
    /// Kept categorical columns; their one-hot columns follow the numeric ones.
    pub categorical: Vec<CategoricalColumn>,
    /// Columns asked for but dropped, and why.
    pub dropped: Vec<DroppedColumn>,
}

/// Prepared rows plus what is needed to write them back out.
#[derive(Debug)]
pub struct Prepared {
    pub data: Dataset,
    /// The id column of each chunk's kept rows, aligned with `data.chunks()`.
    pub ids: Vec<ArrayRef>,
    pub rows_read: usize,
    pub dropped_missing: usize,
    pub dropped_duplicate: usize,
}

impl Prep {
    /// Fits the prep on the rows `masks` keeps. Warnings (dropped columns) go to `warn`.
    pub fn fit(table: &RawTable, params: &PrepParams, masks: &RowMasks, warn: &mut dyn FnMut(String)) -> Result<Prep> {
        params.validate(&table.numeric)?;
        let mut numeric = Vec::new();
        let mut dropped = Vec::new();
        // Columns are fitted in parallel, then taken in order (errors and warnings too).
        let fitted = NumericColumn::fit_all(table, params, masks)?;
        for (name, fitted) in table.numeric.iter().zip(fitted) {
            match fitted {
                Ok(col) => numeric.push(col),
                Err(reason) => {
                    warn(format!("column '{name}' dropped: {reason}"));
                    dropped.push(DroppedColumn { name: name.clone(), reason });
                }
            }
        }
        let mut categorical = Vec::new();
        for (j, name) in table.categorical.iter().enumerate() {
            match CategoricalColumn::fit(table, j, masks) {
                Ok(col) => categorical.push(col),
                Err(reason) => {
                    warn(format!("column '{name}' dropped: {reason}"));
                    dropped.push(DroppedColumn { name: name.clone(), reason });
                }
            }
        }
        if numeric.is_empty() && categorical.is_empty() {
            return Err(Error::data(
                table.files.first().map_or("input", |f| f.path.as_str()),
                "every feature column is constant or empty; nothing is left to segment on",
            ));
        }
        let prep = Prep { impute: params.impute, numeric, categorical, dropped };
        prep.check_unique_names(table.files.first().map_or("input", |f| f.path.as_str()))?;
        Ok(prep)
    }

    /// Refuses two prepared columns with one name (a numeric column named `region=x` beside
    /// the one-hot `region=x`, or `a` level `b=c` beside `a=b` level `c`): outputs such as
    /// profiles.parquet and model.json name columns by them. `file` names the input.
    pub fn check_unique_names(&self, file: &str) -> Result<()> {
        let mut owners: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        let numeric = self.numeric.iter().map(|c| (c.name.clone(), format!("numeric column '{}'", c.name)));
        let onehot = self.categorical.iter().flat_map(|c| {
            c.levels.iter().zip(c.onehot_names()).map(move |(level, name)| {
                (name, format!("the one-hot column of level '{level}' of categorical column '{}'", c.name))
            })
        });
        for (name, owner) in numeric.chain(onehot) {
            if let Some(first) = owners.get(&name) {
                return Err(Error::data(
                    file,
                    format!(
                        "the prepared feature name '{name}' would be both {first} and {owner}; feature names must be \
                         unique (outputs name columns by them): rename the column, or leave one of them out"
                    ),
                ));
            }
            owners.insert(name, owner);
        }
        Ok(())
    }

    /// Names of the prepared columns: numeric names, then `column=level` per one-hot column.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.numeric.iter().map(|c| c.name.clone()).collect();
        for c in &self.categorical {
            names.extend(c.onehot_names());
        }
        names
    }

    /// Number of prepared columns.
    pub fn dim(&self) -> usize {
        self.numeric.len() + self.categorical.iter().map(|c| c.width()).sum::<usize>()
    }

    /// Applies the prep to every batch (consuming them), keeping the rows `masks` keeps.
    pub fn apply(&self, table: RawTable, masks: &RowMasks) -> Result<Prepared> {
        let rows_read = table.rows();
        let applier = self.applier(&table)?;
        let RawTable { batches, .. } = table;
        let results: Vec<Option<(Chunk, ArrayRef)>> = batches
            .into_par_iter()
            .zip(masks.keep.par_iter())
            .map(|(batch, keep)| applier.apply_owned(batch, keep))
            .collect::<Result<_>>()?;
        let (chunks, ids): (Vec<Chunk>, Vec<ArrayRef>) = results.into_iter().flatten().unzip();
        let data = Dataset::from_chunks(self.dim(), chunks);
        let (names, mut magnitude) = (self.feature_names(), Magnitude::new(self.dim()));
        for chunk in data.chunks() {
            magnitude.check(&chunk.values, &names)?;
        }
        Ok(Prepared {
            data,
            ids,
            rows_read,
            dropped_missing: masks.dropped_missing,
            dropped_duplicate: masks.dropped_duplicate,
        })
    }

    /// What applying the prep to batches of `table`'s columns needs, resolved once.
    pub fn applier<'a>(&'a self, table: &RawTable) -> Result<Applier<'a>> {
        let numeric_index =
            self.numeric.iter().map(|c| column_index(&table.numeric, &c.name, table)).collect::<Result<Vec<_>>>()?;
        let categorical_maps = self
            .categorical
            .iter()
            .map(|c| {
                let j = column_index(&table.categorical, &c.name, table)?;
                Ok((j, c.code_map(&table.levels[j])))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Applier {
            prep: self,
            numeric_index,
            categorical_maps,
            files: table.files.iter().map(|f| f.path.clone()).collect(),
            d_num: table.numeric.len(),
            d_cat: table.categorical.len(),
        })
    }

    /// Centres from the prepared space back to original units (numeric columns unscaled and,
    /// where log1p was applied, expm1'd; one-hot columns are shares and stay as they are).
    pub fn to_original_units(&self, centre: &[f32]) -> Vec<f64> {
        let mut out: Vec<f64> = centre.iter().map(|&v| v as f64).collect();
        for (j, col) in self.numeric.iter().enumerate() {
            out[j] = col.inverse(centre[j] as f64);
        }
        out
    }

    /// Maps a point given in original units (same columns as [`Prep::feature_names`]) into
    /// the prepared space: numeric columns transformed, one-hot shares kept.
    pub fn from_original_units(&self, point: &[f64]) -> std::result::Result<Vec<f32>, String> {
        let mut out: Vec<f32> = point.iter().map(|&v| v as f32).collect();
        for (j, col) in self.numeric.iter().enumerate() {
            out[j] = col.transform(point[j] as f32).map_err(|e| format!("{}: {e}", col.name))?;
        }
        Ok(out)
    }
}

/// The prep bound to the columns of one input: turns raw batches into prepared chunks.
pub struct Applier<'a> {
    prep: &'a Prep,
    numeric_index: Vec<usize>,
    /// Per prep categorical column: its raw column and the reader-code → one-hot map.
    categorical_maps: Vec<(usize, Vec<Option<usize>>)>,
    files: Vec<String>,
    d_num: usize,
    d_cat: usize,
}

impl Applier<'_> {
    /// The prepared rows `keep` keeps of `batch` and their ids; `None` when it keeps none.
    pub fn apply(&self, batch: &RawBatch, keep: &[bool]) -> Result<Option<(Chunk, ArrayRef)>> {
        let (prep, d_num, d_cat) = (self.prep, self.d_num, self.d_cat);
        let kept = keep.iter().filter(|&&k| k).count();
        if kept == 0 {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(kept * prep.dim());
        let mut weights = batch.weights.as_ref().map(|_| Vec::with_capacity(kept));
        for i in (0..batch.rows()).filter(|&i| keep[i]) {
            let raw = &batch.numeric[i * d_num..(i + 1) * d_num];
            for (col, &j) in prep.numeric.iter().zip(&self.numeric_index) {
                if col.is_identity() {
                    // The same bits as `transform`: (v − 0) / 1 is v, and a missing value the fill.
                    values.push(if raw[j].is_nan() { col.fill as f32 } else { raw[j] });
                    continue;
                }
                let v = col.transform(raw[j]).map_err(|what| {
                    Error::data(
                        &self.files[batch.file],
                        format!("column '{}', row {}: {what}", col.name, batch.first_row + i),
                    )
                })?;
                values.push(v);
            }
            let codes = &batch.codes[i * d_cat..(i + 1) * d_cat];
            for (col, (j, map)) in prep.categorical.iter().zip(&self.categorical_maps) {
                let hot = match codes[*j] {
                    u32::MAX => col.null_column(),
                    code => map.get(code as usize).copied().flatten(),
                };
                values.extend((0..col.width()).map(|l| if Some(l) == hot { 1.0 } else { 0.0 }));
            }
            if let (Some(w), Some(src)) = (weights.as_mut(), batch.weights.as_ref()) {
                w.push(src[i]);
            }
        }
        let ids = filter_ids(batch, keep)?;
        Ok(Some((Chunk::new(values, weights), ids)))
    }
}

fn column_index(names: &[String], name: &str, table: &RawTable) -> Result<usize> {
    names.iter().position(|n| n == name).ok_or_else(|| {
        Error::data(
            table.files.first().map_or("input", |f| f.path.as_str()),
            format!("column '{name}', which the model needs, was not read; check the input has it"),
        )
    })
}

fn filter_ids(batch: &RawBatch, keep: &[bool]) -> Result<ArrayRef> {
    if keep.iter().all(|&k| k) {
        return Ok(batch.ids.clone());
    }
    let mask = BooleanArray::from(keep.to_vec());
    arrow::compute::filter(&batch.ids, &mask).map_err(|e| Error::Internal(format!("filtering ids: {e}")))
}

/// The largest |prepared value| in `dim` columns whose squared distances still fit f32
/// (with room for sums): data beyond it are refused, and so are saved centres and means.
pub fn magnitude_limit(dim: usize) -> f32 {
    (f32::MAX / 64.0 / dim.max(1) as f32).sqrt()
}

/// Refuses prepared values so large that squared distances would overflow f32, chunk by
/// chunk (the largest |value| per column so far is kept).
pub struct Magnitude {
    max_abs: Vec<f32>,
}

impl Magnitude {
    pub fn new(dim: usize) -> Self {
        Magnitude { max_abs: vec![0.0; dim] }
    }

    /// Checks one chunk's row-major values; `names` are the prepared columns.
    pub fn check(&mut self, values: &[f32], names: &[String]) -> Result<()> {
        let dim = self.max_abs.len();
        for row in values.chunks_exact(dim) {
            for (m, v) in self.max_abs.iter_mut().zip(row) {
                *m = m.max(v.abs());
            }
        }
        let limit = magnitude_limit(dim);
        if let Some(j) = (0..dim).find(|&j| self.max_abs[j] > limit) {
            return Err(Error::data(
                &names[j],
                format!(
                    "prepared values reach {:e}, too large for f32 distances (limit {limit:e}); scale the column ({} zscore) or {} it",
                    self.max_abs[j],
                    Param::Scale,
                    Param::Log1p
                ),
            ));
        }
        Ok(())
    }
}
