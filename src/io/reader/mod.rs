//! Streams the needed columns of one or more Parquet files as record batches and turns each
//! batch into raw f32 rows (missing = NaN), categorical codes, weights and the id column.
//!
//! Only the requested columns are decoded (projection pushdown), row groups in parallel
//! (a window of them at a time, of one file or many); each batch is converted and its
//! Arrow arrays dropped, so the whole Arrow table never exists in memory.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use crate::error::{Error, Param, Result};

mod columns;
mod convert;

pub use columns::is_numeric;
use columns::resolve_columns;
use convert::{categorical_codes, numeric_rows, weight_values, BatchContext};

thread_local! {
    /// Set while the Parquet decoder runs, so the panic hook stays quiet about panics that
    /// [`guarded`] turns into errors.
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs a panic hook that is silent for decoder panics caught by [`guarded`] and
/// otherwise reports a bug (the binary calls this once).
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !DECODING.with(|d| d.get()) {
            eprintln!("custseg: internal error (a bug, please report it with the input's shape):");
            default(info);
        }
    }));
}

/// Runs Parquet decoding, turning a panic inside the decoder (the parquet crate panics on
/// some corrupt pages) into an error that names the file.
pub fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    DECODING.with(|d| d.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    DECODING.with(|d| d.set(false));
    outcome.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        Err(Error::parquet(path, format!("the decoder failed on corrupt data: {what}")))
    })
}

/// Distinct values above which a categorical column is refused (it is probably an id).
pub const MAX_LEVELS: usize = 1000;

/// What to read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSpec {
    /// Files or folders of `.parquet` files.
    pub inputs: Vec<PathBuf>,
    /// Id column, kept as-is in the outputs; `None` numbers the rows from 0.
    pub id: Option<String>,
    /// Numeric feature columns; `None` takes every numeric column that is not the id,
    /// the weights or a categorical.
    pub features: Option<Vec<String>>,
    /// Columns to one-hot encode.
    pub categorical: Vec<String>,
    /// Sample-weight column.
    pub weights: Option<String>,
    /// Rows per record batch (and so per data chunk).
    pub batch_rows: usize,
}

/// One record batch converted to what prep needs.
#[derive(Debug, Clone)]
pub struct RawBatch {
    /// Global index (over all files, in order) of the first row.
    pub first_row: usize,
    /// Which of [`RawTable::files`] the batch came from.
    pub file: usize,
    /// The id column (or row numbers as UInt64).
    pub ids: ArrayRef,
    /// Row-major `rows × numeric.len()`, NaN where the value is null or NaN.
    pub numeric: Vec<f32>,
    /// Row-major `rows × categorical.len()` level codes into [`RawTable::levels`]; `u32::MAX` = null.
    pub codes: Vec<u32>,
    /// Sample weights, when a weight column is given.
    pub weights: Option<Vec<f32>>,
}

impl RawBatch {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ids.len()
    }
}

/// A Parquet file and how many rows it held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InputFile {
    pub path: String,
    pub bytes: u64,
    pub rows: u64,
}

/// Everything read, batch by batch.
#[derive(Debug, Clone)]
pub struct RawTable {
    pub files: Vec<InputFile>,
    /// Name and Arrow type of every column in the (first file's) schema.
    pub schema: Vec<(String, String)>,
    pub id: Option<String>,
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
    /// Levels of each categorical column, in first-seen order (codes index these).
    pub levels: Vec<Vec<String>>,
    pub batches: Vec<RawBatch>,
}

impl RawTable {
    /// Total rows read.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RawBatch::rows).sum()
    }

    /// The file holding global row `row`, for error messages.
    pub fn file_of_row(&self, row: usize) -> &str {
        let b = self.batches.partition_point(|b| b.first_row <= row).saturating_sub(1);
        self.batches.get(b).map_or("input", |b| self.files[b.file].path.as_str())
    }
}

/// Expands folders into their `.parquet` files (sorted by name) and checks each exists.
pub fn list_parquet_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if inputs.is_empty() {
        return Err(Error::param(Param::Input, "give at least one input file or folder"));
    }
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| Error::io(input, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("parquet")))
                .collect();
            if found.is_empty() {
                return Err(Error::data(
                    input.display(),
                    format!(
                        "this folder holds no .parquet files; point {} at a Parquet file or a folder of them",
                        Param::Input
                    ),
                ));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn open_builder(path: &Path, batch_rows: usize) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    guarded(path, || {
        Ok(ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::parquet(path, e))?
            .with_batch_size(batch_rows.max(1)))
    })
}

