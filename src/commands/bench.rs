//! `custseg bench`: seconds per Lloyd iteration and a full fit, on generated data or a file.

use std::time::Instant;

use serde_json::json;

use super::timing::timed;
use crate::backend::Backend;
use crate::backend::Centres;
use crate::cli::{AlgorithmChoice, BenchArgs};
use crate::cluster::gmm::{CovarianceType, Mixture};
use crate::cluster::kmeans::{self, random_rows, Init, KMeansParams};
use crate::data::Dataset;
use crate::error::Collapsed;
use crate::error::{Error, Param, Result};
use crate::info;
use crate::io::reader::{self, ReadSpec};
use crate::pipeline::{secs, Engine};
use crate::prep::{row_masks, Duplicates, Impute, Prep, PrepParams, ScaleKind};
use crate::rng::Rng;

/// Runs the benchmark and returns its JSON report.
pub fn run(args: &BenchArgs) -> Result<serde_json::Value> {
    for (name, value) in [(Param::Iters, args.iters), (Param::K, args.k), (Param::Rows, args.n), (Param::Dim, args.d)] {
        if value == 0 {
            return Err(Error::param(name, "must be at least 1"));
        }
    }
    let backend = Engine::open(&super::args::backend_options(&args.run))?.backend;
    let load_start = Instant::now();
    let data = match &args.input {
        Some(path) => load_unscaled(path)?,
        None => Dataset::from_rows(&crate::synth::blobs(args.n, args.d, args.k, args.seed), args.d, None, 65_536),
    };
    let load_seconds = load_start.elapsed().as_secs_f64();
    let (n, d, k) = (data.rows(), data.dim(), args.k);
    if args.algorithm.is_density() {
        // Density fits take no k: neither the check nor the log line below is theirs.
        let algorithm = format!("{:?}", args.algorithm).to_lowercase();
        info!("bench: {n} rows × {d} features, {algorithm} on {}", backend.info().backend);
        return super::bench_density::run(args, backend.as_ref(), &data, load_seconds);
    }
    if k > n {
        return Err(Error::param(Param::K, format!("k = {k} exceeds the {n} rows")));
    }
    info!("bench: {n} rows × {d} features, k = {k}, {} timed passes on {}", args.iters, backend.info().backend);
    if args.pass.pass == crate::cli::bench_pass::BenchPass::Silhouette {
        return super::bench_silhouette::run(args, backend.as_ref(), &data, load_seconds);
    }
    if args.algorithm == AlgorithmChoice::Gmm {
        return bench_mixture(args, backend.as_ref(), &data, load_seconds);
    }

    let mut centres = random_rows(&data, k, &mut Rng::new(args.seed));
    // Every timed pass scores every row against every centre, so `gflops` counts work done.
    let mut state = backend.new_full_state(&data)?;
    backend.lloyd_pass(&data, &centres, &mut state)?; // warm-up
    let timing = timed(args.iters, || {
        let stats = backend.lloyd_pass(&data, &centres, &mut state)?;
        let mut next = centres.values.clone();
        for c in 0..k {
            if stats.weights[c] > 0.0 {
                for j in 0..d {
                    next[c * d + j] = (stats.sums[c * d + j] / stats.weights[c]) as f32;
                }
            }
        }
        centres = Centres::new(k, d, next);
        Ok(())
    })?;

    // The fit uses `--init auto`'s choice (k-means|| past n·k = 5·10⁷).
    let init = Init::Auto { rounds: 5, oversampling: 2.0 };
    let fit_start = Instant::now();
    let params = KMeansParams { k, seed: args.seed, init, ..KMeansParams::new(k) }.check()?;
    let fit = kmeans::fit(backend.as_ref(), &data, &params, &mut |_| {})?;
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    let info = backend.info();
    Ok(json!({
        "command": "bench",
        "backend": info.backend,
        "device": info.device,
        "n": n, "d": d, "k": k,
        "iters": args.iters,
        "seconds_per_iteration": timing.median,
        "seconds_per_iteration_min": timing.min,
        "rows_iterations_per_second": n as f64 / timing.median,
        "effective_gb_per_second": (n * d * 4) as f64 / timing.median / 1e9,
        "gflops": 2.0 * (n * k * d) as f64 / timing.median / 1e9,
        "load_seconds": secs(load_seconds),
        "fit": {
            "seconds": fit_seconds,
            "iterations": fit.iterations,
            "inertia": fit.inertia,
            "seconds_per_iteration": fit_seconds / (fit.iterations + 1) as f64,
        },
    }))
}

/// Seconds per EM iteration (E-step pass + M-step) from a K-Means++ start, no full fit.
fn bench_mixture(
    args: &BenchArgs,
    backend: &dyn Backend,
    data: &Dataset,
    load_seconds: f64,
) -> Result<serde_json::Value> {
    let (n, d, k) = (data.rows(), data.dim(), args.k);
    let mut rng = Rng::new(args.seed);
    let seeds = random_rows(data, k, &mut rng);
    let variances = vec![1.0; d];
    let covariance = super::args::covariance(args.covariance);
    let covariances = match covariance {
        CovarianceType::Full => (0..k).flat_map(|_| identity(d)).collect(),
        CovarianceType::Tied => identity(d),
        CovarianceType::Diag => (0..k).flat_map(|_| variances.clone()).collect(),
        CovarianceType::Spherical => vec![1.0; k],
    };
    let mut mixture = Mixture {
        covariance,
        k,
        dim: d,
        weights: vec![1.0 / k as f64; k],
        means: seeds.values.iter().map(|&v| v as f64).collect(),
        covariances,
    };
    let reg = 1e-6;
    let step = |mixture: &Mixture| -> Result<Mixture> {
        let collapsed = |c: Collapsed| Error::Internal(format!("bench component {}: {}", c.component, c.cause));
        let pass = mixture.to_pass().map_err(collapsed)?;
        let stats = backend.mixture_pass(data, &pass)?;
        Mixture::from_stats(&stats, covariance, reg).map_err(collapsed)
    };
    mixture = step(&mixture)?; // warm-up
    let timing = timed(args.iters, || {
        mixture = step(&mixture)?;
        Ok(())
    })?;
    let info = backend.info();
    Ok(json!({
        "command": "bench",
        "algorithm": "gmm",
        "covariance": super::args::covariance(args.covariance),
        "backend": info.backend,
        "device": info.device,
        "n": n, "d": d, "k": k,
        "iters": args.iters,
        "seconds_per_iteration": timing.median,
        "seconds_per_iteration_min": timing.min,
        "rows_iterations_per_second": n as f64 / timing.median,
        "load_seconds": secs(load_seconds),
    }))
}

fn identity(d: usize) -> Vec<f64> {
    (0..d * d).map(|i| if i / d == i % d { 1.0 } else { 0.0 }).collect()
}

/// Every numeric column of a Parquet file, unscaled (missing values → column mean).
fn load_unscaled(path: &std::path::Path) -> Result<Dataset> {
    let spec = ReadSpec {
        inputs: vec![path.to_path_buf()],
        id: None,
        features: None,
        categorical: vec![],
        weights: None,
        batch_rows: 65_536,
    };
    let table = reader::read(&spec)?;
    let params = PrepParams { impute: Impute::Mean, scale: ScaleKind::None, log1p: vec![], clip: None, dedup: false };
    let masks = row_masks(&table, params.impute, Duplicates::Allow)?;
    let prep = Prep::fit(&table, &params, &masks, &mut |w| crate::warn!("{w}"))?;
    Ok(prep.apply(table, &masks)?.data)
}
