//! NumPy's `.npz` files (a zip of `.npy` arrays), as pytorch-fid reads and writes its
//! statistics: `np.savez_compressed(path, mu=…, sigma=…)`. Arrays are read as f64 (from
//! f64 or f32), f32 or u8 (for test fixtures), and written deflated, as f64.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, anyhow, bail, ensure};
use npyz::WriterBuilder;
use zip::write::SimpleFileOptions;

/// The most values one array may hold when read: 2²⁸ (2 GB as f64), over any statistics
/// file (a 8192×8192 covariance is 2²⁶).
pub const MAX_VALUES: u64 = 1 << 28;

/// An open `.npz` file.
pub struct NpzReader {
    path: std::path::PathBuf,
    archive: zip::ZipArchive<BufReader<File>>,
}

/// An array as read: its shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<T> {
    /// Its shape (C order).
    pub shape: Vec<usize>,
    /// Its values.
    pub values: Vec<T>,
}

impl NpzReader {
    /// Opens `path`.
    pub fn open(path: &Path) -> anyhow::Result<NpzReader> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
            anyhow!(
                "{} is not a NumPy .npz file ({e}); truncated or of another kind",
                path.display()
            )
        })?;
        Ok(NpzReader {
            path: path.to_path_buf(),
            archive,
        })
    }

    /// The names of the arrays.
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .flatten()
            .filter_map(|n| n.strip_suffix(".npy").map(str::to_owned))
            .collect()
    }

    /// The `.npy` file of array `name`, its header read.
    fn open_array(
        &mut self,
        name: &str,
    ) -> anyhow::Result<npyz::NpyFile<std::io::Cursor<Vec<u8>>>> {
        let path = self.path.display().to_string();
        let mut entry = self
            .archive
            .by_name(&format!("{name}.npy"))
            .map_err(|_| anyhow!("{path} has no array '{name}'"))?;
        ensure!(
            entry.size() <= MAX_VALUES * 8 + 4096,
            "{path}: array '{name}' is {} bytes, more than dcgan reads",
            entry.size()
        );
        // What the entry claims is reserved only up to 64 MB; the rest grows as it arrives.
        let mut bytes = Vec::with_capacity(entry.size().min(64 << 20) as usize);
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("{path}: cannot read array '{name}' (a damaged file?)"))?;
        let npy = npyz::NpyFile::new(std::io::Cursor::new(bytes))
            .with_context(|| format!("{path}: array '{name}' is not a valid .npy"))?;
        ensure!(
            npy.order() == npyz::Order::C,
            "{path}: array '{name}' is in Fortran order, which dcgan does not read"
        );
        Ok(npy)
    }

    /// Array `name` as f64 values (stored as f64 or f32).
    pub fn f64(&mut self, name: &str) -> anyhow::Result<Array<f64>> {
        let npy = self.open_array(name)?;
        let shape = shape_of(&npy);
        let path = self.path.display();
        let values: Vec<f64> = match type_str(&npy).as_str() {
            "<f8" => npy.into_vec::<f64>()?,
            "<f4" => npy.into_vec::<f32>()?.into_iter().map(f64::from).collect(),
            other => bail!("{path}: array '{name}' is {other}, not float64 or float32"),
        };
        check_len(&values, &shape, &path.to_string(), name)?;
        Ok(Array { shape, values })
    }

    /// Array `name` as f32 values.
    pub fn f32(&mut self, name: &str) -> anyhow::Result<Array<f32>> {
        let npy = self.open_array(name)?;
        let shape = shape_of(&npy);
        let path = self.path.display();
        let values: Vec<f32> = match type_str(&npy).as_str() {
            "<f4" => npy.into_vec::<f32>()?,
            other => bail!("{path}: array '{name}' is {other}, not float32"),
        };
        check_len(&values, &shape, &path.to_string(), name)?;
        Ok(Array { shape, values })
    }

    /// Array `name` as u8 values.
    pub fn u8(&mut self, name: &str) -> anyhow::Result<Array<u8>> {
        let npy = self.open_array(name)?;
        let shape = shape_of(&npy);
        let path = self.path.display();
        let values: Vec<u8> = match type_str(&npy).as_str() {
            "|u1" => npy.into_vec::<u8>()?,
            other => bail!("{path}: array '{name}' is {other}, not uint8"),
        };
        check_len(&values, &shape, &path.to_string(), name)?;
        Ok(Array { shape, values })
    }
}

fn shape_of<R: Read>(npy: &npyz::NpyFile<R>) -> Vec<usize> {
    npy.shape().iter().map(|&d| d as usize).collect()
}

fn type_str<R: Read>(npy: &npyz::NpyFile<R>) -> String {
    match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => format!("{other:?}"),
    }
}

fn check_len<T>(values: &[T], shape: &[usize], path: &str, name: &str) -> anyhow::Result<()> {
    let expected: usize = shape.iter().product();
    ensure!(
        values.len() == expected,
        "{path}: array '{name}' holds {} values for shape {shape:?}",
        values.len()
    );
    Ok(())
}

/// The values of an array to write.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// float64.
    F64(&'a [f64]),
    /// float32.
    F32(&'a [f32]),
}

impl Values<'_> {
    fn len(&self) -> usize {
        match self {
            Values::F64(v) => v.len(),
            Values::F32(v) => v.len(),
        }
    }
}

/// Writes f64 arrays `(name, shape, values)` to `path` as a deflated `.npz`, atomically.
pub fn write_f64(path: &Path, arrays: &[(&str, &[usize], &[f64])]) -> anyhow::Result<()> {
    let arrays: Vec<_> = arrays
        .iter()
        .map(|&(name, shape, values)| (name, shape, Values::F64(values)))
        .collect();
    write(path, &arrays)
}

/// Writes arrays `(name, shape, values)` to `path` as a deflated `.npz`, atomically.
pub fn write(path: &Path, arrays: &[(&str, &[usize], Values<'_>)]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".npz")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(tmp.reopen()?));
    // Deflate's fastest level: a covariance's f64 values barely compress (numpy's level 6
    // makes files a few per cent smaller at several times the time: 2 s for 2048×2048).
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    for (name, shape, values) in arrays {
        assert_eq!(
            values.len(),
            shape.iter().product::<usize>(),
            "{name}'s shape"
        );
        zip.start_file(format!("{name}.npy"), options)?;
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        // npyz writes value by value; the deflater works (and clears its buffer) per write.
        let mut buffered = BufWriter::with_capacity(1 << 20, &mut zip);
        match values {
            Values::F64(values) => {
                let mut npy = npyz::WriteOptions::<f64>::new()
                    .default_dtype()
                    .shape(&shape)
                    .writer(&mut buffered)
                    .begin_nd()?;
                npy.extend(values.iter().copied())?;
                npy.finish()?;
            }
            Values::F32(values) => {
                let mut npy = npyz::WriteOptions::<f32>::new()
                    .default_dtype()
                    .shape(&shape)
                    .writer(&mut buffered)
                    .begin_nd()?;
                npy.extend(values.iter().copied())?;
                npy.finish()?;
            }
        }
        buffered.flush()?;
    }
    zip.finish()?.flush()?;
    // A temporary file is private (0600); the result is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
