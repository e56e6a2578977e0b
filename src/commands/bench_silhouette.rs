//! `custseg bench --pass silhouette`: the exact silhouette of the rows labelled by their
//! nearest of k random rows, timed (the pairwise pass dominates: O(n² · d)).

use std::time::Instant;

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
    let mut times = Vec::with_capacity(args.iters);
    for _ in 0..args.iters {
        let t = Instant::now();
        silhouette = metrics::silhouette(backend, data, &labels, k, n, args.seed)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let info = backend.info();
    Ok(json!({
        "command": "bench",
        "pass": "silhouette",
        "backend": info.backend,
        "device": info.device,
        "n": n, "d": d, "k": k,
        "iters": args.iters,
        "seconds": median,
        "seconds_min": times[0],
        "pairs_per_second": (n as f64) * (n as f64) / median,
        "silhouette": silhouette.mean,
        "load_seconds": secs(load_seconds),
    }))
}
