//! The group-by: one row per customer from the cleaned lines, in the convention of Fader,
//! Hardie & Lee and of lifetimes — purchases on the same day are one occasion, `frequency`
//! counts the repeat occasions, `recency` runs from the first to the last occasion and `T`
//! from the first occasion to the as-of date.
//!
//! Lines are ordered by customer with a counting sort ([`by_customer`]), then each
//! customer's lines by day with a stable sort, so sums run in input order within a day and
//! the result does not depend on the thread count.

use rayon::prelude::*;
use serde::Serialize;

use super::by_customer::{by_customer, scan};
use super::line::{DayValue, GroupedLine, Line, NO_INVOICE};

/// The calibration period (features) ends at `as_of`; `(as_of, holdout_end]` is the holdout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periods {
    /// Last day of the calibration period (inclusive), a day number.
    pub as_of: i64,
    /// Last day of the holdout period (inclusive).
    pub holdout_end: Option<i64>,
}

/// One customer's calibration-period summary.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary {
    /// Index into the log's customer ids.
    pub customer: u32,
    /// Day of the first and of the last purchase occasion.
    pub first: i64,
    pub last: i64,
    /// Purchase occasions (distinct days with a purchase).
    pub occasions: u32,
    /// Distinct invoices with a purchase (occasions without an invoice column).
    pub orders: u32,
    /// Purchases minus returns.
    pub net_spend: f64,
    /// Mean value of the repeat occasions (the first excluded); 0 without repeats.
    pub repeat_mean: f64,
    /// Purchase occasions in the holdout period.
    pub holdout_purchases: u32,
}

impl CustomerSummary {
    /// Repeat purchase occasions.
    pub fn frequency(&self) -> u32 {
        self.occasions - 1
    }
}

/// Lines the periods left out, and customers with nothing to summarise.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PeriodCounts {
    /// Lines after the as-of date (in the holdout or beyond).
    pub lines_after_as_of: u64,
    /// Lines after the holdout's end.
    pub lines_after_holdout: u64,
    /// Customers whose lines up to the as-of date hold no purchase (only returns, or only
    /// later purchases): not in the customer table.
    pub customers_without_purchase: u64,
}

/// Summarises every customer of the lines in `chunks` (in any order).
pub fn summarise(chunks: Vec<Vec<Line>>, periods: Periods) -> (Vec<CustomerSummary>, PeriodCounts) {
    let (customers, with_invoices) = scan(&chunks);
    if with_invoices {
        summarise_grouped(by_customer::<Line>(chunks, customers), periods)
    } else {
        summarise_grouped(by_customer::<DayValue>(chunks, customers), periods)
    }
}

/// Summarises every customer of `lines`, ordered by customer, customer c's from `start[c]`.
fn summarise_grouped<T: GroupedLine + 'static>(
    (lines, start): (Vec<T>, Vec<usize>),
    periods: Periods,
) -> (Vec<CustomerSummary>, PeriodCounts) {
    // Each customer's lines by day (stably, so sums run in input order within a day), then
    // summarised: independent per customer, so the result does not depend on the thread count.
    let customers = start.len().saturating_sub(1);
    // Indexed (one entry per customer, None without lines), so the pool writes the results
    // in place instead of handing back pieces to join.
    let summaries: Vec<Option<(Option<CustomerSummary>, LinesAfter)>> = (0..customers)
        .into_par_iter()
        .with_min_len(1 << 10)
        .map(|c| {
            let group = &lines[start[c]..start[c + 1]];
            // Logs usually come in time order: a sorted group needs no sort.
            if group.is_empty() {
                None
            } else if group.is_sorted_by_key(|l| l.day()) {
                Some(summarise_customer(c as u32, group, periods))
            } else {
                let mut sorted = group.to_vec();
                sorted.sort_by_key(|l| l.day());
                Some(summarise_customer(c as u32, &sorted, periods))
            }
        })
        .collect();
    // The sorted copy is freed by the pool while the caller goes on.
    rayon::spawn(move || drop(lines));
    let counts = summaries
        .par_iter()
        .flatten()
        .map(|(summary, after)| PeriodCounts {
            lines_after_as_of: after.as_of,
            lines_after_holdout: after.holdout,
            customers_without_purchase: u64::from(summary.is_none()),
        })
        .reduce(PeriodCounts::default, |a, b| PeriodCounts {
            lines_after_as_of: a.lines_after_as_of + b.lines_after_as_of,
            lines_after_holdout: a.lines_after_holdout + b.lines_after_holdout,
            customers_without_purchase: a.customers_without_purchase + b.customers_without_purchase,
        });
    (present(summaries), counts)
}

