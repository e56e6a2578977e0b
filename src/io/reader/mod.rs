//! Streams the needed columns of one or more Parquet or CSV files as record batches and
//! turns each batch into raw f32 rows (missing = NaN), categorical codes, weights and the
//! id column.
//!
//! Parquet: only the requested columns are decoded (projection pushdown), row groups in
//! parallel (a window of them at a time, of one file or many); each batch is converted and
//! its Arrow arrays dropped, so the whole Arrow table never exists in memory. CSV (files
//! named `*.csv`): parsed batch by batch with arrow's CSV reader against a schema inferred
//! from a sample (see [`csv`]). One read takes files of one format only.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use crate::error::{Error, Result};

mod columns;
mod convert;
pub mod csv;
mod files;
mod guard;
mod table;

pub use columns::{is_id_name, is_numeric, suggests_id};
use columns::{resolve_columns, skipped_hint, IdLikeCheck};
use convert::{categorical_codes, numeric_rows, weight_values, whole_number_ids, BatchContext};
pub use files::{ensure_parquet, list_input_files, Format, InputFiles, Sniffed};
pub use guard::{guarded, install_panic_hook};
pub use table::{InputFile, RawBatch, RawTable, ReadSpec};

/// Distinct values above which a categorical column is refused (it is probably an id).
pub const MAX_LEVELS: usize = 1000;

/// The level name a categorical column's nulls take (a real value of this name is refused).
pub const NULL_LEVEL: &str = "(null)";

fn open_builder(path: &Path, batch_rows: usize) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    ensure_parquet(path)?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    guarded(path, || {
        Ok(ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| Error::parquet(path, e))?
            .with_batch_size(batch_rows.max(1)))
    })
}

/// Rows (from the Parquet footers without reading any data, or by counting a CSV file's
/// lines) and the number of columns `spec` will use (every column of the first file when no
/// features are named). Checks the columns `spec` asks for, and logs what a read leaves
/// out: hidden files, non-numeric columns outside the default features.
pub fn plan(spec: &ReadSpec) -> Result<(u64, u64)> {
    let files = list_input_files(&spec.inputs)?;
    if files.hidden > 0 {
        crate::info!(
            "skipped {} hidden file(s) (named .… or _…) in the input folder(s), as pyarrow and Spark do",
            files.hidden
        );
    }
    let paths = &files.paths;
    let mut rows = 0u64;
    let schema = match files.format {
        Format::Parquet => {
            let mut schema = None;
            for path in paths {
                let builder = open_builder(path, 1)?;
                rows = rows.saturating_add(builder.metadata().file_metadata().num_rows().max(0) as u64);
                schema.get_or_insert_with(|| builder.schema().clone());
            }
            schema.expect("at least one file")
        }
        Format::Csv => {
            for path in paths {
                rows = rows.saturating_add(csv::count_rows(path)?);
            }
            csv::infer_schema(&paths[0], spec)?
        }
    };
    let resolved = resolve_columns(spec, &schema, &paths[0])?;
    for (name, t) in &resolved.skipped {
        crate::info!("column '{name}' ({t}) is not numeric and is left out of the features; {}", skipped_hint(t));
    }
    let columns = match &spec.features {
        Some(f) => (f.len() + spec.categorical.len()) as u64,
        None => schema.fields().len() as u64,
    };
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

impl Decoded {
    /// Converts `batch`'s numeric columns and weights.
    fn new(batch: RecordBatch, first_row: usize, path: &Path, spec: &ReadSpec, numeric: &[String]) -> Result<Decoded> {
        let ctx = BatchContext { path, first_row };
        let column = |name: &str| batch.column_by_name(name).expect("projected column").clone();
        let numeric = numeric_rows(numeric, &column, batch.num_rows(), &ctx)?;
        let weights = match &spec.weights {
            Some(w) => Some(weight_values(w, &column(w), &ctx)?),
            None => None,
        };
        Ok(Decoded { batch, first_row, numeric, weights })
    }
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
    batches.into_par_iter().map(|(batch, first_row)| Decoded::new(batch, first_row, path, spec, numeric)).collect()
}

/// What happens to each decoded batch, in input order: categorical codes, ids, the id-like
/// check, then the caller's `on_batch`.
struct Sink<'a> {
    spec: &'a ReadSpec,
    table: RawTable,
    level_index: Vec<HashMap<String, u32>>,
    id_like: IdLikeCheck,
    rows_read: usize,
    on_batch: &'a mut dyn FnMut(RawBatch) -> Result<()>,
}

impl Sink<'_> {
    fn push(&mut self, d: Decoded, file_no: usize, path: &Path) -> Result<()> {
        let rows = d.batch.num_rows();
        let ctx = BatchContext { path, first_row: d.first_row };
        let column = |name: &str| d.batch.column_by_name(name).expect("projected column").clone();
        let table = &mut self.table;
        let codes =
            categorical_codes(&table.categorical, &column, rows, &mut self.level_index, &mut table.levels, &ctx)?;
        let ids = match &self.spec.id {
            Some(id) => {
                let ids = column(id);
                if let Some(bad) = (0..rows).find(|&i| ids.is_null(i)) {
                    return Err(ctx.error(id, bad, "is null; every row needs an id (filter those rows out first)"));
                }
                if ids.data_type().is_floating() {
                    whole_number_ids(id, &ids, &ctx)?
                } else {
                    ids
                }
            }
            None => {
                Arc::new(UInt64Array::from_iter_values(d.first_row as u64..(d.first_row + rows) as u64)) as ArrayRef
            }
        };
        if !self.id_like.settled() {
            self.id_like.observe(&column);
            if self.id_like.settled() {
                self.id_like.verdict(path)?;
            }
        }
        let batch =
            RawBatch { first_row: d.first_row, file: file_no, ids, numeric: d.numeric, codes, weights: d.weights };
        (self.on_batch)(batch)?;
        self.rows_read += rows;
        Ok(())
    }
}

