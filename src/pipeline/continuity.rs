//! The `fit --previous` steps of a fit: the previous run loaded and checked, stable ids
//! for today's segments, and after the assignment the migration, drift and the summary's
//! `continuity` object. A fit without `--previous` numbers its segments 0..k here too.

use std::path::Path;

use serde_json::{json, Value};

use super::request::FitRequest;
use super::train::Trained;
use crate::backend::Centres;
use crate::cluster::Segmenter;
use crate::continuity::drift::{self, Drift};
use crate::continuity::ids::{self, Matching};
use crate::continuity::migration::{self, Migration};
use crate::continuity::warm::SpaceMap;
use crate::continuity::PreviousRun;
use crate::data::Dataset;
use crate::error::{Param, Result};
use crate::io::atomic::Staged;
use crate::prep::Prep;

/// Today's segment ids (segment order) and how they came about.
pub struct Lineage {
    /// The id of each segment, segments in id order.
    pub ids: Vec<u32>,
    /// One past the highest id ever used.
    pub next_segment_id: u32,
    /// With `--previous`: how today's segments matched the previous run's.
    pub matching: Option<Matching>,
}

/// The previous run of `request`, loaded and checked against its algorithm, before any
/// data are read.
pub fn load_previous(request: &FitRequest) -> Result<Option<PreviousRun>> {
    let Some(dir) = &request.continuity.previous else { return Ok(None) };
    let previous = PreviousRun::load(dir)?;
    previous.check_algorithm(&request.segmenter)?;
    info!("following {} ({} model, k={})", dir.display(), previous.model.algorithm(), previous.model.k);
    Ok(Some(previous))
}

/// `request` reading the previous run's columns when `--keep-prep` reuses its prep and no
/// columns were named.
pub fn reading_previous_columns(request: &FitRequest, previous: &PreviousRun) -> FitRequest {
    let mut request = request.clone();
    if request.continuity.keep_prep {
        let prep = &previous.model.prep;
        if request.read.features.is_none() {
            request.read.features = Some(prep.numeric.iter().map(|c| c.name.clone()).collect());
        }
        if request.read.categorical.is_empty() {
            request.read.categorical = prep.categorical.iter().map(|c| c.name.clone()).collect();
        }
    }
    request
}

/// Stable ids for `trained`'s segments: 0..k for a first fit, matched to the previous
/// run's otherwise; the segments are put in id order.
pub fn assign_ids(
    trained: Trained,
    previous: Option<(&PreviousRun, &SpaceMap)>,
    match_threshold: f64,
    total_weight: f64,
) -> Result<(Trained, Lineage)> {
    let k = trained.outcome.segments.k();
    let Some((previous, map)) = previous else {
        let lineage = Lineage { ids: (0..k as u32).collect(), next_segment_id: k as u32, matching: None };
        return Ok((trained, lineage));
    };
    let model = &previous.model;
    let mapped: Vec<f32> = model
        .centres
        .iter()
        .flat_map(|c| map.point(&c.iter().map(|&v| v as f64).collect::<Vec<_>>()))
        .map(|v| v as f32)
        .collect();
    let previous_centres = Centres::new(model.k, map.dim(), mapped);
    let today = trained.outcome.segments.centres();
    let (_, weights) = super::train::model_sizes(&trained.outcome, &vec![0; k], total_weight);
    let spread = ids::spread(&trained.outcome, total_weight);
    let matching = ids::match_segments(
        &today,
        &weights,
        &previous_centres,
        &model.ids(),
        model.next_id(),
        spread,
        match_threshold,
    );
    let order = ids::id_order(&matching.ids);
    let reg_covar = match &trained.segmenter {
        Segmenter::Gmm(p) => p.reg_covar,
        _ => 0.0,
    };
    let outcome = ids::reorder(trained.outcome, &order, reg_covar)?;
    let ids: Vec<u32> = order.iter().map(|&i| matching.ids[i]).collect();
    info!("segment ids: {} continued, new {:?}, retired {:?}", matching.matches.len(), matching.new, matching.retired);
    let lineage = Lineage { ids, next_segment_id: matching.next_segment_id, matching: Some(matching) };
    Ok((Trained { outcome, ..trained }, lineage))
}

/// What a followed run adds to the outputs and the summary.
pub struct FollowUp {
    /// migration.parquet, staged.
    pub migration: Option<Staged>,
    /// Who moved where (for the report).
    pub flows: Option<Migration>,
    pub continuity: Value,
    pub drift: Option<Drift>,
}

/// Today's rows to segment ids per chunk.
fn segment_ids_per_chunk(labels: &[Vec<u32>], ids: &[u32]) -> Vec<Vec<u32>> {
    labels.iter().map(|chunk| chunk.iter().map(|&l| ids[l as usize]).collect()).collect()
}

/// Rows per segment id.
fn sizes_by_id(ids: &[u32], sizes: &[u64]) -> Vec<(u32, u64)> {
    ids.iter().copied().zip(sizes.iter().copied()).collect()
}

/// Migration (staged at `target`), drift against the previous model's reference, and the
/// summary's `continuity` object.
#[allow(clippy::too_many_arguments)]
pub fn follow_up(
    request: &FitRequest,
    previous: &PreviousRun,
    lineage: &Lineage,
    prep: &Prep,
    data: &Dataset,
    ids_per_chunk: (&str, &[arrow::array::ArrayRef]),
    labels: &[Vec<u32>],
    sizes: &[u64],
    target: &Path,
) -> Result<FollowUp> {
    let (id_name, row_ids) = ids_per_chunk;
    let migration: Option<Migration> = previous
        .assignments
        .as_ref()
        .map(|path| migration::migrate(path, id_name, row_ids, &segment_ids_per_chunk(labels, &lineage.ids)))
        .transpose()?;
    if migration.is_none() {
        warn!("{} has no assignments.parquet: no migration table", previous.dir.display());
    }
    let staged = migration.as_ref().map(|m| m.write_parquet(target)).transpose()?;
    let drift = previous.model.drift_reference.as_ref().map(|reference| {
        let shares = drift::share_pairs(
            &sizes_by_id(&previous.model.ids(), &previous.model.segment_sizes),
            &sizes_by_id(&lineage.ids, sizes),
        );
        drift::measure(reference, prep, data, shares, request.continuity.fail_on_drift)
    });
    if let Some(d) = &drift {
        let report = format!("drift: max PSI {:.4} ({:?}); noise floor about {:.4}", d.max_psi, d.level, d.noise_floor);
        if d.failed {
            warn!("{report}: at or over {} (the run exits {})", Param::FailOnDrift, drift::DRIFT_EXIT_CODE);
        } else {
            info!("{report}");
        }
    }
    if drift.is_none() {
        warn!("{} has no drift reference (written by an older custseg): no drift check", previous.model_path.display());
    }
    let mut continuity = json!({
        "previous": previous.dir.display().to_string(),
        "prep": if request.continuity.keep_prep { "kept" } else { "refitted" },
        "migration": staged.as_ref().map(|s| s.target().display().to_string()),
    });
    if let Some(matching) = &lineage.matching {
        continuity = super::merge_json(continuity, serde_json::to_value(matching).expect("serialisable"));
    }
    if let Some(m) = &migration {
        continuity = super::merge_json(continuity, serde_json::to_value(m.counts()).expect("serialisable"));
    }
    Ok(FollowUp { migration: staged, flows: migration, continuity, drift })
}
