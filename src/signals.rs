//! SIGINT/SIGTERM: remove the temporary output files being written and exit with 128 + the
//! signal number (130, 143), so an interrupted batch job leaves the previous outputs intact
//! and no half-written files behind.

/// Starts the signal-handling thread (Unix; a no-op elsewhere).
pub fn install() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use signal_hook::iterator::Signals;
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            crate::warn!("cannot install signal handlers; an interrupted run may leave temporary files");
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let removed = crate::io::atomic::remove_live_temp_files();
                eprintln!("custseg: stopped by signal {signal}; removed {removed} temporary file(s), outputs left as they were");
                std::process::exit(128 + signal);
            }
        });
    }
}
