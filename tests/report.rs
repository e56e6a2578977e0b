//! report.html: written by `fit --report` and `select-k --report`, self-contained, its PCA
//! right, and rendered by a real browser (Debian's chromium, headless) as a person would see it.
//! Without chromium the browser checks skip loudly; with CUSTSEG_REQUIRE_BROWSER=1 (CI) they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Float64Array, Int64Array, StringArray};
use custseg::backend::cpu::CpuBackend;
use custseg::data::Dataset;
use custseg::report::pca::{covariance, Projection};
use custseg::synth::blobs;

use crate::common::{arr, custseg, outcome, write_parquet};

/// Four well-separated groups in three numeric features plus a categorical column.
fn write_groups(path: &Path, n: usize) {
    let values = blobs(n, 3, 4, 11);
    let col = |j: usize| arr(Float64Array::from((0..n).map(|i| values[i * 3 + j] as f64).collect::<Vec<_>>()));
    let channel: Vec<&str> = (0..n).map(|i| ["web", "store", "app"][i % 3]).collect();
    write_parquet(
        path,
        vec![
            ("id", arr(Int64Array::from((0..n as i64).collect::<Vec<_>>()))),
            ("spend", col(0)),
            ("visits", col(1)),
            ("recency <days>", col(2)),
            ("channel", arr(StringArray::from(channel))),
        ],
    );
}

fn browser(test: &str) -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("CUSTSEG_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("{test}: CUSTSEG_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)");
        }
        eprintln!("SKIPPED {test}'s browser checks: no chromium on PATH (apt-get install chromium)");
    }
    found
}

/// Loads `html` in headless chromium: the DOM after load, and a PNG screenshot.
fn render(browser: &Path, html: &Path, scratch: &Path) -> (String, Vec<u8>) {
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let run = |extra: &[&str]| {
        let out = Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2600"])
            .arg(format!("--user-data-dir={}", scratch.join("profile").display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs");
        assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
        out
    };
    let dom = String::from_utf8(run(&["--dump-dom"]).stdout).unwrap();
    let png_path = scratch.join("page.png");
    run(&[&format!("--screenshot={}", png_path.display())]);
    (dom, std::fs::read(&png_path).expect("chromium wrote the screenshot"))
}

/// Share of pixels that are not white, and the number of distinct colours.
fn ink(png_bytes: &[u8]) -> (f64, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks_exact(channels).collect();
    let inked = pixels.iter().filter(|p| p[..3].iter().any(|&c| c < 240)).count();
    let mut colours: Vec<[u8; 3]> = pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    colours.sort_unstable();
    colours.dedup();
    (inked as f64 / pixels.len() as f64, colours.len())
}

/// Asserts the page is self-contained and holds every figure, each an inline SVG.
fn assert_figures(html: &str, ids: &[&str]) {
    for tag in ["<script", "<link", "<img", "src=", "@import", "url("] {
        assert!(!html.contains(tag), "report.html must be self-contained but has {tag}");
    }
    for id in ids {
        let at = html.find(&format!("<figure id=\"{id}\">")).unwrap_or_else(|| panic!("figure {id} missing"));
        assert!(html[at..].trim_start_matches(|c| c != '>').starts_with("><svg"), "figure {id} is not an inline SVG");
    }
}

#[test]
fn fit_report_has_every_figure_and_renders_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.parquet");
    write_groups(&input, 2000);
    let out = dir.path().join("out");
    let o = custseg(&[
        "fit",
        "--input",
        input.to_str().unwrap(),
        "--id",
        "id",
        "--categorical",
        "channel",
        "--k",
        "4",
        "--report",
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = outcome(&o);
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let report = out.join("report.html");
    assert_eq!(summary["outputs"]["report"], report.display().to_string());
    let html = std::fs::read_to_string(&report).unwrap();
    assert_figures(&html, &["sizes", "heatmap", "pca", "dendrogram"]);
    assert!(html.contains("recency &lt;days&gt;"), "feature names are escaped");
    assert!(!html.contains("recency <days>"), "raw feature names would break the page");
    // One dot per sampled row (all 2000: below the sample size), one row per segment.
    assert!(html.matches("<circle").count() >= 2000, "the scatter draws every sampled row");
    assert_eq!(html.matches("<tr><td class=\"num\">").count(), 4, "one profile row per segment");
    // What a marketer reads: values in original units beside the heat map, and the rules.
    assert_eq!(html.matches("<tr class=\"segment\">").count(), 4, "one row of original units per segment");
    assert!(html.contains("<table id=\"original-units\">") && html.contains("spend<br>median (mean)"));
    assert!(html.contains("<p id=\"rules-fidelity\">A decision tree of depth 3"));
    assert!(html.matches("<tr class=\"rule\">").count() >= 4, "at least one rule per segment");

    let Some(browser) = browser("fit_report_has_every_figure_and_renders_in_a_browser") else { return };
    let (dom, png) = render(&browser, &report, dir.path());
    for id in ["sizes", "heatmap", "pca", "dendrogram"] {
        assert!(dom.contains(&format!("<figure id=\"{id}\"><svg")), "the browser's DOM lacks figure {id}");
    }
    for id in ["profiles", "original-units", "rules"] {
        assert!(dom.contains(&format!("<table id=\"{id}\">")), "the browser's DOM lacks table {id}");
    }
    let (inked, colours) = ink(&png);
    assert!(inked > 0.03, "the screenshot is nearly blank ({:.1}% ink)", 100.0 * inked);
    assert!(colours > 20, "the screenshot has only {colours} colours; the figures did not draw");
}

#[test]
fn select_k_report_draws_the_curves_with_the_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.parquet");
    write_groups(&input, 1200);
    let out = dir.path().join("out");
    let o = custseg(&[
        "select-k",
        "--input",
        input.to_str().unwrap(),
        "--id",
        "id",
        "--features",
        "spend,visits,recency <days>",
        "--k",
        "2..6",
        "--report",
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = outcome(&o);
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let recommended = summary["recommended_k"].as_u64().unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_figures(&html, &["inertia", "silhouette", "calinski_harabasz", "davies_bouldin"]);
    assert!(!html.contains("<figure id=\"bic\">"), "K-Means has no BIC curve");
    assert!(html.contains(&format!("<th>recommended k</th><td>{recommended}</td>")));

    let Some(browser) = browser("select_k_report_draws_the_curves_with_the_recommendation") else { return };
    let (dom, png) = render(&browser, &out.join("report.html"), dir.path());
    assert!(dom.contains("<figure id=\"silhouette\"><svg"), "the browser's DOM lacks the silhouette curve");
    let (inked, _) = ink(&png);
    assert!(inked > 0.02, "the screenshot is nearly blank ({:.1}% ink)", 100.0 * inked);
}

#[test]
fn no_report_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.parquet");
    write_groups(&input, 300);
    let out = dir.path().join("out");
    let o = custseg(&[
        "fit",
        "--input",
        input.to_str().unwrap(),
        "--id",
        "id",
        "--k",
        "3",
        "--backend",
        "cpu",
        "-o",
        out.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = outcome(&o);
    assert_eq!(code, 0, "{stderr}");
    assert!(!out.join("report.html").exists());
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(summary["outputs"]["report"].is_null());
}

/// Straightforward two-pass f64 mean and covariance.
fn naive_covariance(values: &[f32], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = values.len() / d;
    let mut mean = vec![0.0; d];
    for row in values.chunks_exact(d) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64 / n as f64;
        }
    }
    let mut cov = vec![0.0; d * d];
    for row in values.chunks_exact(d) {
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] += (row[a] as f64 - mean[a]) * (row[b] as f64 - mean[b]) / n as f64;
            }
        }
    }
    (mean, cov)
}

