//! Recovery of known structure on the public benchmark sets in CUSTSEG_DATA_DIR
//! (Fränti's clustering benchmarks; UCI iris). Skipped, loudly, without the folder.

use std::path::Path;

use custseg::backend::cpu::CpuBackend;
use custseg::backend::{Backend, Centres};
use custseg::cluster::kmeans::{fit, KMeansParams};
use custseg::data::Dataset;
use custseg::eval::adjusted_rand_index;

use crate::common::{data_dir, read_table};

fn load(points: &Path) -> Dataset {
    let rows = read_table(points);
    let d = rows[0].len();
    let values: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Dataset::from_rows(&values, d, None, 1024)
}

/// UCI iris from scikit-learn's CSV (150 × 4, float32) and the species (0, 1, 2).
fn load_iris(dir: &Path) -> (Dataset, Vec<u32>) {
    let text = std::fs::read_to_string(dir.join("uci/sklearn/iris.csv")).unwrap();
    let mut values = Vec::new();
    let mut species = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<f64> = line.split(',').map(|t| t.trim().parse().unwrap()).collect();
        values.extend(fields[..4].iter().map(|&v| v as f32));
        species.push(fields[4] as u32);
    }
    (Dataset::from_rows(&values, 4, None, 64), species)
}

fn labels(path: &Path) -> Vec<u32> {
    read_table(path).into_iter().map(|r| r[0] as u32).collect()
}

fn predicted(data: &Dataset, centres: &Centres) -> Vec<u32> {
    let mut out = Vec::new();
    CpuBackend
        .assign(data, centres, &mut |_, l, _| {
            out.extend_from_slice(l);
            Ok(())
        })
        .unwrap();
    out
}

/// Fränti's centroid index: how many true centres have no fitted centre nearest to them
/// (the larger of both directions). 0 means every cluster was found.
fn centroid_index(found: &Centres, truth: &[Vec<f64>]) -> usize {
    let orphans = |a: &[Vec<f64>], b: &[Vec<f64>]| {
        let mut hit = vec![false; b.len()];
        for x in a {
            let nearest = (0..b.len())
                .min_by(|&i, &j| {
                    let d = |k: usize| x.iter().zip(&b[k]).map(|(p, q)| (p - q).powi(2)).sum::<f64>();
                    d(i).total_cmp(&d(j))
                })
                .unwrap();
            hit[nearest] = true;
        }
        hit.iter().filter(|h| !**h).count()
    };
    let found: Vec<Vec<f64>> = (0..found.k).map(|c| found.centre(c).iter().map(|&v| v as f64).collect()).collect();
    orphans(&found, truth).max(orphans(truth, &found))
}

