//! The `.rpm` writer (in progress).
use std::io::Write;

use super::{Format, Packager, WriteOptions};
use crate::model::Package;

pub struct RpmPackager;

impl Packager for RpmPackager {
    fn format(&self) -> Format {
        Format::Rpm
    }
    fn file_name(&self, pkg: &Package) -> String {
        format!("{}-{}.{}.rpm", pkg.name, pkg.version.rpm_evr(), pkg.arch.rpm())
    }
    fn write(&self, pkg: &Package, _opts: &WriteOptions, _out: &mut dyn Write) -> anyhow::Result<()> {
        anyhow::bail!("the .rpm writer is not implemented yet ({})", pkg.name)
    }
}
