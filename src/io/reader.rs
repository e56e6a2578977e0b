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

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, RecordBatch, UInt64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use crate::error::{Error, Param, Result};

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

/// Whether a column type can be coerced to an f32 feature.
pub fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating() || matches!(t, DataType::Boolean) || is_decimal(t)
}

fn is_decimal(t: &DataType) -> bool {
    matches!(t, DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..))
}

fn is_string_like(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string_like(v),
        _ => false,
    }
}

/// Works out which columns to read from the first file's schema and checks their types.
fn resolve_columns(spec: &ReadSpec, schema: &SchemaRef, path: &Path) -> Result<Vec<String>> {
    let where_ = path.display();
    let find = |name: &str, role: &str| -> Result<DataType> {
        schema.field_with_name(name).map(|f| f.data_type().clone()).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            Error::data(
                where_.to_string(),
                format!("{role} column '{name}' not found; columns are: {}", names.join(", ")),
            )
        })
    };
    if let Some(id) = &spec.id {
        let t = find(id, "id")?;
        if !(t.is_integer() || is_string_like(&t)) {
            return Err(Error::data(
                where_,
                format!("id column '{id}' has type {t}; an id must be an integer or string column (cast it, or choose another {})", Param::Id),
            ));
        }
    }
    if let Some(w) = &spec.weights {
        let t = find(w, "weights")?;
        if !is_numeric(&t) {
            return Err(Error::data(where_, format!("weights column '{w}' has type {t}; weights must be numeric")));
        }
    }
    for c in &spec.categorical {
        let t = find(c, "categorical")?;
        if !(is_string_like(&t) || t.is_integer() || matches!(t, DataType::Boolean)) {
            return Err(Error::data(
                where_,
                format!("categorical column '{c}' has type {t}; one-hot needs a string, dictionary, integer or boolean column"),
            ));
        }
    }
    let taken = |name: &str| {
        spec.id.as_deref() == Some(name)
            || spec.weights.as_deref() == Some(name)
            || spec.categorical.iter().any(|c| c == name)
    };
    let numeric = match &spec.features {
        Some(list) => {
            for f in list {
                let t = find(f, "feature")?;
                if spec.categorical.contains(f) {
                    return Err(Error::param(
                        Param::Features,
                        format!("'{f}' is listed both as a numeric and as a categorical feature; keep it in one"),
                    ));
                }
                if !is_numeric(&t) {
                    let hint = if is_string_like(&t) {
                        format!(
                            "pass it with {} {f} to one-hot encode it, or leave it out of {}",
                            Param::Categorical,
                            Param::Features
                        )
                    } else {
                        format!(
                            "convert it to a number first (e.g. days since a date), or leave it out of {}",
                            Param::Features
                        )
                    };
                    return Err(Error::data(
                        where_,
                        format!("feature column '{f}' has type {t}, which is not numeric; {hint}"),
                    ));
                }
            }
            list.clone()
        }
        None => schema
            .fields()
            .iter()
            .filter(|f| is_numeric(f.data_type()) && !taken(f.name()))
            .map(|f| f.name().clone())
            .collect(),
    };
    if numeric.is_empty() && spec.categorical.is_empty() {
        return Err(Error::data(
            where_,
            format!("no numeric feature columns found; name them with {} (or {})", Param::Features, Param::Categorical),
        ));
    }
    Ok(numeric)
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

/// Where a batch came from, to name the file and global row in errors.
struct BatchContext<'a> {
    path: &'a Path,
    first_row: usize,
}

impl BatchContext<'_> {
    fn error(&self, column: &str, local_row: usize, what: &str) -> Error {
        Error::data(self.path.display(), format!("column '{column}', row {}: value {what}", self.first_row + local_row))
    }
}

/// Casts a column to f32 (nulls → NaN), refusing ±inf and values beyond f32's range.
/// A numeric column as f32 (nulls stay nulls); ±inf (or a value beyond f32) is an error
/// naming the row.
fn checked_f32(name: &str, array: &ArrayRef, ctx: &BatchContext) -> Result<Float32Array> {
    let floats = cast(array, &DataType::Float32)
        .map_err(|e| Error::data(ctx.path.display(), format!("column '{name}' cannot be read as numbers: {e}")))?;
    let floats = floats.as_primitive::<Float32Type>().clone();
    let values = floats.values();
    // One vectorisable scan (a fold: `any` would stop early and not vectorise); the slow
    // search for the row only when there is one.
    if values.iter().fold(0u32, |found, v| found | u32::from(v.to_bits() & 0x7fff_ffff == 0x7f80_0000)) != 0 {
        if let Some(i) = (0..values.len()).find(|&i| floats.is_valid(i) && values[i].is_infinite()) {
            return Err(ctx.error(
                name,
                i,
                "is infinite or beyond f32's range (|x| > 3.4e38); replace it with a finite value or null",
            ));
        }
    }
    Ok(floats)
}

