//! `customers`: the transaction log → one row per customer (RFM, tenure) → BG/NBD and
//! Gamma-Gamma → `customers.parquet` (features, p_alive, churn, expected purchases and
//! spend, CLV) and the summary.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{json, Value};

use super::secs;
use crate::customers::dates::format_day;
use crate::customers::rfm::{CustomerSummary, Periods};
use crate::customers::spill::LineStore;
use crate::customers::table::{self, Column, CUSTOMERS_FILE};
use crate::customers::transactions::{self, TransactionSpec};
use crate::customers::value::{self, ValueOptions};
use crate::error::{Error, Param, Result};
use crate::io::paths::{ensure_not_input, OutputFolder};

/// The unit `recency`, `T` and the horizon are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Days,
    Weeks,
}

impl TimeUnit {
    /// Days per unit.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        }
    }
}

/// A `customers` request in plain values.
#[derive(Debug, Clone)]
pub struct CustomersRequest {
    pub transactions: TransactionSpec,
    /// Last day of the calibration period (a day number; default: the last day in the log).
    pub as_of: Option<i64>,
    /// Last day of the holdout period.
    pub holdout_end: Option<i64>,
    pub time_unit: TimeUnit,
    /// How far ahead expected purchases and CLV look, in `time_unit` (default: one year).
    pub horizon: Option<f64>,
    /// Yearly discount rate of the CLV.
    pub discount_rate: f64,
    /// Memory the cleaned lines may take before they spill to disk (default: half the
    /// available memory).
    pub memory_budget: Option<u64>,
    /// Folder of the spill files (default: `out`).
    pub spill_dir: Option<PathBuf>,
    pub out: PathBuf,
}

impl CustomersRequest {
    /// Checks what can be checked before reading.
    pub fn check(&self) -> Result<()> {
        if let Some(h) = self.horizon {
            if !(h.is_finite() && h > 0.0) {
                return Err(Error::param(Param::Horizon, format!("{h} is not a positive number of periods")));
            }
        }
        if !(self.discount_rate.is_finite() && (0.0..10.0).contains(&self.discount_rate)) {
            return Err(Error::param(
                Param::DiscountRate,
                format!("{} is not a yearly rate in [0, 10) (0.1 is 10 % a year)", self.discount_rate),
            ));
        }
        match self.as_of {
            Some(as_of) => holdout_after(as_of, self.holdout_end),
            None => Ok(()),
        }
    }

    /// The horizon in `time_unit`.
    fn horizon(&self) -> f64 {
        self.horizon.unwrap_or(365.0 / self.time_unit.days()).max(f64::MIN_POSITIVE)
    }
}

/// Refuses a holdout that does not end after the as-of date.
fn holdout_after(as_of: i64, holdout_end: Option<i64>) -> Result<()> {
    match holdout_end {
        Some(end) if end <= as_of => Err(Error::param(
            Param::HoldoutEnd,
            format!("{} is not after the as-of date {}", format_day(end), format_day(as_of)),
        )),
        _ => Ok(()),
    }
}

