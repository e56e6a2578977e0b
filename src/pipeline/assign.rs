//! Writes the assignments of every row (id, segment, and the algorithm's per-row values)
//! under a temporary name, for `fit` and `predict` alike.

use std::path::Path;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;

use super::engine::Engine;
use crate::cluster::density::NOISE;
use crate::cluster::fitted::sum_of_squares;
use crate::cluster::Segments;
use crate::data::Dataset;
use crate::error::Result;
use crate::io::atomic::Staged;
use crate::io::writer::AssignmentWriter;

/// The Boolean column of `fit --holdout`: true for the held-out rows.
pub const HOLDOUT_COLUMN: &str = "holdout";

/// Where the assignments go and what identifies each row.
pub struct AssignmentTarget<'a> {
    pub path: &'a Path,
    pub id_name: &'a str,
    pub id_type: &'a DataType,
    /// Ids per chunk of the data.
    pub ids: &'a [ArrayRef],
    /// Mixtures: every component's probability too.
    pub probabilities: bool,
    /// Every segment's name by id, for a `segment_name` column (None: no such column).
    pub segment_names: Option<&'a crate::io::names::SegmentNames>,
    /// The stable id written for each segment (None: its index).
    pub segment_ids: Option<&'a [u32]>,
    /// `fit --holdout`: per chunk, whether each row was held out (a `holdout` column).
    pub holdout: Option<&'a [Vec<bool>]>,
}

/// The staged file and what the pass saw.
pub struct Written {
    pub file: Staged,
    /// Labels per chunk.
    pub labels: Vec<Vec<u32>>,
    /// Rows per segment.
    pub sizes: Vec<u64>,
    /// Rows left unsegmented (density fits' outliers, written as segment −1).
    pub noise: u64,
    /// K-Means: Σ ‖x − c‖² of the rows to their centres (unweighted).
    pub inertia: Option<f64>,
}

/// Assigns every row of `data` and writes the assignments to `target` (staged, not yet
/// committed). Runs again on the CPU when `auto`'s GPU fails.
pub fn write_assignments(
    engine: &mut Engine,
    segments: &Segments,
    data: &Dataset,
    target: &AssignmentTarget,
) -> Result<Written> {
    let mut columns = segments.value_columns(target.probabilities);
    if let (Some(ids), true) = (target.segment_ids, target.probabilities) {
        // Every component's probability column is named by the segment's id.
        for (column, id) in columns.iter_mut().skip(1).zip(ids) {
            *column = format!("p_{id}");
        }
    }
    engine.run("the assignment pass", |backend| {
        let mut labels = Vec::with_capacity(data.chunks().len());
        let mut sizes = vec![0u64; segments.k()];
        let mut inertia = 0.0f64;
        let mut noise = 0u64;
        let flag = target.holdout.map(|_| HOLDOUT_COLUMN);
        let mut writer = AssignmentWriter::create_typed(
            target.path,
            target.id_name,
            target.id_type,
            &columns,
            target.segment_names.cloned(),
            segments.has_noise(),
            flag,
        )?;
        segments.assign(backend, data, target.probabilities, &mut |chunk, assigned| {
            for &l in assigned.labels {
                match sizes.get_mut(l as usize) {
                    Some(size) => *size += 1,
                    None => noise += 1,
                }
            }
            labels.push(assigned.labels.to_vec());
            if let Segments::Centres(_) | Segments::Ward(_) = segments {
                inertia += sum_of_squares(assigned.values[0]);
            }
            let held = target.holdout.map(|h| h[chunk].as_slice());
            match target.segment_ids {
                Some(ids) => {
                    // Unsegmented rows (density fits' outliers) keep NOISE: written as −1.
                    let stable: Vec<u32> =
                        assigned.labels.iter().map(|&l| ids.get(l as usize).copied().unwrap_or(NOISE)).collect();
                    writer.write_flagged(&target.ids[chunk], &stable, &assigned.values, held)
                }
                None => writer.write_flagged(&target.ids[chunk], assigned.labels, &assigned.values, held),
            }
        })?;
        let inertia = matches!(segments, Segments::Centres(_) | Segments::Ward(_)).then_some(inertia);
        Ok(Written { file: writer.finish()?, labels, sizes, noise, inertia })
    })
}
