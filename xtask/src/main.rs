//! Project automation, in the manner of rust-analyzer's xtask: `cargo xtask <command>`.
//! Every flag is declared here, once; the work is done by the `bmpack` library.

#[macro_use]
extern crate bmpack; // outln!/errln! (bmpack::console)

mod bench;
mod lint;
mod package;
mod publish;
mod test;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, check and publish the BlueMind plug-in packages")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every declared package as .deb and .rpm (from sample bundles when --bundles is not given)
    Package(package::PackageArgs),
    /// Run lintian on every .deb and rpmlint on every .rpm of a build
    Lint(lint::LintArgs),
    /// Time full builds from sample bundles of two sizes, and compare with nFPM where installed
    Bench(bench::BenchArgs),
    /// Add the built packages to a signed apt and yum repository (see docs/publishing.md)
    Publish(publish::PublishOptions),
    /// Install what the tests need when it is missing (as root), then run them (--fast: the quick tier)
    Test(test::TestArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Package(args) => package::run(&args).map(|_| ()),
        Command::Lint(args) => lint::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Publish(opts) => publish::publish(&opts),
        Command::Test(args) => test::run(&args),
    };
    if let Err(e) = result {
        errln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The repository's top folder (xtask lives in `<root>/xtask`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

/// `target/bmpack`, the default output folder.
pub fn default_out() -> PathBuf {
    project_root().join("target").join("bmpack")
}
