//! The saved model: prep + fitted segments (tagged by algorithm) + how they were fitted,
//! as versioned JSON.
//!
//! No timestamps or host names live here, so the same input, seed and backend give a
//! byte-identical model.json. Format 2 tags the algorithm's record by `algorithm`, so a
//! model holds exactly one; format 1 (an `algorithm` string beside optional `kmeans` and
//! `gmm` records) reads the same way.

mod density;
pub mod drift_reference;
mod validate;
mod ward;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::backend::Centres;
use crate::cluster::density::DensitySegments;
use crate::cluster::gmm::Mixture;
use crate::cluster::Segments;
use crate::error::{Error, Result};
use crate::explain::profiles::SegmentProfile;
use crate::explain::rules::RuleSet;
use crate::io::names::SegmentNames;
use crate::io::reader::InputFile;
use crate::prep::Prep;

pub use density::DensityRecord;
pub use drift_reference::DriftReference;
pub use validate::{Damage, WEIGHT_SUM_TOLERANCE};
pub use ward::WardRecord;

/// The model.json format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format this build reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

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

/// The fitted algorithm's record, tagged by the `algorithm` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm")]
pub enum SavedSegmenter {
    #[serde(rename = "kmeans")]
    KMeans { kmeans: KMeansRecord },
    #[serde(rename = "minibatch-kmeans")]
    MiniBatchKMeans { kmeans: KMeansRecord },
    #[serde(rename = "gmm")]
    Gmm { gmm: GmmRecord },
    #[serde(rename = "hdbscan")]
    Hdbscan { density: DensityRecord },
    #[serde(rename = "dbscan")]
    Dbscan { density: DensityRecord },
    #[serde(rename = "ward")]
    Ward { ward: WardRecord },
}

impl SavedSegmenter {
    /// The algorithm's name (the tag).
    pub fn name(&self) -> &'static str {
        match self {
            SavedSegmenter::KMeans { .. } => "kmeans",
            SavedSegmenter::MiniBatchKMeans { .. } => "minibatch-kmeans",
            SavedSegmenter::Gmm { .. } => "gmm",
            SavedSegmenter::Hdbscan { .. } => "hdbscan",
            SavedSegmenter::Dbscan { .. } => "dbscan",
            SavedSegmenter::Ward { .. } => "ward",
        }
    }
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
    /// `algorithm` and its record.
    #[serde(flatten)]
    pub segmenter: SavedSegmenter,
    pub id_column: Option<String>,
    pub weights_column: Option<String>,
    /// Prepared feature names, the columns of `centres`.
    pub features: Vec<String>,
    pub prep: Prep,
    pub k: usize,
    /// Centres in the prepared space (K-Means centres, mixture means).
    pub centres: Vec<Vec<f32>>,
    /// Centres in original units (numeric columns unscaled; one-hot columns as shares).
    pub centres_original: Vec<Vec<f64>>,
    pub segment_sizes: Vec<u64>,
    pub segment_weights: Vec<f64>,
    /// Per-segment profiles on the training rows.
    #[serde(default)]
    pub profiles: Vec<SegmentProfile>,
    pub input: InputFingerprint,
    /// Names given to segments (`--names`), keyed by segment id.
    #[serde(default, skip_serializing_if = "SegmentNames::is_empty")]
    pub segment_names: SegmentNames,
    /// Plain rules that reproduce the segments (None when turned off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RuleSet>,
    /// The files the fit wrote, relative to its output folder.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// The stable id of each segment, in segment order (`fit --previous` keeps matched ids
    /// across runs). Empty in models written before ids existed: the ids are then 0..k.
    #[serde(default)]
    pub segment_ids: Vec<u32>,
    /// The id the next new segment gets: one past the highest id ever used in this lineage
    /// of runs (retired ids are never reused). 0 in older models: then k.
    #[serde(default)]
    pub next_segment_id: u32,
    /// Per-feature distribution of the training rows, for drift checks. Absent in older
    /// models (no drift is computed against them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_reference: Option<DriftReference>,
}

impl Model {
    /// The files the fit wrote beside the model at `model_path` (from [`Model::outputs`]).
    pub fn output_paths(&self, model_path: &Path) -> Vec<std::path::PathBuf> {
        let folder = model_path.parent().unwrap_or(Path::new(""));
        self.outputs.iter().map(|name| folder.join(name)).collect()
    }

