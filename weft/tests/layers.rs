//! The house rules ARCHITECTURE.md draws, checked over the source:
//!
//! * **Imports point down.** Every module of `weft/src` belongs to a layer
//!   ([`LAYERS`], bottom up); a module may name (`use crate::…`, or a
//!   `crate::…`/`super::…` path in code) only modules of its own layer or
//!   below. Doc comments, comments and `#[cfg(test)]` items are not
//!   checked: a test may drive the whole runtime.
//! * **One idea per file.** No file holds more than [`MAX_CODE_LINES`] lines
//!   of code (blank lines, comments and `#[cfg(test)]` items not counted).

use std::collections::{BTreeMap, BTreeSet};
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
            "task::console",
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

/// `text` with comments and the contents of string and char literals
/// blanked (newlines kept, so lines still count), by a small lexer: line
/// and (nested) block comments, strings with escapes, raw strings
/// (`r#"…"#`), byte strings, char literals, lifetimes.
fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char, out: &mut String| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(chars[i], &mut out);
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && (i == 0 || !is_ident(chars[i - 1]))
            && {
                let start = if c == 'b' { i + 2 } else { i + 1 };
                let hashes = chars[start..].iter().take_while(|&&h| h == '#').count();
                chars.get(start + hashes) == Some(&'"')
            }
        {
            // A raw string: no escapes; ends at `"` and as many `#`.
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = chars[start..].iter().take_while(|&&h| h == '#').count();
            out.push('"');
            i = start + hashes + 1;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    out.push('"');
                    i += 1 + hashes;
                    break;
                }
                blank(chars[i], &mut out);
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(chars[i], &mut out);
                    i += 1;
                }
                if i < chars.len() {
                    blank(chars[i], &mut out);
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map(|p| i + 2 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    out.push_str("' '");
                    (i + 1..end).skip(1).for_each(|_| out.push(' '));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether an attribute (its text from `#[` to `]`) makes its item test-only:
/// `cfg(test)` or `cfg(all(test, …))` — not `any(test, …)`, which is built
/// outside tests too.
fn is_test_cfg(attribute: &str) -> bool {
    let compact: String = attribute.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with("#[cfg(test)") || compact.starts_with("#[cfg(all(test")
}

/// The code of a file: comments and literals blanked, and every item under
/// a test-only `#[cfg]` blanked too (a test may drive the whole runtime).
/// The item ends at the `;` or `,` that closes it at its own depth, or at
/// the brace it opens closing (parentheses, brackets and braces all count,
/// so a multi-line signature does not end it early). Panics if an item
/// never ends: the check must never skip the rest of a file unseen.
fn code_of(text: &str) -> String {
    let code = blank_comments_and_literals(text);
    let chars: Vec<char> = code.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '#' && chars.get(i + 1) == Some(&'[') {
            let end = matching(&chars, i + 1).expect("an attribute's `]`");
            let attribute: String = chars[i..=end].iter().collect();
            if is_test_cfg(&attribute) {
                let item_end = item_end(&chars, end + 1)
                    .unwrap_or_else(|| panic!("a #[cfg(test)] item that never ends, at byte {i}"));
                for c in &mut out[i..item_end] {
                    if *c != '\n' {
                        *c = ' ';
                    }
                }
                i = item_end;
                continue;
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// The index of the bracket closing the one at `open`.
fn matching(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (at, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            _ => {}
        }
    }
    None
}

/// Where the item starting at `from` ends (one past it): past further
/// attributes, at a `;` or `,` at depth 0, or after the `}` matching its
/// first `{` at depth 0; `None` if the text ends first or a closing
/// bracket of the surrounding item comes first.
fn item_end(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '(' | '[' => depth += 1,
            '{' if depth == 0 => return matching(chars, i).map(|end| end + 1),
            '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth < 0 {
                    // The surrounding block ends: the item was its last.
                    return Some(i);
                }
            }
            ';' | ',' if depth == 0 => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// True if the file is test-only as a whole: `#![cfg(test)]` before its
/// first item.
fn file_is_test_only(code: &str) -> bool {
    let start = code.trim_start();
    start.starts_with("#![") && {
        let end = start.find(']').unwrap_or(start.len());
        let compact: String = start[..=end.min(start.len() - 1)]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        compact.starts_with("#![cfg(test)") || compact.starts_with("#![cfg(all(test")
    }
}

/// Every module path `code` (of module `module`) names through `crate::`,
/// `$crate::` or `super::`, `use` groups expanded; `super::` inside an
/// inline `mod x { … }` counts from `x`. A root-level `#[macro_export]`
/// macro named as `crate::name` counts as the module that defines it
/// (`macros`). Errors: a `super::` past the crate root, and aliases of the
/// crate (`crate as`, `extern crate self`), which would hide paths.
fn named_paths(
    module: &str,
    code: &str,
    macros: &BTreeMap<String, String>,
) -> (BTreeSet<String>, Vec<String>) {
    let mut found = BTreeSet::new();
    let mut errors = Vec::new();
    // Inline modules open around this point: (path, depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let chars: Vec<char> = code.chars().collect();
    let starts_at = |i: usize, word: &str| -> bool {
        chars[i..]
            .iter()
            .take(word.chars().count())
            .copied()
            .eq(word.chars())
    };
    let mut i = 0;
    while i < chars.len() {
        let current = inline.last().map_or(module, |(m, _)| m.as_str());
        let starts_word = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':';
        let dollar = starts_at(i, "$crate::");
        if starts_word && (dollar || starts_at(i, "crate::") || starts_at(i, "super::")) {
            let from = i + usize::from(dollar);
            let rest: String = chars[from..].iter().collect();
            let (path, len) = read_path(&rest);
            for p in expand(&path) {
                match resolve(current, &p) {
                    Some(resolved) => {
                        let first = resolved.split("::").next().unwrap_or("");
                        found.insert(macros.get(first).cloned().unwrap_or(resolved));
                    }
                    None => errors.push(format!("`{p}` in {current} goes past the crate root")),
                }
            }
            i = from + rest[..len.max(1)].chars().count();
            continue;
        }
        if starts_word
            && (starts_at(i, "extern crate self") || {
                let rest: String = chars[i..chars.len().min(i + 16)].iter().collect();
                rest.starts_with("crate") && rest[5..].trim_start().starts_with("as ")
            })
        {
            errors.push(format!(
                "an alias of the crate in {current} would hide its paths"
            ));
        }
        if starts_word && starts_at(i, "mod ") {
            let after: String = chars[i + 4..].iter().take(200).collect();
            let after = after.trim_start();
            let after = after.strip_prefix("r#").unwrap_or(after);
            let name: String = after.chars().take_while(|&c| is_ident(c)).collect();
            if !name.is_empty() && after[name.len()..].trim_start().starts_with('{') {
                let path = if current.is_empty() {
                    name
                } else {
                    format!("{current}::{name}")
                };
                inline.push((path, depth + 1));
            }
        }
        match chars[i] {
            '{' => depth += 1,
            '}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    (found, errors)
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
            c if is_ident(c) || c == ':' || c == '*' => {}
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
/// if the `super`s go past the crate root.
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

/// The modules declared test-only by their parent (`#[cfg(test)] mod x;`).
fn test_only_modules(files: &[(PathBuf, String)]) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for (file, text) in files {
        let code: Vec<char> = blank_comments_and_literals(text).chars().collect();
        let mut i = 0;
        while i + 1 < code.len() {
            if code[i] == '#' && code[i + 1] == '[' {
                let Some(end) = matching(&code, i + 1) else {
                    break;
                };
                let attribute: String = code[i..=end].iter().collect();
                if is_test_cfg(&attribute) {
                    let item: String = code[end + 1..].iter().take(300).collect();
                    let item = item.trim_start();
                    // Past further attributes and a visibility.
                    let item = item.split("mod ").nth(1).filter(|_| {
                        let before = &item[..item.find("mod ").unwrap_or(0)];
                        before.chars().all(|c| {
                            c.is_whitespace() || "#[]()_:,=\"".contains(c) || c.is_alphanumeric()
                        }) && !before.contains('{')
                            && !before.contains(';')
                    });
                    if let Some(rest) = item {
                        let rest = rest.strip_prefix("r#").unwrap_or(rest);
                        let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
                        if rest[name.len()..].trim_start().starts_with(';') {
                            let parent = module_of(file);
                            modules.insert(if parent.is_empty() {
                                name
                            } else {
                                format!("{parent}::{name}")
                            });
                        }
                    }
                }
                i = end + 1;
                continue;
            }
            i += 1;
        }
    }
    modules
}

/// Root-level macros (`#[macro_export] macro_rules! name`): name → the
/// module that defines them.
fn exported_macros(sources: &[Source]) -> BTreeMap<String, String> {
    let mut macros = BTreeMap::new();
    for s in sources {
        for (at, _) in s.code.match_indices("#[macro_export]") {
            let after = &s.code[at..];
            if let Some(m) = after.find("macro_rules!") {
                let name: String = after[m + 12..]
                    .trim_start()
                    .chars()
                    .take_while(|&c| is_ident(c))
                    .collect();
                macros.insert(name, s.module.clone());
            }
        }
    }
    macros
}

fn sources() -> Vec<Source> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    all.sort();
    let texts: Vec<(PathBuf, String)> = all
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(src().join(&file)).expect("read source");
            (file, text)
        })
        .collect();
    let test_modules = test_only_modules(&texts);
    texts
        .into_iter()
        .filter_map(|(file, text)| {
            let module = module_of(&file);
            let under_test_module = test_modules
                .iter()
                .any(|t| module == *t || module.starts_with(&format!("{t}::")));
            let test_only =
                under_test_module || file_is_test_only(&blank_comments_and_literals(&text));
            (!test_only).then(|| Source {
                module,
                file: file.to_string_lossy().into_owned(),
                code: code_of(&text),
            })
        })
        .collect()
}

/// Every upward import: (file, module named); panics on a path the check
/// cannot follow.
fn upward_imports(
    sources: &[Source],
    macros: &BTreeMap<String, String>,
) -> BTreeSet<(String, String)> {
    let mut up = BTreeSet::new();
    for s in sources {
        let own = layer_of(&s.module);
        let (named, errors) = named_paths(&s.module, &s.code, macros);
        assert!(errors.is_empty(), "weft/src/{}: {errors:?}", s.file);
        for named in named {
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
    let sources = sources();
    let up = upward_imports(&sources, &exported_macros(&sources));
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

fn planted(code: &str) -> Vec<String> {
    let source = Source {
        file: "driver/io/planted.rs".to_owned(),
        module: "driver::io::planted".to_owned(),
        code: code_of(code),
    };
    let macros = BTreeMap::from([("task_local".to_owned(), "task::task_local".to_owned())]);
    upward_imports(std::slice::from_ref(&source), &macros)
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

/// The checker itself: a planted upward import is caught, a downward one
/// is not, and comments, strings and test items are ignored.
#[test]
fn the_check_catches_an_upward_import() {
    let named = planted(
        "use crate::sys::loom::AtomicUsize;\n\
         use crate::{task::raw::TaskRef, scheduler::{self, Handle}};\n\
         // crate::runtime::Builder in a comment\n\
         /// [`crate::net::TcpStream`] in a doc comment\n\
         const S: &str = \"crate::fs::File\";\n\
         fn f() { super::super::super::time::sleep(); }\n\
         #[cfg(test)]\n\
         mod tests {\n    use crate::runtime::Runtime;\n}\n",
    );
    assert_eq!(named, ["scheduler", "time"]);
}

/// The ways a review found to slip an import past a line-based reader.
#[test]
fn the_check_is_not_fooled() {
    // A brace in a block comment or a multi-line string inside a test item
    // must not make the test item swallow the rest of the file.
    let named = planted(
        "#[cfg(test)]\nfn t() { /* { */ let s = \"{\n}{\"; }\nuse crate::runtime::Builder;\n",
    );
    assert_eq!(
        named,
        ["runtime"],
        "after a test item with braces in comments and strings"
    );
    // A test fn with a multi-line signature is skipped whole.
    let named = planted(
        "#[cfg(test)]\nfn t(\n    a: u8,\n    b: u8,\n) { crate::net::x(); }\nuse crate::fs::File;\n",
    );
    assert_eq!(named, ["fs"]);
    // `cfg(any(test, …))` is built outside tests too: checked.
    let named = planted("#[cfg(any(test, feature = \"x\"))]\nuse crate::signal::S;\n");
    assert_eq!(named, ["signal"]);
    // `$crate::` in a macro body, and a root macro counted where it is
    // defined.
    let named = planted("macro_rules! m { () => { $crate::process::Command::new() } }\n");
    assert_eq!(named, ["process"]);
    let named = planted("fn f() { crate::task_local!(); }\n");
    assert_eq!(named, ["task"]);
    // A raw-identifier inline module counts for `super::`.
    let named = planted("mod r#inner { fn f() { super::super::super::super::runtime::x(); } }\n");
    assert_eq!(named, ["runtime"]);
    // `#![cfg(test)]` inside an inline module does not exempt the file.
    assert!(!file_is_test_only(
        "use crate::runtime::X;\nmod m { #![cfg(test)] }\n"
    ));
    assert!(file_is_test_only(
        "//! docs\n#![cfg(test)]\nuse crate::runtime::X;\n".trim_start_matches("//! docs\n")
    ));
    // Aliases of the crate and paths past its root are refused outright.
    for code in [
        "use crate as root;\n",
        "extern crate self as weft;\n",
        "fn f() { super::super::super::super::x(); }\n",
    ] {
        let result = std::panic::catch_unwind(|| planted(code));
        assert!(result.is_err(), "{code:?} was accepted");
    }
}