/// Rows this many at a time are transposed from the columns into the row-major buffer,
/// so the buffer's lines being written stay in cache across all the columns.
const TRANSPOSE_TILE: usize = 256;

/// The numeric columns `names` as row-major f32 rows (`rows × names.len()`), nulls and NaN
/// as NaN.
fn numeric_rows(
    names: &[String],
    column: &dyn Fn(&str) -> ArrayRef,
    rows: usize,
    ctx: &BatchContext,
) -> Result<Vec<f32>> {
    let d = names.len();
    let columns: Vec<Float32Array> =
        names.iter().map(|name| checked_f32(name, &column(name), ctx)).collect::<Result<_>>()?;
    let mut out: Vec<f32> = Vec::with_capacity(rows * d);
    let spare = &mut out.spare_capacity_mut()[..rows * d];
    for start in (0..rows).step_by(TRANSPOSE_TILE) {
        let end = (start + TRANSPOSE_TILE).min(rows);
        for (j, col) in columns.iter().enumerate() {
            let values = &col.values()[start..end];
            let cells = spare[start * d + j..].iter_mut().step_by(d);
            match col.nulls() {
                None => cells.zip(values).for_each(|(cell, &v)| {
                    cell.write(v);
                }),
                Some(nulls) => cells.zip(values).enumerate().for_each(|(r, (cell, &v))| {
                    cell.write(if nulls.is_valid(start + r) { v } else { f32::NAN });
                }),
            }
        }
    }
    // SAFETY: the loops above wrote every (row, column) cell of the first rows × d elements
    // exactly once: rows start..end of every tile, columns 0..d.
    unsafe { out.set_len(rows * d) };
    Ok(out)
}

fn categorical_codes(
    names: &[String],
    column: &dyn Fn(&str) -> ArrayRef,
    rows: usize,
    index: &mut [HashMap<String, u32>],
    levels: &mut [Vec<String>],
    ctx: &BatchContext,
) -> Result<Vec<u32>> {
    let d = names.len();
    let mut out = vec![u32::MAX; rows * d];
    for (j, name) in names.iter().enumerate() {
        let strings = cast(&column(name), &DataType::Utf8).map_err(|e| {
            Error::data(ctx.path.display(), format!("categorical column '{name}' cannot be read as text: {e}"))
        })?;
        let strings = strings.as_string::<i32>();
        for i in 0..rows {
            if strings.is_null(i) {
                continue;
            }
            let value = strings.value(i);
            let code = match index[j].get(value) {
                Some(&c) => c,
                None => {
                    if levels[j].len() >= MAX_LEVELS {
                        return Err(Error::data(
                            ctx.path.display(),
                            format!(
                                "categorical column '{name}' has more than {MAX_LEVELS} distinct values; \
                                 one-hot encoding it would be meaningless (is it an id?); leave it out of --categorical"
                            ),
                        ));
                    }
                    let c = levels[j].len() as u32;
                    levels[j].push(value.to_string());
                    index[j].insert(value.to_string(), c);
                    c
                }
            };
            out[i * d + j] = code;
        }
    }
    Ok(out)
}

fn weight_values(name: &str, array: &ArrayRef, ctx: &BatchContext) -> Result<Vec<f32>> {
    let floats = checked_f32(name, array, ctx)?;
    let values: Vec<f32> =
        (0..floats.len()).map(|i| if floats.is_valid(i) { floats.value(i) } else { f32::NAN }).collect();
    if let Some(bad) = values.iter().position(|w| w.is_nan() || *w < 0.0) {
        return Err(ctx.error(
            name,
            bad,
            &format!("{} is not a weight; weights must be finite and ≥ 0 (fill or drop those rows)", values[bad]),
        ));
    }
    Ok(values)
}
