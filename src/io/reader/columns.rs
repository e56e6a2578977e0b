//! Which columns a read takes, checked against a file's schema: numeric features (given or
//! every numeric column), categorical ones, the id and the weights.

use std::path::Path;

use arrow::datatypes::{DataType, SchemaRef};

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

/// Works out which columns to read from the first file's schema and checks their types.
pub(super) fn resolve_columns(spec: &ReadSpec, schema: &SchemaRef, path: &Path) -> Result<Vec<String>> {
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
        if !(t.is_integer() || is_string_like(&t)) {
            return Err(Error::data(
                where_,
                format!("id column '{id}' has type {t}; an id must be an integer or string column (cast it, or choose another {})", Param::Id),
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
        if !(is_string_like(&t) || t.is_integer() || matches!(t, DataType::Boolean)) {
            return Err(Error::data(
                where_,
                format!("categorical column '{c}' has type {t}; one-hot needs a string, dictionary, integer or boolean column"),
            ));
        }
    }
    let taken = |name: &str| {
        spec.id.as_deref() == Some(name)
            || spec.weights.as_deref() == Some(name)
            || spec.categorical.iter().any(|c| c == name)
    };
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
        None => schema
            .fields()
            .iter()
            .filter(|f| is_numeric(f.data_type()) && !taken(f.name()))
            .map(|f| f.name().clone())
            .collect(),
    };
    if numeric.is_empty() && spec.categorical.is_empty() {
        return Err(Error::data(
            where_,
            format!("no numeric feature columns found; name them with {} (or {})", Param::Features, Param::Categorical),
        ));
    }
    Ok(numeric)
}
