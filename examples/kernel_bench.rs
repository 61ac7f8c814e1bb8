//! Throughput of dcgan's CPU convolution kernels at the seed model's layer shapes (batch
//! 100), in f32 and (where the CPU has AVX512-BF16) with bf16 products, on AMX tiles and
//! without where the CPU has them too, beside the matrix products alone on a large square:
//! how close the kernels come to the ceiling of this machine. See docs/performance.md.
//!
//! ```sh
//! cargo run --release --example kernel_bench
//! ```

use std::time::Instant;

use dcgan::kernels::conv::{self, ConvGeometry};

use dcgan::kernels::matmul::{MatrixRef, amx, bf16, matmul};
use dcgan::kernels::precision::{self, Precision};

/// Median milliseconds of 9 runs of `f` after 2 untimed ones.
fn median_ms(mut f: impl FnMut()) -> f64 {
    for _ in 0..2 {
        f();
    }
    let mut ms: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[4]
}

/// A strided convolution of the seed's shapes (5×5 kernels, batch 100): `channels_in` ×
/// `size`² to `channels_out`.
fn geometry(channels_in: usize, size: usize, channels_out: usize, stride: usize) -> ConvGeometry {
    ConvGeometry {
        batch: 100,
        channels_in,
        height_in: size,
        width_in: size,
        channels_out,
        kernel: 5,
        stride,
    }
}

/// A layer of the DCGAN paper's family at 64×64 (4×4 kernels, stride 2, batch 64).
fn paper_geometry(channels_in: usize, size: usize, channels_out: usize) -> ConvGeometry {
    ConvGeometry {
        batch: 64,
        kernel: 4,
        ..geometry(channels_in, size, channels_out, 2)
    }
}

fn main() {
    println!("{}", precision::kernels_line(Precision::F32));
    // (name, precision, AMX on): bf16 on AMX and on AVX512-BF16 where the CPU has both.
    let mut precisions = vec![("f32", Precision::F32, false)];
    if bf16::available() {
        precisions.push(("bf16", Precision::Bf16, false));
    }
    if amx::available() {
        precisions.push(("bf16 on AMX", Precision::Bf16, true));
    }
    let layers = [
        ("G deconv1 (64×14² ← 128×7²)", geometry(64, 14, 128, 2)),
        ("G deconv2 (32×28² ← 64×14²)", geometry(32, 28, 64, 2)),
        ("G deconv3 (1×28² ← 32×28²)", geometry(1, 28, 32, 1)),
        ("D conv1 (1×28² → 32×14²)", geometry(1, 28, 32, 2)),
        ("D conv2 (32×14² → 64×7²)", geometry(32, 14, 64, 2)),
        ("D conv3 (64×7² → 128×4²)", geometry(64, 7, 128, 2)),
        (
            "64² D conv1 / G up4 (3×64² ↔ 64×32²)",
            paper_geometry(3, 64, 64),
        ),
        (
            "64² D conv3 (128×16² → 256×8²)",
            paper_geometry(128, 16, 256),
        ),
    ];
    for &(label, precision, amx_on) in &precisions {
        amx::enable(amx_on);
        println!(
            "{:<34} {:>9} {:>11} {:>12}",
            format!("{label} products"),
            "forward",
            "input grad",
            "weight grad"
        );
        for (name, g) in layers {
            let x = vec![0.5f32; g.batch * g.channels_in * g.height_in * g.width_in];
            let y = vec![0.25f32; g.batch * g.channels_out * g.height_out() * g.width_out()];
            let (w, b) = (vec![0.1f32; g.weight_len()], vec![0.0f32; g.channels_out]);
            let gflop =
                2.0 * (g.batch * g.height_out() * g.width_out() * g.weight_len()) as f64 / 1e9;
            let rate = |ms: f64| format!("{:.0} GF/s", gflop / ms * 1e3);
            let forward = median_ms(|| drop(conv::forward(&g, &x, &w, &b, precision)));
            let input = median_ms(|| drop(conv::input_grad(&g, &y, &w, None, precision)));
            let weight = median_ms(|| drop(conv::weight_grad(&g, &x, &y, precision)));
            println!(
                "{name:<34} {:>9} {:>11} {:>12}",
                rate(forward),
                rate(input),
                rate(weight)
            );
        }
    }

    let n = 1024;
    let (a, b, mut c) = (
        vec![0.5f32; n * n],
        vec![0.25f32; n * n],
        vec![0.0f32; n * n],
    );
    for (name, parallelism) in [
        ("1 thread", gemm::Parallelism::None),
        ("2 threads", gemm::Parallelism::Rayon(2)),
    ] {
        let ms = median_ms(|| {
            // SAFETY: three n×n row-major matrices, each exactly n·n long.
            unsafe {
                gemm::gemm(
                    n,
                    n,
                    n,
                    c.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    1,
                    n as isize,
                    b.as_ptr(),
                    1,
                    n as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism,
                )
            }
        });
        let gflop = 2.0 * (n * n * n) as f64 / 1e9;
        println!("gemm {n}×{n}×{n}, {name}: {:.0} GF/s", gflop / ms * 1e3);
    }
    for &(label, precision, amx_on) in &precisions {
        amx::enable(amx_on);
        let ms = median_ms(|| {
            let (lhs, rhs) = (
                MatrixRef::row_major(&a, n, n),
                MatrixRef::row_major(&b, n, n),
            );
            matmul(&mut c, lhs, rhs, precision);
        });
        let gflop = 2.0 * (n * n * n) as f64 / 1e9;
        println!(
            "dcgan's {label} products {n}×{n}×{n}, 1 thread: {:.0} GF/s",
            gflop / ms * 1e3
        );
    }
}
