//! The layer rules, as a test: reads every file under `src/`, finds each
//! module's dependencies on other modules of this crate (`use crate::…`,
//! `use super::…`, paths written inline such as `crate::routes::parse_rate`,
//! and items re-exported by a parent `mod.rs`, followed to where they are
//! defined), and fails on any dependency a rule below forbids and on any
//! cycle between modules. Test code (`#[cfg(test)]` items) is left out.
//!
//! The layers and their arrows are README's "How it works"; each rule is
//! written once, in [`allowed`], with its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// `main.rs`, `lib.rs`, `config/`, `startup/`, `commands/`, `logging/`,
    /// `probe.rs`, `tls/`: reads flags, wires the parts together (the
    /// listener and its TLS among them), runs a command.
    Entry,
    /// `routes/`, `error.rs`: HTTP, and the only place that knows actix.
    Routes,
    /// `transfer/`: users between files and any backend.
    Transfer,
    /// `storage/*.rs`: the interface every backend implements.
    Storage,
    Sqlite,
    Postgres,
    /// `domain/`: the values users are made of.
    Domain,
}

fn layer_of(module: &[String]) -> Option<Layer> {
    let first = module.first().map(String::as_str);
    let second = module.get(1).map(String::as_str);
    Some(match (first, second) {
        (None, _) => Layer::Entry, // lib.rs
        (Some("main" | "config" | "startup" | "commands" | "logging" | "probe" | "tls"), _) => {
            Layer::Entry
        }
        (Some("routes" | "error"), _) => Layer::Routes,
        (Some("transfer"), _) => Layer::Transfer,
        (Some("storage"), Some("sqlite")) => Layer::Sqlite,
        (Some("storage"), Some("postgres")) => Layer::Postgres,
        (Some("storage"), _) => Layer::Storage,
        (Some("domain"), _) => Layer::Domain,
        _ => return None,
    })
}

/// Whether a module of layer `from` may use one of layer `to`; `Err` says why
/// not.
fn allowed(from: Layer, to: Layer) -> Result<(), &'static str> {
    use Layer::*;
    match (from, to) {
        (Routes, Routes)
        | (Transfer, Transfer)
        | (Storage, Storage)
        | (Sqlite, Sqlite)
        | (Postgres, Postgres)
        | (Domain, Domain) => Ok(()),
        // The entry point builds everything, so it may know everything.
        (Entry, _) => Ok(()),
        (Routes, Domain | Storage) => Ok(()),
        (Routes, Sqlite | Postgres) => Err(
            "the HTTP layer talks to the UserStore interface only, so a backend can be \
             swapped without touching a handler",
        ),
        (Transfer, Domain | Storage) => Ok(()),
        (Storage, Domain) => Ok(()),
        (Sqlite | Postgres, Storage | Domain) => Ok(()),
        (Sqlite | Postgres, Sqlite | Postgres) => {
            Err("the backends never know each other: each is a whole implementation of storage")
        }
        (Domain, _) => Err(
            "the domain is the innermost layer: plain values and their rules, which every \
             other layer may use and which therefore uses none of them",
        ),
        (_, Entry) => Err(
            "only the entry point reads flags and wires parts together; inner layers get \
             typed settings handed to them (config owns no type an inner layer needs)",
        ),
        (_, Routes) => Err(
            "HTTP is the outer edge: storage, transfer and the domain work without a web \
             server (the CLI commands use them), so they must not reach into it",
        ),
        (_, Transfer) => Err("transfer is a client of storage, not a part of it"),
        (Storage, Sqlite | Postgres) => {
            Err("the storage interface is what backends implement; it cannot depend on one")
        }
        (Transfer, Sqlite | Postgres) => Err(
            "transfer works on any backend through the storage interface; the entry point \
             (commands/) picks and opens the backend",
        ),
    }
}

/// One source file: its module path (`["storage", "sqlite", "writer"]`) and
/// its text with comments, strings and test code taken out.
struct Module {
    file: String,
    path: Vec<String>,
    code: String,
}

/// Every problem found in `files` (relative path under `src/`, text), one
/// line each; empty when the rules hold.
fn check(files: &[(String, String)]) -> Vec<String> {
    let modules: Vec<Module> = files
        .iter()
        .map(|(file, text)| Module {
            file: file.clone(),
            path: module_path(file),
            code: without_tests(&strip_comments_and_strings(text)),
        })
        .collect();
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let graph = Graph {
        uses: modules
            .iter()
            .map(|m| (m.path.clone(), imported_paths(&m.code, &m.path)))
            .collect(),
        known,
    };
    let mut problems = Vec::new();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for module in &modules {
        let Some(from) = layer_of(&module.path) else {
            problems.push(format!(
                "{}: module {} is in no layer; add it to layer_of in tests/architecture.rs",
                module.file,
                module.path.join("::")
            ));
            continue;
        };
        for raw in &graph.uses[&module.path] {
            let Some(target) = graph.resolve(&module.path, raw, 0) else {
                continue;
            };
            if target == module.path {
                continue;
            }
            let to = layer_of(&target).unwrap_or(Layer::Entry);
            if let Err(why) = allowed(from, to) {
                problems.push(format!(
                    "{}: {:?} -> {:?} through `{raw}` ({}): {why}",
                    module.file,
                    from,
                    to,
                    target.join("::")
                ));
            }
            edges.entry(module.path.clone()).or_default().insert(target);
        }
    }
    for cycle in cycles(&edges) {
        let names: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
        problems.push(format!("import cycle: {}", names.join(" -> ")));
    }
    problems
}

