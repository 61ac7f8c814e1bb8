//! dcgan's own loops give the same bits at every SIMD level this CPU has (AVX-512, AVX2 +
//! FMA, baseline): the convolution kernels' patch copies and sums (with f32 products, and
//! with bf16 ones where the CPU has them), and BatchNorm's passes.
//! The products are the `gemm` crate's in f32, whose level the test cannot choose; they are
//! the same at every level of ours. Levels the CPU lacks are named as skipped.
//!
//! Its own test binary: the level cap is process-wide.

use dcgan::kernels::batch_norm::{self, BatchNormShape};
use dcgan::kernels::conv::{self, ConvGeometry};
use dcgan::kernels::matmul::bf16;
use dcgan::kernels::precision::Precision;
use dcgan::kernels::simd;
use dcgan::kernels::simd::SimdLevel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every kernel's outputs, concatenated, at the level in force.
fn outputs() -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut random =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
    let mut all = Vec::new();
    // The seed's layers at batch 8, a paper-family layer's kernel on a map whose phase
    // planes are wider than one AVX-512 vector, and an odd geometry for the general paths.
    for (channels_in, size, channels_out, stride, kernel) in [
        (1, 28, 32, 2, 5),
        (32, 14, 64, 2, 5),
        (64, 7, 128, 2, 5),
        (32, 28, 1, 1, 5),
        (8, 40, 16, 2, 4),
        (3, 11, 5, 3, 3),
    ] {
        let g = ConvGeometry {
            batch: 8,
            channels_in,
            height_in: size,
            width_in: size,
            channels_out,
            kernel,
            stride,
        };
        let x = random(g.batch * channels_in * size * size);
        let w = random(g.weight_len());
        let b = random(channels_out);
        let y = conv::forward(&g, &x, &w, &b, Precision::F32);
        let bias_in = random(channels_in);
        all.push(conv::input_grad(&g, &y, &w, Some(&bias_in), Precision::F32));
        all.push(conv::weight_grad(&g, &x, &y, Precision::F32));
        // With bf16 products (where the CPU has them), whose patches our loops gather
        // straight into the packed operands.
        if bf16::available() {
            let bf = Precision::Bf16;
            all.push(conv::forward(&g, &x, &w, &b, bf));
            all.push(conv::input_grad(&g, &y, &w, Some(&bias_in), bf));
            all.push(conv::weight_grad(&g, &x, &y, bf));
        }
        all.push(y);
    }
    let shape = BatchNormShape {
        batch: 8,
        channels: 16,
        positions: 49,
        epsilon: 1e-3,
        leak: 0.2,
    };
    let n = shape.batch * shape.channels * shape.positions;
    let (x, grad) = (random(n), random(n));
    let (gamma, beta) = (random(shape.channels), random(shape.channels));
    let out = batch_norm::forward_train(&shape, &x, &gamma, &beta);
    let stats = [&gamma[..], &beta, &out.mean, &out.variance];
    let (grad_x, grad_gamma, grad_beta) = batch_norm::backward_train(&shape, &x, stats, &grad);
    all.push(batch_norm::forward_inference(&shape, &x, stats));
    all.extend([
        out.output,
        out.mean,
        out.variance,
        grad_x,
        grad_gamma,
        grad_beta,
    ]);
    all
}

#[test]
fn every_simd_level_gives_the_same_bits() {
    simd::cap(SimdLevel::Baseline);
    assert_eq!(simd::level(), SimdLevel::Baseline);
    let baseline = outputs();
    for level in [SimdLevel::Avx2Fma, SimdLevel::Avx512] {
        if simd::detected() < level {
            // The cap never lifts dispatch above what the CPU has.
            simd::cap(level);
            assert_eq!(simd::level(), simd::detected());
            eprintln!(
                "SKIPPED SIMD level {level}: this CPU does not have it (dispatch stays at {})",
                simd::detected()
            );
            continue;
        }
        simd::cap(level);
        assert_eq!(simd::level(), level);
        let bits = |v: &Vec<Vec<f32>>| -> Vec<Vec<u32>> {
            v.iter()
                .map(|o| o.iter().map(|x| x.to_bits()).collect())
                .collect()
        };
        assert!(
            bits(&outputs()) == bits(&baseline),
            "{level} gave other results than the baseline"
        );
        println!("SIMD level {level}: same bits as the baseline");
    }
}
