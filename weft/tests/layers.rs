//! The house rules ARCHITECTURE.md draws, checked over the source:
//!
//! * **Imports point down.** Every module of `weft/src` belongs to a layer
//!   ([`LAYERS`], bottom up); a module may name (`use crate::…`, or a
//!   `crate::…`/`super::…` path in code) only modules of its own layer or
//!   below. Doc comments, comments and `#[cfg(test)]` items are not
//!   checked: a test may drive the whole runtime.
//! * **One idea per file.** No file holds more than [`MAX_CODE_LINES`] lines
//!   of code (blank lines, comments and `#[cfg(test)]` items not counted).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Layers, bottom up: a module path and everything below it (the longest
/// matching prefix wins) belongs to the layer. `""` is the crate root.
const LAYERS: &[(&str, &[&str])] = &[
    ("sys", &["sys", "test_util"]),
    (
        "task",
        &[
            "task::raw",
            "task::state",
            "task::join",
            "task::coop",
            "task::id",
        ],
    ),
    ("driver", &["driver"]),
    ("blocking", &["blocking"]),
    ("scheduler", &["scheduler"]),
    ("runtime", &["runtime"]),
    (
        "services",
        &[
            "task", "net", "time", "fs", "signal", "process", "coro", "sync", "io", "macros",
        ],
    ),
    ("compat", &["compat"]),
    // lib.rs: the public facade and its re-exports.
    ("root", &[""]),
];

/// The most lines of code a file may hold.
const MAX_CODE_LINES: usize = 700;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, relative to [`src`].
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read weft/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.strip_prefix(src()).expect("under src").to_owned());
        }
    }
}

/// `a/b/mod.rs` and `a/b.rs` → `a::b`; `lib.rs` → `""`.
fn module_of(file: &Path) -> String {
    let mut parts: Vec<String> = file
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The layer (index into [`LAYERS`]) of a module path.
fn layer_of(module: &str) -> usize {
    let mut best: Option<(usize, usize)> = None;
    for (layer, (_, prefixes)) in LAYERS.iter().enumerate() {
        for prefix in *prefixes {
            let matches = prefix.is_empty()
                || module == *prefix
                || module.starts_with(&format!("{prefix}::"));
            if matches && best.is_none_or(|(len, _)| prefix.len() > len) {
                best = Some((prefix.len(), layer));
            }
        }
    }
    best.expect("the root prefix matches everything").1
}

/// The source with comments, string literals' contents and `#[cfg(test)]`
/// items blanked out. Also says whether the whole file is test-only (its
/// first item is `#![cfg(test)]`).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skip_item = false;
    let mut depth_at_skip = None::<usize>;
    let mut depth = 0usize;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let code = strip_comment(line);
        let is_test_attr = trimmed.starts_with("#[cfg(test)]")
            || trimmed.starts_with("#[cfg(all(test")
            || trimmed.starts_with("#[cfg(any(test");
        if depth_at_skip.is_none() && is_test_attr {
            skip_item = true;
            out.push('\n');
            continue;
        }
        if skip_item && depth_at_skip.is_none() {
            if trimmed.starts_with("#[") || trimmed.is_empty() || trimmed.starts_with("//") {
                out.push('\n');
                continue;
            }
            // The item the attribute applies to: skip to its end (a `;` or
            // `,` at its own depth, or the brace it opens closing).
            depth_at_skip = Some(depth);
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if let Some(start) = depth_at_skip {
            let end = code.trim_end();
            if depth == start && (end.ends_with('}') || end.ends_with(';') || end.ends_with(',')) {
                depth_at_skip = None;
                skip_item = false;
            }
            out.push('\n');
            continue;
        }
        out.push_str(&code);
        out.push('\n');
    }
    out
}

/// `line` without its `//` comment and with string literals emptied.
fn strip_comment(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_str = false;
                    out.push('"');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push('"');
            }
            '/' if chars.peek() == Some(&'/') => break,
            // A char literal such as '"' or '{' must not open a string or
            // count as a brace.
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                let mut it = rest.chars();
                match (it.next(), it.next(), it.next()) {
                    (Some('\\'), Some(_), Some('\'')) => {
                        chars.nth(2);
                    }
                    (Some(_), Some('\''), _) => {
                        chars.nth(1);
                    }
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every module path `code` (of module `module`) names through `crate::`
/// or `super::`, `use` groups expanded; `super::` inside an inline `mod x
/// { … }` counts from `x`. (`$crate::` in a macro body is the public
/// facade's business, not checked.)
fn named_paths(module: &str, code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // Inline modules open around this point: (path, depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let current = inline.last().map_or(module, |(m, _)| m.as_str());
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && !matches!(bytes[i - 1], b':' | b'$');
        if starts_word && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (path, len) = read_path(rest);
            for p in expand(&path) {
                if let Some(resolved) = resolve(current, &p) {
                    found.insert(resolved);
                }
            }
            i += len.max(1);
            continue;
        }
        if starts_word && rest.starts_with("mod ") {
            let name: String = rest[4..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = rest[4..].trim_start()[name.len()..].trim_start();
            if !name.is_empty() && after.starts_with('{') {
                let path = if current.is_empty() {
                    name
                } else {
                    format!("{current}::{name}")
                };
                inline.push((path, depth + 1));
            }
        }
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reads a path (with any `{…}` group) from the start of `s`: its text
/// without spaces, and how many bytes it took.
fn read_path(s: &str) -> (String, usize) {
    let mut out = String::new();
    let mut depth = 0usize;
    for (at, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return (out, at),
            '}' => depth -= 1,
            c if c.is_whitespace() => continue,
            c if is_ident(c as u8) || c == ':' || c == '*' => {}
            ',' if depth > 0 => {}
            _ if depth == 0 => return (out, at),
            _ => {}
        }
        out.push(c);
        if depth == 0 && c == '}' {
            return (out, at + 1);
        }
    }
    (out, s.len())
}

/// `crate::{a, b::{c, d}}` → `crate::a`, `crate::b::c`, `crate::b::d`.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.trim_end_matches("::").to_owned()];
    };
    let head = &path[..open];
    let inner = path[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&path[open + 1..]);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            if p == "self" {
                vec![head.trim_end_matches("::").to_owned()]
            } else {
                expand(&format!("{head}{p}"))
            }
        })
        .collect()
}

