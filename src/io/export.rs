//! Exports for spreadsheets and CRM imports, read back from the assignments Parquet file
//! (so they hold exactly its rows): `assignments.csv` (id, segment, segment_name and the
//! distance or probabilities) and `lists/segment=<id>.csv`, one file of ids per segment
//! (a header line even when the segment is empty). Written under temporary names and
//! committed with the run's other outputs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::atomic::{AtomicFile, Staged};
use super::names::SegmentNames;
use super::paths::OutputFolder;
use crate::error::{Error, Result};

/// The file `--export csv` writes beside the assignments.
pub const ASSIGNMENTS_CSV: &str = "assignments.csv";
/// The folder `--export lists` writes its files into.
pub const LISTS_FOLDER: &str = "lists";

/// One export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Export {
    /// `assignments.csv`.
    Csv,
    /// `lists/segment=<id>.csv`.
    Lists,
}

/// The file name of segment `segment`'s id list.
pub fn list_file(segment: u32) -> String {
    format!("segment={segment}.csv")
}

/// Where the exports go.
pub struct ExportTargets {
    /// `assignments.csv`'s path, when asked for.
    pub csv: Option<PathBuf>,
    /// The lists folder, when asked for.
    pub lists: Option<PathBuf>,
}

/// Staged export files, and the lists folder when this run created it.
pub struct Exported {
    pub files: Vec<Staged>,
    pub folder: Option<OutputFolder>,
}

impl Exported {
    /// Moves every file into place and keeps the lists folder; returns their paths.
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        let paths = self.files.into_iter().map(Staged::commit).collect::<Result<Vec<_>>>()?;
        if let Some(folder) = self.folder {
            folder.keep();
        }
        Ok(paths)
    }
}

/// One CSV being written and whether its header is out.
struct CsvOutput {
    file: AtomicFile,
    started: bool,
}

impl CsvOutput {
    fn create(target: &Path) -> Result<Self> {
        Ok(CsvOutput { file: AtomicFile::create(target)?, started: false })
    }

    fn write(&mut self, target: &Path, batch: &RecordBatch) -> Result<()> {
        let mut writer = arrow::csv::WriterBuilder::new().with_header(!self.started).build(self.file.writer());
        writer.write(batch).map_err(|e| Error::io(target, std::io::Error::other(e.to_string())))?;
        self.started = true;
        Ok(())
    }
}

