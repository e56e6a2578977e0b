//! A fit request in plain values: what `custseg fit`, `select-k`, the demo and the
//! bindings build and hand to [`super::fit`].

use std::path::PathBuf;

use super::engine::BackendOptions;
use super::marketing::MarketingOptions;
use crate::cluster::Segmenter;
use crate::continuity::ContinuityOptions;
use crate::error::{Error, Param, Result};
use crate::io::reader::ReadSpec;
use crate::prep::PrepParams;

/// Units of a file of initial centres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CentreUnits {
    /// The input's own units (prep is applied to them).
    Raw,
    /// The prepared space (after scaling and one-hot encoding).
    Prepared,
}

/// Initial K-Means centres from a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct InitCentres {
    pub path: PathBuf,
    pub units: CentreUnits,
}

/// Everything a fit needs, as plain values.
#[derive(Debug, Clone)]
pub struct FitRequest {
    pub read: ReadSpec,
    pub prep: PrepParams,
    /// The algorithm and its checked parameters (its seed is `seed`).
    pub segmenter: Segmenter,
    /// K-Means only: start from these centres (read once the prep is fitted).
    pub init_centres: Option<InitCentres>,
    /// Mixtures: write every component's probability too.
    pub probabilities: bool,
    /// A money column among the numeric features: each segment's total and share of it.
    pub value: Option<String>,
    /// Rows for the silhouette (exact below, sampled above); 0 skips it.
    pub silhouette_sample: usize,
    /// Bootstrap refits for the stability report (0: off).
    pub stability: usize,
    /// Write report.html.
    pub report: bool,
    /// Stream the data from an on-disk cache past this many bytes (None: half of the
    /// available memory).
    pub memory_budget: Option<u64>,
    pub cache_dir: Option<PathBuf>,
    pub keep_cache: bool,
    /// Output folder.
    pub out: PathBuf,
    /// Seed of the metrics' samples, the streamed prep's sample and the bootstrap.
    pub seed: u64,
    pub backend: BackendOptions,
    /// Exports, segment names and rules.
    pub marketing: MarketingOptions,
    /// `--previous` and what goes with it (off by default).
    pub continuity: ContinuityOptions,
}

/// Output columns an id column must not be named as.
const RESERVED_COLUMNS: [&str; 5] = ["segment", "distance", "probability", "segment_name", "outlier_score"];

impl FitRequest {
    /// Every file or folder the fit reads: outputs must be none of them.
    pub fn inputs_read(&self) -> Vec<PathBuf> {
        let mut inputs = self.read.inputs.clone();
        inputs.extend(self.init_centres.iter().map(|c| c.path.clone()));
        inputs.extend(self.marketing.names.clone());
        if let Some(dir) = &self.continuity.previous {
            inputs.extend([dir.join(super::MODEL_FILE), dir.join(super::ASSIGNMENTS_FILE)]);
        }
        inputs
    }

    /// Checks what can be checked before reading any data.
    pub fn check(&self) -> Result<()> {
        self.backend.check()?;
        self.prep.check()?;
        self.marketing.check()?;
        if let Some(id) = &self.read.id {
            if RESERVED_COLUMNS.contains(&id.as_str()) || id.starts_with("p_") {
                return Err(Error::param(
                    Param::Id,
                    format!("an id column named '{id}' clashes with an output column; rename it"),
                ));
            }
        }
        if let Segmenter::Density(p) = &self.segmenter {
            if self.stability > 0 {
                return Err(Error::param(
                    Param::Stability,
                    format!(
                        "bootstrap stability is for K-Means and mixtures; {} finds its own segments, drop it",
                        p.name()
                    ),
                ));
            }
            if self.read.weights.is_some() {
                return Err(Error::param(Param::Weights, format!("{} does not weigh rows; drop it", p.name())));
            }
            if self.continuity.previous.is_some() {
                return Err(Error::param(
                    Param::Previous,
                    format!("is for K-Means and mixtures; {} finds its own segments each run, drop it", p.name()),
                ));
            }
        }
        let threshold = self.continuity.match_threshold;
        if !(threshold.is_finite() && threshold >= 0.0) {
            return Err(Error::param(
                Param::MatchThreshold,
                format!("{threshold} is not a finite number ≥ 0; try 1 (a segment may move one spread)"),
            ));
        }
        if self.continuity.previous.is_none() && self.continuity.keep_prep {
            return Err(Error::param(Param::KeepPrep, format!("reuses the prep of {}; give it too", Param::Previous)));
        }
        if self.init_centres.is_some() && self.continuity.previous.is_some() {
            return Err(Error::param(
                Param::InitCentres,
                format!("and {} both choose the first centres; give one", Param::Previous),
            ));
        }
        check_holdout(self.continuity.holdout)?;
        if self.continuity.holdout.is_some() && matches!(self.segmenter, Segmenter::Density(_)) {
            return Err(Error::param(
                Param::Holdout,
                format!(
                    "is for K-Means, mini-batch, mixtures and Ward: {} finds its own number of segments and \
                     leaves outliers, so the held-out rows have no same-k fit to compare with; drop it",
                    self.segmenter.name()
                ),
            ));
        }
        if self.init_centres.is_some() && matches!(self.segmenter, Segmenter::Gmm(_)) {
            return Err(Error::param(Param::InitCentres, "is for K-Means; a Gaussian mixture starts from its init"));
        }
        Ok(())
    }
}

/// Checks `--holdout` before any data are read.
fn check_holdout(fraction: Option<f64>) -> Result<()> {
    match fraction {
        Some(f) if !(f > 0.0 && f < 1.0) => Err(Error::param(
            Param::Holdout,
            format!("{f} is not a fraction strictly between 0 and 1; try 0.2 (a fifth of the customers)"),
        )),
        _ => Ok(()),
    }
}

/// Refuses a silhouette sample of one row (a silhouette needs two; 0 skips it), for every
/// command that takes `--silhouette-sample`.
pub fn check_silhouette_sample(rows: usize) -> Result<()> {
    if rows == 1 {
        return Err(Error::param(
            Param::SilhouetteSample,
            "a silhouette needs at least 2 rows; give 0 to skip it or 2 or more",
        ));
    }
    Ok(())
}
