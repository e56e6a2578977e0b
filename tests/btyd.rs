//! BG/NBD and Gamma-Gamma on the shared CDNOW data (published estimates) and on a seeded
//! synthetic population drawn from known parameters.

use std::collections::BTreeMap;
use std::time::Instant;

use custseg::customers::models::{distinct_triples, BfgsOptions, BgNbd, GammaGamma, Rfm};
use custseg::rng::Rng;

use crate::common::data_dir;

/// The CDNOW summary (`ID,frequency,recency,T`, weeks) as (id, RFM).
fn cdnow_summary(dir: &std::path::Path) -> Vec<(u32, Rfm)> {
    let path = dir.join("retail/cdnow/cdnow_customers_summary.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ID,frequency,recency,T"));
    lines
        .map(|line| {
            let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            (f[0] as u32, Rfm { x: f[1], t_x: f[2], t: f[3] })
        })
        .collect()
}

#[test]
fn bgnbd_on_cdnow_reproduces_the_published_estimates() {
    let Some(dir) = data_dir("bgnbd_on_cdnow_reproduces_the_published_estimates") else { return };
    let customers: Vec<Rfm> = cdnow_summary(&dir).into_iter().map(|(_, rfm)| rfm).collect();
    assert_eq!(customers.len(), 2357);
    let triples = distinct_triples(&customers);
    let started = Instant::now();
    let fit = BgNbd::fit(&triples, &BfgsOptions::default()).unwrap();
    eprintln!(
        "CDNOW BG/NBD: {} customers, {} distinct triples, fitted in {:?}: {fit:?}",
        customers.len(),
        triples.len(),
        started.elapsed()
    );
    assert!(fit.converged, "{fit:?}");
    // Fader, Hardie & Lee (2005), and Hardie's BG/NBD spreadsheet: r = 0.243, α = 4.414,
    // a = 0.793, b = 2.426, LL = −9582.4. lifetimes 0.11.3 fits r = 0.242593, α = 4.413532,
    // a = 0.792886, b = 2.425752 on the same file.
    let BgNbd { r, alpha, a, b } = fit.params;
    for (got, published) in [(r, 0.243), (alpha, 4.414), (a, 0.793), (b, 2.426)] {
        assert!((got - published).abs() <= 0.0005, "{got} vs published {published}");
    }
    for (got, lifetimes) in
        [(r, 0.24259292827982148), (alpha, 4.413532265271809), (a, 0.7928859664406578), (b, 2.4257523826257374)]
    {
        assert!((got - lifetimes).abs() <= 1e-5 * lifetimes, "{got} vs lifetimes {lifetimes}");
    }
    assert!((fit.log_likelihood - -9582.43).abs() <= 0.01, "{}", fit.log_likelihood);
    // Fitting all customers one by one gives the same optimum as the weighted triples.
    let single: Vec<(Rfm, f64)> = customers.iter().map(|c| (*c, 1.0)).collect();
    let by_customer = BgNbd::fit(&single, &BfgsOptions::default()).unwrap();
    assert!((by_customer.log_likelihood - fit.log_likelihood).abs() < 1e-6);
    // Hardie's E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226 under the fitted parameters.
    let first = Rfm { x: 2.0, t_x: 30.43, t: 38.86 };
    assert!((fit.params.expected_purchases(39.0, &first) - 1.226).abs() < 0.0005);
}

/// Per customer of `CDNOW_sample.txt` (master index, customer id, YYYYMMDD, CDs, dollars):
/// (repeat purchases, mean value of the repeat purchases) up to 1997-09-30, same-day
/// purchases summed into one occasion and the first occasion left out — what lifetimes
/// 0.11.3 `summary_data_from_transaction_data(..., monetary_value_col="dollars",
/// observation_period_end="1997-09-30", freq="D")` gives.
fn cdnow_repeat_spend(dir: &std::path::Path) -> BTreeMap<u32, (f64, f64)> {
    let path = dir.join("retail/cdnow/CDNOW_sample.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut by_day: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (id, date, dollars): (u32, u32, f64) =
            (f[1].parse().unwrap(), f[2].parse().unwrap(), f[4].parse().unwrap());
        if date <= 19970930 {
            *by_day.entry((id, date)).or_default() += dollars;
        }
    }
    let mut out: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    let mut last_id = None;
    for ((id, _), value) in by_day {
        if last_id != Some(id) {
            last_id = Some(id);
            out.insert(id, (0.0, 0.0)); // the first occasion: not a repeat purchase
            continue;
        }
        let entry = out.get_mut(&id).unwrap();
        entry.0 += 1.0;
        entry.1 += value;
    }
    out.into_iter().map(|(id, (x, total))| (id, (x, if x > 0.0 { total / x } else { 0.0 }))).collect()
}

