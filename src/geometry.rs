//! Padding rules shared by the model's layers and dcgan's kernels.
//!
//! TF pads a stride-2, 5×5 convolution on an even-sized input by 1 before and 2 after;
//! PyTorch's usual `padding=2` pads 2 on both sides, which gives the same output size but
//! shifts every window by one pixel. dcgan computes TF's 'SAME' padding everywhere: for the
//! seed's 5×5 layers it is what the tutorial does, and for the DCGAN paper's 4×4 stride-2
//! layers it is PyTorch's `padding=1` exactly (1 before, 1 after), so both families share
//! one rule and one set of kernels.

/// Padding `(before, after)` that TF's 'SAME' adds to one axis of `size_in` for a
/// convolution with `kernel` and `stride`: the output has `ceil(size_in / stride)` positions
/// and any odd padding goes after.
pub fn tf_same_padding(size_in: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let size_out = size_in.div_ceil(stride);
    let total = ((size_out - 1) * stride + kernel).saturating_sub(size_in);
    (total / 2, total - total / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tensorflow() {
        // 28 -> 14 and 14 -> 7: 3 pixels of padding, 1 before and 2 after.
        assert_eq!(tf_same_padding(28, 5, 2), (1, 2));
        assert_eq!(tf_same_padding(14, 5, 2), (1, 2));
        // 7 -> 4: 4 pixels, split evenly.
        assert_eq!(tf_same_padding(7, 5, 2), (2, 2));
        // Stride 1 keeps the size: 2 and 2.
        assert_eq!(tf_same_padding(28, 5, 1), (2, 2));
        assert_eq!(tf_same_padding(4, 1, 1), (0, 0));
    }

    #[test]
    fn four_by_four_stride_two_is_pytorchs_padding_one() {
        for size in [8, 16, 32, 64, 128, 256] {
            assert_eq!(tf_same_padding(size, 4, 2), (1, 1), "size {size}");
        }
        // The transposed form: the convolution that maps 2n to n.
        assert_eq!(tf_same_padding(2, 4, 2), (1, 1));
    }
}
