//! Faults a batch job meets: SIGKILL at any moment, SIGINT/SIGTERM. Outputs are either the
//! previous complete ones or the new complete ones, never torn; signals exit 130/143 and
//! leave no temporary files.

#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::outcome;

fn complete_outputs(dir: &Path) -> bool {
    let model = dir.join("model.json");
    let assignments = dir.join("assignments.parquet");
    let model_ok = custseg::model::Model::load(&model).is_ok();
    let rows = custseg::commands::demo::read_segments(&assignments).map(|s| s.len());
    model_ok && rows.is_ok_and(|n| n == 200_000)
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

fn fit_command(data: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_custseg"));
    c.args(["fit", "--input", data.to_str().unwrap(), "--id", "customer_id", "--categorical", "region"])
        .args(["--k", "8", "--n-init", "4", "--seed", "1", "--out", out.to_str().unwrap(), "--backend", "cpu"])
        .args(["--silhouette-sample", "2000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn sigkill_at_any_moment_never_leaves_a_torn_output() {
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path().join("customers.parquet");
    custseg::synth::write_customers(&data, 200_000, 42).unwrap();
    let out = dir.path().join("out");
    assert!(fit_command(&data, &out).status().unwrap().success());
    assert!(complete_outputs(&out));
    let started = std::time::Instant::now();
    assert!(fit_command(&data, &out).status().unwrap().success());
    let full = started.elapsed();
    for step in 0..16u32 {
        let delay = full.mul_f64(step as f64 / 15.0);
        let mut child = fit_command(&data, &out).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        assert!(complete_outputs(&out), "torn output after SIGKILL at {delay:?}");
    }
    // The next run removes what killed runs left behind and finishes cleanly.
    assert!(fit_command(&data, &out).status().unwrap().success());
    assert!(complete_outputs(&out));
    assert_eq!(temp_files(&out), Vec::<String>::new());
}

#[test]
fn sigint_and_sigterm_stop_cleanly_with_130_and_143() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::TempDir::new().unwrap();
        let out = dir.path().join("demo");
        let child = Command::new(env!("CARGO_BIN_EXE_custseg"))
            .args(["demo", "--n", "3000000", "--out", out.to_str().unwrap(), "--backend", "cpu"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Signal while the data file is being written: its temporary file exists.
        let data = out.join("data");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !data.exists() || temp_files(&data).is_empty() {
            assert!(std::time::Instant::now() < deadline, "the demo never started writing");
            std::thread::sleep(Duration::from_millis(5));
        }
        let sent = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
        assert!(sent.success());
        let o = child.wait_with_output().unwrap();
        let (got, stdout, stderr) = outcome(&o);
        assert_eq!(got, code, "SIG{signal}: {stderr}");
        assert!(stdout.is_empty(), "no summary after a signal: {stdout}");
        assert!(stderr.contains("stopped by signal") && stderr.contains("removed 1 temporary file"), "{stderr}");
        for folder in [out.clone(), out.join("data")] {
            if folder.exists() {
                assert_eq!(temp_files(&folder), Vec::<String>::new(), "SIG{signal} left temporary files");
            }
        }
    }
}
