//! `cargo xtask lint`: lintian and rpmlint over a build, with the project's overrides.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct LintArgs {
    /// The build to check (as written by `cargo xtask package`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &LintArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(crate::default_out);
    let report = bmpack::lint::lint_build(&crate::project_root(), &out)?;
    if !report.text.is_empty() {
        outln!("{}", report.text.trim_end_matches('\n'));
    }
    if report.problems > 0 {
        anyhow::bail!("{} lint problem(s) (errors or warnings) in {}", report.problems, out.display());
    }
    outln!("lint: {} package file(s), no errors, no warnings", report.files);
    Ok(())
}