/// The customers' summaries, in order, leaving out customers without lines or without a
/// purchase. When every customer has one (the usual case) they are moved in place in
/// parallel; otherwise gathered one by one.
fn present(summaries: Vec<Option<(Option<CustomerSummary>, LinesAfter)>>) -> Vec<CustomerSummary> {
    let complete = summaries.par_iter().all(|s| matches!(s, Some((Some(_), _))));
    if !complete {
        return summaries.into_iter().flatten().filter_map(|(summary, _)| summary).collect();
    }
    summaries
        .into_par_iter()
        .map(|s| match s {
            Some((Some(summary), _)) => summary,
            _ => unreachable!("every customer has a summary: checked above"),
        })
        .collect()
}

/// A customer's lines after the as-of date and after the holdout's end.
#[derive(Default)]
struct LinesAfter {
    as_of: u64,
    holdout: u64,
}

/// One customer's lines, sorted by day: the summary (None without a purchase up to the
/// as-of date) and the lines the periods leave out.
fn summarise_customer<T: GroupedLine>(
    customer: u32,
    lines: &[T],
    periods: Periods,
) -> (Option<CustomerSummary>, LinesAfter) {
    let mut first = None;
    let mut last = 0;
    let mut occasions = 0u32;
    let mut net = 0.0f64;
    let mut repeat_sum = 0.0f64;
    let mut holdout = 0u32;
    let mut after = LinesAfter::default();
    let mut invoices: Vec<u64> = Vec::new();
    for day_lines in lines.chunk_by(|a, b| a.day() == b.day()) {
        let day = i64::from(day_lines[0].day());
        let bought: f64 = day_lines.iter().filter(|l| l.is_purchase()).map(|l| l.value()).sum();
        let any_purchase = day_lines.iter().any(T::is_purchase);
        if day <= periods.as_of {
            net += day_lines.iter().map(|l| l.value()).sum::<f64>();
            if any_purchase {
                if first.is_some() {
                    repeat_sum += bought;
                } else {
                    first = Some(day);
                }
                last = day;
                occasions += 1;
                invoices.extend(
                    day_lines.iter().filter(|l| l.is_purchase() && l.invoice() != NO_INVOICE).map(|l| l.invoice()),
                );
            }
            continue;
        }
        after.as_of += day_lines.len() as u64;
        match periods.holdout_end {
            Some(end) if day > end => after.holdout += day_lines.len() as u64,
            Some(_) if any_purchase => holdout += 1,
            _ => {}
        }
    }
    let Some(first) = first else { return (None, after) };
    invoices.sort_unstable();
    invoices.dedup();
    let orders = if invoices.is_empty() { occasions } else { invoices.len() as u32 };
    let repeats = occasions - 1;
    let summary = CustomerSummary {
        customer,
        first,
        last,
        occasions,
        orders,
        net_spend: net,
        repeat_mean: if repeats > 0 { repeat_sum / repeats as f64 } else { 0.0 },
        holdout_purchases: holdout,
    };
    (Some(summary), after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(customer: u32, day: i32, value: f64, invoice: u64) -> Line {
        Line::new(customer, day, value, value > 0.0, invoice)
    }

    #[test]
    fn same_day_purchases_are_one_occasion_and_returns_only_lower_spend() {
        let lines = vec![
            line(0, 10, 5.0, 1),
            line(0, 10, 7.0, 2),
            line(0, 3, -4.0, 3), // a return before the first purchase
            line(0, 20, 10.0, 4),
            line(0, 31, 6.0, 5),  // holdout
            line(0, 45, 9.0, 6),  // after the holdout
            line(1, 12, -3.0, 7), // only a return: no customer row
        ];
        let periods = Periods { as_of: 30, holdout_end: Some(40) };
        let (rows, counts) = summarise(vec![lines.clone()], periods);
        assert_eq!(rows.len(), 1);
        let c = &rows[0];
        assert_eq!((c.first, c.last, c.occasions, c.frequency(), c.orders), (10, 20, 2, 1, 3));
        assert_eq!(c.net_spend, 5.0 + 7.0 - 4.0 + 10.0);
        assert_eq!(c.repeat_mean, 10.0);
        assert_eq!(c.holdout_purchases, 1);
        assert_eq!(
            counts,
            PeriodCounts { lines_after_as_of: 2, lines_after_holdout: 1, customers_without_purchase: 1 }
        );

        // Without invoices the lines are grouped in their compact form: the same summary,
        // orders counted as occasions.
        let without: Vec<Line> = lines.iter().map(|l| Line { invoice: NO_INVOICE, ..*l }).collect();
        let (compact, compact_counts) = summarise(vec![without], periods);
        assert_eq!(compact, vec![CustomerSummary { orders: 2, ..rows[0].clone() }]);
        assert_eq!(compact_counts, counts);
    }
}
