//! `--dataset folder`: every image under a directory, decoded once into a cache file.
//!
//! The images (PNG, JPEG, GIF, WebP, BMP; found recursively, in sorted path order, hidden
//! files and folders left out, symbolic links to folders not followed) are decoded in
//! parallel, in chunks, with a progress bar; composited on the background, made grey or RGB,
//! resized (shorter side to the image size) and centre-cropped ([`super::convert`]), and
//! appended to a cache file named after the folder, the options and a hash of the file list
//! with every file's length and modification time. The next run with the same folder and
//! options maps that file and starts at once; a changed folder gets a new cache file (the old
//! one is deleted), and a damaged one is rebuilt with a note.
//!
//! Labels follow torchvision's `ImageFolder`: when every image lies in a first-level
//! sub-folder, the sub-folders' names, sorted, are the classes (at most 256). Otherwise the
//! images have no classes and every label is 0.
//!
//! A file with an image extension that cannot be decoded is skipped with a warning naming
//! it, and a count at the end; files with other extensions are ignored.

use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::folder_cache::{self, Shape, Writer};
use super::{Background, DataError, Dataset, convert};
use crate::logging::progress;

/// File extensions read as images (compared without regard to case).
pub const EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "bmp"];
/// Images decoded at a time (in parallel), so memory stays bounded whatever the folder.
const CHUNK: usize = 512;
/// Labels are bytes: a folder with more class sub-folders than this is unlabelled.
const MAX_CLASSES: usize = 256;
/// Changes whenever the images a cache file holds would come out differently.
const CACHE_KEY_VERSION: &str = "dcgan folder cache 2; centre square, CatmullRom; BT.601";

/// The shape a folder's images are brought to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderOptions {
    /// Height and width of every image.
    pub size: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// What transparent pixels are composited on.
    pub background: Background,
}

/// Where a folder's images came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSource {
    /// The folder.
    pub dir: PathBuf,
    /// The cache file, or `None` when this system has no cache directory (then the
    /// images went to a temporary file, deleted when the data set is dropped).
    pub cache: Option<PathBuf>,
    /// True when the images were read from the cache file without decoding any.
    pub from_cache: bool,
    /// Files with an image extension found.
    pub files: usize,
    /// Of those, files that could not be decoded and were left out.
    pub skipped: usize,
}

/// One image file: its path below the folder, length and modification time.
#[derive(Debug, Clone)]
struct Entry {
    rel: PathBuf,
    len: u64,
    modified: (u64, u32),
}

