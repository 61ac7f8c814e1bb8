//! TF 'SAME' convolutions on the CPU as im2col + GEMM, forward and backward, on plain `f32`
//! slices in NCHW order.
//!
//! Everything is one convolution seen three ways: a strided convolution maps a large map `x`
//! (`[batch, channels_in, height_in, width_in]`) to a small one `y` (`[batch, channels_out,
//! height_out, width_out]`); its input gradient maps small to large (this is also the
//! transposed convolution's forward pass), and its weight gradient pairs the two. Each works
//! on a few images at a time, so the patch matrix stays in cache, and the images are shared
//! among threads by rayon; the matrix products are the `gemm` crate's (the one burn's CPU
//! backend uses), single-threaded inside a chunk.
//!
//! burn's own CPU kernels compute the weight gradients as a dilated convolution whose
//! "kernel" is the whole gradient map, a matrix product with 25 columns, and its transposed
//! convolution's backward through the same path; written out here as plain products they are
//! several times faster (see docs/performance.md).

use std::cell::RefCell;
use std::ops::Range;

use rayon::prelude::*;

use super::matmul::bf16::PackedLhs;
use super::matmul::{self, BAND_ROWS_MULTIPLE, Lhs, MatrixRef, matmul_add, matmul_lhs_bands};
use super::precision::Precision;
use super::simd;
use super::transpose::transpose;
use crate::geometry::tf_same_padding;

/// Output positions a chunk of images should give a matrix product, at least: fewer make
/// the product too thin for the GEMM kernels to run at speed.
const MIN_CHUNK_COLUMNS: usize = 256;

/// Chunks of images come in multiples of this, for an even share among 2, 4 or 8 threads.
const CHUNK_MULTIPLE: usize = 8;

/// Groups of images whose weight gradients are summed separately, then added: enough for
/// the threads of any common CPU to share, few enough that the partial sums stay small.
const WEIGHT_GRAD_GROUPS: usize = 8;

/// The shape of a TF 'SAME' convolution with a square kernel and equal strides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images.
    pub batch: usize,
    /// Channels of the large map (the convolution's input).
    pub channels_in: usize,
    /// Height of the large map.
    pub height_in: usize,
    /// Width of the large map.
    pub width_in: usize,
    /// Channels of the small map (the convolution's output).
    pub channels_out: usize,
    /// Side of the kernel.
    pub kernel: usize,
    /// Stride along both axes.
    pub stride: usize,
}

impl ConvGeometry {
    /// Height of the small map: `ceil(height_in / stride)`.
    pub fn height_out(&self) -> usize {
        self.height_in.div_ceil(self.stride)
    }

    /// Width of the small map.
    pub fn width_out(&self) -> usize {
        self.width_in.div_ceil(self.stride)
    }

    /// Rows of the patch matrix: one per input channel and kernel position.
    fn patch_len(&self) -> usize {
        self.channels_in * self.kernel * self.kernel
    }

    /// Positions of one small map.
    fn positions(&self) -> usize {
        self.height_out() * self.width_out()
    }

    /// Elements of one image of the large map.
    fn image_in(&self) -> usize {
        self.channels_in * self.height_in * self.width_in
    }

    /// Elements of one image of the small map.
    fn image_out(&self) -> usize {
        self.channels_out * self.positions()
    }

    /// Elements of the weight, `[channels_out, channels_in, kernel, kernel]`.
    pub fn weight_len(&self) -> usize {
        self.channels_out * self.patch_len()
    }

    /// Padding before the first row and column (TF's 'SAME': any odd pixel goes after).
    fn padding(&self) -> (usize, usize) {
        (
            tf_same_padding(self.height_in, self.kernel, self.stride).0,
            tf_same_padding(self.width_in, self.kernel, self.stride).0,
        )
    }

    /// Images per chunk of work: enough for a wide matrix product, and chunks in a multiple
    /// of [`CHUNK_MULTIPLE`] so that the threads get equal shares (7 chunks on 2 threads
    /// leave one idle an eighth of the time). The split depends on the shape only, never on
    /// the threads, so results do not either.
    fn chunk_images(&self) -> usize {
        let batch = self.batch.max(1);
        let fewest = MIN_CHUNK_COLUMNS
            .div_ceil(self.positions().max(1))
            .clamp(1, batch);
        let chunks = batch.div_ceil(fewest).next_multiple_of(CHUNK_MULTIPLE);
        batch.div_ceil(chunks).max(1)
    }
}

