//! [`Segments`]: fitted segments of any algorithm, as a fit returns them or a saved model
//! holds them. They assign rows (with the per-row values each algorithm reports) and score
//! data; callers never branch on the algorithm.

use super::density::DensitySegments;
use super::gmm::Mixture;
use super::ward::WardSegments;
use crate::backend::mixture::MixturePass;
use crate::backend::{Backend, Centres};
use crate::data::Dataset;
use crate::error::{DegenerateError, Error, Result};

/// Fitted segments in the prepared space.
#[derive(Debug, Clone, PartialEq)]
pub enum Segments {
    /// K-Means (either variant): the nearest centre wins.
    Centres(Centres),
    /// A Gaussian mixture: the most probable component wins.
    Mixture { mixture: Mixture, pass: MixturePass },
    /// HDBSCAN or DBSCAN: the fit's own labels for its rows; new rows join the cluster of
    /// the nearest kept row that reaches them, else they are noise ([`super::density::NOISE`]).
    Density(Box<DensitySegments>),
    /// A cut Ward tree: the fitted rows keep the tree's labels, new rows go to the nearest
    /// segment centroid (exact mode) or through the nearest micro-cluster (two-level mode).
    Ward(WardSegments),
}

/// One chunk's assignment: labels, and per-row value columns named by
/// [`Segments::value_columns`] (K-Means: the distance to the centre; mixtures: the winning
/// probability, then every component's when asked).
pub struct Assigned<'a> {
    pub labels: &'a [u32],
    pub values: Vec<&'a [f32]>,
}

/// How well segments describe a dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// Σ ‖x − c‖² of every row to its nearest centre (unweighted; density fits: the
    /// clustered rows to their cluster's mean).
    Inertia(f64),
    /// Mixture likelihood: Σ w·ln p(x), the total weight, and the free parameters.
    Likelihood { log_likelihood: f64, weight: f64, parameters: usize },
}

impl Score {
    /// Weighted mean log-likelihood (mixtures).
    pub fn mean_log_likelihood(&self) -> Option<f64> {
        match *self {
            Score::Likelihood { log_likelihood, weight, .. } => Some(log_likelihood / weight),
            Score::Inertia(_) => None,
        }
    }

    /// Bayesian and Akaike information criteria (mixtures; lower is better).
    pub fn bic_aic(&self) -> Option<(f64, f64)> {
        match *self {
            Score::Likelihood { log_likelihood, weight, parameters } => {
                let p = parameters as f64;
                Some((-2.0 * log_likelihood + p * weight.ln(), -2.0 * log_likelihood + 2.0 * p))
            }
            Score::Inertia(_) => None,
        }
    }
}

impl Segments {
    /// A fitted mixture in E-step form; a component that cannot be used is the
    /// degenerate-component error that suggests a larger `reg_covar`.
    pub fn from_fitted_mixture(mixture: Mixture, reg_covar: f64) -> Result<Self> {
        let pass = mixture
            .to_pass()
            .map_err(|c| Error::Degenerate(DegenerateError { component: c.component, cause: c.cause, reg_covar }))?;
        Ok(Segments::Mixture { mixture, pass })
    }

    /// A saved mixture in E-step form; a component that cannot be used means the file at
    /// `source` is damaged.
    pub fn from_saved_mixture(mixture: Mixture, source: &str) -> Result<Self> {
        let damaged = |what: String| Error::data(source, format!("{what}; the model is damaged, refit it"));
        let expected = mixture.covariance_len();
        if mixture.weights.len() != mixture.k
            || mixture.means.len() != mixture.k * mixture.dim
            || mixture.covariances.len() != expected
        {
            return Err(damaged(format!(
                "the mixture's weights, means or covariances do not match k = {} and {} features",
                mixture.k, mixture.dim
            )));
        }
        let pass = mixture
            .to_pass()
            .map_err(|c| damaged(format!("component {} of the model is unusable ({})", c.component, c.cause)))?;
        Ok(Segments::Mixture { mixture, pass })
    }

    /// Number of segments.
    pub fn k(&self) -> usize {
        match self {
            Segments::Centres(c) => c.k,
            Segments::Mixture { pass, .. } => pass.k,
            Segments::Density(d) => d.k(),
            Segments::Ward(w) => w.centroids.k,
        }
    }

    /// Where each segment sits in the prepared space (K-Means centres, mixture means).
    pub fn centres(&self) -> Centres {
        match self {
            Segments::Centres(c) => c.clone(),
            Segments::Mixture { mixture, .. } => {
                Centres::new(mixture.k, mixture.dim, mixture.means.iter().map(|&v| v as f32).collect())
            }
            Segments::Density(d) => d.centres.clone(),
            Segments::Ward(w) => w.centroids.clone(),
        }
    }

