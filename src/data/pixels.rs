//! A data set's pixel bytes: in memory, or mapped from a cache file.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use memmap2::Mmap;

/// The pixel bytes of a data set; dereferences to `[u8]`.
///
/// Small data sets are held in memory; a folder's images are mapped from their cache file,
/// so the operating system pages them in as batches need them and the process does not hold
/// a copy of the whole array.
#[derive(Clone)]
pub struct Pixels(Repr);

#[derive(Clone)]
enum Repr {
    Owned(Vec<u8>),
    Mapped {
        map: Arc<Mmap>,
        start: usize,
        len: usize,
    },
}

impl Pixels {
    /// The bytes `start..start + len` of a mapped file.
    ///
    /// # Panics
    /// When the range is not inside the mapping.
    pub(crate) fn mapped(map: Arc<Mmap>, start: usize, len: usize) -> Self {
        assert!(start + len <= map.len(), "pixel range inside the mapping");
        Pixels(Repr::Mapped { map, start, len })
    }

    /// True when the bytes are mapped from a file rather than held in memory.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Repr::Mapped { .. })
    }

    /// Keeps the first `len` bytes (all when there are fewer).
    pub fn truncate(&mut self, new_len: usize) {
        match &mut self.0 {
            Repr::Owned(bytes) => bytes.truncate(new_len),
            Repr::Mapped { len, .. } => *len = new_len.min(*len),
        }
    }
}

impl Deref for Pixels {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(bytes) => bytes,
            Repr::Mapped { map, start, len } => &map[*start..*start + *len],
        }
    }
}

impl From<Vec<u8>> for Pixels {
    fn from(bytes: Vec<u8>) -> Self {
        Pixels(Repr::Owned(bytes))
    }
}

impl fmt::Debug for Pixels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.is_mapped() {
            "mapped"
        } else {
            "in memory"
        };
        write!(f, "Pixels({} bytes, {how})", self.len())
    }
}

impl PartialEq for Pixels {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Pixels {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_and_mapped_bytes_read_and_truncate_alike() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.bin");
        std::fs::write(&path, [9, 9, 1, 2, 3, 4, 9]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: the file is private to this test and not changed while mapped.
        let map = Arc::new(unsafe { Mmap::map(&file) }.unwrap());
        let mut mapped = Pixels::mapped(map, 2, 4);
        let mut owned = Pixels::from(vec![1, 2, 3, 4]);
        assert!(mapped.is_mapped() && !owned.is_mapped());
        assert_eq!(&mapped[..], &[1, 2, 3, 4]);
        assert_eq!(mapped, owned);
        mapped.truncate(2);
        owned.truncate(2);
        assert_eq!((&mapped[..], &owned[..]), (&[1u8, 2][..], &[1u8, 2][..]));
        mapped.truncate(10);
        assert_eq!(mapped.len(), 2);
        assert_eq!(format!("{mapped:?}"), "Pixels(2 bytes, mapped)");
    }
}
