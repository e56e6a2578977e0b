//! The CPU Lloyd pass with Hamerly bounds against the plain pass: the same labels, sums,
//! counts, inertia and changed labels pass after pass, and the same fits (centres, inertia,
//! iterations) bit for bit, on generated data with ties and duplicates, weighted rows,
//! rows streamed from the on-disk cache and Fränti's sets (CUSTSEG_DATA_DIR, loud skip).

use custseg::backend::cpu::{Bounds, CpuBackendWith};
use custseg::backend::{Backend, Centres, LloydStats};
use custseg::cluster::kmeans::{fit, random_rows, weighted_means, KMeansFit, KMeansParams};
use custseg::data::Dataset;
use custseg::rng::Rng;
use custseg::synth::blobs;

use crate::common::{data_dir, read_table};

const PLAIN: CpuBackendWith = CpuBackendWith { bounds: Bounds::Never };
const BOUNDED: CpuBackendWith = CpuBackendWith { bounds: Bounds::Always };

/// Runs `passes` Lloyd passes from `start` with and without bounds, moving both to the
/// plain pass's weighted means; asserts every pass agrees bit for bit and returns the rows
/// the bounds kept.
fn passes_agree(data: &Dataset, start: Centres, passes: usize, case: &str) -> u64 {
    let (mut plain_state, mut bounded_state) = (PLAIN.new_state(data).unwrap(), BOUNDED.new_state(data).unwrap());
    let mut centres = start;
    let mut skipped = 0;
    for pass in 0..passes {
        let p = PLAIN.lloyd_pass(data, &centres, &mut plain_state).unwrap();
        let b = BOUNDED.lloyd_pass(data, &centres, &mut bounded_state).unwrap();
        assert_eq!(p.skipped, 0, "{case}: the plain pass scores every row");
        assert_same_stats(&p, &b, &format!("{case}, pass {pass}"));
        let (pl, bl) = (PLAIN.labels(data, &plain_state).unwrap(), BOUNDED.labels(data, &bounded_state).unwrap());
        assert!(pl == bl, "{case}, pass {pass}: labels differ");
        skipped += b.skipped;
        centres = weighted_means(&p, &centres);
    }
    skipped
}

fn assert_same_stats(p: &LloydStats, b: &LloydStats, case: &str) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&p.sums), bits(&b.sums), "{case}: sums");
    assert_eq!(bits(&p.weights), bits(&b.weights), "{case}: weights");
    assert_eq!(p.counts, b.counts, "{case}: counts");
    assert_eq!(p.inertia.to_bits(), b.inertia.to_bits(), "{case}: inertia {} vs {}", p.inertia, b.inertia);
    assert_eq!(p.changed, b.changed, "{case}: changed");
}

/// Whole fits with and without bounds: same centres, inertia, iterations, sizes, bit for bit.
fn fits_agree(data: &Dataset, params: &KMeansParams, case: &str) -> KMeansFit {
    let params = params.check().unwrap();
    let p = fit(&PLAIN, data, &params, &mut |_| {}).unwrap();
    let b = fit(&BOUNDED, data, &params, &mut |_| {}).unwrap();
    let bits = |c: &Centres| c.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&p.centres), bits(&b.centres), "{case}: centres");
    assert_eq!(p.inertia.to_bits(), b.inertia.to_bits(), "{case}: inertia");
    assert_eq!((p.iterations, p.converged, p.best_run), (b.iterations, b.converged, b.best_run), "{case}");
    assert_eq!((&p.sizes, p.reseeded), (&b.sizes, b.reseeded), "{case}: sizes");
    p
}

/// Rows on a small integer grid (many exact ties between centres on the same grid),
/// duplicated blob rows and a few far outliers.
fn awkward_rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut values = blobs(n, d, 6, seed);
    for i in 0..n {
        match i % 5 {
            0 => (0..d).for_each(|j| values[i * d + j] = rng.below(3) as f32),
            1 if i > d => values.copy_within((i - 1) * d..i * d, i * d),
            _ => {}
        }
    }
    values[..d].iter_mut().for_each(|v| *v = 1e4);
    values
}

#[test]
fn bounded_passes_match_the_plain_pass_on_ties_duplicates_and_awkward_shapes() {
    for &(n, d, k, chunk) in &[(3000, 2, 9, 1024), (2500, 7, 33, 300), (4000, 32, 64, 4000), (700, 3, 1, 128)] {
        let data = Dataset::from_rows(&awkward_rows(n, d, 3), d, None, chunk);
        let case = format!("n={n} d={d} k={k}");
        // Grid centres tie exactly for grid rows; random rows as centres include duplicates.
        let grid = Centres::new(k, d, (0..k * d).map(|i| ((i * 7) % 3) as f32).collect());
        passes_agree(&data, grid, 6, &format!("{case}, grid centres"));
        let skipped = passes_agree(&data, random_rows(&data, k, &mut Rng::new(5)), 12, &case);
        assert!(skipped > 0, "{case}: the bounds kept no row");
        fits_agree(&data, &KMeansParams { k, seed: 2, n_init: 2, ..KMeansParams::new(k) }, &case);
    }
}

