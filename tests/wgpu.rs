//! The GPU path, on wgpu's software adapter (Mesa's lavapipe, `--device wgpu:cpu`), against
//! the CPU: the seed model's forward passes and whole training iterations from the same
//! weights and inputs agree; a seeded run trains, checkpoints and resumes exactly on wgpu;
//! a run started on wgpu goes on on the CPU. Built only with `--features wgpu`; `.ci/run`
//! installs lavapipe (`mesa-vulkan-drivers`) and runs it. Lavapipe on 2 cores takes about a
//! second a small step, so everything here is tiny.

#![cfg(feature = "wgpu")]

mod util;

use burn::tensor::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use dcgan::device::DeviceKind;
use dcgan::picture::uniform_noise;
use dcgan::train::step::train_iteration;
use dcgan::train::{Recipe, RunState, TrainConfig};
use util::{dcgan, fails, mnist_dir, ok};

/// Outputs and losses of the two backends agree to this share of their scale: they add in
/// other orders (and lavapipe's `exp` and `log` are not the CPU's), nothing more.
const AGREE: f32 = 1e-4;

fn gpu() -> Device {
    DeviceKind::WgpuCpu
        .device()
        .expect("lavapipe: install mesa-vulkan-drivers")
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// The largest difference of `a` and `b`, relative to the larger of `b`'s scale and 1.
fn off(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn forward_passes_and_a_training_iteration_agree_with_the_cpu() {
    let config = TrainConfig {
        recipe: Recipe {
            batch_size: 8,
            seed: 3,
            ..Recipe::default()
        },
        ..TrainConfig::default()
    };
    let lr = config.recipe.step_settings().lr_g as f32;
    let devices = [Device::flex().autodiff(), gpu().autodiff()];
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let noise = uniform_noise(8, 100, &mut rng);
    let pixels: Vec<f32> = (0..8 * 28 * 28)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let real = burn::tensor::TensorData::new(pixels, [8, 1, 28, 28]);
    let runs: Vec<_> = devices
        .iter()
        .map(|device| {
            let plain = device.clone().without_autodiff();
            let (state, gan) = RunState::start(config.clone(), device);
            // Inference: G's images and D's logits of real images.
            let g = state.inference_generator(&gan);
            let images = values(g.forward(noise.to_tensor(&plain), None));
            let d = gan.discriminator.clone();
            let logits = values(
                d.forward(Tensor::from_data(real.clone(), device), None)
                    .logits,
            );
            // A whole iteration: D's step, then G's, with both networks' gradients.
            let (gan, step, gradients) = train_iteration(
                gan,
                (Tensor::from_data(real.clone(), device), None),
                (noise.to_tensor(device), None),
                state.config.recipe.step_settings(),
                (true, true),
            );
            let losses = vec![step.loss_d, step.loss_g, step.d_real, step.d_fake];
            let gradients = gradients.expect("inspected");
            let gradients: Vec<_> = gradients
                .generator
                .into_iter()
                .chain(gradients.discriminator)
                .collect();
            let weights = dcgan::weights::generator_tensors(&state.inference_generator(&gan));
            (images, logits, losses, gradients, weights)
        })
        .collect();
    let (cpu, wgpu) = (&runs[0], &runs[1]);
    let images = off(&wgpu.0, &cpu.0);
    let logits = off(&wgpu.1, &cpu.1);
    let losses = off(&wgpu.2, &cpu.2);
    eprintln!("wgpu:cpu against the CPU: images {images:e}, logits {logits:e}, losses {losses:e}");
    assert!(images <= AGREE, "G's images differ by {images:e}");
    assert!(logits <= AGREE, "D's logits differ by {logits:e}");
    assert!(
        losses <= AGREE,
        "losses differ by {losses:e}: {:?} vs {:?}",
        wgpu.2,
        cpu.2
    );
    // Every gradient tensor of both networks, each relative to its own scale.
    assert_eq!(wgpu.3.len(), cpu.3.len());
    // A convolution's bias just before BatchNorm gets no gradient in exact arithmetic
    // (BatchNorm takes each channel's mean out): both backends must give only rounding noise there, a millionth of the
    // network's largest gradient. Every other tensor agrees to its own scale.
    let largest = |prefix: &str| {
        cpu.3
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .flat_map(|(_, v)| v)
            .fold(0.0f32, |m, v| m.max(v.abs()))
    };
    let scale = |v: &[f32]| v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let mut worst = (0.0f32, String::new());
    for (i, ((name, ours), (_, theirs))) in wgpu.3.iter().zip(&cpu.3).enumerate() {
        let before_batch_norm = name.contains("conv")
            && name.ends_with(".bias")
            && cpu
                .3
                .get(i + 1)
                .is_some_and(|(next, _)| next.contains("/bn"));
        if before_batch_norm {
            let noise = 1e-6 * largest(&name[..1]);
            assert!(
                scale(ours) <= noise && scale(theirs) <= noise,
                "{name}: {:e} and {:e}, not rounding noise",
                scale(ours),
                scale(theirs)
            );
            continue;
        }
        let apart = ours
            .iter()
            .zip(theirs)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
            / scale(theirs).max(f32::MIN_POSITIVE);
        if apart > worst.0 {
            worst = (apart, name.clone());
        }
    }
    eprintln!("gradients: worst {:e} ({})", worst.0, worst.1);
    assert!(
        worst.0 <= AGREE,
        "gradient {} differs by {:e}",
        worst.1,
        worst.0
    );
    // The updated weights: Adam's first step moves each weight by lr × g / (|g| + ε), so
    // by ±lr, except a gradient near zero whose sign the two roundings disagree on, which
    // moves the other way: such weights are 2 × lr apart, and they must be rare.
    let (mut flipped, mut total) = (0usize, 0usize);
    for ((name, _, ours), (_, _, theirs)) in wgpu.4.iter().zip(&cpu.4) {
        for (a, b) in ours.iter().zip(theirs) {
            let apart = (a - b).abs();
            assert!(apart <= 2.0 * lr * 1.001, "{name}: {a} vs {b}");
            flipped += usize::from(apart > 1e-6);
            total += 1;
        }
    }
    eprintln!("updated weights: {flipped} of {total} apart by more than 1e-6");
    assert!(
        flipped * 1000 <= total,
        "{flipped} of {total} weights moved differently"
    );
}

fn train_args<'a>(out: &'a str, device: &'a str, epochs: &'a str) -> Vec<String> {
    let mnist = mnist_dir().display().to_string();
    [
        "train",
        "--data-dir",
        &mnist,
        "--device",
        device,
        "--epochs",
        epochs,
        "--limit-batches",
        "2",
        "--batch-size",
        "8",
        "--seed",
        "5",
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_seeded_run_on_wgpu_resumes_exactly_and_goes_on_on_the_cpu() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let run = |args: Vec<String>| ok(dcgan(home).args(args));
    // The whole run, and the same run stopped after its first epoch and resumed.
    // As on a headless machine: no display, nothing set to quiet the driver stack.
    let whole = ok(dcgan(home)
        .args(train_args("whole", "wgpu:cpu", "2"))
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT"));
    let stderr = String::from_utf8_lossy(&whole.stderr);
    assert!(
        stderr.starts_with("device: llvmpipe") && stderr.contains("software adapter"),
        "the first line names the adapter: {stderr}"
    );
    assert!(
        !stderr.contains("XDG_RUNTIME_DIR"),
        "no driver noise: {stderr}"
    );
    run(train_args("part", "wgpu:cpu", "1"));
    let copy = home.join("on-cpu");
    std::fs::create_dir(&copy).unwrap();
    for name in ["checkpoint.dcgan", "config.toml"] {
        std::fs::copy(home.join("part").join(name), copy.join(name)).unwrap();
    }
    let resumed = ok(dcgan(home).args(["train", "--out", "part", "--resume", "--epochs", "2"]));
    assert!(String::from_utf8_lossy(&resumed.stderr).starts_with("device: llvmpipe"));
    let file = |dir: &str| std::fs::read(home.join(dir).join("generator.safetensors")).unwrap();
    assert!(
        file("part") == file("whole"),
        "resumed on wgpu: the same weights, byte for byte"
    );

    // Resumed on the CPU, it goes on from the same step, and its weights stay near the
    // all-wgpu run's (the two backends round differently).
    let cpu = ok(dcgan(home).args([
        "train", "--out", "on-cpu", "--resume", "--epochs", "2", "--device", "cpu",
    ]));
    let stdout = String::from_utf8_lossy(&cpu.stdout);
    assert!(
        stdout.contains("resuming") && stdout.contains("epoch 0001"),
        "{stdout}"
    );
    let device = Device::flex();
    let (whole, _) =
        dcgan::weights::load_generator(&home.join("whole/generator.safetensors"), &device).unwrap();
    let (on_cpu, _) =
        dcgan::weights::load_generator(&home.join("on-cpu/generator.safetensors"), &device)
            .unwrap();
    let flat = |g| -> Vec<f32> {
        dcgan::weights::generator_tensors(g)
            .into_iter()
            .flat_map(|(_, _, v)| v)
            .collect()
    };
    let apart = off(&flat(&on_cpu), &flat(&whole));
    eprintln!("generator weights, wgpu then CPU against all wgpu: {apart:e}");
    assert!(apart < 1e-2, "{apart:e}");
    assert!(apart > 0.0, "the CPU really computed the second epoch");

    // Sampling on wgpu draws the CPU's images of the same checkpoint and seed, to a grey
    // level or two of rounding.
    let sample = |device: &str, out: &str| {
        ok(dcgan(home).args([
            "sample",
            "--checkpoint",
            "whole",
            "--seed",
            "3",
            "--n",
            "16",
            "--device",
            device,
            "--out",
            out,
        ]));
        image::open(home.join(out)).unwrap().to_luma8().into_raw()
    };
    let (on_gpu, on_cpu) = (sample("wgpu:cpu", "gpu.png"), sample("cpu", "cpu.png"));
    assert_eq!(on_gpu.len(), on_cpu.len());
    let worst = on_gpu
        .iter()
        .zip(&on_cpu)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 2, "sampled images differ by {worst} grey levels");

    // With no Vulkan driver at all, the device that is not there is named.
    let err = fails(
        dcgan(home)
            .args([
                "sample",
                "--checkpoint",
                "whole",
                "--device",
                "wgpu:cpu",
                "--n",
                "4",
                "--out",
                "s.png",
            ])
            .env("VK_ICD_FILENAMES", "/nonexistent.json"),
    );
    assert!(
        err.contains("--device wgpu:cpu") && err.contains("dcgan devices"),
        "{err}"
    );
}

#[test]
fn devices_lists_the_software_adapter_and_require_gpu_refuses_it() {
    let home = tempfile::tempdir().unwrap();
    let out = ok(dcgan(home.path()).arg("devices"));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("--device cpu: "), "{listed}");
    assert!(
        listed.contains("llvmpipe") && listed.contains("--device wgpu:cpu takes: llvmpipe"),
        "{listed}"
    );
    // This machine's wgpu takes a GPU or only lavapipe; --require-gpu says which.
    let gpu = !listed
        .lines()
        .any(|l| l.starts_with("--device wgpu takes:") && l.contains("software adapter"));
    let status = dcgan(home.path())
        .args(["devices", "--require-gpu"])
        .output()
        .unwrap();
    assert_eq!(status.status.success(), gpu, "{listed}");
    if !gpu {
        let err = String::from_utf8_lossy(&status.stderr);
        assert!(err.contains("only a software adapter"), "{err}");
    }
}
