//! Writes per-row results (id, segment, distance, …) to Parquet, chunk by chunk, atomically.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float32Array, Int32Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::atomic::{Staged, TempPath};
use crate::cluster::density::NOISE;
use crate::error::{Error, Result};

/// Streams `id, segment` and named Float32 columns (`distance`, or `probability` and
/// `p_0 …`) into a Parquet file that appears only on `finish`.
pub struct AssignmentWriter {
    path: TempPath,
    writer: ArrowWriter<BufWriter<File>>,
    schema: SchemaRef,
    rows: u64,
    /// Every segment's name by id, when the assignments carry a `segment_name` column (last).
    names: Option<super::names::SegmentNames>,
    /// Density fits: `segment` is Int32 and [`NOISE`] is written as −1.
    signed: bool,
}

impl AssignmentWriter {
    /// Starts `target`; `id_name`/`id_type` describe the id column copied from the input,
    /// `values` name the Float32 columns after `segment`.
    pub fn create(target: &Path, id_name: &str, id_type: &DataType, values: &[String]) -> Result<Self> {
        Self::create_typed(target, id_name, id_type, values, None, false, None)
    }

    /// [`AssignmentWriter::create`] with a column `segment_name` holding `names[segment]`.
    pub fn create_named(
        target: &Path,
        id_name: &str,
        id_type: &DataType,
        values: &[String],
        names: Option<super::names::SegmentNames>,
    ) -> Result<Self> {
        Self::create_typed(target, id_name, id_type, values, names, false, None)
    }

    /// The general form: after the value columns, `segment_name` when `names` are given; a
    /// signed (Int32) `segment` column when `signed`, where unsegmented rows ([`NOISE`],
    /// density fits' outliers) are written as −1; and a last Boolean column named `flag`
    /// (`fit --holdout`'s `holdout`) when given.
    pub fn create_typed(
        target: &Path,
        id_name: &str,
        id_type: &DataType,
        values: &[String],
        names: Option<super::names::SegmentNames>,
        signed: bool,
        flag: Option<&str>,
    ) -> Result<Self> {
        let segment_type = if signed { DataType::Int32 } else { DataType::UInt32 };
        let mut fields = vec![Field::new(id_name, id_type.clone(), false), Field::new("segment", segment_type, false)];
        fields.extend(values.iter().map(|name| Field::new(name, DataType::Float32, false)));
        if names.is_some() {
            fields.push(Field::new(super::export::SEGMENT_NAME, DataType::Utf8, false));
        }
        fields.extend(flag.map(|name| Field::new(name, DataType::Boolean, false)));
        let schema = Arc::new(Schema::new(fields));
        let (path, file) = TempPath::create(target)?;
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema.clone(), Some(props))
            .map_err(|e| Error::parquet_write(target, e))?;
        Ok(AssignmentWriter { path, writer, schema, rows: 0, names, signed })
    }

    /// Appends one chunk of rows: ids, segments, then one slice per value column. A value
    /// that is not finite is our bug (a saved model is checked when read, data when
    /// prepared): it is refused as an internal error naming the column and row, never written.
    pub fn write(&mut self, ids: &ArrayRef, segments: &[u32], values: &[&[f32]]) -> Result<()> {
        self.write_flagged(ids, segments, values, None)
    }

    /// [`AssignmentWriter::write`] with the flag column's values (when it has one).
    pub fn write_flagged(
        &mut self,
        ids: &ArrayRef,
        segments: &[u32],
        values: &[&[f32]],
        flag: Option<&[bool]>,
    ) -> Result<()> {
        for (c, column) in values.iter().enumerate() {
            if let Some(i) = column.iter().position(|v| !v.is_finite()) {
                let name = self.schema.fields().get(2 + c).map_or("?", |f| f.name().as_str());
                return Err(Error::Internal(format!(
                    "{}: column '{name}', row {} would be {}; nothing was written",
                    self.path.target().display(),
                    self.rows + i as u64,
                    column[i]
                )));
            }
        }
        let segments_column: ArrayRef = if self.signed {
            Arc::new(Int32Array::from_iter_values(segments.iter().map(|&s| if s == NOISE { -1 } else { s as i32 })))
        } else {
            Arc::new(UInt32Array::from(segments.to_vec()))
        };
        let mut columns: Vec<ArrayRef> = vec![ids.clone(), segments_column];
        columns.extend(values.iter().map(|v| Arc::new(Float32Array::from(v.to_vec())) as ArrayRef));
        if let Some(names) = &self.names {
            let named = segments.iter().map(|s| names.get(s).map_or("", String::as_str));
            columns.push(Arc::new(StringArray::from_iter_values(named)));
        }
        columns.extend(flag.map(|f| Arc::new(BooleanArray::from(f.to_vec())) as ArrayRef));
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

/// Writes one record batch as a Parquet file at `target` under a temporary name (small
/// tables: profiles, migration).
pub fn stage_batch(target: &Path, batch: &RecordBatch) -> Result<Staged> {
    let (temp, file) = TempPath::create(target)?;
    let mut writer = ArrowWriter::try_new(BufWriter::new(file), batch.schema(), None)
        .map_err(|e| Error::parquet_write(target, e))?;
    writer.write(batch).map_err(|e| Error::parquet_write(target, e))?;
    let buffered = writer.into_inner().map_err(|e| Error::parquet_write(target, e))?;
    let file = buffered.into_inner().map_err(|e| Error::io(target, e.into_error()))?;
    temp.stage(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_value_is_an_internal_error_naming_column_and_row_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        let columns = ["probability".to_string(), "p_0".to_string()];
        let mut writer = AssignmentWriter::create(&target, "id", &DataType::UInt32, &columns).unwrap();
        let ids: ArrayRef = Arc::new(UInt32Array::from(vec![7, 8, 9]));
        writer.write(&ids, &[0, 0, 0], &[&[0.5, 0.5, 0.5], &[0.5, 0.5, 0.5]]).unwrap();
        for bad in [f32::NAN, f32::INFINITY] {
            let err = writer.write(&ids, &[0, 0, 0], &[&[0.5, 0.5, 0.5], &[0.5, bad, 0.5]]).unwrap_err();
            assert_eq!(err.exit_code(), 1, "{err}");
            let message = err.to_string();
            assert!(message.contains("column 'p_0', row 4"), "{message}");
        }
        assert_eq!(writer.rows(), 3);
        drop(writer);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