/// `storage/sqlite/mod.rs` is `["storage", "sqlite"]`; `lib.rs` is `[]`.
fn module_path(file: &str) -> Vec<String> {
    let file = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = file.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

struct Graph {
    /// Each module's `crate::`/`super::`/`self::` paths as written.
    uses: BTreeMap<Vec<String>, Vec<String>>,
    known: BTreeSet<Vec<String>>,
}

impl Graph {
    /// The module `raw`, written in `module`, depends on; `None` for paths
    /// outside this crate. An item that a module re-exports (`pub use
    /// child::Item`) resolves to the module that defines it.
    fn resolve(&self, module: &[String], raw: &str, depth: usize) -> Option<Vec<String>> {
        let mut segments = raw.split("::").filter(|s| !s.is_empty());
        let first = segments.next()?;
        let mut path: Vec<String> = match first {
            "crate" | "user_service" => Vec::new(),
            "self" => module.to_vec(),
            "super" => module[..module.len().checked_sub(1)?].to_vec(),
            child => {
                let mut relative = module.to_vec();
                relative.push(child.to_owned());
                if !self.known.contains(&relative) {
                    return None; // another crate
                }
                relative
            }
        };
        let rest: Vec<&str> = segments.collect();
        let mut rest = rest.as_slice();
        while let Some((&"super", tail)) = rest.split_first() {
            path.pop();
            rest = tail;
        }
        for segment in rest {
            if matches!(*segment, "self" | "*") {
                break;
            }
            let mut deeper = path.clone();
            deeper.push((*segment).to_owned());
            if self.known.contains(&deeper) {
                path = deeper;
                continue;
            }
            // An item of `path`: defined there, or re-exported from elsewhere.
            if depth < 4 {
                if let Some(source) = self.reexport(&path, segment, depth) {
                    return Some(source);
                }
            }
            break;
        }
        Some(path)
    }

    /// Where `module` got `name` from, if it imported it.
    fn reexport(&self, module: &[String], name: &str, depth: usize) -> Option<Vec<String>> {
        let uses = self.uses.get(module)?;
        uses.iter()
            .filter(|raw| raw.rsplit("::").next() == Some(name))
            .find_map(|raw| self.resolve(module, raw, depth + 1))
            .filter(|source| source != module)
    }
}

/// Every path of this crate a module names: each leaf of its `use` trees,
/// and each `crate::…`/`super::…`/`self::…` path written in code.
fn imported_paths(code: &str, module: &[String]) -> Vec<String> {
    let alias = regex_lite::Regex::new(r"\s+as\s+\w+").expect("regex");
    let use_statement = regex_lite::Regex::new(r"(?:^|[;{}\s])use\s+([^;]+);").expect("regex");
    let mut paths = Vec::new();
    let mut rest = String::with_capacity(code.len());
    let mut last = 0;
    for found in use_statement.captures_iter(code) {
        let tree = alias.replace_all(&found[1], "");
        let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
        paths.extend(expand(&tree));
        let whole = found.get(0).expect("match");
        rest.push_str(&code[last..whole.start()]);
        last = whole.end();
    }
    rest.push_str(&code[last..]);
    let root = if module == ["main"] {
        "user_service"
    } else {
        "crate"
    };
    let inline = regex_lite::Regex::new(&format!(
        r"\b(?:{root}|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+"
    ))
    .expect("regex");
    paths.extend(inline.find_iter(&rest).map(|m| m.as_str().to_owned()));
    paths
}

/// `a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let mut leaves = Vec::new();
    for item in split_top_level(tree) {
        match item.find('{') {
            Some(open) if item.ends_with('}') => {
                let head = &item[..open];
                for leaf in expand(&item[open + 1..item.len() - 1]) {
                    leaves.push(format!("{head}{leaf}"));
                }
            }
            _ if !item.is_empty() => leaves.push(item.to_owned()),
            _ => {}
        }
    }
    leaves
}

fn split_top_level(tree: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in tree.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&tree[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tree[start..]);
    parts
}

