//! Where generated images go: one PNG grid, a directory of PNGs, or a NumPy `.npy` array.
//!
//! Images arrive in chunks; the directory and the array are written as they come, so their
//! memory does not grow with the number of images. A grid is drawn whole, so its size is
//! checked before any work ([`MAX_GRID_PIXELS`]).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::grid::{GAP, ImageGrid, picture};

/// The largest grid picture drawn, in pixels (a 10,000 × 10,000 PNG; about 100 MB of
/// pixels in memory while it is drawn).
pub const MAX_GRID_PIXELS: u64 = 100_000_000;

/// What an `--out` path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    /// `FILE.png`: every image in one grid.
    Grid,
    /// `FILE.npy`: a `float32` array `[count, channels, height, width]` in `[-1, 1]`.
    Npy,
    /// A directory (an existing one, or a path ending in `/`): one PNG per image.
    Directory,
}

impl OutputKind {
    /// The kind `path` asks for, or an error naming the extensions understood.
    pub fn of(path: &Path) -> anyhow::Result<OutputKind> {
        let text = path.to_string_lossy();
        if text.ends_with('/') || path.is_dir() {
            return Ok(OutputKind::Directory);
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("png") => Ok(OutputKind::Grid),
            Some(e) if e.eq_ignore_ascii_case("npy") => Ok(OutputKind::Npy),
            _ => bail!(
                "--out {}: give a .png file (one grid), a .npy file (a float32 array) or a \
                 directory ending in / (one PNG per image)",
                path.display()
            ),
        }
    }
}

/// The layout of the images to write: how many, their size, and the grid's columns.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Number of images.
    pub count: usize,
    /// Channels of each image: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Images per row of a grid.
    pub columns: usize,
    /// Each pixel drawn this many times larger (PNG outputs).
    pub scale: u32,
}

impl Layout {
    /// Width and height of the grid picture.
    pub fn grid_size(&self) -> (u64, u64) {
        let cols = self.columns.min(self.count).max(1) as u64;
        let rows = self.count.div_ceil(self.columns.max(1)) as u64;
        let scale = u64::from(self.scale);
        let cell_w = self.width as u64 * scale + u64::from(GAP);
        let cell_h = self.height as u64 * scale + u64::from(GAP);
        (
            cols * cell_w + u64::from(GAP),
            rows * cell_h + u64::from(GAP),
        )
    }
}

/// Receives generated images chunk by chunk and writes them to an `--out` path.
pub struct ImageWriter {
    target: Target,
    layout: Layout,
    path: PathBuf,
    written: usize,
}

enum Target {
    Grid(ImageGrid),
    Npy(BufWriter<tempfile::NamedTempFile>),
    Directory,
}

