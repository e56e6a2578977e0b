//! Criterion benches: one Lloyd pass at 1M×32, k=64 (the reference size), the
//! final assignment pass, and an end-to-end fit on a smaller set.
//! Run: `cargo bench --bench kmeans`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use custseg::backend::cpu::{Bounds, CpuBackend, CpuBackendWith};
use custseg::backend::Backend;
use custseg::cluster::kmeans::{fit, random_rows, KMeansParams};
use custseg::data::Dataset;
use custseg::rng::Rng;
use custseg::synth::blobs;

fn lloyd_pass(c: &mut Criterion) {
    let (n, d, k) = (1_000_000, 32, 64);
    let data = Dataset::from_rows(&blobs(n, d, k, 1), d, None, 65_536);
    let centres = random_rows(&data, k, &mut Rng::new(2));
    // The same centres pass after pass: bounds would keep every row, so time the plain pass.
    let plain = CpuBackendWith { bounds: Bounds::Never };
    let mut state = plain.new_state(&data).unwrap();
    let mut group = c.benchmark_group("kmeans");
    group.sample_size(10);
    group.bench_function("cpu:lloyd_pass/k64/n1M/d32", |b| {
        b.iter(|| black_box(plain.lloyd_pass(&data, &centres, &mut state).unwrap()))
    });
    group.bench_function("cpu:assign/k64/n1M/d32", |b| {
        b.iter(|| {
            CpuBackend
                .assign(&data, &centres, &mut |_, l, _| {
                    black_box(l);
                    Ok(())
                })
                .unwrap()
        })
    });
    let small = Dataset::from_rows(&blobs(200_000, 16, 16, 3), 16, None, 65_536);
    let params = KMeansParams { k: 16, seed: 4, ..KMeansParams::new(16) }.check().unwrap();
    group.bench_function("cpu:fit/k16/n200k/d16", |b| {
        b.iter(|| black_box(fit(&CpuBackend, &small, &params, &mut |_| {}).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, lloyd_pass);
criterion_main!(benches);
