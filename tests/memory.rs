//! Streamed fits (past `--memory-budget`) keep a peak that does not grow with the data
//! beyond the documented per-row outputs: the peak resident memory of the fit's process is
//! measured at two sizes and its growth per added row bounded. Linux only.
//!
//! The peak is GNU time's (`%M`), not `wait4`'s `ru_maxrss` of a child spawned from this
//! process: Linux records the high-water mark of the memory a child execs from into the
//! child's own (std's `Command` spawns by vfork, so that memory is this test process's,
//! holding the blobs it generated and whatever tests run beside it). Read that way the
//! "peak" of a fit was the test harness's when larger: it grew with the blobs generated
//! before it (and made two-level Ward look like 62–97 bytes a row, K-Means like 25 or 53,
//! by the order the tests ran in). GNU time forks the fit from its own small process.

use std::path::Path;
use std::process::{Command, Stdio};

use arrow::array::{Float32Array, Int64Array};

use crate::common::{arr, write_parquet};
use custseg::rng::Rng;

/// GNU time, which reports the peak resident memory of the command it runs.
const GNU_TIME: &str = "/usr/bin/time";

/// Bytes of peak resident memory a streamed fit may add per row. Kept on the heap per row:
/// the id (8), the final labels (4) and a Lloyd run's state (label, distance and k-means++
/// minimum distance: 12). Between these sizes the peak also grows through stages whose
/// memory is capped, not per row: the rules' tree grows on up to 200,000 sampled rows
/// (150,000 here at the small size), and the assignments file buffers its row group (up to
/// 1,048,576 rows). Measured here with one malloc arena (see below), four runs each:
/// 44.9–49.0 bytes a row for K-Means, 39.7–47.2 for two-level Ward. What the fixes removed would each add, by their sizes: a whole row group
/// decoded at once (72 per row here), a prep sample of every row up to a million (40), the
/// cache's pages left mapped by k-means|| (32).
const PER_ROW_BOUND: f64 = 60.0;

/// `n` rows of 8 float32 columns in three groups, in a single row group (as pyarrow
/// writes up to a million rows), with an int64 id.
fn blobs(path: &Path, n: usize) {
    let mut rng = Rng::new(11);
    let mut columns = vec![("id", arr(Int64Array::from_iter_values(0..n as i64)))];
    let names = ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"];
    for (j, name) in names.iter().enumerate() {
        let values: Vec<f32> = (0..n).map(|i| (10.0 * ((i + j) % 3) as f64 + rng.normal()) as f32).collect();
        columns.push((name, arr(Float32Array::from(values))));
    }
    write_parquet(path, columns);
}

/// Peak resident bytes of `custseg fit` on `n` rows with a 1 MiB budget (streamed), as
/// GNU time reports them.
fn streamed_fit_peak(dir: &Path, n: usize, algorithm: &[&str]) -> u64 {
    let input = dir.join(format!("blobs-{n}.parquet"));
    blobs(&input, n);
    let out = dir.join(format!("out-{n}"));
    std::fs::create_dir(&out).unwrap();
    let (log, peak) = (dir.join(format!("log-{n}.txt")), dir.join(format!("peak-{n}.txt")));
    let mut args = vec!["-f", "%M", "-o", peak.to_str().unwrap(), env!("CARGO_BIN_EXE_custseg")];
    args.extend_from_slice(&["fit", "--input", input.to_str().unwrap(), "--id", "id", "--backend", "cpu"]);
    args.extend_from_slice(&["--memory-budget", "1MiB", "--silhouette-sample", "0", "--max-iter", "5"]);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    args.extend_from_slice(algorithm);
    let status = Command::new(GNU_TIME)
        .args(&args)
        // One glibc arena: with one per thread, which thread frees what moves the 600,000-row
        // peak by up to 6.5 MiB from run to run (K-Means: 62.3–68.7 MiB; one arena:
        // 57.2–59.7), 15 bytes a row of noise in the figure below.
        .env("MALLOC_ARENA_MAX", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .expect("GNU time runs");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "custseg fit failed: {stderr}");
    assert!(stderr.contains("streaming them from an on-disk cache"), "the fit was not streamed: {stderr}");
    std::fs::remove_file(&input).unwrap();
    let kib = std::fs::read_to_string(&peak).unwrap();
    kib.trim().parse::<u64>().unwrap_or_else(|_| panic!("GNU time wrote {kib:?}")) * 1024
}

/// Checks that the peak grows by at most [`PER_ROW_BOUND`] bytes per added row between
/// 150,000 and 600,000 rows (reading a whole row group, or keeping the prep sample or
/// k-means++ scratch of every row, or leaving the cache's pages mapped, would each add
/// more).
fn peak_stays_flat(algorithm: &[&str]) {
    if !Path::new(GNU_TIME).is_file() {
        eprintln!("SKIPPED memory::{algorithm:?}: {GNU_TIME} (GNU time) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (150_000, 600_000);
    let peak_small = streamed_fit_peak(dir.path(), small, algorithm);
    let peak_large = streamed_fit_peak(dir.path(), large, algorithm);
    let per_row = (peak_large as f64 - peak_small as f64) / (large - small) as f64;
    eprintln!(
        "{algorithm:?}: peak {:.1} MiB at {small} rows, {:.1} MiB at {large}: {per_row:.1} bytes per added row",
        peak_small as f64 / 1048576.0,
        peak_large as f64 / 1048576.0
    );
    assert!(per_row <= PER_ROW_BOUND, "{per_row:.1} bytes per added row, over {PER_ROW_BOUND}");
}

#[test]
fn a_streamed_kmeans_fit_keeps_its_peak_flat() {
    peak_stays_flat(&["--algorithm", "kmeans", "--k", "3"]);
}

#[test]
fn a_streamed_two_level_ward_fit_keeps_its_peak_flat() {
    peak_stays_flat(&["--algorithm", "ward", "--k", "3", "--micro-clusters", "400"]);
}