    /// The stable id of every segment, in segment order (0..k for models without ids).
    pub fn ids(&self) -> Vec<u32> {
        if self.segment_ids.is_empty() {
            (0..self.k as u32).collect()
        } else {
            self.segment_ids.clone()
        }
    }

    /// The id a new segment gets next: never one used before in this lineage.
    pub fn next_id(&self) -> u32 {
        let past_ids = self.ids().iter().max().map_or(0, |&m| m + 1);
        self.next_segment_id.max(past_ids)
    }

    /// The algorithm's name.
    pub fn algorithm(&self) -> &'static str {
        self.segmenter.name()
    }

    /// The centres as the backends take them.
    pub fn centres(&self) -> Result<Centres> {
        let dim = self.features.len();
        if self.centres.len() != self.k || self.centres.iter().any(|c| c.len() != dim) {
            return Err(Error::data("model", format!("centres are not {} × {dim}; the model file is damaged", self.k)));
        }
        Ok(Centres::new(self.k, dim, self.centres.concat()))
    }

    /// The fitted segments, ready to assign rows; `source` names the file in errors.
    pub fn segments(&self, source: &Path) -> Result<Segments> {
        let damaged = |what: &str| Error::data(source.display(), format!("{what}; the model is damaged, refit it"));
        if self.k == 0 {
            return Err(damaged("k is 0"));
        }
        match &self.segmenter {
            SavedSegmenter::KMeans { .. } | SavedSegmenter::MiniBatchKMeans { .. } => {
                Ok(Segments::Centres(self.centres().map_err(|_| damaged("centres do not match the feature list"))?))
            }
            SavedSegmenter::Gmm { gmm } => {
                if gmm.mixture.k != self.k || gmm.mixture.dim != self.features.len() {
                    return Err(damaged("the mixture does not match k and the feature list"));
                }
                Segments::from_saved_mixture(gmm.mixture.clone(), &source.display().to_string())
            }
            SavedSegmenter::Hdbscan { density } | SavedSegmenter::Dbscan { density } => {
                let (kept, dim) = (&density.kept, self.features.len());
                if kept.rows.iter().any(|r| r.len() != dim)
                    || kept.labels.len() != kept.rows.len()
                    || kept.reach.len() != kept.rows.len()
                    || kept.labels.iter().any(|&l| l as usize >= self.k)
                {
                    return Err(damaged("the kept rows do not match k and the feature list"));
                }
                Ok(Segments::Density(Box::new(DensitySegments::from_kept(kept.clone(), self.k, dim))))
            }
            SavedSegmenter::Ward { ward } => {
                ward.validate(self.k, self.features.len()).map_err(|d| damaged(&d.to_string()))?;
                let centroids = self.centres().map_err(|_| damaged("centres do not match the feature list"))?;
                Ok(Segments::Ward(ward.segments(centroids)))
            }
        }
    }

    /// Checks every field `predict`, `evaluate` and the report use (shapes, finiteness,
    /// positive definiteness, weights on the simplex, prep entries per feature, version);
    /// a damaged field is invalid data naming `source` and the field's JSON path.
    pub fn validate(&self, source: &Path) -> Result<()> {
        validate::validate(self)
            .map_err(|d| Error::data(source.display(), format!("{d}; the model is damaged, refit it")))
    }

    /// The first damaged field, if any (what [`Model::validate`] refuses).
    pub fn damage(&self) -> Option<Damage> {
        validate::validate(self).err()
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a model always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Reads and checks a model file (this format or an older one it still reads).
    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let probe: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| Error::data(path.display(), format!("not a custseg model (invalid JSON: {e})")))?;
        let version = probe.get("format_version").and_then(|v| v.as_u64()).ok_or_else(|| {
            Error::data(
                path.display(),
                "not a custseg model (format_version is missing or not a whole number ≥ 0); pass the model.json that `custseg fit` wrote",
            )
        })?;
        if version > FORMAT_VERSION as u64 {
            return Err(Error::data(
                path.display(),
                format!(
                    "format_version {version} is newer than this custseg reads ({FORMAT_VERSION}); upgrade custseg"
                ),
            ));
        }
        if version < OLDEST_FORMAT_VERSION as u64 {
            return Err(Error::data(
                path.display(),
                format!(
                    "format_version {version} is older than this custseg reads ({OLDEST_FORMAT_VERSION}); the model is damaged, refit it"
                ),
            ));
        }
        let model = deserialise(&text, &probe)
            .map_err(|d| Error::data(path.display(), format!("{d}; the model is damaged, refit it")))?;
        model.validate(path)?;
        model.segments(path)?;
        Ok(model)
    }
}

