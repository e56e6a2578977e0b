//! The report's figures, drawn with plotters into SVG strings (inline in the HTML, so the
//! page needs no network and no JavaScript).
//!
//! Categorical axes (segments, features) are f64 ranges with one key point per category,
//! labelled by a formatter, so every category gets its tick whatever the count.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::dendrogram::{leaf_order, Merge, Truncated};
use crate::error::{Error, Result};
use crate::explain::profiles::SegmentProfile;

const FONT: &str = "sans-serif";
/// |z| at which the heat map's colour saturates.
const Z_SATURATION: f64 = 2.0;

fn draw_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("drawing the {what} chart: {e}"))
}

/// Runs `draw` on an SVG canvas of `size` pixels and returns the SVG text.
fn svg(
    what: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> std::result::Result<(), String>,
) -> Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(what, e))?;
        draw(&root).map_err(|e| draw_error(what, e))?;
        root.present().map_err(|e| draw_error(what, e))?;
    }
    Ok(text)
}

/// An f64 axis with ticks exactly at `ticks` (plotters' own `WithKeyPoints` cannot take
/// label formatters on f64 axes).
#[derive(Clone)]
struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type ValueType = f64;
    type FormatOption = NoDefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

impl ValueFormatter<f64> for Ticked {
    fn format(value: &f64) -> String {
        format!("{value}")
    }
}

/// `range` with ticks at `ticks`.
fn ticked(range: Range<f64>, ticks: Vec<f64>) -> Ticked {
    Ticked { inner: range.into(), ticks }
}

/// A categorical axis of `n` categories at 0, 1, …, n − 1.
fn categories(n: usize) -> Ticked {
    ticked(-0.5..n as f64 - 0.5, (0..n).map(|i| i as f64).collect())
}

/// The name of the category at key point `x`.
fn category_name(names: &[String], x: f64) -> String {
    let i = x.round();
    if i >= 0.0 && (i as usize) < names.len() {
        names[i as usize].clone()
    } else {
        String::new()
    }
}

/// The colour of segment `s` (the same in every figure).
pub fn segment_colour(s: usize) -> RGBColor {
    let (r, g, b) = Palette99::pick(s).rgb();
    RGBColor(r, g, b)
}

