//! Writes a record batch to Parquet with each row group's columns encoded in parallel.

use std::io::Write;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk};
use parquet::arrow::ArrowWriter;
use parquet::errors::Result as ParquetResult;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

/// Writes `batch` as [`ArrowWriter`] would, byte for byte (the same row groups, pages and
/// metadata), but encodes each row group's columns in parallel: compression and encoding
/// are most of a write's time, and the columns are independent.
pub fn write_in_parallel<W: Write + Send>(out: W, batch: &RecordBatch, props: WriterProperties) -> ParquetResult<W> {
    let rows_per_group = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
    let schema = batch.schema();
    let (mut file, factory) = ArrowWriter::try_new(out, schema.clone(), Some(props))?.into_serialized_writer()?;
    for (index, first) in (0..batch.num_rows()).step_by(rows_per_group).enumerate() {
        let group = batch.slice(first, rows_per_group.min(batch.num_rows() - first));
        let leaves: Vec<Vec<_>> = schema
            .fields()
            .par_iter()
            .zip(group.columns())
            .map(|(field, column)| compute_leaves(field, column))
            .collect::<ParquetResult<_>>()?;
        let leaves: Vec<_> = leaves.into_iter().flatten().collect();
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
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::basic::Compression;

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
