//! One record batch's Arrow arrays → row-major f32 rows, categorical codes and weights,
//! each value checked (finite, or missing) and errors naming the file, column and row.

use std::collections::HashMap;
use std::path::Path;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type, Float64Type};

use super::{MAX_LEVELS, NULL_LEVEL};
use crate::error::{Error, Param, Result};
/// Where a batch came from, to name the file and global row in errors.
pub(super) struct BatchContext<'a> {
    pub(super) path: &'a Path,
    pub(super) first_row: usize,
}

impl BatchContext<'_> {
    pub(super) fn error(&self, column: &str, local_row: usize, what: &str) -> Error {
        Error::data(self.path.display(), format!("column '{column}', row {}: value {what}", self.first_row + local_row))
    }
}

/// Casts a column to f32 (nulls → NaN), refusing ±inf and values beyond f32's range.
/// A numeric column as f32 (nulls stay nulls); ±inf (or a value beyond f32) is an error
/// naming the row.
fn checked_f32(name: &str, array: &ArrayRef, ctx: &BatchContext) -> Result<Float32Array> {
    let floats = cast(array, &DataType::Float32)
        .map_err(|e| Error::data(ctx.path.display(), format!("column '{name}' cannot be read as numbers: {e}")))?;
    let floats = floats.as_primitive::<Float32Type>().clone();
    let values = floats.values();
    // One vectorisable scan (a fold: `any` would stop early and not vectorise); the slow
    // search for the row only when there is one.
    if values.iter().fold(0u32, |found, v| found | u32::from(v.to_bits() & 0x7fff_ffff == 0x7f80_0000)) != 0 {
        if let Some(i) = (0..values.len()).find(|&i| floats.is_valid(i) && values[i].is_infinite()) {
            return Err(ctx.error(
                name,
                i,
                "is infinite or beyond f32's range (|x| > 3.4e38); replace it with a finite value or null",
            ));
        }
    }
    Ok(floats)
}

/// Rows this many at a time are transposed from the columns into the row-major buffer,
/// so the buffer's lines being written stay in cache across all the columns.
const TRANSPOSE_TILE: usize = 256;

/// The numeric columns `names` as row-major f32 rows (`rows × names.len()`), nulls and NaN
/// as NaN.
pub(super) fn numeric_rows(
    names: &[String],
    column: &dyn Fn(&str) -> ArrayRef,
    rows: usize,
    ctx: &BatchContext,
) -> Result<Vec<f32>> {
    let d = names.len();
    let columns: Vec<Float32Array> =
        names.iter().map(|name| checked_f32(name, &column(name), ctx)).collect::<Result<_>>()?;
    let mut out: Vec<f32> = Vec::with_capacity(rows * d);
    let spare = &mut out.spare_capacity_mut()[..rows * d];
    for start in (0..rows).step_by(TRANSPOSE_TILE) {
        let end = (start + TRANSPOSE_TILE).min(rows);
        for (j, col) in columns.iter().enumerate() {
            let values = &col.values()[start..end];
            let cells = spare[start * d + j..].iter_mut().step_by(d);
            match col.nulls() {
                None => cells.zip(values).for_each(|(cell, &v)| {
                    cell.write(v);
                }),
                Some(nulls) => cells.zip(values).enumerate().for_each(|(r, (cell, &v))| {
                    cell.write(if nulls.is_valid(start + r) { v } else { f32::NAN });
                }),
            }
        }
    }
    // SAFETY: the loops above wrote every (row, column) cell of the first rows × d elements
    // exactly once: rows start..end of every tile, columns 0..d.
    unsafe { out.set_len(rows * d) };
    Ok(out)
}

pub(super) fn categorical_codes(
    names: &[String],
    column: &dyn Fn(&str) -> ArrayRef,
    rows: usize,
    index: &mut [HashMap<String, u32>],
    levels: &mut [Vec<String>],
    ctx: &BatchContext,
) -> Result<Vec<u32>> {
    let d = names.len();
    let mut out = vec![u32::MAX; rows * d];
    for (j, name) in names.iter().enumerate() {
        let strings = cast(&column(name), &DataType::Utf8).map_err(|e| {
            Error::data(ctx.path.display(), format!("categorical column '{name}' cannot be read as text: {e}"))
        })?;
        let strings = strings.as_string::<i32>();
        for i in 0..rows {
            if strings.is_null(i) {
                continue;
            }
            let value = strings.value(i);
            let code = match index[j].get(value) {
                Some(&c) => c,
                None if value == NULL_LEVEL => {
                    return Err(ctx.error(
                        name,
                        i,
                        &format!(
                            "'{NULL_LEVEL}' is the level custseg gives missing values, so a real value cannot have \
                             that name; make those cells nulls, or rename the value"
                        ),
                    ))
                }
                None => {
                    if levels[j].len() >= MAX_LEVELS {
                        return Err(Error::data(
                            ctx.path.display(),
                            format!(
                                "categorical column '{name}' has more than {MAX_LEVELS} distinct values; \
                                 one-hot encoding it would be meaningless (is it an id?); leave it out of {}",
                                Param::Categorical
                            ),
                        ));
                    }
                    let c = levels[j].len() as u32;
                    levels[j].push(value.to_string());
                    index[j].insert(value.to_string(), c);
                    c
                }
            };
            out[i * d + j] = code;
        }
    }
    Ok(out)
}

pub(super) fn weight_values(name: &str, array: &ArrayRef, ctx: &BatchContext) -> Result<Vec<f32>> {
    let floats = checked_f32(name, array, ctx)?;
    let values: Vec<f32> =
        (0..floats.len()).map(|i| if floats.is_valid(i) { floats.value(i) } else { f32::NAN }).collect();
    if let Some(bad) = values.iter().position(|w| w.is_nan() || *w < 0.0) {
        return Err(ctx.error(
            name,
            bad,
            &format!("{} is not a weight; weights must be finite and ≥ 0 (fill or drop those rows)", values[bad]),
        ));
    }
    Ok(values)
}

/// A float id column as Int64, when every value is a whole number (UCI's CustomerID is
/// float64); otherwise an error naming the row of the first value that is not. Nulls are
/// refused before this.
pub(super) fn whole_number_ids(name: &str, ids: &ArrayRef, ctx: &BatchContext) -> Result<ArrayRef> {
    let floats = cast(ids, &DataType::Float64)
        .map_err(|e| Error::data(ctx.path.display(), format!("id column '{name}' cannot be read as numbers: {e}")))?;
    let floats = floats.as_primitive::<Float64Type>();
    // 2⁶³ and beyond do not fit an Int64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let mut whole = Vec::with_capacity(floats.len());
    for (i, &v) in floats.values().iter().enumerate() {
        if v.fract() != 0.0 || !v.is_finite() || v.abs() >= LIMIT {
            return Err(ctx.error(
                name,
                i,
                &format!(
                    "{v} is not a whole number; a float id column must hold whole numbers (they are written as Int64): \
                     cast the column to integers or text, or choose another {}",
                    Param::Id
                ),
            ));
        }
        whole.push(v as i64);
    }
    Ok(Arc::new(Int64Array::from(whole)))
}
