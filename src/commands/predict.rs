//! `custseg predict`: apply a saved model's prep and centres to new rows.

use std::time::Instant;

use serde_json::json;

use super::fit::write_probabilities;
use super::{ensure_not_input, secs, select_backend};
use crate::cli::{InputArgs, PredictArgs};
use crate::error::{Error, Result};
use crate::info;
use crate::io::atomic::remove_stale_temp_files;
use crate::io::reader::{self, ReadSpec};
use crate::io::writer::AssignmentWriter;
use crate::model::Model;
use crate::prep::{row_masks, Duplicates};

/// Reads `input` with the columns `model` needs and applies its prep: the prepared rows,
/// the id column's name and type, and the files read.
pub fn read_for_model(
    model: &Model,
    input: &InputArgs,
) -> Result<(crate::prep::Prepared, String, arrow::datatypes::DataType, Vec<String>)> {
    let spec = ReadSpec {
        inputs: input.input.clone(),
        id: input.id.clone().or_else(|| model.id_column.clone()),
        features: Some(model.prep.numeric.iter().map(|c| c.name.clone()).collect()),
        categorical: model.prep.categorical.iter().map(|c| c.name.clone()).collect(),
        weights: None,
        batch_rows: input.batch_rows.max(1),
    };
    let (rows, columns) = reader::plan(&spec)?;
    crate::resources::ensure_fits(
        format!("predicting {rows} rows × {columns} columns"),
        crate::resources::fit_estimate(rows, columns, model.k as u64, model.gmm.is_some()),
    )?;
    let table = reader::read(&spec)?;
    let id_name = spec.id.clone().unwrap_or_else(|| "row".into());
    let id_type = table.batches[0].ids.data_type().clone();
    let files: Vec<String> = table.files.iter().map(|f| f.path.clone()).collect();
    let masks = row_masks(&table, model.prep.impute, Duplicates::Allow)?;
    let prepared = model.prep.apply(table, &masks)?;
    Ok((prepared, id_name, id_type, files))
}

/// Runs `predict` and returns the JSON summary.
pub fn run(args: &PredictArgs) -> Result<serde_json::Value> {
    let started = Instant::now();
    let model = Model::load(&args.model)?;
    let mut engine = select_backend(&args.run)?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    ensure_not_input(&args.out, &args.input.input)?;
    remove_stale_temp_files(&args.out);
    let (prepared, id_name, id_type, files) = read_for_model(&model, &args.input)?;
    if prepared.data.rows() == 0 {
        return Err(Error::data(files.join(", "), "no rows left after dropping rows with missing values"));
    }
    let centres = model.centres()?;
    info!("assigning {} rows to {} segments on {}", prepared.data.rows(), model.k, engine.backend.info().backend);
    let (staged, score) = match &model.gmm {
        None => engine.run("the assignment pass", |backend| {
            let mut writer = AssignmentWriter::create(&args.out, &id_name, &id_type, &["distance".into()])?;
            let mut inertia = 0.0f64;
            backend.assign(&prepared.data, &centres, &mut |chunk, labels, distances| {
                inertia += distances.iter().map(|&d| (d as f64) * (d as f64)).sum::<f64>();
                writer.write(&prepared.ids[chunk], labels, &[distances])
            })?;
            Ok((writer.finish()?, json!({ "inertia": inertia })))
        })?,
        Some(gmm) => {
            let k = model.k;
            let pass = super::stored_mixture_pass(&args.model, &gmm.mixture)?;
            let mut columns = vec!["probability".to_string()];
            if args.probabilities {
                columns.extend((0..k).map(|c| format!("p_{c}")));
            }
            engine.run("the assignment pass", |backend| {
                let stats = backend.mixture_pass(&prepared.data, &pass)?;
                let mut writer = AssignmentWriter::create(&args.out, &id_name, &id_type, &columns)?;
                backend.mixture_assign(&prepared.data, &pass, &mut |chunk, labels, probs| {
                    write_probabilities(&mut writer, &prepared.ids[chunk], labels, probs, k, args.probabilities)
                })?;
                Ok((writer.finish()?, json!({ "mean_log_likelihood": stats.log_likelihood / stats.weight })))
            })?
        }
    };
    staged.commit()?;
    let info = engine.backend.info();
    info!("wrote {}", args.out.display());
    let mut summary = json!({
        "command": "predict",
        "model": args.model.display().to_string(),
        "rows_read": prepared.rows_read,
        "rows_used": prepared.data.rows(),
        "rows_dropped": prepared.dropped_missing,
        "algorithm": model.algorithm,
        "k": model.k,
        "backend": info.backend,
        "device": info.device,
        "seconds": { "total": secs(started.elapsed().as_secs_f64()) },
        "outputs": { "assignments": args.out.display().to_string() },
    });
    if let (Some(all), Some(extra)) = (summary.as_object_mut(), score.as_object()) {
        all.extend(extra.clone());
    }
    Ok(summary)
}
