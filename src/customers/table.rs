//! Writes `customers.parquet`: one row per customer, the id then fixed column names so
//! `fit --features` can name them.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use super::transactions::CustomerId;
use crate::error::{Error, Result};
use crate::io::atomic::{Staged, TempPath};
use crate::io::parallel_write::write_in_parallel;

/// The file name inside the output folder.
pub const CUSTOMERS_FILE: &str = "customers.parquet";

/// A column of the table: its name and values.
pub enum Column {
    Int(&'static str, Vec<i64>),
    Float(&'static str, Vec<f64>),
}

/// Writes `ids` (named `id_name`) and `columns` to `target` under a temporary name. A
/// value that is not finite is our bug: refused naming the column and row, never written.
pub fn write(target: &Path, id_name: &str, ids: &[CustomerId], columns: Vec<Column>) -> Result<Staged> {
    let text_ids = ids.iter().any(|id| matches!(id, CustomerId::Text(_)));
    let id_array: ArrayRef = if text_ids {
        Arc::new(StringArray::from_iter_values(ids.iter().map(|id| match id {
            CustomerId::Int(i) => i.to_string(),
            CustomerId::Text(t) => t.clone(),
        })))
    } else {
        Arc::new(Int64Array::from_iter_values(ids.iter().map(|id| match id {
            CustomerId::Int(i) => *i,
            CustomerId::Text(_) => 0,
        })))
    };
    let mut fields = vec![Field::new(id_name, id_array.data_type().clone(), false)];
    let mut arrays = vec![id_array];
    for column in columns {
        match column {
            Column::Int(name, values) => {
                fields.push(Field::new(name, DataType::Int64, false));
                arrays.push(Arc::new(Int64Array::from(values)));
            }
            Column::Float(name, values) => {
                if let Some(row) = values.par_iter().position_first(|v| !v.is_finite()) {
                    return Err(Error::Internal(format!(
                        "{}: column '{name}', row {row} would be {}; nothing was written",
                        target.display(),
                        values[row]
                    )));
                }
                fields.push(Field::new(name, DataType::Float64, false));
                arrays.push(Arc::new(Float64Array::from(values)));
            }
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields.clone())), arrays)
        .map_err(|e| Error::Internal(format!("customer table: {e}")))?;
    let (temp, file) = TempPath::create(target)?;
    // Dictionaries only for the integer counts: ids and money or model values are nearly
    // all distinct and would only fill a dictionary page before falling back to plain.
    let props = fields
        .iter()
        .filter(|f| f.data_type() == &DataType::Int64 && f.name() != id_name)
        .fold(WriterProperties::builder().set_compression(Compression::SNAPPY).set_dictionary_enabled(false), |b, f| {
            b.set_column_dictionary_enabled(f.name().as_str().into(), true)
        })
        .build();
    let buffered =
        write_in_parallel(std::io::BufWriter::new(file), &batch, props).map_err(|e| Error::parquet_write(target, e))?;
    let file = buffered.into_inner().map_err(|e| Error::io(target, e.into_error()))?;
    temp.stage(file)
}
