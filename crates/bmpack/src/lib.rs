//! bmpack: BlueMind plug-ins as .deb and .rpm packages.
//!
//! See ARCHITECTURE.md at the top of the repository for the map.

pub mod model;
pub mod version;
pub mod nextcloud;
pub mod format;
pub mod bundle;
pub mod repo;
