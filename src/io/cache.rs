//! The on-disk chunk cache for data larger than `--memory-budget`: the prep pass writes
//! every prepared chunk once, as raw f32 rows starting on a 64 KiB boundary, into one file;
//! the file is then memory-mapped and every later pass reads its chunks from there (see
//! [`crate::data::Values::Mapped`]), handing pages back after each chunk.
//!
//! The file is written under a temporary name that a signal or an error removes, and that
//! a later run removes if this one was killed; `--keep-cache` renames it into place at the
//! end of a successful run instead.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::atomic::{remove_stale_temp_files, TempPath};
use crate::data::{Chunk, Values};
use crate::error::{Error, Result};

/// Every chunk starts on a multiple of this many bytes (page-aligned on 4 KiB, 16 KiB and
/// 64 KiB page systems), so a chunk's pages can be released on their own.
pub const ALIGN: u64 = 64 * 1024;

/// Name of the cache file in its folder.
pub const CACHE_FILE: &str = "custseg-cache.f32";

/// Writes prepared chunks to the cache file.
pub struct CacheWriter {
    temp: TempPath,
    file: BufWriter<File>,
    written: u64,
    /// Per chunk: byte offset, number of f32 values, weights.
    chunks: Vec<(u64, usize, Option<Vec<f32>>)>,
}

/// The finished cache: its chunks (mapped) and the file, removed when this is dropped
/// unless [`CacheFile::keep`] is called.
pub struct CacheFile {
    temp: TempPath,
    bytes: u64,
}

impl CacheWriter {
    /// Starts a cache file in `dir` (which must exist), removing any left by killed runs.
    pub fn create(dir: &Path) -> Result<Self> {
        Self::create_named(dir, CACHE_FILE)
    }

    /// Starts a cache file named `name` in `dir` (a second cache beside the main one, such
    /// as the training rows of `fit --holdout`).
    pub fn create_named(dir: &Path, name: &str) -> Result<Self> {
        let target = dir.join(name);
        let stale = remove_stale_temp_files(&target);
        if stale > 0 {
            crate::warn!("removed {stale} chunk cache file(s) left in {} by a run that was killed", dir.display());
        }
        let (temp, file) = TempPath::create(&target)?;
        Ok(CacheWriter { temp, file: BufWriter::with_capacity(8 << 20, file), written: 0, chunks: Vec::new() })
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(self.temp.target(), e)
    }

    /// Appends one chunk.
    pub fn push(&mut self, chunk: &Chunk) -> Result<()> {
        let bytes: &[u8] = bytemuck::cast_slice(&chunk.values);
        self.file.write_all(bytes).map_err(|e| self.io_error(e))?;
        let padding = (ALIGN - bytes.len() as u64 % ALIGN) % ALIGN;
        self.file.write_all(&vec![0u8; padding as usize]).map_err(|e| self.io_error(e))?;
        self.chunks.push((self.written, chunk.values.len(), chunk.weights.clone()));
        self.written += bytes.len() as u64 + padding;
        Ok(())
    }

    /// Flushes the file and maps it: the chunks, in the order pushed, now read from disk.
    pub fn finish(self) -> Result<(Vec<Chunk>, CacheFile)> {
        let CacheWriter { temp, file, written, chunks } = self;
        drop(file.into_inner().map_err(|e| Error::io(temp.target(), e.into_error()))?);
        // Written through a write-only handle; mapped through a read-only one.
        let file = File::open(temp.temp()).map_err(|e| Error::io(temp.target(), e))?;
        // SAFETY: the file is ours (a fresh temporary name) and nothing writes it from now
        // on; the mapping is read-only.
        let map = Arc::new(unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(temp.target(), e))?);
        let chunks = chunks
            .into_iter()
            .map(|(byte_offset, len, weights)| Chunk {
                values: Values::Mapped { map: map.clone(), byte_offset: byte_offset as usize, len },
                weights,
            })
            .collect();
        Ok((chunks, CacheFile { temp, bytes: written }))
    }
}

impl CacheFile {
    /// Size on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Where the cache ends up with `--keep-cache`.
    pub fn target(&self) -> &Path {
        self.temp.target()
    }

    /// Renames the cache into place instead of removing it (`--keep-cache`).
    pub fn keep(self) -> Result<PathBuf> {
        let file = File::open(self.temp.temp()).map_err(|e| Error::io(self.temp.target(), e))?;
        self.temp.commit(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_back_from_the_mapped_file_and_the_file_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = CacheWriter::create(dir.path()).unwrap();
        let a = Chunk::new((0..30).map(|x| x as f32).collect(), None);
        let b = Chunk::new(vec![-1.5; 7], Some(vec![2.0; 7]));
        w.push(&a).unwrap();
        w.push(&b).unwrap();
        let (chunks, file) = w.finish().unwrap();
        assert_eq!(chunks, vec![a, b]);
        assert!(matches!(chunks[1].values, Values::Mapped { byte_offset, .. } if byte_offset as u64 == ALIGN));
        assert_eq!(file.bytes(), 2 * ALIGN);
        chunks[0].values.release();
        assert_eq!(chunks[0].values[29], 29.0, "released pages read back from the file");
        let listed = || std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(listed(), 1);
        drop(file);
        assert_eq!(listed(), 0, "the cache is removed when dropped");
        assert_eq!(chunks[1].values[0], -1.5, "the mapping outlives the file's name");
    }

    #[test]
    fn kept_caches_are_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = CacheWriter::create(dir.path()).unwrap();
        w.push(&Chunk::new(vec![1.0; 4], None)).unwrap();
        let (_, file) = w.finish().unwrap();
        let kept = file.keep().unwrap();
        assert_eq!(kept, dir.path().join(CACHE_FILE));
        assert_eq!(std::fs::metadata(&kept).unwrap().len(), ALIGN);
    }
}
