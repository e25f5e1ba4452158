//! `cargo xtask bench` (in progress).
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {}

pub fn run(_args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("bench is not implemented yet")
}
