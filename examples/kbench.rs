use dcgan::kernels::conv::{self, ConvGeometry};
use std::time::Instant;
fn t<F: FnMut()>(name: &str, mut f: F) {
    for _ in 0..2 {
        f();
    }
    let mut v = vec![];
    for _ in 0..9 {
        let s = Instant::now();
        f();
        v.push(s.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    println!("{name}: {:.2} ms", v[4]);
}
fn main() {
    for (name, g) in [
        (
            "deconv1",
            ConvGeometry {
                batch: 100,
                channels_in: 64,
                height_in: 14,
                width_in: 14,
                channels_out: 128,
                kernel: 5,
                stride: 2,
            },
        ),
        (
            "deconv2",
            ConvGeometry {
                batch: 100,
                channels_in: 32,
                height_in: 28,
                width_in: 28,
                channels_out: 64,
                kernel: 5,
                stride: 2,
            },
        ),
        (
            "deconv3",
            ConvGeometry {
                batch: 100,
                channels_in: 1,
                height_in: 28,
                width_in: 28,
                channels_out: 32,
                kernel: 5,
                stride: 1,
            },
        ),
        (
            "conv2",
            ConvGeometry {
                batch: 100,
                channels_in: 32,
                height_in: 14,
                width_in: 14,
                channels_out: 64,
                kernel: 5,
                stride: 2,
            },
        ),
        (
            "conv3",
            ConvGeometry {
                batch: 100,
                channels_in: 64,
                height_in: 7,
                width_in: 7,
                channels_out: 128,
                kernel: 5,
                stride: 2,
            },
        ),
    ] {
        let x = vec![0.5f32; g.batch * g.channels_in * g.height_in * g.width_in];
        let y = vec![0.25f32; g.batch * g.channels_out * g.height_out() * g.width_out()];
        let w = vec![0.1f32; g.weight_len()];
        let b = vec![0.0f32; g.channels_out];
        let gflop = 2.0 * (g.batch * g.height_out() * g.width_out() * g.weight_len()) as f64 / 1e9;
        println!("{name}: {gflop:.2} GFLOP per pass");
        t("  forward", || {
            std::hint::black_box(conv::forward(&g, &x, &w, &b));
        });
        t("  input_grad", || {
            std::hint::black_box(conv::input_grad(&g, &y, &w));
        });
        t("  weight_grad", || {
            std::hint::black_box(conv::weight_grad(&g, &x, &y));
        });
    }
}