/// Bars of each segment's share of the rows.
pub fn sizes(profiles: &[SegmentProfile]) -> Result<String> {
    let names: Vec<String> = profiles.iter().map(|p| p.segment.to_string()).collect();
    let top = profiles.iter().map(|p| p.share).fold(0.0, f64::max).max(0.01) * 1.15;
    svg("segment sizes", (720, 360), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Segment sizes", (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(categories(profiles.len()), 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("segment")
            .y_desc("share of rows")
            .x_label_formatter(&|x| category_name(&names, *x))
            .y_label_formatter(&|y| format!("{:.0}%", 100.0 * y))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(profiles.iter().enumerate().map(|(i, p)| {
                let x = i as f64;
                Rectangle::new([(x - 0.38, 0.0), (x + 0.38, p.share)], segment_colour(i).filled())
            }))
            .map_err(|e| e.to_string())?;
        let above = (FONT, 12).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
        chart
            .draw_series(
                profiles
                    .iter()
                    .enumerate()
                    .map(|(i, p)| Text::new(p.size.to_string(), (i as f64, p.share), above.clone())),
            )
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Diverging colour for a z-score: blue below the base, white at it, red above.
fn z_colour(z: f64) -> RGBColor {
    let t = (z / Z_SATURATION).clamp(-1.0, 1.0);
    let fade = |c: u8| (255.0 - (255.0 - c as f64) * t.abs()).round() as u8;
    if t >= 0.0 {
        RGBColor(fade(200), fade(40), fade(40))
    } else {
        RGBColor(fade(40), fade(90), fade(200))
    }
}

/// Segments (columns) × numeric features (rows, first at the top), coloured by the profile
/// z-score.
pub fn heat_map(profiles: &[SegmentProfile]) -> Result<String> {
    // Bottom to top on the y axis, so the first feature reads first.
    let features: Vec<String> =
        profiles.first().map_or(Vec::new(), |p| p.features.iter().rev().map(|f| f.feature.clone()).collect());
    let row_of = |f: usize| (features.len() - 1 - f) as f64;
    let segments: Vec<String> = profiles.iter().map(|p| p.segment.to_string()).collect();
    let longest = features.iter().map(|f| f.chars().count()).max().unwrap_or(4) as u32;
    let height = (130 + 30 * features.len() as u32).max(240);
    let width = (180 + 7 * longest + 48 * segments.len() as u32).max(480);
    svg("profile heat map", (width, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Feature z-scores by segment", (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(20 + 7 * longest)
            .build_cartesian_2d(categories(segments.len()), categories(features.len()))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("segment")
            .x_label_formatter(&|x| category_name(&segments, *x))
            .y_label_formatter(&|y| category_name(&features, *y))
            .draw()
            .map_err(|e| e.to_string())?;
        let cells = profiles
            .iter()
            .enumerate()
            .flat_map(|(s, p)| p.features.iter().enumerate().map(move |(f, fp)| (s as f64, row_of(f), fp.z)));
        chart
            .draw_series(
                cells
                    .clone()
                    .map(|(x, y, z)| Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], z_colour(z).filled())),
            )
            .map_err(|e| e.to_string())?;
        let centred = (FONT, 11).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .draw_series(cells.map(|(x, y, z)| Text::new(format!("{z:+.1}"), (x, y), centred.clone())))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A sample of rows on the first two principal components, coloured by segment, with the
/// segment centres marked by black-edged crosses.
pub struct Scatter<'a> {
    pub points: &'a [[f64; 2]],
    pub labels: &'a [u32],
    pub centres: &'a [[f64; 2]],
    pub explained: [f64; 2],
    /// Each segment's id, for the legend.
    pub ids: &'a [u32],
}

/// The PCA scatter plot.
pub fn scatter(s: &Scatter) -> Result<String> {
    let all = s.points.iter().chain(s.centres);
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in all {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let pad = |a: usize| ((hi[a] - lo[a]) * 0.05).max(1e-6);
    let (x_range, y_range) = if lo[0].is_finite() {
        (lo[0] - pad(0)..hi[0] + pad(0), lo[1] - pad(1)..hi[1] + pad(1))
    } else {
        (-1.0..1.0, -1.0..1.0)
    };
    svg("PCA scatter", (720, 560), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{} sampled rows on the first two principal components", s.points.len()), (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range, y_range)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(format!("PC1 ({:.0}% of variance)", 100.0 * s.explained[0]))
            .y_desc(format!("PC2 ({:.0}% of variance)", 100.0 * s.explained[1]))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                s.points
                    .iter()
                    .zip(s.labels)
                    .map(|(p, &l)| Circle::new((p[0], p[1]), 2, segment_colour(l as usize).mix(0.6).filled())),
            )
            .map_err(|e| e.to_string())?;
        for (c, p) in s.centres.iter().enumerate() {
            chart
                .draw_series([
                    Cross::new((p[0], p[1]), 9, BLACK.stroke_width(5)),
                    Cross::new((p[0], p[1]), 8, segment_colour(c).stroke_width(3)),
                ])
                .map_err(|e| e.to_string())?
                .label(format!("segment {}", s.ids[c]))
                .legend(move |(x, y)| Circle::new((x, y), 5, segment_colour(c).filled()));
        }
        if !s.centres.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The Ward dendrogram of the segments with these `ids`: leaves at the bottom (named by
/// id), merge heights up the y axis.
pub fn dendrogram(merges: &[Merge], ids: &[u32]) -> Result<String> {
    let names: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    draw_tree(merges, &names, "Ward linkage of segment centres (weighted by size)", "segment", None)
}

/// The top of a fitted Ward tree (`truncated`: its last merges), each leaf named by its
/// row count, with the cut drawn as a red line at `cut_height`.
pub fn fitted_tree(truncated: &Truncated, cut_height: f64) -> Result<String> {
    let names: Vec<String> = truncated.leaf_sizes.iter().map(|n| format!("({n})")).collect();
    draw_tree(
        &truncated.merges,
        &names,
        "Ward tree (last merges; leaves show their rows)",
        "rows under each leaf",
        Some(cut_height),
    )
}

/// A dendrogram over leaves named `names` (by leaf id), optionally with a horizontal cut.
fn draw_tree(merges: &[Merge], names: &[String], title: &str, x_desc: &str, cut: Option<f64>) -> Result<String> {
    let k = names.len();
    let order = leaf_order(merges, k);
    let names: Vec<String> = order.iter().map(|&leaf| names[leaf].clone()).collect();
    // x of every node: leaves at their position, merges midway between their children.
    let mut x = vec![0.0; k + merges.len()];
    let mut y = vec![0.0; k + merges.len()];
    for (pos, &leaf) in order.iter().enumerate() {
        x[leaf] = pos as f64;
    }
    for (i, m) in merges.iter().enumerate() {
        x[k + i] = (x[m.left] + x[m.right]) / 2.0;
        y[k + i] = m.height;
    }
    let top = merges.iter().map(|m| m.height).chain(cut).fold(0.0, f64::max).max(1e-9) * 1.08;
    svg("dendrogram", (720, 360), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(categories(order.len()), 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .y_desc("Ward distance")
            .x_label_formatter(&|v| category_name(&names, *v))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(merges.iter().enumerate().map(|(i, m)| {
                let h = y[k + i];
                let path = vec![(x[m.left], y[m.left]), (x[m.left], h), (x[m.right], h), (x[m.right], y[m.right])];
                PathElement::new(path, BLACK.stroke_width(2))
            }))
            .map_err(|e| e.to_string())?;
        if let Some(h) = cut {
            let ends = vec![(-0.5, h), (order.len() as f64 - 0.5, h)];
            chart.draw_series([PathElement::new(ends, RED.stroke_width(2))]).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// A tick label: plain for moderate magnitudes, scientific otherwise.
fn short_number(v: f64) -> String {
    match v.abs() {
        a if a == 0.0 || (1e-2..100.0).contains(&a) => format!("{v:.3}"),
        a if (100.0..1e5).contains(&a) => format!("{v:.0}"),
        _ => format!("{v:.2e}"),
    }
}

/// One select-k curve: `values[i]` at `ks[i]`, the chosen k marked by a vertical line.
pub fn curve(title: &str, y_desc: &str, ks: &[usize], values: &[Option<f64>], chosen: usize) -> Result<String> {
    let points: Vec<(f64, f64)> =
        ks.iter().zip(values).filter_map(|(&k, v)| v.filter(|v| v.is_finite()).map(|v| (k as f64, v))).collect();
    let (mut lo, mut hi) =
        points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-9 * hi.abs().max(1.0));
    let (k_lo, k_hi) = (*ks.first().unwrap_or(&1) as f64, *ks.last().unwrap_or(&1) as f64);
    let key_ks: Vec<f64> = ks.iter().map(|&k| k as f64).collect();
    svg(title, (560, 320), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(ticked(k_lo - 0.5..k_hi + 0.5, key_ks), lo - pad..hi + pad)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("k")
            .y_desc(y_desc)
            .x_label_formatter(&|k| format!("{k:.0}"))
            .y_label_formatter(&|v| short_number(*v))
            .draw()
            .map_err(|e| e.to_string())?;
        let chosen_x = chosen as f64;
        chart
            .draw_series([PathElement::new(vec![(chosen_x, lo - pad), (chosen_x, hi + pad)], RED.stroke_width(2))])
            .map_err(|e| e.to_string())?;
        chart.draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2))).map_err(|e| e.to_string())?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, BLUE.filled()))).map_err(|e| e.to_string())?;
        Ok(())
    })
}
