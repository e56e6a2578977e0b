//! The GPU backend: every shader validates with naga (no GPU needed), and every pass agrees
//! with the CPU backend on the same data. Without an adapter these tests say SKIPPED; with
//! CUSTSEG_REQUIRE_GPU=1 (as in CI, on Mesa's lavapipe) a missing adapter fails them.
//!
//! The algorithm-level suite (`suite/`) is instantiated here too, as `gpu::<case>`: the same
//! cases and published expectations as `cpu::<case>`.

use custseg::backend::cpu::CpuBackend;
use custseg::backend::gpu::shaders::{source, KERNELS};
use custseg::backend::gpu::GpuBackend;
use custseg::backend::{Backend, Centres};
use custseg::cluster::kmeans::{fit, random_rows, Init, KMeansParams};
use custseg::data::Dataset;
use custseg::rng::Rng;
use custseg::synth::blobs;

backend_suite!(crate::suite::open_gpu);

#[test]
fn every_shader_parses_and_validates() {
    assert!(!KERNELS.is_empty(), "the shader list is empty");
    for (name, _) in KERNELS {
        let module = naga::front::wgsl::parse_str(&source(name))
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source(name))));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

/// A GPU backend on any adapter (software ones included), or None with a loud SKIPPED.
fn gpu(test: &str) -> Option<GpuBackend> {
    crate::common::gpu_backend(test)
}

fn labels_and_distances(backend: &dyn Backend, data: &Dataset, centres: &Centres) -> (Vec<u32>, Vec<f32>) {
    let (mut labels, mut dists) = (Vec::new(), Vec::new());
    backend
        .assign(data, centres, &mut |_, l, d| {
            labels.extend_from_slice(l);
            dists.extend_from_slice(d);
            Ok(())
        })
        .unwrap();
    (labels, dists)
}

/// Labels equal except where the two nearest centres are (nearly) tied.
fn assert_same_labels(data: &Dataset, centres: &Centres, cpu: &[u32], gpu: &[u32], case: &str) {
    for (i, (&a, &b)) in cpu.iter().zip(gpu).enumerate() {
        if a != b {
            let x = data.row(i);
            let d = |c: u32| custseg::backend::distance::sq_dist(x, centres.centre(c as usize)) as f64;
            assert!(
                (d(a) - d(b)).abs() <= 1e-5 * (1.0 + d(a)),
                "{case}: row {i}: cpu {a} ({}) gpu {b} ({})",
                d(a),
                d(b)
            );
        }
    }
}

/// One Lloyd pass and the final assignment on both backends; stats must agree.
fn compare_pass(gpu: &GpuBackend, data: &Dataset, centres: &Centres, case: &str) {
    let mut cpu_state = CpuBackend.new_state(data).unwrap();
    let mut gpu_state = gpu.new_state(data).unwrap();
    let c = CpuBackend.lloyd_pass(data, centres, &mut cpu_state).unwrap();
    let g = gpu.lloyd_pass(data, centres, &mut gpu_state).unwrap();
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1e-12);
    assert!(rel(c.inertia, g.inertia) <= 1e-5, "{case}: inertia cpu {} gpu {}", c.inertia, g.inertia);
    assert_eq!(c.counts, g.counts, "{case}: counts");
    assert_eq!(c.changed, g.changed, "{case}: changed");
    for (i, (a, b)) in c.sums.iter().zip(&g.sums).enumerate() {
        assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{case}: sum {i}: cpu {a} gpu {b}");
    }
    for (a, b) in c.weights.iter().zip(&g.weights) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "{case}: weights cpu {a} gpu {b}");
    }
    let again = gpu.lloyd_pass(data, centres, &mut gpu_state).unwrap();
    assert_eq!(again.changed, 0, "{case}: a second pass with the same centres changes nothing");
    let (cl, cd) = labels_and_distances(&CpuBackend, data, centres);
    let (gl, gd) = labels_and_distances(gpu, data, centres);
    assert_same_labels(data, centres, &cl, &gl, case);
    for (i, (a, b)) in cd.iter().zip(&gd).enumerate() {
        if cl[i] == gl[i] {
            assert!((a - b).abs() <= 1e-4 * (1.0 + a), "{case}: distance {i}: cpu {a} gpu {b}");
        }
    }
}