simd::multiversion! {
    /// The strided convolution: `y = conv(x, weight) + bias`, its products in `precision`.
    ///
    /// # Shapes
    /// - x: `[batch, channels_in, height_in, width_in]`
    /// - weight: `[channels_out, channels_in, kernel, kernel]`
    /// - bias: `[channels_out]`
    /// - output: `[batch, channels_out, height_out, width_out]`
    pub fn forward(
        geometry: &ConvGeometry,
        x: &[f32],
        weight: &[f32],
        bias: &[f32],
        precision: Precision,
    ) -> Vec<f32> {
        let g = geometry;
        assert_eq!(x.len(), g.batch * g.image_in(), "conv input size");
        assert_eq!(weight.len(), g.weight_len(), "conv weight size");
        assert_eq!(bias.len(), g.channels_out, "conv bias size");
        let (k, p, nb) = (g.patch_len(), g.positions(), g.chunk_images());
        let weight = MatrixRef::row_major(weight, g.channels_out, k);
        // In bf16 the weights are rounded and packed once for all chunks.
        let packed = (precision == Precision::Bf16).then(|| PackedLhs::new(weight));
        let chunk_len = nb * g.image_out();
        super::buffer::filled_by_chunks(g.batch * g.image_out(), chunk_len, |chunk, y| {
            with_scratch(|scratch| {
                let images = chunk * nb..(chunk * nb + nb).min(g.batch);
                let n = images.len() * p;
                // product [channels_out, n] = weight [channels_out, k] × cols [k, n]
                let product = prefix(&mut scratch.product, g.channels_out * n);
                match &packed {
                    // The patches go straight into the packed bf16 panels, a row at a
                    // time: no f32 patch matrix.
                    Some(packed) => {
                        let all = 0..g.channels_in;
                        fill_phase_planes(g, x, images.clone(), all, &mut scratch.planes);
                        let planes = &scratch.planes;
                        matmul::bf16::matmul_rows(product, packed, n, |row, out| {
                            patch_row(g, planes, row, out)
                        });
                    }
                    None => {
                        let cols = prefix(&mut scratch.cols, k * n);
                        im2col(g, x, images.clone(), cols, &mut scratch.planes);
                        let cols = MatrixRef::row_major(&scratch.cols[..k * n], k, n);
                        matmul::matmul(product, weight, cols, precision);
                    }
                }
                for (i, y) in y.chunks_mut(g.image_out()).enumerate() {
                    for (c, y) in y.chunks_mut(p).enumerate() {
                        let (row, b) = (&product[c * n + i * p..][..p], bias[c]);
                        for (out, value) in y.iter_mut().zip(row) {
                            *out = value + b;
                        }
                    }
                }
            })
        })
    }
}

simd::multiversion! {
    /// The gradient of [`forward`] with respect to `x`, given the gradient `grad_y` of its
    /// output; also the forward pass of the transposed convolution with the same weight, which
    /// adds `bias` (per channel of the large map) on the way. Products in `precision`.
    ///
    /// # Shapes
    /// - grad_y: `[batch, channels_out, height_out, width_out]`
    /// - weight: `[channels_out, channels_in, kernel, kernel]`
    /// - bias: `[channels_in]`
    /// - output: `[batch, channels_in, height_in, width_in]`
    pub fn input_grad(
        geometry: &ConvGeometry,
        grad_y: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        precision: Precision,
    ) -> Vec<f32> {
        let g = geometry;
        assert_eq!(
            grad_y.len(),
            g.batch * g.image_out(),
            "conv output gradient size"
        );
        assert_eq!(weight.len(), g.weight_len(), "conv weight size");
        if let Some(bias) = bias {
            assert_eq!(bias.len(), g.channels_in, "transposed conv bias size");
        }
        let (k, p, nb) = (g.patch_len(), g.positions(), g.chunk_images());
        // weightᵀ [k, channels_out] as a row-major matrix of its own: the `gemm` crate runs the
        // products faster on it than on a column-major view of `weight` (docs/performance.md).
        let weight_t = &transpose(weight, g.channels_out, k);
        let weight_t = MatrixRef::row_major(weight_t, k, g.channels_out);
        // In bf16 rounded and packed once for all chunks.
        let packed = (precision == Precision::Bf16).then(|| PackedLhs::new(weight_t));
        let lhs = match &packed {
            Some(packed) => Lhs::Bf16(packed),
            None => Lhs::F32(weight_t),
        };
        let chunk_len = nb * g.image_in();
        super::buffer::filled_by_chunks(g.batch * g.image_in(), chunk_len, |chunk, grad_x| {
            with_scratch(|scratch| {
                let Scratch {
                    cols,
                    product,
                    planes,
                } = scratch;
                let images = chunk * nb..(chunk * nb + nb).min(g.batch);
                let n = images.len() * p;
                let gathered = prefix(product, g.channels_out * n);
                gather_channels_first(g, grad_y, images.clone(), gathered);
                let grad_y = MatrixRef::row_major(gathered, g.channels_out, n);
                // cols [k, n] = weightᵀ [k, channels_out] × grad_y [channels_out, n], a
                // band of rows at a time, each summed into the phase planes while it is
                // in cache (col2im).
                clear_phase_planes(g, images.len(), planes);
                matmul_lhs_bands(lhs, grad_y, band_rows(n), cols, |rows, band| {
                    add_patch_rows(g, rows, band, n, planes)
                });
                join_phase_planes(g, planes, images.len(), bias, grad_x);
            })
        })
    }
}

/// The gradient of [`forward`] with respect to its weight, given its input `x` and the
/// gradient `grad_y` of its output, its products in `precision`.
///
/// # Shapes
/// - x: `[batch, channels_in, height_in, width_in]`
/// - grad_y: `[batch, channels_out, height_out, width_out]`
/// - output: `[channels_out, channels_in, kernel, kernel]`
pub fn weight_grad(
    geometry: &ConvGeometry,
    x: &[f32],
    grad_y: &[f32],
    precision: Precision,
) -> Vec<f32> {
    let banded = geometry.weight_len() >= BANDED_WEIGHT;
    summed_weight_grad(geometry, x, grad_y, precision, banded)
}

