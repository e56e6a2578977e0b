//! Reads the transaction log: every line becomes (customer, day, signed value, purchase or
//! return, invoice), cleaned by the rules below, each rule counted.
//!
//! - No customer id, no time, or no value (quantity, price or amount missing or not
//!   finite): dropped.
//! - Price ≤ 0 or quantity 0 (with quantity × price): dropped. An amount of 0 is a purchase
//!   worth nothing (a free item still makes a purchase occasion, as in CDNOW).
//! - A cancellation (invoice starting with `C`) or a negative quantity or amount is a
//!   return: it lowers the customer's net spend but is no purchase occasion.
//!
//! Invoice numbers are kept as 64-bit hashes of their text: they are only compared within a
//! customer (to count orders), where two invoices sharing a hash is a 1-in-10¹⁵ event for a
//! customer with ten thousand orders. Lines go to a [`LineStore`], which spills them to
//! disk past the memory budget.

use std::hash::Hasher;
use std::path::PathBuf;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use serde::Serialize;

use super::dates::{days_of, DayError};
use super::ids::{IntIndex, LOG_SLACK};
use super::line::{Line, NO_INVOICE};
use super::spill::LineStore;
use crate::error::{Error, Result};

/// Where a line's money value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueColumns {
    /// One column holds the line's value.
    Amount(String),
    /// Value = quantity × unit price.
    QuantityPrice { quantity: String, price: String },
}

/// Which columns of which files hold the log.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionSpec {
    pub inputs: Vec<PathBuf>,
    pub customer_id: String,
    pub time: String,
    pub value: ValueColumns,
    /// Invoice (order) numbers: orders are counted by them, and `C…` marks a cancellation.
    pub invoice: Option<String>,
    pub batch_rows: usize,
}

/// A customer id as the log holds it: integers (and floats with integral values) or text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomerId {
    Int(i64),
    Text(String),
}

/// The key of an invoice number: a 64-bit hash of its text, never [`NO_INVOICE`].
fn invoice_key(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish().min(NO_INVOICE - 1)
}

/// What cleaning did, line by line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cleaning {
    pub rows_read: u64,
    /// Dropped: no customer id.
    pub missing_customer_id: u64,
    /// Dropped: no time.
    pub missing_time: u64,
    /// Dropped: quantity, price or amount missing or not finite.
    pub missing_value: u64,
    /// Dropped: unit price zero or negative.
    pub non_positive_price: u64,
    /// Dropped: a quantity of zero.
    pub zero_quantity: u64,
    /// Kept as returns: cancelled invoices.
    pub cancellations: u64,
    /// Kept as returns: negative quantities or amounts on invoices not cancelled.
    pub negative_values: u64,
}

impl Cleaning {
    /// Adds another batch's counts.
    fn add(&mut self, other: &Cleaning) {
        self.rows_read += other.rows_read;
        self.missing_customer_id += other.missing_customer_id;
        self.missing_time += other.missing_time;
        self.missing_value += other.missing_value;
        self.non_positive_price += other.non_positive_price;
        self.zero_quantity += other.zero_quantity;
        self.cancellations += other.cancellations;
        self.negative_values += other.negative_values;
    }
}

/// The cleaned log.
pub struct Transactions {
    pub lines: LineStore,
    /// Customer ids in order of first appearance.
    pub ids: Vec<CustomerId>,
    pub cleaning: Cleaning,
    pub files: Vec<PathBuf>,
}

/// Reads and cleans the log `spec` names into `lines`.
pub fn read(spec: &TransactionSpec, mut lines: LineStore) -> Result<Transactions> {
    let mut columns = vec![spec.customer_id.as_str(), spec.time.as_str()];
    match &spec.value {
        ValueColumns::Amount(a) => columns.push(a),
        ValueColumns::QuantityPrice { quantity, price } => columns.extend([quantity.as_str(), price.as_str()]),
    }
    if let Some(invoice) = &spec.invoice {
        columns.push(invoice);
    }
    let text = [spec.customer_id.as_str(), spec.invoice.as_deref().unwrap_or("")];
    // Batches are cleaned in parallel (text ids numbered per batch, integer ids kept as
    // they are), then numbered in the log's numbering in file and row order, so ids keep
    // the order of first appearance.
    let mut state = State { int_index: IntIndex::new(LOG_SLACK), ..State::default() };
    let convert = |path: &std::path::Path, first: usize, batch: &RecordBatch| {
        let mut local = State::default();
        local.add(spec, batch).map_err(|e| e.locate(path, first, &columns))?;
        Ok(local)
    };
    let files =
        crate::io::columns::convert_batches(&spec.inputs, &columns, &text, spec.batch_rows, &convert, &mut |local| {
            lines.extend(state.absorb(local))
        })?;
    if lines.is_empty() {
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::data(
            names.join(", "),
            "no transaction line is left after cleaning; check the column names and values",
        ));
    }
    Ok(Transactions { lines, ids: state.ids, cleaning: state.cleaning, files })
}

