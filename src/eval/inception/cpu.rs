//! Inception-v3 on dcgan's CPU kernels ([`conv_relu`], [`pool`]): the network of
//! [`super::network`], run one image per thread on plain slices. Each thread keeps its maps
//! from image to image (no allocation, no page clearing after the first), and each branch of
//! a mixed block writes straight into its channels of the block's output (no concatenation).
//! burn's modules stay the network's definition and its path on other devices; this is its
//! path on the CPU, about twice as fast as they are there (docs/performance.md).

use std::sync::OnceLock;

use rayon::prelude::*;

use super::basic_conv::{BasicConv2d, values};
use super::blocks::{InceptionA, InceptionB, InceptionC, InceptionD, InceptionE};
use super::network::{FEATURES, INPUT_SIZE, Inception, LOGITS};
use crate::kernels::conv_relu::{self, ConvScratch, PaddedConv, grown};
use crate::kernels::matmul::bf16::PackedLhs;
use crate::kernels::matmul::{Lhs, MatrixRef, matmul};
use crate::kernels::pool::{self, Pool};
use crate::kernels::precision::Precision;

/// Values of one preprocessed input image, `[3, 299, 299]`.
const IMAGE: usize = 3 * INPUT_SIZE * INPUT_SIZE;

/// A map's channels and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    channels: usize,
    size: [usize; 2],
}

impl Shape {
    fn area(&self) -> usize {
        self.size[0] * self.size[1]
    }

    fn len(&self) -> usize {
        self.channels * self.area()
    }
}

/// A [`BasicConv2d`] as plain values, its BatchNorm folded.
struct Conv {
    /// The shape, `size_in` set for each map.
    shape: PaddedConv,
    weight: Vec<f32>,
    bias: Vec<f32>,
    /// The weight rounded to bf16 and packed, on first use in bf16.
    bf16: OnceLock<PackedLhs>,
}

impl Conv {
    fn of(layer: &BasicConv2d) -> Self {
        let (shape, weight, bias) = layer.folded();
        Conv {
            shape,
            weight,
            bias,
            bf16: OnceLock::new(),
        }
    }

    /// The weight as the left operand of the products in `precision`.
    fn weight(&self, precision: Precision) -> Lhs<'_> {
        let k = self.weight.len() / self.shape.channels_out;
        let matrix = MatrixRef::row_major(&self.weight, self.shape.channels_out, k);
        match precision {
            Precision::F32 => Lhs::F32(matrix),
            Precision::Bf16 => Lhs::Bf16(self.bf16.get_or_init(|| PackedLhs::new(matrix))),
        }
    }

    fn at(&self, x: Shape) -> PaddedConv {
        assert_eq!(x.channels, self.shape.channels_in, "channels into a conv");
        PaddedConv {
            size_in: x.size,
            ..self.shape
        }
    }

    fn output(&self, x: Shape) -> Shape {
        Shape {
            channels: self.shape.channels_out,
            size: self.at(x).size_out(),
        }
    }
}

/// A block's output, filled branch by branch: each takes the next channels.
struct Concat<'a> {
    out: &'a mut [f32],
    size: [usize; 2],
    channels: usize,
}

impl<'a> Concat<'a> {
    fn new(out: &'a mut [f32], size: [usize; 2]) -> Self {
        Concat {
            out,
            size,
            channels: 0,
        }
    }

    /// The values of the next `channels` channels.
    fn next(&mut self, channels: usize) -> &mut [f32] {
        let area = self.size[0] * self.size[1];
        let start = self.channels * area;
        self.channels += channels;
        &mut self.out[start..self.channels * area]
    }

    /// The shape of what the branches have written.
    fn shape(&self) -> Shape {
        Shape {
            channels: self.channels,
            size: self.size,
        }
    }
}

/// One thread's working memory, kept from image to image: the convolutions' scratch and the
/// maps inside a chain of layers.
struct Work {
    precision: Precision,
    scratch: ConvScratch,
    between: [Vec<f32>; 2],
}

impl Work {
    fn new(precision: Precision) -> Self {
        Work {
            precision,
            scratch: ConvScratch::default(),
            between: [Vec::new(), Vec::new()],
        }
    }

