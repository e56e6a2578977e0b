//! Logs on stderr, prefixed with the seconds since start; the progress bar lives here too.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static START: OnceLock<Instant> = OnceLock::new();

/// Seconds since the first log line or [`start_clock`].
pub fn elapsed() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Starts the clock the log prefixes count from.
pub fn start_clock() {
    let _ = elapsed();
}

/// Writes one log line to stderr.
pub fn line(level: &str, message: &str) {
    eprintln!("[{:>7.2}s] {level}: {message}", elapsed());
}

/// Logs an informational line.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::line("info", &format!($($arg)*)) };
}

/// Logs a warning.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::line("warning", &format!($($arg)*)) };
}

/// A progress bar on stderr that is drawn only when stderr is a terminal.
pub fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
