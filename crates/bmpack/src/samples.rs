//! Sample bundles (placeholder until the bundle work lands).
use std::path::{Path, PathBuf};

pub struct SampleSpec {
    pub names: Vec<String>,
    pub version: String,
    pub jar_bytes: u64,
}

pub fn write_sample_bundles(dir: &Path, _spec: &SampleSpec) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::bail!("sample generation into {} is not implemented yet", dir.display())
}
