//! `custseg select-k`: read and prepare once, fit every k of a range (rows stay resident on
//! the GPU between fits), score each, write a table and recommend a k.
//!
//! Rule: with `--algorithm gmm`, the lowest BIC. With K-Means, the highest silhouette. The
//! evidence is called weak when the best silhouette is below 0.25 (Kaufman & Rousseeuw's
//! "no substantial structure"), or the runner-up is within two standard errors of it (0.01
//! when exact), or, for BIC, the runner-up is within 10 (Kass & Raftery's "very strong").

use std::io::Write;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use super::engine::Engine;
use super::request::FitRequest;
use super::secs;
use super::stage::read_and_prepare;
use crate::cluster::Segmenter;
use crate::error::{Error, Param, Result};
use crate::eval::metrics;
use crate::io::atomic::AtomicFile;
use crate::io::paths::{ensure_not_input, OutputFolder};

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub k: usize,
    pub inertia: Option<f64>,
    pub bic: Option<f64>,
    pub aic: Option<f64>,
    pub mean_log_likelihood: Option<f64>,
    pub silhouette: Option<f64>,
    pub silhouette_standard_error: Option<f64>,
    pub calinski_harabasz: f64,
    pub davies_bouldin: f64,
    pub seconds: f64,
}

/// Runs select-k over `first..=last` with the request's other settings (its k is
/// ignored) and returns the JSON summary.
pub fn select_k(request: &FitRequest, first: usize, last: usize) -> Result<serde_json::Value> {
    let started = Instant::now();
    if first == 0 || last < first {
        return Err(Error::param(Param::K, "the range must start at 1 or more and not end before it starts"));
    }
    if request.init_centres.is_some() || request.probabilities {
        return Err(Error::param(Param::K, "select-k takes no initial centres or probabilities"));
    }
    if request.continuity.holdout.is_some() {
        return Err(Error::param(Param::Holdout, "is for fit; select-k scores every k on all the rows"));
    }
    if request.continuity != crate::continuity::ContinuityOptions::default() {
        return Err(Error::param(
            Param::Previous,
            format!("and the flags that go with it ({}, {}) are for fit", Param::KeepPrep, Param::FailOnDrift),
        ));
    }
    let mut config = request.clone();
    config.segmenter = request.segmenter.with_k(last)?;
    config.check()?;
    let mut engine = Engine::open(&config.backend)?;
    let csv_path = config.out.join("select_k.csv");
    let json_path = config.out.join("select_k.json");
    let report_path = config.out.join(crate::report::REPORT_FILE);
    let inputs = config.inputs_read();
    for p in [&csv_path, &json_path, &report_path] {
        ensure_not_input(p, &inputs)?;
    }
    let folder = OutputFolder::create(&config.out)?;
    let stage = read_and_prepare(&config, started)?;
    let data = &stage.prepared.data;
    if last > data.rows() {
        return Err(Error::param(
            Param::K,
            format!("the range ends at {last} but only {} rows are left after prep", data.rows()),
        ));
    }
    let gmm_mode = matches!(config.segmenter, Segmenter::Gmm(_));
    // Ward: one tree, cut at every k.
    let tree = match &config.segmenter {
        Segmenter::Ward(_) => match engine.run("the Ward tree", |b| config.segmenter.fit(b, data, &mut |_| {}))?.fit {
            crate::cluster::AlgorithmFit::Ward(fit) => Some(fit.tree),
            _ => None,
        },
        _ => None,
    };
    let mut rows = Vec::new();
    for k in first..=last {
        let t = Instant::now();
        let segmenter = config.segmenter.with_k(k)?;
        let mut row = Row {
            k,
            inertia: None,
            bic: None,
            aic: None,
            mean_log_likelihood: None,
            silhouette: None,
            silhouette_standard_error: None,
            calinski_harabasz: 0.0,
            davies_bouldin: 0.0,
            seconds: 0.0,
        };
        let fit = match &tree {
            Some(tree) => crate::cluster::FitOutcome::from_ward(tree.cut(k)?),
            None => engine.run("a fit", |b| segmenter.fit(b, data, &mut |_| {}))?,
        };
        match fit.fit {
            crate::cluster::AlgorithmFit::Ward(ref f) => row.inertia = Some(f.inertia),
            crate::cluster::AlgorithmFit::KMeans(ref f) => row.inertia = Some(f.inertia),
            crate::cluster::AlgorithmFit::Gmm(ref f) => {
                (row.bic, row.aic, row.mean_log_likelihood) = (Some(f.bic), Some(f.aic), Some(f.mean_log_likelihood))
            }
            crate::cluster::AlgorithmFit::Density(_) => {
                unreachable!("density fits take no k, so select-k refuses them")
            }
        }
        let labels = engine.run("the assignment pass", |b| fit.segments.labels(b, data))?;
        let scores = engine.run("the segment metrics", |b| {
            metrics::score(b, data, &labels, k, config.silhouette_sample.max(2), config.seed)
        })?;
        if config.silhouette_sample > 0 && k > 1 {
            row.silhouette = Some(scores.silhouette.mean);
            row.silhouette_standard_error = scores.silhouette.standard_error;
        }
        row.calinski_harabasz = scores.calinski_harabasz;
        row.davies_bouldin = scores.davies_bouldin;
        row.seconds = secs(t.elapsed().as_secs_f64());
        info!(
            "k={k}: {} silhouette {} CH {:.1} DB {:.3} ({:.2}s)",
            row.bic
                .map_or_else(|| format!("inertia {:.6e}", row.inertia.unwrap_or(f64::NAN)), |b| format!("BIC {b:.6e}")),
            row.silhouette.map_or("-".into(), |s| format!("{s:.4}")),
            row.calinski_harabasz,
            row.davies_bouldin,
            row.seconds
        );
        rows.push(row);
    }
    let (recommended, rule, weak) = recommend(&rows, gmm_mode);
    info!("recommended k = {recommended} ({rule}){}", if weak { "; the evidence is weak" } else { "" });

    let info = engine.backend.info();
    let summary = json!({
        "command": "select-k",
        "algorithm": config.segmenter.name(),
        "recommended_k": recommended,
        "rule": rule,
        "evidence_weak": weak,
        "rows_used": data.rows(),
        "features": stage.prep.feature_names(),
        "table": rows,
        "backend": info.backend,
        "device": info.device,
        "seconds": { "total": secs(started.elapsed().as_secs_f64()) },
        "outputs": {
            "csv": csv_path.display().to_string(),
            "json": json_path.display().to_string(),
            "report": config.report.then(|| report_path.display().to_string()),
        },
    });
    let report_file = if config.report {
        let html = report(&rows, recommended, rule, weak, &config)?;
        Some(crate::io::atomic::stage_bytes(&report_path, html.as_bytes())?)
    } else {
        None
    };
    let mut csv = AtomicFile::create(&csv_path)?;
    write_csv(csv.writer(), &rows).map_err(|e| Error::io(&csv_path, e))?;
    let csv = csv.stage()?;
    let mut text = serde_json::to_vec_pretty(&summary).expect("JSON of plain values");
    text.push(b'\n');
    let json_file = crate::io::atomic::stage_bytes(&json_path, &text)?;
    csv.commit()?;
    json_file.commit()?;
    if let Some(file) = report_file {
        file.commit()?;
    }
    folder.keep();
    Ok(summary)
}

