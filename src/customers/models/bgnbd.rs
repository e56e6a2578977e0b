//! The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your
//! Customers the Easy Way").
//!
//! While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
//! purchase they drop out with probability p ~ Beta(a, b). For a customer with x repeat
//! purchases, the last at t_x, observed for T:
//!
//! L = B(a, b+x)/B(a, b) · Γ(r+x) αʳ / Γ(r) · [ (α+T)^−(r+x) + 1{x>0} a/(b+x−1) (α+t_x)^−(r+x) ]
//!
//! evaluated in log space with the two bracketed terms combined by log-sum-exp (Hardie's note
//! 027 form), so it stays finite for hundreds of purchases and for tiny a, b. The fit
//! maximises Σ wᵢ ln Lᵢ over distinct triples in log-parameters with analytic gradients
//! (digamma) and BFGS, from r = α = a = b = 1 as lifetimes does.

use rayon::prelude::*;

use super::errors::ModelError;
use super::optimize::{minimize_bfgs, BfgsOptions, Minimum};
use super::special::{digamma, hyp2f1, ln_gamma};
use super::{Distinct, Rfm};

/// BG/NBD parameters: purchase rate λ ~ Gamma(shape r, rate α), dropout p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// A maximum-likelihood fit: the last point reached and whether BFGS converged there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdFit {
    pub params: BgNbd,
    /// Σ weight · ln L at `params` (the total over customers).
    pub log_likelihood: f64,
    /// BFGS steps taken.
    pub iterations: usize,
    /// False when the fit stopped at the iteration limit or in a failed line search: the
    /// parameters are then the last point, not an optimum.
    pub converged: bool,
    /// Largest gradient component of the mean negative log-likelihood in log-parameters.
    pub gradient_norm: f64,
}

/// The part of a customer's ln L that depends on the frequency x alone, and its derivatives
/// in (r, α, a, b).
struct FrequencyTerms {
    x: f64,
    common: f64,
    d_common: [f64; 4],
    /// ln a − ln(b + x − 1) and 1/(b + x − 1), for x > 0.
    ln_dropout: f64,
    inv_b_x1: f64,
}

/// ln(α + t) and 1/(α + t) for an age T or a recency t_x: shared by every customer with it.
struct Shifted {
    ln: f64,
    inv: f64,
}

impl Shifted {
    fn new(alpha: f64, t: f64) -> Shifted {
        let at = alpha + t;
        Shifted { ln: at.ln(), inv: 1.0 / at }
    }
}

/// BFGS on the mean negative log-likelihood of `triples` (with weights) from `start` in
/// log-parameters. The Γ and ψ terms depend on x alone, ln(α+T) on T alone and ln(α+t_x)
/// on t_x alone: each is computed once per distinct value per evaluation, so a triple
/// costs one exp and one ln.
fn minimize_on(triples: &[(Rfm, f64)], start: &[f64], options: &BfgsOptions) -> Result<Minimum, ModelError> {
    let total: f64 = triples.iter().map(|(_, w)| w).sum();
    let frequencies = Distinct::of(triples, |(rfm, _)| rfm.x);
    let ages = Distinct::of(triples, |(rfm, _)| rfm.t);
    let recencies = Distinct::of(triples, |(rfm, _)| rfm.t_x);
    let rows: Vec<(u32, u32, u32, f64)> = (0..triples.len())
        .into_par_iter()
        .map(|i| (frequencies.index[i], ages.index[i], recencies.index[i], triples[i].1))
        .collect();
    let objective = |theta: &[f64], gradient: &mut [f64]| -> f64 {
        let model = BgNbd::from_log(theta);
        let terms: Vec<FrequencyTerms> = frequencies.values.iter().map(|&x| model.frequency_terms(x)).collect();
        let shifted = |d: &Distinct| d.values.iter().map(|&t| Shifted::new(model.alpha, t)).collect::<Vec<_>>();
        let (age, recency) = (shifted(&ages), shifted(&recencies));
        let (value, g) = super::negative_log_likelihood(&rows, |&(x, t, t_x, weight)| {
            let (ll, g) = model.log_likelihood_given(&terms[x as usize], &age[t as usize], &recency[t_x as usize]);
            (weight, ll, g)
        });
        gradient.iter_mut().zip(g).for_each(|(out, gk)| *out = gk / total);
        value / total
    };
    minimize_bfgs(&objective, start, options)
}

