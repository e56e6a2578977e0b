//! EM iterations over the backend's mixture pass, `n_init` runs, degenerate components.

use super::init::{feature_variances, initial_stats, reinitialise};
use super::{GmmInit, GmmValidParams, Mixture, OnDegenerate};
use crate::backend::mixture::{MixturePass, MixtureStats};
use crate::backend::Backend;
use crate::data::Dataset;
use crate::error::{Collapsed, DegenerateCause, DegenerateError, Error, Result};
use crate::rng::Rng;

/// Weights below this count as a collapsed component.
const MIN_WEIGHT: f64 = 1e-10;

/// The outcome of a mixture fit.
#[derive(Debug, Clone, PartialEq)]
pub struct GmmFit {
    pub mixture: Mixture,
    /// The winning run's last lower bound (weighted mean log-likelihood of its last E-step).
    pub lower_bound: f64,
    /// Lower bound after each iteration of the winning run.
    pub lower_bounds: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    pub best_run: usize,
    /// Weighted mean log-likelihood of the data under the final mixture.
    pub mean_log_likelihood: f64,
    /// Σ w·ln p(x) under the final mixture.
    pub log_likelihood: f64,
    /// Bayesian and Akaike information criteria (lower is better).
    pub bic: f64,
    pub aic: f64,
    /// Components re-initialised with `--on-degenerate reinit`.
    pub reinitialised: usize,
}

/// Reported after each EM iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GmmIteration {
    pub run: usize,
    pub iteration: usize,
    pub lower_bound: f64,
    pub change: f64,
}

/// Fits a Gaussian mixture: `params.n_init` runs, the highest lower bound wins.
pub fn fit(
    backend: &dyn Backend,
    data: &Dataset,
    params: &GmmValidParams,
    on_iteration: &mut dyn FnMut(&GmmIteration),
) -> Result<GmmFit> {
    params.check_data(data.rows(), data.dim())?;
    crate::cluster::ensure_positive_weight(data)?;
    let variances = feature_variances(data);
    let mut best: Option<GmmFit> = None;
    for run in 0..params.n_init {
        let mut rng = Rng::derive(params.seed, run as u64);
        let start = match &params.init {
            GmmInit::Given(m) => m.clone(),
            _ => {
                let stats = initial_stats(backend, data, params, &mut rng)?;
                m_step(&stats, params)?
            }
        };
        let mut result = em(backend, data, params, start, run, &variances, &mut rng, on_iteration)?;
        result.best_run = run;
        if best.as_ref().is_none_or(|b| result.lower_bound > b.lower_bound) {
            best = Some(result);
        }
    }
    let mut best = best.ok_or_else(|| Error::Internal("n_init runs produced no result".into()))?;
    // Scores of the final mixture (scikit-learn's score / bic / aic).
    let pass = best.mixture.to_pass().map_err(|c| degenerate(params, c))?;
    let stats = backend.mixture_pass(data, &pass)?;
    let n = data.total_weight();
    let p = best.mixture.n_parameters() as f64;
    best.log_likelihood = stats.log_likelihood;
    best.mean_log_likelihood = stats.log_likelihood / stats.weight;
    best.bic = -2.0 * stats.log_likelihood + p * n.ln();
    best.aic = -2.0 * stats.log_likelihood + 2.0 * p;
    Ok(best)
}

fn degenerate(params: &GmmValidParams, collapsed: Collapsed) -> Error {
    let Collapsed { component, cause } = collapsed;
    Error::Degenerate(DegenerateError { component, cause, reg_covar: params.reg_covar })
}

/// The M-step. A component nobody is responsible for is an error, or with
/// `--on-degenerate reinit` is kept with ~0 weight so [`usable_pass`] re-initialises it.
fn m_step(stats: &MixtureStats, params: &GmmValidParams) -> Result<Mixture> {
    let mut stats = std::borrow::Cow::Borrowed(stats);
    loop {
        match Mixture::from_stats(&stats, params.covariance, params.reg_covar) {
            Ok(m) => return Ok(m),
            Err(c) if params.on_degenerate == OnDegenerate::Error => return Err(degenerate(params, c)),
            Err(c) => stats.to_mut().resp[c.component] = f64::MIN_POSITIVE,
        }
    }
}

/// The E-step form of `mix`, re-initialising collapsed components when asked.
fn usable_pass(
    mix: &mut Mixture,
    params: &GmmValidParams,
    data: &Dataset,
    variances: &[f64],
    rng: &mut Rng,
    reinitialised: &mut usize,
) -> Result<MixturePass> {
    let mut last = None;
    for _ in 0..=mix.k {
        let problem = match (0..mix.k).find(|&c| mix.weights[c] < MIN_WEIGHT) {
            Some(c) => Collapsed { component: c, cause: DegenerateCause::BadWeight { weight: mix.weights[c] } },
            None => match mix.to_pass() {
                Ok(pass) => return Ok(pass),
                Err(e) => e,
            },
        };
        if params.on_degenerate == OnDegenerate::Error {
            return Err(degenerate(params, problem));
        }
        let Collapsed { component, cause } = problem;
        crate::warn!("component {component} collapsed ({cause}); re-initialising it");
        reinitialise(mix, component, data, variances, rng);
        *reinitialised += 1;
        last = Some(problem);
    }
    // Re-initialising every component in turn did not help: report the last collapse.
    let last = last.unwrap_or(Collapsed { component: 0, cause: DegenerateCause::NoResponsibility });
    Err(degenerate(params, last))
}

#[allow(clippy::too_many_arguments)]
fn em(
    backend: &dyn Backend,
    data: &Dataset,
    params: &GmmValidParams,
    mut mix: Mixture,
    run: usize,
    variances: &[f64],
    rng: &mut Rng,
    on_iteration: &mut dyn FnMut(&GmmIteration),
) -> Result<GmmFit> {
    let mut lower_bound = f64::NEG_INFINITY;
    let mut lower_bounds = Vec::new();
    let mut converged = false;
    let mut reinitialised = 0;
    let mut iterations = 0;
    for iteration in 1..=params.max_iter {
        let pass = usable_pass(&mut mix, params, data, variances, rng, &mut reinitialised)?;
        let stats = backend.mixture_pass(data, &pass)?;
        let current = stats.log_likelihood / stats.weight;
        mix = Mixture::from_stats(&stats, params.covariance, params.reg_covar).or_else(|c| {
            if params.on_degenerate == OnDegenerate::Error {
                return Err(degenerate(params, c));
            }
            let mut patched = stats.clone();
            patched.resp[c.component] = f64::MIN_POSITIVE;
            Mixture::from_stats(&patched, params.covariance, params.reg_covar).map_err(|c| degenerate(params, c))
        })?;
        let change = current - lower_bound;
        lower_bound = current;
        lower_bounds.push(current);
        iterations = iteration;
        on_iteration(&GmmIteration { run, iteration, lower_bound, change });
        if change.abs() < params.tol {
            converged = true;
            break;
        }
    }
    // Leave the returned mixture usable (a last collapse is repaired or reported here).
    usable_pass(&mut mix, params, data, variances, rng, &mut reinitialised)?;
    Ok(GmmFit {
        mixture: mix,
        lower_bound,
        lower_bounds,
        iterations,
        converged,
        best_run: run,
        mean_log_likelihood: f64::NAN,
        log_likelihood: f64::NAN,
        bic: f64::NAN,
        aic: f64::NAN,
        reinitialised,
    })
}
