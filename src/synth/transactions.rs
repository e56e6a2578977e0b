//! A synthetic transaction log whose customers behave like known segments: when they
//! started buying, how often they buy, how long ago they stopped, and what an order costs.
//! `custseg demo` turns it into customers (RFM, BG/NBD, CLV) and segments them; the true
//! segment of every customer is returned so the demo can say how well they were recovered.
//!
//! Orders arrive as a Poisson process between a customer's first day and the day they
//! lapsed (or the as-of day); an order has one or two lines under one invoice number;
//! about one order in fifty is partly returned later under a `C…` invoice.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};

use super::lognormal;
use crate::customers::dates::days_from_civil;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// How the customers of one segment buy.
pub struct Behaviour {
    pub name: &'static str,
    share: f64,
    /// Days from the first purchase to the as-of day (uniform in the range).
    tenure_days: (f64, f64),
    /// Orders per year while active: (median, log-sd) of a log-normal rate.
    orders_per_year: (f64, f64),
    /// Days since the customer stopped buying (uniform in the range); `None`: still active.
    lapsed_days: Option<(f64, f64)>,
    /// A customer's mean order value: (median, log-sd) of a log-normal across customers;
    /// each order varies around it (log-sd [`ORDER_SPREAD`]).
    order_value: (f64, f64),
}

/// The generating segments.
pub const BEHAVIOURS: [Behaviour; 6] = [
    Behaviour {
        name: "champions",
        share: 0.08,
        tenure_days: (700.0, 1400.0),
        orders_per_year: (20.0, 0.15),
        lapsed_days: None,
        order_value: (200.0, 0.25),
    },
    Behaviour {
        name: "loyal",
        share: 0.17,
        tenure_days: (700.0, 1400.0),
        orders_per_year: (6.0, 0.2),
        lapsed_days: None,
        order_value: (60.0, 0.3),
    },
    Behaviour {
        name: "new",
        share: 0.15,
        tenure_days: (5.0, 45.0),
        orders_per_year: (6.0, 0.3),
        lapsed_days: None,
        order_value: (55.0, 0.35),
    },
    Behaviour {
        name: "at risk",
        share: 0.15,
        tenure_days: (700.0, 1400.0),
        orders_per_year: (6.0, 0.2),
        lapsed_days: Some((200.0, 300.0)),
        order_value: (80.0, 0.3),
    },
    Behaviour {
        name: "bargain hunters",
        share: 0.25,
        tenure_days: (150.0, 400.0),
        orders_per_year: (9.0, 0.2),
        lapsed_days: None,
        order_value: (12.0, 0.3),
    },
    Behaviour {
        name: "lost",
        share: 0.2,
        tenure_days: (1000.0, 1600.0),
        orders_per_year: (3.0, 0.2),
        lapsed_days: Some((450.0, 550.0)),
        order_value: (40.0, 0.3),
    },
];

/// Log-sd of one order's value around its customer's mean.
const ORDER_SPREAD: f64 = 0.5;

/// The log's column names (`custseg customers --customer-id … --time … --amount …
/// --invoice …`).
pub const CUSTOMER_ID: &str = "customer_id";
pub const DAY: &str = "day";
pub const AMOUNT: &str = "amount";
pub const INVOICE: &str = "invoice";

/// The last day of the log (2026-06-30) as a day number.
pub fn as_of() -> i64 {
    days_from_civil(2026, 6, 30)
}

/// Customer ids start here, so an id never looks like a row number.
pub const FIRST_ID: i64 = 100_001;

/// Customers per record batch written.
const CUSTOMERS_PER_BATCH: usize = 16_384;

/// The lines of one batch of customers, column by column.
#[derive(Default)]
struct Lines {
    ids: Vec<i64>,
    days: Vec<i32>,
    amounts: Vec<f64>,
    /// Invoice numbers, written in place (no string per line).
    invoices: StringBuilder,
}

/// An invoice number: `{id}-{order}`, or `C{id}-{order}` for a cancellation.
#[derive(Clone, Copy)]
struct Invoice {
    id: i64,
    order: u64,
    cancelled: bool,
}

impl Lines {
    fn push(&mut self, id: i64, day: i64, amount: f64, invoice: Invoice) {
        self.ids.push(id);
        self.days.push(day as i32);
        self.amounts.push((amount * 100.0).round() / 100.0);
        let Invoice { id, order, cancelled } = invoice;
        // Writing into a StringBuilder cannot fail.
        let _ = write!(self.invoices, "{}{id}-{order}", if cancelled { "C" } else { "" });
        self.invoices.append_value("");
    }

