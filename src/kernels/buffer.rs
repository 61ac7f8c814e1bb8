//! Output buffers of the kernels.

use rayon::prelude::*;

/// Values each thread clears at a time.
const BLOCK: usize = 1 << 14;

/// `len` zeros, cleared by all threads.
///
/// `vec![0.0; len]` clears a buffer on the calling thread alone (the allocator reuses
/// freed pages, so it cannot hand out pages known to be zero), and its first touch of
/// fresh pages faults them in there too; for the maps of a batch (megabytes) both threads
/// of the kernels then waited on one (docs/performance.md).
pub fn zeroed(len: usize) -> Vec<f32> {
    if len < BLOCK {
        return vec![0.0; len];
    }
    let mut buffer = Vec::with_capacity(len);
    buffer.spare_capacity_mut()[..len]
        .par_chunks_mut(BLOCK)
        .for_each(|block| {
            for value in block {
                value.write(0.0);
            }
        });
    // Safety: the first `len` values were all written just above.
    unsafe { buffer.set_len(len) };
    buffer
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_value_is_zero() {
        for len in [0, 1, super::BLOCK - 1, super::BLOCK, 3 * super::BLOCK + 5] {
            let buffer = super::zeroed(len);
            assert_eq!(buffer.len(), len);
            assert!(buffer.iter().all(|&v| v.to_bits() == 0), "{len}");
        }
    }
}