/// A batch cleaned on its own (with its own customer numbers), or the whole log's customer
/// numbering with the lines of the batch it last absorbed.
#[derive(Default)]
struct State {
    lines: Vec<Line>,
    /// A batch of integer ids: each line's id, numbered only when the batch is absorbed
    /// (one lookup in the log's table per line instead of a batch-local hash map).
    line_ids: Vec<i64>,
    ids: Vec<CustomerId>,
    /// Numbers of the integer ids and of the text ids in `ids`.
    int_index: IntIndex,
    text_index: FxHashMap<Box<str>, u32>,
    cleaning: Cleaning,
}

/// A customer id of a batch, borrowed.
#[derive(Clone, Copy)]
enum IdRef<'a> {
    Int(i64),
    Text(&'a str),
}

impl<'a> From<&'a CustomerId> for IdRef<'a> {
    fn from(id: &'a CustomerId) -> Self {
        match id {
            CustomerId::Int(i) => IdRef::Int(*i),
            CustomerId::Text(t) => IdRef::Text(t),
        }
    }
}

/// A batch's customer id column: integers (floats with integral values converted) or text.
enum BatchIds {
    Int(PrimitiveArray<Int64Type>),
    Text(StringArray),
}

impl BatchIds {
    fn get(&self, row: usize) -> Option<IdRef<'_>> {
        match self {
            BatchIds::Int(a) => a.is_valid(row).then(|| IdRef::Int(a.value(row))),
            BatchIds::Text(a) => a.is_valid(row).then(|| IdRef::Text(a.value(row).trim())),
        }
    }
}

/// A bad value in a batch: column (index into the read's columns), row in the batch, what.
struct BatchError {
    column: usize,
    row: usize,
    what: String,
}

impl BatchError {
    fn locate(self, path: &std::path::Path, first: usize, columns: &[&str]) -> Error {
        Error::data(
            path.display(),
            format!("column '{}', row {}: {}", columns[self.column], first + self.row, self.what),
        )
    }
}

/// A numeric column of a batch as f64 (a cast array: no per-row copy).
fn as_f64(array: &ArrayRef, column: usize) -> std::result::Result<Float64Array, BatchError> {
    let numeric = array.data_type().is_numeric() || matches!(array.data_type(), DataType::Decimal128(..));
    if !numeric {
        return Err(BatchError { column, row: 0, what: format!("has type {}; a number is needed", array.data_type()) });
    }
    let cast = arrow::compute::cast(array, &DataType::Float64).map_err(|e| BatchError {
        column,
        row: 0,
        what: format!("cannot be read as numbers ({e})"),
    })?;
    Ok(cast.as_primitive::<Float64Type>().clone())
}

/// Row `row` of `values`, or None where it is null.
fn value_at(values: &Float64Array, row: usize) -> Option<f64> {
    values.is_valid(row).then(|| values.value(row))
}

/// Customer ids of a batch: integers, integral floats or text.
fn ids_of(array: &ArrayRef) -> std::result::Result<BatchIds, BatchError> {
    let t = array.data_type();
    if t.is_integer() {
        let cast = arrow::compute::cast(array, &DataType::Int64).map_err(|e| BatchError {
            column: 0,
            row: 0,
            what: format!("cannot be read as integers ({e})"),
        })?;
        return Ok(BatchIds::Int(cast.as_primitive::<Int64Type>().clone()));
    }
    if t.is_floating() {
        let values = as_f64(array, 0)?;
        let ints = values
            .iter()
            .enumerate()
            .map(|(row, v)| match v {
                None => Ok(None),
                Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(Some(x as i64)),
                Some(x) => Err(BatchError { column: 0, row, what: format!("customer id {x} is not a whole number") }),
            })
            .collect::<std::result::Result<Int64Array, BatchError>>()?;
        return Ok(BatchIds::Int(ints));
    }
    let text = arrow::compute::cast(array, &DataType::Utf8).map_err(|_| BatchError {
        column: 0,
        row: 0,
        what: format!("has type {t}; a customer id must be an integer or text"),
    })?;
    Ok(BatchIds::Text(text.as_string::<i32>().clone()))
}

