//! Ctrl-C (SIGINT), a cancelled CI job (SIGTERM) or a closed terminal (SIGHUP) during a publish.
//!
//! Killed by the default action, the process would leave the staging tree, the temporary
//! keyring with the imported private key, and its gpg-agent. While [`catch`]'s guard lives,
//! these signals only raise a flag: the tool running at that moment is killed (each runs in its
//! own process group, see tools.rs), the publish returns [`Interrupted`] at its next step, and
//! the usual cleanup runs (the staging tree removed, the agent stopped, the keyring deleted). The
//! swap of the new state is never cut: once it has started it completes, and the publish with it.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal received since [`catch`], or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// A publish stopped by a signal; the repository is as it was before.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {} before the new state was swapped in: the repository was left as it was", signal_name(*.signal))]
pub struct Interrupted {
    pub signal: i32,
}

impl Interrupted {
    /// The exit status a shell gives a process killed by this signal (130 for SIGINT).
    pub fn exit_code(&self) -> i32 {
        128 + self.signal
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

extern "C" fn record(signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// Restores the previous handlers when dropped.
pub struct Guard {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

/// Turns SIGINT, SIGTERM and SIGHUP into a flag until the guard is dropped.
pub fn catch() -> Guard {
    RECEIVED.store(0, Ordering::SeqCst);
    let mut previous = Vec::new();
    for signal in SIGNALS {
        // SAFETY: sigaction with a handler that only stores an atomic; `old` receives the
        // previous disposition, restored on drop.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, &action, &mut old) == 0 {
                previous.push((signal, old));
            }
        }
    }
    Guard { previous }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: puts back the disposition saved by `catch`.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `Err(Interrupted)` once a signal was received: called between the steps of a publish.
pub fn check() -> anyhow::Result<()> {
    match received() {
        None => Ok(()),
        Some(signal) => Err(Interrupted { signal }.into()),
    }
}
