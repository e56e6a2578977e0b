//! `custseg demo`: generate a synthetic customer base, segment it, report how well the
//! known segments were recovered.

use std::fs::File;

use arrow::array::AsArray;
use arrow::datatypes::UInt32Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use crate::cli::DemoArgs;
use crate::cluster::kmeans::{Init, KMeansParams};
use crate::cluster::Segmenter;
use crate::error::{Error, Param, Result};
use crate::eval::adjusted_rand_index;
use crate::info;
use crate::io::reader::ReadSpec;
use crate::pipeline::{FitRequest, ASSIGNMENTS_FILE};
use crate::prep::{Impute, PrepParams, ScaleKind};
use crate::synth::{self, NUMERIC_FEATURES, SEGMENTS};

/// Runs the demo and returns the fit summary with a `demo` section added.
pub fn run(args: &DemoArgs) -> Result<serde_json::Value> {
    if args.n == 0 {
        return Err(Error::param(Param::Rows, "must be at least 1"));
    }
    let data_dir = args.out.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| Error::io(&data_dir, e))?;
    let data_path = data_dir.join("customers.parquet");
    info!("generating {} synthetic customers in {} segments → {}", args.n, SEGMENTS.len(), data_path.display());
    let truth = synth::write_customers(&data_path, args.n, args.seed)?;

    let request = FitRequest {
        read: ReadSpec {
            inputs: vec![data_path.clone()],
            id: Some("customer_id".into()),
            features: Some(NUMERIC_FEATURES.iter().map(|s| s.to_string()).collect()),
            categorical: vec!["region".into()],
            weights: None,
            batch_rows: 65_536,
        },
        prep: PrepParams {
            impute: Impute::Median,
            scale: ScaleKind::Zscore,
            log1p: ["recency_days", "frequency", "monetary", "basket_size"].iter().map(|s| s.to_string()).collect(),
            clip: None,
            dedup: false,
        },
        segmenter: Segmenter::KMeans(
            KMeansParams {
                k: args.k,
                init: Init::KMeansPlusPlus,
                n_init: 3,
                max_iter: 300,
                tol: 1e-4,
                seed: args.seed,
            }
            .check()?,
        ),
        init_centres: None,
        probabilities: false,
        value: None,
        silhouette_sample: args.silhouette_sample,
        stability: 0,
        report: true,
        memory_budget: None,
        cache_dir: None,
        keep_cache: false,
        out: args.out.clone(),
        seed: args.seed,
        backend: super::args::backend_options(&args.run),
        continuity: Default::default(),
    };
    let mut summary = crate::pipeline::fit(&request)?;
    let assignments = args.out.join(ASSIGNMENTS_FILE);
    let segments = read_segments(&assignments)?;
    let ari = adjusted_rand_index(&truth, &segments);
    info!("adjusted Rand index against the {} generating segments: {ari:.3}", SEGMENTS.len());
    summary["demo"] = json!({
        "data": data_path.display().to_string(),
        "customers": args.n,
        "true_segments": SEGMENTS.iter().map(|s| s.name).collect::<Vec<_>>(),
        "adjusted_rand_index": ari,
        "command": format!(
            "custseg fit --input {} --id customer_id --features {} --categorical region --log1p recency_days,frequency,monetary,basket_size --impute median --k {} --n-init 3 --seed {} --report --out {}",
            data_path.display(), NUMERIC_FEATURES.join(","), args.k, args.seed, args.out.display()
        ),
    });
    Ok(summary)
}

/// The `segment` column of an assignments file.
pub fn read_segments(path: &std::path::Path) -> Result<Vec<u32>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()).map_err(|e| Error::parquet(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::parquet(path, e))?;
        let col = batch.column_by_name("segment").ok_or_else(|| Error::data(path.display(), "no segment column"))?;
        let seg = col.as_primitive::<UInt32Type>();
        out.extend((0..seg.len()).map(|i| seg.value(i)));
    }
    Ok(out)
}
