//! `cargo xtask publish` as a command of the test package, so that the tests run the real
//! command in a child process (`env!("CARGO_BIN_EXE_xtask-publish")`): with the umask they
//! choose, and interrupted by the signals they send.

use clap::Parser;

#[derive(Parser)]
#[command(name = "cargo xtask publish")]
struct Command {
    #[command(flatten)]
    options: xtask::publish::PublishOptions,
}

fn main() {
    xtask::finish(xtask::publish::publish(&Command::parse().options))
}
