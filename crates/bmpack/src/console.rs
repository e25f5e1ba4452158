//! Printing that never stops the work. `println!` panics when stdout is a closed pipe
//! (`bmpack select … | head -n 1`, `cargo xtask publish … | head`) or a full disk; in the server
//! tool's `deploy` that panic would come between moving the jars and restarting the services, in
//! `check` before the probe files are deleted, in `publish` between two steps. These macros drop
//! what cannot be written and let the work finish; the exit code still tells how it went.

use std::fmt;
use std::io::Write;

/// What the macros call: one line, flushed, errors dropped.
pub fn write_line(mut to: impl Write, args: fmt::Arguments) {
    let _ = to.write_fmt(args).and_then(|()| to.write_all(b"\n")).and_then(|()| to.flush());
}

/// `println!` that ignores a closed or failing stdout.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::console::write_line(std::io::stdout().lock(), format_args!($($arg)*)) };
}

/// `eprintln!` that ignores a closed or failing stderr.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::console::write_line(std::io::stderr().lock(), format_args!($($arg)*)) };
}
