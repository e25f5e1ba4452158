//! The tar archives inside a `.deb` (`control.tar`, `data.tar`), written the way dpkg-deb
//! writes them: GNU format, names starting with `./`, directories ending with `/`, owner
//! root:root (0/0), one fixed mtime, nothing from the host.
//!
//! The `tar` crate only encodes the header fields here: its path helpers would strip the `./`
//! and the trailing `/` that dpkg-deb writes, so names are put in the header as they are, with a
//! GNU long-name entry (`././@LongLink`, as GNU tar writes it) before any name over 100 bytes.

use std::io::{self, Write};

use tar::{EntryType, Header};

/// The name field of a tar header holds 100 bytes.
const NAME_FIELD_LEN: usize = 100;

pub(super) struct TarWriter<W: Write> {
    builder: tar::Builder<W>,
    mtime: u64,
}

impl<W: Write> TarWriter<W> {
    pub(super) fn new(out: W, mtime: u64) -> Self {
        TarWriter { builder: tar::Builder::new(out), mtime }
    }

    /// A directory; `name` is `./` or `./usr/share/`.
    pub(super) fn directory(&mut self, name: &str) -> io::Result<()> {
        debug_assert!(name.starts_with("./") && name.ends_with('/'));
        let header = self.header(name, EntryType::Directory, 0o755, 0)?;
        self.builder.append(&header, io::empty())
    }

    /// A regular file; `name` is `./usr/share/x.jar` or `./control`.
    pub(super) fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        debug_assert!(name.starts_with("./") && !name.ends_with('/'));
        let header = self.header(name, EntryType::Regular, mode, data.len() as u64)?;
        self.builder.append(&header, data)
    }

    /// Writes the end-of-archive blocks and returns the writer.
    pub(super) fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }

    fn header(&mut self, name: &str, kind: EntryType, mode: u32, size: u64) -> io::Result<Header> {
        let name = name.as_bytes();
        if name.len() > NAME_FIELD_LEN {
            self.long_name(name)?;
        }
        let mut h = self.base_header(kind, mode, size);
        let field = &mut h.as_old_mut().name;
        let n = name.len().min(NAME_FIELD_LEN);
        field[..n].copy_from_slice(&name[..n]);
        h.set_cksum();
        Ok(h)
    }

    /// The GNU extension for names over 100 bytes: an `L` entry named `././@LongLink` whose
    /// content is the full name and a NUL. dpkg reads it since 1.15.
    fn long_name(&mut self, name: &[u8]) -> io::Result<()> {
        let mut data = Vec::with_capacity(name.len() + 1);
        data.extend_from_slice(name);
        data.push(0);
        let mut h = self.base_header(EntryType::GNULongName, 0o644, data.len() as u64);
        let label = b"././@LongLink";
        h.as_old_mut().name[..label.len()].copy_from_slice(label);
        h.set_cksum();
        self.builder.append(&h, &data[..])
    }

    fn base_header(&self, kind: EntryType, mode: u32, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(self.mtime);
        h.set_size(size);
        // Names that fit always fit: "root" is 4 bytes of the 32 the fields hold.
        h.set_username("root").expect("`root` fits the user name field");
        h.set_groupname("root").expect("`root` fits the group name field");
        h
    }
}
