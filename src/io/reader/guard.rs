//! The parquet crate panics on some corrupt pages: decoding runs inside [`guarded`], which
//! turns such a panic into an invalid-data error naming the file, and the process's panic
//! hook stays quiet about the panics it catches.

use std::path::Path;

use crate::error::{Error, Result};

thread_local! {
    /// Set while the Parquet decoder runs, so the panic hook stays quiet about panics that
    /// [`guarded`] turns into errors.
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs a panic hook that is silent for decoder panics caught by [`guarded`] and
/// otherwise reports a bug (the binary calls this once).
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !DECODING.with(|d| d.get()) {
            eprintln!("custseg: internal error (a bug, please report it with the input's shape):");
            default(info);
        }
    }));
}

/// Runs Parquet decoding, turning a panic inside the decoder (the parquet crate panics on
/// some corrupt pages) into an error that names the file.
pub fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    DECODING.with(|d| d.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    DECODING.with(|d| d.set(false));
    outcome.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        Err(Error::parquet(path, format!("the decoder failed on corrupt data: {what}")))
    })
}
