//! Which files an input names: folders expanded, hidden files skipped, the format of each
//! file told from its extension (and its first bytes, to say what a wrong file looks like).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Param, Result};

/// The formats custseg reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    /// Comma-separated text with a header line.
    Csv,
}

impl Format {
    /// The format a file name says (`.csv`, case-insensitively, is CSV; anything else Parquet).
    pub fn of(path: &Path) -> Format {
        match path.extension() {
            Some(x) if x.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Parquet,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Parquet => "Parquet",
            Format::Csv => "CSV",
        }
    }
}

/// The input files in read order, all of one format, and how many hidden files were skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFiles {
    pub format: Format,
    pub paths: Vec<PathBuf>,
    /// Files named `.…` or `_…` in a folder, left out as pyarrow and Spark leave them out.
    pub hidden: usize,
}

/// Whether a folder entry is hidden from readers (pyarrow and Spark skip `.x` and `_x`).
fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
}

fn is_table_file(path: &Path) -> bool {
    path.extension().is_some_and(|x| x.eq_ignore_ascii_case("parquet") || x.eq_ignore_ascii_case("csv"))
}

/// Refuses what cannot be read as a regular file: a dangling symlink, a symlink loop, a
/// FIFO, a socket, a device or a folder, naming it (reading a FIFO would block forever).
fn check_regular(path: &Path) -> Result<()> {
    let link = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if link.file_type().is_symlink() => {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "its target does not exist".to_string()
            } else {
                format!("it cannot be followed ({e}; a symlink loop?)")
            };
            return Err(Error::data(
                path.display(),
                format!("is a symbolic link but {why}; fix or remove the link, or move it out of the input"),
            ));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.is_file() {
        return Ok(());
    }
    let kind = {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_dir() {
            "a folder"
        } else if t.is_fifo() {
            "a FIFO (named pipe)"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else {
            "not a regular file"
        }
    };
    Err(Error::data(
        path.display(),
        format!(
            "is {kind}, not a regular file; custseg reads Parquet and CSV files: remove it or move it out of the input"
        ),
    ))
}

/// Expands folders into their `.parquet` or `.csv` files (sorted by name, hidden ones
/// skipped), checks each is a regular file, and that all are of one format.
pub fn list_input_files(inputs: &[PathBuf]) -> Result<InputFiles> {
    if inputs.is_empty() {
        return Err(Error::param(Param::Input, "give at least one input file or folder"));
    }
    let mut paths = Vec::new();
    let mut hidden = 0;
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(input).map_err(|e| Error::io(input, e))? {
                let path = entry.map_err(|e| Error::io(input, e))?.path();
                if !is_table_file(&path) {
                    continue;
                }
                if is_hidden(&path) {
                    hidden += 1;
                    continue;
                }
                check_regular(&path)?;
                found.push(path);
            }
            if found.is_empty() {
                return Err(Error::data(
                    input.display(),
                    format!(
                        "this folder holds no .parquet or .csv files{}; point {} at a Parquet or CSV file or a folder of them",
                        if hidden > 0 { " (only hidden ones, named .… or _…, which are skipped)" } else { "" },
                        Param::Input
                    ),
                ));
            }
            found.sort();
            paths.extend(found);
        } else {
            check_regular(input)?;
            paths.push(input.clone());
        }
    }
    let format = Format::of(&paths[0]);
    if let Some(other) = paths.iter().find(|p| Format::of(p) != format) {
        return Err(Error::data(
            other.display(),
            format!(
                "is {} but {} is {}; files read together must be of one format: convert them, or read them in separate runs",
                Format::of(other).name(),
                paths[0].display(),
                format.name()
            ),
        ));
    }
    Ok(InputFiles { format, paths, hidden })
}

/// What the first bytes of a file that should be a table look like, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// Starts with the Parquet magic `PAR1`.
    Parquet,
    Empty,
    /// Text starting with `{` or `[`.
    Json,
    /// Text with a first line of comma-, tab- or semicolon-separated names (shown).
    Csv(String),
    /// Other text.
    Text,
    Binary,
}

impl Sniffed {
    /// Reads the start of `path` (up to 4 KiB).
    pub fn file(path: &Path) -> Result<Sniffed> {
        let mut head = Vec::with_capacity(4096);
        std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head)).map_err(|e| Error::io(path, e))?;
        Ok(Sniffed::bytes(&head))
    }

    /// Classifies the first bytes of a file.
    pub fn bytes(head: &[u8]) -> Sniffed {
        if head.starts_with(b"PAR1") {
            return Sniffed::Parquet;
        }
        let text = match std::str::from_utf8(head) {
            Ok(t) => t,
            // A multi-byte character cut at the 4 KiB boundary is still text.
            Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
            Err(_) => return Sniffed::Binary,
        };
        let text = text.trim_start_matches('\u{feff}');
        if text.trim().is_empty() {
            return if head.is_empty() { Sniffed::Empty } else { Sniffed::Text };
        }
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Sniffed::Binary;
        }
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Sniffed::Json;
        }
        let first = trimmed.lines().next().unwrap_or("");
        if [',', '\t', ';'].iter().any(|&d| first.contains(d)) {
            let shown: String = first.chars().take(80).collect();
            return Sniffed::Csv(shown);
        }
        Sniffed::Text
    }

    /// "it looks like …", for messages.
    pub fn describe(&self) -> String {
        match self {
            Sniffed::Parquet => "it starts like a Parquet file".into(),
            Sniffed::Empty => "it is empty".into(),
            Sniffed::Json => "it looks like JSON text (a model.json?)".into(),
            Sniffed::Csv(first) => format!("it looks like CSV text (first line: '{first}')"),
            Sniffed::Text => "it looks like plain text".into(),
            Sniffed::Binary => "it is binary data without the Parquet magic bytes PAR1".into(),
        }
    }
}

/// Refuses a file named as Parquet that does not start with the Parquet magic, saying what
/// it looks like (a CSV or a model.json given by mistake) instead of "corrupt footer".
pub fn ensure_parquet(path: &Path) -> Result<()> {
    let sniffed = Sniffed::file(path)?;
    if sniffed == Sniffed::Parquet {
        return Ok(());
    }
    let hint = match sniffed {
        Sniffed::Csv(_) => " (a CSV file is read when its name ends in .csv: rename it)",
        _ => "",
    };
    Err(Error::data(
        path.display(),
        format!(
            "cannot read as Parquet: {}; custseg reads Parquet files and CSV files named *.csv{hint}",
            sniffed.describe()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_tells_parquet_csv_json_and_binary_apart() {
        assert_eq!(Sniffed::bytes(b"PAR1\x15\x04"), Sniffed::Parquet);
        assert_eq!(Sniffed::bytes(b"id,x\n1,2\n"), Sniffed::Csv("id,x".into()));
        assert_eq!(Sniffed::bytes(b"  {\"format\": 2}"), Sniffed::Json);
        assert_eq!(Sniffed::bytes(b""), Sniffed::Empty);
        assert_eq!(Sniffed::bytes(b"\x00\x01\x02\xff"), Sniffed::Binary);
        assert_eq!(Sniffed::bytes(b"hello"), Sniffed::Text);
    }

    #[test]
    fn hidden_names_start_with_a_dot_or_an_underscore() {
        assert!(is_hidden(Path::new("d/.part.parquet")));
        assert!(is_hidden(Path::new("d/_tmp.parquet")));
        assert!(!is_hidden(Path::new("d/part_1.parquet")));
    }
}
