//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;

/// Writes `columns` as one Parquet file.
pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Shorthand for an Arrow array.
pub fn arr<A: arrow::array::Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

/// Runs the custseg binary.
pub fn custseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custseg")).args(args).output().expect("custseg runs")
}

/// Runs the custseg binary with the Vulkan loader pointed at no driver, so no GPU adapter
/// exists (as on a machine without one).
pub fn custseg_without_gpu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custseg"))
        .args(args)
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .output()
        .expect("custseg runs")
}

/// Exit code, stdout and stderr as text.
pub fn outcome(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The shared data folder, or `None` (and a loud note) when CUSTSEG_DATA_DIR is unset.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    match std::env::var_os("CUSTSEG_DATA_DIR") {
        Some(d) if Path::new(&d).is_dir() => Some(PathBuf::from(d)),
        _ => {
            eprintln!("SKIPPED {test}: set CUSTSEG_DATA_DIR to the shared data folder to run it");
            None
        }
    }
}

/// A GPU backend on the first adapter wgpu finds (software ones such as lavapipe included),
/// or `None` after a loud `SKIPPED <test>: no GPU adapter`; with CUSTSEG_REQUIRE_GPU=1 a
/// missing adapter fails the test instead. Each call opens its own context, so tests running
/// in parallel never share the rows resident on one device.
pub fn gpu_backend(test: &str) -> Option<custseg::backend::gpu::GpuBackend> {
    use custseg::backend::gpu::{context::GpuContext, GpuBackend};
    match GpuContext::open(None, false) {
        Ok(ctx) => Some(GpuBackend::new(ctx)),
        Err(e) => {
            if std::env::var("CUSTSEG_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("{test}: CUSTSEG_REQUIRE_GPU=1 but no GPU adapter: {e}");
            }
            eprintln!("SKIPPED {test}: no GPU adapter ({e}); install mesa-vulkan-drivers to run it");
            None
        }
    }
}

/// Reads a whitespace-separated numeric text file (optionally gzipped) as rows.
pub fn read_table(path: &Path) -> Vec<Vec<f64>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let out = Command::new("gzip").arg("-dc").arg(path).output().expect("gzip available");
        String::from_utf8(out.stdout).unwrap()
    } else {
        String::from_utf8(bytes).unwrap()
    };
    text.lines()
        .map(|l| {
            l.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .map(|t| t.parse().unwrap())
                .collect::<Vec<f64>>()
        })
        .filter(|r| !r.is_empty())
        .collect()
}