/// Reads every image under `dir` at `options`' shape, through a cache file in `cache_root`
/// (none: a temporary file).
pub fn load(
    dir: &Path,
    options: &FolderOptions,
    cache_root: Option<&Path>,
) -> Result<(Dataset, FolderSource), DataError> {
    if !dir.is_dir() {
        let problem = if dir.exists() {
            "not a directory; --data-dir must name a folder of images"
        } else {
            "no such directory; --data-dir must name a folder of images"
        };
        return Err(DataError::format(dir, problem));
    }
    let entries = scan(dir)?;
    if entries.is_empty() {
        return Err(DataError::format(
            dir,
            format!(
                "holds no image files ({}); put images in it or in its sub-folders",
                EXTENSIONS.join(", ")
            ),
        ));
    }
    let (classes, labels) = classes_of(&entries);
    let shape = Shape {
        channels: options.channels,
        height: options.size,
        width: options.size,
    };
    let mut source = FolderSource {
        dir: dir.to_path_buf(),
        cache: None,
        from_cache: false,
        files: entries.len(),
        skipped: 0,
    };

    let Some(root) = cache_root else {
        let file = tempfile::tempfile().map_err(|source| DataError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let file = build(dir, &entries, &labels, &classes, options, file)?;
        let contents = folder_cache::map(&file, shape)
            .map_err(|problem| DataError::format(&std::env::temp_dir(), problem))?;
        source.skipped = contents.skipped;
        return Ok((dataset(contents), source));
    };

    let (prefix, name) = cache_name(dir, &entries, options);
    let path = root.join(&name);
    source.cache = Some(path.clone());
    if let Ok(file) = File::open(&path) {
        match folder_cache::map(&file, shape) {
            Ok(contents) if contents.files == entries.len() => {
                source.from_cache = true;
                source.skipped = contents.skipped;
                return Ok((dataset(contents), source));
            }
            Ok(_) => eprintln!(
                "note: the image cache {} does not match {}; rebuilding it",
                path.display(),
                dir.display()
            ),
            Err(problem) => eprintln!(
                "note: the image cache {} is damaged ({problem}); rebuilding it",
                path.display()
            ),
        }
    }
    let io = |source: std::io::Error| DataError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(root).map_err(io)?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(root)
        .map_err(io)?;
    let file = tmp.as_file().try_clone().map_err(io)?;
    build(dir, &entries, &labels, &classes, options, file)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.persist(&path).map_err(|e| io(e.error))?;
    remove_stale(root, &prefix, &name);
    let file = File::open(&path).map_err(io)?;
    let contents = folder_cache::map(&file, shape).map_err(|p| DataError::format(&path, p))?;
    source.skipped = contents.skipped;
    Ok((dataset(contents), source))
}

fn dataset(contents: folder_cache::Contents) -> Dataset {
    Dataset {
        len: contents.len,
        channels: contents.shape.channels,
        height: contents.shape.height,
        width: contents.shape.width,
        pixels: contents.pixels,
        labels: contents.labels,
        classes: contents.classes,
    }
}

/// How many image files (by their [`EXTENSIONS`]) `dir` holds in all its sub-folders, what
/// [`load`] would try to decode, counted up to `limit` (the walk stops there) without
/// reading one; quietly (a sub-folder that cannot be read is left out here, and [`load`]
/// warns about it).
pub fn count_images(dir: &Path, limit: usize) -> Result<usize, DataError> {
    let mut count = 0;
    walk(dir, Warnings::Quiet, |_, _| {
        count += 1;
        match count >= limit {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(()),
        }
    })?;
    Ok(count)
}

/// Whether a file name has one of the image [`EXTENSIONS`].
pub fn is_image_name(name: &Path) -> bool {
    name.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Every image file under `dir`, sorted by path.
fn scan(dir: &Path) -> Result<Vec<Entry>, DataError> {
    let mut out = Vec::new();
    walk(dir, Warnings::Print, |rel, item| {
        // Follows a symbolic link to a file; a broken one is an unreadable image.
        let (len, modified) = match std::fs::metadata(item.path()) {
            Ok(meta) if meta.is_dir() => return ControlFlow::Continue(()),
            Ok(meta) => (meta.len(), modified(&meta)),
            Err(_) => (0, (0, 0)),
        };
        out.push(Entry { rel, len, modified });
        ControlFlow::Continue(())
    })?;
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Whether [`walk`] says which sub-folders it could not read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Warnings {
    Print,
    Quiet,
}

/// Calls `visit(rel, item)` for every file under `dir` with an image name, in no particular
/// order, until it breaks; hidden files and folders are left out. Only `dir` itself must be
/// readable.
fn walk(
    dir: &Path,
    warnings: Warnings,
    mut visit: impl FnMut(PathBuf, &std::fs::DirEntry) -> ControlFlow<()>,
) -> Result<(), DataError> {
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let here = dir.join(&rel);
        let read = match std::fs::read_dir(&here) {
            Ok(read) => read,
            Err(source) if rel.as_os_str().is_empty() => {
                return Err(DataError::Io { path: here, source });
            }
            Err(err) => {
                if warnings == Warnings::Print {
                    eprintln!("warning: skipped the folder {} ({err})", here.display());
                }
                continue;
            }
        };
        for item in read {
            let item = item.map_err(|source| DataError::Io {
                path: here.clone(),
                source,
            })?;
            let name = item.file_name();
            if name.as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let rel = rel.join(&name);
            let Ok(kind) = item.file_type() else { continue };
            if kind.is_dir() {
                pending.push(rel);
            } else if is_image_name(&rel) && visit(rel, &item).is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn modified(meta: &std::fs::Metadata) -> (u64, u32) {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()))
}

/// The classes (sorted first-level sub-folder names) and each entry's label, when every
/// entry lies in a sub-folder and there are at most [`MAX_CLASSES`]; else none, labels 0.
fn classes_of(entries: &[Entry]) -> (Vec<String>, Vec<u8>) {
    let unlabelled = (Vec::new(), vec![0; entries.len()]);
    let mut firsts = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut parts = entry.rel.components();
        match (parts.next(), parts.next()) {
            (Some(first), Some(_)) => firsts.push(first.as_os_str()),
            _ => return unlabelled,
        }
    }
    let mut names = firsts.clone();
    names.sort();
    names.dedup();
    if names.len() > MAX_CLASSES {
        eprintln!(
            "note: the folder has {} class sub-folders, more than the {MAX_CLASSES} labels \
             dcgan keeps; its images are treated as unlabelled",
            names.len()
        );
        return unlabelled;
    }
    let labels = firsts
        .iter()
        .map(|f| names.binary_search(f).expect("a name of the list") as u8)
        .collect();
    let classes = names
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    (classes, labels)
}

/// The cache file's name, `PREFIX-LISTING.bin`, and its prefix: PREFIX hashes the folder's
/// path and the options (one cache file per folder and shape), LISTING the file list.
fn cache_name(dir: &Path, entries: &[Entry], options: &FolderOptions) -> (String, String) {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut prefix = Sha256::new();
    prefix.update(CACHE_KEY_VERSION.as_bytes());
    prefix.update(canonical.as_os_str().as_encoded_bytes());
    prefix.update(
        format!(
            "\0{} {} {:?}",
            options.size, options.channels, options.background
        )
        .as_bytes(),
    );
    let mut listing = Sha256::new();
    for e in entries {
        listing.update(e.rel.as_os_str().as_encoded_bytes());
        listing.update(b"\0");
        listing.update(e.len.to_le_bytes());
        listing.update(e.modified.0.to_le_bytes());
        listing.update(e.modified.1.to_le_bytes());
    }
    let short = |d: Sha256| {
        d.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let prefix = short(prefix);
    let name = format!("{prefix}-{}.bin", short(listing));
    (prefix, name)
}

/// Deletes the cache files of earlier versions of the same folder and options.
fn remove_stale(root: &Path, prefix: &str, keep: &str) {
    let Ok(read) = std::fs::read_dir(root) else {
        return;
    };
    for item in read.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name != keep && name.starts_with(&format!("{prefix}-")) && name.ends_with(".bin") {
            let _ = std::fs::remove_file(item.path());
        }
    }
}

/// Decodes every entry (in chunks, each in parallel) into a cache file in `file`; returns
/// the finished file. Unreadable images are skipped with a warning each and a count.
fn build(
    dir: &Path,
    entries: &[Entry],
    labels: &[u8],
    classes: &[String],
    options: &FolderOptions,
    file: File,
) -> Result<File, DataError> {
    let shape = Shape {
        channels: options.channels,
        height: options.size,
        width: options.size,
    };
    let io = |source: std::io::Error| DataError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut writer = Writer::new(file, shape).map_err(io)?;
    let bar = progress::count_bar(
        entries.len() as u64,
        &format!("reading images in {}", dir.display()),
    );
    let mut skipped = 0;
    for (chunk, chunk_labels) in entries.chunks(CHUNK).zip(labels.chunks(CHUNK)) {
        let decoded: Vec<Result<Vec<u8>, String>> = chunk
            .par_iter()
            .map(|e| decode(&dir.join(&e.rel), options))
            .collect();
        for ((entry, label), result) in chunk.iter().zip(chunk_labels).zip(decoded) {
            match result {
                Ok(pixels) => writer.push(&pixels, *label).map_err(io)?,
                Err(problem) => {
                    skipped += 1;
                    let path = dir.join(&entry.rel);
                    bar.suspend(|| eprintln!("warning: skipped {}: {problem}", path.display()));
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    if skipped > 0 {
        eprintln!(
            "skipped {skipped} of {} files that could not be read as images",
            entries.len()
        );
    }
    if writer.count() == 0 {
        return Err(DataError::format(
            dir,
            format!(
                "none of its {} image files could be read; it holds no usable image",
                entries.len()
            ),
        ));
    }
    writer.finish(classes, entries.len(), skipped).map_err(io)
}

/// One image file decoded and brought to `options`' shape (CHW bytes), or what is wrong
/// with it.
fn decode(path: &Path, options: &FolderOptions) -> Result<Vec<u8>, String> {
    let run = || -> Result<Vec<u8>, String> {
        let image = image::ImageReader::open(path)
            .map_err(|e| e.to_string())?
            .with_guessed_format()
            .map_err(|e| e.to_string())?
            .decode()
            .map_err(|e| e.to_string())?;
        if image.width() == 0 || image.height() == 0 {
            return Err("the image has no pixels".into());
        }
        Ok(convert::to_planes(
            &image,
            options.channels,
            options.size,
            options.background,
        ))
    };
    // A decoder that panics on a hostile file costs that file, not the run.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Err("the decoder failed on it".into()))
}

#[cfg(test)]
mod tests;
