//! What analysts read: the self-contained HTML report (the profiles, labels and rules it
//! shows are computed in [`crate::explain`]).

pub mod charts;
pub mod dendrogram;
pub mod html;
pub mod pca;
pub mod since;
pub mod value;

use crate::backend::Backend;
use crate::data::Dataset;
use crate::error::Result;
use crate::explain::profiles::SegmentProfile;
use crate::explain::rules;
use html::Figure;

/// Rows drawn in the PCA scatter plot (a seeded sample).
pub const SCATTER_SAMPLE: usize = 3000;

/// Fewest segments for which the report draws the dendrogram of their centres (with fewer,
/// the merge order says nothing the heat map does not).
pub const MIN_DENDROGRAM_K: usize = 4;

/// The file name of the report in the output folder.
pub const REPORT_FILE: &str = "report.html";

/// What the fit report shows.
pub struct FitReport<'a> {
    pub title: String,
    /// Key facts, shown as a table at the top (algorithm, rows, metrics, …).
    pub facts: Vec<(String, String)>,
    pub profiles: &'a [SegmentProfile],
    pub data: &'a Dataset,
    /// Segment of every row, per chunk.
    pub labels: &'a [Vec<u32>],
    pub seed: u64,
    /// Per-segment value figures, and the money column's name.
    pub values: Option<(&'a [value::SegmentValue], Option<&'a str>)>,
    /// Rules that reproduce the segments.
    pub rules: Option<&'a rules::RuleSet>,
    /// Ward: the fitted tree and the height it was cut at (drawn instead of the linkage of
    /// the segment centres).
    pub tree: Option<(&'a crate::cluster::ward::Linkage, f64)>,
    /// `fit --previous`: the "since the last run" tables ([`since::tables`]).
    pub since_last_run: Vec<(String, String)>,
}

/// Renders the fit report; the covariance pass for the PCA runs on `backend`.
pub fn fit_report(backend: &dyn Backend, r: &FitReport) -> Result<String> {
    let k = r.profiles.len();
    let ids: Vec<u32> = r.profiles.iter().map(|p| p.segment).collect();
    let centres = segment_means(r.data, r.labels, k);
    let sizes: Vec<f64> = r.profiles.iter().map(|p| p.size as f64).collect();
    let (rows, labels) = sample(r.data, r.labels, SCATTER_SAMPLE, r.seed);
    let d = r.data.dim();
    let (projection, pca_subset) = if d <= pca::MAX_PCA_FEATURES {
        (pca::Projection::fit(backend, r.data)?, String::new())
    } else {
        let columns = most_separating_columns(&centres, d, pca::MAX_PCA_FEATURES);
        let note = format!(
            " With {d} prepared features, the components are computed on the rows shown and the {} features \
             whose segment means differ most.",
            columns.len()
        );
        (pca::Projection::fit_on(backend, r.data, &rows, &columns)?, note)
    };
    let points: Vec<[f64; 2]> = rows.iter().map(|&i| projection.project(r.data.row(i))).collect();
    let centre_points: Vec<[f64; 2]> = centres
        .iter()
        .map(|c| {
            let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            projection.project(&c32)
        })
        .collect();
    let merges = dendrogram::ward(&centres, &sizes);
    let (heat_profiles, heat_left_out) = most_distinct_features(r.profiles, MAX_HEAT_MAP_FEATURES);
    r.data.release_all(); // the sample's rows were read at random

    let mut figures = vec![
        Figure {
            id: "sizes",
            svg: charts::sizes(r.profiles)?,
            caption: "Rows per segment; the number above each bar is its row count.".into(),
        },
        Figure {
            id: "heatmap",
            svg: charts::heat_map(&heat_profiles)?,
            caption: format!(
                "How far each segment's mean sits from the whole base, in base standard deviations \
                 (red above, blue below, saturating at ±2).{}",
                if heat_left_out > 0 {
                    format!(
                        " Showing the {} numeric features whose segment means differ most; {heat_left_out} more are \
                         left out (every feature is in profiles.parquet).",
                        MAX_HEAT_MAP_FEATURES
                    )
                } else {
                    String::new()
                }
            ),
        },
        Figure {
            id: "pca",
            svg: charts::scatter(&charts::Scatter {
                points: &points,
                labels: &labels,
                centres: &centre_points,
                explained: projection.explained,
                ids: &ids,
            })?,
            caption: format!(
                "A seeded sample of {} rows projected on the first two principal components of the prepared \
                 features ({:.0}% of the variance together); crosses mark the segment centres.{pca_subset}",
                points.len(),
                100.0 * (projection.explained[0] + projection.explained[1])
            ),
        },
    ];
    if let Some((linkage, cut_height)) = r.tree {
        let top = dendrogram::truncate(linkage, dendrogram::DRAWN_LEAVES);
        figures.push(Figure {
            id: "dendrogram",
            svg: charts::fitted_tree(&top, cut_height)?,
            caption: format!(
                "The last {} merges of the Ward tree over {} leaves (SciPy's truncate_mode='lastp'); each leaf is a \
                 subtree, with its rows in brackets. The red line is the cut into {k} segments.",
                top.merges.len(),
                linkage.leaves
            ),
        });
    } else if k >= MIN_DENDROGRAM_K && !merges.is_empty() {
        figures.push(Figure {
            id: "dendrogram",
            svg: charts::dendrogram(&merges, &ids)?,
            caption: "Segments that join low down are close in the prepared feature space; merging them would \
                      cost little. Empty segments are left out."
                .into(),
        });
    }
    let mut tables = vec![
        ("Segments".to_string(), html::profiles_table(r.profiles)),
        ("Values in original units".to_string(), html::original_units_table(r.profiles)),
    ];
    if let Some((values, column)) = r.values {
        tables.push(("Value".to_string(), value::value_table(values, column)));
    }
    if let Some(rules) = r.rules {
        tables.push(("Rules".to_string(), html::rules_table(rules)));
    }
    tables.extend(r.since_last_run.iter().cloned());
    Ok(html::page(&r.title, &r.facts, &tables, &figures))
}

