//! Reads a table of centres (`--init-centroids`): CSV with a header, or Parquet; one row
//! per centre, columns named like the prepared features.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::reader::Sniffed;
use crate::error::{Error, Param, Result};

/// Reads the columns `names` (in that order) of every row of a CSV or Parquet file.
/// Extra columns are ignored; a missing one is an error naming it.
pub fn read_centres(path: &Path, names: &[String]) -> Result<Vec<Vec<f64>>> {
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let batches = if is_csv {
        read_csv(path)?
    } else {
        match Sniffed::file(path)? {
            Sniffed::Parquet => read_parquet(path)?,
            // CSV text under another name is read as CSV.
            Sniffed::Csv(_) => read_csv(path)?,
            other => {
                return Err(Error::param(
                    Param::InitCentres,
                    format!(
                        "{}: not a table of centres: {}; give a CSV (with a header) or Parquet file with one row per \
                         centre and one column per prepared feature (as in model.json's `features`)",
                        path.display(),
                        other.describe()
                    ),
                ))
            }
        }
    };
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for batch in &batches {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let col = batch.column_by_name(name).ok_or_else(|| {
                Error::param(
                    Param::InitCentres,
                    format!(
                        "{}: no column '{name}'; the file needs one column per feature: {}",
                        path.display(),
                        names.join(", ")
                    ),
                )
            })?;
            let col = arrow::compute::cast(col, &DataType::Float64).map_err(|e| {
                Error::param(Param::InitCentres, format!("{}: column '{name}' is not numeric ({e})", path.display()))
            })?;
            columns.push(col);
        }
        for i in 0..batch.num_rows() {
            rows.push(
                columns
                    .iter()
                    .map(|c| if c.is_null(i) { f64::NAN } else { c.as_primitive::<Float64Type>().value(i) })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

fn read_csv(path: &Path) -> Result<Vec<RecordBatch>> {
    let open = || File::open(path).map_err(|e| Error::io(path, e));
    let format = arrow::csv::reader::Format::default().with_header(true);
    let (schema, _) = format
        .infer_schema(open()?, None)
        .map_err(|e| Error::param(Param::InitCentres, format!("{}: not a readable CSV ({e})", path.display())))?;
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(schema))
        .with_format(format)
        .build(open()?)
        .map_err(|e| Error::param(Param::InitCentres, format!("{}: {e}", path.display())))?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::param(Param::InitCentres, format!("{}: {e}", path.display())))
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    super::reader::guarded(path, || {
        ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| Error::parquet(path, e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::parquet(path, e))
    })
}
