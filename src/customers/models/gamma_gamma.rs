//! The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV:
//! Using Iso-Value Curves for Customer Base Analysis"; Hardie's note "The Gamma-Gamma Model
//! of Monetary Value", 2013).
//!
//! Each transaction's value is Gamma(p, ν) with the customer's ν ~ Gamma(q, v). For a customer
//! with x ≥ 1 repeat transactions of mean value m, the density of m is
//!
//! f(m | x) = Γ(px+q) / (Γ(px) Γ(q)) · v^q m^(px−1) x^(px) / (v + x m)^(px+q)
//!
//! fitted by maximum likelihood on (x, m, weight) rows in log-parameters, with analytic
//! gradients and BFGS from p = q = v = 1. Customers without repeat purchases or with a mean
//! spend ≤ 0 are the caller's to leave out.

use rayon::prelude::*;

use super::errors::ModelError;
use super::optimize::{minimize_bfgs, BfgsOptions, Minimum};
use super::special::{digamma, ln_gamma};
use super::Distinct;

/// Gamma-Gamma parameters: transaction value Gamma(shape p, rate ν), ν ~ Gamma(shape q, rate v).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

/// A maximum-likelihood fit: the last point reached and whether BFGS converged there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaFit {
    pub params: GammaGamma,
    /// Σ weight · ln f(m | x) at `params`.
    pub log_likelihood: f64,
    pub iterations: usize,
    /// False when the fit stopped at the iteration limit or in a failed line search.
    pub converged: bool,
    /// Largest gradient component of the mean negative log-likelihood in log-parameters.
    pub gradient_norm: f64,
}

/// The part of a customer's Gamma-Gamma ln L that depends on the frequency x alone.
struct SpendTerms {
    x: f64,
    ln_x: f64,
    /// ln v (the same for every x).
    ln_v: f64,
    /// ln Γ(p x + q) − ln Γ(p x) − ln Γ(q).
    ln_gammas: f64,
    /// ψ(p x + q) − ψ(p x) and ψ(p x + q) − ψ(q).
    psi_p: f64,
    psi_q: f64,
}

/// BFGS on the mean negative log-likelihood of `rows` (x, m, weight) from `start` in
/// log-parameters. The Γ and ψ terms depend on x alone: computed once per distinct x per
/// evaluation, so a row costs one ln.
fn minimize_on(rows: &[(f64, f64, f64)], start: &[f64], options: &BfgsOptions) -> Result<Minimum, ModelError> {
    let total: f64 = rows.iter().map(|r| r.2).sum();
    let frequencies = Distinct::of(rows, |r| r.0);
    // ln m is the same at every evaluation.
    let rows: Vec<(u32, f64, f64, f64)> =
        rows.par_iter().zip(&frequencies.index).map(|(&(_, m, w), &x)| (x, m, w, m.ln())).collect();
    let objective = |theta: &[f64], gradient: &mut [f64]| -> f64 {
        let model = GammaGamma::from_log(theta);
        let terms: Vec<SpendTerms> = frequencies.values.iter().map(|&x| model.frequency_terms(x)).collect();
        let (value, g) = super::negative_log_likelihood(&rows, |&(x, m, weight, ln_m)| {
            let (ll, g) = model.log_likelihood_given(&terms[x as usize], m, ln_m);
            (weight, ll, g)
        });
        gradient.iter_mut().zip(g).for_each(|(out, gk)| *out = gk / total);
        value / total
    };
    minimize_bfgs(&objective, start, options)
}

impl GammaGamma {
    /// Fits on rows (repeat purchases x ≥ 1, mean spend of those purchases m > 0, weight).
    pub fn fit(rows: &[(f64, f64, f64)], options: &BfgsOptions) -> Result<GammaGammaFit, ModelError> {
        for (index, &(x, mean_spend, weight)) in rows.iter().enumerate() {
            if !(x.is_finite() && x >= 1.0 && mean_spend.is_finite() && mean_spend > 0.0) {
                return Err(ModelError::InvalidSpend { index, x, mean_spend });
            }
            if !(weight.is_finite() && weight > 0.0) {
                return Err(ModelError::InvalidWeight { index, weight });
            }
        }
        if rows.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        let total: f64 = rows.iter().map(|r| r.2).sum();
        let minimum = super::minimize_warm(rows, &[0.0; 3], |rows, start| minimize_on(rows, start, options))?;
        Ok(GammaGammaFit {
            params: GammaGamma::from_log(&minimum.x),
            log_likelihood: -minimum.value * total,
            iterations: minimum.iterations,
            converged: minimum.converged(),
            gradient_norm: minimum.gradient_norm(),
        })
    }

    fn from_log(theta: &[f64]) -> GammaGamma {
        GammaGamma { p: theta[0].exp(), q: theta[1].exp(), v: theta[2].exp() }
    }

    /// ln f(m | x) for one customer with x ≥ 1 repeat purchases of mean value m > 0.
    pub fn log_likelihood(&self, x: f64, mean_spend: f64) -> f64 {
        self.log_likelihood_and_gradient(x, mean_spend).0
    }

