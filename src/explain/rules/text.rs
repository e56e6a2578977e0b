//! Rule text: conditions written for people ("monetary > 1,250", "region = north") and
//! read back into the same conditions.

use super::{Condition, Op};
use crate::explain::labels::{percent, with_thousands};

/// The conditions of a path with, per feature, only the tightest bound of each direction
/// (x > 3 and x > 5 → x > 5), in the order the features first appear.
pub fn simplify(path: &[Condition]) -> Vec<Condition> {
    let mut out: Vec<Condition> = Vec::new();
    for c in path {
        let same = out.iter_mut().find(|o| o.feature == c.feature && o.op == c.op);
        match (same, c.op) {
            (Some(o), Op::AtMost) => o.threshold = bound(o.threshold, c.threshold, f64::min),
            (Some(o), Op::Above) => o.threshold = bound(o.threshold, c.threshold, f64::max),
            (Some(_), _) => {}
            (None, _) => out.push(c.clone()),
        }
    }
    out
}

fn bound(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// A threshold as its shortest exact decimal with thousands separators ("1,250", "0.35").
pub fn threshold_text(t: f64) -> String {
    with_thousands(&format!("{t}"))
}

/// One condition as text.
pub fn condition_text(c: &Condition) -> String {
    let (column, level) = c.feature.split_once('=').unwrap_or((&c.feature, ""));
    match (c.op, c.threshold) {
        (Op::Is, _) => format!("{column} = {level}"),
        (Op::IsNot, _) => format!("{column} ≠ {level}"),
        (Op::AtMost, Some(t)) => format!("{} ≤ {}", c.feature, threshold_text(t)),
        (Op::Above, Some(t)) => format!("{} > {}", c.feature, threshold_text(t)),
        (_, None) => c.feature.clone(),
    }
}

/// "a > 1 and b ≤ 2 → segment 2 (name), covers 91 % of it, 96 % precise".
pub fn rule_text(conditions: &[Condition], segment: u32, name: Option<&str>, covers: f64, precision: f64) -> String {
    let when = if conditions.is_empty() {
        EVERY_CUSTOMER.to_string()
    } else {
        conditions.iter().map(condition_text).collect::<Vec<_>>().join(" and ")
    };
    let name = name.map(|n| format!(" ({n})")).unwrap_or_default();
    format!("{when} → segment {segment}{name}, covers {} of it, {} precise", percent(covers), percent(precision))
}

/// The condition part of a rule whose tree is a single leaf.
const EVERY_CUSTOMER: &str = "every customer";

/// Rule text that does not read back as conditions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{0}' is not a condition like 'monetary > 1,250' or 'region = north'")]
pub struct ParseError(pub String);

/// The conditions of a rule's text (everything before " → "); `column = level` reads as the
/// one-hot feature `column=level`.
pub fn parse_conditions(rule: &str) -> Result<Vec<Condition>, ParseError> {
    let when = rule.split_once(" → ").map_or(rule, |(w, _)| w).trim();
    if when == EVERY_CUSTOMER {
        return Ok(Vec::new());
    }
    when.split(" and ").map(parse_condition).collect()
}

fn parse_condition(text: &str) -> Result<Condition, ParseError> {
    let bad = || ParseError(text.to_string());
    for (symbol, op) in [(" ≤ ", Op::AtMost), (" > ", Op::Above), (" = ", Op::Is), (" ≠ ", Op::IsNot)] {
        let Some((feature, value)) = text.rsplit_once(symbol) else { continue };
        return Ok(match op {
            Op::AtMost | Op::Above => Condition {
                feature: feature.to_string(),
                op,
                threshold: Some(value.replace(',', "").parse().map_err(|_| bad())?),
            },
            Op::Is | Op::IsNot => Condition { feature: format!("{feature}={value}"), op, threshold: None },
        });
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(feature: &str, op: Op, t: f64) -> Condition {
        Condition { feature: feature.into(), op, threshold: Some(t) }
    }

    #[test]
    fn rule_text_reads_back_as_the_same_conditions() {
        let conditions = vec![
            numeric("monetary", Op::Above, 1250.0),
            numeric("recency_days", Op::AtMost, 30.0),
            numeric("online_share", Op::AtMost, 0.35),
            numeric("balance", Op::Above, -1234.5),
            Condition { feature: "region=north".into(), op: Op::IsNot, threshold: None },
            Condition { feature: "region=online-only".into(), op: Op::Is, threshold: None },
        ];
        let text = rule_text(&conditions, 2, Some("Champions"), 0.914, 0.96);
        assert_eq!(
            text,
            "monetary > 1,250 and recency_days ≤ 30 and online_share ≤ 0.35 and balance > -1,234.5 and \
             region ≠ north and region = online-only → segment 2 (Champions), covers 91 % of it, 96 % precise"
        );
        assert_eq!(parse_conditions(&text).unwrap(), conditions);
        assert_eq!(parse_conditions(&rule_text(&[], 0, None, 1.0, 0.5)).unwrap(), vec![]);
        assert!(parse_conditions("monetary is big → segment 1").is_err());
    }

    #[test]
    fn a_path_keeps_the_tightest_bound_per_feature_and_direction() {
        let path = [
            numeric("x", Op::Above, 3.0),
            numeric("y", Op::AtMost, 9.0),
            numeric("x", Op::Above, 5.0),
            numeric("x", Op::AtMost, 8.0),
            numeric("y", Op::AtMost, 7.0),
        ];
        let simple = simplify(&path);
        assert_eq!(
            simple,
            vec![numeric("x", Op::Above, 5.0), numeric("y", Op::AtMost, 7.0), numeric("x", Op::AtMost, 8.0)]
        );
    }
}