/// The select-k report: one curve per metric, the recommendation marked.
fn report(rows: &[Row], recommended: usize, rule: &str, weak: bool, config: &FitRequest) -> Result<String> {
    let ks: Vec<usize> = rows.iter().map(|r| r.k).collect();
    let column = |f: fn(&Row) -> Option<f64>| rows.iter().map(f).collect::<Vec<_>>();
    let verdict = if weak { "weak evidence" } else { "clear" };
    crate::report::select_k_report(&crate::report::SelectKReport {
        title: format!("custseg: choosing k ({})", config.segmenter.name()),
        facts: vec![
            ("recommended k".into(), recommended.to_string()),
            ("rule".into(), rule.to_string()),
            ("evidence".into(), verdict.to_string()),
            ("k range".into(), format!("{} to {}", ks.first().unwrap_or(&0), ks.last().unwrap_or(&0))),
            ("seed".into(), config.seed.to_string()),
        ],
        ks: &ks,
        curves: vec![
            ("inertia", "Inertia (elbow)", "inertia", column(|r| r.inertia)),
            ("bic", "BIC (lower is better)", "BIC", column(|r| r.bic)),
            ("silhouette", "Silhouette (higher is better)", "silhouette", column(|r| r.silhouette)),
            ("calinski_harabasz", "Calinski-Harabasz (higher is better)", "CH", column(|r| Some(r.calinski_harabasz))),
            ("davies_bouldin", "Davies-Bouldin (lower is better)", "DB", column(|r| Some(r.davies_bouldin))),
        ],
        recommended,
    })
}

/// The recommended k, the rule used, and whether the evidence is weak.
pub fn recommend(rows: &[Row], gmm_mode: bool) -> (usize, &'static str, bool) {
    let best_by = |key: &dyn Fn(&Row) -> Option<f64>, higher: bool| {
        let mut scored: Vec<(f64, &Row)> = rows.iter().filter_map(|r| key(r).map(|v| (v, r))).collect();
        scored.sort_by(|a, b| if higher { b.0.total_cmp(&a.0) } else { a.0.total_cmp(&b.0) });
        scored
    };
    if gmm_mode {
        let scored = best_by(&|r| r.bic, false);
        let weak = scored.len() > 1 && scored[1].0 - scored[0].0 < 10.0;
        return (scored.first().map_or(rows[0].k, |s| s.1.k), "lowest BIC", weak);
    }
    let scored = best_by(&|r| r.silhouette, true);
    match scored.first() {
        None => (rows[0].k, "no silhouette (a single k or --silhouette-sample 0): smallest k", true),
        Some(&(best, row)) => {
            let margin = row.silhouette_standard_error.map_or(0.01, |se| 2.0 * se);
            let close = scored.get(1).is_some_and(|s| best - s.0 <= margin);
            (row.k, "highest silhouette", best < 0.25 || close)
        }
    }
}

fn write_csv(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    writeln!(out, "k,inertia,bic,aic,mean_log_likelihood,silhouette,silhouette_standard_error,calinski_harabasz,davies_bouldin,seconds")?;
    for r in rows {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            r.k,
            opt(r.inertia),
            opt(r.bic),
            opt(r.aic),
            opt(r.mean_log_likelihood),
            opt(r.silhouette),
            opt(r.silhouette_standard_error),
            r.calinski_harabasz,
            r.davies_bouldin,
            r.seconds
        )?;
    }
    Ok(())
}
