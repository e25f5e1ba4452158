//! What is wrong with `--bundles`, its archive or one of its jars: one error type for loading
//! bundles (`bundle.rs`) and extracting marketplace archives (`archive.rs`), below both.

use crate::manifest::MANIFEST_PATH;

/// What is wrong with `--bundles` or one of its jars; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "{path}: no such file or folder: give the folder that holds the plug-in jars, or the marketplace archive (.zip, .tar.gz)"
    )]
    NotFound { path: String },
    #[error("{path}: this is a single jar: give the folder that holds it (and the other plug-in jars) instead")]
    SingleJar { path: String },
    #[error(
        "{path}: unsupported archive type: give a folder of jars, a .zip, a .tar.gz (.tgz) or a .tar; unpack other archives first and give the folder"
    )]
    UnsupportedArchive { path: String },
    #[error("{path}: not a readable {kind} archive ({reason}): download it again, or unpack it and give the folder")]
    BadArchive { path: String, kind: &'static str, reason: String },
    #[error(
        "{archive}: entry `{entry}` {reason}, so the whole archive is refused and nothing is extracted from it: get the archive again from the vendor, or unpack and inspect it yourself and give the folder"
    )]
    UnsafeEntry { archive: String, entry: String, reason: String },
    #[error(
        "{archive}: {what}, over bmpack's limit of {limit}, so the whole archive is refused and nothing is kept from it (bmpack takes archives of {limits}; a marketplace archive holds a few jars of a few MB): get the archive again from the vendor, or unpack and inspect it yourself and give the folder"
    )]
    TooLarge { archive: String, what: String, limit: String, limits: String },
    #[error("{path}: no .jar file in it: give the folder or the marketplace archive that holds the plug-in jars")]
    NoJars { path: String },
    #[error(
        "{file}: not a jar: it is not a zip file ({reason}); replace it with the bundle's jar, or remove it from the bundles"
    )]
    NotAZip { file: String, reason: String },
    #[error(
        "{file}: not an OSGi bundle: it has no {MANIFEST_PATH}; give the plug-in's jar as the vendor ships it, or remove this file from the bundles"
    )]
    NoManifest { file: String },
    #[error(
        "{file}: its {MANIFEST_PATH} cannot be read: {reason}; give the plug-in's jar as the vendor ships it, or remove this file from the bundles"
    )]
    BadManifest { file: String, reason: String },
    #[error(
        "{file}: not an OSGi bundle: its {MANIFEST_PATH} has no Bundle-SymbolicName header{ignored}; give the plug-in's jar as the vendor ships it, or remove this file from the bundles"
    )]
    NoSymbolicName { file: String, ignored: String },
    #[error(
        "{file}: Bundle-SymbolicName `{value}` in {MANIFEST_PATH} does not start with a bundle name such as `net.bluemind.filehosting.nextcloud`; fix the bundle's manifest or remove this file from the bundles"
    )]
    BadSymbolicName { file: String, value: String },
    #[error(
        "{file}: bundle `{name}` has no Bundle-Version in its {MANIFEST_PATH}{ignored}, so its package version is unknown; rebuild the bundle with a version (e.g. `Bundle-Version: 4.8.2`)"
    )]
    NoVersion { file: String, name: String, ignored: String },
    #[error(
        "two jars for bundle `{name}`: {first} (Bundle-Version {first_version}) and {second} (Bundle-Version {second_version}); keep only one of them in the bundles"
    )]
    Duplicate { name: String, first: String, first_version: String, second: String, second_version: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}
