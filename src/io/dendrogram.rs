//! Writes a Ward tree as `dendrogram.parquet` in SciPy's linkage layout: one row per merge,
//! lowest first; `left`, `right` (leaves are 0..n, merge i makes node n + i), `height`
//! (√(2Δ), as SciPy reports Ward) and `size` (rows under the new node).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use parquet::arrow::ArrowWriter;

use super::atomic::{Staged, TempPath};
use crate::cluster::ward::Linkage;
use crate::error::{Error, Result};

/// The dendrogram's file name in a fit's output folder.
pub const DENDROGRAM_FILE: &str = "dendrogram.parquet";

/// Writes `linkage` to `target` under a temporary name ([`Staged::commit`] moves it into place).
pub fn write_dendrogram(target: &Path, linkage: &Linkage) -> Result<Staged> {
    let merges = &linkage.merges;
    if let Some(i) = merges.iter().position(|m| !m.height.is_finite()) {
        return Err(Error::Internal(format!(
            "{}: merge {i} would have height {}; nothing was written",
            target.display(),
            merges[i].height
        )));
    }
    let column = |f: fn(&crate::cluster::ward::LinkageRow) -> u64| {
        Arc::new(UInt64Array::from_iter_values(merges.iter().map(f))) as ArrayRef
    };
    let batch = RecordBatch::try_from_iter([
        ("left", column(|m| m.left as u64)),
        ("right", column(|m| m.right as u64)),
        ("height", Arc::new(Float64Array::from_iter_values(merges.iter().map(|m| m.height))) as ArrayRef),
        ("size", column(|m| m.size)),
    ])
    .map_err(|e| Error::Internal(format!("dendrogram table: {e}")))?;
    let (temp, file) = TempPath::create(target)?;
    let mut writer = ArrowWriter::try_new(std::io::BufWriter::new(file), batch.schema(), None)
        .map_err(|e| Error::parquet_write(target, e))?;
    writer.write(&batch).map_err(|e| Error::parquet_write(target, e))?;
    let buffered = writer.into_inner().map_err(|e| Error::parquet_write(target, e))?;
    let file = buffered.into_inner().map_err(|e| Error::io(target, e.into_error()))?;
    temp.stage(file)
}