    /// ln f(m | x) and its gradient with respect to (ln p, ln q, ln v).
    fn log_likelihood_and_gradient(&self, x: f64, m: f64) -> (f64, [f64; 3]) {
        self.log_likelihood_given(&self.frequency_terms(x), m, m.ln())
    }

    /// The Γ and ψ terms of ln L that depend on the frequency x alone.
    fn frequency_terms(&self, x: f64) -> SpendTerms {
        let GammaGamma { p, q, .. } = *self;
        let px = p * x;
        let psi_sum = digamma(px + q);
        SpendTerms {
            x,
            ln_x: x.ln(),
            ln_v: self.v.ln(),
            ln_gammas: ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q),
            psi_p: psi_sum - digamma(px),
            psi_q: psi_sum - digamma(q),
        }
    }

    /// ln L and its gradient in (ln p, ln q, ln v) for mean spend `m` (and its log `ln_m`),
    /// given x's terms.
    fn log_likelihood_given(&self, terms: &SpendTerms, m: f64, ln_m: f64) -> (f64, [f64; 3]) {
        let GammaGamma { p, q, v } = *self;
        let (x, ln_x) = (terms.x, terms.ln_x);
        let px = p * x;
        let ln_vxm = (v + x * m).ln();
        let ll = terms.ln_gammas + q * terms.ln_v + (px - 1.0) * ln_m + px * ln_x - (px + q) * ln_vxm;
        let d_p = x * (terms.psi_p + ln_m + ln_x - ln_vxm);
        let d_q = terms.psi_q + terms.ln_v - ln_vxm;
        let d_v = q / v - (px + q) / (v + x * m);
        (ll, [d_p * p, d_q * q, d_v * v])
    }

    /// E[transaction value | x, m] = p (v + x m) / (p x + q − 1): the posterior mean, a
    /// weighted average of the population mean and the customer's own mean. With x = 0 it
    /// is the population mean. Needs p x + q > 1.
    pub fn conditional_expected_spend(&self, x: f64, mean_spend: f64) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let m = if x > 0.0 { mean_spend } else { 0.0 };
        p * (v + x * m) / (p * x + q - 1.0)
    }

    /// The population mean transaction value p v / (q − 1); `None` when q ≤ 1 (infinite).
    pub fn mean_spend(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.p * self.v / (self.q - 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISHED: GammaGamma = GammaGamma { p: 6.25, q: 3.74, v: 15.44 };

    #[test]
    fn conditional_expected_spend_matches_lifetimes() {
        // lifetimes 0.11.3, GammaGammaFitter with p = 6.25, q = 3.74, v = 15.44.
        let got = PUBLISHED.conditional_expected_spend(2.0, 30.0);
        assert!((got - 30.938320209973753).abs() < 1e-12, "{got}");
        let population = PUBLISHED.mean_spend().unwrap();
        assert!((PUBLISHED.conditional_expected_spend(0.0, 123.0) - population).abs() < 1e-12);
        assert_eq!(GammaGamma { q: 0.9, ..PUBLISHED }.mean_spend(), None);
    }

    #[test]
    fn log_likelihood_is_the_lifetimes_density_and_has_the_right_gradient() {
        // ∫ f(m | x) dm = 1 over m > 0 (trapezoid on a log grid).
        let model = PUBLISHED;
        let x = 3.0;
        let (mut integral, mut prev) = (0.0, (1e-6f64, 0.0));
        for i in 1..=200_000 {
            let m = 1e-6 * (1e10f64).powf(i as f64 / 200_000.0);
            let f = model.log_likelihood(x, m).exp();
            integral += 0.5 * (f + prev.1) * (m - prev.0);
            prev = (m, f);
        }
        assert!((integral - 1.0).abs() < 1e-6, "{integral}");
        let theta0 = [model.p.ln(), model.q.ln(), model.v.ln()];
        let (_, g) = model.log_likelihood_and_gradient(x, 25.0);
        for k in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (theta0, theta0);
            up[k] += h;
            down[k] -= h;
            let numeric = (GammaGamma::from_log(&up).log_likelihood(x, 25.0)
                - GammaGamma::from_log(&down).log_likelihood(x, 25.0))
                / (2.0 * h);
            assert!((numeric - g[k]).abs() < 1e-7 * numeric.abs().max(1.0), "k={k}: {numeric} vs {}", g[k]);
        }
    }

    #[test]
    fn customers_without_repeat_purchases_or_spend_are_refused() {
        let o = BfgsOptions::default();
        assert!(matches!(GammaGamma::fit(&[(0.0, 10.0, 1.0)], &o), Err(ModelError::InvalidSpend { index: 0, .. })));
        assert!(matches!(
            GammaGamma::fit(&[(2.0, 10.0, 1.0), (1.0, 0.0, 1.0)], &o),
            Err(ModelError::InvalidSpend { index: 1, .. })
        ));
        assert_eq!(GammaGamma::fit(&[], &o), Err(ModelError::EmptyInput));
    }
}