simd::multiversion! {
    /// [`weight_grad`], its sums shared among the threads by bands of patch rows (`banded`)
    /// or by groups of images: the same bits either way.
    fn summed_weight_grad(
        geometry: &ConvGeometry,
        x: &[f32],
        grad_y: &[f32],
        precision: Precision,
        banded: bool,
    ) -> Vec<f32> {
        let g = geometry;
        assert_eq!(x.len(), g.batch * g.image_in(), "conv input size");
        assert_eq!(
            grad_y.len(),
            g.batch * g.image_out(),
            "conv output gradient size"
        );
        let (k, p, nb, c) = (g.patch_len(), g.positions(), g.chunk_images(), g.channels_out);
        let chunks = g.batch.div_ceil(nb);
        // A fixed number of groups of consecutive chunks, each summed in order and the groups
        // then added in order: the same rounding whatever the threads do, so seeded runs
        // repeat exactly.
        let groups = chunks.min(WEIGHT_GRAD_GROUPS);
        let group_chunks =
            |group: usize| (group * chunks / groups)..((group + 1) * chunks / groups);
        // sum [rows, c] += the patch rows `rows` of the chunks `chunk_range` times their
        // grad_yᵀ: sumᵀ [k, c] += cols [k, n] × grad_yᵀ [n, c] a band of rows at a time (the
        // `gemm` crate runs this form faster than sum += grad_y × colsᵀ). Each row's sums are
        // the same, bit for bit, whatever the band (see the test of bands and groups).
        let add_chunks = |rows: Range<usize>,
                          chunk_range: Range<usize>,
                          sum: &mut [f32],
                          scratch: &mut Scratch| {
            let Scratch {
                cols,
                product,
                planes,
            } = scratch;
            for chunk in chunk_range {
                let images = chunk * nb..(chunk * nb + nb).min(g.batch);
                let n = images.len() * p;
                let gathered = prefix(product, c * n);
                gather_channels_first(g, grad_y, images.clone(), gathered);
                let grad_y_t = MatrixRef::row_major(gathered, c, n).transposed();
                // The planes of the channels whose patch rows these are.
                let kk = g.kernel * g.kernel;
                let channels = rows.start / kk..rows.end.div_ceil(kk);
                fill_phase_planes(g, x, images, channels, planes);
                let planes = &planes[..];
                match precision {
                    // The patches go straight into the packed bf16 rows.
                    Precision::Bf16 => matmul::bf16::matmul_add_rows(
                        sum,
                        [rows.len(), n],
                        |row, out| patch_row(g, planes, rows.start + row, out),
                        grad_y_t,
                    ),
                    Precision::F32 => {
                        let cols = prefix(cols, rows.len() * n);
                        for (row, out) in rows.clone().zip(cols.chunks_mut(n)) {
                            patch_row(g, planes, row, out);
                        }
                        let cols = MatrixRef::row_major(cols, rows.len(), n);
                        matmul_add(sum, cols, grad_y_t, precision);
                    }
                }
            }
        };
        let total_t = if !banded {
            // A whole weight's partial sum per group, the groups on the threads.
            let partials: Vec<Vec<f32>> = (0..groups)
                .into_par_iter()
                .map(|group| {
                    let mut sum_t = vec![0.0f32; g.weight_len()];
                    with_scratch(|scratch| {
                        add_chunks(0..k, group_chunks(group), &mut sum_t, scratch)
                    });
                    sum_t
                })
                .collect();
            let mut partials = partials.into_iter();
            let mut total_t = partials.next().unwrap_or_else(|| vec![0.0; g.weight_len()]);
            let rest: Vec<Vec<f32>> = partials.collect();
            // Each value's partial sums added in group order, the values shared among the
            // threads.
            total_t
                .par_chunks_mut(PARALLEL_BLOCK)
                .enumerate()
                .for_each(|(block, total)| {
                    for partial in &rest {
                        let partial = &partial[block * PARALLEL_BLOCK..][..total.len()];
                        total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
                    }
                });
            total_t
        } else {
            // Bands of patch rows on the threads, each summing the same groups in the same
            // order: a band's partial sums stay small where eight whole-weight ones (33 MB
            // each for the 128-pixel family's widest layers) went through memory.
            let band = k.div_ceil(WEIGHT_GRAD_BANDS).next_multiple_of(BAND_ROWS_MULTIPLE);
            super::buffer::filled_by_chunks(g.weight_len(), band * c, |b, total| {
                let rows = b * band..(b * band + band).min(k);
                let mut partial = vec![0.0f32; total.len()];
                with_scratch(|scratch| {
                    add_chunks(rows.clone(), group_chunks(0), total, scratch);
                    for group in 1..groups {
                        partial.fill(0.0);
                        add_chunks(rows.clone(), group_chunks(group), &mut partial, scratch);
                        total.iter_mut().zip(&partial).for_each(|(t, p)| *t += p);
                    }
                });
            })
        };
        transpose(&total_t, k, g.channels_out)
    }
}

/// Values of a weight from which its gradient is summed a band of patch rows per thread
/// rather than a group of images per thread (1 MiB).
const BANDED_WEIGHT: usize = 1 << 18;

/// Bands of patch rows a large weight's gradient is split into.
const WEIGHT_GRAD_BANDS: usize = 8;

/// Values per piece of work when whole weights are added on all threads.
const PARALLEL_BLOCK: usize = 1 << 14;