    /// `layer` on `x`, into the start of `out`; returns the output's shape.
    fn conv(&mut self, layer: &Conv, x: &[f32], shape: Shape, out: &mut [f32]) -> Shape {
        let y = layer.output(shape);
        let (weight, bias) = (layer.weight(self.precision), &layer.bias);
        let g = layer.at(shape);
        let (x, out) = (&x[..shape.len()], &mut out[..y.len()]);
        conv_relu::image_relu(&g, x, weight, bias, out, &mut self.scratch);
        y
    }

    /// `layer` on `x`, into `out` grown to hold it.
    fn conv_to(&mut self, layer: &Conv, x: &[f32], shape: Shape, out: &mut Vec<f32>) -> Shape {
        let len = layer.output(shape).len();
        self.conv(layer, x, shape, grown(out, len))
    }

    /// `layers` in turn on `x`, the last one writing the next channels of `out`.
    fn branch(&mut self, layers: &[Conv], x: &[f32], shape: Shape, out: &mut Concat) {
        let (last, first) = layers.split_last().expect("a branch has layers");
        let [mut from, mut to] = std::mem::take(&mut self.between);
        let mut shape = shape;
        for (i, layer) in first.iter().enumerate() {
            let input = if i == 0 { x } else { &from[..] };
            shape = self.conv_to(layer, input, shape, &mut to);
            std::mem::swap(&mut from, &mut to);
        }
        let input = if first.is_empty() { x } else { &from[..] };
        self.conv(last, input, shape, out.next(last.shape.channels_out));
        self.between = [from, to];
    }

    /// `layers` in turn on `x`, into `out` grown to hold the last map.
    fn chain_to(&mut self, layers: &[Conv], x: &[f32], shape: Shape, out: &mut Vec<f32>) -> Shape {
        let last = layers.last().expect("a chain has layers");
        let y = layers.iter().fold(shape, |s, layer| layer.output(s));
        grown(out, y.len());
        self.branch(layers, x, shape, &mut Concat::new(out, y.size));
        assert_eq!(y.channels, last.shape.channels_out);
        y
    }
}

/// A mixed block's temporary maps: pooled inputs and the inputs of split branches.
type Temps = [Vec<f32>; 3];

/// The 3×3 size-keeping pool of `x` into `out` grown to hold it.
fn pool_same(kind: Pool, x: &[f32], shape: Shape, out: &mut Vec<f32>) -> Shape {
    pool::same_3x3(
        kind,
        &x[..shape.len()],
        shape.channels,
        shape.size,
        grown(out, shape.len()),
    );
    shape
}

/// The 3×3 stride-2 max pool of `x` into `out`.
fn pool_reduce(x: &[f32], shape: Shape, out: &mut [f32]) -> Shape {
    let y = Shape {
        channels: shape.channels,
        size: pool::reduced_size(shape.size),
    };
    pool::max_3x3_stride_2(
        &x[..shape.len()],
        shape.channels,
        shape.size,
        &mut out[..y.len()],
    );
    y
}

fn convs<const N: usize>(layers: &[BasicConv2d; N]) -> [Conv; N] {
    layers.each_ref().map(Conv::of)
}

/// See [`InceptionA`].
struct BlockA {
    branch1x1: Conv,
    branch5x5: [Conv; 2],
    branch3x3dbl: [Conv; 3],
    branch_pool: Conv,
}

impl BlockA {
    fn of(b: &InceptionA) -> Self {
        BlockA {
            branch1x1: Conv::of(&b.branch1x1),
            branch5x5: convs(&b.branch5x5),
            branch3x3dbl: convs(&b.branch3x3dbl),
            branch_pool: Conv::of(&b.branch_pool),
        }
    }

