//! The parts of `cargo xtask` that the acceptance tests run as a command of their own
//! (`tests/harness/xtask_publish.rs`): the tests run `publish` in a child process, as users do,
//! with its own umask, and interrupt it with signals.

#[macro_use]
extern crate bmpack; // outln!/errln! (bmpack::console)

use std::path::{Path, PathBuf};

pub mod ansible;
pub mod publish;

/// The repository's top folder (xtask lives in `<root>/xtask`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

/// `target/bmpack`, the default output folder.
pub fn default_out() -> PathBuf {
    project_root().join("target").join("bmpack")
}

/// Ends a command: on error, prints it and exits non-zero (128 + the signal when a publish was
/// interrupted, as a shell reports a process killed by it: 130 for Ctrl-C).
pub fn finish(result: anyhow::Result<()>) -> ! {
    if let Err(e) = result {
        errln!("error: {e:#}");
        let code = e.downcast_ref::<bmpack::repo::interrupt::Interrupted>().map_or(1, |i| i.exit_code());
        std::process::exit(code);
    }
    std::process::exit(0)
}
