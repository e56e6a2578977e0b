//! Words a marketer reads: numbers in original units with sensible precision, a phrase per
//! feature that gives the segment's typical value next to the base's ("last purchase 210
//! days ago vs 48"), and which category levels are well-supported enough to name.
//!
//! A level is named only when it is common in the segment, not merely more common than in
//! the base: at least [`MIN_LEVEL_CUSTOMERS`] customers of the segment have it, and it is
//! either a majority of the segment ([`MAJORITY_SHARE`], and at least [`MAJORITY_MIN_LIFT`]
//! times its base share) or a strong, well-supported over-representation (at least
//! [`OVER_SHARE`] of the segment and [`OVER_LIFT`] times its base share). Lift alone never
//! suffices: 1 customer of 1,001 from Bahrain is not "mostly Bahrain".

/// Fewest customers of a segment that must have a level before it is named.
pub const MIN_LEVEL_CUSTOMERS: u64 = 20;
/// Share of a segment that makes a level its majority.
pub const MAJORITY_SHARE: f64 = 0.5;
/// A majority level is named only when it is at least this much more common than in the
/// base (a level most of the base has says nothing about one segment).
pub const MAJORITY_MIN_LIFT: f64 = 1.1;
/// Least share of a segment for an over-represented (not majority) level to be named.
pub const OVER_SHARE: f64 = 0.25;
/// Least lift for an over-represented (not majority) level to be named.
pub const OVER_LIFT: f64 = 2.0;

/// Whether a level held by `customers` of a segment (`share` of it, `lift` times its base
/// share) is well-supported enough to name.
pub fn level_is_named(customers: u64, share: f64, lift: f64) -> bool {
    customers >= MIN_LEVEL_CUSTOMERS
        && ((share >= MAJORITY_SHARE && lift >= MAJORITY_MIN_LIFT) || (share >= OVER_SHARE && lift >= OVER_LIFT))
}

/// A share as a whole percentage with a space, as the report writes it ("62 %").
pub fn percent(share: f64) -> String {
    format!("{:.0} %", 100.0 * share)
}

/// A value in original units with three significant digits, thousands separators, no
/// exponent and no trailing zeros: 210.999999 → "211", 4123.4 → "4,120", 0.03456 → "0.0346".
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 12) as usize;
    let rounded = if magnitude >= 3 {
        let step = 10f64.powi(magnitude - 2);
        (v / step).round() * step
    } else {
        v
    };
    let text = format!("{rounded:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text };
    with_thousands(&text)
}

/// `text` (a plain decimal) with commas between thousands of its integer part.
pub fn with_thousands(text: &str) -> String {
    let (sign, rest) = text.strip_prefix('-').map_or(("", text), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// The time unit a column name carries ("recency_days" → "days"), if any.
fn time_unit(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    ["days", "weeks", "months", "years", "hours"]
        .into_iter()
        .find(|u| lower.contains(u) || lower.contains(&u[..u.len() - 1]))
}

/// What a feature measures, guessed from its name.
enum Meaning {
    /// Time since the last purchase (recency, days_since_last, …).
    SinceLast(&'static str),
    /// Time since the first purchase (tenure, customer age).
    Tenure(&'static str),
    Other,
}

fn meaning(name: &str) -> Meaning {
    let lower = name.to_ascii_lowercase();
    let unit = time_unit(&lower);
    let since_last = ["recency", "since_last", "days_since", "last_purchase", "since last"];
    let since_first = ["tenure", "since_first", "first_purchase", "since first"];
    match unit {
        Some(u) if since_first.iter().any(|w| lower.contains(w)) => Meaning::Tenure(u),
        Some(u) if since_last.iter().any(|w| lower.contains(w)) => Meaning::SinceLast(u),
        _ => Meaning::Other,
    }
}

/// The descriptor part for numeric feature `name`: the segment's typical value next to
/// the base's, in words that fix the direction ("last purchase 210 days ago vs 48").
pub fn feature_phrase(name: &str, segment: f64, base: f64) -> String {
    let (s, b) = (number(segment), number(base));
    match meaning(name) {
        Meaning::SinceLast(unit) => format!("last purchase {s} {unit} ago vs {b}"),
        Meaning::Tenure(unit) => format!("customer for {s} {unit} vs {b}"),
        Meaning::Other => format!("{name} {s} vs {b}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_three_significant_digits_and_thousands_separators() {
        assert_eq!(number(210.999999), "211");
        assert_eq!(number(4123.4), "4,120");
        assert_eq!(number(1_234_567.0), "1,230,000");
        assert_eq!(number(48.0), "48");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(0.03456), "0.0346");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(999.6), "1,000");
    }

    #[test]
    fn phrases_take_their_wording_from_the_column_name() {
        assert_eq!(feature_phrase("recency_days", 210.2, 48.0), "last purchase 210 days ago vs 48");
        assert_eq!(feature_phrase("days_since_last", 3.0, 30.0), "last purchase 3 days ago vs 30");
        assert_eq!(feature_phrase("tenure_days", 1600.0, 700.0), "customer for 1,600 days vs 700");
        assert_eq!(feature_phrase("days_since_first", 90.0, 700.0), "customer for 90 days vs 700");
        assert_eq!(feature_phrase("monetary", 4100.0, 640.0), "monetary 4,100 vs 640");
        assert_eq!(feature_phrase("recency", 4.0, 2.0), "recency 4 vs 2", "no unit, no guess");
    }

    #[test]
    fn lift_alone_never_names_a_level() {
        assert!(!level_is_named(2, 0.002, 6.0), "0.2 % of a segment with lift 6");
        assert!(!level_is_named(3, 0.9, 3.0), "too few customers");
        assert!(level_is_named(700, 0.7, 1.5), "a 70 % majority");
        assert!(!level_is_named(900, 0.9, 1.0), "a majority everywhere says nothing about one segment");
        assert!(level_is_named(300, 0.3, 2.5), "a strong over-representation");
        assert!(!level_is_named(300, 0.2, 5.0), "too small a share");
    }
}
