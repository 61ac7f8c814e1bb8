//! The GPU path, on wgpu's software adapter (Mesa's lavapipe, `--device wgpu:cpu`), against
//! the CPU: the seed model's forward passes and whole training iterations from the same
//! weights and inputs agree; a seeded run trains, checkpoints and resumes exactly on wgpu;
//! a run started on wgpu goes on on the CPU. Built only with `--features wgpu`; `.ci/run`
//! installs lavapipe (`mesa-vulkan-drivers`) and runs it. Lavapipe on 2 cores takes about a
//! second a small step, so everything here is tiny.

#![cfg(feature = "wgpu")]

mod agreement;
mod util;

use burn::tensor::Device;

use agreement::off;
use dcgan::device::DeviceKind;
use util::{dcgan, fails, mnist_dir, ok};

fn gpu() -> Device {
    DeviceKind::WgpuCpu
        .device()
        .expect("lavapipe: install mesa-vulkan-drivers")
}

#[test]
fn forward_passes_and_a_training_iteration_agree_with_the_cpu() {
    agreement::agrees_with_the_cpu(gpu(), "wgpu:cpu");
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
