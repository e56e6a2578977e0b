//! select-k's evidence: mixture components collapsed onto single values of small integer
//! features are found, named and make the evidence weak; the table and report say so.

use crate::common::{arr, custseg, outcome, write_parquet};

/// 3000 customers: purchase counts 1, 2, 3 … (Poisson), orders likewise, and a log-normal
/// spend; the integer columns let mixture components collapse onto single values.
fn small_integer_table(path: &std::path::Path) {
    let mut rng = custseg::rng::Rng::new(3);
    let mut poisson = |mean: f64| {
        let (limit, mut p, mut count) = ((-mean).exp(), 1.0, 0.0);
        loop {
            p *= rng.uniform();
            if p <= limit {
                return 1.0 + count;
            }
            count += 1.0;
        }
    };
    let frequency: Vec<f64> = (0..3000).map(|_| poisson(0.6)).collect();
    let orders: Vec<f64> = (0..3000).map(|_| poisson(1.0)).collect();
    let mut rng = custseg::rng::Rng::new(4);
    let spend: Vec<f64> = (0..3000).map(|_| (3.0 + rng.normal()).exp()).collect();
    let column = |v: Vec<f64>| arr(arrow::array::Float64Array::from(v));
    write_parquet(path, vec![("frequency", column(frequency)), ("orders", column(orders)), ("spend", column(spend))]);
}

#[test]
fn gmm_select_k_flags_components_collapsed_onto_integer_values() {
    let dir = tempfile::TempDir::new().unwrap();
    let input = dir.path().join("customers.parquet");
    small_integer_table(&input);
    let out = dir.path().join("out");
    let args = [
        "select-k",
        "--input",
        input.to_str().unwrap(),
        "--k",
        "2..6",
        "--algorithm",
        "gmm",
        "--covariance",
        "diag",
        "--replicates",
        "1",
        "--report",
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = outcome(&custseg(&args));
    assert_eq!(code, 0, "{stderr}");
    let s: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let k = s["recommended_k"].as_u64().unwrap();
    let row = s["table"].as_array().unwrap().iter().find(|r| r["k"] == k).unwrap();
    assert!(row["components_at_floor"].as_u64().unwrap() > 0, "the winning BIC comes from collapsed components: {s}");
    assert_eq!(s["evidence_weak"], true, "{s}");
    let reasons = s["weak_evidence_reasons"].to_string();
    assert!(reasons.contains("--reg-covar floor"), "{reasons}");
    let listed = s["components_at_floor"].as_array().unwrap().iter().find(|e| e["k"] == k).unwrap();
    let features = listed["components"].to_string();
    assert!(features.contains("frequency") || features.contains("orders"), "{features}");
    assert!(!features.contains("spend"), "a continuous feature does not collapse: {features}");
    // Every row counts its collapsed components; only the integer columns collapse.
    assert!(s["table"].as_array().unwrap().iter().all(|r| r["components_at_floor"].as_u64().is_some()), "{s}");
    assert!(!s["components_at_floor"].to_string().contains("spend"), "{s}");
    let csv = std::fs::read_to_string(out.join("select_k.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",silhouette_spread,components_at_floor"), "{csv}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("--reg-covar floor"), "the report says so");
}

#[test]
fn select_k_refuses_zero_replicates() {
    let dir = tempfile::TempDir::new().unwrap();
    let input = dir.path().join("customers.parquet");
    small_integer_table(&input);
    let out = dir.path().join("out");
    let args = [
        "select-k",
        "--input",
        input.to_str().unwrap(),
        "--k",
        "2..3",
        "--replicates",
        "0",
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, _, stderr) = outcome(&custseg(&args));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--replicates"), "{stderr}");
    assert!(!out.exists(), "nothing written");
}