#[test]
fn gamma_gamma_on_cdnow_reproduces_the_published_estimates() {
    let Some(dir) = data_dir("gamma_gamma_on_cdnow_reproduces_the_published_estimates") else { return };
    let spend = cdnow_repeat_spend(&dir);
    // The daily grouping gives exactly the summary's frequencies.
    let summary = cdnow_summary(&dir);
    assert_eq!(spend.len(), summary.len());
    for (id, rfm) in &summary {
        assert_eq!(spend[id].0, rfm.x, "customer {id}");
    }
    let rows: Vec<(f64, f64, f64)> =
        spend.values().filter(|(x, m)| *x > 0.0 && *m > 0.0).map(|&(x, m)| (x, m, 1.0)).collect();
    assert_eq!(rows.len(), 946);
    let started = Instant::now();
    let fit = GammaGamma::fit(&rows, &BfgsOptions::default()).unwrap();
    eprintln!("CDNOW Gamma-Gamma: {} customers, fitted in {:?}: {fit:?}", rows.len(), started.elapsed());
    assert!(fit.converged, "{fit:?}");
    // Fader, Hardie & Lee (2005, "RFM and CLV") and Hardie's Gamma-Gamma note: p = 6.25,
    // q = 3.74, γ = 15.44. lifetimes 0.11.3 on these 946 rows: p = 6.249572, q = 3.744225,
    // v = 15.443521.
    let GammaGamma { p, q, v } = fit.params;
    for (got, published) in [(p, 6.25), (q, 3.74), (v, 15.44)] {
        assert!((got - published).abs() <= 0.005, "{got} vs published {published}");
    }
    for (got, lifetimes) in [(p, 6.249572277637132), (q, 3.744224674758082), (v, 15.44352101835793)] {
        assert!((got - lifetimes).abs() <= 1e-4 * lifetimes, "{got} vs lifetimes {lifetimes}");
    }
}

/// Gamma(shape, rate) by Marsaglia & Tsang (2000), boosted for shape < 1.
fn gamma(rng: &mut Rng, shape: f64, rate: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.uniform();
        return gamma(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.normal();
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.uniform();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v / rate;
        }
    }
}

fn beta(rng: &mut Rng, a: f64, b: f64) -> f64 {
    let x = gamma(rng, a, 1.0);
    x / (x + gamma(rng, b, 1.0))
}

/// One synthetic customer observed for `age`: BG/NBD purchases, and the mean of their
/// Gamma-Gamma repeat-transaction values (0 without repeat purchases).
fn simulate_customer(rng: &mut Rng, bgnbd: &BgNbd, gg: &GammaGamma, age: f64) -> (Rfm, f64) {
    let lambda = gamma(rng, bgnbd.r, bgnbd.alpha);
    let dropout = beta(rng, bgnbd.a, bgnbd.b);
    let (mut x, mut t_x, mut now) = (0.0, 0.0, 0.0);
    loop {
        now += -(1.0 - rng.uniform()).ln() / lambda;
        if now > age {
            break;
        }
        x += 1.0;
        t_x = now;
        if rng.uniform() < dropout {
            break;
        }
    }
    let nu = gamma(rng, gg.q, gg.v);
    let mean_spend = if x > 0.0 { gamma(rng, gg.p * x, nu) / x } else { 0.0 };
    (Rfm { x, t_x, t: age }, mean_spend)
}

