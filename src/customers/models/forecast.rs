//! Every customer's BG/NBD forecast at once: expected purchases over the horizon (and the
//! holdout) and the discounted purchases of the CLV.
//!
//! The costly part of E[Y(t) | x, t_x, T], its ₂F₁ factor, depends on (t, x, T) alone
//! ([`BgNbd::unconditional_share`]), and customers share far fewer (x, T) pairs than
//! triples (a log of two years in days has at most a few hundred distinct ages per
//! frequency). So the factor is computed once per distinct pair and time, and each customer
//! only adds its own t_x term. The results are those of [`BgNbd::expected_purchases`] and
//! [`discounted_purchases`](super::discounted_purchases), bit for bit.

use rayon::prelude::*;

use super::clv::{discount_factors, discounted_steps, discounted_with, step_ends, ClvOptions};
use super::{BgNbd, Rfm};

/// Per customer (in input order): P(alive), expected purchases over the horizon, discounted
/// purchases over the CLV's steps, and expected purchases over the holdout when there is one.
pub struct Forecast {
    pub p_alive: Vec<f64>,
    pub expected: Vec<f64>,
    pub discounted: Vec<f64>,
    pub holdout_expected: Option<Vec<f64>>,
}

/// Forecasts every customer in `rfm` over `horizon` (and `holdout`), with the CLV's steps
/// and discounting from `clv`.
pub fn forecast(model: &BgNbd, rfm: &[Rfm], horizon: f64, clv: &ClvOptions, holdout: Option<f64>) -> Forecast {
    let steps = step_ends(clv);
    if !model.expectation_factorises() {
        let over = |t: f64| rfm.par_iter().map(|r| model.expected_purchases(t, r)).collect::<Vec<f64>>();
        return Forecast {
            p_alive: rfm.par_iter().map(|r| model.p_alive(r)).collect(),
            expected: over(horizon),
            discounted: rfm
                .par_iter()
                .map(|r| discounted_steps(clv, &steps, |_, t| model.expected_purchases(t, r)))
                .collect(),
            holdout_expected: holdout.map(over),
        };
    }
    // The times each pair's factor is needed at: the step ends, the horizon, the holdout.
    let mut times = steps.clone();
    times.push(horizon);
    times.extend(holdout);
    let (pair_of, pairs) = distinct_pairs(rfm);
    let shares: Vec<f64> = pairs
        .par_iter()
        .flat_map_iter(|&(x, t)| times.iter().map(move |&time| model.unconditional_share(time, x, t)))
        .collect();
    let per_pair = times.len();
    let at = |customer: usize| &shares[pair_of[customer] as usize * per_pair..][..per_pair];
    // The t_x term is the same at every time, and P(alive) comes from it: once per customer.
    let (p_alive, weights): (Vec<f64>, Vec<f64>) = rfm.par_iter().map(|r| model.p_alive_and_weight(r)).unzip();
    let expected_at = |customer: usize, k: usize| {
        let t = times[k];
        if t <= 0.0 {
            0.0
        } else {
            model.expected_purchases_weighted(at(customer)[k], rfm[customer].x, weights[customer])
        }
    };
    let factors = discount_factors(clv, &steps);
    let discounted =
        (0..rfm.len()).into_par_iter().map(|i| discounted_with(&steps, &factors, |k, _| expected_at(i, k))).collect();
    let n = steps.len();
    Forecast {
        p_alive,
        expected: (0..rfm.len()).into_par_iter().map(|i| expected_at(i, n)).collect(),
        discounted,
        holdout_expected: holdout.map(|_| (0..rfm.len()).into_par_iter().map(|i| expected_at(i, n + 1)).collect()),
    }
}

/// The distinct (x, T) pairs of `rfm` (in the order of their bits) and each customer's pair,
/// found by a parallel sort: the same result whatever the thread count.
fn distinct_pairs(rfm: &[Rfm]) -> (Vec<u32>, Vec<(f64, f64)>) {
    let key = |r: &Rfm| (r.x.to_bits(), r.t.to_bits());
    let mut keys: Vec<(u64, u64)> = rfm.par_iter().map(key).collect();
    keys.par_sort_unstable();
    keys.dedup();
    let pair_of =
        rfm.par_iter().map(|r| keys.binary_search(&key(r)).expect("every pair is among the keys") as u32).collect();
    let pairs = keys.into_iter().map(|(x, t)| (f64::from_bits(x), f64::from_bits(t))).collect();
    (pair_of, pairs)
}

#[cfg(test)]
mod tests {
    use super::super::discounted_purchases;
    use super::*;

    fn customers() -> Vec<Rfm> {
        let mut out = Vec::new();
        for x in 0..6 {
            for t in [3.0, 10.5, 38.86, 38.86, 52.0] {
                for t_x in [0.0, 1.0, 2.5, t] {
                    if x > 0 || t_x == 0.0 {
                        out.push(Rfm { x: x as f64, t_x: if x == 0 { 0.0 } else { t_x }, t });
                    }
                }
            }
        }
        out
    }

    #[test]
    fn shared_factors_give_the_per_customer_predictions_bit_for_bit() {
        let options = ClvOptions { horizon: 52.0, steps: 12, periods_per_year: 52.18, annual_discount_rate: 0.1 };
        for model in
            [BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, BgNbd { r: 0.4, alpha: 11.0, a: 1.0, b: 6.0 }]
        {
            let rfm = customers();
            let got = forecast(&model, &rfm, 39.0, &options, Some(20.0));
            for (i, r) in rfm.iter().enumerate() {
                assert_eq!(got.p_alive[i], model.p_alive(r), "{r:?}");
                assert_eq!(got.expected[i], model.expected_purchases(39.0, r), "{r:?}");
                assert_eq!(got.discounted[i], discounted_purchases(&model, r, &options), "{r:?}");
                assert_eq!(got.holdout_expected.as_ref().unwrap()[i], model.expected_purchases(20.0, r), "{r:?}");
            }
        }
    }
}