/// Runs `customers` and returns the JSON summary.
pub fn customers(request: &CustomersRequest) -> Result<Value> {
    let started = Instant::now();
    request.check()?;
    let target = request.out.join(CUSTOMERS_FILE);
    ensure_not_input(&target, &request.transactions.inputs)?;
    let folder = OutputFolder::create(&request.out)?;
    crate::io::atomic::remove_stale_temp_files(&target);

    let budget = request.memory_budget.unwrap_or_else(crate::resources::default_memory_budget);
    let store = LineStore::new(budget, request.spill_dir.as_ref().unwrap_or(&request.out));
    let log = transactions::read(&request.transactions, store)?;
    let t_read = started.elapsed().as_secs_f64();
    info!("read {} transaction lines of {} customers in {t_read:.2}s", log.cleaning.rows_read, log.ids.len());
    let as_of = request.as_of.unwrap_or(log.lines.last_day().unwrap_or(0));
    holdout_after(as_of, request.holdout_end)?;
    let periods = Periods { as_of, holdout_end: request.holdout_end };
    let spill_partitions = log.lines.partitions();
    let (rows, period_counts) = log.lines.summarise(periods)?;
    if rows.is_empty() {
        return Err(Error::data(
            log.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            format!("no customer made a purchase on or before {}; check the as-of date", format_day(as_of)),
        ));
    }
    let t_group = started.elapsed().as_secs_f64() - t_read;
    info!("{} customers summarised up to {} in {t_group:.2}s", rows.len(), format_day(as_of));

    let unit = request.time_unit.days();
    let options = ValueOptions {
        unit_days: unit,
        horizon: request.horizon(),
        discount_rate: request.discount_rate,
        holdout: request.holdout_end.map(|end| (end - as_of) as f64 / unit),
    };
    let assessed = value::assess(&rows, as_of, &options)?;
    let t_models = started.elapsed().as_secs_f64() - t_read - t_group;

    let model_summary = assessed.summary(&rows);
    let ids: Vec<_> = rows.par_iter().map(|r| log.ids[r.customer as usize].clone()).collect();
    let mut columns = rfm_columns(&rows, as_of, unit);
    columns.extend(assessed.into_columns());
    if request.holdout_end.is_some() {
        columns.push(Column::Int("holdout_purchases", rows.par_iter().map(|r| r.holdout_purchases as i64).collect()));
    }
    let staged = table::write(&target, &request.transactions.customer_id, &ids, columns)?;
    staged.commit()?;
    folder.keep();
    info!("wrote {}", target.display());

    let c = &log.cleaning;
    let mut summary = json!({
        "command": "customers",
        "rows_read": c.rows_read,
        "customers": rows.len(),
        "as_of": format_day(as_of),
        "holdout_end": request.holdout_end.map(format_day),
        "time_unit": request.time_unit.name(),
        "horizon": request.horizon(),
        "discount_rate": request.discount_rate,
        "dropped": {
            "missing_customer_id": c.missing_customer_id,
            "missing_time": c.missing_time,
            "missing_value": c.missing_value,
            "non_positive_price": c.non_positive_price,
            "zero_quantity": c.zero_quantity,
            "after_holdout": period_counts.lines_after_holdout,
        },
        "adjusted": {
            "cancellations": c.cancellations,
            "negative_values": c.negative_values,
        },
        "lines_after_as_of": period_counts.lines_after_as_of,
        "customers_without_purchase": period_counts.customers_without_purchase,
        "spilled_to_disk": spill_partitions > 0,
        "spill_partitions": spill_partitions,
        "outputs": { "customers": target.display().to_string() },
        "seconds": {
            "read": secs(t_read),
            "group": secs(t_group),
            "models": secs(t_models),
            "total": secs(started.elapsed().as_secs_f64()),
        },
    });
    if let (Some(all), Value::Object(models)) = (summary.as_object_mut(), model_summary) {
        all.extend(models);
    }
    Ok(summary)
}

/// The RFM and tenure columns; recency and T in units of `unit` days.
fn rfm_columns(rows: &[CustomerSummary], as_of: i64, unit: f64) -> Vec<Column> {
    let ints = |f: &(dyn Fn(&CustomerSummary) -> i64 + Sync)| rows.par_iter().map(f).collect::<Vec<i64>>();
    let floats = |f: &(dyn Fn(&CustomerSummary) -> f64 + Sync)| rows.par_iter().map(f).collect::<Vec<f64>>();
    vec![
        Column::Int("frequency", ints(&|r| r.frequency() as i64)),
        Column::Float("recency", floats(&|r| (r.last - r.first) as f64 / unit)),
        Column::Float("T", floats(&|r| (as_of - r.first) as f64 / unit)),
        Column::Int("days_since_last", ints(&|r| as_of - r.last)),
        Column::Int("orders", ints(&|r| r.orders as i64)),
        Column::Float("monetary_total", floats(&|r| r.net_spend)),
        Column::Float("monetary_mean", floats(&|r| r.repeat_mean)),
        Column::Int("tenure_days", ints(&|r| as_of - r.first)),
    ]
}
