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
    match len < BLOCK {
        true => vec![0.0; len],
        false => filled_by_chunks(len, BLOCK, |_, _| {}),
    }
}

/// `len` values made on all threads by `fill(chunk, values)` for each chunk of `chunk_len`
/// values (the last may be shorter), each chunk cleared to zeros by the thread that fills
/// it, just before: the values are then in that thread's cache when `fill` writes them.
/// Cleared in a pass of their own first, a batch's megabytes went out to memory and came
/// back for every kernel's output (3-8 % of a training iteration, docs/performance.md).
pub fn filled_by_chunks<F>(len: usize, chunk_len: usize, fill: F) -> Vec<f32>
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let mut buffer = Vec::with_capacity(len);
    buffer.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk_len.max(1))
        .enumerate()
        .for_each(|(index, chunk)| {
            chunk.fill(std::mem::MaybeUninit::new(0.0));
            // Safety: every value of `chunk` was written just above, and `MaybeUninit<f32>`
            // has the layout of `f32`.
            let chunk = unsafe { &mut *(chunk as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) };
            fill(index, chunk);
        });
    // Safety: the chunks cover the first `len` values, and each was written above (a panic
    // in `fill` would have propagated before this).
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

    /// Each chunk comes once, with its index, its length (the last shorter) and zeros, and
    /// lands in its place.
    #[test]
    fn chunks_are_filled_in_place_from_zeros() {
        for (len, chunk) in [(0, 4), (1, 4), (10, 4), (12, 4), (70_000, 16_384), (5, 0)] {
            // Memory of the same size freed just before, likely handed out again: not zero.
            drop(std::hint::black_box(vec![7.0f32; len]));
            let buffer = super::filled_by_chunks(len, chunk, |index, values| {
                assert!(
                    values.iter().all(|&v| v.to_bits() == 0),
                    "chunk {index} not cleared"
                );
                let at = index * chunk.max(1);
                assert_eq!(
                    values.len(),
                    chunk.max(1).min(len - at),
                    "chunk {index}'s length"
                );
                for (i, v) in values.iter_mut().enumerate() {
                    *v = (at + i) as f32;
                }
            });
            assert_eq!(buffer.len(), len);
            assert!(
                buffer.iter().enumerate().all(|(i, &v)| v == i as f32),
                "{len}, {chunk}"
            );
        }
    }
}
