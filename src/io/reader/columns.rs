//! Which columns a read takes, checked against a file's schema: numeric features (given or
//! every numeric column), categorical ones, the id and the weights; and, for the default
//! feature set, which numeric columns look like ids rather than features.

use std::collections::HashSet;
use std::path::Path;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, SchemaRef};

use super::ReadSpec;
use crate::error::{Error, Param, Result};

/// Whether a column type can be coerced to an f32 feature.
pub fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating() || matches!(t, DataType::Boolean) || is_decimal(t)
}

pub(super) fn is_decimal(t: &DataType) -> bool {
    matches!(t, DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..))
}

pub(super) fn is_string_like(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string_like(v),
        _ => false,
    }
}

/// Whether a column can be one-hot encoded: text, integer or boolean values, plain or
/// dictionary-encoded.
pub(super) fn is_categorical_type(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => is_categorical_type(v),
        t => is_string_like(t) || t.is_integer() || matches!(t, DataType::Boolean),
    }
}

/// The columns a read takes, as [`resolve_columns`] works them out.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Resolved {
    /// Numeric feature columns, in order.
    pub numeric: Vec<String>,
    /// Non-numeric columns left out of the default feature set, with their types.
    pub skipped: Vec<(String, DataType)>,
    /// Default features whose names suggest an id: refused if their values look like one.
    pub id_candidates: Vec<String>,
}

/// Refuses an empty name (a stray comma) or a name listed twice in `--features` or
/// `--categorical`.
pub(super) fn check_lists(spec: &ReadSpec) -> Result<()> {
    let lists =
        [(Param::Features, spec.features.as_deref().unwrap_or(&[])), (Param::Categorical, &spec.categorical[..])];
    for (param, list) in lists {
        if list.iter().any(|name| name.trim().is_empty()) {
            return Err(Error::param(
                param,
                "holds an empty column name (a stray or doubled comma?); list column names separated by single commas",
            ));
        }
        let mut seen = HashSet::new();
        if let Some(twice) = list.iter().find(|name| !seen.insert(name.as_str())) {
            return Err(Error::param(param, format!("'{twice}' is listed twice; list each column once")));
        }
    }
    Ok(())
}

/// The words of a column name, lower-cased: split at non-alphanumerics and camelCase humps
/// (`CustomerID` → customer, id; `order_key` → order, key).
fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            prev = None;
            continue;
        }
        let hump = c.is_uppercase() && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
        if prev.is_none() || hump {
            words.push(String::new());
        }
        words.last_mut().expect("pushed above").extend(c.to_lowercase());
        prev = Some(c);
    }
    words
}

/// A name that says "id" outright: `id`, or ending in the word id (`customer_id`,
/// `CustomerID`, `userId`), whatever the values.
pub fn is_id_name(name: &str) -> bool {
    name_words(name).last().is_some_and(|w| w == "id" || w == "ids")
}

/// A name that suggests an id (a word id, key, customer, uuid…): refused as a default
/// feature when its values are integral and nearly all distinct.
pub fn suggests_id(name: &str) -> bool {
    name_words(name).iter().any(|w| matches!(w.as_str(), "id" | "ids" | "key" | "customer" | "cust" | "uuid" | "guid"))
}

fn id_like_error(path: &Path, name: &str, why: &str) -> Error {
    Error::data(
        path.display(),
        format!(
            "column '{name}' looks like an id ({why}), not a feature: segmenting on it would be meaningless; \
             pass {id} {name} to carry it as the id, or list the features with {features}",
            id = Param::Id,
            features = Param::Features
        ),
    )
}

/// Share of distinct values among the non-null ones from which an integral column whose
/// name suggests an id is taken for one.
pub const ID_DISTINCT_SHARE: f64 = 0.95;
/// Non-null values looked at per id candidate (and the fewest needed to judge).
const ID_SAMPLE: usize = 1_000_000;
const ID_MIN_VALUES: usize = 20;

/// Watches the default features whose names suggest an id, batch by batch, and refuses one
/// whose values are integral and at least [`ID_DISTINCT_SHARE`] distinct.
pub(super) struct IdLikeCheck {
    columns: Vec<(String, IdStats)>,
}

#[derive(Default)]
struct IdStats {
    integral: bool,
    values: usize,
    distinct: HashSet<u64>,
}

impl IdLikeCheck {
    pub(super) fn new(candidates: &[String]) -> Self {
        IdLikeCheck {
            columns: candidates.iter().map(|c| (c.clone(), IdStats { integral: true, ..Default::default() })).collect(),
        }
    }

    /// Looks at one batch's candidate columns.
    pub(super) fn observe(&mut self, column: &dyn Fn(&str) -> ArrayRef) {
        for (name, stats) in self.columns.iter_mut().filter(|(_, s)| s.integral && s.values < ID_SAMPLE) {
            let Ok(values) = arrow::compute::cast(&column(name), &DataType::Float64) else {
                stats.integral = false;
                continue;
            };
            let values = values.as_primitive::<Float64Type>();
            for v in values.iter().flatten().take(ID_SAMPLE - stats.values) {
                if v.fract() != 0.0 || !v.is_finite() {
                    stats.integral = false;
                    break;
                }
                stats.values += 1;
                stats.distinct.insert(v.to_bits());
            }
        }
    }

    /// Whether every candidate has been judged already (so reading on cannot change it).
    pub(super) fn settled(&self) -> bool {
        self.columns.iter().all(|(_, s)| !s.integral || s.values >= ID_SAMPLE)
    }