/// The model in `text` (already parsed as `probe`), or where it does not deserialise: the
/// JSON path of the first bad field and serde's complaint.
fn deserialise(text: &[u8], probe: &serde_json::Value) -> std::result::Result<Model, Damage> {
    let error = match serde_json::from_slice::<Model>(text) {
        Ok(model) => return Ok(model),
        Err(e) => e,
    };
    let unreadable = |field: &str, problem: String| Damage { field: field.into(), problem };
    // The record is flattened, so serde reports its errors at the end of the file: read it
    // alone to find the field.
    let record = |key: &str, read: fn(&str) -> serde_json::Result<()>| match probe.get(key) {
        None | Some(serde_json::Value::Null) => {
            Some(unreadable(key, "is missing; the `algorithm` of the model needs it".into()))
        }
        Some(value) => {
            let text = serde_json::to_string_pretty(value).expect("a JSON value serialises");
            read(&text).err().map(|e| located(&text, &e, key))
        }
    };
    let in_record = match probe.get("algorithm").and_then(|a| a.as_str()) {
        Some("kmeans" | "minibatch-kmeans") => record("kmeans", |t| serde_json::from_str::<KMeansRecord>(t).map(drop)),
        Some("gmm") => record("gmm", |t| serde_json::from_str::<GmmRecord>(t).map(drop)),
        Some("hdbscan" | "dbscan") => record("density", |t| serde_json::from_str::<DensityRecord>(t).map(drop)),
        Some("ward") => record("ward", |t| serde_json::from_str::<WardRecord>(t).map(drop)),
        Some(other) => Some(unreadable(
            "algorithm",
            format!("is '{other}'; this custseg reads kmeans, minibatch-kmeans, gmm, ward, hdbscan and dbscan"),
        )),
        None => Some(unreadable("algorithm", "is missing or not a string".into())),
    };
    Err(in_record.unwrap_or_else(|| located(&String::from_utf8_lossy(text), &error, "")))
}

/// serde's complaint about `text`, at the JSON path (under `prefix`) of where it arose.
fn located(text: &str, error: &serde_json::Error, prefix: &str) -> Damage {
    let message = error.to_string();
    let message = message.rfind(" at line ").map_or(message.as_str(), |i| &message[..i]);
    let line_start: usize = text.split_inclusive('\n').take(error.line().saturating_sub(1)).map(str::len).sum();
    let mut path =
        json_path_at(text, line_start + error.column().saturating_sub(1), message.starts_with("missing field"));
    if !prefix.is_empty() {
        path = if path.is_empty() || path.starts_with('[') {
            format!("{prefix}{path}")
        } else {
            format!("{prefix}.{path}")
        };
    }
    Damage {
        field: if path.is_empty() { "the model".into() } else { path },
        problem: format!("is unreadable ({message})"),
    }
}