/// Writes the exports of the assignments in the Parquet file `source` (first column the id,
/// then `segment`, then Float32 values); `names` holds every segment id and its name.
pub fn stage_exports(source: &Path, targets: &ExportTargets, names: &SegmentNames) -> Result<Exported> {
    if targets.csv.is_none() && targets.lists.is_none() {
        return Ok(Exported { files: Vec::new(), folder: None });
    }
    let folder = targets.lists.as_deref().map(OutputFolder::create).transpose()?;
    let list_paths: Vec<PathBuf> = match &targets.lists {
        Some(dir) => names.keys().map(|&s| dir.join(list_file(s))).collect(),
        None => Vec::new(),
    };
    let mut csv = targets.csv.as_deref().map(CsvOutput::create).transpose()?;
    let mut lists = list_paths.iter().map(|p| CsvOutput::create(p)).collect::<Result<Vec<_>>>()?;
    let file = File::open(source).map_err(|e| Error::io(source, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::parquet(source, e))?;
    let id_schema = Arc::new(builder.schema().project(&[0]).map_err(|e| Error::Internal(format!("export: {e}")))?);
    let reader = builder.build().map_err(|e| Error::parquet(source, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| Error::parquet(source, e))?;
        let segments = segment_ids(&batch)?;
        if let (Some(out), Some(path)) = (csv.as_mut(), targets.csv.as_deref()) {
            out.write(path, &with_names(&batch, names)?)?;
        }
        let ids = batch.project(&[0]).map_err(|e| Error::Internal(format!("export: {e}")))?;
        for ((out, path), &s) in lists.iter_mut().zip(&list_paths).zip(names.keys()) {
            let mask = BooleanArray::from_iter(segments.iter().map(|&v| Some(v == Some(s))));
            if mask.true_count() == 0 {
                continue;
            }
            let rows = arrow::compute::filter_record_batch(&ids, &mask)
                .map_err(|e| Error::Internal(format!("export: {e}")))?;
            out.write(path, &rows)?;
        }
    }
    for (out, path) in lists.iter_mut().zip(&list_paths).filter(|(out, _)| !out.started) {
        out.write(path, &RecordBatch::new_empty(id_schema.clone()))?;
    }
    let mut files = Vec::new();
    if let Some(out) = csv {
        files.push(out.file.stage()?);
    }
    for out in lists {
        files.push(out.file.stage()?);
    }
    Ok(Exported { files, folder })
}

/// The `segment` column's ids (UInt32, or Int32 for density fits, whose outliers, −1,
/// belong to no segment and get none).
fn segment_ids(batch: &RecordBatch) -> Result<Vec<Option<u32>>> {
    let wide = arrow::compute::cast(batch.column(1), &DataType::Int64)
        .map_err(|e| Error::Internal(format!("export: the segment column: {e}")))?;
    Ok(wide.as_primitive::<Int64Type>().iter().map(|s| s.and_then(|s| u32::try_from(s).ok())).collect())
}

/// The batch with `segment_name` after `segment`; value columns follow, and a
/// `segment_name` column already in the batch is replaced.
fn with_names(batch: &RecordBatch, names: &SegmentNames) -> Result<RecordBatch> {
    let schema = batch.schema();
    let segments = segment_ids(batch)?;
    let named: ArrayRef =
        Arc::new(StringArray::from_iter(segments.iter().map(|s| s.and_then(|s| names.get(&s)).map(String::as_str))));
    let mut fields = vec![schema.field(0).clone(), schema.field(1).clone()];
    let mut columns = vec![batch.column(0).clone(), batch.column(1).clone()];
    fields.push(Field::new(SEGMENT_NAME, DataType::Utf8, true));
    columns.push(named);
    for (field, column) in schema.fields().iter().zip(batch.columns()).skip(2) {
        if field.name() != SEGMENT_NAME {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::Internal(format!("export batch: {e}")))
}

/// The column that names each row's segment.
pub const SEGMENT_NAME: &str = "segment_name";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::writer::AssignmentWriter;

    #[test]
    fn exports_hold_every_row_once_and_every_segment_gets_a_list() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("assignments.parquet");
        let mut writer = AssignmentWriter::create(&source, "id", &DataType::Utf8, &["distance".to_string()]).unwrap();
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["a", "b,c", "d"]));
        writer.write(&ids, &[0, 2, 0], &[&[0.5, 1.25, 2.0]]).unwrap();
        writer.finish().unwrap().commit().unwrap();
        let targets =
            ExportTargets { csv: Some(dir.path().join(ASSIGNMENTS_CSV)), lists: Some(dir.path().join(LISTS_FOLDER)) };
        let names = SegmentNames::from([(0, "Loyal".to_string()), (1, "segment 1".into()), (2, "New".into())]);
        let paths = stage_exports(&source, &targets, &names).unwrap().commit().unwrap();
        assert_eq!(paths.len(), 4);
        let csv = std::fs::read_to_string(dir.path().join(ASSIGNMENTS_CSV)).unwrap();
        assert_eq!(csv, "id,segment,segment_name,distance\na,0,Loyal,0.5\n\"b,c\",2,New,1.25\nd,0,Loyal,2.0\n");
        let list = |s| std::fs::read_to_string(dir.path().join(LISTS_FOLDER).join(list_file(s))).unwrap();
        assert_eq!(list(0), "id\na\nd\n");
        assert_eq!(list(1), "id\n", "an empty segment still gets its header");
        assert_eq!(list(2), "id\n\"b,c\"\n");
    }
}