    fn forward(&self, x: &[f32], s: Shape, out: &mut [f32], w: &mut Work, t: &mut Temps) -> Shape {
        let mut cat = Concat::new(out, s.size);
        w.branch(std::slice::from_ref(&self.branch1x1), x, s, &mut cat);
        w.branch(&self.branch5x5, x, s, &mut cat);
        w.branch(&self.branch3x3dbl, x, s, &mut cat);
        pool_same(Pool::Average, x, s, &mut t[0]);
        w.branch(std::slice::from_ref(&self.branch_pool), &t[0], s, &mut cat);
        cat.shape()
    }
}

/// See [`InceptionB`].
struct BlockB {
    branch3x3: Conv,
    branch3x3dbl: [Conv; 3],
}

impl BlockB {
    fn of(b: &InceptionB) -> Self {
        BlockB {
            branch3x3: Conv::of(&b.branch3x3),
            branch3x3dbl: convs(&b.branch3x3dbl),
        }
    }

    fn forward(&self, x: &[f32], s: Shape, out: &mut [f32], w: &mut Work) -> Shape {
        let mut cat = Concat::new(out, pool::reduced_size(s.size));
        w.branch(std::slice::from_ref(&self.branch3x3), x, s, &mut cat);
        w.branch(&self.branch3x3dbl, x, s, &mut cat);
        pool_reduce(x, s, cat.next(s.channels));
        cat.shape()
    }
}

/// See [`InceptionC`].
struct BlockC {
    branch1x1: Conv,
    branch7x7: [Conv; 3],
    branch7x7dbl: [Conv; 5],
    branch_pool: Conv,
}

impl BlockC {
    fn of(b: &InceptionC) -> Self {
        BlockC {
            branch1x1: Conv::of(&b.branch1x1),
            branch7x7: convs(&b.branch7x7),
            branch7x7dbl: convs(&b.branch7x7dbl),
            branch_pool: Conv::of(&b.branch_pool),
        }
    }

    fn forward(&self, x: &[f32], s: Shape, out: &mut [f32], w: &mut Work, t: &mut Temps) -> Shape {
        let mut cat = Concat::new(out, s.size);
        w.branch(std::slice::from_ref(&self.branch1x1), x, s, &mut cat);
        w.branch(&self.branch7x7, x, s, &mut cat);
        w.branch(&self.branch7x7dbl, x, s, &mut cat);
        pool_same(Pool::Average, x, s, &mut t[0]);
        w.branch(std::slice::from_ref(&self.branch_pool), &t[0], s, &mut cat);
        cat.shape()
    }
}

/// See [`InceptionD`].
struct BlockD {
    branch3x3: [Conv; 2],
    branch7x7x3: [Conv; 4],
}

impl BlockD {
    fn of(b: &InceptionD) -> Self {
        BlockD {
            branch3x3: convs(&b.branch3x3),
            branch7x7x3: convs(&b.branch7x7x3),
        }
    }

    fn forward(&self, x: &[f32], s: Shape, out: &mut [f32], w: &mut Work) -> Shape {
        let mut cat = Concat::new(out, pool::reduced_size(s.size));
        w.branch(&self.branch3x3, x, s, &mut cat);
        w.branch(&self.branch7x7x3, x, s, &mut cat);
        pool_reduce(x, s, cat.next(s.channels));
        cat.shape()
    }
}

/// See [`InceptionE`].
struct BlockE {
    branch1x1: Conv,
    branch3x3_1: Conv,
    branch3x3_2: [Conv; 2],
    branch3x3dbl_1: [Conv; 2],
    branch3x3dbl_3: [Conv; 2],
    branch_pool: Conv,
    pool: Pool,
}

impl BlockE {
    fn of(b: &InceptionE) -> Self {
        let pool = match (&b.average, &b.max) {
            (Some(_), None) => Pool::Average,
            (None, Some(_)) => Pool::Max,
            _ => unreachable!("an InceptionE is built with one pooling"),
        };
        BlockE {
            branch1x1: Conv::of(&b.branch1x1),
            branch3x3_1: Conv::of(&b.branch3x3_1),
            branch3x3_2: convs(&b.branch3x3_2),
            branch3x3dbl_1: convs(&b.branch3x3dbl_1),
            branch3x3dbl_3: convs(&b.branch3x3dbl_3),
            branch_pool: Conv::of(&b.branch_pool),
            pool,
        }
    }

