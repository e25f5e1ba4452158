//! Project automation, in the manner of rust-analyzer's xtask: `cargo xtask <command>`.
//! Every flag is declared here, once; the work is done by the `bmpack` library.

#[macro_use]
extern crate bmpack; // outln!/errln! (bmpack::console)

mod bench;
mod bench_publish;
mod lint;
mod package;
mod test;

use clap::{Parser, Subcommand};
pub use xtask::{ansible, default_out, project_root, publish};

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
    /// Time full builds from sample bundles of two sizes, and compare with nFPM where installed;
    /// with --publish, time publishes release after release beside aptly, reprepro and createrepo_c
    Bench(bench::BenchArgs),
    /// Add the built packages to a signed apt and yum repository (see docs/publishing.md)
    Publish(publish::PublishOptions),
    /// Build the Ansible collection in ansible/ (roles and the rollout playbook) into a tarball
    Ansible(ansible::AnsibleArgs),
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
        Command::Ansible(args) => ansible::run(&args),
    };
    xtask::finish(result)
}
