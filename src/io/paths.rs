//! Output paths checked against the inputs a run reads.

use std::path::{Path, PathBuf};

use crate::error::{Error, Param, Result};

/// Refuses an output file that is an input or would land in an input folder.
pub fn ensure_not_input(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    let out = normalize(output);
    for input in inputs {
        let Ok(inp) = input.canonicalize() else {
            continue;
        };
        if inp == out || (inp.is_dir() && out.parent() == Some(inp.as_path())) {
            return Err(Error::param(
                Param::Out,
                format!(
                    "{} would overwrite or be read back as the input {}; choose an output outside the inputs",
                    output.display(),
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses `output` when it is, or is a folder holding, one of `fit_outputs`: the files the
/// fit that wrote `model` left beside it (model.json lists them), which a later run must
/// not replace.
pub fn ensure_not_fit_output(output: &Path, fit_outputs: &[PathBuf], model: &Path) -> Result<()> {
    let out = normalize(output);
    match fit_outputs.iter().find(|kept| kept.canonicalize().is_ok_and(|k| k.starts_with(&out))) {
        Some(kept) => Err(Error::param(
            Param::Out,
            format!(
                "{} would replace {}, an output of the fit that wrote {}; write to another folder",
                output.display(),
                kept.display(),
                model.display()
            ),
        )),
        None => Ok(()),
    }
}

/// Absolute form of a path that may not exist yet.
fn normalize(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match (parent.canonicalize(), p.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => p.to_path_buf(),
    }
}

/// A run's output folder: created when missing and, if the run fails, removed again (with
/// any parents it had to create) as long as nothing was written into it.
#[derive(Debug)]
pub struct OutputFolder {
    /// Folders this run created, deepest first.
    created: Vec<PathBuf>,
    keep: bool,
}

impl OutputFolder {
    /// Creates `path` (and missing parents). Something at `path` that is not a folder (a
    /// file, a device, a FIFO) is refused as a bad `--out`, never written into or over; a
    /// file among the parents stays an I/O error (the folder cannot be created).
    pub fn create(path: &Path) -> Result<Self> {
        if path.exists() && !path.is_dir() {
            return Err(Error::param(
                Param::Out,
                format!(
                    "{} exists and is not a folder (a file, device or pipe); give a new or existing folder",
                    path.display()
                ),
            ));
        }
        let mut created = Vec::new();
        let mut missing = Some(path);
        while let Some(dir) = missing.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            created.push(dir.to_path_buf());
            missing = dir.parent();
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        Ok(OutputFolder { created, keep: false })
    }

    /// The run succeeded: keep the folder.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for OutputFolder {
    fn drop(&mut self) {
        if !self.keep {
            // remove_dir refuses a folder that is not empty, so nothing written is lost.
            for dir in &self.created {
                if std::fs::remove_dir(dir).is_err() {
                    break;
                }
            }
        }
    }
}

/// Where `predict` writes: `out` itself, or `out/assignments.parquet` when `out` is a
/// folder (an existing one, or a path ending in a separator).
pub fn assignments_target(out: &Path, file_name: &str) -> PathBuf {
    let names_folder = out.is_dir() || out.as_os_str().to_string_lossy().ends_with(std::path::MAIN_SEPARATOR);
    if names_folder {
        out.join(file_name)
    } else {
        out.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_where_the_output_folder_goes_is_a_parameter_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.json");
        std::fs::write(&file, b"{}").unwrap();
        for (out, code) in [(file.clone(), 2), (file.join("deeper"), 4)] {
            let err = OutputFolder::create(&out).unwrap_err();
            assert_eq!(err.exit_code(), code, "{err}");
            assert!(err.to_string().contains("model.json"), "the message names the file: {err}");
        }
        assert_eq!(std::fs::read(&file).unwrap(), b"{}", "the file is left as it was");
    }

    #[test]
    fn a_failed_run_removes_the_folders_it_created_but_never_a_written_one() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        drop(OutputFolder::create(&deep).unwrap());
        assert!(!dir.path().join("a").exists());
        let kept = dir.path().join("kept");
        OutputFolder::create(&kept).unwrap().keep();
        assert!(kept.is_dir());
        let written = dir.path().join("written");
        let folder = OutputFolder::create(&written).unwrap();
        std::fs::write(written.join("x"), b"data").unwrap();
        drop(folder);
        assert!(written.join("x").exists());
    }

    #[test]
    fn an_output_equal_to_any_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.json");
        std::fs::write(&model, b"{}").unwrap();
        assert!(ensure_not_input(&model, &[dir.path().join("data.parquet"), model.clone()]).is_err());
        assert!(ensure_not_input(&dir.path().join("other.parquet"), &[model]).is_ok());
    }
}
