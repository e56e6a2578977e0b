//! CSV input: comma-separated text with a header line, read with arrow's CSV reader.
//!
//! The schema is inferred from the first [`INFER_ROWS`] rows of the first file, then
//! adjusted to what the read asks of each column: integer columns are read as Float64
//! (features are f32 anyway, and a decimal after the sample still parses), categorical
//! columns as text, a named feature as Float64 (whatever the sample holds), another column
//! empty in the sample as text. Every other file must have the same header. A value that does not
//! parse as its column's type is an error naming the file, column, row and line.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::csv::reader::Format as CsvFormat;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;

use super::ReadSpec;
use crate::error::{Error, Param, Result};

/// Rows the CSV schema is inferred from.
pub const INFER_ROWS: usize = 10_000;

fn format() -> CsvFormat {
    CsvFormat::default().with_header(true)
}

fn open(path: &Path) -> Result<BufReader<File>> {
    File::open(path).map(BufReader::new).map_err(|e| Error::io(path, e))
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::data(
        path.display(),
        format!("cannot read as CSV ({e}); check that the file is comma-separated text with a header line"),
    )
}

/// The header's column names.
fn header(path: &Path) -> Result<Vec<String>> {
    let (schema, _) = format().infer_schema(open(path)?, Some(0)).map_err(|e| unreadable(path, e))?;
    Ok(schema.fields().iter().map(|f| f.name().clone()).collect())
}

/// The schema of the first file, inferred from a sample and adjusted to `spec` (see the
/// module doc).
pub(super) fn infer_schema(path: &Path, spec: &ReadSpec) -> Result<SchemaRef> {
    let (inferred, _) = format().infer_schema(open(path)?, Some(INFER_ROWS)).map_err(|e| unreadable(path, e))?;
    if inferred.fields().is_empty() || inferred.fields().iter().all(|f| f.name().is_empty()) {
        return Err(unreadable(path, "no header line"));
    }
    let named_feature = |name: &str| spec.features.as_ref().is_some_and(|f| f.iter().any(|x| x == name));
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| {
            let name = f.name().as_str();
            let t = if spec.categorical.iter().any(|c| c == name) {
                DataType::Utf8
            } else {
                match f.data_type() {
                    // A named feature is read as numbers, so a stray value is an error naming its line.
                    DataType::Null | DataType::Utf8 if named_feature(name) => DataType::Float64,
                    DataType::Null => DataType::Utf8,
                    DataType::Int64 if spec.id.as_deref() != Some(name) => DataType::Float64,
                    t => t.clone(),
                }
            };
            Field::new(name, t, true)
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// Checks that `path` has the same header as the first file.
pub(super) fn check_header(path: &Path, schema: &SchemaRef, first: &Path) -> Result<()> {
    let names = header(path)?;
    let want: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
    if names.iter().collect::<Vec<_>>() != want {
        return Err(Error::data(
            path.display(),
            format!(
                "its header ({}) differs from that of {} ({}); CSV files read together must have the same columns in the same order",
                names.join(","),
                first.display(),
                want.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
            ),
        ));
    }
    Ok(())
}

/// Data rows of a CSV file: its lines, less the header (a quoted value spanning lines counts
/// once per line, so this can overestimate; it sizes memory, nothing more).
pub(super) fn count_rows(path: &Path) -> Result<u64> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    if last != b'\n' {
        lines += 1;
    }
    Ok(lines.saturating_sub(1))
}

/// Reads the columns `projection` (indices into `schema`) of `path`, `spec.batch_rows` at a
/// time, handing each batch to `on_batch`; `first_row` is the global index of the file's
/// first row (for errors).
pub(super) fn read_batches(
    path: &Path,
    schema: &SchemaRef,
    projection: Vec<usize>,
    spec: &ReadSpec,
    first_row: usize,
    on_batch: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_format(format())
        .with_batch_size(spec.batch_rows.max(1))
        .with_projection(projection)
        .build(open(path)?)
        .map_err(|e| unreadable(path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| parse_error(path, schema, spec, first_row, e))?;
        on_batch(batch)?;
    }
    Ok(())
}

/// Arrow's parse error ("… value 'x' as type 'Float64' for column 3 at line 7 …") as one
/// naming the file, the column by name, the row and the line.
fn parse_error(path: &Path, schema: &SchemaRef, spec: &ReadSpec, file_first_row: usize, e: ArrowError) -> Error {
    let text = e.to_string();
    let number_after = |key: &str| -> Option<usize> {
        let rest = &text[text.find(key)? + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    let value = text.split("value '").nth(1).and_then(|r| r.split('\'').next());
    match (number_after("for column "), number_after(" at line "), value) {
        (Some(col), Some(line), Some(value)) if col < schema.fields().len() => {
            let field = schema.field(col);
            // Arrow counts lines from 0 with the header as line 0 of the file.
            let row = file_first_row + line.saturating_sub(1);
            let name = field.name();
            let why = if spec.features.as_ref().is_some_and(|f| f.contains(name)) {
                format!(
                    "{} takes numeric columns: fix the value, leave it empty for a missing value, or pass a column of \
                     categories with {} instead",
                    Param::Features,
                    Param::Categorical
                )
            } else {
                format!(
                    "the type inferred from the first {INFER_ROWS} rows; fix the value, or leave it empty for a missing value"
                )
            };
            Error::data(
                path.display(),
                format!(
                    "column '{name}', row {row} (line {} of the file): value '{value}' cannot be read as {} ({why})",
                    line + 1,
                    field.data_type()
                ),
            )
        }
        _ => unreadable(path, text),
    }
}