/// Reads the input batch by batch, handing each to `on_batch` instead of keeping it: the
/// returned table describes the input (files, columns, categorical levels) and has no
/// batches. Two streams of the same input give the same batches and level codes.
///
/// Parquet row groups (of one file or many) are decoded in parallel, a window of them at a
/// time; CSV files are parsed in order. Categorical codes, ids and `on_batch` then follow
/// in input order.
pub fn stream(spec: &ReadSpec, on_batch: &mut dyn FnMut(RawBatch) -> Result<()>) -> Result<RawTable> {
    let files = list_input_files(&spec.inputs)?;
    let paths = &files.paths;
    let mut first_meta = None;
    let first_schema = match files.format {
        Format::Parquet => {
            let meta = load_metadata(&paths[0])?;
            let schema = meta.schema().clone();
            first_meta = Some(meta);
            schema
        }
        Format::Csv => csv::infer_schema(&paths[0], spec)?,
    };
    let resolved = resolve_columns(spec, &first_schema, &paths[0])?;

    let mut needed: Vec<String> = Vec::new();
    for name in resolved.numeric.iter().chain(&spec.categorical).chain(&spec.id).chain(&spec.weights) {
        if !needed.contains(name) {
            needed.push(name.clone());
        }
    }
    let table = RawTable {
        files: Vec::with_capacity(paths.len()),
        schema: first_schema.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect(),
        id: spec.id.clone(),
        numeric: resolved.numeric.clone(),
        categorical: spec.categorical.clone(),
        levels: vec![Vec::new(); spec.categorical.len()],
        batches: Vec::new(),
    };
    let mut sink = Sink {
        spec,
        table,
        level_index: vec![HashMap::new(); spec.categorical.len()],
        id_like: IdLikeCheck::new(&resolved.id_candidates),
        rows_read: 0,
        on_batch,
    };
    match files.format {
        Format::Parquet => stream_parquet(paths, first_meta.expect("loaded above"), &needed, &mut sink)?,
        Format::Csv => stream_csv(paths, &first_schema, &needed, &mut sink)?,
    }
    sink.id_like.verdict(&paths[0])?;
    if sink.rows_read == 0 {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::data(names.join(", "), "the input has no rows"));
    }
    Ok(sink.table)
}

pub(crate) fn load_metadata(path: &Path) -> Result<ArrowReaderMetadata> {
    ensure_parquet(path)?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    guarded(path, || ArrowReaderMetadata::load(&file, Default::default()).map_err(|e| Error::parquet(path, e)))
}

fn stream_parquet(
    paths: &[PathBuf],
    first_meta: ArrowReaderMetadata,
    needed: &[String],
    sink: &mut Sink,
) -> Result<()> {
    let spec = sink.spec;
    let first_schema = first_meta.schema().clone();
    // Plan: every file's footer and schema checked, its row groups listed.
    let mut units = Vec::new();
    let mut planned_rows = 0usize;
    for (file_no, path) in paths.iter().enumerate() {
        let meta = if file_no == 0 { first_meta.clone() } else { load_metadata(path)? };
        let schema = meta.schema();
        for name in needed {
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
        sink.table.files.push(InputFile {
            path: path.display().to_string(),
            bytes,
            rows: (planned_rows - file_start) as u64,
        });
    }

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
    let numeric = sink.table.numeric.clone();
    for group in windows {
        let decoded: Vec<Result<Vec<Decoded>>> = group.par_iter().map(|unit| decode(unit, spec, &numeric)).collect();
        for (unit, result) in group.iter().zip(decoded) {
            for d in result? {
                sink.push(d, unit.file_no, unit.path)?;
            }
        }
    }
    Ok(())
}

fn stream_csv(paths: &[PathBuf], schema: &SchemaRef, needed: &[String], sink: &mut Sink) -> Result<()> {
    let spec = sink.spec;
    let projection: Vec<usize> = needed.iter().map(|n| schema.index_of(n).expect("resolved columns exist")).collect();
    let numeric = sink.table.numeric.clone();
    let mut first_row = 0usize;
    for (file_no, path) in paths.iter().enumerate() {
        if file_no > 0 {
            csv::check_header(path, schema, &paths[0])?;
        }
        let file_start = first_row;
        // Batches are converted a window at a time in parallel, then handed on in order.
        let window_len = 2 * rayon::current_num_threads();
        let mut window: Vec<(RecordBatch, usize)> = Vec::with_capacity(window_len);
        let flush = |window: &mut Vec<(RecordBatch, usize)>, sink: &mut Sink| -> Result<()> {
            let decoded: Vec<Decoded> = std::mem::take(window)
                .into_par_iter()
                .map(|(batch, first)| Decoded::new(batch, first, path, spec, &numeric))
                .collect::<Result<_>>()?;
            decoded.into_iter().try_for_each(|d| sink.push(d, file_no, path))
        };
        csv::read_batches(path, schema, projection.clone(), spec, file_start, &mut |batch| {
            let rows = batch.num_rows();
            if rows > 0 {
                window.push((batch, first_row));
                first_row += rows;
            }
            if window.len() == window_len {
                flush(&mut window, sink)?;
            }
            Ok(())
        })?;
        flush(&mut window, sink)?;
        let bytes = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        sink.table.files.push(InputFile {
            path: path.display().to_string(),
            bytes,
            rows: (first_row - file_start) as u64,
        });
    }
    Ok(())
}
