//! Writes `customers.parquet`: one row per customer, the id then fixed column names so
//! `fit --features` can name them.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::Result as ParquetResult;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use super::transactions::CustomerId;
use crate::error::{Error, Result};
use crate::io::atomic::{Staged, TempPath};

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
                if let Some(row) = values.iter().position(|v| !v.is_finite()) {
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

/// Writes `batch` as [`ArrowWriter`] would, byte for byte (the same row groups, pages and
/// metadata), but encodes each row group's columns in parallel: compression and encoding
/// are most of a write's time, and the columns are independent.
fn write_in_parallel<W: Write + Send>(out: W, batch: &RecordBatch, props: WriterProperties) -> ParquetResult<W> {
    let rows_per_group = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    let schema = batch.schema();
    let (mut file, factory) = ArrowWriter::try_new(out, schema.clone(), Some(props))?.into_serialized_writer()?;
    for (index, first) in (0..batch.num_rows()).step_by(rows_per_group).enumerate() {
        let group = batch.slice(first, rows_per_group.min(batch.num_rows() - first));
        let mut leaves = Vec::new();
        for (field, column) in schema.fields().iter().zip(group.columns()) {
            leaves.extend(compute_leaves(field, column)?);
        }
        let chunks: Vec<ArrowColumnChunk> = factory
            .create_column_writers(index)?
            .into_par_iter()
            .zip(leaves)
            .map(|(mut writer, leaf)| {
                writer.write(&leaf)?;
                writer.close()
            })
            .collect::<ParquetResult<_>>()?;
        let mut row_group = file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
    }
    file.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_encoded_in_parallel_are_the_bytes_arrow_writer_writes() {
        // 2,500 rows in row groups of 1,000: three row groups, a dictionary column among
        // plain ones, snappy, as `write` sets them.
        let rows = 2500;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("spend", DataType::Float64, false),
            Field::new("orders", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..rows)),
                Arc::new(Float64Array::from_iter_values((0..rows).map(|i| (i as f64).sqrt()))),
                Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i % 7))),
            ],
        )
        .unwrap();
        let props = || {
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_dictionary_enabled(false)
                .set_column_dictionary_enabled("orders".into(), true)
                .set_max_row_group_row_count(Some(1000))
                .build()
        };
        let mut expected = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut expected, schema, Some(props())).unwrap();
        writer.write(&batch).unwrap();
        assert_eq!(writer.close().unwrap().num_row_groups(), 3);
        let got = write_in_parallel(Vec::new(), &batch, props()).unwrap();
        assert!(got == expected, "{} bytes written in parallel, {} by ArrowWriter", got.len(), expected.len());
    }
}
