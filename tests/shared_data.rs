//! select-k on the public benchmark sets in CUSTSEG_DATA_DIR (Fränti's clustering
//! benchmarks), through the binary. Skipped, loudly, without the folder. The recoveries by
//! the algorithms themselves run on every backend in `suite/franti.rs`.

use std::path::Path;

use crate::common::{data_dir, read_table};

/// Runs select-k on a Fränti set (two columns) and returns its JSON summary and table CSV.
fn select_k_on(dir: &Path, file: &str, args: &[&str]) -> (serde_json::Value, String) {
    let tmp = tempfile::TempDir::new().unwrap();
    let rows = read_table(&dir.join("franti").join(file));
    let input = tmp.path().join("points.parquet");
    let column =
        |j: usize| crate::common::arr(arrow::array::Float64Array::from(rows.iter().map(|r| r[j]).collect::<Vec<_>>()));
    crate::common::write_parquet(&input, vec![("x", column(0)), ("y", column(1))]);
    let out = tmp.path().join("out");
    let mut all = vec!["select-k", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = crate::common::outcome(&crate::common::custseg(&all));
    assert_eq!(code, 0, "{file}: {stderr}");
    assert!(out.join("select_k.json").exists());
    (serde_json::from_str(stdout.trim()).unwrap(), std::fs::read_to_string(out.join("select_k.csv")).unwrap())
}

#[test]
fn select_k_recovers_fifteen_clusters_on_s1() {
    let Some(dir) = data_dir("select-k s1") else { return };
    let (s, csv) = select_k_on(&dir, "s1.txt", &["--k", "10..20"]);
    assert_eq!(s["recommended_k"], 15, "{s}");
    assert_eq!(s["evidence_weak"], false);
    assert_eq!(csv.lines().count(), 12, "header + 11 ks: {csv}");
}

#[test]
fn select_k_recovers_twenty_clusters_on_a1() {
    let Some(dir) = data_dir("select-k a1") else { return };
    // Twenty touching clusters: with ten starts per k (one start's local optima flip
    // neighbouring ks: it says 21), the silhouette of K-Means and the BIC of full-covariance
    // mixtures both find them; the silhouette's margin over 19 and 21 is within 0.01, so it
    // is honestly flagged weak.
    let (s, _) = select_k_on(&dir, "a1.txt", &["--k", "15..25", "--n-init", "10"]);
    assert_eq!(s["recommended_k"], 20, "{s}");
    let gmm = ["--k", "15..25", "--n-init", "10", "--algorithm", "gmm", "--covariance", "full"];
    let (s, _) = select_k_on(&dir, "a1.txt", &gmm);
    assert_eq!(s["recommended_k"], 20, "{s}");
    assert_eq!(s["evidence_weak"], false, "{s}");
}

#[test]
fn select_k_recovers_eight_clusters_on_unbalance_with_bic() {
    let Some(dir) = data_dir("select-k unbalance") else { return };
    // Three dense clusters of 2000 points and five sparse ones of 100: the silhouette
    // prefers merging sparse neighbours (6, flagged weak); the BIC of full-covariance
    // mixtures (ten starts per k) finds all 8.
    let gmm = ["--k", "4..12", "--n-init", "10", "--algorithm", "gmm", "--covariance", "full"];
    let (s, _) = select_k_on(&dir, "unbalance.txt", &gmm);
    assert_eq!(s["recommended_k"], 8, "{s}");
    assert_eq!(s["evidence_weak"], false, "{s}");
    let (s, _) = select_k_on(&dir, "unbalance.txt", &["--k", "4..12", "--n-init", "10"]);
    assert_eq!(s["evidence_weak"], true, "the silhouette's pick on unbalance must be flagged weak: {s}");
}

#[test]
fn select_k_on_s1_agrees_across_seeds_or_says_the_evidence_is_weak() {
    let Some(dir) = data_dir("select-k s1 seeds") else { return };
    // With one fit per k, seed 0 said 15 and seed 1 said 16, neither flagged weak.
    // select-k's default three replicates per k must agree on the true 15 or call the
    // evidence weak.
    let picks: Vec<(u64, serde_json::Value)> = [0u64, 1]
        .iter()
        .map(|&seed| (seed, select_k_on(&dir, "s1.txt", &["--k", "5..25", "--seed", &seed.to_string()]).0))
        .collect();
    for (seed, s) in &picks {
        assert_eq!(s["replicates"], 3, "{s}");
        assert_eq!(s["recommended_by_replicate"].as_array().unwrap().len(), 3, "{s}");
        let weak = s["evidence_weak"].as_bool().unwrap();
        assert!(weak || s["recommended_k"] == 15, "seed {seed}: a clear recommendation must be 15: {s}");
        assert_eq!(weak, !s["weak_evidence_reasons"].as_array().unwrap().is_empty(), "{s}");
    }
    let weak = picks.iter().any(|(_, s)| s["evidence_weak"] == true);
    assert!(weak || picks[0].1["recommended_k"] == picks[1].1["recommended_k"], "{picks:?}");
    // Ten starts per fit make the replicates agree on 15.
    for seed in ["0", "1"] {
        let (s, _) = select_k_on(&dir, "s1.txt", &["--k", "5..25", "--seed", seed, "--n-init", "10"]);
        assert_eq!((s["recommended_k"].as_u64(), s["evidence_weak"].as_bool()), (Some(15), Some(false)), "{s}");
    }
}
