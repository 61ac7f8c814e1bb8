//! bf16 products on AMX tiles, where the CPU has them: every shape of product the kernels
//! pass (whole tiles, the rows and pairs past them that AVX512-BF16 adds, partial panels,
//! several blocks of inner pairs) and every convolution pass, with AMX and without, each
//! against its definition; and the two engines differ somewhere, or AMX did not run.
//! Elsewhere one SKIPPED line says why.
//!
//! Its own test binary: switching AMX off is process-wide.

use dcgan::kernels::conv::{self, ConvGeometry};
use dcgan::kernels::matmul::bf16::{self, round_to_bf16};
use dcgan::kernels::matmul::{MatrixRef, amx};
use dcgan::kernels::precision::Precision;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn bf16_value(x: f32) -> f64 {
    f64::from(f32::from_bits(round_to_bf16(x)))
}

/// A convolution pass in a precision, on the given operands (`false`) or their sizes
/// (`true`).
type Pass<'a> = dyn Fn(Precision, bool) -> Vec<f32> + 'a;

/// `f()` with AMX, then without; AMX left on.
fn both<T>(f: impl Fn() -> T) -> [T; 2] {
    amx::enable(false);
    let without = f();
    amx::enable(true);
    assert!(amx::in_use(), "AMX switched back on");
    [f(), without]
}

#[test]
fn amx_products_and_convolutions_match_their_definitions() {
    if !amx::available() {
        assert!(!amx::in_use(), "AMX in use where it is not available");
        eprintln!(
            "SKIPPED AMX products: this CPU has no AMX tiles, or the OS does not grant them \
             (AVX512-BF16 products are tested in the library's tests)"
        );
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut differ = false;
    // (m, k, n): whole 32-row blocks and a 16-row one, rows past them; inner pairs in whole
    // steps, past them, and over two blocks of 256; panels whole and partial.
    let shapes = [
        (32, 32, 32),
        (64, 64, 64),
        (48, 40, 33),
        (57, 33, 70),
        (16, 600, 32),
        (100, 1100, 45),
        (7, 64, 32),
        (40, 30, 16),
    ];
    for (m, k, n) in shapes {
        for (lhs_t, accumulate) in [(false, false), (true, true)] {
            let a = random(m * k, &mut rng);
            let b = random(k * n, &mut rng);
            let start = random(m * n, &mut rng);
            let lhs = match lhs_t {
                false => MatrixRef::row_major(&a, m, k),
                true => MatrixRef::row_major(&a, k, m).transposed(),
            };
            let rhs = MatrixRef::row_major(&b, k, n);
            let [with, without] = both(|| {
                let mut dst = start.clone();
                bf16::matmul(&mut dst, lhs, rhs, accumulate);
                dst
            });
            differ |= with != without;
            for (i, j) in (0..m).flat_map(|i| (0..n).map(move |j| (i, j))) {
                let mut want = if accumulate {
                    f64::from(start[i * n + j])
                } else {
                    0.0
                };
                let mut scale = want.abs();
                for l in 0..k {
                    let product = bf16_value(lhs.at(i, l)) * bf16_value(rhs.at(l, j));
                    want += product;
                    scale += product.abs();
                }
                for (got, engine) in [(with[i * n + j], "AMX"), (without[i * n + j], "AVX")] {
                    assert!(
                        (f64::from(got) - want).abs() <= 1e-5 * scale.max(1e-3),
                        "{m}×{k}×{n} ({engine}, transposed {lhs_t}) at ({i}, {j}): {got} vs {want}"
                    );
                }
            }
            // A left operand packed once, as the convolutions use it.
            let [packed_with, packed_without] = both(|| {
                let mut dst = vec![f32::NAN; m * n];
                bf16::matmul_packed(&mut dst, &bf16::PackedLhs::new(lhs), rhs);
                dst
            });
            if !accumulate {
                assert_eq!(packed_with, with, "{m}×{k}×{n}: packed once, AMX");
                assert_eq!(packed_without, without, "{m}×{k}×{n}: packed once, AVX");
            }
        }
    }
    assert!(
        differ,
        "AMX and AVX512-BF16 gave the same bits everywhere: did AMX run?"
    );

    // Every convolution pass at the seed's and the paper family's layers, within bf16's
    // rounding of f32 (as the library's tests bound it: 2⁻⁷ of the sum of the terms' sizes).
    let geometries = [
        (1, 28, 32, 2, 5),
        (32, 14, 64, 2, 5),
        (64, 7, 128, 2, 5),
        (32, 28, 1, 1, 5),
        (3, 64, 64, 2, 4),
        (64, 32, 128, 2, 4),
        (256, 8, 512, 2, 4),
    ];
    let abs = |v: &[f32]| v.iter().map(|v| v.abs()).collect::<Vec<f32>>();
    for (channels_in, size, channels_out, stride, kernel) in geometries {
        let g = ConvGeometry {
            batch: 2,
            channels_in,
            height_in: size,
            width_in: size,
            channels_out,
            kernel,
            stride,
        };
        let x = random(g.batch * channels_in * size * size, &mut rng);
        let w = random(g.weight_len(), &mut rng);
        let bias = vec![0.0f32; g.channels_out];
        let out_len = conv::forward(&g, &x, &w, &bias, Precision::F32).len();
        let r = random(out_len, &mut rng);
        let (ax, aw, ar) = (abs(&x), abs(&w), abs(&r));
        let (bf, f) = (Precision::Bf16, Precision::F32);
        let passes: [(&str, &Pass); 3] = [
            ("y", &|p, a| match a {
                true => conv::forward(&g, &ax, &aw, &bias, p),
                false => conv::forward(&g, &x, &w, &bias, p),
            }),
            ("grad x", &|p, a| match a {
                true => conv::input_grad(&g, &ar, &aw, None, p),
                false => conv::input_grad(&g, &r, &w, None, p),
            }),
            ("grad w", &|p, a| match a {
                true => conv::weight_grad(&g, &ax, &ar, p),
                false => conv::weight_grad(&g, &x, &r, p),
            }),
        ];
        for (what, pass) in passes {
            let [with, without] = both(|| pass(bf, false));
            let (exact, bound) = (pass(f, false), pass(f, true));
            for (values, engine) in [(&with, "AMX"), (&without, "AVX")] {
                for (i, ((b, e), bound)) in values.iter().zip(&exact).zip(&bound).enumerate() {
                    assert!(
                        (b - e).abs() <= bound / 128.0 + 1e-5,
                        "{g:?} {what}[{i}] ({engine}): bf16 {b}, f32 {e}, Σ|terms| {bound}"
                    );
                }
            }
        }
    }
}
