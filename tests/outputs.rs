//! Outputs never land on what a run reads or on something that is not a regular file;
//! a failed run leaves nothing behind; parameters outside their range are refused up front.

use std::path::Path;

use tempfile::TempDir;

use crate::cli::{customers, fit_args, summary};
use crate::common::{custseg, outcome};

fn fit_ok(dir: &TempDir, input: &Path, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.path().join("fit");
    let (code, _, stderr) = outcome(&custseg(&fit_args(
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        &[extra, &["--backend", "cpu"]].concat(),
    )));
    assert_eq!(code, 0, "{stderr}");
    out
}

fn predict(model: &Path, input: &Path, out: &str) -> (i32, String, String) {
    outcome(&custseg(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        out,
        "--backend",
        "cpu",
    ]))
}

#[test]
fn no_output_may_be_a_file_the_run_reads() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let fitted = fit_ok(&dir, &input, &[]);
    let model = fitted.join("model.json");
    let before = std::fs::read(&model).unwrap();
    let (code, _, stderr) = predict(&model, &input, model.to_str().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--out") && stderr.contains("model.json"), "{stderr}");
    assert_eq!(std::fs::read(&model).unwrap(), before, "the model must be untouched");
    // Initial centres are an input too: fit may not write over them.
    let centres = dir.path().join("init").join("model.json");
    std::fs::create_dir_all(centres.parent().unwrap()).unwrap();
    std::fs::write(&centres, "spend,visits\n100,5\n500,25\n900,45\n").unwrap();
    let out = centres.parent().unwrap().to_str().unwrap();
    let args = fit_args(input.to_str().unwrap(), out, &["--init-centroids", centres.to_str().unwrap()]);
    let (code, _, stderr) = outcome(&custseg(&args));
    assert_eq!(code, 2, "{stderr}");
    assert!(std::fs::read_to_string(&centres).unwrap().starts_with("spend,visits"));
}

#[test]
fn devices_are_written_directly_and_folders_take_the_default_name() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let model = fit_ok(&dir, &input, &[]).join("model.json");
    let (code, _, stderr) = predict(&model, &input, "/dev/null");
    assert_eq!(code, 0, "{stderr}");
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file(), "/dev/null must stay a device");
    let folder = dir.path().join("scored");
    let (code, stdout, stderr) = predict(&model, &input, &format!("{}/", folder.display()));
    assert_eq!(code, 0, "{stderr}");
    assert!(folder.join("assignments.parquet").is_file());
    assert_eq!(summary(&stdout)["outputs"]["assignments"], folder.join("assignments.parquet").display().to_string());
}

#[test]
fn a_full_disk_while_writing_profiles_is_an_io_error_and_commits_nothing() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink("/dev/full", out.join("profiles.parquet")).unwrap();
    let (code, _, stderr) = outcome(&custseg(&fit_args(input.to_str().unwrap(), out.to_str().unwrap(), &[])));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("profiles.parquet"), "{stderr}");
    assert!(!out.join("model.json").exists() && !out.join("assignments.parquet").exists());
    let temps = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(temps, 0);
}

#[test]
fn a_failed_run_leaves_no_output_folder_behind() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("new/results");
    let (code, _, _) =
        outcome(&custseg(&["fit", "--input", "/no/such.parquet", "--k", "2", "--out", out.to_str().unwrap()]));
    assert_eq!(code, 4);
    assert!(!dir.path().join("new").exists(), "the folders the run created are removed");
    let pred = dir.path().join("p/x.parquet");
    let (code, _, _) = predict(&dir.path().join("missing.json"), Path::new("/no/such.parquet"), pred.to_str().unwrap());
    assert_ne!(code, 0);
    assert!(!dir.path().join("p").exists());
}

#[test]
fn parameters_outside_their_range_are_refused_before_reading() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["--init-rounds", "0"], "--init-rounds"),
        (&["--oversampling", "NaN"], "--oversampling"),
        (&["--oversampling", "0"], "--oversampling"),
        (&["--algorithm", "gmm", "--init", "k-means||"], "--init"),
        (&["--algorithm", "gmm", "--init", "auto"], "--init"),
        (&["--probabilities"], "--probabilities"),
        (&["--silhouette-sample", "1"], "--silhouette-sample"),
        (&["--memory-budget", "99999999999999999999TiB"], "memory"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["fit", "--input", "/no/such.parquet", "--k", "2", "--out", o];
        args.extend_from_slice(extra);
        let (code, _, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
        assert!(!out.exists(), "{extra:?}: nothing is created");
    }
}

#[test]
fn too_many_threads_are_capped_with_a_warning() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    let args = fit_args(input.to_str().unwrap(), out.to_str().unwrap(), &["--threads", "100000", "--backend", "cpu"]);
    let (code, _, stderr) = outcome(&custseg(&args));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("--threads 100000") && stderr.contains("per core"), "{stderr}");
}
