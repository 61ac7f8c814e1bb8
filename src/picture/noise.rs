//! The generator's input: uniform noise and the seed's "moving noise".

use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;

/// A batch of noise vectors, kept on the CPU so it can be saved and reused.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Noise {
    /// Number of vectors.
    pub count: usize,
    /// Length of each vector.
    pub dim: usize,
    /// `count * dim` values, one vector after another.
    pub values: Vec<f32>,
}

impl Noise {
    /// The noise as a `[count, dim]` tensor.
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.values.clone(), [self.count, self.dim]),
            device,
        )
    }
}

/// The most noise vectors [`read_npy`] takes: a million, 400 MB at 100 numbers each.
pub const MAX_NOISE_VECTORS: usize = 1_000_000;

/// Noise vectors from a NumPy file of little-endian `float32` `[count, dim]` in C order (as
/// `np.save(path, z.astype(np.float32))` writes it), for `dcgan sample --noise`: the same
/// vectors fed to dcgan and to another tool. Errors name the file and what is wrong.
pub fn read_npy(path: &std::path::Path, dim: usize) -> anyhow::Result<Noise> {
    use anyhow::{Context, bail};
    // Checked before reading, so a huge file or a device is refused without being read.
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let largest = 4 * MAX_NOISE_VECTORS as u64 * dim as u64 + (1 << 16);
    if !meta.is_file() || meta.len() > largest {
        bail!(
            "{}: not a NumPy file of at most {MAX_NOISE_VECTORS} noise vectors",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bad = |problem: &str| anyhow::anyhow!("{}: {problem}", path.display());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a NumPy .npy file"));
    }
    // Version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one.
    let (header_start, header_len) = match bytes[6] {
        1 => (10, usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
        2 | 3 if bytes.len() >= 12 => (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        _ => return Err(bad("an .npy version dcgan does not read")),
    };
    let header = bytes
        .get(header_start..header_start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated header"))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f4'") || !compact.contains("'fortran_order':False") {
        bail!(
            "{}: holds {header:?}; give float32 values in C order (np.float32)",
            path.display()
        );
    }
    let shape = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .ok_or_else(|| bad("header without a shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|d| !d.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad("unreadable shape"))?;
    let &[count, file_dim] = dims.as_slice() else {
        bail!(
            "{}: shape {dims:?}; give a 2-D array [count, {dim}]",
            path.display()
        );
    };
    if file_dim != dim {
        bail!(
            "{}: vectors of {file_dim} numbers, the generator takes {dim}",
            path.display()
        );
    }
    if count == 0 || count > MAX_NOISE_VECTORS {
        bail!(
            "{}: {count} vectors; give 1 to {MAX_NOISE_VECTORS}",
            path.display()
        );
    }
    let data = &bytes[header_start + header_len..];
    if data.len() != 4 * count * dim {
        bail!(
            "{}: {} bytes of values, a [{count}, {dim}] float32 array has {}",
            path.display(),
            data.len(),
            4 * count * dim
        );
    }
    let values: Vec<f32> = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        bail!("{}: holds NaN or infinite values", path.display());
    }
    Ok(Noise { count, dim, values })
}

/// `count` vectors drawn from U(-1, 1), as the seed's `get_noise`.
pub fn uniform_noise(count: usize, dim: usize, rng: &mut impl Rng) -> Noise {
    let values = (0..count * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    Noise { count, dim, values }
}

/// `steps` vectors evenly spaced on the straight line between two random vectors, both ends
/// included: the seed's "moving noise", which shows how the generator's output changes
/// along a path in noise space.
///
/// The seed steps by `(end - start) / steps` and then jumps to `end` for the last vector;
/// here the spacing is even, `t = k / (steps - 1)`.
///
/// # Panics
/// If `steps < 2`.
pub fn moving_noise(steps: usize, dim: usize, rng: &mut impl Rng) -> Noise {
    assert!(
        steps >= 2,
        "an interpolation needs at least 2 steps, got {steps}"
    );
    let ends = uniform_noise(2, dim, rng);
    interpolation(&ends, steps, 0..steps)
}

/// The vectors `range` of the `steps` evenly spaced from `ends`' first vector to its
/// second (both included), as [`moving_noise`] draws them: a long path a part at a time.
pub fn interpolation(ends: &Noise, steps: usize, range: std::ops::Range<usize>) -> Noise {
    let dim = ends.dim;
    let (start, end) = ends.values.split_at(dim);
    let values = range
        .clone()
        .flat_map(|k| {
            let t = k as f32 / (steps - 1) as f32;
            start.iter().zip(end).map(move |(a, b)| a + t * (b - a))
        })
        .collect();
    Noise {
        count: range.len(),
        dim,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn uniform_noise_is_in_range_and_seeded() {
        let a = uniform_noise(10, 100, &mut ChaCha8Rng::seed_from_u64(3));
        let b = uniform_noise(10, 100, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
        assert!(a.values.iter().all(|v| (-1.0..1.0).contains(v)));
        let mean = a.values.iter().sum::<f32>() / 1000.0;
        assert!(mean.abs() < 0.1, "mean {mean}");
    }

    #[test]
    fn moving_noise_runs_evenly_from_start_to_end() {
        let n = moving_noise(5, 3, &mut ChaCha8Rng::seed_from_u64(4));
        let v = |k: usize| &n.values[k * 3..(k + 1) * 3];
        for i in 0..3 {
            let step = v(1)[i] - v(0)[i];
            for k in 1..5 {
                assert!((v(k)[i] - v(k - 1)[i] - step).abs() < 1e-5);
            }
            assert!((v(2)[i] - (v(0)[i] + v(4)[i]) / 2.0).abs() < 1e-5);
        }
        assert_ne!(v(0), v(4));
    }
}