#[test]
fn covariance_pass_matches_a_direct_computation() {
    let d = 5;
    let values = blobs(3000, d, 3, 5);
    let data = Dataset::from_rows(&values, d, None, 700);
    let (mean, cov) = covariance(&CpuBackend, &data).unwrap();
    let (want_mean, want_cov) = naive_covariance(&values, d);
    for (a, b) in mean.iter().zip(&want_mean) {
        assert!((a - b).abs() < 1e-9, "mean {a} vs {b}");
    }
    for (a, b) in cov.iter().zip(&want_cov) {
        assert!((a - b).abs() < 1e-8 * b.abs().max(1.0), "covariance {a} vs {b}");
    }
}

#[test]
fn projection_finds_the_direction_of_largest_variance() {
    // Points along (1, 2, 0)/√5 with large spread, small noise elsewhere.
    let mut values = Vec::new();
    let mut rng = custseg::rng::Rng::new(3);
    for _ in 0..4000 {
        let t = 10.0 * rng.normal();
        values.extend(
            [t / 5f64.sqrt() + 0.1 * rng.normal(), 2.0 * t / 5f64.sqrt(), 0.3 * rng.normal()].map(|v| v as f32),
        );
    }
    let data = Dataset::from_rows(&values, 3, None, 1000);
    let p = Projection::fit(&CpuBackend, &data).unwrap();
    let axis = &p.axes[0];
    assert!((axis[0] - 1.0 / 5f64.sqrt()).abs() < 1e-3 && (axis[1] - 2.0 / 5f64.sqrt()).abs() < 1e-3, "{axis:?}");
    assert!(p.explained[0] > 0.99, "{:?}", p.explained);
    let dot: f64 = p.axes[0].iter().zip(&p.axes[1]).map(|(a, b)| a * b).sum();
    assert!(dot.abs() < 1e-12, "axes are orthogonal");
}

#[test]
fn a_wide_table_gets_a_capped_heat_map_and_a_projection_on_chosen_features() {
    // 120 features: more than the heat map draws and the PCA decomposes; the report says so.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.parquet");
    let mut rng = custseg::rng::Rng::new(9);
    let columns: Vec<(String, arrow::array::ArrayRef)> = (0..120)
        .map(|j| {
            let v: Vec<f64> = (0..400).map(|i| rng.normal() + if j < 5 { 4.0 * (i % 2) as f64 } else { 0.0 }).collect();
            (format!("f{j}"), arr(Float64Array::from(v)))
        })
        .collect();
    write_parquet(&path, columns.iter().map(|(n, a)| (n.as_str(), a.clone())).collect());
    let out = dir.path().join("out");
    let (code, _, stderr) = outcome(&custseg(&[
        "fit",
        "--input",
        path.to_str().unwrap(),
        "--k",
        "2",
        "--report",
        "--silhouette-sample",
        "0",
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("80 more are left out"), "heat map cap not stated");
    assert!(html.contains("With 120 prepared features"), "projection subset not stated");
    assert_figures(&html, &["sizes", "heatmap", "pca"]);
    assert!(!html.contains("<figure id=\"dendrogram\">"), "two segments need no dendrogram");
}
