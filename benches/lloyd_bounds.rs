//! Lloyd with and without Hamerly bounds from the same k-means++ centres: iterations,
//! wall and process CPU seconds of the Lloyd loop alone (seeding excluded), and the share of
//! row assignments the bounds kept (logged by the fit). Both runs give the same bits.
//!
//!     cargo bench --bench lloyd_bounds -- FILE K [MAX_ITER] [TOL] [THREADS]
//!
//! FILE: whitespace-separated rows (Fränti's `.txt` sets) or raw little-endian f32 rows
//! named `*.d<DIM>.f32` (e.g. written by numpy's `tofile`).

use std::time::Instant;

use custseg::backend::cpu::{Bounds, CpuBackend, CpuBackendWith};
use custseg::cluster::kmeans::{fit, kmeans_plus_plus, Init, KMeansParams};
use custseg::data::Dataset;
use custseg::rng::Rng;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [file, k, rest @ ..] = &args[..] else { panic!("usage: lloyd_bounds FILE K [MAX_ITER] [TOL] [THREADS]") };
    let k: usize = k.parse().expect("K");
    let max_iter = rest.first().map_or(300, |v| v.parse().expect("MAX_ITER"));
    let tol = rest.get(1).map_or(1e-4, |v| v.parse().expect("TOL"));
    let threads = rest.get(2).map_or(2, |v| v.parse().expect("THREADS"));
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("rayon pool");
    let (values, d) = load(file);
    let data = Dataset::from_rows(&values, d, None, 65_536);
    let start = kmeans_plus_plus(&CpuBackend, &data, k, &mut Rng::new(0)).expect("seeding");
    println!("{file}: {} rows × {d}, k = {k}, max_iter {max_iter}, tol {tol}, {threads} threads", data.rows());
    for bounds in [Bounds::Never, Bounds::Always, Bounds::Never, Bounds::Always] {
        let params =
            KMeansParams { k, init: Init::Centres(start.clone()), max_iter, tol, seed: 0, ..KMeansParams::new(k) };
        let (cpu, wall) = (cpu_seconds(), Instant::now());
        let fitted =
            fit(&CpuBackendWith { bounds }, &data, &params.check().expect("params"), &mut |_| {}).expect("fit");
        let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        println!(
            "  {bounds:?}: {} iterations, wall {wall:.3} s, CPU {cpu:.2} s, inertia {:.9e}",
            fitted.iterations, fitted.inertia
        );
    }
}

fn load(file: &str) -> (Vec<f32>, usize) {
    if let Some(d) = file.strip_suffix(".f32").and_then(|s| s.rsplit_once(".d")).map(|(_, d)| d.parse().expect("DIM")) {
        let bytes = std::fs::read(file).expect("read");
        return (bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect(), d);
    }
    let text = std::fs::read_to_string(file).expect("read");
    let rows: Vec<Vec<f32>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|t| t.parse().expect("number")).collect())
        .collect();
    let d = rows[0].len();
    (rows.concat(), d)
}

/// User + system CPU seconds of this process so far (Linux: /proc/self/stat, 100 Hz ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, s)| s).split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}