/// Rows (from the Parquet footers, without reading any data) and the number of columns
/// `spec` will use (every column of the first file when no features are named).
pub fn plan(spec: &ReadSpec) -> Result<(u64, u64)> {
    let paths = list_parquet_files(&spec.inputs)?;
    let mut rows = 0u64;
    let mut columns = 0u64;
    for (i, path) in paths.iter().enumerate() {
        let builder = open_builder(path, 1)?;
        rows = rows.saturating_add(builder.metadata().file_metadata().num_rows().max(0) as u64);
        if i == 0 {
            columns = match &spec.features {
                Some(f) => (f.len() + spec.categorical.len()) as u64,
                None => builder.schema().fields().len() as u64,
            };
        }
    }
    Ok((rows, columns))
}

/// Reads every file of `spec`, batch by batch.
pub fn read(spec: &ReadSpec) -> Result<RawTable> {
    let mut batches = Vec::new();
    let mut table = stream(spec, &mut |batch| {
        batches.push(batch);
        Ok(())
    })?;
    table.batches = batches;
    Ok(table)
}

/// One row group of one file: the unit decoded in parallel.
struct Unit<'a> {
    file_no: usize,
    path: &'a Path,
    meta: ArrowReaderMetadata,
    /// Projections of the needed columns, one per group decoded in parallel.
    masks: Vec<ProjectionMask>,
    row_group: usize,
    /// Global index of its first row, and its row count.
    first_row: usize,
    rows: usize,
}

/// A batch decoded, with what can be computed from it alone (in parallel).
struct Decoded {
    batch: RecordBatch,
    first_row: usize,
    numeric: Vec<f32>,
    weights: Option<Vec<f32>>,
}

/// Decodes one row group's needed columns and converts its numeric columns and weights.
fn decode(unit: &Unit, spec: &ReadSpec, numeric: &[String]) -> Result<Vec<Decoded>> {
    let path = unit.path;
    // Column groups decode in parallel (like pyarrow's threads); their batches line up,
    // being the same rows of the same row group.
    let groups: Vec<Vec<RecordBatch>> = unit
        .masks
        .par_iter()
        .map(|mask| {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            guarded(path, || {
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, unit.meta.clone())
                    .with_batch_size(spec.batch_rows.max(1))
                    .with_row_groups(vec![unit.row_group])
                    .with_projection(mask.clone())
                    .build()
                    .map_err(|e| Error::parquet(path, e))?;
                reader
                    .map(|b| b.map_err(|e| Error::parquet(path, e)))
                    .filter(|b| !matches!(b, Ok(b) if b.num_rows() == 0))
                    .collect()
            })
        })
        .collect::<Result<_>>()?;
    let mut batches = Vec::new();
    let mut first_row = unit.first_row;
    let count = groups.first().map_or(0, Vec::len);
    let unequal = || Error::parquet(path, format!("row group {} decodes to unequal column lengths", unit.row_group));
    if groups.iter().any(|g| g.len() != count) {
        return Err(unequal());
    }
    for b in 0..count {
        let parts: Vec<&RecordBatch> = groups.iter().map(|g| &g[b]).collect();
        let rows = parts[0].num_rows();
        if parts.iter().any(|p| p.num_rows() != rows) {
            return Err(unequal());
        }
        let fields: Vec<_> =
            parts.iter().flat_map(|p| p.schema().fields().iter().cloned().collect::<Vec<_>>()).collect();
        let columns: Vec<ArrayRef> = parts.iter().flat_map(|p| p.columns().iter().cloned()).collect();
        let batch = RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns)
            .map_err(|e| Error::parquet(path, e))?;
        batches.push((batch, first_row));
        first_row += rows;
    }
    batches
        .into_par_iter()
        .map(|(batch, first_row)| {
            let ctx = BatchContext { path, first_row };
            let column = |name: &str| batch.column_by_name(name).expect("projected column").clone();
            let numeric = numeric_rows(numeric, &column, batch.num_rows(), &ctx)?;
            let weights = match &spec.weights {
                Some(w) => Some(weight_values(w, &column(w), &ctx)?),
                None => None,
            };
            Ok(Decoded { batch, first_row, numeric, weights })
        })
        .collect()
}

