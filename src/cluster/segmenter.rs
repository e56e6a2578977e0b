//! [`Segmenter`]: one request to fit any of the algorithms, with checked parameters. The
//! pipeline, select-k, bootstrap stability and the bindings go through it, so the
//! algorithm branch is written here once; a new algorithm is one new variant.

use super::density::{self, DensityFit, DensityParams};
use super::gmm::{self, GmmFit, GmmIteration, GmmValidParams};
use super::kmeans::{self, Init, IterationReport, KMeansFit, KMeansValidParams};
use super::ward::{self, WardFit, WardValidParams};
use super::Segments;
use crate::backend::{Backend, Centres};
use crate::data::Dataset;
use crate::error::{Param, ParamError, Result};

/// An algorithm and its checked parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Segmenter {
    /// K-Means by Lloyd's algorithm.
    KMeans(KMeansValidParams),
    /// K-Means on seeded mini-batches of `batch_size` rows.
    MiniBatchKMeans { params: KMeansValidParams, batch_size: usize },
    /// A Gaussian mixture fitted by EM.
    Gmm(GmmValidParams),
    /// HDBSCAN or DBSCAN: finds the number of segments itself and leaves outliers unsegmented.
    Density(DensityParams),
    /// Ward's hierarchical clustering, cut at k segments or at a height.
    Ward(WardValidParams),
}

/// Reported after each iteration of a fit (for logs and progress bars).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress<'a> {
    /// A Lloyd iteration or a mini-batch step.
    KMeans(&'a IterationReport),
    /// An EM iteration.
    Gmm(&'a GmmIteration),
}

/// What a fit returns: the segments, ready to assign rows, and the algorithm's own result.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOutcome {
    pub segments: Segments,
    pub fit: AlgorithmFit,
}

/// An algorithm's own fit result.
#[derive(Debug, Clone, PartialEq)]
pub enum AlgorithmFit {
    KMeans(KMeansFit),
    Gmm(GmmFit),
    Density(DensityFit),
    Ward(WardFit),
}

impl Segmenter {
    /// Mini-batch K-Means, checking `batch_size`.
    pub fn minibatch(params: KMeansValidParams, batch_size: usize) -> Result<Self, ParamError> {
        ParamError::at_least(Param::BatchSize, batch_size, 1)?;
        Ok(Segmenter::MiniBatchKMeans { params, batch_size })
    }

