//! The lines `check` prints: `ok`, `warn` or `FAIL`, each with the fix when there is one;
//! `--json` collects the same lines into one object printed at the end.

use std::io::Write;

use serde_json::json;

use crate::exit::{ExitClass, Failure};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

struct Line {
    step: &'static str,
    level: Level,
    message: String,
    fix: Option<String>,
    class: Option<ExitClass>,
}

pub struct Report {
    json: bool,
    lines: Vec<Line>,
}

impl Report {
    pub fn new(json: bool) -> Self {
        Report { json, lines: Vec::new() }
    }

    pub fn ok(&mut self, step: &'static str, message: impl Into<String>) {
        self.push(Line { step, level: Level::Ok, message: message.into(), fix: None, class: None });
    }

    pub fn warn(&mut self, step: &'static str, message: impl Into<String>, fix: Option<String>) {
        self.push(Line { step, level: Level::Warn, message: message.into(), fix, class: None });
    }

    pub fn fail(&mut self, step: &'static str, failure: Failure) {
        self.push(Line { step, level: Level::Fail, message: failure.message, fix: failure.fix, class: Some(failure.class) });
    }

    fn push(&mut self, line: Line) {
        if !self.json {
            // Printed at once: the upload probe takes a while on a slow link.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{:<5} {}: {}", line.level.word(), line.step, line.message);
            if let Some(fix) = &line.fix {
                for (i, part) in fix.lines().enumerate() {
                    let _ = writeln!(out, "      {} {part}", if i == 0 { "fix:" } else { "    " });
                }
            }
            let _ = out.flush();
        }
        self.lines.push(line);
    }

    /// The class of the first failure: the one the rest follows from.
    pub fn first_failure(&self) -> Option<ExitClass> {
        self.lines.iter().find_map(|l| l.class)
    }

    /// Prints the summary (or the JSON object) and gives the exit code.
    pub fn finish(self, subject: serde_json::Value) -> i32 {
        let failure = self.first_failure();
        let warned = self.lines.iter().any(|l| l.level == Level::Warn);
        let result = match (failure, warned) {
            (Some(_), _) => "FAIL",
            (None, true) => "warn",
            (None, false) => "ok",
        };
        let code = failure.map_or(0, ExitClass::code);
        if self.json {
            let lines: Vec<_> = self
                .lines
                .iter()
                .map(|l| json!({"step": l.step, "result": l.level.word(), "message": l.message, "fix": l.fix, "class": l.class.map(ExitClass::name)}))
                .collect();
            outln!(
                "{}",
                json!({"subject": subject, "result": result, "exit_code": code, "class": failure.map(ExitClass::name), "lines": lines})
            );
        } else {
            match failure {
                Some(class) => outln!("result: FAIL ({}, exit code {code})", class.name()),
                None => outln!("result: {result}"),
            }
        }
        code
    }
}