/// The `max` columns over which the segment means (rows of `centres`, `d` wide) spread
/// most, in column order.
fn most_separating_columns(centres: &[Vec<f64>], d: usize, max: usize) -> Vec<usize> {
    let spread = |j: usize| {
        let values = centres.iter().map(|c| c[j]).filter(|v| v.is_finite());
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi >= lo {
            hi - lo
        } else {
            0.0
        }
    };
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)).then(a.cmp(&b)));
    let mut keep = order[..max.min(d)].to_vec();
    keep.sort_unstable();
    keep
}

/// Most numeric features the heat map draws (one row each).
pub const MAX_HEAT_MAP_FEATURES: usize = 40;

/// The profiles with only the `max` numeric features whose largest |z| over the segments
/// is highest (in their original order), and how many were left out.
fn most_distinct_features(profiles: &[SegmentProfile], max: usize) -> (Vec<SegmentProfile>, usize) {
    let n = profiles.first().map_or(0, |p| p.features.len());
    if n <= max {
        return (profiles.to_vec(), 0);
    }
    let spread = |f: usize| profiles.iter().map(|p| p.features[f].z.abs()).fold(0.0, f64::max);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)).then(a.cmp(&b)));
    let mut keep = order[..max].to_vec();
    keep.sort_unstable();
    let trimmed = profiles
        .iter()
        .map(|p| SegmentProfile { features: keep.iter().map(|&f| p.features[f].clone()).collect(), ..p.clone() })
        .collect();
    (trimmed, n - max)
}

/// What the select-k report shows: one curve per metric over k.
pub struct SelectKReport<'a> {
    pub title: String,
    pub facts: Vec<(String, String)>,
    pub ks: &'a [usize],
    /// `(figure id, title, y axis, value per k)`.
    pub curves: Vec<(&'static str, &'static str, &'static str, Vec<Option<f64>>)>,
    pub recommended: usize,
}

/// Renders the select-k report.
pub fn select_k_report(r: &SelectKReport) -> Result<String> {
    let mut figures = Vec::new();
    for (id, title, y_desc, values) in &r.curves {
        if values.iter().all(Option::is_none) {
            continue;
        }
        figures.push(Figure {
            id,
            svg: charts::curve(title, y_desc, r.ks, values, r.recommended)?,
            caption: format!("{title} for each k; the red line marks the recommended k = {}.", r.recommended),
        });
    }
    Ok(html::page(&r.title, &r.facts, &[], &figures))
}

/// Mean of the rows of each segment, in the prepared space (zeros for an empty segment).
pub fn segment_means(data: &Dataset, labels: &[Vec<u32>], k: usize) -> Vec<Vec<f64>> {
    let d = data.dim();
    let mut sums = vec![vec![0.0f64; d]; k];
    let mut counts = vec![0usize; k];
    for (chunk, chunk_labels) in data.stream().zip(labels) {
        for (row, &l) in chunk.values.chunks_exact(d).zip(chunk_labels) {
            let l = l as usize;
            counts[l] += 1;
            for (s, &v) in sums[l].iter_mut().zip(row) {
                *s += v as f64;
            }
        }
    }
    for (s, &n) in sums.iter_mut().zip(&counts) {
        if n > 0 {
            s.iter_mut().for_each(|v| *v /= n as f64);
        }
    }
    sums
}

/// A seeded sample of min(n, `m`) distinct rows (in row order) and their labels.
pub fn sample(data: &Dataset, labels: &[Vec<u32>], m: usize, seed: u64) -> (Vec<usize>, Vec<u32>) {
    let rows = crate::rng::distinct_rows(data.rows(), m, seed);
    let row_labels = rows
        .iter()
        .map(|&i| {
            let (c, local) = data.locate(i);
            labels[c][local]
        })
        .collect();
    (rows, row_labels)
}
