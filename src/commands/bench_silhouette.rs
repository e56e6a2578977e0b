//! `custseg bench --pass silhouette`: the exact silhouette of the rows labelled by their
//! nearest of k random rows, timed (the pairwise pass dominates: O(n² · d)).

use serde_json::json;

use crate::backend::Backend;
use crate::cli::BenchArgs;
use crate::cluster::kmeans::random_rows;
use crate::cluster::Segments;
use crate::data::Dataset;
use crate::error::Result;
use crate::eval::metrics;
use crate::pipeline::secs;
use crate::rng::Rng;

/// Times the silhouette of `data` (one warm-up, then `--iters` runs) and returns the report.
pub fn run(args: &BenchArgs, backend: &dyn Backend, data: &Dataset, load_seconds: f64) -> Result<serde_json::Value> {
    let (n, d, k) = (data.rows(), data.dim(), args.k);
    let centres = random_rows(data, k, &mut Rng::new(args.seed));
    let labels = Segments::Centres(centres).labels(backend, data)?;
    let mut silhouette = metrics::silhouette(backend, data, &labels, k, n, args.seed)?; // warm-up
    let timing = super::timing::timed(args.iters, || {
        silhouette = metrics::silhouette(backend, data, &labels, k, n, args.seed)?;
        Ok(())
    })?;
    let info = backend.info();
    Ok(json!({
        "command": "bench",
        "pass": "silhouette",
        "backend": info.backend,
        "device": info.device,
        "n": n, "d": d, "k": k,
        "iters": args.iters,
        "seconds": timing.median,
        "seconds_min": timing.min,
        "pairs_per_second": (n as f64) * (n as f64) / timing.median,
        "silhouette": silhouette.mean,
        "load_seconds": secs(load_seconds),
    }))
}
