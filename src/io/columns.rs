//! Named columns of Parquet or CSV files as Arrow record batches: for steps that need the
//! columns' own types (the transaction log) rather than the f32 feature rows
//! [`super::reader`] makes. Parquet row groups are decoded and converted in parallel, a
//! window at a time; what each batch becomes is handed on in file and row order.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::csv::reader::Format as CsvFormat;
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use super::reader::{guarded, load_metadata};
use super::reader::{list_input_files, Format};
use crate::error::{Error, Result};

/// Rows a CSV schema is inferred from.
const CSV_INFER_ROWS: usize = 10_000;

/// Row groups decoded at once per thread (bounds the batches held in memory).
const GROUPS_PER_THREAD: usize = 2;

/// For every batch of `columns` (in that order) of the files `inputs` name, computes
/// `convert(file, first row of the batch in the file, batch)` (in parallel) and hands the
/// results to `absorb` in file and row order. `text` columns of CSV files are read as text
/// whatever they look like (ids, invoice numbers). Returns the files read.
pub fn convert_batches<T: Send>(
    inputs: &[PathBuf],
    columns: &[&str],
    text: &[&str],
    batch_rows: usize,
    convert: &(dyn Fn(&Path, usize, &RecordBatch) -> Result<T> + Sync),
    absorb: &mut dyn FnMut(T) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    let files = list_input_files(inputs)?;
    for path in &files.paths {
        match files.format {
            Format::Parquet => parquet_batches(path, columns, batch_rows, convert, absorb)?,
            Format::Csv => csv_batches(path, columns, text, batch_rows, &mut |path, first, batch| {
                absorb(convert(path, first, batch)?)
            })?,
        }
    }
    Ok(files.paths)
}

fn missing(path: &Path, name: &str, have: &[String]) -> Error {
    Error::data(path.display(), format!("has no column '{name}'; its columns are {}", have.join(", ")))
}

fn parquet_batches<T: Send>(
    path: &Path,
    columns: &[&str],
    batch_rows: usize,
    convert: &(dyn Fn(&Path, usize, &RecordBatch) -> Result<T> + Sync),
    absorb: &mut dyn FnMut(T) -> Result<()>,
) -> Result<()> {
    let meta = load_metadata(path)?;
    let schema = meta.schema().clone();
    let have: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut leaves = Vec::with_capacity(columns.len());
    for name in columns {
        leaves.push(schema.index_of(name).map_err(|_| missing(path, name, &have))?);
    }
    let mask = ProjectionMask::roots(meta.parquet_schema(), leaves);
    let groups = meta.metadata().row_groups();
    let mut first_rows = Vec::with_capacity(groups.len());
    let mut rows = 0usize;
    for group in groups {
        first_rows.push(rows);
        rows += group.num_rows() as usize;
    }
    let window = GROUPS_PER_THREAD * rayon::current_num_threads().max(1);
    let indices: Vec<usize> = (0..groups.len()).collect();
    let decode = |group: usize| -> Result<Vec<T>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = guarded(path, || {
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
                .with_batch_size(batch_rows.max(1))
                .with_row_groups(vec![group])
                .with_projection(mask.clone())
                .build()
                .map_err(|e| Error::parquet(path, e))
        })?;
        let mut first = first_rows[group];
        let mut out = Vec::new();
        for batch in reader {
            let batch = guarded(path, || batch.map_err(|e| Error::parquet(path, e)))?;
            // The projection keeps the file's column order: put the columns in the asked order.
            let order: Vec<usize> = columns.iter().map(|n| batch.schema().index_of(n).unwrap_or(0)).collect();
            let batch =
                batch.project(&order).map_err(|e| Error::Internal(format!("projecting {}: {e}", path.display())))?;
            out.push(convert(path, first, &batch)?);
            first += batch.num_rows();
        }
        Ok(out)
    };
    // Each window is decoded by the pool while this thread absorbs the window before it,
    // in file and row order.
    let mut pending: Vec<Result<Vec<T>>> = Vec::new();
    for chunk in indices.chunks(window) {
        let mut converted = Vec::new();
        let absorbed = rayon::in_place_scope(|scope| {
            scope.spawn(|_| converted = chunk.par_iter().map(|&group| decode(group)).collect());
            absorb_in_order(std::mem::take(&mut pending), absorb)
        });
        absorbed?;
        pending = converted;
    }
    absorb_in_order(pending, absorb)
}

/// Hands every item of `groups` to `absorb`, in order; stops at the first error.
fn absorb_in_order<T>(groups: Vec<Result<Vec<T>>>, absorb: &mut dyn FnMut(T) -> Result<()>) -> Result<()> {
    for group in groups {
        for item in group? {
            absorb(item)?;
        }
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