    /// The algorithm's name on the command line, in summaries and in the model.
    pub fn name(&self) -> &'static str {
        match self {
            Segmenter::KMeans(_) => "kmeans",
            Segmenter::MiniBatchKMeans { .. } => "minibatch-kmeans",
            Segmenter::Gmm(_) => "gmm",
            Segmenter::Density(p) => p.name(),
            Segmenter::Ward(_) => "ward",
        }
    }

    /// Segments asked for (0 for density fits, which find them).
    pub fn k(&self) -> usize {
        match self {
            Segmenter::KMeans(p) | Segmenter::MiniBatchKMeans { params: p, .. } => p.k,
            Segmenter::Gmm(p) => p.k,
            Segmenter::Density(_) => 0,
            // A cut by height asks for no k (the fit finds it): 1 for sizing.
            Segmenter::Ward(p) => p.cut.k().unwrap_or(1),
        }
    }

    /// Independent runs (the best wins).
    pub fn n_init(&self) -> usize {
        match self {
            Segmenter::KMeans(p) | Segmenter::MiniBatchKMeans { params: p, .. } => p.n_init,
            Segmenter::Gmm(p) => p.n_init,
            Segmenter::Density(_) => 1,
            Segmenter::Ward(_) => 1,
        }
    }

    /// Iterations allowed per run (mini-batch: epochs).
    pub fn max_iter(&self) -> usize {
        match self {
            Segmenter::KMeans(p) | Segmenter::MiniBatchKMeans { params: p, .. } => p.max_iter,
            Segmenter::Gmm(p) => p.max_iter,
            Segmenter::Density(_) => 1,
            Segmenter::Ward(p) => p.max_iter,
        }
    }

    /// Whether a fit accumulates k × d² second moments (full or tied covariances).
    pub fn needs_full_moments(&self) -> bool {
        matches!(self, Segmenter::Gmm(p) if gmm::mixture::needs_full(p.covariance))
    }

    /// The same request with another seed (bootstrap refits).
    pub fn with_seed(&self, seed: u64) -> Self {
        match self {
            Segmenter::KMeans(p) => Segmenter::KMeans(p.with_seed(seed)),
            Segmenter::MiniBatchKMeans { params, batch_size } => {
                Segmenter::MiniBatchKMeans { params: params.with_seed(seed), batch_size: *batch_size }
            }
            Segmenter::Gmm(p) => Segmenter::Gmm(p.with_seed(seed)),
            Segmenter::Density(p) => Segmenter::Density(*p),
            Segmenter::Ward(p) => Segmenter::Ward(p.with_seed(seed)),
        }
    }

    /// The same request for `k` segments, checked again (select-k).
    pub fn with_k(&self, k: usize) -> Result<Self, ParamError> {
        Ok(match self {
            Segmenter::KMeans(p) => Segmenter::KMeans(kmeans::KMeansParams { k, ..p.to_params() }.check()?),
            Segmenter::MiniBatchKMeans { params, batch_size } => Segmenter::MiniBatchKMeans {
                params: kmeans::KMeansParams { k, ..params.to_params() }.check()?,
                batch_size: *batch_size,
            },
            Segmenter::Gmm(p) => Segmenter::Gmm(gmm::GmmParams { k, ..p.to_params() }.check()?),
            Segmenter::Density(p) => {
                return Err(ParamError::Invalid {
                    param: Param::K,
                    message: format!("{} finds the number of segments itself; drop it", p.name()),
                })
            }
            Segmenter::Ward(p) => Segmenter::Ward(ward::WardParams { cut: ward::Cut::K(k), ..p.to_params() }.check()?),
        })
    }

    /// The same K-Means request starting from `centres` (mixtures take no centres).
    pub fn with_initial_centres(&self, centres: Centres) -> Result<Self, ParamError> {
        let start = |p: &KMeansValidParams| {
            kmeans::KMeansParams { init: Init::Centres(centres.clone()), n_init: 1, ..p.to_params() }.check()
        };
        match self {
            Segmenter::KMeans(p) => Ok(Segmenter::KMeans(start(p)?)),
            Segmenter::MiniBatchKMeans { params, batch_size } => {
                Ok(Segmenter::MiniBatchKMeans { params: start(params)?, batch_size: *batch_size })
            }
            Segmenter::Gmm(_) => Err(ParamError::Invalid {
                param: Param::InitCentres,
                message: "is for K-Means; a Gaussian mixture starts from its init".into(),
            }),
            Segmenter::Density(p) => Err(ParamError::Invalid {
                param: Param::InitCentres,
                message: format!("is for K-Means; {} takes no centres", p.name()),
            }),
            Segmenter::Ward(_) => Err(ParamError::Invalid {
                param: Param::InitCentres,
                message: "is for K-Means; Ward's tree starts from the rows".into(),
            }),
        }
    }

    /// The same mixture request starting from `mixture` (a warm start; K-Means takes centres).
    pub fn with_initial_mixture(&self, mixture: gmm::Mixture) -> Result<Self, ParamError> {
        match self {
            Segmenter::Gmm(p) => Ok(Segmenter::Gmm(
                gmm::GmmParams { init: gmm::GmmInit::Given(mixture), n_init: 1, ..p.to_params() }.check()?,
            )),
            _ => Err(ParamError::Invalid {
                param: Param::Init,
                message: "a given mixture starts Gaussian mixtures only".into(),
            }),
        }
    }

    /// Fits on `data`, calling `progress` after every iteration.
    pub fn fit(&self, backend: &dyn Backend, data: &Dataset, progress: &mut dyn FnMut(Progress)) -> Result<FitOutcome> {
        let report = &mut |r: &IterationReport| progress(Progress::KMeans(r));
        let kmeans_outcome =
            |f: KMeansFit| FitOutcome { segments: Segments::Centres(f.centres.clone()), fit: AlgorithmFit::KMeans(f) };
        match self {
            Segmenter::KMeans(p) => Ok(kmeans_outcome(kmeans::fit(backend, data, p, report)?)),
            Segmenter::MiniBatchKMeans { params, batch_size } => {
                Ok(kmeans_outcome(kmeans::fit_minibatch(backend, data, params, *batch_size, report)?))
            }
            Segmenter::Gmm(p) => {
                let f = gmm::fit(backend, data, p, &mut |r| progress(Progress::Gmm(r)))?;
                let segments = Segments::from_fitted_mixture(f.mixture.clone(), p.reg_covar)?;
                Ok(FitOutcome { segments, fit: AlgorithmFit::Gmm(f) })
            }
            Segmenter::Density(p) => {
                let (f, segments) = density::fit_dataset(data, p, backend.density_passes())?;
                Ok(FitOutcome { segments: Segments::Density(Box::new(segments)), fit: AlgorithmFit::Density(f) })
            }
            Segmenter::Ward(p) => Ok(FitOutcome::from_ward(ward::fit(backend, data, p, report)?)),
        }
    }
}

