//! `fit --holdout FRACTION`: the prepared rows split into training and held-out rows by a
//! seeded hash of the customer id (the same split in memory and streamed, whatever the
//! row order), and the held-out rows' scores under the segments fitted on the others.

use serde_json::{json, Value};

use super::engine::Engine;
use super::request::FitRequest;
use super::stage::Stage;
use crate::cluster::fitted::Score;
use crate::cluster::Segments;
use crate::data::{Chunk, Dataset};
use crate::error::{Error, Param, Result};
use crate::eval::holdout::{held_out_rows, prediction_strength};
use crate::eval::metrics::{self, Scores};
use crate::io::cache::{CacheFile, CacheWriter};

/// The training and held-out rows of a fit.
pub struct Split {
    pub fraction: f64,
    /// The rows the segments are fitted on.
    pub train: Dataset,
    /// The held-out rows.
    pub held: Dataset,
    /// Per chunk of the prepared rows, whether each row is held out.
    pub masks: Vec<Vec<bool>>,
    /// Streamed: the on-disk caches the two sides read from (removed when dropped).
    _caches: Vec<CacheFile>,
}

/// Where one side's chunks go: memory, or a cache file beside the stage's.
enum Sink {
    Memory(Vec<Chunk>),
    Cache(CacheWriter),
}

impl Sink {
    fn open(stage: &Stage, name: &str) -> Result<Self> {
        match stage.cache.as_ref().and_then(|c| c.target().parent()) {
            Some(dir) => Ok(Sink::Cache(CacheWriter::create_named(dir, name)?)),
            None => Ok(Sink::Memory(Vec::new())),
        }
    }

    /// Appends the rows of `chunk` whose mask entry equals `held` (nothing when none do).
    fn push(&mut self, chunk: &Chunk, mask: &[bool], held: bool, dim: usize) -> Result<()> {
        let rows: Vec<usize> = (0..mask.len()).filter(|&i| mask[i] == held).collect();
        if rows.is_empty() {
            return Ok(());
        }
        let values = rows.iter().flat_map(|&i| chunk.values[i * dim..(i + 1) * dim].iter().copied()).collect();
        let weights = chunk.weights.as_ref().map(|w| rows.iter().map(|&i| w[i]).collect());
        let part = Chunk::new(values, weights);
        match self {
            Sink::Memory(chunks) => chunks.push(part),
            Sink::Cache(writer) => writer.push(&part)?,
        }
        Ok(())
    }

    fn finish(self, dim: usize, caches: &mut Vec<CacheFile>) -> Result<Dataset> {
        let chunks = match self {
            Sink::Memory(chunks) => chunks,
            Sink::Cache(writer) => {
                let (chunks, file) = writer.finish()?;
                caches.push(file);
                chunks
            }
        };
        Ok(Dataset::from_chunks(dim, chunks))
    }
}

/// Splits the staged rows: a row is held out when the hash of its id and `seed` says so.
/// Each side needs at least `k` rows (the held-out side is fitted on its own too).
pub fn split(stage: &Stage, fraction: f64, seed: u64, k: usize) -> Result<Split> {
    let data = &stage.prepared.data;
    let dim = data.dim();
    let masks = stage.prepared.ids.iter().map(|ids| held_out_rows(ids, fraction, seed)).collect::<Result<Vec<_>>>()?;
    let (mut train, mut held) =
        (Sink::open(stage, "custseg-cache-training.f32")?, Sink::open(stage, "custseg-cache-holdout.f32")?);
    for (chunk, mask) in data.stream().zip(&masks) {
        train.push(chunk, mask, false, dim)?;
        held.push(chunk, mask, true, dim)?;
    }
    let mut caches = Vec::new();
    let (train, held) = (train.finish(dim, &mut caches)?, held.finish(dim, &mut caches)?);
    if train.rows() < k.max(1) || held.rows() < k.max(2) {
        return Err(Error::param(
            Param::Holdout,
            format!(
                "{fraction} held out {} of {} rows, leaving {} to fit on; both sides need at least k={k} rows \
                 (and two); change {} or add rows",
                held.rows(),
                data.rows(),
                train.rows(),
                Param::Holdout
            ),
        ));
    }
    info!(
        "{}: {} of {} rows held out by a hash of {} (seed {seed}); fitting on the other {}",
        Param::Holdout,
        held.rows(),
        data.rows(),
        if stage.id_name == "row" {
            "the row number (no id column)".to_string()
        } else {
            format!("'{}'", stage.id_name)
        },
        train.rows()
    );
    Ok(Split { fraction, train, held, masks, _caches: caches })
}

