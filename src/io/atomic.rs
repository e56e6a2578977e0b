//! Files that appear complete or not at all: written under a temporary name in the target
//! folder, flushed to disk, then renamed into place. Dropped uncommitted, the temporary
//! file is removed, so an error never leaves a half-written output behind.
//!
//! Only regular files are replaced. A symbolic link is followed (the file it points to is
//! replaced, the link stays); a character device or FIFO (`/dev/null`, `/dev/stdout`, a
//! named pipe) is written directly, since it cannot be renamed over; a folder or any other
//! kind of file is refused.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Param, Result};

/// Temporary files being written right now, so a signal handler can remove them.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn set_live(path: &Path, live: bool) {
    if let Ok(mut files) = LIVE.lock() {
        files.retain(|p| p != path);
        if live {
            files.push(path.to_path_buf());
        }
    }
}

/// Removes every temporary output file still being written (called on SIGINT/SIGTERM).
pub fn remove_live_temp_files() -> usize {
    let Ok(files) = LIVE.lock() else { return 0 };
    files.iter().filter(|p| std::fs::remove_file(p).is_ok()).count()
}

/// The temporary name used for `target` by process `pid`.
fn temp_name(target: &Path, pid: u32) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.{pid}.tmp"))
}

/// Removes temporary files for `target` left by processes that no longer run (a run killed
/// with SIGKILL cannot clean up after itself). Returns how many were removed.
pub fn remove_stale_temp_files(target: &Path) -> usize {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else { return 0 };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if pid != std::process::id() && !process_alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether process `pid` still runs (Linux: /proc; elsewhere assume it does, keeping the file).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// The temporary name of an output being written; removed on drop unless committed.
/// For a device or FIFO, `temp` is the target itself, written directly.
#[derive(Debug)]
pub struct TempPath {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
    direct: bool,
}

/// What an output path names today.
enum Existing {
    /// Nothing, or a regular file: write a temporary file and rename it over `PathBuf`.
    Replaceable(PathBuf),
    /// A character device or FIFO: write to it directly.
    Stream,
}

/// Classifies `target`, following symbolic links; refuses what cannot take an output.
fn existing(target: &Path) -> Result<Existing> {
    let Ok(meta) = std::fs::metadata(target) else {
        return Ok(Existing::Replaceable(target.to_path_buf()));
    };
    if meta.is_file() {
        // A link to a file: replace the file it points to, not the link.
        let real = target.canonicalize().unwrap_or_else(|_| target.to_path_buf());
        return Ok(Existing::Replaceable(real));
    }
    if meta.is_dir() {
        return Err(Error::param(Param::Out, format!("{} is a folder; give a file name inside it", target.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_char_device() || kind.is_fifo() {
            return Ok(Existing::Stream);
        }
    }
    Err(Error::param(
        Param::Out,
        format!("{} is not a regular file, device or pipe; give a file path", target.display()),
    ))
}

impl TempPath {
    /// Creates the temporary file for `target` (whose folder must exist).
    pub fn create(target: &Path) -> Result<(Self, File)> {
        let target = match existing(target)? {
            Existing::Replaceable(path) => path,
            Existing::Stream => {
                let file = std::fs::OpenOptions::new().write(true).open(target).map_err(|e| Error::io(target, e))?;
                let path = TempPath { target: target.into(), temp: target.into(), committed: false, direct: true };
                return Ok((path, file));
            }
        };
        let target = target.as_path();
        let temp = temp_name(target, std::process::id());
        set_live(&temp, true);
        let file = File::create(&temp).map_err(|e| {
            set_live(&temp, false);
            Error::io(&temp, e)
        })?;
        Ok((TempPath { target: target.to_path_buf(), temp, committed: false, direct: false }, file))
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary name the file has until it is committed.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Syncs `file` (the one [`TempPath::create`] returned, fully written) and renames it
    /// into place.
    pub fn commit(self, file: File) -> Result<PathBuf> {
        self.stage(file)?.commit()
    }

    /// Syncs `file` to disk; the rename happens in [`Staged::commit`], so several outputs
    /// can be completed first and then moved into place together.
    pub fn stage(self, file: File) -> Result<Staged> {
        if !self.direct {
            file.sync_all().map_err(|e| Error::io(&self.temp, e))?;
        }
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

    /// Where the complete file can be read until it is committed (the target itself for a
    /// device or FIFO, which cannot be read back).
    pub fn temp(&self) -> &Path {
        &self.path.temp
    }

    /// Whether the output is a device or FIFO written directly (nothing to read back).
    pub fn is_direct(&self) -> bool {
        self.path.direct
    }

    /// Renames the file into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let p = &mut self.path;
        if p.direct {
            p.committed = true;
            return Ok(p.target.clone());
        }
        std::fs::rename(&p.temp, &p.target).map_err(|e| Error::io(&p.target, e))?;
        p.committed = true;
        set_live(&p.temp, false);
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
        if !self.committed && !self.direct {
            let _ = std::fs::remove_file(&self.temp);
            set_live(&self.temp, false);
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
    fn stale_temp_files_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("model.json");
        // PIDs above the kernel's maximum (4194304) never run.
        std::fs::write(dir.path().join(".model.json.4999999.tmp"), b"torn").unwrap();
        std::fs::write(dir.path().join(".model.json.1.tmp"), b"pid 1 is alive").unwrap();
        std::fs::write(dir.path().join("other.txt"), b"not ours").unwrap();
        assert_eq!(remove_stale_temp_files(&target), 1);
        assert!(dir.path().join(".model.json.1.tmp").exists());
        assert!(dir.path().join("other.txt").exists());
    }

    #[test]
    fn devices_are_written_directly_and_never_replaced() {
        write_bytes(Path::new("/dev/null"), b"discarded").unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(!meta.is_file(), "/dev/null must stay a device");
    }

    #[test]
    fn a_link_is_followed_and_a_folder_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_bytes(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        let err = write_bytes(dir.path(), b"x").unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
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