impl FitOutcome {
    /// A cut Ward tree as a fit's outcome (select-k cuts one tree at every k).
    pub fn from_ward(fit: WardFit) -> Self {
        FitOutcome { segments: Segments::Ward(fit.segments.clone()), fit: AlgorithmFit::Ward(fit) }
    }

    /// Iterations of the winning run (mini-batch: steps).
    pub fn iterations(&self) -> usize {
        match &self.fit {
            AlgorithmFit::KMeans(f) => f.iterations,
            AlgorithmFit::Gmm(f) => f.iterations,
            AlgorithmFit::Density(_) => 1,
            AlgorithmFit::Ward(f) => f.tree.iterations,
        }
    }

    /// Whether the winning run converged before its iteration limit.
    pub fn converged(&self) -> bool {
        match &self.fit {
            AlgorithmFit::KMeans(f) => f.converged,
            AlgorithmFit::Gmm(f) => f.converged,
            AlgorithmFit::Density(_) => true,
            AlgorithmFit::Ward(f) => f.tree.converged,
        }
    }

    /// Which run won (0-based).
    pub fn best_run(&self) -> usize {
        match &self.fit {
            AlgorithmFit::KMeans(f) => f.best_run,
            AlgorithmFit::Gmm(f) => f.best_run,
            AlgorithmFit::Density(_) => 0,
            AlgorithmFit::Ward(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::gmm::{CovarianceType, GmmParams};
    use crate::cluster::kmeans::KMeansParams;

    fn kmeans(k: usize) -> Segmenter {
        Segmenter::KMeans(KMeansParams::new(k).check().unwrap())
    }

    #[test]
    fn changing_k_checks_again_and_keeps_the_rest() {
        let gmm = Segmenter::Gmm(GmmParams { n_init: 3, ..GmmParams::new(2, CovarianceType::Diag) }.check().unwrap());
        let five = gmm.with_k(5).unwrap();
        assert_eq!((five.k(), five.n_init(), five.name()), (5, 3, "gmm"));
        assert_eq!(kmeans(2).with_k(0).unwrap_err().param(), Param::K);
        let mini = Segmenter::minibatch(KMeansParams::new(2).check().unwrap(), 64).unwrap();
        assert_eq!((mini.with_k(4).unwrap().k(), mini.name()), (4, "minibatch-kmeans"));
        assert_eq!(
            Segmenter::minibatch(KMeansParams::new(2).check().unwrap(), 0).unwrap_err().param(),
            Param::BatchSize
        );
    }

    #[test]
    fn initial_centres_are_for_k_means_and_must_have_k_rows() {
        let centres = Centres::new(2, 1, vec![0.0, 1.0]);
        assert!(kmeans(2).with_initial_centres(centres.clone()).is_ok());
        assert!(matches!(kmeans(3).with_initial_centres(centres.clone()), Err(ParamError::InitShape { .. })));
        let gmm = Segmenter::Gmm(GmmParams::new(2, CovarianceType::Full).check().unwrap());
        assert_eq!(gmm.with_initial_centres(centres).unwrap_err().param(), Param::InitCentres);
    }

    #[test]
    fn every_algorithm_fits_assigns_and_scores_through_one_interface() {
        let values: Vec<f32> = (0..40).map(|i| if i < 20 { i as f32 * 0.01 } else { 5.0 + i as f32 * 0.01 }).collect();
        let data = Dataset::from_rows(&values, 1, None, 16);
        let backend = crate::backend::cpu::CpuBackend::new();
        let gmm = Segmenter::Gmm(GmmParams::new(2, CovarianceType::Diag).check().unwrap());
        let mini = Segmenter::minibatch(KMeansParams::new(2).check().unwrap(), 8).unwrap();
        for segmenter in [kmeans(2), mini, gmm] {
            let mut iterations = 0;
            let outcome = segmenter.fit(&backend, &data, &mut |_| iterations += 1).unwrap();
            assert!(iterations > 0 && outcome.iterations() > 0, "{}", segmenter.name());
            let labels = outcome.segments.labels(&backend, &data).unwrap().concat();
            assert_ne!(labels[0], labels[39], "{}", segmenter.name());
            assert!(labels[..20].iter().all(|&l| l == labels[0]), "{}", segmenter.name());
            let score = outcome.segments.score(&backend, &data).unwrap();
            assert!(score.mean_log_likelihood().is_some() == (segmenter.name() == "gmm"), "{}", segmenter.name());
        }
    }
}