impl BgNbd {
    /// Fits by maximum likelihood on distinct triples with weights (customer counts), e.g.
    /// from [`super::distinct_triples`].
    pub fn fit(triples: &[(Rfm, f64)], options: &BfgsOptions) -> Result<BgNbdFit, ModelError> {
        for (index, (rfm, weight)) in triples.iter().enumerate() {
            if !rfm.is_valid() {
                return Err(ModelError::InvalidRfm { index, x: rfm.x, t_x: rfm.t_x, t: rfm.t });
            }
            if !(weight.is_finite() && *weight > 0.0) {
                return Err(ModelError::InvalidWeight { index, weight: *weight });
            }
        }
        if triples.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        let total: f64 = triples.iter().map(|(_, w)| w).sum();
        let minimum = super::minimize_warm(triples, &[0.0; 4], |rows, start| minimize_on(rows, start, options))?;
        Ok(BgNbdFit {
            params: BgNbd::from_log(&minimum.x),
            log_likelihood: -minimum.value * total,
            iterations: minimum.iterations,
            converged: minimum.converged(),
            gradient_norm: minimum.gradient_norm(),
        })
    }

    pub(crate) fn from_log(theta: &[f64]) -> BgNbd {
        BgNbd { r: theta[0].exp(), alpha: theta[1].exp(), a: theta[2].exp(), b: theta[3].exp() }
    }

    /// ln L for one customer (see the type's documentation).
    pub fn log_likelihood(&self, rfm: &Rfm) -> f64 {
        self.log_likelihood_and_gradient(rfm).0
    }

    /// ln L and its gradient with respect to (ln r, ln α, ln a, ln b).
    fn log_likelihood_and_gradient(&self, rfm: &Rfm) -> (f64, [f64; 4]) {
        let shifted = |t: f64| Shifted::new(self.alpha, t);
        self.log_likelihood_given(&self.frequency_terms(rfm.x), &shifted(rfm.t), &shifted(rfm.t_x))
    }

