//! Named columns of Parquet or CSV files as Arrow record batches, in file and row order:
//! for steps that need the columns' own types (the transaction log) rather than the f32
//! feature rows [`super::reader`] makes.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::csv::reader::Format as CsvFormat;
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;

use super::reader::{guarded, open_builder};
use super::reader::{list_input_files, Format};
use crate::error::{Error, Result};

/// Rows a CSV schema is inferred from.
const CSV_INFER_ROWS: usize = 10_000;

/// Calls `on_batch(file, first row of the batch in the file, batch)` for every batch of
/// `columns` (in that order) of the files `inputs` name. `text` columns of CSV files are
/// read as text whatever they look like (ids, invoice numbers, dates).
pub fn for_each_batch(
    inputs: &[PathBuf],
    columns: &[&str],
    text: &[&str],
    batch_rows: usize,
    on_batch: &mut dyn FnMut(&Path, usize, &RecordBatch) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    let files = list_input_files(inputs)?;
    for path in &files.paths {
        match files.format {
            Format::Parquet => parquet_batches(path, columns, batch_rows, on_batch)?,
            Format::Csv => csv_batches(path, columns, text, batch_rows, on_batch)?,
        }
    }
    Ok(files.paths)
}

fn missing(path: &Path, name: &str, have: &[String]) -> Error {
    Error::data(path.display(), format!("has no column '{name}'; its columns are {}", have.join(", ")))
}

fn parquet_batches(
    path: &Path,
    columns: &[&str],
    batch_rows: usize,
    on_batch: &mut dyn FnMut(&Path, usize, &RecordBatch) -> Result<()>,
) -> Result<()> {
    let builder = open_builder(path, batch_rows)?;
    let schema = builder.schema().clone();
    let have: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut leaves = Vec::with_capacity(columns.len());
    for name in columns {
        let index = schema.index_of(name).map_err(|_| missing(path, name, &have))?;
        leaves.push(index);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), leaves);
    let reader = guarded(path, || builder.with_projection(mask).build().map_err(|e| Error::parquet(path, e)))?;
    let mut first = 0;
    for batch in reader {
        let batch = guarded(path, || batch.map_err(|e| Error::parquet(path, e)))?;
        // The projection keeps the file's column order: put the columns in the asked order.
        let ordered =
            batch.project(&columns.iter().map(|n| batch.schema().index_of(n).unwrap_or(0)).collect::<Vec<_>>());
        let batch = ordered.map_err(|e| Error::Internal(format!("projecting {}: {e}", path.display())))?;
        on_batch(path, first, &batch)?;
        first += batch.num_rows();
    }
    Ok(())
}

fn csv_batches(
    path: &Path,
    columns: &[&str],
    text: &[&str],
    batch_rows: usize,
    on_batch: &mut dyn FnMut(&Path, usize, &RecordBatch) -> Result<()>,
) -> Result<()> {
    let open = || File::open(path).map(BufReader::new).map_err(|e| Error::io(path, e));
    let unreadable = |e: arrow::error::ArrowError| Error::data(path.display(), format!("cannot read as CSV ({e})"));
    let format = CsvFormat::default().with_header(true);
    let (inferred, _) = format.infer_schema(open()?, Some(CSV_INFER_ROWS)).map_err(unreadable)?;
    let fields: Vec<Field> =
        inferred
            .fields()
            .iter()
            .map(|f| {
                if text.contains(&f.name().as_str()) {
                    Field::new(f.name(), DataType::Utf8, true)
                } else {
                    (**f).clone()
                }
            })
            .collect();
    let schema = Arc::new(Schema::new(fields));
    let have: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut projection = Vec::with_capacity(columns.len());
    for name in columns {
        projection.push(schema.index_of(name).map_err(|_| missing(path, name, &have))?);
    }
    let reader = arrow::csv::ReaderBuilder::new(schema)
        .with_format(format)
        .with_batch_size(batch_rows.max(1))
        .with_projection(projection)
        .build(open()?)
        .map_err(unreadable)?;
    let mut first = 0;
    for batch in reader {
        let batch = batch.map_err(unreadable)?;
        on_batch(path, first, &batch)?;
        first += batch.num_rows();
    }
    Ok(())
}
