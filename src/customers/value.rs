//! Predicted value: BG/NBD fitted on the distinct (x, t_x, T) triples, Gamma-Gamma on the
//! repeat customers with positive spend, then per customer P(alive), churn probability,
//! expected purchases over the horizon, expected spend and discounted CLV.

use rayon::prelude::*;
use serde_json::{json, Value};

use super::models::{
    distinct_triples, forecast, BfgsOptions, BgNbd, BgNbdFit, ClvOptions, GammaGamma, GammaGammaFit, Rfm,
};
use super::rfm::CustomerSummary;
use super::table::Column;
use crate::error::{Error, Result};
use crate::{info, warn};

/// Days per average month, the CLV's discounting step.
const MONTH_DAYS: f64 = 365.25 / 12.0;

/// Time unit, horizon and discounting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueOptions {
    /// Days per time unit (1 or 7).
    pub unit_days: f64,
    /// Horizon of expected purchases and CLV, in time units.
    pub horizon: f64,
    /// Yearly discount rate.
    pub discount_rate: f64,
    /// Length of the holdout period in time units, when there is one.
    pub holdout: Option<f64>,
}

/// The fits and every customer's predictions (in the order of the summaries).
pub struct Assessment {
    pub bgnbd: BgNbdFit,
    /// None when no customer has a repeat purchase with positive spend.
    pub gamma_gamma: Option<GammaGammaFit>,
    /// Customers the Gamma-Gamma fit used, and those left out (no repeat or net spend ≤ 0).
    pub spend_customers: usize,
    pub spend_left_out: usize,
    /// The spend given to customers the Gamma-Gamma fit left out.
    pub population_spend: f64,
    pub p_alive: Vec<f64>,
    pub expected_purchases: Vec<f64>,
    pub expected_spend: Vec<f64>,
    pub clv: Vec<f64>,
    /// Expected purchases over the holdout period, and the probability of none.
    pub holdout_expected: Option<Vec<f64>>,
    pub holdout_none: Option<Vec<f64>>,
}

fn rfm_of(row: &CustomerSummary, as_of: i64, unit: f64) -> Rfm {
    Rfm { x: row.frequency() as f64, t_x: (row.last - row.first) as f64 / unit, t: (as_of - row.first) as f64 / unit }
}

/// Whether a customer's spend informs the Gamma-Gamma fit.
fn in_spend_fit(row: &CustomerSummary) -> bool {
    row.frequency() >= 1 && row.repeat_mean > 0.0 && row.net_spend > 0.0
}

