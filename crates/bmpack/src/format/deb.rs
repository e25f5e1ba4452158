//! The `.deb` writer (in progress).
use std::io::Write;

use super::{Format, Packager, WriteOptions};
use crate::model::Package;

pub struct DebPackager;

impl Packager for DebPackager {
    fn format(&self) -> Format {
        Format::Deb
    }
    fn file_name(&self, pkg: &Package) -> String {
        format!("{}_{}_{}.deb", pkg.name, pkg.version.deb(), pkg.arch.deb())
    }
    fn write(&self, pkg: &Package, _opts: &WriteOptions, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("the .deb writer is not implemented yet ({})", pkg.name)
    }
}
