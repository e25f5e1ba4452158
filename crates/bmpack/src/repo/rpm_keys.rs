//! Which keys the rpms of a repository are signed with, read from their signature headers
//! (no process per package), so that the published `RPM-GPG-KEY-…` keeps a key that is no
//! longer used to sign as long as packages signed by it remain: rpm 4 verifies every package
//! with the key that signed it, and a server set up after a key rotation must still install the
//! packages published before it (those whose version did not change since, bm-plugin-reload…).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};

/// Signature header tags holding an OpenPGP signature: RSA and DSA/EdDSA header-only
/// signatures (268, 267), header+payload ones (1002 PGP, 1005 GPG).
const SIGNATURE_TAGS: [u32; 4] = [267, 268, 1002, 1005];

/// The 64-bit key IDs (16 upper-case hex digits) that signed the rpm at `path`.
pub fn signing_key_ids(path: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut head = [0u8; 96 + 16];
    file.read_exact(&mut head).with_context(|| format!("{} is not an rpm file", path.display()))?;
    let sig = &head[96..];
    if head[..4] != [0xed, 0xab, 0xee, 0xdb] || sig[..3] != [0x8e, 0xad, 0xe8] {
        bail!("{} is not an rpm file", path.display());
    }
    let count = u32::from_be_bytes(sig[8..12].try_into().unwrap()) as usize;
    let store_len = u32::from_be_bytes(sig[12..16].try_into().unwrap()) as usize;
    let mut rest = vec![0u8; 16 * count + store_len];
    file.read_exact(&mut rest).with_context(|| format!("{}: the signature header is cut short", path.display()))?;
    let (index, store) = rest.split_at(16 * count);
    let mut ids = BTreeSet::new();
    for entry in index.chunks_exact(16) {
        let field = |i: usize| u32::from_be_bytes(entry[4 * i..4 * i + 4].try_into().unwrap()) as usize;
        let (tag, offset, len) = (field(0) as u32, field(2), field(3));
        if SIGNATURE_TAGS.contains(&tag)
            && let Some(packet) = store.get(offset..offset + len)
            && let Some(id) = issuer(packet)
        {
            ids.insert(id);
        }
    }
    Ok(ids)
}

/// The issuer key ID of an OpenPGP v4 signature packet (issuer fingerprint or issuer
/// subpacket, hashed or not; RFC 4880 §5.2.3).
fn issuer(packet: &[u8]) -> Option<String> {
    let (&first, rest) = packet.split_first()?;
    let body = if first & 0x40 != 0 {
        // New format: one-, two- or five-octet length.
        let (len, skip) = match *rest.first()? {
            l @ 0..=191 => (l as usize, 1),
            l @ 192..=223 => ((((l as usize) - 192) << 8) + *rest.get(1)? as usize + 192, 2),
            255 => (u32::from_be_bytes(rest.get(1..5)?.try_into().ok()?) as usize, 5),
            _ => return None,
        };
        rest.get(skip..skip + len)?
    } else {
        let skip = [1, 2, 4].get((first & 3) as usize).copied()?;
        let len = rest.get(..skip)?.iter().fold(0usize, |n, &b| (n << 8) | b as usize);
        rest.get(skip..skip + len)?
    };
    if *body.first()? != 4 {
        return None;
    }
    let hashed_len = u16::from_be_bytes(body.get(4..6)?.try_into().ok()?) as usize;
    let hashed = body.get(6..6 + hashed_len)?;
    let unhashed_len = u16::from_be_bytes(body.get(6 + hashed_len..8 + hashed_len)?.try_into().ok()?) as usize;
    let unhashed = body.get(8 + hashed_len..8 + hashed_len + unhashed_len)?;
    [hashed, unhashed].into_iter().find_map(issuer_subpacket)
}

fn issuer_subpacket(mut area: &[u8]) -> Option<String> {
    while !area.is_empty() {
        let (len, skip) = match area[0] {
            l @ 0..=191 => (l as usize, 1),
            l @ 192..=254 => ((((l as usize) - 192) << 8) + *area.get(1)? as usize + 192, 2),
            255 => (u32::from_be_bytes(area.get(1..5)?.try_into().ok()?) as usize, 5),
        };
        let sub = area.get(skip..skip + len)?;
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
        match sub.first().map(|t| t & 0x7f) {
            Some(16) => return Some(hex(sub.get(1..9)?)),
            Some(33) if sub.len() == 22 => return Some(hex(&sub[14..22])),
            _ => {}
        }
        area = &area[skip + len..];
    }
    None
}

/// The armored key blocks of a `RPM-GPG-KEY-…` file, one per key.
pub fn armored_blocks(text: &str) -> Vec<String> {
    const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        let end = start + end + END.len();
        blocks.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_read_from_an_issuer_fingerprint_subpacket() {
        // v4 signature, new-format packet; hashed area: issuer fingerprint (33), v4, 20 bytes.
        let fingerprint: Vec<u8> = (1..=20).collect();
        let mut sub = vec![22, 33, 4];
        sub.extend(&fingerprint);
        let mut body = vec![4, 0x00, 1, 8, 0, sub.len() as u8];
        body.extend(&sub);
        body.extend([0, 0, 0xab, 0xcd]);
        let mut packet = vec![0xc2, body.len() as u8];
        packet.extend(&body);
        assert_eq!(issuer(&packet).as_deref(), Some("0D0E0F1011121314"));
        assert_eq!(issuer(&[0xc2, 1, 3]), None);
    }

    #[test]
    fn armored_blocks_are_split_one_per_key() {
        let a = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let b = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nBBBB\n-----END PGP PUBLIC KEY BLOCK-----\n";
        assert_eq!(armored_blocks(&format!("{a}{b}")), vec![a.to_string(), b.to_string()]);
    }
}
