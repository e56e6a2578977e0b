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
