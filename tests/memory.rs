//! Streamed fits (past `--memory-budget`) keep a peak that does not grow with the data
//! beyond the documented per-row outputs: the peak resident memory of the child process
//! (`wait4`'s `ru_maxrss`) is measured at two sizes and its growth per added row bounded.
//! Linux only (`ru_maxrss` in KiB).

use std::path::Path;
use std::process::{Command, Stdio};

use arrow::array::{Float32Array, Int64Array};

use crate::common::{arr, write_parquet};
use custseg::rng::Rng;

/// Bytes of peak resident memory a streamed fit may add per row: the id (8), the final
/// labels (4) and the K-Means state (label, distance and k-means++ minimum distance: 12)
/// are kept on the heap; measured on 8 columns the peak grows by about 25 bytes per row
/// (K-Means). Two-level Ward is left out: between these sizes its peak grew by 62–97 bytes
/// a row, not yet explained (at 10⁷ rows it is 28 bytes a row in all, see BENCHMARKS.md),
/// and a bound that loose would test little. What the fixes removed would each
/// add, by their sizes: a whole row group decoded at once (72 per row here), a prep sample
/// of every row up to a million (40), the cache's pages left mapped by k-means|| (32).
const PER_ROW_BOUND: f64 = 80.0;

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

/// Peak resident bytes of `custseg fit` on `n` rows with a 1 MiB budget (streamed).
fn streamed_fit_peak(dir: &Path, n: usize, algorithm: &[&str]) -> u64 {
    let input = dir.join(format!("blobs-{n}.parquet"));
    blobs(&input, n);
    let out = dir.join(format!("out-{n}"));
    std::fs::create_dir(&out).unwrap();
    let log = dir.join(format!("log-{n}.txt"));
    let mut args = vec!["fit", "--input", input.to_str().unwrap(), "--id", "id", "--backend", "cpu"];
    args.extend_from_slice(&["--memory-budget", "1MiB", "--silhouette-sample", "0", "--max-iter", "5"]);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    args.extend_from_slice(algorithm);
    // Reaped by `wait4` below (which, unlike `Child::wait`, reports the peak memory).
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_custseg"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("custseg runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value, and wait4 writes only into the two
    // out-parameters, for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "custseg fit failed: {stderr}");
    assert!(stderr.contains("streaming them from an on-disk cache"), "the fit was not streamed: {stderr}");
    std::fs::remove_file(&input).unwrap();
    usage.ru_maxrss as u64 * 1024
}

/// Checks that the peak grows by at most [`PER_ROW_BOUND`] bytes per added row between
/// 150,000 and 600,000 rows (reading a whole row group, or keeping the prep sample or
/// k-means++ scratch of every row, or leaving the cache's pages mapped, would each add
fn peak_stays_flat(algorithm: &[&str]) {
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
