//! Printing that never stops the work. `println!` panics when stdout is a closed pipe
//! (`bmpack select … | head -n 1`, `cargo xtask publish … | head`) or a full disk; in the server
//! tool's `deploy` that panic would come between moving the jars and restarting the services, in
//! `check` before the probe files are deleted, in `publish` between two steps. These macros drop
//! what cannot be written and let the work finish; the exit code still tells how it went.

use std::fmt::{self, Write as _};
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

/// Text from a file or a server, safe to print: control characters (including ESC, CR, LF, C1
/// codes) and the bidirectional overrides are written as `\u{..}`, and anything past 200 characters cut with `…`.
pub fn printable(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        let bidi =
            matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}');
        if c.is_control() || bidi {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}
