//! The lines `check` and `doctor` print: `ok`, `warn` or `FAIL`, each with the fix when there is
//! one; `--json` collects the same lines into one object printed at the end.

use std::io::Write;

use serde_json::json;

use crate::exit::{ExitClass, Failure};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

struct Line {
    step: String,
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

    pub fn ok(&mut self, step: impl Into<String>, message: impl Into<String>) {
        self.push(Line { step: step.into(), level: Level::Ok, message: message.into(), fix: None, class: None });
    }

    pub fn warn(&mut self, step: impl Into<String>, message: impl Into<String>, fix: Option<String>) {
        self.push(Line { step: step.into(), level: Level::Warn, message: message.into(), fix, class: None });
    }

    pub fn fail(&mut self, step: impl Into<String>, failure: Failure) {
        self.push(Line {
            step: step.into(),
            level: Level::Fail,
            message: failure.message,
            fix: failure.fix,
            class: Some(failure.class),
        });
    }

    /// A line of `level` (for `doctor`, whose FAIL lines have no exit class of their own).
    pub fn line(&mut self, level: Level, step: impl Into<String>, message: impl Into<String>, fix: Option<String>) {
        self.push(Line { step: step.into(), level, message: message.into(), fix, class: None });
    }

    /// The worst level reported.
    pub fn worst(&self) -> Level {
        self.lines.iter().map(|l| l.level).max().unwrap_or(Level::Ok)
    }

    fn lines_json(&self) -> Vec<serde_json::Value> {
        self.lines
            .iter()
            .map(|l| json!({"step": l.step, "result": l.level.word(), "message": l.message, "fix": l.fix, "class": l.class.map(ExitClass::name)}))
            .collect()
    }

    /// Prints the summary (or one JSON object: `extra`'s fields, the result, the exit code and
    /// the lines) and gives the exit code of the worst level: 0 ok, 1 warn, 2 FAIL.
    pub fn finish_by_severity(self, extra: serde_json::Value) -> i32 {
        let worst = self.worst();
        let code = match worst {
            Level::Ok => 0,
            Level::Warn => 1,
            Level::Fail => 2,
        };
        if self.json {
            let mut object = match extra {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            object.insert("result".into(), json!(worst.word()));
            object.insert("exit_code".into(), json!(code));
            object.insert("checks".into(), json!(self.lines_json()));
            outln!("{}", serde_json::Value::Object(object));
        } else {
            outln!("result: {} (exit code {code})", worst.word());
        }
        code
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
            let lines = self.lines_json();
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