    /// The error for the first candidate that looks like an id.
    pub(super) fn verdict(&self, path: &Path) -> Result<()> {
        for (name, s) in &self.columns {
            let share = s.distinct.len() as f64 / s.values.max(1) as f64;
            if s.integral && s.values >= ID_MIN_VALUES && share >= ID_DISTINCT_SHARE {
                let why = format!("whole numbers, {:.0}% of them distinct", 100.0 * share);
                return Err(id_like_error(path, name, &why));
            }
        }
        Ok(())
    }
}

/// Works out which columns to read from the first file's schema and checks their types.
pub(super) fn resolve_columns(spec: &ReadSpec, schema: &SchemaRef, path: &Path) -> Result<Resolved> {
    check_lists(spec)?;
    let where_ = path.display();
    let find = |name: &str, role: &str| -> Result<DataType> {
        schema.field_with_name(name).map(|f| f.data_type().clone()).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            Error::data(
                where_.to_string(),
                format!("{role} column '{name}' not found; columns are: {}", names.join(", ")),
            )
        })
    };
    if let Some(id) = &spec.id {
        let t = find(id, "id")?;
        if !(t.is_integer() || t.is_floating() || is_string_like(&t)) {
            return Err(Error::data(
                where_,
                format!("id column '{id}' has type {t}; an id must be an integer, string or whole-number float column (cast it, or choose another {})", Param::Id),
            ));
        }
    }
    if let Some(w) = &spec.weights {
        let t = find(w, "weights")?;
        if !is_numeric(&t) {
            return Err(Error::data(where_, format!("weights column '{w}' has type {t}; weights must be numeric")));
        }
    }
    for c in &spec.categorical {
        let t = find(c, "categorical")?;
        if !is_categorical_type(&t) {
            let hint =
                if t.is_floating() || is_decimal(&t) || matches!(&t, DataType::Dictionary(_, v) if v.is_floating()) {
                    format!(
                        "round it to whole numbers or bin it first, or pass it in {} as a numeric feature",
                        Param::Features
                    )
                } else {
                    "convert it to text or integers first".to_string()
                };
            return Err(Error::data(
                where_,
                format!(
                    "categorical column '{c}' has type {t}; one-hot needs text, integer or boolean values (plain or dictionary-encoded); {hint}"
                ),
            ));
        }
    }
    let taken = |name: &str| {
        spec.id.as_deref() == Some(name)
            || spec.weights.as_deref() == Some(name)
            || spec.categorical.iter().any(|c| c == name)
    };
    let mut skipped = Vec::new();
    let mut id_candidates = Vec::new();
    let numeric = match &spec.features {
        Some(list) => {
            for f in list {
                let t = find(f, "feature")?;
                if spec.categorical.contains(f) {
                    return Err(Error::param(
                        Param::Features,
                        format!("'{f}' is listed both as a numeric and as a categorical feature; keep it in one"),
                    ));
                }
                if !is_numeric(&t) {
                    let hint = if is_string_like(&t) {
                        format!(
                            "pass it with {} {f} to one-hot encode it, or leave it out of {}",
                            Param::Categorical,
                            Param::Features
                        )
                    } else {
                        format!(
                            "convert it to a number first (e.g. days since a date), or leave it out of {}",
                            Param::Features
                        )
                    };
                    return Err(Error::data(
                        where_,
                        format!("feature column '{f}' has type {t}, which is not numeric; {hint}"),
                    ));
                }
            }
            list.clone()
        }
        None => {
            let mut numeric = Vec::new();
            for f in schema.fields().iter().filter(|f| !taken(f.name())) {
                let name = f.name();
                if !is_numeric(f.data_type()) {
                    skipped.push((name.clone(), f.data_type().clone()));
                } else if is_id_name(name) {
                    return Err(id_like_error(path, name, "its name"));
                } else {
                    if suggests_id(name)
                        && (f.data_type().is_integer() || f.data_type().is_floating() || is_decimal(f.data_type()))
                    {
                        id_candidates.push(name.clone());
                    }
                    numeric.push(name.clone());
                }
            }
            numeric
        }
    };
    if numeric.is_empty() && spec.categorical.is_empty() {
        return Err(Error::data(
            where_,
            format!("no numeric feature columns found; name them with {} (or {})", Param::Features, Param::Categorical),
        ));
    }
    Ok(Resolved { numeric, skipped, id_candidates })
}

/// How to take a non-numeric column left out of the default features, for the log.
pub(super) fn skipped_hint(t: &DataType) -> String {
    if is_categorical_type(t) {
        format!("pass {} to one-hot encode it", Param::Categorical)
    } else {
        format!("convert it to a number (e.g. days since a date) to use it; {} takes text columns", Param::Categorical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_names_end_in_the_word_id() {
        for name in ["id", "ID", "customer_id", "CustomerID", "userId", "order-id"] {
            assert!(is_id_name(name), "{name}");
        }
        for name in ["paid", "PAID", "valid", "width", "idle_days", "identity"] {
            assert!(!is_id_name(name), "{name}");
        }
    }

    #[test]
    fn names_that_suggest_an_id_hold_a_word_such_as_key_or_customer() {
        for name in ["order_key", "CustomerNo", "customer", "ID_number", "cust_ref"] {
            assert!(suggests_id(name), "{name}");
        }
        for name in ["spend", "paid_amount", "keyword_count", "visits"] {
            assert!(!suggests_id(name), "{name}");
        }
    }
}
