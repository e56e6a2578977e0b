//! The saved model: prep + centres + how they were fitted, as versioned JSON.
//!
//! No timestamps or host names live here, so the same input, seed and backend give a
//! byte-identical model.json.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::backend::Centres;
use crate::cluster::gmm::Mixture;
use crate::error::{Error, Result};
use crate::io::reader::InputFile;
use crate::prep::Prep;
use crate::report::profiles::SegmentProfile;

/// The model.json format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// K-Means parameters as recorded in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansRecord {
    pub init: String,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    pub iterations: usize,
    pub converged: bool,
    /// Σ w·‖x − c‖², prepared space.
    pub inertia: f64,
}

/// Gaussian-mixture fit as recorded in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GmmRecord {
    /// Weights, means and covariances in the prepared space (what `predict` uses).
    pub mixture: Mixture,
    /// Covariances in original units: prepared covariances scaled back by each numeric
    /// column's scale (still in log space for log1p'd columns).
    pub covariances_original: Vec<Vec<f64>>,
    pub init: String,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub reg_covar: f64,
    pub seed: u64,
    pub iterations: usize,
    pub converged: bool,
    pub lower_bound: f64,
    pub mean_log_likelihood: f64,
    pub bic: f64,
    pub aic: f64,
}

/// What the model was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFingerprint {
    pub files: Vec<InputFile>,
    pub rows_read: u64,
    pub rows_used: u64,
    /// `(column, Arrow type)` of the first file.
    pub schema: Vec<(String, String)>,
}

/// A fitted segmentation model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format_version: u32,
    pub custseg_version: String,
    pub algorithm: String,
    pub id_column: Option<String>,
    pub weights_column: Option<String>,
    /// Prepared feature names, the columns of `centres`.
    pub features: Vec<String>,
    pub prep: Prep,
    pub k: usize,
    /// Centres in the prepared space (what `predict` assigns to).
    pub centres: Vec<Vec<f32>>,
    /// Centres in original units (numeric columns unscaled; one-hot columns as shares).
    pub centres_original: Vec<Vec<f64>>,
    pub segment_sizes: Vec<u64>,
    pub segment_weights: Vec<f64>,
    /// Set when `algorithm` is "kmeans".
    pub kmeans: Option<KMeansRecord>,
    /// Set when `algorithm` is "gmm".
    pub gmm: Option<GmmRecord>,
    /// Per-segment profiles on the training rows.
    #[serde(default)]
    pub profiles: Vec<SegmentProfile>,
    pub input: InputFingerprint,
}

impl Model {
    /// The centres as the backends take them.
    pub fn centres(&self) -> Result<Centres> {
        let dim = self.features.len();
        if self.centres.len() != self.k || self.centres.iter().any(|c| c.len() != dim) {
            return Err(Error::data("model", format!("centres are not {} × {dim}; the model file is damaged", self.k)));
        }
        Ok(Centres::new(self.k, dim, self.centres.concat()))
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a model always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let probe: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| Error::data(path.display(), format!("not a custseg model (invalid JSON: {e})")))?;
        let version = probe.get("format_version").and_then(|v| v.as_u64()).ok_or_else(|| {
            Error::data(
                path.display(),
                "not a custseg model (no format_version); pass the model.json that `custseg fit` wrote",
            )
        })?;
        if version > FORMAT_VERSION as u64 {
            return Err(Error::data(
                path.display(),
                format!("model format {version} is newer than this custseg reads ({FORMAT_VERSION}); upgrade custseg"),
            ));
        }
        let model: Model = serde_json::from_value(probe)
            .map_err(|e| Error::data(path.display(), format!("damaged custseg model: {e}")))?;
        model
            .centres()
            .map_err(|_| Error::data(path.display(), "centres do not match the feature list; the model is damaged"))?;
        let complete = match model.algorithm.as_str() {
            "kmeans" | "minibatch-kmeans" => model.kmeans.is_some(),
            "gmm" => {
                model.gmm.as_ref().is_some_and(|g| g.mixture.k == model.k && g.mixture.dim == model.features.len())
            }
            _ => false,
        };
        if !complete {
            return Err(Error::data(
                path.display(),
                format!("algorithm '{}' without its parameters; the model is damaged", model.algorithm),
            ));
        }
        Ok(model)
    }
}