    fn forward(&self, x: &[f32], s: Shape, out: &mut [f32], w: &mut Work, t: &mut Temps) -> Shape {
        let [split, split_dbl, pooled] = t;
        let mut cat = Concat::new(out, s.size);
        w.branch(std::slice::from_ref(&self.branch1x1), x, s, &mut cat);
        let a = w.conv_to(&self.branch3x3_1, x, s, split);
        for layer in &self.branch3x3_2 {
            w.branch(std::slice::from_ref(layer), split, a, &mut cat);
        }
        let b = w.chain_to(&self.branch3x3dbl_1, x, s, split_dbl);
        for layer in &self.branch3x3dbl_3 {
            w.branch(std::slice::from_ref(layer), split_dbl, b, &mut cat);
        }
        pool_same(self.pool, x, s, pooled);
        w.branch(std::slice::from_ref(&self.branch_pool), pooled, s, &mut cat);
        cat.shape()
    }
}

/// Inception-v3 for the CPU, built from [`Inception`]'s weights.
pub struct CpuInception {
    stem: [Conv; 5],
    mixed_5: [BlockA; 3],
    mixed_6a: BlockB,
    mixed_6: [BlockC; 4],
    mixed_7a: BlockD,
    mixed_7: [BlockE; 2],
    /// `fc.weight` `[1008, 2048]` and `fc.bias` `[1008]`.
    fc: Option<(Vec<f32>, Vec<f32>)>,
    /// Values in the largest map (the third convolution's output).
    largest_map: usize,
}

/// The features of a batch, and the logits where the network has its classifier.
#[derive(Debug, Clone)]
pub struct CpuOutput {
    /// `[batch, 2048]`.
    pub features: Vec<f32>,
    /// `[batch, 1008]`.
    pub logits: Option<Vec<f32>>,
}

/// One image's features and logits, and its maps after blocks 0–2 when asked for.
struct ImageOutput {
    features: Vec<f32>,
    logits: Option<Vec<f32>>,
    blocks: Option<[Vec<f32>; 3]>,
}

/// One thread's memory for whole images.
struct Buffers {
    work: Work,
    maps: [Vec<f32>; 2],
    temps: Temps,
}

impl CpuInception {
    /// The network's weights, copied out of `network`.
    pub fn new(network: &Inception) -> Self {
        let stem: [Conv; 5] = [
            Conv::of(&network.stem[0]),
            Conv::of(&network.stem[1]),
            Conv::of(&network.stem[2]),
            Conv::of(&network.stem_2[0]),
            Conv::of(&network.stem_2[1]),
        ];
        let input = Shape {
            channels: 3,
            size: [INPUT_SIZE; 2],
        };
        let largest_map = stem[..3]
            .iter()
            .scan(input, |s, layer| {
                *s = layer.output(*s);
                Some(s.len())
            })
            .max()
            .expect("stem layers");
        let fc = network.fc.as_ref().map(|fc| {
            // burn keeps [in, out]; the product below takes PyTorch's [out, in].
            let weight = fc.weight.val().transpose();
            let bias = fc.bias.as_ref().expect("fc has a bias").val();
            (values(weight), values(bias))
        });
        CpuInception {
            stem,
            mixed_5: network.mixed_5.each_ref().map(BlockA::of),
            mixed_6a: BlockB::of(&network.mixed_6a),
            mixed_6: network.mixed_6.each_ref().map(BlockC::of),
            mixed_7a: BlockD::of(&network.mixed_7a),
            mixed_7: network.mixed_7.each_ref().map(BlockE::of),
            fc,
            largest_map,
        }
    }

    /// True when the network gives logits.
    pub fn has_logits(&self) -> bool {
        self.fc.is_some()
    }

    /// The features (and logits) of preprocessed images `[batch, 3, 299, 299]`, one image
    /// per thread, the convolutions' products in `precision`.
    pub fn forward(&self, input: &[f32], precision: Precision) -> CpuOutput {
        let mut out = CpuOutput {
            features: Vec::with_capacity(input.len() / IMAGE * FEATURES),
            logits: self.has_logits().then(Vec::new),
        };
        for image in self.images(input, precision, false) {
            out.features.extend(image.features);
            if let (Some(all), Some(logits)) = (&mut out.logits, image.logits) {
                all.extend(logits);
            }
        }
        out
    }