    /// Names of the value columns [`Segments::assign`] hands over, in order.
    pub fn value_columns(&self, probabilities: bool) -> Vec<String> {
        match self {
            Segments::Centres(_) | Segments::Ward(_) => vec!["distance".into()],
            Segments::Mixture { pass, .. } => {
                let mut columns = vec!["probability".to_string()];
                if probabilities {
                    columns.extend((0..pass.k).map(|c| format!("p_{c}")));
                }
                columns
            }
            Segments::Density(d) if d.has_outlier_scores() => vec!["outlier_score".into()],
            Segments::Density(_) => Vec::new(),
        }
    }

    /// Whether rows may be left unsegmented ([`super::density::NOISE`], written as −1).
    pub fn has_noise(&self) -> bool {
        matches!(self, Segments::Density(_))
    }

    /// Assigns every row of `data`: calls `sink(chunk index, assignment)` once per chunk,
    /// in order. With `probabilities`, mixtures add every component's probability.
    pub fn assign(
        &self,
        backend: &dyn Backend,
        data: &Dataset,
        probabilities: bool,
        sink: &mut dyn FnMut(usize, &Assigned) -> Result<()>,
    ) -> Result<()> {
        match self {
            Segments::Centres(centres) => backend.assign(data, centres, &mut |chunk, labels, distances| {
                sink(chunk, &Assigned { labels, values: vec![distances] })
            }),
            Segments::Ward(ward) => ward.assign(backend, data, &mut |chunk, labels, distances| {
                sink(chunk, &Assigned { labels, values: vec![distances] })
            }),
            Segments::Mixture { pass, .. } => {
                let k = pass.k;
                backend.mixture_assign(data, pass, &mut |chunk, labels, probs| {
                    let best: Vec<f32> = labels.iter().enumerate().map(|(i, &l)| probs[i * k + l as usize]).collect();
                    let mut columns = vec![best];
                    if probabilities {
                        columns.extend((0..k).map(|c| probs.iter().skip(c).step_by(k).copied().collect()));
                    }
                    sink(chunk, &Assigned { labels, values: columns.iter().map(Vec::as_slice).collect() })
                })
            }
            Segments::Density(d) => d.assign(data, &mut |chunk, labels, scores| {
                sink(chunk, &Assigned { labels, values: scores.into_iter().collect() })
            }),
        }
    }

    /// The segment of every row, per chunk.
    pub fn labels(&self, backend: &dyn Backend, data: &Dataset) -> Result<Vec<Vec<u32>>> {
        let mut labels = Vec::with_capacity(data.chunks().len());
        self.assign(backend, data, false, &mut |_, a| {
            labels.push(a.labels.to_vec());
            Ok(())
        })?;
        Ok(labels)
    }

    /// The segment of every row (per chunk) and the score, in one assignment pass for
    /// centres (the inertia comes from its distances) and a likelihood pass more for
    /// mixtures.
    pub fn labels_and_score(&self, backend: &dyn Backend, data: &Dataset) -> Result<(Vec<Vec<u32>>, Score)> {
        match self {
            Segments::Centres(_) | Segments::Ward(_) => {
                let mut labels = Vec::with_capacity(data.chunks().len());
                let mut inertia = 0.0f64;
                self.assign(backend, data, false, &mut |_, a| {
                    labels.push(a.labels.to_vec());
                    inertia += sum_of_squares(a.values[0]);
                    Ok(())
                })?;
                Ok((labels, Score::Inertia(inertia)))
            }
            Segments::Mixture { .. } | Segments::Density(_) => {
                Ok((self.labels(backend, data)?, self.score(backend, data)?))
            }
        }
    }

    /// How well the segments describe `data` (one pass).
    pub fn score(&self, backend: &dyn Backend, data: &Dataset) -> Result<Score> {
        match self {
            Segments::Centres(centres) => {
                let mut inertia = 0.0f64;
                backend.assign(data, centres, &mut |_, _, distances| {
                    inertia += sum_of_squares(distances);
                    Ok(())
                })?;
                Ok(Score::Inertia(inertia))
            }
            Segments::Ward(ward) => {
                let mut inertia = 0.0f64;
                ward.assign(backend, data, &mut |_, _, distances| {
                    inertia += sum_of_squares(distances);
                    Ok(())
                })?;
                Ok(Score::Inertia(inertia))
            }
            Segments::Mixture { mixture, pass } => {
                let stats = backend.mixture_pass(data, pass)?;
                Ok(Score::Likelihood {
                    log_likelihood: stats.log_likelihood,
                    weight: stats.weight,
                    parameters: mixture.n_parameters(),
                })
            }
            Segments::Density(d) => Ok(Score::Inertia(d.inertia(data)?)),
        }
    }
}

/// Σ d² in f64 (inertia from the distances an assignment reports).
pub fn sum_of_squares(distances: &[f32]) -> f64 {
    distances.iter().map(|&d| (d as f64) * (d as f64)).sum()
}
