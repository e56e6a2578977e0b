//! Rules that reproduce the segments: a small classification tree ([`tree`], CART with the
//! Gini impurity and a joint search of its last two levels, depth ≤ 3 by default) grown on the features in original units, written
//! as one plain rule per leaf ("monetary > 1,250 and recency_days ≤ 30 → segment 2,
//! covers 91 % of it, 96 % precise"), with the tree's overall fidelity (the share of rows
//! whose segment it predicts). Beyond [`RULES_SAMPLE`] rows the tree is grown on a seeded
//! sample of distinct rows. The rule text parses back ([`parse_conditions`]) to exactly
//! the predicate the tree applies.

mod lookahead;
mod text;
pub mod tree;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use text::{parse_conditions, ParseError};

use crate::data::Dataset;
use crate::prep::Prep;
use tree::{Growth, Node};

/// Most rows the tree is grown on (a seeded sample of distinct rows beyond).
pub const RULES_SAMPLE: usize = 200_000;
/// Depth of the tree unless asked otherwise.
pub const DEFAULT_DEPTH: usize = 3;
/// Deepest tree asked for (2⁸ leaves is already more rules than anyone reads).
pub const MAX_DEPTH: usize = 8;
/// A leaf holds at least this share of the rows (and at least one row).
const MIN_LEAF_SHARE: f64 = 0.005;

/// How a condition compares a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">")]
    Above,
    /// A one-hot column (`column=level`) is set: the row has that level.
    #[serde(rename = "=")]
    Is,
    /// The row does not have that level.
    #[serde(rename = "!=")]
    IsNot,
}

/// One condition of a rule, on a feature in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// The feature's name (`column=level` for a level).
    pub feature: String,
    pub op: Op,
    /// Numeric conditions' threshold (None for levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

impl Condition {
    /// Whether a row whose feature has `value` meets the condition.
    pub fn holds(&self, value: f64) -> bool {
        match (self.op, self.threshold) {
            (Op::AtMost, Some(t)) => value <= t,
            (Op::Above, Some(t)) => value > t,
            (Op::Is, _) => value > 0.5,
            (Op::IsNot, _) => value <= 0.5,
            _ => false,
        }
    }
}

/// One leaf of the tree as a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub segment: u32,
    /// "monetary > 1,250 and recency_days ≤ 30 → segment 2, covers 91 % of it, 96 % precise".
    pub text: String,
    pub conditions: Vec<Condition>,
    /// Rows (of those the tree was grown on) the conditions select.
    pub rows: u64,
    /// Share of the segment's rows the rule selects.
    pub covers: f64,
    /// Share of the rows the rule selects that are in the segment.
    pub precision: f64,
}

/// The rules of one fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    pub depth: usize,
    /// Rows the tree was grown on.
    pub rows: u64,
    /// Share of those rows whose segment the tree predicts.
    pub fidelity: f64,
    /// By segment, then by coverage (largest first).
    pub rules: Vec<Rule>,
}

/// Grows the rules for the segments `labels` (per chunk, segment indices) give the rows of
/// `data`; rules name segment `c` by its id `segments.ids[c]`, followed by its name when
/// it has one.
pub fn explain(
    prep: &Prep,
    data: &Dataset,
    labels: &[Vec<u32>],
    segments: &SegmentLabels,
    depth: usize,
    seed: u64,
) -> RuleSet {
    let (columns, sample) = original_columns(prep, data, labels, seed);
    let features = Features { names: &prep.feature_names(), numeric: prep.numeric.len() };
    explain_columns(&columns, &sample, segments, depth, &features)
}

/// How rules name the segments: index `c`'s id and (optional) name.
pub struct SegmentLabels {
    pub ids: Vec<u32>,
    pub names: Vec<Option<String>>,
}

/// The features the tree splits on: their names, the first `numeric` numeric and the rest
/// one-hot (`column=level`, values 0 or 1).
pub struct Features<'a> {
    pub names: &'a [String],
    pub numeric: usize,
}

/// [`explain`] on values already in original units: one `Vec` per feature, and `labels`.
pub fn explain_columns(
    columns: &[Vec<f64>],
    labels: &[u32],
    segments: &SegmentLabels,
    depth: usize,
    features: &Features,
) -> RuleSet {
    let k = segments.ids.len();
    let growth = Growth { max_depth: depth, min_leaf: ((labels.len() as f64 * MIN_LEAF_SHARE) as usize).max(1) };
    let root = tree::grow(columns, labels, k, growth);
    let right = (0..labels.len()).filter(|&i| tree::predict(&root, &|j| columns[j][i]) == labels[i]).count();
    let mut sizes = vec![0u64; k];
    labels.iter().for_each(|&s| sizes[s as usize] += 1);
    let mut rules = Vec::new();
    collect_rules(&root, features, &mut Vec::new(), &sizes, segments, &mut rules);
    rules.sort_by(|a, b| a.segment.cmp(&b.segment).then(b.covers.total_cmp(&a.covers)));
    RuleSet {
        depth,
        rows: labels.len() as u64,
        fidelity: if labels.is_empty() { 1.0 } else { right as f64 / labels.len() as f64 },
        rules,
    }
}

