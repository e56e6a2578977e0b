//! `custseg bench --algorithm hdbscan|dbscan`: one exact density fit on generated blobs (or a
//! file), timed pass by pass (kd-tree, core distances, MST, labels).

use std::time::Instant;

use serde_json::json;

use crate::backend::Backend;
use crate::cli::{AlgorithmChoice, BenchArgs, ClusterSelectionChoice};
use crate::cluster::density::{self, ClusterSelection, DbscanParams, HdbscanParams};
use crate::data::Dataset;
use crate::error::{Error, Param, Result};
use crate::pipeline::secs;

/// `--min-cluster-size` when the bench is not given one.
const DEFAULT_MIN_CLUSTER_SIZE: usize = 16;

/// Times one density fit of `data` and returns the bench report.
pub fn run(args: &BenchArgs, backend: &dyn Backend, data: &Dataset, load_seconds: f64) -> Result<serde_json::Value> {
    let d = &args.density;
    let params = match args.algorithm {
        AlgorithmChoice::Dbscan => DbscanParams {
            eps: d.eps.ok_or_else(|| Error::param(Param::Eps, "is required to bench dbscan, such as --eps 0.5"))?,
            min_samples: d.min_samples.unwrap_or(DEFAULT_MIN_CLUSTER_SIZE),
        }
        .check()?,
        _ => HdbscanParams {
            min_cluster_size: d.min_cluster_size.unwrap_or(DEFAULT_MIN_CLUSTER_SIZE),
            min_samples: d.min_samples,
            selection: match d.cluster_selection {
                ClusterSelectionChoice::Eom => ClusterSelection::Eom,
                ClusterSelectionChoice::Leaf => ClusterSelection::Leaf,
            },
        }
        .check()?,
    };
    let params = params.sampled(d.sample.map(|size| density::Sample { size, seed: args.seed }))?;
    let started = Instant::now();
    let (fit, _) = density::fit_dataset(data, &params, backend.density_passes())?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "command": "bench",
        "algorithm": params.name(),
        "backend": backend.info().backend,
        "device": backend.info().device,
        "device_passes": fit.on_device,
        "n": data.rows(), "d": data.dim(),
        "min_samples": params.min_samples(),
        "mst_algorithm": fit.mst_algorithm,
        "mode": if fit.sample.is_some() { "sampled" } else { "exact" },
        "sample_size": fit.sample,
        "clusters": fit.k,
        "noise": fit.noise,
        "seconds": seconds,
        "pass_seconds": fit.seconds,
        "load_seconds": secs(load_seconds),
    }))
}
