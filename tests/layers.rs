//! The library's modules form layers: each imports only modules below it, so there are no
//! import cycles and no upward arrows (README's "Layout" lists the same order). Tests and
//! doc comments may name any module.

use std::collections::BTreeMap;
use std::path::Path;

/// The top-level modules of `src/`, lowest first.
const LAYERS: &[&str] = &[
    "atomic_file",
    "geometry",
    "interrupt",
    "processes",
    "optim",
    "sections",
    "logging",
    "kernels",
    "device",
    "model",
    "weights",
    "picture",
    "data",
    "eval",
    "run_dir",
    "report",
    "train",
    "bench",
    "serve",
    "cli",
];

/// The library's source without its comments and its test module: the lines of `text` up
/// to a `#[cfg(test)]` followed by `mod`, comment lines left out.
fn code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines
                    .get(i + 1)
                    .is_some_and(|next| next.trim_start().starts_with("mod "))
        })
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .filter(|line| !line.trim_start().starts_with("//"))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each top-level module's files (test files left out) and the modules their code names as
/// `crate::name` (or `$crate::name` in macros).
fn imports(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut found: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                files.push(entry.unwrap().path());
            }
            continue;
        }
        let rel = path.strip_prefix(src).unwrap();
        let name = rel.to_string_lossy();
        if !name.ends_with(".rs") || name.ends_with("tests.rs") || name.contains("/tests/") {
            continue;
        }
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = code(&std::fs::read_to_string(&path).unwrap());
        for (at, _) in text.match_indices("crate::") {
            for used in named_modules(&text[at + "crate::".len()..]) {
                // `say!` and `tell!` are exported at the crate's root from `logging`.
                let used = match used.as_str() {
                    "say" | "tell" => "logging".to_string(),
                    _ => used,
                };
                if used != top {
                    found
                        .entry(top.clone())
                        .or_default()
                        .insert(used, name.to_string());
                }
            }
        }
    }
    found
}

/// The modules a path after `crate::` names: one (`train::Loss`), or each of a group
/// (`{atomic_file, sections}`).
fn named_modules(path: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    match path.strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or_default()
            .split(',')
            .map(ident)
            .filter(|name| !name.is_empty())
            .collect(),
        None => vec![ident(path)],
    }
}

#[test]
fn every_module_imports_only_modules_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let level = |name: &str| LAYERS.iter().position(|l| *l == name);
    let found = imports(&src);
    assert!(found.len() > 10, "the source was read: {found:?}");
    let mut wrong = Vec::new();
    for (module, used) in &found {
        let Some(own) = level(module) else {
            wrong.push(format!("{module} is not in LAYERS"));
            continue;
        };
        for (other, file) in used {
            match level(other) {
                Some(l) if l < own => {}
                Some(_) => wrong.push(format!("{file} ({module}) imports {other}, above it")),
                None => wrong.push(format!("{file} imports {other}, not in LAYERS")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_an_upward_import() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("kernels")).unwrap();
    std::fs::write(
        dir.path().join("kernels/mod.rs"),
        "// crate::cli in a comment is fine\nuse crate::train::Loss;\nuse crate::{model, picture::Noise};\n#[cfg(test)]\nmod tests {\n    use crate::cli;\n}\n",
    )
    .unwrap();
    let found = imports(dir.path());
    let kernels: Vec<&String> = found["kernels"].keys().collect();
    assert_eq!(kernels, ["model", "picture", "train"]);
}