#[test]
fn fits_recover_the_parameters_of_a_synthetic_population() {
    let truth = BgNbd { r: 0.5, alpha: 4.0, a: 0.7, b: 2.5 };
    let truth_gg = GammaGamma { p: 6.0, q: 4.0, v: 15.0 };
    let mut rng = Rng::new(20_050_101);
    let people: Vec<(Rfm, f64)> = (0..20_000)
        .map(|_| {
            let age = 26.0 + 52.0 * rng.uniform();
            simulate_customer(&mut rng, &truth, &truth_gg, age)
        })
        .collect();
    let customers: Vec<Rfm> = people.iter().map(|p| p.0).collect();
    let fit = BgNbd::fit(&distinct_triples(&customers), &BfgsOptions::default()).unwrap();
    assert!(fit.converged, "{fit:?}");
    let got = fit.params;
    for (name, g, want) in
        [("r", got.r, truth.r), ("alpha", got.alpha, truth.alpha), ("a", got.a, truth.a), ("b", got.b, truth.b)]
    {
        assert!((g / want - 1.0).abs() < 0.10, "{name}: fitted {g}, true {want} ({fit:?})");
    }
    let rows: Vec<(f64, f64, f64)> = people.iter().filter(|p| p.0.x > 0.0).map(|p| (p.0.x, p.1, 1.0)).collect();
    let fit_gg = GammaGamma::fit(&rows, &BfgsOptions::default()).unwrap();
    assert!(fit_gg.converged, "{fit_gg:?}");
    let got = fit_gg.params;
    eprintln!("synthetic: {fit:?}; {} spenders: {fit_gg:?}", rows.len());
    for (name, g, want) in [("p", got.p, truth_gg.p), ("q", got.q, truth_gg.q), ("v", got.v, truth_gg.v)] {
        assert!((g / want - 1.0).abs() < 0.10, "{name}: fitted {g}, true {want} ({fit_gg:?})");
    }
}

#[test]
fn a_fit_cut_short_reports_non_convergence_with_the_last_point() {
    let Some(dir) = data_dir("a_fit_cut_short_reports_non_convergence_with_the_last_point") else { return };
    let customers: Vec<Rfm> = cdnow_summary(&dir).into_iter().map(|(_, rfm)| rfm).collect();
    let fit = BgNbd::fit(&distinct_triples(&customers), &BfgsOptions { max_iterations: 2, ..BfgsOptions::default() })
        .unwrap();
    assert!(!fit.converged);
    assert_eq!(fit.iterations, 2);
    assert_ne!(fit.params, BgNbd { r: 1.0, alpha: 1.0, a: 1.0, b: 1.0 });
}

/// Days since 1970-01-01 of a YYYYMMDD date (Hinnant's days_from_civil).
fn days_from_yyyymmdd(date: u32) -> i64 {
    let (y, m, d) = ((date / 10_000) as i64, ((date / 100) % 100) as i64, (date % 100) as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[test]
fn bgnbd_fits_the_full_cdnow_cohort_on_its_distinct_triples() {
    let Some(dir) = data_dir("bgnbd_fits_the_full_cdnow_cohort_on_its_distinct_triples") else { return };
    // CDNOW_master.txt: header, then customer id, YYYYMMDD, CDs, dollars; 23,570 customers.
    let path = dir.join("retail/cdnow/CDNOW_master.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let end = days_from_yyyymmdd(19970930);
    let mut days: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let day = days_from_yyyymmdd(f[1].parse().unwrap());
        if day <= end {
            days.entry(f[0].parse().unwrap()).or_default().push(day);
        }
    }
    let customers: Vec<Rfm> = days
        .values_mut()
        .map(|d| {
            d.sort_unstable();
            d.dedup();
            let (first, last) = (d[0], d[d.len() - 1]);
            Rfm { x: (d.len() - 1) as f64, t_x: (last - first) as f64 / 7.0, t: (end - first) as f64 / 7.0 }
        })
        .collect();
    assert_eq!(customers.len(), 23_570);
    let triples = distinct_triples(&customers);
    assert_eq!(triples.len(), 8_685);
    let started = Instant::now();
    let fit = BgNbd::fit(&triples, &BfgsOptions::default()).unwrap();
    eprintln!(
        "CDNOW master BG/NBD: {} customers, {} triples, fitted in {:?}: {fit:?}",
        customers.len(),
        triples.len(),
        started.elapsed()
    );
    assert!(fit.converged, "{fit:?}");
    // lifetimes 0.11.3 BetaGeoFitter on the same 23,570 customers (recency and age in days / 7).
    let BgNbd { r, alpha, a, b } = fit.params;
    for (got, lifetimes) in
        [(r, 0.251624011424104), (alpha, 4.788945170327028), (a, 0.7234330357288162), (b, 2.161086981372379)]
    {
        assert!((got - lifetimes).abs() <= 1e-5 * lifetimes, "{got} vs lifetimes {lifetimes} ({fit:?})");
    }
}
