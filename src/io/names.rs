//! Segment names from a CSV file with a header `segment,name` (`fit --names`): keyed by
//! segment id, so they stay with a segment however its rows change. Every problem with the
//! file is invalid input data naming the file and row, found before anything is written.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};

/// Segment id → name.
pub type SegmentNames = BTreeMap<u32, String>;

/// The name of every segment id in `ids`: its given name, or "segment <id>".
pub fn display_names(names: &SegmentNames, ids: &[u32]) -> SegmentNames {
    ids.iter().map(|&s| (s, names.get(&s).cloned().unwrap_or_else(|| format!("segment {s}")))).collect()
}

/// The given name of each segment (ids in segment order; None where it has none).
pub fn given_names(names: &SegmentNames, ids: &[u32]) -> Vec<Option<String>> {
    ids.iter().map(|s| names.get(s).cloned()).collect()
}

/// Refuses names of segments that are not among `ids` (the fit's segment ids), naming
/// the file `path`.
pub fn check_known(path: &Path, names: &SegmentNames, ids: &[u32]) -> Result<()> {
    match names.keys().find(|s| !ids.contains(s)) {
        None => Ok(()),
        Some(s) => Err(Error::data(
            path.display(),
            format!(
                "segment {s} does not exist; this fit's segments are {}",
                ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Reads segment names from `path`. Not every segment needs a name; a missing column, an
/// id that is not a number, a segment named twice, an empty name or a name given to two
/// segments is refused ([`check_known`] refuses ids the fit does not have).
pub fn read_names(path: &Path) -> Result<SegmentNames> {
    let bad = |message: String| Error::data(path.display(), message);
    let open = || File::open(path).map_err(|e| Error::io(path, e));
    let format = arrow::csv::reader::Format::default().with_header(true);
    let (inferred, _) =
        format.infer_schema(open()?, Some(1)).map_err(|e| bad(format!("not a readable CSV ({e}); {HELP}")))?;
    let headers: Vec<String> = inferred.fields().iter().map(|f| f.name().trim().to_string()).collect();
    let position = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| bad(format!("has no '{name}' column (its columns: {}); {HELP}", headers.join(", "))))
    };
    let (segment_at, name_at) = (position("segment")?, position("name")?);
    let schema = Schema::new(headers.iter().map(|h| Field::new(h, DataType::Utf8, true)).collect::<Vec<_>>());
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(schema))
        .with_format(format)
        .build(open()?)
        .map_err(|e| bad(format!("not a readable CSV ({e}); {HELP}")))?;
    let mut names = SegmentNames::new();
    let mut row = 1; // the header is line 1
    for batch in reader {
        let batch = batch.map_err(|e| bad(format!("not a readable CSV ({e}); {HELP}")))?;
        let (ids, given) = (batch.column(segment_at).as_string::<i32>(), batch.column(name_at).as_string::<i32>());
        for i in 0..batch.num_rows() {
            row += 1;
            let id = if ids.is_null(i) { "" } else { ids.value(i).trim() };
            let name = if given.is_null(i) { "" } else { given.value(i).trim() };
            let segment: u32 =
                id.parse().map_err(|_| bad(format!("line {row}: segment '{id}' is not a segment number")))?;
            if name.is_empty() {
                return Err(bad(format!(
                    "line {row}: segment {segment} has an empty name; name it or leave the line out"
                )));
            }
            if let Some((other, _)) = names.iter().find(|(_, n)| n.as_str() == name) {
                return Err(bad(format!("line {row}: the name '{name}' is given to segments {other} and {segment}")));
            }
            if let Some(earlier) = names.insert(segment, name.to_string()) {
                return Err(bad(format!("line {row}: segment {segment} is named twice ('{earlier}' and '{name}')")));
            }
        }
    }
    Ok(names)
}

/// What a names file looks like.
const HELP: &str = "give a CSV file with a header line `segment,name` and one line per named segment";

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, k: u32) -> Result<SegmentNames> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("names.csv");
        std::fs::write(&path, text).unwrap();
        let names = read_names(&path)?;
        check_known(&path, &names, &(0..k).collect::<Vec<_>>())?;
        Ok(names)
    }

    #[test]
    fn names_are_read_by_segment_id_with_quotes_and_extra_columns() {
        let names = read("segment,name,note\n2,\"Champions, loyal\",x\n0,Lapsed,y\n", 3).unwrap();
        assert_eq!(names, SegmentNames::from([(0, "Lapsed".into()), (2, "Champions, loyal".into())]));
        let shown: Vec<String> = display_names(&names, &[0, 1, 2]).into_values().collect();
        assert_eq!(shown, ["Lapsed", "segment 1", "Champions, loyal"]);
    }

    #[test]
    fn a_bad_names_file_is_invalid_data_naming_the_line() {
        for (text, needle) in [
            ("segment,label\n0,a\n", "no 'name' column"),
            ("segment,name\n0,a\n4,b\n", "segment 4 does not exist; this fit's segments are 0, 1, 2"),
            ("segment,name\n1,a\n1,b\n", "segment 1 is named twice"),
            ("segment,name\n1,a\n2,a\n", "'a' is given to segments 1 and 2"),
            ("segment,name\none,a\n", "'one' is not a segment number"),
            ("segment,name\n1,\n", "empty name"),
        ] {
            let err = read(text, 3).unwrap_err();
            assert_eq!(err.exit_code(), 3, "{err}");
            assert!(err.to_string().contains(needle), "wanted '{needle}' in: {err}");
        }
    }
}