fn case(n: usize, d: usize, k: usize, seed: u64) -> (Dataset, Centres) {
    let data = Dataset::from_rows(&blobs(n, d, k.max(2), seed), d, None, 300);
    let centres = random_rows(&data, k, &mut Rng::new(seed + 1));
    (data, centres)
}

#[test]
fn lloyd_pass_agrees_with_cpu_on_awkward_shapes() {
    let Some(gpu) = gpu("lloyd_pass_agrees_with_cpu_on_awkward_shapes") else { return };
    for &(n, d, k) in &[(1_000, 5, 1), (257, 3, 7), (50, 2, 50), (3_000, 1, 4), (300, 300, 9), (2_000, 4, 1000)] {
        let (data, centres) = case(n, d, k, (n + d + k) as u64);
        compare_pass(&gpu, &data, &centres, &format!("n={n} d={d} k={k}"));
    }
}

#[test]
fn several_device_chunks_and_small_blocks_agree_with_cpu() {
    let Some(gpu) = gpu("several_device_chunks_and_small_blocks_agree_with_cpu") else { return };
    let gpu = gpu.with_chunk_rows(333).with_block_rows(17);
    let (data, centres) = case(2_500, 6, 12, 3);
    compare_pass(&gpu, &data, &centres, "chunked");
}