    /// The maps after pytorch-fid's blocks 0, 1 and 2, and the features (block 3), of
    /// preprocessed images, for checking the network block by block.
    pub fn forward_blocks(&self, input: &[f32], precision: Precision) -> [Vec<f32>; 4] {
        let images = self.images(input, precision, true);
        let block = |b: usize| {
            images
                .iter()
                .flat_map(|i| i.blocks.as_ref().expect("blocks")[b].clone())
                .collect()
        };
        let features = images.iter().flat_map(|i| i.features.clone()).collect();
        [block(0), block(1), block(2), features]
    }

    fn images(&self, input: &[f32], precision: Precision, blocks: bool) -> Vec<ImageOutput> {
        assert_eq!(input.len() % IMAGE, 0, "images of 3×299×299 values");
        let fresh = || Buffers {
            work: Work::new(precision),
            maps: [Vec::new(), Vec::new()],
            temps: [Vec::new(), Vec::new(), Vec::new()],
        };
        input
            .par_chunks(IMAGE)
            .map_init(fresh, |buffers, image| self.image(image, buffers, blocks))
            .collect()
    }

    /// One image through the network.
    fn image(&self, image: &[f32], buffers: &mut Buffers, keep_blocks: bool) -> ImageOutput {
        let Buffers { work, maps, temps } = buffers;
        let [a, b] = maps;
        grown(a, self.largest_map);
        grown(b, self.largest_map);
        let mut kept = Vec::new();
        let mut keep = |map: &[f32], s: Shape| {
            if keep_blocks {
                kept.push(map[..s.len()].to_vec());
            }
        };
        let mut s = Shape {
            channels: 3,
            size: [INPUT_SIZE; 2],
        };
        s = work.conv(&self.stem[0], image, s, a); // [32, 149, 149]
        s = work.conv(&self.stem[1], a, s, b); // [32, 147, 147]
        s = work.conv(&self.stem[2], b, s, a); // [64, 147, 147]
        s = pool_reduce(a, s, b); // [64, 73, 73]
        keep(b, s);
        s = work.conv(&self.stem[3], b, s, a); // [80, 73, 73]
        s = work.conv(&self.stem[4], a, s, b); // [192, 71, 71]
        s = pool_reduce(b, s, a); // [192, 35, 35]
        keep(a, s);
        for block in &self.mixed_5 {
            s = block.forward(a, s, b, work, temps); // [288, 35, 35]
            std::mem::swap(a, b);
        }
        s = self.mixed_6a.forward(a, s, b, work); // [768, 17, 17]
        std::mem::swap(a, b);
        for block in &self.mixed_6 {
            s = block.forward(a, s, b, work, temps); // [768, 17, 17]
            std::mem::swap(a, b);
        }
        keep(a, s);
        s = self.mixed_7a.forward(a, s, b, work); // [1280, 8, 8]
        std::mem::swap(a, b);
        for block in &self.mixed_7 {
            s = block.forward(a, s, b, work, temps); // [2048, 8, 8]
            std::mem::swap(a, b);
        }
        assert_eq!(s.channels, FEATURES, "channels of the last block");
        let mut features = vec![0.0; FEATURES];
        pool::global_average(&a[..s.len()], s.area(), &mut features);
        let logits = self.fc.as_ref().map(|(weight, bias)| {
            let mut logits = vec![0.0; LOGITS];
            let weight = MatrixRef::row_major(weight, LOGITS, FEATURES);
            let column = MatrixRef::row_major(&features, FEATURES, 1);
            matmul(&mut logits, weight, column, Precision::F32);
            for (v, b) in logits.iter_mut().zip(bias) {
                *v += b;
            }
            logits
        });
        ImageOutput {
            features,
            logits,
            blocks: keep_blocks.then(|| <[Vec<f32>; 3]>::try_from(kept).expect("three maps")),
        }
    }
}