/// The text with comments blanked and string and char literals emptied, so
/// that neither can hide or fake a path.
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && is_char_literal(&chars, i) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// `'x'` and `'\n'` are literals; `'a` in `&'a str` is a lifetime.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// The code without the items marked `#[cfg(test)]`.
fn without_tests(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let item = &rest[at + MARK.len()..];
        let end = item
            .char_indices()
            .find(|&(_, c)| c == '{' || c == ';')
            .map_or(item.len(), |(i, c)| match c {
                ';' => i + 1,
                _ => matching_brace(item, i),
            });
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

fn matching_brace(text: &str, open: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

type Edges = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// Each set of modules that reach each other (Tarjan's strongly connected
/// components with more than one module), as a path through them.
fn cycles(edges: &Edges) -> Vec<Vec<Vec<String>>> {
    let nodes: BTreeSet<&Vec<String>> = edges
        .keys()
        .chain(edges.values().flat_map(|targets| targets.iter()))
        .collect();
    let mut found = Vec::new();
    let mut done: BTreeSet<&Vec<String>> = BTreeSet::new();
    for &start in &nodes {
        if done.contains(start) {
            continue;
        }
        // A path from `start` back to itself, by depth-first search.
        let mut stack: Vec<(&Vec<String>, Vec<&Vec<String>>)> = vec![(start, vec![start])];
        let mut seen: BTreeSet<&Vec<String>> = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in edges.get(node).into_iter().flatten() {
                if next == start {
                    let mut cycle: Vec<Vec<String>> = path.iter().map(|m| (*m).clone()).collect();
                    cycle.push(start.clone());
                    if !found
                        .iter()
                        .any(|c: &Vec<Vec<String>>| same_cycle(c, &cycle))
                    {
                        found.push(cycle);
                    }
                } else if !done.contains(next) && seen.insert(next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
        done.insert(start);
    }
    found
}

fn same_cycle(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    let members = |c: &[Vec<String>]| c.iter().cloned().collect::<BTreeSet<_>>();
    members(a) == members(b)
}

fn read_tree(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src/")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            files.push((relative, std::fs::read_to_string(&path).expect("read")));
        }
    }
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect()
}

#[test]
fn the_code_keeps_the_layer_rules_and_has_no_import_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    read_tree(&root, &root, &mut sources);
    assert!(
        sources.len() > 30,
        "read {} files under src/",
        sources.len()
    );
    let problems = check(&sources);
    assert!(
        problems.is_empty(),
        "the layer rules are broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_storage_module_that_uses_the_routes_is_refused() {
    let problems = check(&files(&[
        ("storage/mod.rs", "use crate::domain::User;"),
        ("storage/sqlite/mod.rs", "use crate::routes::UserResponse;"),
        ("routes/mod.rs", "pub struct UserResponse;"),
        ("domain/mod.rs", "pub struct User;"),
    ]));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("Sqlite -> Routes"), "{problems:?}");
}

#[test]
fn paths_written_inline_nested_trees_and_reexports_count() {
    let problems = check(&files(&[
        (
            "transfer/export.rs",
            "fn f() { let _ = crate::storage::sqlite::open(); }",
        ),
        (
            "domain/user.rs",
            "use crate::{storage::{self, Page}, error::Oops as E};",
        ),
        // `Thing` is re-exported by routes/mod.rs from routes/inner.rs.
        ("storage/mod.rs", "use crate::routes::Thing;"),
        ("routes/mod.rs", "mod inner; pub use inner::Thing;"),
        ("routes/inner.rs", "pub struct Thing;"),
        ("storage/sqlite/mod.rs", "pub fn open() {}"),
        ("error.rs", "pub struct Oops;"),
    ]));
    let joined = problems.join("\n");
    assert!(joined.contains("Transfer -> Sqlite"), "{joined}");
    assert!(joined.contains("Domain -> Storage"), "{joined}");
    assert!(joined.contains("Domain -> Routes"), "{joined}");
    assert!(joined.contains("(routes::inner)"), "{joined}");
}

#[test]
fn comments_strings_and_test_code_do_not_count() {
    let problems = check(&files(&[
        (
            "domain/user.rs",
            "// use crate::routes::X;\n/* crate::routes::Y */\n\
             const S: &str = \"crate::routes::Z\";\nconst R: &str = r#\"use crate::routes::W;\"#;\n\
             fn f<'a>(x: &'a str) -> char { 'c' }\n\
             #[cfg(test)]\nmod tests { use crate::routes::T; }\n",
        ),
        ("routes/mod.rs", "pub struct X;"),
    ]));
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn a_cycle_between_two_modules_of_one_layer_is_refused() {
    let problems = check(&files(&[
        ("storage/sqlite/writer.rs", "use super::reply::Reply;"),
        ("storage/sqlite/reply.rs", "use super::writer::Outcome;"),
        ("storage/sqlite/mod.rs", "mod reply; mod writer;"),
    ]));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("import cycle: storage::sqlite::re"),
        "{problems:?}"
    );
}

#[test]
fn a_module_outside_every_layer_is_refused() {
    let problems = check(&files(&[("gadgets.rs", "pub fn f() {}")]));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("in no layer"), "{problems:?}");
}
