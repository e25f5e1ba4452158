//! Printing that never stops the tool. `println!` panics when stdout is a closed pipe
//! (`bmpack select … | head -n 1`) or a full disk; in `deploy` that panic would come between
//! moving the jars and restarting the services, and in `check` before the probe files are
//! deleted. These macros drop what cannot be written and let the work finish; the exit code
//! still tells the caller how it went.

use std::fmt;
use std::io::Write;

pub fn write_line(mut to: impl Write, args: fmt::Arguments) {
    let _ = to.write_fmt(args).and_then(|()| to.write_all(b"\n")).and_then(|()| to.flush());
}

/// `println!` that ignores a closed or failing stdout.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::console::write_line(std::io::stdout().lock(), format_args!($($arg)*)) };
}

/// `eprintln!` that ignores a closed or failing stderr.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::console::write_line(std::io::stderr().lock(), format_args!($($arg)*)) };
}
