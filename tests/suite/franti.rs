//! Recovery of known structure on the public benchmark sets in CUSTSEG_DATA_DIR
//! (Fränti's clustering benchmarks; UCI iris), on each backend. Skipped, loudly, without
//! the folder.

use std::path::Path;

use custseg::backend::{Backend, Centres};
use custseg::cluster::kmeans::{fit, KMeansParams};
use custseg::data::Dataset;
use custseg::eval::adjusted_rand_index;

use crate::common::{data_dir, read_table};

use super::{cli_name, labels as predicted};

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

fn recover(
    backend: &dyn Backend,
    set: &str,
    points: &str,
    truth_labels: &str,
    truth_centres: Option<&str>,
    k: usize,
    min_ari: f64,
) {
    let Some(dir) = data_dir(&format!("{}::{set}", cli_name(backend))) else { return };
    let franti = dir.join("franti");
    let data = load(&franti.join(points));
    let params = KMeansParams { k, n_init: 10, seed: 0, ..KMeansParams::new(k) };
    let result = fit(backend, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    let ari = adjusted_rand_index(&predicted(backend, &data, &result.centres), &labels(&franti.join(truth_labels)));
    eprintln!("{set}: ARI {ari:.4}, inertia {:.6e}", result.inertia);
    assert!(ari >= min_ari, "{set}: ARI {ari} below {min_ari}");
    if let Some(gt) = truth_centres {
        let ci = centroid_index(&result.centres, &read_table(&franti.join(gt)));
        assert_eq!(ci, 0, "{set}: centroid index {ci}");
    }
}

pub fn franti_s1_clusters_are_recovered(backend: &dyn Backend) {
    recover(backend, "s1", "s1.txt", "s1-label.pa", Some("s1-cb.txt"), 15, 0.98);
}

pub fn franti_a1_clusters_are_recovered(backend: &dyn Backend) {
    recover(backend, "a1", "a1.txt", "a1-ga.pa", Some("a1-ga-cb.txt"), 20, 0.95);
}

pub fn franti_dim032_clusters_are_recovered(backend: &dyn Backend) {
    recover(backend, "dim032", "dim032.txt", "dim032-labels.txt", Some("dim032-cb.txt"), 16, 0.99);
}

pub fn iris_matches_scikit_learn(backend: &dyn Backend) {
    // KMeans(n_clusters=3, n_init=10).fit(iris.data): ARI vs the species 0.7302 and
    // inertia 78.8514 (scikit-learn 1.9.1; the well-known optimum for unscaled iris).
    let Some(dir) = data_dir(&format!("{}::iris", cli_name(backend))) else { return };
    let (data, species) = load_iris(&dir);
    let result =
        fit(backend, &data, &KMeansParams { k: 3, n_init: 10, ..KMeansParams::new(3) }.check().unwrap(), &mut |_| {})
            .unwrap();
    let ari = adjusted_rand_index(&predicted(backend, &data, &result.centres), &species);
    assert!((ari - 0.7302382722834697).abs() < 1e-6, "ARI {ari}");
    assert!((result.inertia - 78.85144142614601).abs() < 1e-3, "inertia {}", result.inertia);
}

pub fn gaussian_mixture_recovers_s1_and_g2(backend: &dyn Backend) {
    use custseg::cluster::gmm::{fit as fit_gmm, CovarianceType, GmmParams};
    let Some(dir) = data_dir(&format!("{}::gmm s1/g2", cli_name(backend))) else { return };
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
        let result = fit_gmm(backend, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
        let pass = result.mixture.to_pass().unwrap();
        let mut labels = Vec::new();
        backend
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

pub fn metrics_match_scikit_learn_on_iris_species(backend: &dyn Backend) {
    // sklearn.metrics on iris (float32 values) with the species as labels, scikit-learn 1.9.1:
    // calinski_harabasz_score 487.3308947254379, davies_bouldin_score 0.7513706986231686,
    // silhouette_score 0.5034774462988036, per-species mean silhouette_samples
    // 0.7893812424236845, 0.4090846304372622, 0.3119664660354646.
    let Some(dir) = data_dir(&format!("{}::iris metrics", cli_name(backend))) else { return };
    let (data, species) = load_iris(&dir);
    let labels: Vec<Vec<u32>> = species.chunks(64).map(|c| c.to_vec()).collect();
    let s = custseg::eval::metrics::score(backend, &data, &labels, 3, 50_000, 0).unwrap();
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
    let sampled = custseg::eval::metrics::score(backend, &data, &labels, 3, 100, 7).unwrap().silhouette;
    assert!(!sampled.exact && sampled.rows == 100);
    let se = sampled.standard_error.unwrap();
    assert!((sampled.mean - 0.5034774462988036).abs() <= 4.0 * se, "{} ± {se}", sampled.mean);
}
