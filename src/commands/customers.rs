//! `custseg customers`: arguments → [`crate::pipeline::customers`].

use crate::cli::{CustomersArgs, TimeUnitArg};
use crate::customers::dates::parse_day;
use crate::customers::transactions::{TransactionSpec, ValueColumns};
use crate::error::{Error, Param, Result};
use crate::pipeline::{CustomersRequest, TimeUnit};

/// A `YYYY-MM-DD` flag as a day number.
fn day(param: Param, text: &Option<String>) -> Result<Option<i64>> {
    text.as_ref()
        .map(|t| parse_day(t).ok_or_else(|| Error::param(param, format!("'{t}' is not a date like 2011-09-30"))))
        .transpose()
}

/// Runs `customers` and returns the JSON summary.
pub fn run(args: &CustomersArgs) -> Result<serde_json::Value> {
    let value = match (&args.amount, &args.quantity, &args.price) {
        (Some(amount), None, None) => ValueColumns::Amount(amount.clone()),
        (None, Some(quantity), Some(price)) => {
            ValueColumns::QuantityPrice { quantity: quantity.clone(), price: price.clone() }
        }
        _ => return Err(Error::param(Param::Amount, "give --amount, or --quantity with --price")),
    };
    crate::pipeline::customers(&CustomersRequest {
        transactions: TransactionSpec {
            inputs: args.input.clone(),
            customer_id: args.customer_id.clone(),
            time: args.time.clone(),
            value,
            invoice: args.invoice.clone(),
            batch_rows: args.batch_rows.max(1),
        },
        as_of: day(Param::AsOf, &args.as_of)?,
        holdout_end: day(Param::HoldoutEnd, &args.holdout_end)?,
        time_unit: match args.time_unit {
            TimeUnitArg::Days => TimeUnit::Days,
            TimeUnitArg::Weeks => TimeUnit::Weeks,
        },
        horizon: args.horizon,
        memory_budget: args.memory_budget,
        spill_dir: args.cache_dir.clone(),
        discount_rate: args.discount_rate,
        out: args.out.clone(),
    })
}