/// The JSON path (`gmm.mixture.weights[2]`) of byte `offset` in valid JSON `text`; with
/// `container`, the object that holds it rather than its last key.
fn json_path_at(text: &str, offset: usize, container: bool) -> String {
    enum Frame {
        Object(Option<String>),
        Array(usize),
    }
    let bytes = text.as_bytes();
    let (mut stack, mut expect_key, mut i) = (Vec::<Frame>::new(), false, 0);
    while i < offset.min(bytes.len()) {
        match bytes[i] {
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                if let (true, Some(Frame::Object(key))) = (expect_key, stack.last_mut()) {
                    *key = serde_json::from_str(&text[i..=j.min(bytes.len() - 1)]).ok();
                }
                i = j;
            }
            b'{' => {
                stack.push(Frame::Object(None));
                expect_key = true;
            }
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_)) => expect_key = true,
                None => {}
            },
            b':' => expect_key = false,
            _ => {}
        }
        i += 1;
    }
    if container {
        if let Some(Frame::Object(key)) = stack.last_mut() {
            *key = None;
        }
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object(Some(key)) if path.is_empty() => path.push_str(key),
            Frame::Object(Some(key)) => path.push_str(&format!(".{key}")),
            Frame::Object(None) => {}
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-1 model as `custseg` 0.1 wrote it (algorithm string, both records, one null).
    fn format_1(algorithm: &str, kmeans: &str, gmm: &str) -> String {
        format!(
            r#"{{"format_version": 1, "custseg_version": "0.1.0", "algorithm": "{algorithm}",
            "id_column": null, "weights_column": null, "features": ["x"],
            "prep": {{"impute": "mean", "numeric": [{{"name": "x", "log1p": false, "clip": null, "fill": 0.5,
                "scaling": {{"kind": "none", "center": 0.0, "scale": 1.0}}, "mean": 0.5, "std": 0.5,
                "min": 0.0, "max": 1.0, "missing": 0}}], "categorical": [], "dropped": []}},
            "k": 1, "centres": [[0.5]], "centres_original": [[0.5]], "segment_sizes": [2],
            "segment_weights": [2.0], "kmeans": {kmeans}, "gmm": {gmm}, "profiles": [],
            "input": {{"files": [], "rows_read": 2, "rows_used": 2, "schema": []}}}}"#
        )
    }

    const KMEANS_RECORD: &str = r#"{"init": "k-means++", "n_init": 1, "max_iter": 300, "tol": 0.0001,
        "seed": 0, "iterations": 2, "converged": true, "inertia": 0.5}"#;

    #[test]
    fn a_format_1_model_is_read_and_written_back_as_format_2_with_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        std::fs::write(&path, format_1("kmeans", KMEANS_RECORD, "null")).unwrap();
        let model = Model::load(&path).unwrap();
        assert_eq!(model.algorithm(), "kmeans");
        let SavedSegmenter::KMeans { kmeans } = &model.segmenter else { panic!("{:?}", model.segmenter) };
        assert_eq!(kmeans.inertia, 0.5);
        let json: serde_json::Value = serde_json::from_slice(&model.to_json()).unwrap();
        assert_eq!(json["algorithm"], "kmeans");
        assert!(json.get("gmm").is_none(), "{json}");
        let upgraded = Model { format_version: FORMAT_VERSION, ..model };
        std::fs::write(&path, upgraded.to_json()).unwrap();
        assert_eq!(Model::load(&path).unwrap(), upgraded);
    }

    #[test]
    fn an_algorithm_without_its_record_or_unknown_is_refused_as_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        for text in [format_1("gmm", KMEANS_RECORD, "null"), format_1("forest", KMEANS_RECORD, "null")] {
            std::fs::write(&path, text).unwrap();
            let err = Model::load(&path).unwrap_err();
            assert_eq!(err.exit_code(), 3, "{err}");
            assert!(err.to_string().contains("damaged"), "{err}");
        }
    }

    #[test]
    fn format_0_and_future_formats_are_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        for (version, needle) in [(0, "refit"), (FORMAT_VERSION + 1, "upgrade")] {
            let text = format_1("kmeans", KMEANS_RECORD, "null")
                .replace("\"format_version\": 1", &format!("\"format_version\": {version}"));
            std::fs::write(&path, text).unwrap();
            let err = Model::load(&path).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn a_field_serde_cannot_read_is_named_by_its_json_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        let base: serde_json::Value = serde_json::from_str(&format_1("kmeans", KMEANS_RECORD, "null")).unwrap();
        type Damaging = fn(&mut serde_json::Value);
        let cases: [(&str, Damaging); 6] = [
            ("centres[0][0] is unreadable (invalid type: null", |m| m["centres"][0][0] = serde_json::Value::Null),
            ("prep.numeric[0].scaling is unreadable (missing field `scale`)", |m| {
                m["prep"]["numeric"][0]["scaling"].as_object_mut().unwrap().remove("scale");
            }),
            ("the model is unreadable (missing field `k`)", |m| {
                m.as_object_mut().unwrap().remove("k");
            }),
            ("k is unreadable (invalid value: integer `-1`", |m| m["k"] = (-1).into()),
            ("kmeans.inertia is unreadable (invalid type: string", |m| m["kmeans"]["inertia"] = "x".into()),
            ("segment_sizes[0] is unreadable", |m| m["segment_sizes"][0] = 1.5.into()),
        ];
        for (needle, damage_it) in cases {
            let mut model = base.clone();
            damage_it(&mut model);
            std::fs::write(&path, serde_json::to_vec_pretty(&model).unwrap()).unwrap();
            let err = Model::load(&path).unwrap_err();
            assert_eq!(err.exit_code(), 3, "{err}");
            let message = err.to_string();
            assert!(message.contains(needle), "wanted '{needle}' in: {message}");
            assert!(message.ends_with("the model is damaged, refit it"), "{message}");
        }
    }
}