#[test]
fn streamed_rows_agree_with_cpu() {
    let Some(gpu) = gpu("streamed_rows_agree_with_cpu") else { return };
    let gpu = gpu.with_chunk_rows(400).with_memory_budget(Some(1));
    let (data, centres) = case(1_900, 7, 10, 13);
    compare_pass(&gpu, &data, &centres, "streamed");
    assert!(gpu.is_streaming(), "a 1-byte budget must stream the rows");
    let params = KMeansParams { k: 10, seed: 4, ..KMeansParams::new(10) };
    let c = fit(&CpuBackend, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    let g = fit(&gpu, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    assert!((c.inertia - g.inertia).abs() <= 1e-5 * c.inertia, "inertia cpu {} gpu {}", c.inertia, g.inertia);
}

#[test]
fn weights_and_duplicates_agree_with_cpu() {
    let Some(gpu) = gpu("weights_and_duplicates_agree_with_cpu") else { return };
    let mut rng = Rng::new(8);
    let mut values = blobs(800, 3, 4, 9);
    values.extend_from_within(..300); // duplicate points
    let weights: Vec<f32> = (0..900).map(|_| rng.uniform() as f32 * 3.0).collect();
    let data = Dataset::from_rows(&values, 3, Some(&weights), 128);
    let centres = random_rows(&data, 5, &mut Rng::new(2));
    compare_pass(&gpu, &data, &centres, "weighted");
}

#[test]
fn full_fit_with_empty_clusters_agrees_with_cpu_and_repeats_exactly() {
    let Some(gpu) = gpu("full_fit_with_empty_clusters_agrees_with_cpu_and_repeats_exactly") else { return };
    let (data, _) = case(1_500, 4, 6, 5);
    // Three centres far from every row: they are empty at the first pass and re-seeded.
    let mut start = random_rows(&data, 6, &mut Rng::new(6)).values;
    start[12..].iter_mut().for_each(|v| *v = 1e4);
    let params = KMeansParams { init: Init::Centres(Centres::new(6, 4, start)), ..KMeansParams::new(6) };
    let c = fit(&CpuBackend, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    let g = fit(&gpu, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    let g2 = fit(&gpu, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    assert_eq!(g, g2, "same input, same GPU: same result");
    assert!(c.reseeded >= 3 && g.reseeded >= 3);
    assert!((c.inertia - g.inertia).abs() <= 1e-5 * c.inertia, "inertia cpu {} gpu {}", c.inertia, g.inertia);
    for (a, b) in c.centres.values.iter().zip(&g.centres.values) {
        assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "centres cpu {a} gpu {b}");
    }
}

#[test]
fn kmeans_plus_plus_passes_agree_with_cpu() {
    let Some(gpu) = gpu("kmeans_plus_plus_passes_agree_with_cpu") else { return };
    let (data, centres) = case(1_200, 5, 4, 12);
    let mut cpu_state = CpuBackend.new_state(&data).unwrap();
    let mut gpu_state = gpu.new_state(&data).unwrap();
    CpuBackend.update_min_sq_dist(&data, centres.centre(0), &mut cpu_state).unwrap();
    gpu.update_min_sq_dist(&data, centres.centre(0), &mut gpu_state).unwrap();
    for (a, b) in cpu_state.min_sq().concat().iter().zip(gpu_state.min_sq().concat()) {
        assert!((a - b).abs() <= 1e-4 * (1.0 + a), "min_sq cpu {a} gpu {b}");
    }
    let c = CpuBackend.candidate_potentials(&data, &centres, &cpu_state).unwrap();
    let g = gpu.candidate_potentials(&data, &centres, &gpu_state).unwrap();
    for (a, b) in c.iter().zip(&g) {
        assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "potential cpu {a} gpu {b}");
    }
    let seeded_cpu =
        fit(&CpuBackend, &data, &KMeansParams { k: 4, seed: 3, ..KMeansParams::new(4) }.check().unwrap(), &mut |_| {})
            .unwrap();
    let seeded_gpu =
        fit(&gpu, &data, &KMeansParams { k: 4, seed: 3, ..KMeansParams::new(4) }.check().unwrap(), &mut |_| {})
            .unwrap();
    assert!((seeded_cpu.inertia - seeded_gpu.inertia).abs() <= 1e-4 * seeded_cpu.inertia);
}

#[test]
fn fit_on_the_gpu_from_the_command_line_matches_the_cpu() {
    if gpu("fit_on_the_gpu_from_the_command_line_matches_the_cpu").is_none() {
        return;
    }
    use crate::common::{custseg, outcome};
    let dir = tempfile::TempDir::new().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let data = dir.path().join("customers.parquet");
    custseg::synth::write_customers(&data, 30_000, 42).unwrap();
    let fit = |backend: &str, target: &str| {
        let o = custseg(&[
            "fit",
            "--input",
            data.to_str().unwrap(),
            "--id",
            "customer_id",
            "--categorical",
            "region",
            "--features",
            "recency_days,frequency,monetary,tenure_days,online_share,basket_size",
            "--log1p",
            "monetary,frequency",
            "--k",
            "5",
            "--seed",
            "3",
            // The silhouette's pairwise pass runs on the backend too (3000² pairs on lavapipe).
            "--silhouette-sample",
            "3000",
            "--backend",
            backend,
            "--out",
            target,
        ]);
        let (code, stdout, stderr) = outcome(&o);
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str::<serde_json::Value>(stdout.trim()).unwrap()
    };
    let c = fit("cpu", &out("fit-cpu"));
    let g = fit("gpu", &out("fit-gpu"));
    assert_eq!(g["backend"], "gpu");
    assert!(g["device"].as_str().unwrap().len() > 3, "{g}");
    assert_eq!(c["iterations"], g["iterations"]);
    let (ci, gi) = (c["inertia"].as_f64().unwrap(), g["inertia"].as_f64().unwrap());
    assert!((ci - gi).abs() <= 1e-5 * ci, "inertia cpu {ci} gpu {gi}");
    let silhouette = |s: &serde_json::Value| s["metrics"]["silhouette"]["mean"].as_f64().unwrap();
    assert!((silhouette(&c) - silhouette(&g)).abs() <= 1e-4, "silhouette cpu {c} gpu {g}");
    let read =
        |p: &str| custseg::commands::demo::read_segments(&dir.path().join(p).join("assignments.parquet")).unwrap();
    let (cs, gs) = (read("fit-cpu"), read("fit-gpu"));
    let differing = cs.iter().zip(&gs).filter(|(a, b)| a != b).count();
    assert!(differing <= cs.len() / 10_000, "{differing} of {} labels differ", cs.len());
}

#[test]
fn a_gpu_failure_under_auto_falls_back_to_the_cpu_and_is_a_typed_error_otherwise() {
    let Some(gpu) = gpu("a_gpu_failure_under_auto_falls_back_to_the_cpu_and_is_a_typed_error_otherwise") else {
        return;
    };
    use custseg::pipeline::Engine;
    let (data, _) = case(2_000, 3, 5, 21);
    let params = KMeansParams { k: 5, seed: 2, ..KMeansParams::new(5) };
    let mut strict = Engine { backend: Box::new(gpu.with_injected_fault_after(2)), fallback: false };
    let err = strict.run("fit", |b| fit(b, &data, &params.check().unwrap(), &mut |_| {})).unwrap_err();
    assert!(matches!(err, custseg::Error::Gpu(_)) && err.exit_code() == 1, "{err}");
    let Some(gpu) = self::gpu("fallback") else { return };
    let mut auto = Engine { backend: Box::new(gpu.with_injected_fault_after(2)), fallback: true };
    let result = auto.run("fit", |b| fit(b, &data, &params.check().unwrap(), &mut |_| {})).unwrap();
    assert_eq!(auto.backend.info().backend, "cpu");
    let cpu = fit(&CpuBackend, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    assert_eq!(result, cpu, "the fallback run is the CPU run");
}

fn mixture_case(full: bool, k: usize, d: usize) -> (Dataset, custseg::backend::mixture::MixturePass) {
    use custseg::cluster::gmm::{CovarianceType, Mixture};
    let mut rng = Rng::new(31);
    let n = 2_000;
    let values = blobs(n, d, k, 17);
    let weights: Vec<f32> = (0..n).map(|_| 0.5 + rng.uniform() as f32).collect();
    let data = Dataset::from_rows(&values, d, Some(&weights), 300);
    let seeds = random_rows(&data, k, &mut Rng::new(5));
    let covariance = if full { CovarianceType::Full } else { CovarianceType::Diag };
    let covariances: Vec<f64> = if full {
        (0..k)
            .flat_map(|c| {
                (0..d * d).map(move |i| {
                    if i / d == i % d {
                        1.5 + c as f64 * 0.1
                    } else if i / d + 1 == i % d || i % d + 1 == i / d {
                        0.2
                    } else {
                        0.0
                    }
                })
            })
            .collect()
    } else {
        (0..k * d).map(|i| 0.8 + (i % 5) as f64 * 0.3).collect()
    };
    let weights_k: Vec<f64> = (1..=k).map(|c| c as f64).collect();
    let total: f64 = weights_k.iter().sum();
    let mixture = Mixture {
        covariance,
        k,
        dim: d,
        weights: weights_k.iter().map(|w| w / total).collect(),
        means: seeds.values.iter().map(|&v| v as f64).collect(),
        covariances,
    };
    (data, mixture.to_pass().unwrap())
}

#[test]
fn mixture_pass_agrees_with_cpu_for_diag_and_full() {
    let Some(gpu) = gpu("mixture_pass_agrees_with_cpu_for_diag_and_full") else { return };
    let gpu = gpu.with_chunk_rows(700);
    for (full, k, d) in [(false, 4, 3), (true, 4, 3), (false, 7, 9), (true, 3, 6)] {
        let (data, pass) = mixture_case(full, k, d);
        let c = CpuBackend.mixture_pass(&data, &pass).unwrap();
        let g = gpu.mixture_pass(&data, &pass).unwrap();
        let case = format!("full={full} k={k} d={d}");
        let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1.0);
        assert!(
            rel(c.log_likelihood, g.log_likelihood) <= 1e-5,
            "{case}: loglik cpu {} gpu {}",
            c.log_likelihood,
            g.log_likelihood
        );
        assert!(rel(c.weight, g.weight) <= 1e-6, "{case}: weight");
        for (name, a, b) in
            [("resp", &c.resp, &g.resp), ("sum_x", &c.sum_x, &g.sum_x), ("sum_xx", &c.sum_xx, &g.sum_xx)]
        {
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                assert!((x - y).abs() <= 1e-4 * (1.0 + x.abs()), "{case}: {name}[{i}] cpu {x} gpu {y}");
            }
        }
        let collect = |b: &dyn Backend| {
            let (mut labels, mut probs) = (Vec::new(), Vec::new());
            b.mixture_assign(&data, &pass, &mut |_, l, p| {
                labels.extend_from_slice(l);
                probs.extend_from_slice(p);
                Ok(())
            })
            .unwrap();
            (labels, probs)
        };
        let (cl, cp) = collect(&CpuBackend);
        let (gl, gp) = collect(&gpu);
        for (i, (a, b)) in cl.iter().zip(&gl).enumerate() {
            if a != b {
                let (pa, pb) = (cp[i * k + *a as usize], cp[i * k + *b as usize]);
                assert!((pa - pb).abs() <= 1e-4, "{case}: row {i}: cpu {a} ({pa}) gpu {b} ({pb})");
            }
        }
        for (a, b) in cp.iter().zip(&gp) {
            assert!((a - b).abs() <= 1e-4, "{case}: probability cpu {a} gpu {b}");
        }
    }
}

#[test]
fn mixture_fit_on_the_gpu_matches_the_cpu() {
    use custseg::cluster::gmm::{fit as fit_gmm, CovarianceType, GmmParams};
    let Some(gpu) = gpu("mixture_fit_on_the_gpu_matches_the_cpu") else { return };
    let (data, _) = mixture_case(false, 3, 4);
    for covariance in [CovarianceType::Diag, CovarianceType::Full] {
        let params = GmmParams { seed: 2, ..GmmParams::new(3, covariance) };
        let c = fit_gmm(&CpuBackend, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
        let g = fit_gmm(&gpu, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
        assert!(
            (c.mean_log_likelihood - g.mean_log_likelihood).abs() <= 1e-4 * c.mean_log_likelihood.abs(),
            "{covariance:?}: cpu {} gpu {}",
            c.mean_log_likelihood,
            g.mean_log_likelihood
        );
        for (a, b) in c.mixture.means.iter().zip(&g.mixture.means) {
            assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()), "{covariance:?}: means cpu {a} gpu {b}");
        }
    }
}

#[test]
fn kmeans_parallel_init_runs_on_the_gpu_like_the_cpu() {
    let Some(gpu) = gpu("kmeans_parallel_init_runs_on_the_gpu_like_the_cpu") else { return };
    let (data, _) = case(3_000, 4, 12, 41);
    let params =
        KMeansParams { k: 12, seed: 8, init: Init::Parallel { rounds: 5, oversampling: 2.0 }, ..KMeansParams::new(12) };
    let c = fit(&CpuBackend, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    let g = fit(&gpu, &data, &params.check().unwrap(), &mut |_| {}).unwrap();
    assert!((c.inertia - g.inertia).abs() <= 1e-3 * c.inertia, "inertia cpu {} gpu {}", c.inertia, g.inertia);
}

#[test]
fn covariance_pass_for_the_report_agrees_with_the_cpu() {
    let Some(gpu) = gpu("covariance_pass_for_the_report_agrees_with_the_cpu") else { return };
    let d = 6;
    let data = Dataset::from_rows(&blobs(5000, d, 4, 21), d, None, 1300);
    let (cpu_mean, cpu_cov) = custseg::report::pca::covariance(&CpuBackend, &data).unwrap();
    let (gpu_mean, gpu_cov) = custseg::report::pca::covariance(&gpu, &data).unwrap();
    let scale = cpu_cov.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in cpu_mean.iter().zip(&gpu_mean).chain(cpu_cov.iter().zip(&gpu_cov)) {
        assert!((a - b).abs() <= 1e-5 * scale, "cpu {a} vs gpu {b}");
    }
}

#[test]
fn silhouette_pairwise_pass_agrees_with_the_cpu() {
    let Some(gpu) = gpu("silhouette_pairwise_pass_agrees_with_the_cpu") else { return };
    let (d, m) = (5, 1500);
    let points = blobs(m, d, 3, 8);
    // Grouped by label: three uneven ranges (one label empty), one of a single point.
    for ranges in [vec![(0, 700), (700, 1499), (1499, 1500)], vec![(0, 1000), (1000, 1000), (1000, 1500)]] {
        let cpu = CpuBackend.pair_sums(&points, d, &ranges).unwrap();
        let gpu_sums = gpu.pair_sums(&points, d, &ranges).unwrap();
        assert_eq!(cpu.len(), m * ranges.len());
        for (i, (a, b)) in cpu.iter().zip(&gpu_sums).enumerate() {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "point {} label {}: cpu {a} vs gpu {b}", i / 3, i % 3);
        }
        // A point's own label excludes itself; an empty label sums nothing.
        assert!(ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| r.0 == r.1)
            .all(|(c, _)| (0..m).all(|i| cpu[i * 3 + c] == 0.0)));
    }
    // Against a direct computation for one point.
    let ranges = vec![(0, 700), (700, 1499), (1499, 1500)];
    let sums = gpu.pair_sums(&points, d, &ranges).unwrap();
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let direct: f64 = (0..700)
        .filter(|&j| j != 3)
        .map(|j| row(3).iter().zip(row(j)).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt())
        .sum();
    assert!((sums[3 * 3] - direct).abs() <= 1e-5 * direct, "{} vs {direct}", sums[9]);
}