/// Fits both models on `rows` (summarised up to `as_of`) and predicts every customer.
pub fn assess(rows: &[CustomerSummary], as_of: i64, options: &ValueOptions) -> Result<Assessment> {
    let unit = options.unit_days;
    let rfm: Vec<Rfm> = rows.par_iter().map(|r| rfm_of(r, as_of, unit)).collect();
    let triples = distinct_triples(&rfm);
    let bfgs = BfgsOptions { gradient_tolerance: 1e-7, ..BfgsOptions::default() };
    let bgnbd = BgNbd::fit(&triples, &bfgs).map_err(|e| Error::data("the customer table", format!("BG/NBD: {e}")))?;
    let p = &bgnbd.params;
    info!(
        "BG/NBD on {} distinct (x, t_x, T) of {} customers: r {:.4}, α {:.4}, a {:.4}, b {:.4}, log-likelihood {:.2}{}",
        triples.len(),
        rows.len(),
        p.r,
        p.alpha,
        p.a,
        p.b,
        bgnbd.log_likelihood,
        if bgnbd.converged { "" } else { " (not converged)" }
    );
    if !bgnbd.converged {
        warn!(
            "the BG/NBD fit stopped after {} iterations without converging; its predictions are approximate",
            bgnbd.iterations
        );
    }
    let spend_rows: Vec<(f64, f64, f64)> =
        rows.par_iter().filter(|r| in_spend_fit(r)).map(|r| (r.frequency() as f64, r.repeat_mean, 1.0)).collect();
    let gamma_gamma = if spend_rows.is_empty() {
        warn!("no customer has a repeat purchase with positive spend: Gamma-Gamma is not fitted");
        None
    } else {
        let fit = GammaGamma::fit(&spend_rows, &bfgs)
            .map_err(|e| Error::data("the customer table", format!("Gamma-Gamma: {e}")))?;
        info!(
            "Gamma-Gamma on {} repeat customers: p {:.4}, q {:.4}, v {:.4}{}",
            spend_rows.len(),
            fit.params.p,
            fit.params.q,
            fit.params.v,
            if fit.converged { "" } else { " (not converged)" }
        );
        Some(fit)
    };
    // Customers the spend model leaves out get its population mean; without a usable model,
    // the mean value of the repeat occasions (or, with no repeats at all, of every occasion).
    let observed_mean = || {
        let (sum, n) =
            rows.iter().filter(|r| in_spend_fit(r)).fold((0.0, 0.0), |(s, n), r| (s + r.repeat_mean, n + 1.0));
        let per_occasion =
            rows.iter().map(|r| r.net_spend.max(0.0) / r.occasions.max(1) as f64).sum::<f64>() / rows.len() as f64;
        if n > 0.0 {
            sum / n
        } else {
            per_occasion
        }
    };
    let population_spend = gamma_gamma.as_ref().and_then(|g| g.params.mean_spend()).unwrap_or_else(observed_mean);
    let spend = |i: usize| match &gamma_gamma {
        Some(g) if in_spend_fit(&rows[i]) => g.params.conditional_expected_spend(rfm[i].x, rows[i].repeat_mean),
        _ => population_spend,
    };
    let clv_options = ClvOptions {
        horizon: options.horizon,
        steps: ((options.horizon * unit / MONTH_DAYS).round() as usize).max(1),
        periods_per_year: 365.25 / unit,
        annual_discount_rate: options.discount_rate,
    };
    // Per-customer predictions are independent: computed in parallel, each in f64 alone,
    // so the result does not depend on the thread count.
    let model = &bgnbd.params;
    let expected_spend: Vec<f64> = (0..rows.len()).into_par_iter().map(spend).collect();
    let purchases = forecast(model, &rfm, options.horizon, &clv_options, options.holdout);
    let clv = purchases.discounted.par_iter().zip(&expected_spend).map(|(d, s)| s * d).collect();
    Ok(Assessment {
        spend_customers: spend_rows.len(),
        spend_left_out: rows.len() - spend_rows.len(),
        population_spend,
        p_alive: purchases.p_alive,
        expected_purchases: purchases.expected,
        expected_spend,
        clv,
        holdout_expected: purchases.holdout_expected,
        holdout_none: options
            .holdout
            .map(|t| rfm.par_iter().map(|r| model.probability_of_no_purchases(t, r)).collect()),
        bgnbd,
        gamma_gamma,
    })
}

impl Assessment {
    /// The prediction columns of the customer table.
    pub fn into_columns(self) -> Vec<Column> {
        let churn = self.p_alive.par_iter().map(|p| 1.0 - p).collect();
        vec![
            Column::Float("p_alive", self.p_alive),
            Column::Float("churn_probability", churn),
            Column::Float("expected_purchases", self.expected_purchases),
            Column::Float("expected_spend", self.expected_spend),
            Column::Float("clv", self.clv),
        ]
    }

    /// The summary's model keys: `bgnbd`, `gamma_gamma` and, with a holdout, `holdout`.
    pub fn summary(&self, rows: &[CustomerSummary]) -> Value {
        let b = &self.bgnbd;
        let mut out = json!({
            "bgnbd": {
                "r": b.params.r, "alpha": b.params.alpha, "a": b.params.a, "b": b.params.b,
                "log_likelihood": b.log_likelihood, "iterations": b.iterations, "converged": b.converged,
            },
            "gamma_gamma": self.gamma_gamma.as_ref().map(|g| json!({
                "p": g.params.p, "q": g.params.q, "v": g.params.v,
                "log_likelihood": g.log_likelihood, "iterations": g.iterations, "converged": g.converged,
                "customers": self.spend_customers, "left_out": self.spend_left_out,
            })),
            "population_spend": self.population_spend,
            "clv_total": self.clv.iter().sum::<f64>(),
        });
        if let Some(predicted) = &self.holdout_expected {
            let actual: Vec<f64> = rows.iter().map(|r| r.holdout_purchases as f64).collect();
            out["holdout"] = json!({
                "predicted_total": predicted.iter().sum::<f64>(),
                "actual_total": actual.iter().sum::<f64>(),
                "correlation": correlation(predicted, &actual),
                "actual_share_with_none": actual.iter().filter(|&&a| a == 0.0).count() as f64 / actual.len() as f64,
                "predicted_share_with_none": self.holdout_none.as_ref().map(|p| p.iter().sum::<f64>() / p.len() as f64),
            });
        }
        out
    }
}

/// Pearson correlation; None when either side is constant.
fn correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}