/// `crate::a::b` → `a::b`; `super::x` from module `a::b` → `a::x`. `None`
/// for paths that stay inside the module.
fn resolve(module: &str, path: &str) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<&str> = if segments.first() == Some(&"crate") {
        segments.remove(0);
        Vec::new()
    } else {
        let mut base: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
        while segments.first() == Some(&"super") {
            segments.remove(0);
            base.pop()?;
        }
        base
    };
    base.extend(segments);
    Some(base.join("::"))
}

/// Lines of code: neither blank nor only a comment, outside test items.
fn code_lines(code: &str) -> usize {
    code.lines().filter(|l| !l.trim().is_empty()).count()
}

struct Source {
    file: String,
    module: String,
    code: String,
}

fn sources() -> Vec<Source> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.sort();
    all.into_iter()
        .filter_map(|file| {
            let text = fs::read_to_string(src().join(&file)).expect("read source");
            // Test-only files (`#[cfg(test)] mod x;` elsewhere, or a
            // `#![cfg(test)]`) are test code as a whole.
            let test_only = text
                .lines()
                .any(|l| l.trim_start().starts_with("#![cfg(test)]"))
                || file.iter().any(|p| p == "tests")
                || file.ends_with("test_util.rs")
                || file.ends_with("loom_tests.rs");
            (!test_only).then(|| Source {
                module: module_of(&file),
                file: file.to_string_lossy().into_owned(),
                code: code_of(&text),
            })
        })
        .collect()
}

/// Every upward import: (file, module named).
fn upward_imports(sources: &[Source]) -> BTreeSet<(String, String)> {
    let mut up = BTreeSet::new();
    for s in sources {
        let own = layer_of(&s.module);
        for named in named_paths(&s.module, &s.code) {
            if layer_of(&named) > own {
                up.insert((s.file.clone(), layer_prefix(&named)));
            }
        }
    }
    up
}

/// `named` cut to the prefix that decided its layer (one entry per module
/// named, not per item).
fn layer_prefix(named: &str) -> String {
    let layer = layer_of(named);
    LAYERS[layer]
        .1
        .iter()
        .filter(|p| !p.is_empty() && (named == **p || named.starts_with(&format!("{p}::"))))
        .max_by_key(|p| p.len())
        .map_or_else(|| named.to_owned(), |p| (*p).to_owned())
}

#[test]
fn imports_point_down() {
    let up = upward_imports(&sources());
    let describe = |(file, named): &(String, String)| {
        let from = LAYERS[layer_of(&module_of(Path::new(file)))].0;
        let to = LAYERS[layer_of(named)].0;
        format!("  weft/src/{file} ({from}) names crate::{named} ({to})")
    };
    assert!(
        up.is_empty(),
        "imports that point up a layer (see ARCHITECTURE.md; reach a higher layer through a \
         trait or callback the lower one owns, as the task harness does with `Schedule` and \
         the blocking pool with `Owner`):\n{}",
        up.iter().map(describe).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn files_hold_one_idea() {
    let long: Vec<(String, usize)> = sources()
        .into_iter()
        .map(|s| (s.file, code_lines(&s.code)))
        .filter(|(_, n)| *n > MAX_CODE_LINES)
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_CODE_LINES} lines of code (split them by idea):\n{long:#?}"
    );
}

/// The checker itself: a planted upward import is caught, a downward one
/// is not, and comments, strings and test modules are ignored.
#[test]
fn the_check_catches_an_upward_import() {
    let planted = Source {
        file: "driver/io/planted.rs".to_owned(),
        module: "driver::io::planted".to_owned(),
        code: code_of(
            "use crate::sys::loom::AtomicUsize;\n\
             use crate::{task::raw::TaskRef, scheduler::{self, Handle}};\n\
             // crate::runtime::Builder in a comment\n\
             /// [`crate::net::TcpStream`] in a doc comment\n\
             const S: &str = \"crate::fs::File\";\n\
             fn f() { super::super::super::time::sleep(); }\n\
             #[cfg(test)]\n\
             mod tests {\n    use crate::runtime::Runtime;\n}\n",
        ),
    };
    let up = upward_imports(std::slice::from_ref(&planted));
    let named: Vec<&str> = up.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(named, ["scheduler", "time"], "{up:?}");
}
