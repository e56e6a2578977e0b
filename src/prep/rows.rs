//! Which rows take part: duplicate ids and (with `--impute drop`) rows with missing values.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};

use super::Impute;
use crate::error::{Error, Param, Result};
use crate::io::reader::{RawBatch, RawTable};

/// Per batch, per row: whether the row is used.
#[derive(Debug, Clone, PartialEq)]
pub struct RowMasks {
    pub keep: Vec<Vec<bool>>,
    pub dropped_missing: usize,
    pub dropped_duplicate: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum IdKey {
    Int(i128),
    Text(Box<str>),
}

fn id_keys(ids: &ArrayRef) -> Result<Vec<IdKey>> {
    let err = |e: arrow::error::ArrowError| Error::Internal(format!("reading ids: {e}"));
    Ok(match ids.data_type() {
        DataType::UInt64 => ids.as_primitive::<UInt64Type>().values().iter().map(|&v| IdKey::Int(v as i128)).collect(),
        t if t.is_integer() => {
            let ints = arrow::compute::cast(ids, &DataType::Int64).map_err(err)?;
            ints.as_primitive::<Int64Type>().values().iter().map(|&v| IdKey::Int(v as i128)).collect()
        }
        _ => {
            let text = arrow::compute::cast(ids, &DataType::Utf8).map_err(err)?;
            let text = text.as_string::<i32>();
            (0..text.len()).map(|i| IdKey::Text(text.value(i).into())).collect()
        }
    })
}

/// Share of rows with a repeated id from which the input is taken for a transaction table
/// (many rows per customer) rather than a customer table with a few accidental duplicates
/// (when there are also at least [`TRANSACTION_MIN_REPEATS`]).
pub const TRANSACTION_SHARE: f64 = 0.01;
/// Fewer repeated rows than this are taken for accidents, whatever their share.
pub const TRANSACTION_MIN_REPEATS: usize = 10;

/// What to do with rows whose id appeared before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Keep them all (`predict` scores every row).
    Allow,
    /// Fail, naming the id and both rows (`fit` without `--dedup`).
    Refuse,
    /// Keep the first row of each id (`fit --dedup`).
    KeepFirst,
}

/// Whether row `i` of `batch` (`d` numeric columns) has a missing (NaN) numeric value: the
/// rows `--impute drop` drops.
pub fn has_missing(batch: &RawBatch, d: usize, i: usize) -> bool {
    batch.numeric[i * d..(i + 1) * d].iter().any(|v| v.is_nan())
}

/// Works out the rows to keep: duplicate ids as `duplicates` says; with [`Impute::Drop`]
/// a row with any missing numeric value is dropped.
pub fn row_masks(table: &RawTable, impute: Impute, duplicates: Duplicates) -> Result<RowMasks> {
    let d = table.numeric.len();
    let mut keep: Vec<Vec<bool>> = table.batches.iter().map(|b| vec![true; b.rows()]).collect();
    let mut dropped_duplicate = 0;
    match (&table.id, duplicates) {
        (_, Duplicates::Allow) => {}
        (None, Duplicates::KeepFirst) => {
            return Err(Error::param(Param::Dedup, format!("needs an id column to compare; give {}", Param::Id)))
        }
        (None, Duplicates::Refuse) => {}
        (Some(id_name), _) => {
            let mut first_seen: HashMap<IdKey, usize> = HashMap::new();
            // The first repeat: its id, the row it first appeared in, and its own row.
            let mut example: Option<(IdKey, usize, usize)> = None;
            for (batch, keep) in table.batches.iter().zip(keep.iter_mut()) {
                for (i, key) in id_keys(&batch.ids)?.into_iter().enumerate() {
                    let row = batch.first_row + i;
                    if let Some(&first) = first_seen.get(&key) {
                        keep[i] = false;
                        dropped_duplicate += 1;
                        example.get_or_insert((key, first, row));
                    } else {
                        first_seen.insert(key, row);
                    }
                }
            }
            let rows = table.rows();
            let looks_like_transactions = dropped_duplicate >= TRANSACTION_MIN_REPEATS
                && dropped_duplicate as f64 >= TRANSACTION_SHARE * rows as f64;
            if let (Some((key, first, row)), Duplicates::Refuse) = (&example, duplicates) {
                let shown = match key {
                    IdKey::Int(v) => v.to_string(),
                    IdKey::Text(s) => format!("'{s}'"),
                };
                let repeats = format!(
                    "id column '{id_name}' has duplicate value {shown} (rows {first} and {row}); {dropped_duplicate} of \
                     {rows} rows ({:.1}%) repeat an id seen on an earlier row",
                    100.0 * dropped_duplicate as f64 / rows.max(1) as f64
                );
                let what_to_do = if looks_like_transactions {
                    format!(
                        "this looks like a transaction table (many rows per customer), not a customer table: aggregate it \
                         to one row per customer first with the transaction step (`custseg customers`); {} would keep only \
                         each customer's first row",
                        Param::Dedup
                    )
                } else {
                    format!(
                        "if these are a few accidental duplicates, pass {} to keep the first row of each id",
                        Param::Dedup
                    )
                };
                return Err(Error::data(table.file_of_row(*row), format!("{repeats}; {what_to_do}")));
            }
            if looks_like_transactions {
                crate::warn!(
                    "{} dropped {dropped_duplicate} of {rows} rows with a repeated '{id_name}': the input looks like a \
                     transaction table; segments of each id's first row describe first purchases, not customers \
                     (aggregate with `custseg customers` instead)",
                    Param::Dedup
                );
            }
        }
    }
    let mut dropped_missing = 0;
    if impute == Impute::Drop {
        for (batch, keep) in table.batches.iter().zip(keep.iter_mut()) {
            for (i, k) in keep.iter_mut().enumerate() {
                if *k && has_missing(batch, d, i) {
                    *k = false;
                    dropped_missing += 1;
                }
            }
        }
    }
    Ok(RowMasks { keep, dropped_missing, dropped_duplicate })
}
