//! Night after night: a fit that follows an earlier one (`fit --previous DIR`).
//!
//! - [`warm`]: the previous segments, mapped into today's prepared space, start today's fit;
//! - [`ids`]: today's segments are matched to the previous ones (Hungarian method on centre
//!   distance, gated by `match_threshold` × the segments' spread) so matched segments keep
//!   their id and new ones get ids never used before;
//! - [`migration`]: who moved from which segment to which, joining both runs' assignments
//!   on the id column;
//! - [`drift`]: each feature's population stability index against the training rows'
//!   reference distribution stored in the model.

pub mod drift;
mod drift_blocks;
pub mod hungarian;
pub mod ids;
pub mod migration;
pub mod warm;

use std::path::{Path, PathBuf};

use crate::cluster::Segmenter;
use crate::error::{Error, Param, Result};
use crate::io::outputs::{ASSIGNMENTS_FILE, MODEL_FILE};
use crate::model::{Model, SavedSegmenter};
use crate::prep::Prep;

/// The default `match_threshold`: a segment may move by up to one spread and keep its id.
pub const DEFAULT_MATCH_THRESHOLD: f64 = 1.0;

/// What `fit --previous` was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuityOptions {
    /// The earlier run's output folder.
    pub previous: Option<PathBuf>,
    /// Reuse the previous run's prep instead of refitting it on today's rows.
    pub keep_prep: bool,
    /// A previous and a today's segment match when their centres are at most this many
    /// spreads apart (spread: root mean squared distance of a row to its segment's centre).
    pub match_threshold: f64,
    /// Exit with [`drift::DRIFT_EXIT_CODE`] (outputs still written) when drift reaches this.
    pub fail_on_drift: Option<drift::DriftLevel>,
    /// `--holdout`: hold this fraction of the customers out of the fit and score the
    /// segments on them (see [`crate::eval::holdout`]).
    pub holdout: Option<f64>,
}

impl Default for ContinuityOptions {
    fn default() -> Self {
        ContinuityOptions {
            previous: None,
            keep_prep: false,
            match_threshold: DEFAULT_MATCH_THRESHOLD,
            fail_on_drift: None,
            holdout: None,
        }
    }
}

/// An earlier run's outputs: its model, and its assignments when they are there.
#[derive(Debug, Clone)]
pub struct PreviousRun {
    pub dir: PathBuf,
    pub model_path: PathBuf,
    pub model: Model,
    pub assignments: Option<PathBuf>,
}

impl PreviousRun {
    /// Reads `dir/model.json` (checked as `predict` checks it); a missing or damaged model
    /// is invalid data naming the file.
    pub fn load(dir: &Path) -> Result<PreviousRun> {
        let model_path = dir.join(MODEL_FILE);
        if !model_path.is_file() {
            return Err(Error::data(
                dir.display(),
                format!(
                    "has no {MODEL_FILE}; pass the output folder of an earlier `custseg fit` as {}",
                    Param::Previous
                ),
            ));
        }
        let model = Model::load(&model_path).map_err(|e| match e {
            Error::Data { path, message } => {
                Error::Data { path, message: format!("{message} (the model of the run given as {})", Param::Previous) }
            }
            other => other,
        })?;
        let assignments = Some(dir.join(ASSIGNMENTS_FILE)).filter(|p| p.is_file());
        Ok(PreviousRun { dir: dir.to_path_buf(), model_path, model, assignments })
    }

    /// Refuses a previous model of another algorithm family than `segmenter` (centres
    /// against mixtures).
    pub fn check_algorithm(&self, segmenter: &Segmenter) -> Result<()> {
        let previous_is_mixture = matches!(self.model.segmenter, SavedSegmenter::Gmm { .. });
        let today_is_mixture = matches!(segmenter, Segmenter::Gmm(_));
        if previous_is_mixture == today_is_mixture {
            return Ok(());
        }
        Err(Error::data(
            self.model_path.display(),
            format!(
                "is a {} model and today's fit is {}; segments carry over only among kmeans, minibatch-kmeans and ward, or within gmm: fit with --algorithm {} or start without {}",
                self.model.algorithm(),
                segmenter.name(),
                self.model.algorithm(),
                Param::Previous
            ),
        ))
    }

    /// Refuses a previous model whose prep has other columns than today's (numeric and
    /// categorical, by name) or log-transforms a column differently: their spaces do not map.
    pub fn check_prep(&self, today: &Prep) -> Result<()> {
        let previous = &self.model.prep;
        let numeric = |p: &Prep| {
            let mut v: Vec<(String, bool)> = p.numeric.iter().map(|c| (c.name.clone(), c.log1p)).collect();
            v.sort();
            v
        };
        let categorical = |p: &Prep| {
            let mut v: Vec<String> = p.categorical.iter().map(|c| c.name.clone()).collect();
            v.sort();
            v
        };
        if numeric(previous) == numeric(today) && categorical(previous) == categorical(today) {
            return Ok(());
        }
        let describe = |p: &Prep| {
            let mut parts: Vec<String> =
                p.numeric.iter().map(|c| if c.log1p { format!("log1p({})", c.name) } else { c.name.clone() }).collect();
            parts.extend(p.categorical.iter().map(|c| format!("{} (categorical)", c.name)));
            parts.join(", ")
        };
        Err(Error::data(
            self.model_path.display(),
            format!(
                "was fitted on [{}] but today's features are [{}]; segments carry over only between fits of the same features: fit with the previous run's features or start without {}",
                describe(previous),
                describe(today),
                Param::Previous
            ),
        ))
    }
}
