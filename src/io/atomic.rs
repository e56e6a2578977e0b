//! Files that appear complete or not at all: written under a temporary name in the target
//! folder, flushed to disk, then renamed into place. Dropped uncommitted, the temporary
//! file is removed, so an error never leaves a half-written output behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The temporary name of an output being written; removed on drop unless committed.
#[derive(Debug)]
pub struct TempPath {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl TempPath {
    /// Creates the temporary file for `target` (whose folder must exist).
    pub fn create(target: &Path) -> Result<(Self, File)> {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
        Ok((TempPath { target: target.to_path_buf(), temp, committed: false }, file))
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Syncs `file` (the one [`TempPath::create`] returned, fully written) and renames it
    /// into place.
    pub fn commit(self, file: File) -> Result<PathBuf> {
        self.stage(file)?.commit()
    }

    /// Syncs `file` to disk; the rename happens in [`Staged::commit`], so several outputs
    /// can be completed first and then moved into place together.
    pub fn stage(self, file: File) -> Result<Staged> {
        file.sync_all().map_err(|e| Error::io(&self.temp, e))?;
        Ok(Staged { path: self })
    }
}

/// A complete output on disk under its temporary name, waiting to be renamed into place.
#[derive(Debug)]
pub struct Staged {
    path: TempPath,
}

impl Staged {
    /// The final path.
    pub fn target(&self) -> &Path {
        &self.path.target
    }

    /// Renames the file into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let p = &mut self.path;
        std::fs::rename(&p.temp, &p.target).map_err(|e| Error::io(&p.target, e))?;
        p.committed = true;
        if let Some(dir) = p.target.parent() {
            // Persist the rename itself; not every platform can open a folder, so best effort.
            if let Ok(d) = File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) {
                let _ = d.sync_all();
            }
        }
        Ok(p.target.clone())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A buffered file written under a temporary name until [`AtomicFile::commit`].
#[derive(Debug)]
pub struct AtomicFile {
    path: TempPath,
    writer: BufWriter<File>,
}

impl AtomicFile {
    /// Starts writing `target`.
    pub fn create(target: &Path) -> Result<Self> {
        let (path, file) = TempPath::create(target)?;
        Ok(AtomicFile { path, writer: BufWriter::with_capacity(1 << 20, file) })
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(self) -> Result<PathBuf> {
        self.stage()?.commit()
    }

    /// Flushes and syncs; [`Staged::commit`] renames.
    pub fn stage(self) -> Result<Staged> {
        let file = self.writer.into_inner().map_err(|e| Error::io(&self.path.temp, e.into_error()))?;
        self.path.stage(file)
    }
}

/// Writes `bytes` under a temporary name; [`Staged::commit`] moves them into place.
pub fn stage_bytes(target: &Path, bytes: &[u8]) -> Result<Staged> {
    let mut f = AtomicFile::create(target)?;
    f.writer().write_all(bytes).map_err(|e| Error::io(target, e))?;
    f.stage()
}

/// Writes `bytes` to `target` atomically.
pub fn write_bytes(target: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let mut f = AtomicFile::create(target)?;
    f.writer().write_all(bytes).map_err(|e| Error::io(target, e))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.writer().write_all(b"half").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_replaces_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        std::fs::write(&target, b"old").unwrap();
        write_bytes(&target, b"new contents").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new contents");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
