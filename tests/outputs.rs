//! Outputs never land on what a run reads or on something that is not a regular file;
//! a failed run leaves nothing behind; parameters outside their range are refused up front.

use std::os::unix::fs::FileTypeExt;
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
    predict_with(model, input, out, &[])
}

/// `predict` on the CPU with `extra` flags.
fn predict_with(model: &Path, input: &Path, out: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["predict", "--model", model.to_str().unwrap(), "--input", input.to_str().unwrap()];
    args.extend_from_slice(&["--out", out, "--backend", "cpu"]);
    args.extend_from_slice(extra);
    outcome(&custseg(&args))
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

#[test]
fn every_parameter_at_its_edges_exits_cleanly() {
    // Each flag alone at the values around and beyond its range: the run either succeeds or
    // is refused with exit 2 (parameter) or 3 (data), never a panic, and a refusal leaves
    // nothing behind.
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let edges: [(&str, &[&str]); 17] = [
        ("--k", &["0", "1", "600", "601", "18446744073709551615"]),
        ("--max-iter", &["0", "1"]),
        ("--n-init", &["0", "1", "3"]),
        ("--tol", &["-1", "0", "NaN", "inf", "1e308"]),
        ("--batch-size", &["0", "1", "100000"]),
        ("--init-rounds", &["0", "1"]),
        ("--oversampling", &["-1", "0", "NaN", "inf", "1e-300"]),
        ("--reg-covar", &["-1", "NaN", "0", "1e300"]),
        ("--silhouette-sample", &["0", "1", "2", "601"]),
        ("--clip", &["-0.1", "0", "0.4999", "0.5", "NaN"]),
        ("--memory-budget", &["0", "1", "1TiB"]),
        ("--stability", &["0", "1"]),
        ("--threads", &["0", "1"]),
        ("--seed", &["0", "18446744073709551615"]),
        ("--gpu-memory", &["0"]),
        ("--init", &["random", "k-means||", "auto"]),
        ("--algorithm", &["gmm", "minibatch-kmeans"]),
    ];
    for (flag, values) in edges {
        for value in values {
            let out = dir.path().join("edge");
            let mut args =
                vec!["fit", "--input", input.to_str().unwrap(), "--id", "customer_id", "--out", out.to_str().unwrap()];
            if flag != "--k" {
                args.extend_from_slice(&["--k", "3"]);
            }
            if flag == "--reg-covar" || flag == "--batch-size" {
                args.extend_from_slice(&[
                    "--algorithm",
                    if flag == "--reg-covar" { "gmm" } else { "minibatch-kmeans" },
                ]);
            }
            let assignment = format!("{flag}={value}");
            args.extend_from_slice(&[assignment.as_str(), "--backend", "cpu", "--silhouette-sample", "50"]);
            if flag == "--silhouette-sample" {
                args.truncate(args.len() - 2);
            }
            let (code, stdout, stderr) = outcome(&custseg(&args));
            let case = format!("{flag} {value}");
            assert!(!stderr.contains("panicked"), "{case}: {stderr}");
            assert!([0, 2, 3].contains(&code), "{case}: exit {code}: {stderr}");
            if code == 0 {
                summary(&stdout);
            } else {
                assert!(stdout.is_empty(), "{case}: {stdout}");
                assert!(!out.exists(), "{case}: a refused run left {}", out.display());
            }
            let _ = std::fs::remove_dir_all(&out);
        }
    }
}

#[test]
fn a_file_device_or_pipe_where_an_output_folder_goes_is_a_parameter_error() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"keep me").unwrap();
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // (A file among the parents is an I/O error: cli::bad_input::unwritable_output_is_an_io_error.)
    let outs = [file.clone(), fifo.clone(), Path::new("/dev/null").to_path_buf()];
    for out in &outs {
        let args = fit_args(input.to_str().unwrap(), out.to_str().unwrap(), &["--backend", "cpu"]);
        let (code, stdout, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 2, "{}: {stderr}", out.display());
        assert!(stderr.contains("--out") && stderr.contains("not a folder"), "{}: {stderr}", out.display());
        assert!(stdout.is_empty());
    }
    // predict's folder (the parent of its file) is held to the same rule.
    let model = fit_ok(&dir, &input, &[]).join("model.json");
    let (code, _, stderr) = predict(&model, &input, file.join("p.parquet").to_str().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me", "the file is untouched");
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo() && !std::fs::metadata("/dev/null").unwrap().is_file()
    );
}

#[test]
fn predict_into_a_folder_removes_the_outputs_of_an_earlier_run_it_did_not_write() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let model = fit_ok(&dir, &input, &[]).join("model.json");
    let folder = dir.path().join("scored");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("notes.txt"), b"not ours").unwrap();
    let run = |extra: &[&str]| predict_with(&model, &input, folder.to_str().unwrap(), extra);
    let (code, _, stderr) = run(&["--report", "--export", "csv,lists"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(folder.join("report.html").is_file() && folder.join("assignments.csv").is_file());
    assert!(folder.join("lists").is_dir());
    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, 0, "{stderr}");
    for stale in ["report.html", "assignments.csv", "lists"] {
        assert!(!folder.join(stale).exists(), "{stale} of the earlier run is left");
        assert!(stderr.contains(stale), "the log says {stale} was removed: {stderr}");
    }
    let removed = summary(&stdout)["removed_stale_outputs"].as_array().unwrap().len();
    assert!(removed >= 3, "{stdout}");
    assert!(folder.join("assignments.parquet").is_file());
    assert_eq!(std::fs::read(folder.join("notes.txt")).unwrap(), b"not ours", "files custseg never writes stay");
}