impl Split {
    /// The training rows' labels, per chunk of [`Split::train`], out of every row's.
    pub fn training_labels(&self, all: &[Vec<u32>]) -> Vec<Vec<u32>> {
        all.iter()
            .zip(&self.masks)
            .map(|(labels, mask)| labels.iter().zip(mask).filter(|(_, &h)| !h).map(|(&l, _)| l).collect::<Vec<_>>())
            .filter(|labels| !labels.is_empty())
            .collect()
    }
}

/// The summary's `holdout` object: the metrics of the held-out rows next to the training
/// rows' (`training_scores`, computed by the fit), and the agreement of the held-out rows'
/// predicted segments with a fit on them alone (the same algorithm and k).
pub fn evaluate(
    engine: &mut Engine,
    request: &FitRequest,
    segments: &Segments,
    split: &Split,
    training_scores: &Scores,
    id_name: &str,
) -> Result<Value> {
    let k = segments.k();
    let (_, training_score) = engine.run("the training rows' score", |b| segments.labels_and_score(b, &split.train))?;
    let (labels, score) = engine.run("the held-out assignment", |b| segments.labels_and_score(b, &split.held))?;
    let sample = request.silhouette_sample.max(2);
    let scores =
        engine.run("the held-out metrics", |b| metrics::score(b, &split.held, &labels, k, sample, request.seed))?;
    if split.held.rows() < k {
        return Err(Error::param(
            Param::Holdout,
            format!("the fit found k={k} segments but only {} rows are held out; raise it", split.held.rows()),
        ));
    }
    // The same k on both sides, as prediction strength asks (a Ward cut by height found it).
    let own_segmenter = request.segmenter.with_k(k)?;
    let own = engine.run("a fit on the held-out rows", |b| {
        let fit = own_segmenter.fit(b, &split.held, &mut |_| {})?;
        fit.segments.labels(b, &split.held)
    })?;
    let (predicted, own) = (labels.concat(), own.concat());
    let ari = crate::eval::adjusted_rand_index(&predicted, &own);
    let strength = prediction_strength(&predicted, &own);
    info!(
        "{}: held-out rows agree with a fit on them alone: adjusted Rand index {ari:.3}, prediction strength {}",
        Param::Holdout,
        strength.map_or("n/a".into(), |s| format!("{s:.3}"))
    );
    let with_silhouette = request.silhouette_sample > 0;
    Ok(json!({
        "fraction": split.fraction,
        "seed": request.seed,
        "split_by": if id_name == "row" { "row number".to_string() } else { id_name.to_string() },
        "rows": split.held.rows(),
        "training_rows": split.train.rows(),
        "metrics": metrics_json(&score, &scores, split.held.rows(), with_silhouette),
        "training_metrics": metrics_json(&training_score, training_scores, split.train.rows(), with_silhouette),
        "adjusted_rand_index": ari,
        "prediction_strength": strength,
    }))
}

/// The report's facts about the holdout (from the summary's `holdout` object).
pub fn report_facts(holdout: &Value) -> Vec<(String, String)> {
    let number = |v: &Value| v.as_f64().map_or("n/a".to_string(), |x| format!("{x:.4}"));
    let mut facts = vec![(
        "held-out customers".to_string(),
        format!("{} of {} (by {})", holdout["rows"], holdout["fraction"], holdout["split_by"].as_str().unwrap_or("?")),
    )];
    for (key, name) in [
        ("inertia_per_row", "inertia per row"),
        ("mean_log_likelihood", "mean log-likelihood"),
        ("silhouette", "silhouette"),
        ("calinski_harabasz", "Calinski-Harabasz"),
        ("davies_bouldin", "Davies-Bouldin"),
    ] {
        if !holdout["metrics"][key].is_null() {
            let (held, training) = (number(&holdout["metrics"][key]), number(&holdout["training_metrics"][key]));
            facts.push((format!("{name}: held out (training)"), format!("{held} ({training})")));
        }
    }
    facts.push(("held out vs. a fit on them: adjusted Rand index".into(), number(&holdout["adjusted_rand_index"])));
    facts.push((
        "held out: prediction strength (≥ 0.8: real structure)".into(),
        number(&holdout["prediction_strength"]),
    ));
    facts
}

/// Inertia per row (or the mean log-likelihood) and the internal metrics of one side.
fn metrics_json(score: &Score, scores: &Scores, rows: usize, with_silhouette: bool) -> Value {
    let mut v = json!({
        "calinski_harabasz": scores.calinski_harabasz,
        "davies_bouldin": scores.davies_bouldin,
        "silhouette": with_silhouette.then_some(scores.silhouette.mean),
    });
    match score {
        Score::Inertia(inertia) => v["inertia_per_row"] = json!(inertia / rows.max(1) as f64),
        Score::Likelihood { .. } => v["mean_log_likelihood"] = json!(score.mean_log_likelihood()),
    }
    v
}
