//! Writes per-row results (id, segment, distance, …) to Parquet, chunk by chunk, atomically.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::atomic::{Staged, TempPath};
use crate::error::{Error, Result};

/// Streams `id, segment` and named Float32 columns (`distance`, or `probability` and
/// `p_0 …`) into a Parquet file that appears only on `finish`.
pub struct AssignmentWriter {
    path: TempPath,
    writer: ArrowWriter<BufWriter<File>>,
    schema: SchemaRef,
    rows: u64,
}

impl AssignmentWriter {
    /// Starts `target`; `id_name`/`id_type` describe the id column copied from the input,
    /// `values` name the Float32 columns after `segment`.
    pub fn create(target: &Path, id_name: &str, id_type: &DataType, values: &[String]) -> Result<Self> {
        let mut fields =
            vec![Field::new(id_name, id_type.clone(), false), Field::new("segment", DataType::UInt32, false)];
        fields.extend(values.iter().map(|name| Field::new(name, DataType::Float32, false)));
        let schema = Arc::new(Schema::new(fields));
        let (path, file) = TempPath::create(target)?;
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema.clone(), Some(props))
            .map_err(|e| Error::parquet_write(target, e))?;
        Ok(AssignmentWriter { path, writer, schema, rows: 0 })
    }

    /// Appends one chunk of rows: ids, segments, then one slice per value column.
    pub fn write(&mut self, ids: &ArrayRef, segments: &[u32], values: &[&[f32]]) -> Result<()> {
        let mut columns: Vec<ArrayRef> = vec![ids.clone(), Arc::new(UInt32Array::from(segments.to_vec()))];
        columns.extend(values.iter().map(|v| Arc::new(Float32Array::from(v.to_vec())) as ArrayRef));
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("building an output batch: {e}")))?;
        self.writer.write(&batch).map_err(|e| Error::parquet_write(self.path.target(), e))?;
        self.rows += segments.len() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the Parquet file and syncs it; [`Staged::commit`] moves it into place.
    pub fn finish(self) -> Result<Staged> {
        let target = self.path.target().to_path_buf();
        let buffered = self.writer.into_inner().map_err(|e| Error::parquet_write(&target, e))?;
        let file = buffered.into_inner().map_err(|e| Error::io(&target, e.into_error()))?;
        self.path.stage(file)
    }
}