    fn into_batch(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.ids)),
            Arc::new(Date32Array::from(self.days)),
            Arc::new(Float64Array::from(self.amounts)),
            Arc::new(self.invoices.finish()),
        ];
        RecordBatch::try_new(schema(), columns).map_err(|e| Error::Internal(format!("synthetic log batch: {e}")))
    }
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new(CUSTOMER_ID, DataType::Int64, false),
        Field::new(DAY, DataType::Date32, false),
        Field::new(AMOUNT, DataType::Float64, false),
        Field::new(INVOICE, DataType::Utf8, false),
    ]))
}

/// A Poisson count with mean `mean` (inversion below 30, a rounded normal above).
fn poisson(rng: &mut Rng, mean: f64) -> u64 {
    if mean > 30.0 {
        return (mean + mean.sqrt() * rng.normal()).round().max(0.0) as u64;
    }
    let (limit, mut product, mut count) = ((-mean).exp(), rng.uniform(), 0);
    while product > limit {
        product *= rng.uniform();
        count += 1;
    }
    count
}

fn uniform_in(rng: &mut Rng, (lo, hi): (f64, f64)) -> f64 {
    lo + (hi - lo) * rng.uniform()
}

/// Appends one customer's orders (and returns) to `lines`; invoice numbers are unique
/// within the customer.
fn customer_lines(rng: &mut Rng, id: i64, behaviour: &Behaviour, lines: &mut Lines) {
    let as_of = as_of();
    let first = as_of - uniform_in(rng, behaviour.tenure_days).round() as i64;
    let lapsed = behaviour.lapsed_days.map_or(0, |range| uniform_in(rng, range).round() as i64);
    let last = (as_of - lapsed).max(first);
    let rate = lognormal(rng, behaviour.orders_per_year);
    let repeats = poisson(rng, rate * (last - first) as f64 / 365.0);
    let span = (last - first + 1) as u64;
    let mean_value = lognormal(rng, behaviour.order_value);
    for order in 0..=repeats {
        let day = if order == 0 { first } else { first + rng.below(span) as i64 };
        let value = mean_value * (ORDER_SPREAD * rng.normal() - ORDER_SPREAD * ORDER_SPREAD / 2.0).exp();
        let items = 1 + rng.below(2);
        let invoice = Invoice { id, order, cancelled: false };
        for _ in 0..items {
            lines.push(id, day, value / items as f64, invoice);
        }
        if rng.uniform() < 0.02 {
            let returned_on = (day + 1 + rng.below(14) as i64).min(as_of);
            lines.push(id, returned_on, -value / items as f64, Invoice { cancelled: true, ..invoice });
        }
    }
}

/// One batch of customers `start..start + count`: their lines and true segments.
fn batch(start: usize, count: usize, seed: u64) -> Result<(RecordBatch, Vec<u32>)> {
    let shares: Vec<f64> = BEHAVIOURS.iter().map(|b| b.share).collect();
    let mut rng = Rng::derive(seed ^ 0x7472_616e_7361_6374, start as u64);
    let mut lines = Lines::default();
    let mut truth = Vec::with_capacity(count);
    for i in start..start + count {
        let segment = super::pick(&mut rng, &shares);
        customer_lines(&mut rng, FIRST_ID + i as i64, &BEHAVIOURS[segment], &mut lines);
        truth.push(segment as u32);
    }
    Ok((lines.into_batch()?, truth))
}

/// Writes the log of `n` customers to `path` (atomically) and returns each customer's
/// true segment, indexed by `id − FIRST_ID`.
pub fn write_transactions(path: &Path, n: usize, seed: u64) -> Result<Vec<u32>> {
    super::write_batches(path, schema(), n, CUSTOMERS_PER_BATCH, |start, count| batch(start, count, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_counts_have_the_asked_mean() {
        let mut rng = Rng::new(3);
        for mean in [0.5, 4.0, 60.0] {
            let total: u64 = (0..20_000).map(|_| poisson(&mut rng, mean)).sum();
            let observed = total as f64 / 20_000.0;
            assert!((observed - mean).abs() < 0.05 * mean + 0.02, "mean {mean}: {observed}");
        }
    }

    #[test]
    fn shares_sum_to_one() {
        let total: f64 = BEHAVIOURS.iter().map(|b| b.share).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}
