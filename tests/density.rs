//! HDBSCAN and DBSCAN against scikit-learn 1.9.1 and scipy 1.17.1 (references computed once
//! by tests/fixtures/density/make_fixtures.py and stored beside it): on generated blobs with
//! uniform noise (data stored in the fixture) and on Fränti's shape sets in CUSTSEG_DATA_DIR
//! (skipped, loudly, without it). DBSCAN: core rows and noise rows identical, labels equal up
//! to renumbering. HDBSCAN (eom and leaf), built with Prim as below 20,000 rows: labels equal
//! scikit-learn's HDBSCAN up to renumbering (numpy's portable sort orders its tied merges;
//! numpy's SIMD sorts order them otherwise, and that ARI is logged); built with Borůvka (which breaks tied weights by row order): labels equal
//! scikit-learn's tree code run on that MST. MST: the sorted weights
//! of both equal scipy's minimum_spanning_tree on the dense mutual-reachability matrix.

use std::collections::HashMap;
use std::path::Path;

use custseg::cluster::density::{self, ClusterSelection, DbscanParams, HdbscanParams, MstAlgorithm, NOISE};
use custseg::eval::adjusted_rand_index;
use serde_json::Value;

use crate::common::{data_dir, read_table};

/// The Fränti shape sets the fixture covers.
const SHAPE_SETS: [&str; 8] = ["aggregation", "compound", "flame", "jain", "pathbased", "spiral", "r15", "d31"];

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/density").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

/// Our labels with noise as −1, as scikit-learn writes them.
fn signed(labels: &[u32]) -> Vec<i64> {
    labels.iter().map(|&l| if l == NOISE { -1 } else { l as i64 }).collect()
}

/// Whether two labellings are the same partition with the same noise rows.
fn same_up_to_renumbering(ours: &[i64], theirs: &[i64]) -> bool {
    let (mut forward, mut backward) = (HashMap::new(), HashMap::new());
    ours.len() == theirs.len()
        && ours.iter().zip(theirs).all(|(&a, &b)| {
            (a == -1) == (b == -1) && *forward.entry(a).or_insert(b) == b && *backward.entry(b).or_insert(a) == a
        })
}

fn ari(ours: &[i64], theirs: &[i64]) -> f64 {
    let shift = |l: &[i64]| l.iter().map(|&x| (x + 1) as u32).collect::<Vec<_>>();
    adjusted_rand_index(&shift(ours), &shift(theirs))
}

/// Checks every reference of one data set (`reference`: the fixture's entry).
fn check_against_references(name: &str, rows: &[f32], dim: usize, reference: &Value) {
    let db = &reference["dbscan"];
    let (eps, min_samples) = (db["eps"].as_f64().unwrap(), db["min_samples"].as_u64().unwrap() as usize);
    let fit = density::fit_rows(rows, dim, &DbscanParams { eps, min_samples }.check().unwrap()).unwrap();
    let core: Vec<i64> =
        (0..fit.core_distances.len()).filter(|&i| fit.core_distances[i] <= eps).map(|i| i as i64).collect();
    assert_eq!(core, ints(&db["core"]), "{name}: DBSCAN core rows");
    let (ours, theirs) = (signed(&fit.labels), ints(&db["labels"]));
    assert!(same_up_to_renumbering(&ours, &theirs), "{name}: DBSCAN labels differ (ARI {})", ari(&ours, &theirs));

    for h in reference["hdbscan"].as_array().unwrap() {
        let selection = if h["selection"] == "leaf" { ClusterSelection::Leaf } else { ClusterSelection::Eom };
        let params = HdbscanParams {
            min_cluster_size: h["min_cluster_size"].as_u64().unwrap() as usize,
            min_samples: Some(h["min_samples"].as_u64().unwrap() as usize),
            selection,
        }
        .check()
        .unwrap();
        // Up to 20,000 rows: scikit-learn's Prim tree, its edges sorted as numpy's portable
        // argsort sorts them: scikit-learn's HDBSCAN labels exactly (ARI 1).
        let fit = density::fit_rows(rows, dim, &params).unwrap();
        assert_eq!(fit.mst_algorithm, MstAlgorithm::Prim);
        let (ours, theirs) = (signed(&fit.labels), ints(&h["labels"]));
        assert!(
            same_up_to_renumbering(&ours, &theirs),
            "{name}: HDBSCAN {} differs from scikit-learn's (numpy's portable sort): ARI {}",
            selection.name(),
            ari(&ours, &theirs)
        );
        // With numpy's AVX-512 sort scikit-learn orders tied merges otherwise, and its labels
        // differ from its own portable ones by as much (ARI 0.65 to 1; see make_fixtures.py).
        let simd = ari(&ours, &ints(&h["labels_simd"]));
        eprintln!("{name} HDBSCAN {}: against scikit-learn with numpy's SIMD sort: ARI {simd:.4}", selection.name());
        let scores = fit.outlier_scores.unwrap();
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{name}: GLOSH outside [0, 1]");
        // Borůvka (past 20,000 rows) breaks ties by row order: scikit-learn's tree code on
        // that MST gives exactly its labels.
        let fit = density::fit_rows_with(rows, dim, &params, MstAlgorithm::Boruvka).unwrap();
        let (ours, same_ties) = (signed(&fit.labels), ints(&h["labels_edge_order"]));
        assert!(
            same_up_to_renumbering(&ours, &same_ties),
            "{name}: Borůvka HDBSCAN {} differs from scikit-learn's tree code on the same MST (ARI {})",
            selection.name(),
            ari(&ours, &same_ties)
        );
        eprintln!("{name} HDBSCAN {}: Borůvka against scikit-learn: ARI {:.4}", selection.name(), ari(&ours, &theirs));
    }

    let mst = &reference["mst"];
    let s = mst["min_samples"].as_u64().unwrap() as usize;
    let fit =
        density::fit_rows(rows, dim, &HdbscanParams { min_samples: Some(s), ..HdbscanParams::new(2) }.check().unwrap())
            .unwrap();
    let ours: Vec<f64> = fit.mst.iter().map(|e| e.weight).collect();
    let theirs: Vec<f64> = mst["weights"].as_array().unwrap().iter().map(|w| w.as_f64().unwrap()).collect();
    assert_eq!(ours.len(), theirs.len(), "{name}: MST edges");
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{name}: MST weight {i}: {a} vs scipy {b}");
    }
}

#[test]
fn density_matches_scikit_learn_on_generated_blobs_with_noise() {
    let blobs = fixture("blobs.json");
    let dim = blobs["dim"].as_u64().unwrap() as usize;
    let rows: Vec<f32> = blobs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_str().unwrap().parse::<f64>().unwrap() as f32))
        .collect();
    check_against_references("blobs", &rows, dim, &blobs);
}

#[test]
fn density_matches_scikit_learn_on_franti_shape_sets() {
    let Some(dir) = data_dir("density on Fränti shape sets") else { return };
    let references = fixture("franti_shapes.json");
    for name in SHAPE_SETS {
        let table = read_table(&dir.join("franti_shapes").join(format!("{name}.data.gz")));
        let dim = table[0].len();
        let rows: Vec<f32> = table.iter().flatten().map(|&v| v as f32).collect();
        check_against_references(name, &rows, dim, &references[name]);
    }
}
