//! bmpack: BlueMind plug-ins as .deb and .rpm packages.
//!
//! See ARCHITECTURE.md at the top of the repository for the map.

#[macro_use]
pub mod console; // first: outln!/errln! serve every module below
pub mod archive;
pub mod build;
pub mod bundle;
pub mod bundle_error;
pub mod catalog;
pub mod dates;
pub mod fixed_versions;
pub mod format;
pub mod lint;
pub mod manifest;
pub mod model;
pub mod nextcloud;
pub mod package_format;
pub mod pipeline;
pub mod repo;
pub mod samples;
pub mod scripts;
pub mod version;
pub mod version_order;
