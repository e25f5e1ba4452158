//! Running the external tools a repository needs (gpg, apt-ftparchive, createrepo_c, rpmsign,
//! dpkg, rpm), with errors that say which command failed, what it printed, and which Debian
//! package provides it when it is missing.
//!
//! Each tool runs in a process group of its own, so that a publish interrupted while it runs
//! (interrupt.rs) stops it, and whatever it started (rpmsign's gpg), before cleaning up.

use std::ffi::OsString;
use std::io::ErrorKind;

use anyhow::{Context, bail};

/// The Debian package that provides each tool we run, for the "not installed" error.
fn debian_package(program: &str) -> &'static str {
    match program {
        "gpg" => "gnupg",
        "apt-ftparchive" => "apt-utils",
        "createrepo_c" => "createrepo-c",
        "rpmsign" | "rpm" => "rpm",
        "dpkg" | "dpkg-deb" => "dpkg",
        _ => "the package that provides it",
    }
}

/// One external command: program, arguments and environment, run with captured output.
pub struct Tool {
    program: String,
    args: Vec<OsString>,
    dir: Option<std::path::PathBuf>,
}

impl Tool {
    pub fn new(program: &str) -> Self {
        Tool { program: program.to_string(), args: Vec::new(), dir: None }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    fn describe(&self) -> String {
        let mut s = self.program.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    fn expression(&self) -> duct::Expression {
        let mut e = duct::cmd(&self.program, &self.args)
            .stdout_capture()
            .stderr_capture()
            .stdin_null()
            .unchecked()
            .before_spawn(|command| {
                std::os::unix::process::CommandExt::process_group(command, 0);
                Ok(())
            });
        if let Some(d) = &self.dir {
            e = e.dir(d);
        }
        e
    }

    /// Runs the command and returns its exit status and output, whatever the status; stops it
    /// (its whole process group) when the publish is interrupted.
    pub fn output(&self) -> anyhow::Result<std::process::Output> {
        let started = self.expression().start().and_then(|handle| {
            let mut pause = std::time::Duration::from_micros(200);
            loop {
                if let Some(out) = handle.try_wait()? {
                    return Ok(Some(out.clone()));
                }
                if super::interrupt::received().is_some() {
                    for pid in handle.pids() {
                        // SAFETY: kill(2) on the process group this child leads.
                        unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
                    }
                    let _ = handle.wait();
                    return Ok(None);
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(10));
            }
        });
        match started {
            Ok(Some(out)) => Ok(out),
            Ok(None) => {
                Err(super::interrupt::Interrupted { signal: super::interrupt::received().unwrap_or(libc::SIGINT) }
                    .into())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => bail!(
                "`{}` is not installed (needed to run `{}`): install it with `apt-get install {}`",
                self.program,
                self.describe(),
                debian_package(&self.program)
            ),
            Err(e) => Err(e).with_context(|| format!("could not run `{}`", self.describe())),
        }
    }

    /// Runs the command, fails unless it exits 0, and returns its standard output.
    pub fn run(&self) -> anyhow::Result<Vec<u8>> {
        let out = self.output()?;
        if !out.status.success() {
            bail!(
                "`{}` failed ({}):\n{}{}",
                self.describe(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim_end(),
                if out.stdout.is_empty() {
                    String::new()
                } else {
                    format!("\n{}", String::from_utf8_lossy(&out.stdout).trim_end())
                }
            );
        }
        Ok(out.stdout)
    }

    /// Like `run`, for text output.
    pub fn run_text(&self) -> anyhow::Result<String> {
        let out = self.run()?;
        String::from_utf8(out).with_context(|| format!("`{}` printed something that is not UTF-8", self.describe()))
    }
}