#[test]
fn flags_the_chosen_algorithm_or_backend_would_ignore_are_refused() {
    // Each flag only one algorithm, initialisation or backend reads: given to another, it
    // is exit 2 naming the flag before anything is read or created, never silently dropped.
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 14] = [
        (&["--batch-size", "64"], "--batch-size"),
        (&["--algorithm", "gmm", "--batch-size", "64"], "--batch-size"),
        (&["--covariance", "diag"], "--covariance"),
        (&["--reg-covar", "0.1"], "--reg-covar"),
        (&["--on-degenerate", "reinit"], "--on-degenerate"),
        (&["--algorithm", "minibatch-kmeans", "--reg-covar", "0.1"], "--reg-covar"),
        (&["--algorithm", "gmm", "--init-rounds", "3"], "--init-rounds"),
        (&["--init", "k-means++", "--init-rounds", "3"], "--init-rounds"),
        (&["--init", "random", "--oversampling", "4"], "--oversampling"),
        (&["--init-centroids", "c.csv", "--oversampling", "4"], "--oversampling"),
        (&["--init-space", "prepared"], "--init-space"),
        (&["--backend", "cpu", "--gpu-index", "0"], "--gpu-index"),
        (&["--backend", "cpu", "--gpu-memory", "1GiB"], "--gpu-memory"),
        (&["--algorithm", "ward", "--covariance", "full"], "--covariance"),
    ];
    for (extra, flag) in cases {
        let mut args = vec!["fit", "--input", "/no/such.parquet", "--k", "2", "--out", o];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(flag) && stderr.contains("ignore"), "{extra:?} must name {flag}: {stderr}");
        assert!(stdout.is_empty() && !out.exists(), "{extra:?}: nothing is created");
    }
}

#[test]
fn flags_with_the_algorithm_that_reads_them_are_accepted() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let cases: [&[&str]; 4] = [
        &["--algorithm", "minibatch-kmeans", "--batch-size", "64"],
        &["--algorithm", "gmm", "--covariance", "diag", "--reg-covar", "1e-4", "--on-degenerate", "reinit"],
        &["--init-rounds", "3", "--oversampling", "4"],
        &["--init", "k-means||", "--init-rounds", "2"],
    ];
    for extra in cases {
        let out = dir.path().join("ok");
        let args = fit_args(input.to_str().unwrap(), out.to_str().unwrap(), &[extra, &["--backend", "cpu"]].concat());
        let (code, _, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 0, "{extra:?}: {stderr}");
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn empty_names_in_column_lists_and_a_one_row_silhouette_are_usage_errors() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    for (flag, list) in [("--features", ""), ("--features", "spend,,visits"), ("--categorical", " ")] {
        let args = fit_args(input.to_str().unwrap(), out.to_str().unwrap(), &[flag, list, "--backend", "cpu"]);
        let (code, _, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 2, "{flag} {list:?}: {stderr}");
        assert!(stderr.contains(flag) && stderr.contains("empty column name"), "{stderr}");
        assert!(!out.exists());
    }
    let model = fit_ok(&dir, &input, &[]).join("model.json");
    let args = [
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--silhouette-sample",
        "1",
        "--backend",
        "cpu",
    ];
    let (code, _, stderr) = outcome(&custseg(&args));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--silhouette-sample"), "{stderr}");
}

#[test]
fn predict_never_replaces_what_the_fit_wrote_beside_its_model() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let fitted = fit_ok(&dir, &input, &["--report", "--export", "lists"]);
    let model = fitted.join("model.json");
    let kept: Vec<(String, Vec<u8>)> =
        ["assignments.parquet", "report.html", "profiles.parquet", "lists/segment=0.csv"]
            .iter()
            .map(|name| (name.to_string(), std::fs::read(fitted.join(name)).unwrap()))
            .collect();
    let folder = format!("{}/", fitted.display());
    let named = fitted.join("assignments.parquet");
    let beside = fitted.join("scored.parquet");
    for (out, extra) in [
        (folder.as_str(), &[][..]),
        (named.to_str().unwrap(), &[][..]),
        (beside.to_str().unwrap(), &["--report"][..]),
        (beside.to_str().unwrap(), &["--export", "lists"][..]),
    ] {
        let (code, _, stderr) = predict_with(&model, &input, out, extra);
        assert_eq!(code, 2, "{out} {extra:?}: {stderr}");
        assert!(stderr.contains("--out") && stderr.contains("an output of the fit"), "{stderr}");
    }
    for (name, bytes) in &kept {
        assert_eq!(&std::fs::read(fitted.join(name)).unwrap(), bytes, "{name} of the fit is untouched");
    }
    assert!(!beside.exists(), "a refused run writes nothing");
    // Beside the model under a name the fit did not use, predictions are fine.
    let (code, _, stderr) = predict(&model, &input, beside.to_str().unwrap());
    assert_eq!(code, 0, "{stderr}");
    assert!(beside.is_file());
}
