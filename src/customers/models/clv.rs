//! Discounted customer lifetime value from a BG/NBD and a Gamma-Gamma model, in the shape of
//! lifetimes' `customer_lifetime_value`: the horizon is cut into equal steps, each step's
//! expected purchases (the difference of cumulative conditional expectations) are valued at
//! the customer's expected spend and discounted at the step's end.

use super::bgnbd::BgNbd;
use super::gamma_gamma::GammaGamma;
use super::Rfm;

/// The horizon and discounting of [`discounted_clv`], all in the models' time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    /// Length of the horizon (e.g. 52.14 weeks).
    pub horizon: f64,
    /// Equal steps the horizon is cut into (e.g. 12 months); at least 1.
    pub steps: usize,
    /// Time units per year (e.g. 52.14 for weeks), to apply the annual rate.
    pub periods_per_year: f64,
    /// Annual discount rate d: cash at time t (in years) is worth (1 + d)^−t today.
    pub annual_discount_rate: f64,
}

/// Σᵢ spend · (E[Y(tᵢ)] − E[Y(tᵢ₋₁)]) · (1 + d)^(−tᵢ / periods_per_year), tᵢ = i · horizon/steps,
/// where spend = `gamma_gamma.conditional_expected_spend(x, mean_spend)`.
///
/// Discounting is per step at the step's end, as lifetimes 0.11.3 does with monthly steps and
/// (1 + monthly rate)^i: with steps of a month and d = (1 + monthly rate)¹² − 1 the two agree.
pub fn discounted_clv(
    bgnbd: &BgNbd,
    gamma_gamma: &GammaGamma,
    rfm: &Rfm,
    mean_spend: f64,
    options: &ClvOptions,
) -> f64 {
    gamma_gamma.conditional_expected_spend(rfm.x, mean_spend) * discounted_purchases(bgnbd, rfm, options)
}

/// Σᵢ (E[Y(tᵢ)] − E[Y(tᵢ₋₁)]) · (1 + d)^(−tᵢ / periods_per_year): the expected purchases over
/// the horizon, each step discounted at its end. Times a spend per purchase, the CLV.
pub fn discounted_purchases(bgnbd: &BgNbd, rfm: &Rfm, options: &ClvOptions) -> f64 {
    let times = step_ends(options);
    discounted_steps(options, &times, |_, t| bgnbd.expected_purchases(t, rfm))
}

/// The ends tᵢ = i · horizon/steps of the CLV's steps, i = 1..=steps.
pub fn step_ends(options: &ClvOptions) -> Vec<f64> {
    let step = options.horizon / options.steps as f64;
    (1..=options.steps).map(|i| step * i as f64).collect()
}

/// Σᵢ (E(tᵢ) − E(tᵢ₋₁)) · (1 + d)^(−tᵢ / periods_per_year) over the step ends `times`
/// ([`step_ends`]) for a cumulative expectation `cumulative(i, tᵢ)` = E(tᵢ) (i counts from
/// 0), E(t₀) = 0.
pub fn discounted_steps(options: &ClvOptions, times: &[f64], cumulative: impl FnMut(usize, f64) -> f64) -> f64 {
    discounted_with(times, &discount_factors(options, times), cumulative)
}

/// The discount factor (1 + d)^(−tᵢ / periods_per_year) of each step end in `times`: the
/// same for every customer, so many customers' CLVs compute them once.
pub fn discount_factors(options: &ClvOptions, times: &[f64]) -> Vec<f64> {
    let ln_discount = options.annual_discount_rate.ln_1p() / options.periods_per_year;
    times.iter().map(|&t| (-ln_discount * t).exp()).collect()
}

/// [`discounted_steps`] with the step ends' [`discount_factors`] `factors` given.
pub fn discounted_with(times: &[f64], factors: &[f64], mut cumulative: impl FnMut(usize, f64) -> f64) -> f64 {
    let mut previous = 0.0;
    let mut total = 0.0;
    for (i, (&t, &factor)) in times.iter().zip(factors).enumerate() {
        let now = cumulative(i, t);
        total += (now - previous) * factor;
        previous = now;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_monthly_steps_match_lifetimes() {
        // lifetimes 0.11.3: GammaGammaFitter(p=6.25, q=3.74, v=15.44).customer_lifetime_value(
        //   BetaGeoFitter(r=0.243, alpha=4.414, a=0.793, b=2.426), frequency=2, recency=30.43,
        //   T=38.86, monetary_value=30, time=12, discount_rate=0.01, freq="W") = 45.52141814624588
        // (a month there is 4.345 weeks, discounted by 1.01^i).
        let bgnbd = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
        let gamma_gamma = GammaGamma { p: 6.25, q: 3.74, v: 15.44 };
        let options = ClvOptions {
            horizon: 12.0 * 4.345,
            steps: 12,
            periods_per_year: 12.0 * 4.345,
            annual_discount_rate: 1.01f64.powi(12) - 1.0,
        };
        let clv = discounted_clv(&bgnbd, &gamma_gamma, &Rfm { x: 2.0, t_x: 30.43, t: 38.86 }, 30.0, &options);
        assert!((clv - 45.52141814624588).abs() < 1e-9, "{clv}");
    }
}