    /// The terms of ln L that depend on the frequency x alone (its Γ and ψ functions) and
    /// their derivatives in (r, α, a, b): shared by every customer with that x.
    fn frequency_terms(&self, x: f64) -> FrequencyTerms {
        let BgNbd { r, alpha, a, b } = *self;
        FrequencyTerms {
            x,
            common: ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
                - ln_gamma(b)
                - ln_gamma(a + b + x),
            d_common: [
                digamma(r + x) - digamma(r) + alpha.ln(),
                r / alpha,
                digamma(a + b) - digamma(a + b + x),
                digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x),
            ],
            ln_dropout: a.ln() - (b + (x - 1.0)).ln(), // b + x − 1 without losing a tiny b against 1
            inv_b_x1: 1.0 / (b + (x - 1.0)),
        }
    }

    /// ln L and its gradient for a customer whose frequency's terms are `terms`, with
    /// ln(α+T), 1/(α+T) in `age` and ln(α+t_x), 1/(α+t_x) in `recency`. The two bracketed
    /// terms are combined by log-sum-exp with one exp.
    fn log_likelihood_given(&self, terms: &FrequencyTerms, age: &Shifted, recency: &Shifted) -> (f64, [f64; 4]) {
        let BgNbd { r, alpha, a, b } = *self;
        let x = terms.x;
        let (common, d_common) = (terms.common, terms.d_common);
        let survived = -(r + x) * age.ln;
        let d_survived = [-age.ln, -(r + x) * age.inv, 0.0, 0.0];
        let (ll, d): (f64, [f64; 4]) = if x > 0.0 {
            let dropped = terms.ln_dropout - (r + x) * recency.ln;
            let d_dropped = [-recency.ln, -(r + x) * recency.inv, 1.0 / a, -terms.inv_b_x1];
            let smaller = (-(survived - dropped).abs()).exp();
            let lse = survived.max(dropped) + smaller.ln_1p();
            let (big, small) = (1.0 / (1.0 + smaller), smaller / (1.0 + smaller));
            let (w1, w2) = if survived >= dropped { (big, small) } else { (small, big) };
            (common + lse, std::array::from_fn(|k| d_common[k] + w1 * d_survived[k] + w2 * d_dropped[k]))
        } else {
            (common + survived, std::array::from_fn(|k| d_common[k] + d_survived[k]))
        };
        let params = [r, alpha, a, b];
        (ll, std::array::from_fn(|k| d[k] * params[k]))
    }

    /// P(alive | x, t_x, T) = 1 / (1 + 1{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x)).
    pub fn p_alive(&self, rfm: &Rfm) -> f64 {
        self.p_alive_and_weight(rfm).0
    }

    /// [`Self::p_alive`] and [`Self::alive_weight`] from one dead-odds term (four `ln` and
    /// one `exp` per customer instead of twice that): the same values, bit for bit.
    pub fn p_alive_and_weight(&self, rfm: &Rfm) -> (f64, f64) {
        if rfm.x == 0.0 {
            return (1.0, 1.0);
        }
        let ln_odds_dead = self.ln_odds_dead(rfm);
        let odds_dead = ln_odds_dead.exp();
        let weight = 1.0 + odds_dead;
        if ln_odds_dead > 0.0 {
            let e = (-ln_odds_dead).exp();
            (e / (1.0 + e), weight)
        } else {
            (1.0 / weight, weight)
        }
    }

    /// P(Y(t) = 0 | x, t_x, T): no purchase in the next `t_future`. A dead customer buys
    /// nothing; one alive at T can only drop out right after a purchase, so stays alive
    /// through a purchase-free period, and with λ | alive ~ Gamma(r + x, α + T) has no
    /// purchase with probability ((α+T)/(α+T+t))^(r+x).
    pub fn probability_of_no_purchases(&self, t_future: f64, rfm: &Rfm) -> f64 {
        let alive = self.p_alive(rfm);
        let none_if_alive =
            ((self.r + rfm.x) * ((self.alpha + rfm.t).ln() - (self.alpha + rfm.t + t_future).ln())).exp();
        (1.0 - alive) + alive * none_if_alive
    }

    /// ln of a/(b+x−1) ((α+T)/(α+t_x))^(r+x), the odds that a customer with x > 0 is dead.
    fn ln_odds_dead(&self, rfm: &Rfm) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        a.ln() - (b + (rfm.x - 1.0)).ln() + (r + rfm.x) * ((alpha + rfm.t).ln() - (alpha + rfm.t_x).ln())
    }

    /// E[Y(t) | x, t_x, T]: expected purchases in the next `t_future` (paper's eq. 10):
    ///
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    ///   / (1 + 1{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x))
    ///
    /// with the ₂F₁ term rewritten by Euler's transformation as
    /// (1 + t/(α+T))^(1−a) ₂F₁(a+b−1−r, a−1; a+b+x−1; z), which stays bounded as z → 1.
    /// Within 1e-6 of a = 1 (where the formula is 0/0) it is extrapolated from a ± 1e-4,
    /// a ± 2e-4 (error ~1e-12 relative). NaN when a+b+x−1 is a non-positive integer.
    pub fn expected_purchases(&self, t_future: f64, rfm: &Rfm) -> f64 {
        if t_future <= 0.0 {
            return 0.0;
        }
        if !self.expectation_factorises() {
            let at = |d: f64| BgNbd { a: 1.0 + d, ..*self }.expected_purchases(t_future, rfm);
            return (4.0 * (at(1e-4) + at(-1e-4)) - (at(2e-4) + at(-2e-4))) / 6.0;
        }
        self.expected_purchases_given(self.unconditional_share(t_future, rfm.x, rfm.t), rfm)
    }

    /// Whether [`Self::expected_purchases`] takes its general form (a not within 1e-6 of 1),
    /// in which the ₂F₁ factor depends on (x, T) alone ([`Self::unconditional_share`]).
    pub fn expectation_factorises(&self) -> bool {
        (self.a - 1.0).abs() >= 1e-6
    }

    /// The factor of E[Y(t) | x, t_x, T] that depends on (t, x, T) alone (not on t_x):
    /// (1 + t/(α+T))^(1−a) ₂F₁(a+b−1−r, a−1; a+b+x−1; t/(α+T+t)). Customers who share x
    /// and T share it, so predictions for many customers compute it once per distinct pair.
    pub fn unconditional_share(&self, t_future: f64, x: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let z = t_future / (alpha + t + t_future);
        ((1.0 - a) * (t_future / (alpha + t)).ln_1p()).exp() * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    }

    /// E[Y(t) | x, t_x, T] from its (x, T) factor `share` = [`Self::unconditional_share`],
    /// when [`Self::expectation_factorises`].
    pub fn expected_purchases_given(&self, share: f64, rfm: &Rfm) -> f64 {
        self.expected_purchases_weighted(share, rfm.x, self.alive_weight(rfm))
    }

    /// The divisor of E[Y(t) | x, t_x, T] that is the same at every t: 1 + the odds that
    /// the customer is dead (1 for x = 0). A customer's forecasts at many times compute it
    /// once.
    pub fn alive_weight(&self, rfm: &Rfm) -> f64 {
        if rfm.x > 0.0 {
            1.0 + self.ln_odds_dead(rfm).exp()
        } else {
            1.0
        }
    }

    /// [`Self::expected_purchases_given`] for frequency `x` from its (x, T) factor `share`
    /// and its [`Self::alive_weight`].
    pub fn expected_purchases_weighted(&self, share: f64, x: f64, alive_weight: f64) -> f64 {
        let BgNbd { a, b, .. } = *self;
        let c = a + b + x - 1.0;
        c / (a - 1.0) * (1.0 - share) / alive_weight
    }

    /// E[X(t)]: expected purchases in a period of length t for a new customer (paper's eq. 9).
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        self.expected_purchases(t, &Rfm { x: 0.0, t_x: 0.0, t: 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_purchases_runs_from_certain_now_to_the_death_probability_far_ahead() {
        let model = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
        let rfm = Rfm { x: 2.0, t_x: 30.43, t: 38.86 };
        assert!((model.probability_of_no_purchases(0.0, &rfm) - 1.0).abs() < 1e-15);
        let far = model.probability_of_no_purchases(1e12, &rfm);
        assert!((far - (1.0 - model.p_alive(&rfm))).abs() < 1e-6, "{far}");
        let (soon, later) =
            (model.probability_of_no_purchases(10.0, &rfm), model.probability_of_no_purchases(40.0, &rfm));
        assert!(soon > later && later > far, "{soon} {later} {far}");
    }

    /// Published CDNOW estimates (Fader, Hardie & Lee 2005, table in section 5).
    const PUBLISHED: BgNbd = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const CUSTOMER_ONE: Rfm = Rfm { x: 2.0, t_x: 30.43, t: 38.86 };

    #[test]
    fn conditional_expectation_matches_hardies_published_value() {
        // Hardie's note: E[Y(39) | 2, 30.43, 38.86] = 1.226; lifetimes 0.11.3 gives
        // 1.226028174767135 for the same parameters.
        let e = PUBLISHED.expected_purchases(39.0, &CUSTOMER_ONE);
        assert!((e - 1.226028174767135).abs() < 1e-12, "{e}");
    }

    #[test]
    fn expectations_and_p_alive_match_lifetimes() {
        // lifetimes 0.11.3 (scipy 1.17.1) with the published parameters.
        let p = PUBLISHED.p_alive(&CUSTOMER_ONE);
        assert!((p - 0.726578570080673).abs() < 1e-14, "{p}");
        let e = PUBLISHED.expected_purchases_new(39.0);
        assert!((e - 1.1967231933207985).abs() < 1e-12, "{e}");
        let e = PUBLISHED.expected_purchases(52.0, &Rfm { x: 0.0, t_x: 0.0, t: 0.0 });
        assert!((e - 1.4460505953963958).abs() < 1e-12, "{e}");
        let e = PUBLISHED.expected_purchases(104.0, &Rfm { x: 7.0, t_x: 35.0, t: 38.0 });
        assert!((e - 9.507026465164396).abs() < 1e-11, "{e}");
        assert_eq!(PUBLISHED.p_alive(&Rfm { x: 0.0, t_x: 0.0, t: 10.0 }), 1.0);
    }

    #[test]
    fn expected_purchases_are_continuous_through_a_equal_to_one() {
        for rfm in [CUSTOMER_ONE, Rfm { x: 0.0, t_x: 0.0, t: 10.0 }] {
            let at_one = BgNbd { a: 1.0, ..PUBLISHED }.expected_purchases(39.0, &rfm);
            let near = BgNbd { a: 1.0 + 1e-3, ..PUBLISHED }.expected_purchases(39.0, &rfm);
            let below = BgNbd { a: 1.0 - 1e-3, ..PUBLISHED }.expected_purchases(39.0, &rfm);
            assert!(
                at_one.is_finite() && (at_one - 0.5 * (near + below)).abs() < 1e-6 * at_one,
                "{at_one} {near} {below}"
            );
        }
    }

    #[test]
    fn expected_purchases_grow_with_the_horizon_and_stay_finite_far_out() {
        let mut previous = 0.0;
        for t in [1.0, 10.0, 100.0, 1e3, 1e4, 1e6] {
            let e = PUBLISHED.expected_purchases(t, &CUSTOMER_ONE);
            assert!(e.is_finite() && e > previous, "E[Y({t})] = {e} after {previous}");
            previous = e;
        }
    }

    #[test]
    fn p_alive_and_weight_share_one_dead_odds_term() {
        // Customers on both sides of even odds (ln odds > 0 and ≤ 0) and without repeats.
        for rfm in [CUSTOMER_ONE, Rfm { x: 1.0, t_x: 1.0, t: 200.0 }, Rfm { x: 0.0, t_x: 0.0, t: 10.0 }] {
            let odds = if rfm.x > 0.0 { PUBLISHED.ln_odds_dead(&rfm).exp() } else { 0.0 };
            let (p, weight) = PUBLISHED.p_alive_and_weight(&rfm);
            assert_eq!(weight, PUBLISHED.alive_weight(&rfm), "{rfm:?}");
            assert!((p - 1.0 / (1.0 + odds)).abs() < 1e-15, "{rfm:?}: {p}");
        }
        assert!(PUBLISHED.ln_odds_dead(&Rfm { x: 1.0, t_x: 1.0, t: 200.0 }) > 0.0);
        assert!(PUBLISHED.ln_odds_dead(&CUSTOMER_ONE) <= 0.0);
    }

    #[test]
    fn log_likelihood_is_finite_for_many_purchases_and_tiny_a_b() {
        let heavy = Rfm { x: 300.0, t_x: 38.0, t: 38.86 };
        let extreme = Rfm { x: 5000.0, t_x: 38.0, t: 38.86 };
        for model in
            [PUBLISHED, BgNbd { a: 1e-6, b: 1e-6, ..PUBLISHED }, BgNbd { r: 1e-6, alpha: 1e-6, a: 1e-6, b: 1e-6 }]
        {
            for rfm in
                [heavy, extreme, CUSTOMER_ONE, Rfm { x: 1.0, t_x: 0.0, t: 0.0 }, Rfm { x: 0.0, t_x: 0.0, t: 38.86 }]
            {
                let (ll, g) = model.log_likelihood_and_gradient(&rfm);
                assert!(ll.is_finite() && g.iter().all(|v| v.is_finite()), "{model:?} {rfm:?}: {ll} {g:?}");
            }
            assert!(model.p_alive(&heavy).is_finite());
        }
    }

    #[test]
    fn analytic_gradient_matches_central_differences() {
        let theta0 = [PUBLISHED.r.ln(), PUBLISHED.alpha.ln(), PUBLISHED.a.ln(), PUBLISHED.b.ln()];
        for rfm in [
            CUSTOMER_ONE,
            Rfm { x: 0.0, t_x: 0.0, t: 20.0 },
            Rfm { x: 1.0, t_x: 3.0, t: 30.0 },
            Rfm { x: 40.0, t_x: 30.0, t: 31.0 },
        ] {
            let (_, g) = BgNbd::from_log(&theta0).log_likelihood_and_gradient(&rfm);
            for k in 0..4 {
                let h = 1e-6;
                let (mut up, mut down) = (theta0, theta0);
                up[k] += h;
                down[k] -= h;
                let numeric = (BgNbd::from_log(&up).log_likelihood(&rfm) - BgNbd::from_log(&down).log_likelihood(&rfm))
                    / (2.0 * h);
                assert!((numeric - g[k]).abs() < 1e-7 * numeric.abs().max(1.0), "{rfm:?} k={k}: {numeric} vs {}", g[k]);
            }
        }
    }

    #[test]
    fn one_customer_log_likelihood_matches_the_closed_form() {
        // Direct evaluation of the likelihood without logs for a small case.
        let BgNbd { r, alpha, a, b } = PUBLISHED;
        let Rfm { x, t_x, t } = CUSTOMER_ONE;
        let beta = |p: f64, q: f64| (ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q)).exp();
        let gamma_ratio = (ln_gamma(r + x) - ln_gamma(r)).exp() * alpha.powf(r);
        let l = beta(a, b + x) / beta(a, b) * gamma_ratio / (alpha + t).powf(r + x)
            + beta(a + 1.0, b + x - 1.0) / beta(a, b) * gamma_ratio / (alpha + t_x).powf(r + x);
        assert!((PUBLISHED.log_likelihood(&CUSTOMER_ONE) - l.ln()).abs() < 1e-12);
    }

    #[test]
    fn the_iteration_limit_gives_converged_false_and_the_last_point() {
        let triples = vec![
            (Rfm { x: 0.0, t_x: 0.0, t: 38.0 }, 1400.0),
            (Rfm { x: 1.0, t_x: 10.0, t: 38.0 }, 500.0),
            (CUSTOMER_ONE, 300.0),
            (Rfm { x: 6.0, t_x: 35.0, t: 37.0 }, 150.0),
        ];
        let fit = BgNbd::fit(&triples, &BfgsOptions { max_iterations: 2, ..BfgsOptions::default() }).unwrap();
        assert!(!fit.converged);
        assert_eq!(fit.iterations, 2);
        assert_ne!(fit.params, BgNbd { r: 1.0, alpha: 1.0, a: 1.0, b: 1.0 });
        let start = BgNbd { r: 1.0, alpha: 1.0, a: 1.0, b: 1.0 };
        let start_ll: f64 = triples.iter().map(|(rfm, w)| w * start.log_likelihood(rfm)).sum();
        assert!(fit.log_likelihood > start_ll);
        let full = BgNbd::fit(&triples, &BfgsOptions::default()).unwrap();
        assert!(full.converged && full.log_likelihood >= fit.log_likelihood);
    }

    #[test]
    fn bad_rows_are_refused_with_their_index() {
        assert_eq!(BgNbd::fit(&[], &BfgsOptions::default()), Err(ModelError::EmptyInput));
        let bad = [(CUSTOMER_ONE, 1.0), (Rfm { x: 1.0, t_x: 5.0, t: 4.0 }, 1.0)];
        assert!(matches!(BgNbd::fit(&bad, &BfgsOptions::default()), Err(ModelError::InvalidRfm { index: 1, .. })));
        let bad = [(CUSTOMER_ONE, 0.0)];
        assert!(matches!(BgNbd::fit(&bad, &BfgsOptions::default()), Err(ModelError::InvalidWeight { index: 0, .. })));
    }
}
