//! The compressors a `.deb` member can use, behind one `Write`.
//!
//! Levels are dpkg-deb's own defaults for xz (6) and zstd (3): the jars inside are already
//! deflated, so higher levels cost many times the time for well under 1% of size.
//! gzip, the default, is libdeflate's level 6 in 1 MiB members compressed on every core
//! (`parallel_gzip`): on already-deflated jars higher levels gain under 0.01%. xz and zstd are
//! single-threaded. In every case the output does not depend on the machine.

use std::io::{self, Write};

use crate::format::Compression;

use super::parallel_gzip::ParallelGzEncoder;

/// libdeflate's default level (its scale runs to 12).
const GZIP_LEVEL: i32 = 6;

/// The compression actually used for a package (`Compression::Default` already resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DebCompression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl DebCompression {
    /// `Default` is gzip: dpkg on Debian 10 and Ubuntu 18.04 cannot read zstd members, and
    /// xz buys nothing on jars.
    pub(super) fn resolve(c: Compression) -> Self {
        match c {
            Compression::Default | Compression::Gzip => DebCompression::Gzip,
            Compression::None => DebCompression::None,
            Compression::Xz => DebCompression::Xz,
            Compression::Zstd => DebCompression::Zstd,
        }
    }

    /// The suffix dpkg expects on `control.tar` and `data.tar`.
    pub(super) fn extension(self) -> &'static str {
        match self {
            DebCompression::None => "",
            DebCompression::Gzip => ".gz",
            DebCompression::Xz => ".xz",
            DebCompression::Zstd => ".zst",
        }
    }

    pub(super) fn encoder(self, out: Vec<u8>) -> io::Result<Encoder> {
        Ok(match self {
            DebCompression::None => Encoder::None(out),
            DebCompression::Gzip => Encoder::Gzip(ParallelGzEncoder::new(out, GZIP_LEVEL)?),
            DebCompression::Xz => Encoder::Xz(liblzma::write::XzEncoder::new(out, 6)),
            DebCompression::Zstd => {
                let mut e = zstd::Encoder::new(out, 3)?;
                // As the zstd command line writes it: the frame carries its checksum.
                e.include_checksum(true)?;
                Encoder::Zstd(e)
            }
        })
    }
}

/// `data` gzipped at libdeflate's highest level (marked "max compression", as `gzip -9n`
/// marks it), for files shipped compressed (the Debian changelog): the same gzip writer as the
/// members, one member for a small file.
pub(super) fn gzip_best(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = ParallelGzEncoder::new(Vec::new(), 12)?;
    e.write_all(data)?;
    e.finish()
}

pub(super) enum Encoder {
    None(Vec<u8>),
    Gzip(ParallelGzEncoder<Vec<u8>>),
    Xz(liblzma::write::XzEncoder<Vec<u8>>),
    Zstd(zstd::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    pub(super) fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Encoder::None(v) => Ok(v),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(v) => v.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(v) => v.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}