/// Reads the input batch by batch, handing each to `on_batch` instead of keeping it: the
/// returned table describes the input (files, columns, categorical levels) and has no
/// batches. Two streams of the same input give the same batches and level codes.
///
/// Row groups (of one file or many) are decoded in parallel, a window of them at a time;
/// categorical codes, ids and `on_batch` then follow in input order.
pub fn stream(spec: &ReadSpec, on_batch: &mut dyn FnMut(RawBatch) -> Result<()>) -> Result<RawTable> {
    let paths = list_parquet_files(&spec.inputs)?;
    let load = |path: &Path| -> Result<ArrowReaderMetadata> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        guarded(path, || ArrowReaderMetadata::load(&file, Default::default()).map_err(|e| Error::parquet(path, e)))
    };
    let first_meta = load(&paths[0])?;
    let first_schema = first_meta.schema().clone();
    let numeric = resolve_columns(spec, &first_schema, &paths[0])?;

    let mut needed: Vec<String> = numeric.clone();
    needed.extend(spec.categorical.iter().cloned());
    needed.extend(spec.id.iter().cloned());
    needed.extend(spec.weights.iter().cloned());

    let mut table = RawTable {
        files: Vec::with_capacity(paths.len()),
        schema: first_schema.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect(),
        id: spec.id.clone(),
        numeric,
        categorical: spec.categorical.clone(),
        levels: vec![Vec::new(); spec.categorical.len()],
        batches: Vec::new(),
    };

    // Plan: every file's footer and schema checked, its row groups listed.
    let mut units = Vec::new();
    let mut planned_rows = 0usize;
    for (file_no, path) in paths.iter().enumerate() {
        let meta = if file_no == 0 { first_meta.clone() } else { load(path)? };
        let schema = meta.schema();
        for name in &needed {
            let want = first_schema.field_with_name(name).map(|f| f.data_type().clone()).ok();
            let got = schema.field_with_name(name).map(|f| f.data_type().clone()).ok();
            if want != got {
                return Err(Error::data(
                    path.display(),
                    format!(
                        "column '{name}' is {} here but {} in {}; files read together must share a schema",
                        got.map_or("missing".into(), |t| t.to_string()),
                        want.map_or("missing".into(), |t| t.to_string()),
                        paths[0].display()
                    ),
                ));
            }
        }
        let indices: Vec<usize> = needed.iter().map(|n| schema.index_of(n).expect("checked above")).collect();
        // The needed columns dealt round-robin into one group per thread.
        let group_count = rayon::current_num_threads().clamp(1, indices.len().max(1));
        let masks: Vec<ProjectionMask> = (0..group_count)
            .map(|g| {
                let group = indices.iter().skip(g).step_by(group_count).copied();
                ProjectionMask::roots(meta.parquet_schema(), group)
            })
            .collect();
        let bytes = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        let file_start = planned_rows;
        for row_group in 0..meta.metadata().num_row_groups() {
            let rows = meta.metadata().row_group(row_group).num_rows().max(0) as usize;
            units.push(Unit {
                file_no,
                path,
                meta: meta.clone(),
                masks: masks.clone(),
                row_group,
                first_row: planned_rows,
                rows,
            });
            planned_rows += rows;
        }
        table.files.push(InputFile {
            path: path.display().to_string(),
            bytes,
            rows: (planned_rows - file_start) as u64,
        });
    }

    let mut level_index: Vec<HashMap<String, u32>> = vec![HashMap::new(); spec.categorical.len()];
    let mut rows_read = 0usize;
    // Windows of row groups decoded together: up to two per thread, and no more rows than
    // two batches per thread unless a single row group is larger (memory stays bounded by
    // the row-group size, whatever the file count).
    let threads = rayon::current_num_threads();
    let window_rows = 2 * threads * spec.batch_rows.max(1);
    let mut windows: Vec<&[Unit]> = Vec::new();
    let mut start = 0;
    while start < units.len() {
        let (mut end, mut rows) = (start, 0);
        while end < units.len() && end - start < 2 * threads && (end == start || rows < window_rows) {
            rows += units[end].rows;
            end += 1;
        }
        windows.push(&units[start..end]);
        start = end;
    }
    for group in windows {
        let decoded: Vec<Result<Vec<Decoded>>> =
            group.par_iter().map(|unit| decode(unit, spec, &table.numeric)).collect();
        for (unit, result) in group.iter().zip(decoded) {
            for d in result? {
                let rows = d.batch.num_rows();
                let ctx = BatchContext { path: unit.path, first_row: d.first_row };
                let column = |name: &str| d.batch.column_by_name(name).expect("projected column").clone();
                let codes =
                    categorical_codes(&table.categorical, &column, rows, &mut level_index, &mut table.levels, &ctx)?;
                let ids = match &spec.id {
                    Some(id) => {
                        let ids = column(id);
                        if let Some(bad) = (0..rows).find(|&i| ids.is_null(i)) {
                            return Err(ctx.error(
                                id,
                                bad,
                                "is null; every row needs an id (filter those rows out first)",
                            ));
                        }
                        ids
                    }
                    None => Arc::new(UInt64Array::from_iter_values(d.first_row as u64..(d.first_row + rows) as u64))
                        as ArrayRef,
                };
                let batch = RawBatch {
                    first_row: d.first_row,
                    file: unit.file_no,
                    ids,
                    numeric: d.numeric,
                    codes,
                    weights: d.weights,
                };
                on_batch(batch)?;
                rows_read += rows;
            }
        }
    }
    if rows_read == 0 {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::data(names.join(", "), "the input has no rows"));
    }
    Ok(table)
}
