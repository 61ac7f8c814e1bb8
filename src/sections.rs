//! dcgan's file layout for checkpoints and classifiers: named sections behind a magic
//! string and a format version, sealed with a SHA-256 of everything before it.
//!
//! Layout (all integers little-endian): 8 magic bytes, `u32` format version, `u32` section
//! count, then per section a `u32` name length, the name, a `u64` byte length and the bytes;
//! last, the SHA-256 of everything before it. The checksum is checked before anything is
//! parsed, so a truncated or corrupt file is reported as such.

use std::collections::HashMap;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// Seals `sections` into a file's bytes.
pub fn encode(magic: &[u8; 8], version: u32, sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend(version.to_le_bytes());
    out.extend((sections.len() as u32).to_le_bytes());
    for (name, body) in sections {
        out.extend((name.len() as u32).to_le_bytes());
        out.extend(name.as_bytes());
        out.extend((body.len() as u64).to_le_bytes());
        out.extend(*body);
    }
    let digest = Sha256::digest(&out);
    out.extend(digest);
    out
}

/// The sections of a file, by name.
#[derive(Debug)]
pub struct Sections(HashMap<String, Vec<u8>>);

impl Sections {
    /// Removes and returns the section `name`, or says that it is missing.
    pub fn take(&mut self, name: &str) -> anyhow::Result<Vec<u8>> {
        self.0
            .remove(name)
            .with_context(|| format!("section {name} is missing"))
    }
}

/// Checks the magic string, the checksum and the version of a file's bytes and splits them
/// into sections. `what` names the kind of file in errors ("checkpoint").
pub fn decode(bytes: &[u8], magic: &[u8; 8], version: u32, what: &str) -> anyhow::Result<Sections> {
    if bytes.len() < magic.len() + 8 + 32 || &bytes[..8] != magic {
        bail!("not a dcgan {what} (bad magic bytes or too short)");
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        bail!("checksum mismatch: the file is truncated or corrupt");
    }
    let found = u32::from_le_bytes(body[8..12].try_into().unwrap());
    if found != version {
        bail!("format version {found}, this dcgan reads version {version}");
    }
    let mut sections = HashMap::new();
    let mut rest = &body[16..];
    let take = |n: usize, rest: &mut &[u8]| -> anyhow::Result<Vec<u8>> {
        if rest.len() < n {
            bail!("section table runs past the end of the file");
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head.to_vec())
    };
    for _ in 0..u32::from_le_bytes(body[12..16].try_into().unwrap()) {
        let name_len = u32::from_le_bytes(take(4, &mut rest)?.try_into().unwrap()) as usize;
        let name = String::from_utf8(take(name_len, &mut rest)?)?;
        let len = u64::from_le_bytes(take(8, &mut rest)?.try_into().unwrap()) as usize;
        sections.insert(name, take(len, &mut rest)?);
    }
    Ok(Sections(sections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_kind_of_damage_is_named() {
        let bytes = encode(b"TESTFILE", 3, &[("a", b"hello"), ("b", b"")]);
        let mut s = decode(&bytes, b"TESTFILE", 3, "test file").unwrap();
        assert_eq!(s.take("a").unwrap(), b"hello");
        assert_eq!(s.take("b").unwrap(), b"");
        assert!(
            s.take("a")
                .unwrap_err()
                .to_string()
                .contains("section a is missing")
        );

        let err = |b: &[u8], version| {
            decode(b, b"TESTFILE", version, "test file")
                .unwrap_err()
                .to_string()
        };
        assert!(err(&bytes, 4).contains("format version 3"));
        assert!(err(&bytes[..bytes.len() - 1], 3).contains("checksum mismatch"));
        assert!(err(b"short", 3).contains("not a dcgan test file"));
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(err(&flipped, 3).contains("checksum mismatch"));
    }
}