/// Sums of `values` (`[batch, channels, positions]`) per channel: the bias gradient of a
/// layer whose output gradient this is.
pub fn channel_sums(values: &[f32], batch: usize, channels: usize) -> Vec<f32> {
    let mut sums = vec![0.0f64; channels];
    let plane = values.len() / (batch * channels).max(1);
    for (i, plane_values) in values.chunks(plane.max(1)).enumerate() {
        sums[i % channels] += super::batch_norm::lane_sum(plane_values, |v| v);
    }
    sums.into_iter().map(|s| s as f32).collect()
}

/// One thread's working space, kept from call to call: a patch matrix (`cols`), a second
/// matrix (a product, or gathered output gradients) and phase planes. The buffers only grow,
/// so a chunk of work neither allocates nor zeroes them (rayon's `for_each_init` would
/// start fresh ones for every piece of work it splits off).
#[derive(Default)]
struct Scratch {
    cols: Vec<f32>,
    product: Vec<f32>,
    planes: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Runs `f` with this thread's [`Scratch`]. `f` must not start parallel work of its own,
/// which could run another chunk on this thread while the scratch is borrowed.
#[inline(always)]
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with_borrow_mut(f)
}

/// The first `len` values of `buffer`, grown first if it is shorter. They hold whatever the
/// last user left: callers overwrite them.
#[inline(always)]
fn prefix(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// The large map of a chunk of images, zero-padded and split by phase, so that every row
/// of a patch matrix is a run of contiguous copies: with stride `s`, phase plane `(py, px)`
/// of a channel holds `x[u·s + py − top, v·s + px − left]` at `(u, v)` (zero outside the
/// map), and patch element `(ky, kx)` of output `(oy, ox)` is phase plane
/// `(ky mod s, kx mod s)` at `(oy + ky / s, ox + kx / s)`.
#[derive(Clone, Copy)]
struct Phases {
    stride: usize,
    /// Rows and columns of one phase plane.
    rows: usize,
    cols: usize,
}

impl Phases {
    #[inline(always)]
    fn of(g: &ConvGeometry) -> Self {
        let reach = (g.kernel - 1) / g.stride;
        let phases = Phases {
            stride: g.stride,
            rows: g.height_out() + reach,
            cols: g.width_out() + reach,
        };
        // TF's 'SAME' padding never puts more than the kernel's reach after the map, so
        // every input value has its place in the planes.
        let (top, left) = g.padding();
        assert!(
            (g.height_in - 1 + top) / g.stride < phases.rows
                && (g.width_in - 1 + left) / g.stride < phases.cols,
            "phase planes of {g:?} too small"
        );
        phases
    }

    /// Elements of all phase planes of one channel.
    #[inline(always)]
    fn channel_len(&self) -> usize {
        self.stride * self.stride * self.rows * self.cols
    }

    /// Offset of phase plane `(py, px)` within its channel.
    #[inline(always)]
    fn plane(&self, py: usize, px: usize) -> usize {
        (py * self.stride + px) * self.rows * self.cols
    }
}

/// Where the values of one input row sit in its channel's phase planes: value `x` at
/// `at(x mod s) + x / s`. (A plain value rather than a closure: dcgan's loops are compiled
/// for the CPU's SIMD level by `simd::multiversion!`, which a closure written in a helper
/// would escape.)
#[derive(Clone, Copy)]
struct RowRuns {
    phases: Phases,
    /// The row's phase and row within its phase planes.
    py: usize,
    u: usize,
    /// Padding before the first column.
    left: usize,
}

impl RowRuns {
    /// Input row `iy`'s runs.
    #[inline(always)]
    fn of(g: &ConvGeometry, phases: Phases, iy: usize) -> Self {
        let (top, left) = g.padding();
        let s = g.stride;
        RowRuns {
            phases,
            py: (iy + top) % s,
            u: (iy + top) / s,
            left,
        }
    }

    /// Where the run of the row's values `x ≡ r (mod s)` begins.
    #[inline(always)]
    fn at(&self, r: usize) -> usize {
        // x = x' + r with x' a multiple of s: (x + left) / s = x' / s + (r + left) / s.
        let (p, s) = (&self.phases, self.phases.stride);
        p.plane(self.py, (r + self.left) % s) + self.u * p.cols + (r + self.left) / s
    }
}

/// `planes[run.at(x mod s) + x / s] = line[x]` for every `x`: an input row split by phase.
#[inline(always)]
fn split_row(line: &[f32], s: usize, run: RowRuns, planes: &mut [f32]) {
    match s {
        1 => planes[run.at(0)..][..line.len()].copy_from_slice(line),
        2 => {
            let (even, odd) = phase_pair(planes, run, line.len());
            for ((e, o), pair) in even
                .iter_mut()
                .zip(odd.iter_mut())
                .zip(line.chunks_exact(2))
            {
                (*e, *o) = (pair[0], pair[1]);
            }
            if line.len() % 2 == 1 {
                even[line.len() / 2] = line[line.len() - 1];
            }
        }
        _ => {
            for (x, &value) in line.iter().enumerate() {
                planes[run.at(x % s) + x / s] = value;
            }
        }
    }
}

/// `line[x] = planes[run.at(x mod s) + x / s] + bias` for every `x`: the inverse of
/// [`split_row`], adding `bias`.
#[inline(always)]
fn join_row(planes: &mut [f32], s: usize, run: RowRuns, bias: f32, line: &mut [f32]) {
    match s {
        1 => {
            for (target, value) in line.iter_mut().zip(&planes[run.at(0)..]) {
                *target = value + bias;
            }
        }
        2 => {
            let (even, odd) = phase_pair(planes, run, line.len());
            for ((e, o), pair) in even.iter().zip(odd.iter()).zip(line.chunks_exact_mut(2)) {
                (pair[0], pair[1]) = (e + bias, o + bias);
            }
            if line.len() % 2 == 1 {
                line[line.len() - 1] = even[line.len() / 2] + bias;
            }
        }
        _ => {
            for (x, target) in line.iter_mut().enumerate() {
                *target = planes[run.at(x % s) + x / s] + bias;
            }
        }
    }
}

/// The runs of a row's even and odd values in the phase planes (stride 2), each in its own
/// plane.
#[inline(always)]
fn phase_pair(planes: &mut [f32], run: RowRuns, width: usize) -> (&mut [f32], &mut [f32]) {
    let (even, odd) = (run.at(0), run.at(1));
    let [even, odd] = planes
        .get_disjoint_mut([even..even + width.div_ceil(2), odd..odd + width / 2])
        .expect("the even and odd values of a row lie in different phase planes");
    (even, odd)
}

/// Fills `cols` (`[patch_len, images * positions]`, row-major) with the patches of `images`:
/// row `(c, ky, kx)`, column `(image, oy, ox)` holds `x[image, c, oy·s + ky − top, ox·s + kx −
/// left]`, zero outside the map. `scratch` holds the phase planes ([`Phases`]).
#[inline(always)]
fn im2col(
    g: &ConvGeometry,
    x: &[f32],
    images: Range<usize>,
    cols: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    fill_phase_planes(g, x, images.clone(), 0..g.channels_in, scratch);
    let n = images.len() * g.positions();
    for (row, cols) in cols.chunks_mut(n).enumerate() {
        patch_row(g, scratch, row, cols);
    }
}

/// The phase planes ([`Phases`]) of `images` of the large map `x`, in `planes`: of every
/// channel, or of `channels` only (the others' places left as they were).
#[inline(always)]
fn fill_phase_planes(
    g: &ConvGeometry,
    x: &[f32],
    images: Range<usize>,
    channels: Range<usize>,
    planes: &mut Vec<f32>,
) {
    let phases = Phases::of(g);
    let (h, w, s) = (g.height_in, g.width_in, g.stride);
    let channel = phases.channel_len();
    let len = images.len() * g.channels_in * channel;
    if planes.len() < len {
        planes.resize(len, 0.0);
    }
    let x = &x[images.start * g.image_in()..][..images.len() * g.image_in()];
    for i in 0..images.len() {
        for ic in channels.clone().map(|c| i * g.channels_in + c) {
            let planes = &mut planes[ic * channel..][..channel];
            // The padding's zeros; the map's values are written over the rest.
            planes.fill(0.0);
            for iy in 0..h {
                let line = &x[(ic * h + iy) * w..][..w];
                split_row(line, s, RowRuns::of(g, phases, iy), planes);
            }
        }
    }
}

/// Row `row` = `(c, ky, kx)` of the patch matrix of the images whose phase planes
/// [`fill_phase_planes`] left in `planes`, into `out` (`images · positions` values): for
/// each image the window of phase plane `(ky mod s, kx mod s)` at `(ky / s, kx / s)`, `ho`
/// rows of `wo`.
#[inline(always)]
fn patch_row(g: &ConvGeometry, planes: &[f32], row: usize, out: &mut [f32]) {
    let phases = Phases::of(g);
    let (ho, wo, kernel, s) = (g.height_out(), g.width_out(), g.kernel, g.stride);
    let channel = phases.channel_len();
    let (c, ky, kx) = (row / (kernel * kernel), row / kernel % kernel, row % kernel);
    let window = phases.plane(ky % s, kx % s) + (ky / s) * phases.cols + kx / s;
    for (i, out) in out.chunks_mut(ho * wo).enumerate() {
        let planes = &planes[(i * g.channels_in + c) * channel + window..];
        zip_rows(out, wo, planes, phases.cols, [ho, wo], |_, plane| plane);
    }
}

/// `dst = op(dst, src)` for each element of `rows` rows of `width`, the rows `dst_stride`
/// and `src_stride` apart.
///
/// Written out for the seed model's map widths (4, 7, 14, 28) and the paper family's (8,
/// 16, 32): a loop of unknown length over a row of 7 or 14 values spends most of it in the
/// scalar tail after its 8-wide vector body, and a `copy_from_slice` that short is a call
/// into libc.
#[inline(always)]
fn zip_rows(
    dst: &mut [f32],
    dst_stride: usize,
    src: &[f32],
    src_stride: usize,
    [rows, width]: [usize; 2],
    op: impl Fn(f32, f32) -> f32,
) {
    #[inline(always)]
    fn fixed<const W: usize>(
        dst: &mut [f32],
        dst_stride: usize,
        src: &[f32],
        src_stride: usize,
        rows: usize,
        op: impl Fn(f32, f32) -> f32,
    ) {
        for r in 0..rows {
            let dst: &mut [f32; W] = (&mut dst[r * dst_stride..][..W]).try_into().unwrap();
            let src: &[f32; W] = src[r * src_stride..][..W].try_into().unwrap();
            *dst = std::array::from_fn(|j| op(dst[j], src[j]));
        }
    }
    match width {
        4 => fixed::<4>(dst, dst_stride, src, src_stride, rows, op),
        7 => fixed::<7>(dst, dst_stride, src, src_stride, rows, op),
        14 => fixed::<14>(dst, dst_stride, src, src_stride, rows, op),
        28 => fixed::<28>(dst, dst_stride, src, src_stride, rows, op),
        8 => fixed::<8>(dst, dst_stride, src, src_stride, rows, op),
        16 => fixed::<16>(dst, dst_stride, src, src_stride, rows, op),
        32 => fixed::<32>(dst, dst_stride, src, src_stride, rows, op),
        _ => {
            for r in 0..rows {
                let dst = &mut dst[r * dst_stride..][..width];
                for (d, &s) in dst.iter_mut().zip(&src[r * src_stride..][..width]) {
                    *d = op(*d, s);
                }
            }
        }
    }
}

/// Values of the input gradient's product made at once: a band of its rows (128 KiB) is
/// summed into the phase planes while it is still in the level-2 cache. Made whole, the
/// product of a chunk (1.2-1.6 MB for the seed's generator) went out to the level-3 cache
/// and came back for col2im.
const BAND_VALUES: usize = 32 * 1024;

/// Rows per band of a product with `n` columns: [`BAND_VALUES`] in a multiple of
/// [`BAND_ROWS_MULTIPLE`] rows.
fn band_rows(n: usize) -> usize {
    (BAND_VALUES / n.max(1) / BAND_ROWS_MULTIPLE).max(1) * BAND_ROWS_MULTIPLE
}

/// Zeroed phase planes ([`Phases`]) for the large map of `images` images, in `planes`: the
/// sums of [`add_patch_rows`].
#[inline(always)]
fn clear_phase_planes(g: &ConvGeometry, images: usize, planes: &mut Vec<f32>) {
    planes.clear();
    planes.resize(images * g.channels_in * Phases::of(g).channel_len(), 0.0);
}

/// The adjoint of [`im2col`] for rows `rows` of a chunk's patch matrix (`band`, `rows.len()`
/// × `n`): adds each entry into its place in the chunk's phase planes ([`Phases`]), where
/// the sums are made with contiguous additions. The rows' bands come in order, so each
/// position's terms are added in the order of the patch matrix's rows.
#[inline(always)]
fn add_patch_rows(
    g: &ConvGeometry,
    rows: Range<usize>,
    band: &[f32],
    n: usize,
    planes: &mut [f32],
) {
    let phases = Phases::of(g);
    let (ho, wo, s, kernel) = (g.height_out(), g.width_out(), g.stride, g.kernel);
    let channel = phases.channel_len();
    for (row, values) in rows.zip(band.chunks(n)) {
        let (c, ky, kx) = (row / (kernel * kernel), row / kernel % kernel, row % kernel);
        let plane = phases.plane(ky % s, kx % s) + (ky / s) * phases.cols + kx / s;
        for (i, values) in values.chunks(ho * wo).enumerate() {
            let planes = &mut planes[(i * g.channels_in + c) * channel + plane..];
            zip_rows(planes, phases.cols, values, wo, [ho, wo], |sum, value| {
                sum + value
            });
        }
    }
}

/// Writes the sums in the phase planes of `images` images into `grad_x`, the chunk's images
/// of the large map, plus `bias` of their channel (if any): col2im's last step.
#[inline(always)]
fn join_phase_planes(
    g: &ConvGeometry,
    planes: &mut [f32],
    images: usize,
    bias: Option<&[f32]>,
    grad_x: &mut [f32],
) {
    let phases = Phases::of(g);
    let (h, w, s) = (g.height_in, g.width_in, g.stride);
    let channel = phases.channel_len();
    // Every input position is one phase-plane position.
    for ic in 0..images * g.channels_in {
        let b = bias.map_or(0.0, |b| b[ic % g.channels_in]);
        for iy in 0..h {
            let line = &mut grad_x[(ic * h + iy) * w..][..w];
            let run = RowRuns::of(g, phases, iy);
            join_row(&mut planes[ic * channel..][..channel], s, run, b, line);
        }
    }
}

/// Copies `images` of `y` (`[batch, channels_out, positions]`) into `out`
/// (`[channels_out, images * positions]`), the layout the matrix products take.
#[inline(always)]
fn gather_channels_first(g: &ConvGeometry, y: &[f32], images: Range<usize>, out: &mut [f32]) {
    let p = g.positions();
    let n = images.len() * p;
    for (i, image) in images.enumerate() {
        let image = &y[image * g.image_out()..][..g.image_out()];
        for (c, plane) in image.chunks(p).enumerate() {
            out[c * n + i * p..][..p].copy_from_slice(plane);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The convolution written as its definition, in f64.
    fn naive_forward(g: &ConvGeometry, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
        let (ho, wo, k) = (g.height_out(), g.width_out(), g.kernel);
        let (top, left) = g.padding();
        let mut y = vec![0.0f64; g.batch * g.image_out()];
        for n in 0..g.batch {
            for co in 0..g.channels_out {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut sum = f64::from(b[co]);
                        for ci in 0..g.channels_in {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * g.stride + ky) as isize - top as isize;
                                    let ix = (ox * g.stride + kx) as isize - left as isize;
                                    if iy < 0 || ix < 0 {
                                        continue;
                                    }
                                    let (iy, ix) = (iy as usize, ix as usize);
                                    if iy >= g.height_in || ix >= g.width_in {
                                        continue;
                                    }
                                    let xv = x[((n * g.channels_in + ci) * g.height_in + iy)
                                        * g.width_in
                                        + ix];
                                    let wv = w[((co * g.channels_in + ci) * k + ky) * k + kx];
                                    sum += f64::from(xv) * f64::from(wv);
                                }
                            }
                        }
                        y[((n * g.channels_out + co) * ho + oy) * wo + ox] = sum;
                    }
                }
            }
        }
        y
    }

    fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn dot(a: &[f32], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(&a, b)| f64::from(a) * b).sum()
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-6);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(*g) - w).abs() <= 1e-4 * scale,
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// The seed's layers' geometries, small batches, odd and even sizes.
    fn geometries() -> Vec<ConvGeometry> {
        let geometry = |batch, channels_in, size, channels_out, stride| ConvGeometry {
            batch,
            channels_in,
            height_in: size,
            width_in: size,
            channels_out,
            kernel: 5,
            stride,
        };
        vec![
            geometry(3, 1, 28, 4, 2),
            geometry(2, 3, 14, 5, 2),
            geometry(13, 4, 7, 3, 2),
            geometry(2, 3, 28, 1, 1),
            geometry(1, 2, 9, 2, 2),
            ConvGeometry {
                height_in: 6,
                width_in: 11,
                ..geometry(2, 2, 6, 3, 2)
            },
            // Stride 3 and a kernel of 3: the general path of split_row and join_row.
            ConvGeometry {
                width_in: 10,
                kernel: 3,
                ..geometry(2, 2, 8, 3, 3)
            },
            // The paper family's kernel of 4, even and odd sizes.
            ConvGeometry {
                kernel: 4,
                ..geometry(2, 3, 8, 4, 2)
            },
            ConvGeometry {
                kernel: 4,
                width_in: 7,
                ..geometry(2, 2, 5, 3, 2)
            },
        ]
    }

    #[test]
    fn forward_matches_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for g in geometries() {
            let x = random(g.batch * g.image_in(), &mut rng);
            let w = random(g.weight_len(), &mut rng);
            let b = random(g.channels_out, &mut rng);
            assert_close(
                &forward(&g, &x, &w, &b, Precision::F32),
                &naive_forward(&g, &x, &w, &b),
                "y",
            );
        }
    }

    /// Each gradient is checked as the adjoint it is: for a random output gradient `r`,
    /// `⟨r, conv(x, w)⟩` is linear in `x` and in `w`, so its gradient with respect to one
    /// input element equals the change of the dot product when that element is 1 and the
    /// rest 0, which the definition computes.
    #[test]
    fn gradients_match_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for g in geometries() {
            let x = random(g.batch * g.image_in(), &mut rng);
            let w = random(g.weight_len(), &mut rng);
            let r = random(g.batch * g.image_out(), &mut rng);
            let zero_bias = vec![0.0f32; g.channels_out];

            let mut unit = vec![0.0f32; x.len()];
            let want_x: Vec<f64> = (0..x.len())
                .map(|i| {
                    unit[i] = 1.0;
                    let value = dot(&r, &naive_forward(&g, &unit, &w, &zero_bias));
                    unit[i] = 0.0;
                    value
                })
                .collect();
            assert_close(
                &input_grad(&g, &r, &w, None, Precision::F32),
                &want_x,
                "grad x",
            );
            // With a bias, each channel of the large map is shifted by it.
            let bias: Vec<f32> = (0..g.channels_in).map(|c| c as f32 - 0.5).collect();
            let plane = g.height_in * g.width_in;
            let shifted: Vec<f64> = want_x
                .iter()
                .enumerate()
                .map(|(i, v)| v + f64::from(bias[i / plane % g.channels_in]))
                .collect();
            assert_close(
                &input_grad(&g, &r, &w, Some(&bias), Precision::F32),
                &shifted,
                "grad x + bias",
            );

            let mut unit = vec![0.0f32; w.len()];
            let want_w: Vec<f64> = (0..w.len())
                .map(|i| {
                    unit[i] = 1.0;
                    let value = dot(&r, &naive_forward(&g, &x, &unit, &zero_bias));
                    unit[i] = 0.0;
                    value
                })
                .collect();
            assert_close(&weight_grad(&g, &x, &r, Precision::F32), &want_w, "grad w");
        }
    }

    /// With bf16 products each term is off by at most about 2⁻⁷ of its size (each operand
    /// rounded to 8 significant bits, off by at most 2⁻⁸ of itself), so each output is
    /// within 2⁻⁷ · Σ|terms| of the f32 result: checked for every pass at the seed's layers and the
    /// test geometries. The results must differ from f32 somewhere, or bf16 did not run.
    #[test]
    fn bf16_products_match_f32_within_their_rounding() {
        if !crate::kernels::matmul::bf16::available() {
            let err = crate::kernels::precision::set(Precision::Bf16).unwrap_err();
            assert!(err.to_string().contains("--precision f32"), "{err}");
            eprintln!(
                "SKIPPED bf16 convolutions: this CPU has no AVX512-BF16 (--precision bf16 is \
                 refused, checked)"
            );
            return;
        }
        let seed_layers = [(1, 28, 32), (32, 14, 64), (64, 7, 128), (32, 28, 1)];
        let mut all = geometries();
        all.extend(
            seed_layers.map(|(channels_in, size, channels_out)| ConvGeometry {
                batch: 3,
                channels_in,
                height_in: size,
                width_in: size,
                channels_out,
                kernel: 5,
                stride: if channels_out == 1 { 1 } else { 2 },
            }),
        );
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let abs = |v: &[f32]| v.iter().map(|v| v.abs()).collect::<Vec<f32>>();
        let check = |bf16: Vec<f32>, f32: Vec<f32>, bound: Vec<f32>, what: &str| {
            assert_ne!(bf16, f32, "{what}: bf16 gave the f32 result");
            for (i, ((b, f), bound)) in bf16.iter().zip(&f32).zip(&bound).enumerate() {
                assert!(
                    (b - f).abs() <= bound / 128.0 + 1e-5,
                    "{what}[{i}]: bf16 {b}, f32 {f}, Σ|terms| {bound}"
                );
            }
        };
        for g in all {
            let x = random(g.batch * g.image_in(), &mut rng);
            let w = random(g.weight_len(), &mut rng);
            let r = random(g.batch * g.image_out(), &mut rng);
            let b = vec![0.0f32; g.channels_out];
            let (ax, aw, ar) = (abs(&x), abs(&w), abs(&r));
            let (bf, f) = (Precision::Bf16, Precision::F32);
            check(
                forward(&g, &x, &w, &b, bf),
                forward(&g, &x, &w, &b, f),
                forward(&g, &ax, &aw, &b, f),
                &format!("{g:?} y"),
            );
            check(
                input_grad(&g, &r, &w, None, bf),
                input_grad(&g, &r, &w, None, f),
                input_grad(&g, &ar, &aw, None, f),
                &format!("{g:?} grad x"),
            );
            check(
                weight_grad(&g, &x, &r, bf),
                weight_grad(&g, &x, &r, f),
                weight_grad(&g, &ax, &ar, f),
                &format!("{g:?} grad w"),
            );
        }
    }

    /// Seeded runs repeat bit for bit only if the sums do not depend on the threads.
    #[test]
    fn weight_gradients_do_not_depend_on_the_threads() {
        let g = ConvGeometry {
            batch: 37,
            channels_in: 3,
            height_in: 14,
            width_in: 14,
            channels_out: 4,
            kernel: 5,
            stride: 2,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = random(g.batch * g.image_in(), &mut rng);
        let r = random(g.batch * g.image_out(), &mut rng);
        let with_threads =
            |threads| on_threads(threads, || weight_grad(&g, &x, &r, Precision::F32));
        let one = with_threads(1);
        for threads in [2, 3, 5] {
            assert!(
                one == with_threads(threads),
                "{threads} threads changed the sums"
            );
        }
    }

    /// A large weight's gradient summed by bands of patch rows is the same, bit for bit, as
    /// by groups of images, in f32 and (where the CPU has it) in bf16, on 1 thread or 3.
    #[test]
    fn weight_gradient_bands_and_groups_give_the_same_bits() {
        // The paper family's 4×4 kernels: 800 patch rows in 8 bands (the last shorter), 19
        // images in 19 chunks summed in 8 groups of 2 or 3.
        let g = ConvGeometry {
            batch: 19,
            channels_in: 50,
            height_in: 32,
            width_in: 32,
            channels_out: 24,
            kernel: 4,
            stride: 2,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x = random(g.batch * g.image_in(), &mut rng);
        let r = random(g.batch * g.image_out(), &mut rng);
        let mut precisions = vec![Precision::F32];
        match matmul::bf16::available() {
            true => precisions.push(Precision::Bf16),
            false => eprintln!("SKIPPED the bf16 half: this CPU has no AVX512-BF16"),
        }
        for precision in precisions {
            let grouped = summed_weight_grad(&g, &x, &r, precision, false);
            for threads in [1, 3] {
                let banded =
                    on_threads(threads, || summed_weight_grad(&g, &x, &r, precision, true));
                let same = banded
                    .iter()
                    .zip(&grouped)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{precision:?}, {threads} threads: bands and groups differ"
                );
            }
        }
        // And right: against the definition (no bias).
        let w = random(g.weight_len(), &mut rng);
        let zero = vec![0.0; g.channels_out];
        let want = naive_forward(&g, &x, &w, &zero);
        let loss = dot(&r, &want);
        let grad = summed_weight_grad(&g, &x, &r, Precision::F32, true);
        // d loss / d w · w = loss (the convolution is linear in w).
        let got: f64 = grad
            .iter()
            .zip(&w)
            .map(|(&g, &w)| f64::from(g) * f64::from(w))
            .sum();
        assert!(
            (got - loss).abs() <= 1e-4 * loss.abs().max(1.0),
            "{got} vs {loss}"
        );
    }

    /// `f` run on a pool of `threads` threads.
    fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(f)
    }

    #[test]
    fn sums_per_channel() {
        // [batch 2, channels 3, positions 2]
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        assert_eq!(
            channel_sums(&values, 2, 3),
            vec![0. + 1. + 6. + 7., 2. + 3. + 8. + 9., 4. + 5. + 10. + 11.]
        );
    }
}