#[test]
fn the_bounds_skip_most_rows_once_the_centres_settle() {
    let (n, d, k) = (20_000, 8, 16);
    let data = Dataset::from_rows(&blobs(n, d, k, 9), d, None, 4096);
    let skipped = passes_agree(&data, random_rows(&data, k, &mut Rng::new(1)), 15, "blobs");
    // 14 passes after the first could skip; well-separated blobs settle within a few.
    assert!(skipped as f64 > 0.5 * (14 * n) as f64, "kept only {skipped} of {} row assignments", 14 * n);
}

#[test]
fn weighted_rows_give_the_same_bits_with_bounds() {
    let (n, d, k) = (5000, 4, 12);
    let mut rng = Rng::new(4);
    let weights: Vec<f32> = (0..n).map(|i| if i % 11 == 0 { 0.0 } else { 0.25 + rng.below(8) as f32 }).collect();
    let data = Dataset::from_rows(&awkward_rows(n, d, 8), d, Some(&weights), 777);
    let skipped = passes_agree(&data, random_rows(&data, k, &mut Rng::new(3)), 10, "weighted");
    assert!(skipped > 0);
    fits_agree(&data, &KMeansParams { k, seed: 5, ..KMeansParams::new(k) }, "weighted");
}

#[test]
fn rows_streamed_from_the_disk_cache_give_the_same_bits_with_bounds() {
    use custseg::io::reader::ReadSpec;
    use custseg::prep::spill::prepare_to_cache;
    use custseg::prep::{Impute, PrepParams, ScaleKind};
    let dir = tempfile::tempdir().unwrap();
    let spec = ReadSpec {
        inputs: vec![crate::streaming::customers(dir.path())],
        id: Some("customer_id".into()),
        features: Some(vec!["spend".into(), "visits".into()]),
        categorical: vec!["region".into()],
        weights: Some("weight".into()),
        batch_rows: 500,
    };
    let params =
        PrepParams { impute: Impute::Median, scale: ScaleKind::Zscore, log1p: vec![], clip: None, dedup: false };
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let spilled = prepare_to_cache(&spec, &params, (3000, 3000), 1, &cache, None, &mut |_| {}).unwrap();
    let data = &spilled.prepared.data;
    assert!(data.is_on_disk() && data.chunks().len() > 1, "streamed in several chunks");
    let k = 8;
    let skipped = passes_agree(data, random_rows(data, k, &mut Rng::new(2)), 10, "streamed");
    assert!(skipped > 0);
    let streamed = fits_agree(data, &KMeansParams { k, seed: 1, ..KMeansParams::new(k) }, "streamed");
    // The same rows in memory fit to the same bits.
    let mut values = Vec::new();
    let mut weights = Vec::new();
    for chunk in data.stream() {
        values.extend_from_slice(&chunk.values);
        weights.extend((0..chunk.rows(data.dim())).map(|i| chunk.weight(i)));
    }
    let memory = Dataset::from_rows(&values, data.dim(), Some(&weights), 500);
    let in_memory = fits_agree(&memory, &KMeansParams { k, seed: 1, ..KMeansParams::new(k) }, "in memory");
    assert_eq!(streamed.inertia.to_bits(), in_memory.inertia.to_bits());
}

#[test]
fn franti_sets_give_the_same_fits_with_bounds() {
    let Some(dir) = data_dir("lloyd_bounds::franti_sets_give_the_same_fits_with_bounds") else { return };
    for (file, k) in [("s1.txt", 15), ("s4.txt", 15), ("a3.txt", 50), ("dim032.txt", 16), ("birch1.txt", 100)] {
        let rows = read_table(&dir.join("franti").join(file));
        let d = rows[0].len();
        let values: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        let data = Dataset::from_rows(&values, d, None, 8192);
        let skipped = passes_agree(&data, random_rows(&data, k, &mut Rng::new(7)), 8, file);
        let fitted = fits_agree(&data, &KMeansParams { k, seed: 0, ..KMeansParams::new(k) }, file);
        eprintln!(
            "{file}: {} iterations, bounds kept {skipped} of {} row assignments",
            fitted.iterations,
            7 * data.rows()
        );
        assert!(skipped > 0, "{file}: the bounds kept no row");
    }
}
