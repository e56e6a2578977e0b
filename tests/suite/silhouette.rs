//! The silhouette against scikit-learn and a direct O(n²) reference on data built to
//! hurt a norm-expansion kernel: features offset by 1000 (cancellation), small integer
//! features and exact duplicates (zero distances), four overlapping labels.

use std::path::PathBuf;

use custseg::backend::Backend;
use custseg::data::Dataset;
use custseg::eval::metrics;

use super::cli_name;

/// `tests/fixtures/silhouette/points.csv`: 1500 rows × 5 float32 features and a label.
fn fixture() -> (Vec<f32>, Vec<u32>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/silhouette");
    let text = std::fs::read_to_string(dir.join("points.csv")).unwrap();
    let (mut values, mut labels) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        values.extend(fields[..5].iter().map(|v| v.parse::<f32>().unwrap()));
        labels.push(fields[5].parse::<u32>().unwrap());
    }
    (values, labels)
}

/// The silhouette of every row from the distances in f64 (scikit-learn's definition:
/// 0 for a row alone in its label).
fn direct_silhouette(values: &[f32], labels: &[u32], k: usize) -> Vec<f64> {
    let d = values.len() / labels.len();
    let sizes: Vec<usize> = (0..k).map(|c| labels.iter().filter(|&&l| l as usize == c).count()).collect();
    (0..labels.len())
        .map(|i| {
            let mut sums = vec![0.0f64; k];
            for j in 0..labels.len() {
                let d2: f64 = (0..d).map(|f| (values[i * d + f] as f64 - values[j * d + f] as f64).powi(2)).sum();
                sums[labels[j] as usize] += d2.sqrt();
            }
            let own = labels[i] as usize;
            if sizes[own] <= 1 {
                return 0.0;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            (b - a) / a.max(b)
        })
        .collect()
}

pub fn silhouette_matches_scikit_learn_and_a_direct_reference(backend: &dyn Backend) {
    // sklearn.metrics.silhouette_score and the per-label means of silhouette_samples on the
    // fixture's float32 values in float64, scikit-learn 1.9.1 (tests/fixtures/silhouette/expected.json).
    const SKLEARN: f64 = 0.1553837959680853;
    const SKLEARN_PER_LABEL: [f64; 4] =
        [0.28281838886186106, 0.18429420647534817, 0.08629542926314548, 0.08573098775524861];
    let (values, labels) = fixture();
    let data = Dataset::from_rows(&values, 5, None, 256);
    let chunks: Vec<Vec<u32>> = labels.chunks(256).map(|c| c.to_vec()).collect();
    let s = metrics::silhouette(backend, &data, &chunks, 4, 10_000, 0).unwrap();
    // The GPU's pairwise pass sums f32 distances (Kahan); the CPU sums in f64.
    let tolerance = if cli_name(backend) == "gpu" { 1e-5 } else { 1e-6 };
    let close = |got: f64, want: f64, what: &str| {
        assert!((got - want).abs() <= tolerance * want.abs(), "{}: {what} {got} vs {want}", cli_name(backend))
    };
    assert!(s.exact && s.standard_error.is_none() && s.rows == 1500);
    close(s.mean, SKLEARN, "silhouette");
    for (c, (got, want)) in s.per_segment.iter().zip(SKLEARN_PER_LABEL).enumerate() {
        close(got.unwrap(), want, &format!("label {c}'s mean silhouette"));
    }
    let direct = direct_silhouette(&values, &labels, 4);
    close(s.mean, direct.iter().sum::<f64>() / direct.len() as f64, "silhouette against the direct sums");
    // Sampled: an estimate whose standard error covers the exact value.
    let sampled = metrics::silhouette(backend, &data, &chunks, 4, 300, 5).unwrap();
    let se = sampled.standard_error.unwrap();
    assert!(!sampled.exact && sampled.rows == 300 && se > 0.0);
    assert!((sampled.mean - SKLEARN).abs() <= 4.0 * se, "{} ± {se}", sampled.mean);
}