impl State {
    fn add(&mut self, spec: &TransactionSpec, batch: &RecordBatch) -> std::result::Result<(), BatchError> {
        let n = batch.num_rows();
        self.cleaning.rows_read += n as u64;
        let ids = ids_of(batch.column(0))?;
        self.reserve(n, &ids);
        let days = days_of(batch.column(1)).map_err(|e| match e {
            DayError::Type(t) => BatchError {
                column: 1,
                row: 0,
                what: format!("has type {t}; a timestamp, a date, ISO text (2011-12-09) or YYYYMMDD is needed"),
            },
            DayError::Value { row, text } => BatchError { column: 1, row, what: format!("'{text}' is not a date") },
        })?;
        let (values, prices) = match &spec.value {
            ValueColumns::Amount(_) => (as_f64(batch.column(2), 2)?, None),
            ValueColumns::QuantityPrice { .. } => (as_f64(batch.column(2), 2)?, Some(as_f64(batch.column(3), 3)?)),
        };
        let invoice_column = spec.invoice.as_ref().map(|_| batch.num_columns() - 1);
        let invoices = invoice_column
            .map(|c| arrow::compute::cast(batch.column(c), &DataType::Utf8))
            .transpose()
            .map_err(|e| BatchError {
                column: invoice_column.unwrap_or(0),
                row: 0,
                what: format!("cannot be read as text ({e})"),
            })?;
        let invoices = invoices.as_ref().map(|a| a.as_string::<i32>());
        for (i, &day) in days.iter().enumerate().take(n) {
            let Some(id) = ids.get(i) else {
                self.cleaning.missing_customer_id += 1;
                continue;
            };
            let Some(day) = day else {
                self.cleaning.missing_time += 1;
                continue;
            };
            let Ok(day) = i32::try_from(day) else {
                return Err(BatchError {
                    column: 1, row: i, what: "is a date out of range (years ±5 million)".into()
                });
            };
            let value = match (value_at(&values, i), prices.as_ref().map(|p| value_at(p, i))) {
                (Some(v), None) => v,
                (Some(q), Some(Some(p))) if q.is_finite() && p.is_finite() => {
                    if p <= 0.0 {
                        self.cleaning.non_positive_price += 1;
                        continue;
                    }
                    if q == 0.0 {
                        self.cleaning.zero_quantity += 1;
                        continue;
                    }
                    q * p
                }
                _ => f64::NAN,
            };
            if !value.is_finite() {
                self.cleaning.missing_value += 1;
                continue;
            }
            let invoice_text = invoices.and_then(|a| a.is_valid(i).then(|| a.value(i).trim()));
            let cancelled = invoice_text.is_some_and(|t| t.starts_with('C'));
            if cancelled {
                self.cleaning.cancellations += 1;
            } else if value < 0.0 {
                self.cleaning.negative_values += 1;
            }
            let purchase = !cancelled && value >= 0.0;
            let customer = match id {
                IdRef::Int(i) => {
                    self.line_ids.push(i);
                    0
                }
                IdRef::Text(_) => self.intern_id(id),
            };
            let invoice = invoice_text.map_or(NO_INVOICE, invoice_key);
            self.lines.push(Line::new(customer, day, value, purchase, invoice));
        }
        Ok(())
    }

    /// Room for a batch of `rows` lines with customer ids `ids`.
    fn reserve(&mut self, rows: usize, ids: &BatchIds) {
        self.lines.reserve(rows);
        if let BatchIds::Int(_) = ids {
            self.line_ids.reserve(rows);
        }
    }

    /// Takes a batch cleaned on its own, numbering its customers in the whole log's
    /// numbering, and returns its lines.
    fn absorb(&mut self, local: State) -> Vec<Line> {
        if !local.line_ids.is_empty() {
            return self.absorb_int(local);
        }
        let int_ids = local.ids.iter().filter_map(|id| match id {
            CustomerId::Int(i) => Some(*i),
            CustomerId::Text(_) => None,
        });
        if let (Some(lo), Some(hi)) = (int_ids.clone().min(), int_ids.max()) {
            self.int_index.prepare(lo, hi, local.ids.len());
        }
        let ids: Vec<u32> = local.ids.iter().map(|id| self.intern_id(id.into())).collect();
        let mut lines = local.lines;
        lines.par_iter_mut().with_min_len(1 << 14).for_each(|l| l.customer = ids[l.customer as usize]);
        self.cleaning.add(&local.cleaning);
        lines
    }

    /// [`State::absorb`] for a batch of integer ids: numbers each line's id in the log's
    /// index, in row order.
    fn absorb_int(&mut self, local: State) -> Vec<Line> {
        let mut lines = local.lines;
        let ids = &mut self.ids;
        self.int_index.number_all(
            &local.line_ids,
            ids.len() as u32,
            |i, number| lines[i].customer = number,
            |id| ids.push(CustomerId::Int(id)),
        );
        self.cleaning.add(&local.cleaning);
        lines
    }

    fn intern_id(&mut self, id: IdRef) -> u32 {
        let next = self.ids.len() as u32;
        let (index, new) = match id {
            IdRef::Int(i) => self.int_index.number(i, next),
            IdRef::Text(t) => match self.text_index.get(t) {
                Some(&index) => (index, false),
                None => {
                    self.text_index.insert(t.into(), next);
                    (next, true)
                }
            },
        };
        if new {
            self.ids.push(match id {
                IdRef::Int(i) => CustomerId::Int(i),
                IdRef::Text(t) => CustomerId::Text(t.to_string()),
            });
        }
        index
    }
}
