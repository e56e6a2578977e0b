//! What a read asks for ([`ReadSpec`]) and what it returns: batches of raw f32 rows,
//! categorical codes, weights and ids ([`RawTable`]).

use std::path::PathBuf;

use arrow::array::{Array, ArrayRef};

/// What to read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSpec {
    /// Files or folders of `.parquet` or `.csv` files (one format per read; hidden files,
    /// named `.…` or `_…`, in a folder are skipped).
    pub inputs: Vec<PathBuf>,
    /// Id column, kept as-is in the outputs (a float column holding whole numbers becomes
    /// Int64); `None` numbers the rows from 0.
    pub id: Option<String>,
    /// Numeric feature columns; `None` takes every numeric column that is not the id,
    /// the weights or a categorical, and refuses one that looks like an id.
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

/// An input file and how many rows it held.
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
