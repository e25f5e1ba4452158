//! Where the Nextcloud password comes from: a file, an environment variable or a prompt on the
//! terminal, never the command line (other users see it in `ps`, shells keep it in history).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use crate::exit::{ExitClass, Failure};

pub const PASSWORD_ENV: &str = "BMPACK_NEXTCLOUD_PASSWORD";

pub fn obtain(password_file: Option<&Path>, user: &str) -> Result<String, Failure> {
    if let Some(path) = password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::new(ExitClass::Usage, format!("--password-file {}: {e}", path.display())))?;
        let first = text.lines().next().unwrap_or_default().trim_end_matches('\r').to_string();
        if first.is_empty() {
            return Err(Failure::new(
                ExitClass::Usage,
                format!("--password-file {}: the first line is empty", path.display()),
            )
            .with_fix("write the password (or an app password) on the first line of the file"));
        }
        return Ok(first);
    }
    if let Ok(value) = std::env::var(PASSWORD_ENV)
        && !value.is_empty()
    {
        return Ok(value);
    }
    prompt(&format!("Nextcloud password for {user}: ")).map_err(|why| {
        Failure::new(ExitClass::Usage, format!("no password: {why}"))
            .with_fix(format!("give --password-file FILE or set {PASSWORD_ENV}, or run on a terminal to be asked"))
    })
}

/// Asks on the controlling terminal with echo off, and puts the terminal back as it was.
fn prompt(question: &str) -> Result<String, String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| format!("no terminal to ask on (/dev/tty: {e})"))?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&tty);
    // SAFETY: tcgetattr/tcsetattr on an open descriptor with a zeroed termios of the right type.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err("/dev/tty is not a terminal".into());
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    let mut writer = &tty;
    let _ = writer.write_all(question.as_bytes());
    let _ = writer.flush();
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    read.map_err(|e| format!("reading the terminal: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err("the password typed is empty".into());
    }
    Ok(password)
}
