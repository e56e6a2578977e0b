//! Migration: who moved from which segment to which between the previous run and today,
//! joining both runs' assignments on the id column (a hash map of the previous run's ids,
//! compared as text so integer ids of different widths still join).
//!
//! `migration.parquet` has one row per (from_segment, to_segment) pair that occurs:
//! segment ids as text, `new` in from_segment for customers only today, `gone` in
//! to_segment for customers only in the previous run; `customers`; and `share`, the pair's
//! share of its from_segment's customers.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::io::atomic::Staged;

/// The file `fit --previous` writes next to the assignments.
pub const MIGRATION_FILE: &str = "migration.parquet";

/// One side of a move: a segment id, or a customer present in only one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Segment(u32),
    /// In today's run only (from_segment).
    New,
    /// In the previous run only (to_segment).
    Gone,
}

impl Side {
    fn label(self) -> String {
        match self {
            Side::Segment(id) => id.to_string(),
            Side::New => "new".into(),
            Side::Gone => "gone".into(),
        }
    }
}

/// Customers per (from, to) pair, and the summary's counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub flows: BTreeMap<(Side, Side), u64>,
}

/// The summary's counts of a migration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationCounts {
    /// Customers in both runs.
    pub customers_in_both: u64,
    /// Of those, the share whose segment id is the same.
    pub stayed_share: f64,
    pub new_customers: u64,
    pub gone_customers: u64,
}

/// Reads `(id as text, segment)` of the previous run's assignments at `path`.
fn read_previous(path: &Path, id_name: &str) -> Result<HashMap<String, u32>> {
    let damaged = |what: String| Error::data(path.display(), what);
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::parquet(path, e))?;
    let schema = builder.schema().clone();
    let index = |name: &str| {
        schema.index_of(name).map_err(|_| {
            damaged(format!(
                "has no column '{name}' (it has {}); the previous run's assignments must carry the id column '{id_name}' and 'segment' (pass --id as in that run)",
                schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
            ))
        })
    };
    let (id_index, segment_index) = (index(id_name)?, index("segment")?);
    let mask = ProjectionMask::roots(builder.parquet_schema(), [id_index, segment_index]);
    let reader = builder.with_projection(mask).build().map_err(|e| Error::parquet(path, e))?;
    let mut previous = HashMap::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::parquet(path, e))?;
        let ids = as_text(batch.column_by_name(id_name).expect("projected"), path)?;
        let segments = batch.column_by_name("segment").expect("projected");
        let segments = segments
            .as_any()
            .downcast_ref::<UInt32Array>()
            .ok_or_else(|| damaged("column 'segment' is not UInt32; pass the folder of a custseg fit".into()))?;
        for i in 0..batch.num_rows() {
            if ids.is_null(i) || segments.is_null(i) {
                return Err(damaged(format!("row {i} has a null id or segment")));
            }
            previous.insert(ids.value(i).to_string(), segments.value(i));
        }
    }
    Ok(previous)
}

/// An id column as text.
fn as_text(ids: &ArrayRef, path: &Path) -> Result<StringArray> {
    let text = arrow::compute::cast(ids, &DataType::Utf8)
        .map_err(|e| Error::data(path.display(), format!("the id column cannot be compared as text ({e})")))?;
    Ok(text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8").clone())
}

/// Joins the previous run's assignments at `previous` with today's rows: ids per chunk
/// and their segment ids per chunk.
pub fn migrate(previous: &Path, id_name: &str, ids: &[ArrayRef], segment_ids: &[Vec<u32>]) -> Result<Migration> {
    let mut before = read_previous(previous, id_name)?;
    let mut flows: BTreeMap<(Side, Side), u64> = BTreeMap::new();
    for (chunk_ids, chunk_segments) in ids.iter().zip(segment_ids) {
        let text = as_text(chunk_ids, previous)?;
        for (i, &to) in chunk_segments.iter().enumerate() {
            let from = before.remove(text.value(i)).map_or(Side::New, Side::Segment);
            *flows.entry((from, Side::Segment(to))).or_default() += 1;
        }
    }
    for (_, from) in before {
        *flows.entry((Side::Segment(from), Side::Gone)).or_default() += 1;
    }
    Ok(Migration { flows })
}

impl Migration {
    /// Customers in both runs, the share who kept their id, new and gone customers.
    pub fn counts(&self) -> MigrationCounts {
        let (mut both, mut stayed, mut new, mut gone) = (0u64, 0u64, 0u64, 0u64);
        for (&(from, to), &n) in &self.flows {
            match (from, to) {
                (Side::New, _) => new += n,
                (_, Side::Gone) => gone += n,
                (a, b) => {
                    both += n;
                    stayed += if a == b { n } else { 0 };
                }
            }
        }
        MigrationCounts {
            customers_in_both: both,
            stayed_share: if both > 0 { stayed as f64 / both as f64 } else { 0.0 },
            new_customers: new,
            gone_customers: gone,
        }
    }

    /// Each flow with its share of the from_segment's customers, in (from, to) order.
    pub fn rows(&self) -> Vec<(Side, Side, u64, f64)> {
        let mut from_total: BTreeMap<Side, u64> = BTreeMap::new();
        for (&(from, _), &n) in &self.flows {
            *from_total.entry(from).or_default() += n;
        }
        self.flows.iter().map(|(&(from, to), &n)| (from, to, n, n as f64 / from_total[&from] as f64)).collect()
    }

    /// Writes migration.parquet to `target` under a temporary name.
    pub fn write_parquet(&self, target: &Path) -> Result<Staged> {
        let rows = self.rows();
        let schema = Arc::new(Schema::new(vec![
            Field::new("from_segment", DataType::Utf8, false),
            Field::new("to_segment", DataType::Utf8, false),
            Field::new("customers", DataType::UInt64, false),
            Field::new("share", DataType::Float64, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0.label()))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1.label()))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.3))),
        ];
        let batch =
            RecordBatch::try_new(schema, columns).map_err(|e| Error::Internal(format!("migration table: {e}")))?;
        crate::io::writer::stage_batch(target, &batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_count_movers_stayers_new_and_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("assignments.parquet");
        let ids: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3, 4]));
        let segments: ArrayRef = Arc::new(UInt32Array::from(vec![0, 0, 1, 1]));
        let batch = RecordBatch::try_from_iter([("customer_id", ids), ("segment", segments)]).unwrap();
        crate::io::writer::stage_batch(&path, &batch).unwrap().commit().unwrap();
        // Today (ids as Int32): 1 stays in 0, 2 moves to 1, 3 stays in 1, 5 is new; 4 is gone.
        let today: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![1, 2, 3, 5]));
        let m = migrate(&path, "customer_id", &[today], &[vec![0, 1, 1, 2]]).unwrap();
        let rows: Vec<(String, String, u64)> = m.rows().iter().map(|r| (r.0.label(), r.1.label(), r.2)).collect();
        let want = [("0", "0", 1), ("0", "1", 1), ("1", "1", 1), ("1", "gone", 1), ("new", "2", 1)];
        assert_eq!(rows, want.map(|(a, b, n)| (a.to_string(), b.to_string(), n)).to_vec());
        assert_eq!(m.rows()[0].3, 0.5);
        let c = m.counts();
        assert_eq!((c.customers_in_both, c.new_customers, c.gone_customers), (3, 1, 1));
        assert!((c.stayed_share - 2.0 / 3.0).abs() < 1e-12);
        let err = migrate(&path, "id", &[], &[]).unwrap_err();
        assert_eq!(err.exit_code(), 3, "{err}");
    }
}