impl ImageWriter {
    /// Checks that `layout` can be written to `path` and prepares it, before any image is
    /// generated: a grid larger than [`MAX_GRID_PIXELS`] is refused.
    pub fn create(path: &Path, layout: Layout) -> anyhow::Result<ImageWriter> {
        if layout.scale == 0 || layout.scale > 64 {
            bail!("--scale must be between 1 and 64, got {}", layout.scale);
        }
        let target = match OutputKind::of(path)? {
            OutputKind::Grid => {
                let (w, h) = layout.grid_size();
                if w * h > MAX_GRID_PIXELS || w > u64::from(u32::MAX) || h > u64::from(u32::MAX) {
                    bail!(
                        "--out {}: a grid of {} images would be a {w} × {h} picture, larger than \
                         the {} megapixels dcgan draws in one PNG; write them to a directory of \
                         PNGs (--out DIR/) or a NumPy array (--out FILE.npy), or ask for fewer",
                        path.display(),
                        layout.count,
                        MAX_GRID_PIXELS / 1_000_000
                    );
                }
                Target::Grid(ImageGrid {
                    columns: layout.columns,
                    channels: layout.channels,
                    height: layout.height,
                    width: layout.width,
                    pixels: Vec::new(),
                })
            }
            OutputKind::Npy => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let file = tempfile::Builder::new()
                    .prefix(".tmp-")
                    .tempfile_in(dir)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                let mut out = BufWriter::new(file);
                out.write_all(&npy_header(layout))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Target::Npy(out)
            }
            OutputKind::Directory => {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("cannot create directory {}", path.display()))?;
                Target::Directory
            }
        };
        Ok(ImageWriter {
            target,
            layout,
            path: path.to_path_buf(),
            written: 0,
        })
    }

    /// Takes the next images, in order.
    pub fn push(&mut self, images: ImageGrid) -> anyhow::Result<()> {
        let (c, h, w) = (self.layout.channels, self.layout.height, self.layout.width);
        assert_eq!(
            (images.channels, images.height, images.width),
            (c, h, w),
            "image size changed"
        );
        let count = images.count();
        match &mut self.target {
            Target::Grid(grid) => grid.pixels.extend(images.pixels),
            Target::Npy(out) => {
                let bytes: Vec<u8> = images.pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
                out.write_all(&bytes)
                    .with_context(|| format!("cannot write {}", self.path.display()))?;
            }
            Target::Directory => {
                let digits = self.layout.count.saturating_sub(1).to_string().len().max(6);
                for (k, pixels) in images.pixels.chunks_exact(c * h * w).enumerate() {
                    let index = self.written + k;
                    let file = self.path.join(format!("{index:0digits$}.png"));
                    picture(pixels, c, h, w, self.layout.scale)
                        .save(&file)
                        .with_context(|| format!("cannot write {}", file.display()))?;
                }
            }
        }
        self.written += count;
        Ok(())
    }

    /// Finishes the output: draws and saves the grid, or moves the array into place.
    pub fn finish(self) -> anyhow::Result<()> {
        assert_eq!(self.written, self.layout.count, "images missing");
        match self.target {
            Target::Grid(grid) => {
                grid.save_png(&self.path, self.layout.scale)?;
            }
            Target::Npy(out) => {
                let file = out
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", self.path.display()))?;
                file.as_file()
                    .sync_all()
                    .with_context(|| format!("cannot write {}", self.path.display()))?;
                file.persist(&self.path)
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot write {}", self.path.display()))?;
            }
            Target::Directory => {}
        }
        Ok(())
    }
}

/// The header of a version-1.0 `.npy` file of little-endian `float32` `[count, channels,
/// height, width]`, padded with spaces so the data starts at a multiple of 64 bytes, as
/// NumPy writes it.
fn npy_header(layout: Layout) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}, {}, {}), }}",
        layout.count, layout.channels, layout.height, layout.width
    );
    let unpadded = 10 + dict.len() + 1;
    let padding = unpadded.next_multiple_of(64) - unpadded;
    let header_len = (dict.len() + padding + 1) as u16;
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend(header_len.to_le_bytes());
    out.extend(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(count: usize) -> Layout {
        Layout {
            count,
            channels: 1,
            height: 2,
            width: 3,
            columns: 10,
            scale: 1,
        }
    }

    fn chunk(count: usize, value: f32) -> ImageGrid {
        ImageGrid {
            columns: 10,
            channels: 1,
            height: 2,
            width: 3,
            pixels: vec![value; count * 6],
        }
    }

    #[test]
    fn npy_files_hold_float32_values_after_an_aligned_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let mut out = ImageWriter::create(&path, layout(3)).unwrap();
        out.push(chunk(2, -1.0)).unwrap();
        out.push(chunk(1, 1.0)).unwrap();
        out.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'descr': '<f4'"), "{header}");
        assert!(header.contains("'shape': (3, 1, 2, 3)") && header.ends_with('\n'));
        let data: Vec<f32> = bytes[10 + header_len..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(data.len(), 18);
        assert!(data[..12].iter().all(|&v| v == -1.0) && data[12..].iter().all(|&v| v == 1.0));
        // Only the finished file is left, no temporary.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn directories_get_one_numbered_png_per_image() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imgs/");
        let mut out = ImageWriter::create(&path, layout(3)).unwrap();
        out.push(chunk(3, 1.0)).unwrap();
        out.finish().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["000000.png", "000001.png", "000002.png"]);
        let image = image::open(path.join("000002.png")).unwrap().into_luma8();
        assert_eq!(image.dimensions(), (3, 2));
        assert!(image.pixels().all(|p| p.0 == [255]));
    }

    #[test]
    fn grids_too_large_and_unknown_extensions_are_refused_before_work() {
        let dir = tempfile::tempdir().unwrap();
        let huge = Layout {
            count: 100_000_000,
            channels: 1,
            height: 28,
            width: 28,
            columns: 10,
            scale: 2,
        };
        let err = ImageWriter::create(&dir.path().join("big.png"), huge)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--out DIR/") && err.contains(".npy"), "{err}");
        let err = ImageWriter::create(&dir.path().join("x.jpg"), layout(1))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(".png") && err.contains("x.jpg"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