/// The sampled rows' features in original units (numeric columns un-transformed, one-hot
/// columns as 0/1), one `Vec` per feature, and their segments.
fn original_columns(prep: &Prep, data: &Dataset, labels: &[Vec<u32>], seed: u64) -> (Vec<Vec<f64>>, Vec<u32>) {
    let d = data.dim();
    let rows = crate::rng::distinct_rows(data.rows(), RULES_SAMPLE, seed);
    let mut columns = vec![Vec::with_capacity(rows.len()); d];
    let mut sample = Vec::with_capacity(rows.len());
    let (mut next, mut first) = (0usize, 0usize);
    for (chunk, chunk_labels) in data.stream().zip(labels) {
        for (local, (x, &l)) in chunk.values.chunks_exact(d).zip(chunk_labels).enumerate() {
            if rows.get(next) != Some(&(first + local)) {
                continue;
            }
            next += 1;
            sample.push(l);
            for (column, &v) in columns.iter_mut().zip(x) {
                column.push(v as f64);
            }
        }
        first += chunk_labels.len();
    }
    // Back to original units, a column per thread (`snap` formats and parses every value).
    columns.par_iter_mut().enumerate().for_each(|(j, column)| {
        if let Some(col) = prep.numeric.get(j) {
            column.iter_mut().for_each(|v| *v = snap(col.inverse(*v)));
        }
    });
    (columns, sample)
}

/// `v` as its nearest 6-significant-digit decimal when that is within 10⁻⁶ of it (relative):
/// values mapped back from f32 (1.0000001 for 1 order) read as the data had them, so a rule
/// says `orders ≤ 1`, not `orders ≤ 1.1`.
fn snap(v: f64) -> f64 {
    let short: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    if (short - v).abs() <= 1e-6 * v.abs() {
        short
    } else {
        v
    }
}

/// One rule per leaf under `node`, reached through the conditions in `path`.
fn collect_rules(
    node: &Node,
    features: &Features,
    path: &mut Vec<Condition>,
    sizes: &[u64],
    segments: &SegmentLabels,
    out: &mut Vec<Rule>,
) {
    match node {
        Node::Leaf { segment, counts } => {
            let conditions = text::simplify(path);
            let rows: u64 = counts.iter().sum();
            let hits = counts[*segment as usize];
            let covers = if sizes[*segment as usize] > 0 { hits as f64 / sizes[*segment as usize] as f64 } else { 0.0 };
            let precision = if rows > 0 { hits as f64 / rows as f64 } else { 0.0 };
            let (id, name) = (segments.ids[*segment as usize], segments.names[*segment as usize].as_deref());
            let text = text::rule_text(&conditions, id, name, covers, precision);
            out.push(Rule { segment: id, text, conditions, rows, covers, precision });
        }
        Node::Split { column, threshold, left, right } => {
            let feature = features.names[*column].clone();
            let hot = *column >= features.numeric;
            for (side, op) in
                [(left, if hot { Op::IsNot } else { Op::AtMost }), (right, if hot { Op::Is } else { Op::Above })]
            {
                let threshold = (!hot).then_some(*threshold);
                path.push(Condition { feature: feature.clone(), op, threshold });
                collect_rules(side, features, path, sizes, segments, out);
                path.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_mapped_back_from_f32_snap_to_what_the_data_had() {
        assert_eq!(snap(1.000_000_1), 1.0);
        assert_eq!(snap(29.999_999), 30.0);
        assert_eq!(snap(1234.5677), 1234.5677, "a real fraction is kept");
        assert_eq!(snap(0.0), 0.0);
    }

    #[test]
    fn every_rule_text_parses_back_to_the_rows_of_its_leaf() {
        // Two numeric features and a two-level one-hot column; segments depend on all three.
        let mut rng = crate::rng::Rng::new(5);
        let n = 3000;
        let (mut spend, mut days, mut north, mut south, mut labels) = (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let (s, d, is_north) = (rng.uniform() * 5000.0, (rng.uniform() * 365.0).round(), rng.uniform() < 0.4);
            spend.push(s);
            days.push(d);
            north.push(if is_north { 1.0 } else { 0.0 });
            south.push(if is_north { 0.0 } else { 1.0 });
            labels.push(if d > 180.0 {
                0
            } else if s > 1250.0 {
                1
            } else if is_north {
                2
            } else {
                3
            });
        }
        let columns = vec![spend, days, north, south];
        let names: Vec<String> = ["spend", "days_since_last", "region=north", "region=south"].map(String::from).into();
        let features = Features { names: &names, numeric: 2 };
        let segments =
            SegmentLabels { ids: vec![0, 1, 2, 3], names: vec![None, Some("Big spenders".into()), None, None] };
        let rules = explain_columns(&columns, &labels, &segments, 3, &features);
        assert_eq!(rules.fidelity, 1.0, "{rules:#?}");
        let mut matched = vec![0usize; n];
        for rule in &rules.rules {
            let conditions = parse_conditions(&rule.text).unwrap();
            assert_eq!(conditions, rule.conditions, "{}", rule.text);
            let rows: Vec<usize> = (0..n)
                .filter(|&i| {
                    conditions.iter().all(|c| c.holds(columns[names.iter().position(|f| *f == c.feature).unwrap()][i]))
                })
                .collect();
            assert_eq!(rows.len() as u64, rule.rows, "{}", rule.text);
            let hits = rows.iter().filter(|&&i| labels[i] == rule.segment).count();
            assert_eq!(hits as f64 / rows.len() as f64, rule.precision, "{}", rule.text);
            rows.iter().for_each(|&i| matched[i] += 1);
        }
        assert!(matched.iter().all(|&m| m == 1), "every row meets exactly one rule");
        let big = rules.rules.iter().find(|r| r.segment == 1).unwrap();
        assert!(big.text.contains("spend > 1,250") && big.text.contains("days_since_last ≤ 180"), "{}", big.text);
        assert!(big.text.contains("→ segment 1 (Big spenders), covers 100 % of it, 100 % precise"), "{}", big.text);
    }
}