fn recover(set: &str, points: &str, truth_labels: &str, truth_centres: Option<&str>, k: usize, min_ari: f64) {
    let Some(dir) = data_dir(set) else { return };
    let franti = dir.join("franti");
    let data = load(&franti.join(points));
    let params = KMeansParams { k, n_init: 10, seed: 0, ..KMeansParams::new(k) };
    let result = fit(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
    let ari = adjusted_rand_index(&predicted(&data, &result.centres), &labels(&franti.join(truth_labels)));
    eprintln!("{set}: ARI {ari:.4}, inertia {:.6e}", result.inertia);
    assert!(ari >= min_ari, "{set}: ARI {ari} below {min_ari}");
    if let Some(gt) = truth_centres {
        let ci = centroid_index(&result.centres, &read_table(&franti.join(gt)));
        assert_eq!(ci, 0, "{set}: centroid index {ci}");
    }
}

#[test]
fn s1_clusters_are_recovered() {
    recover("s1", "s1.txt", "s1-label.pa", Some("s1-cb.txt"), 15, 0.98);
}

#[test]
fn a1_clusters_are_recovered() {
    recover("a1", "a1.txt", "a1-ga.pa", Some("a1-ga-cb.txt"), 20, 0.95);
}

#[test]
fn dim032_clusters_are_recovered() {
    recover("dim032", "dim032.txt", "dim032-labels.txt", Some("dim032-cb.txt"), 16, 0.99);
}

#[test]
fn iris_matches_scikit_learn() {
    // KMeans(n_clusters=3, n_init=10).fit(iris.data): ARI vs the species 0.7302 and
    // inertia 78.8514 (scikit-learn 1.9.1; the well-known optimum for unscaled iris).
    let Some(dir) = data_dir("iris") else { return };
    let (data, species) = load_iris(&dir);
    let result =
        fit(&CpuBackend, &data, &KMeansParams { k: 3, n_init: 10, ..KMeansParams::new(3) }, &mut |_| {}).unwrap();
    let ari = adjusted_rand_index(&predicted(&data, &result.centres), &species);
    assert!((ari - 0.7302382722834697).abs() < 1e-6, "ARI {ari}");
    assert!((result.inertia - 78.85144142614601).abs() < 1e-3, "inertia {}", result.inertia);
}

#[test]
fn gaussian_mixture_recovers_s1_and_g2() {
    use custseg::cluster::gmm::{fit as fit_gmm, CovarianceType, GmmParams};
    let Some(dir) = data_dir("gmm s1/g2") else { return };
    let franti = dir.join("franti");
    for (points, truth, k, min_ari) in
        [("s1.txt", "s1-label.pa", 15, 0.98), ("g2-2-30.txt", "g2-2-30-labels.txt", 2, 0.9613)]
    {
        // (g2-2-30's two Gaussians overlap: GaussianMixture(2, n_init=3) on the standardised
        // points scores ARI 0.9613000646915593 against its labels, scikit-learn 1.9.1.)
        // Unscaled coordinates in the hundreds of thousands: standardise as `fit` would.
        let raw = load(&franti.join(points));
        let d = raw.dim();
        let mut values = Vec::new();
        for c in raw.chunks() {
            values.extend_from_slice(&c.values);
        }
        let n = values.len() / d;
        for j in 0..d {
            let mean = (0..n).map(|i| values[i * d + j] as f64).sum::<f64>() / n as f64;
            let sd = ((0..n).map(|i| (values[i * d + j] as f64 - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            (0..n).for_each(|i| values[i * d + j] = ((values[i * d + j] as f64 - mean) / sd) as f32);
        }
        let data = Dataset::from_rows(&values, d, None, 1024);
        let params = GmmParams { n_init: 3, seed: 0, ..GmmParams::new(k, CovarianceType::Full) };
        let result = fit_gmm(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
        let pass = result.mixture.to_pass().unwrap();
        let mut labels = Vec::new();
        CpuBackend
            .mixture_assign(&data, &pass, &mut |_, l, _| {
                labels.extend_from_slice(l);
                Ok(())
            })
            .unwrap();
        let ari = adjusted_rand_index(&labels, &self::labels(&franti.join(truth)));
        eprintln!("{points}: GMM ARI {ari:.4}, BIC {:.6e}", result.bic);
        assert!(ari >= min_ari, "{points}: ARI {ari} below {min_ari}");
    }
}

#[test]
fn metrics_match_scikit_learn_on_iris_species() {
    // sklearn.metrics on iris (float32 values) with the species as labels, scikit-learn 1.9.1:
    // calinski_harabasz_score 487.3308947254379, davies_bouldin_score 0.7513706986231686,
    // silhouette_score 0.5034774462988036, per-species mean silhouette_samples
    // 0.7893812424236845, 0.4090846304372622, 0.3119664660354646.
    let Some(dir) = data_dir("iris metrics") else { return };
    let (data, species) = load_iris(&dir);
    let labels: Vec<Vec<u32>> = species.chunks(64).map(|c| c.to_vec()).collect();
    let s = custseg::eval::metrics::score(&CpuBackend, &data, &labels, 3, 50_000, 0).unwrap();
    let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 1e-9 * b.abs(), "{what}: {a} vs {b}");
    close(s.calinski_harabasz, 487.3308947254379, "Calinski-Harabasz");
    close(s.davies_bouldin, 0.7513706986231686, "Davies-Bouldin");
    assert!(s.silhouette.exact && s.silhouette.standard_error.is_none());
    assert!((s.silhouette.mean - 0.5034774462988036).abs() < 1e-6, "silhouette {}", s.silhouette.mean);
    for (got, want) in s.silhouette.per_segment.iter().zip([0.7893812424236845, 0.4090846304372622, 0.3119664660354646])
    {
        assert!((got.unwrap() - want).abs() < 1e-6, "per-species silhouette {got:?} vs {want}");
    }
    // A sample gives an estimate with a standard error that covers the exact value.
    let sampled = custseg::eval::metrics::score(&CpuBackend, &data, &labels, 3, 100, 7).unwrap().silhouette;
    assert!(!sampled.exact && sampled.rows == 100);
    let se = sampled.standard_error.unwrap();
    assert!((sampled.mean - 0.5034774462988036).abs() <= 4.0 * se, "{} ± {se}", sampled.mean);
}

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
