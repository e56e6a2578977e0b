//! Buy-till-you-die models fitted by maximum likelihood in f64: BG/NBD for purchases and
//! churn, Gamma-Gamma for spend, and the discounted lifetime value that combines them.
//!
//! The fits run on distinct (frequency, recency, age) triples weighted by how many customers
//! share them ([`distinct_triples`]), in log-parameters with analytic gradients and BFGS
//! ([`optimize`]). A fit that stops at the iteration limit returns its last point with
//! `converged: false`.

pub mod bgnbd;
pub mod clv;
pub mod errors;
pub mod forecast;
pub mod gamma_gamma;
pub mod optimize;
pub mod special;

pub use bgnbd::{BgNbd, BgNbdFit};
pub use clv::{discounted_clv, discounted_purchases, ClvOptions};
pub use errors::ModelError;
pub use forecast::{forecast, Forecast};
pub use gamma_gamma::{GammaGamma, GammaGammaFit};
pub use optimize::BfgsOptions;
pub use special::hyp2f1;

use rayon::prelude::*;

/// Rows per block of a parallel likelihood sum: blocks are summed in parallel, then in
/// block order, so a fit does not depend on the thread count.
const SUM_BLOCK: usize = 2048;

/// −Σ weight · (ln L, ∇ ln L) over `rows`, where `term(row)` gives (weight, ln L, ∇ ln L):
/// the negative log-likelihood and its gradient, summed deterministically in parallel.
pub(crate) fn negative_log_likelihood<T: Sync, const N: usize>(
    rows: &[T],
    term: impl Fn(&T) -> (f64, f64, [f64; N]) + Sync,
) -> (f64, [f64; N]) {
    let blocks: Vec<(f64, [f64; N])> = rows
        .par_chunks(SUM_BLOCK)
        .map(|block| {
            let mut value = 0.0;
            let mut gradient = [0.0; N];
            for row in block {
                let (weight, ll, g) = term(row);
                value -= weight * ll;
                gradient.iter_mut().zip(g).for_each(|(total, gk)| *total -= weight * gk);
            }
            (value, gradient)
        })
        .collect();
    blocks.into_iter().fold((0.0, [0.0; N]), |(value, mut gradient), (v, g)| {
        gradient.iter_mut().zip(g).for_each(|(total, gk)| *total += gk);
        (value + v, gradient)
    })
}

/// Rows a warm-start fit uses: a fit on more rows first fits every k-th row (about this
/// many), then starts from there, so its costly full-data steps are few.
const WARM_START_ROWS: usize = 16_384;

/// Minimises a likelihood over `rows` with `minimize(rows, start)`: on many rows, first on
/// every k-th row from `start`, then on all rows from that optimum (or from `start` when the
/// subsample fit does not converge). Deterministic: the subsample is fixed by the row count.
pub(crate) fn minimize_warm<T: Clone>(
    rows: &[T],
    start: &[f64],
    minimize: impl Fn(&[T], &[f64]) -> Result<optimize::Minimum, ModelError>,
) -> Result<optimize::Minimum, ModelError> {
    let stride = rows.len() / WARM_START_ROWS;
    if stride < 4 {
        return minimize(rows, start);
    }
    let sample: Vec<T> = rows.iter().step_by(stride).cloned().collect();
    let warm = minimize(&sample, start).ok().filter(|m| m.converged() && m.x.iter().all(|v| v.is_finite()));
    match warm.map(|w| minimize(rows, &w.x)) {
        Some(Ok(minimum)) => Ok(minimum),
        _ => minimize(rows, start),
    }
}

/// The distinct values of one coordinate of a likelihood's rows, and each row's index among
/// them: functions of that coordinate are then computed once per distinct value.
pub(crate) struct Distinct {
    pub values: Vec<f64>,
    pub index: Vec<u32>,
}

impl Distinct {
    /// The distinct values of `key` over `rows` (sorted, and each row's index among them
    /// looked up, in parallel: the same result whatever the thread count).
    pub fn of<T: Sync>(rows: &[T], key: impl Fn(&T) -> f64 + Sync) -> Distinct {
        let mut values: Vec<f64> = rows.par_iter().map(&key).collect();
        values.par_sort_unstable_by(f64::total_cmp);
        values.dedup_by(|a, b| a.total_cmp(b).is_eq());
        let index = rows
            .par_iter()
            .map(|row| {
                let v = key(row);
                values.partition_point(|u| u.total_cmp(&v).is_lt()) as u32
            })
            .collect();
        Distinct { values, index }
    }
}

/// One customer's purchase history in the model's time unit (e.g. weeks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfm {
    /// Repeat purchases (occasions after the first), a whole number ≥ 0.
    pub x: f64,
    /// Recency: time from the first to the last purchase (0 when x = 0).
    pub t_x: f64,
    /// Age: time from the first purchase to the end of the observation period.
    pub t: f64,
}

impl Rfm {
    /// Whether the triple is one the likelihood accepts (see [`ModelError::InvalidRfm`]).
    pub fn is_valid(&self) -> bool {
        let Rfm { x, t_x, t } = *self;
        x.is_finite()
            && t.is_finite()
            && t_x.is_finite()
            && x >= 0.0
            && x == x.floor()
            && t_x >= 0.0
            && t_x <= t
            && (x > 0.0 || t_x == 0.0)
    }
}

/// Groups customers into distinct (x, t_x, T) triples weighted by their count, sorted by x,
/// then t_x, then T (a deterministic order whatever the input order).
pub fn distinct_triples(rows: &[Rfm]) -> Vec<(Rfm, f64)> {
    let mut sorted = rows.to_vec();
    // Triples that compare equal are the same bits, so an unstable sort gives the same order
    // (and costs less CPU than rayon's parallel merge sort).
    sorted.par_sort_unstable_by(|a, b| a.x.total_cmp(&b.x).then(a.t_x.total_cmp(&b.t_x)).then(a.t.total_cmp(&b.t)));
    let mut out: Vec<(Rfm, f64)> = Vec::new();
    for rfm in sorted {
        match out.last_mut() {
            Some((last, weight)) if *last == rfm => *weight += 1.0,
            _ => out.push((rfm, 1.0)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_triples_counts_duplicates_in_sorted_order() {
        let a = Rfm { x: 2.0, t_x: 30.43, t: 38.86 };
        let b = Rfm { x: 0.0, t_x: 0.0, t: 38.86 };
        let c = Rfm { x: 2.0, t_x: 30.43, t: 38.0 };
        let got = distinct_triples(&[a, b, a, c, b, a]);
        assert_eq!(got, vec![(b, 2.0), (c, 1.0), (a, 3.0)]);
        assert_eq!(distinct_triples(&[c, a, b, a, a, b]), got);
    }

    #[test]
    fn rfm_validity_follows_the_model_definition() {
        assert!(Rfm { x: 0.0, t_x: 0.0, t: 5.0 }.is_valid());
        assert!(!Rfm { x: 0.0, t_x: 1.0, t: 5.0 }.is_valid());
        assert!(!Rfm { x: 1.5, t_x: 1.0, t: 5.0 }.is_valid());
        assert!(!Rfm { x: 1.0, t_x: 6.0, t: 5.0 }.is_valid());
        assert!(!Rfm { x: 1.0, t_x: f64::NAN, t: 5.0 }.is_valid());
    }
}
