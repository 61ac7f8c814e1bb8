//! `--device cuda` in a build with the `cuda` feature, on the machine it runs on: with an
//! NVIDIA GPU, `dcgan devices` lists it and a short seeded run trains on it; without one
//! (CI's machines), every command says plainly why there is none, before any work starts.
//! The agreement with the CPU on a GPU is checked by scripts/gpu-check.sh.

#![cfg(feature = "cuda")]

mod util;

use util::{dcgan, fails, mnist_dir, ok};

#[test]
fn cuda_devices_are_listed_or_their_absence_explained() {
    let home = tempfile::tempdir().unwrap();
    let found = dcgan::device::cuda::gpus();
    let listed = ok(dcgan(home.path()).arg("devices"));
    let listed = String::from_utf8_lossy(&listed.stdout);
    let required = dcgan(home.path())
        .args(["devices", "--require-cuda"])
        .output()
        .unwrap();
    let train = |device: &str| {
        let mnist = mnist_dir().display().to_string();
        dcgan(home.path())
            .args(["train", "--data-dir", &mnist, "--device", device])
            .args(["--epochs", "1", "--limit-batches", "2", "--batch-size", "8"])
            .args(["--out", "run"])
            .output()
            .unwrap()
    };
    match found {
        Ok(gpus) if !gpus.is_empty() => {
            assert!(listed.contains("CUDA GPUs: "), "{listed}");
            assert!(listed.contains(&gpus[0].to_string()), "{listed}");
            assert!(required.status.success());
            let run = train("cuda");
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(run.status.success(), "{stderr}");
            assert!(stderr.starts_with("device: cuda:0 "), "{stderr}");
            let beyond = format!("cuda:{}", gpus.len());
            let err = String::from_utf8_lossy(&train(&beyond).stderr).into_owned();
            assert!(err.contains(&format!("--device {beyond}")), "{err}");
        }
        Ok(_) | Err(_) => {
            let why = found.err().unwrap_or_default();
            eprintln!("no CUDA GPU here: {why}");
            assert!(listed.contains("--device cuda: none ("), "{listed}");
            assert!(!required.status.success());
            assert!(
                String::from_utf8_lossy(&required.stderr).contains("error: --require-cuda: "),
                "{required:?}"
            );
            for (device, named) in [("cuda", "--device cuda:0"), ("cuda:2", "--device cuda:2")] {
                let run = train(device);
                let err = String::from_utf8_lossy(&run.stderr);
                assert!(!run.status.success());
                assert!(
                    err.contains(named) && err.contains("dcgan devices"),
                    "{err}"
                );
                assert!(!home.path().join("run/checkpoint.dcgan").exists());
            }
            let err = fails(dcgan(home.path()).args([
                "sample",
                "--checkpoint",
                "run",
                "--device",
                "cuda",
                "--out",
                "s.png",
            ]));
            assert!(err.contains("--device cuda:0"), "{err}");
        }
    }
}
