//! The library's layering, checked from the source text.
//!
//! `src/lib.rs` declares the layers bottom to top (its "Layers" section).
//! This test reads every file under `src/` (the binaries aside: they sit on
//! top of the library), finds each module path it names and resolves it to
//! the file that defines it (`uses.rs`). Then it asserts:
//!
//! - a top-level module uses only modules on a lower layer (never one on
//!   its own layer or above it);
//! - within a top-level module, the files' uses form no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

mod uses;

use uses::{display, uses_by_file, ModPath, SourceFile, Use};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file of the library with its module path: `src/a/b.rs` is
/// `a::b`, `src/a.rs` is `a`, `src/lib.rs` is the root.
fn library_files() -> Vec<SourceFile> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = src_dir();
    let mut paths = Vec::new();
    walk(&src, &mut paths);
    let mut files = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(&src).unwrap();
        let mut module: ModPath = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
        // The binaries are crates of their own, above the library.
        if module[0] == "bin" || module == ["main.rs"] {
            continue;
        }
        let last = module.pop().unwrap();
        let stem = last.strip_suffix(".rs").unwrap();
        assert_ne!(stem, "mod", "{}: the crate uses foo.rs + foo/, not mod.rs", path.display());
        if module.is_empty() && stem == "lib" {
            // The crate root.
        } else {
            module.push(stem.to_string());
        }
        let text = fs::read_to_string(&path).unwrap();
        files.push(SourceFile { module, path, text });
    }
    files.sort_by(|a, b| a.module.cmp(&b.module));
    files
}

/// The layers declared in `src/lib.rs`, bottom first: the numbered list of
/// its "Layers" section, each item naming its modules in backticks before
/// the first `: `.
fn declared_layers() -> Vec<Vec<String>> {
    let lib = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let mut layers = Vec::new();
    let mut in_section = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else { break };
        let doc = doc.trim();
        if doc.starts_with('#') {
            in_section = doc.trim_start_matches('#').trim() == "Layers";
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((number, item)) = doc.split_once(". ") else { continue };
        if number.parse::<usize>().is_err() {
            continue;
        }
        assert_eq!(number.parse::<usize>().unwrap(), layers.len() + 1, "layers are numbered 1, 2, ...: {doc}");
        let names = item.split_once(": ").map_or(item, |(names, _)| names);
        let modules: Vec<String> = names
            .split(',')
            .map(|name| {
                let name = name.trim();
                assert!(name.starts_with('`') && name.ends_with('`'), "layer item `{doc}`: modules in backticks");
                name.trim_matches('`').to_string()
            })
            .collect();
        layers.push(modules);
    }
    assert!(!layers.is_empty(), "src/lib.rs declares no layers (a \"# Layers\" section with a numbered list)");
    layers
}

/// The top-level modules `src/lib.rs` declares.
fn top_level_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    lib.lines().filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';')).map(str::to_string).collect()
}

/// All uses between files of the library, from each file's module.
fn dependency_graph() -> (Vec<SourceFile>, BTreeMap<ModPath, Vec<Use>>) {
    let files = library_files();
    let graph = uses_by_file(&files);
    (files, graph)
}

#[test]
fn every_module_has_one_layer() {
    let layers = declared_layers();
    let declared: Vec<&String> = layers.iter().flatten().collect();
    let unique: BTreeSet<&String> = declared.iter().copied().collect();
    assert_eq!(unique.len(), declared.len(), "a module is on two layers: {layers:?}");
    let modules = top_level_modules();
    let unique: BTreeSet<String> = unique.into_iter().cloned().collect();
    assert_eq!(unique, modules, "the layers in src/lib.rs must name each `pub mod` exactly once");
}

#[test]
fn no_module_uses_one_on_its_layer_or_above() {
    let layers = declared_layers();
    let layer_of: BTreeMap<&str, usize> =
        layers.iter().enumerate().flat_map(|(n, mods)| mods.iter().map(move |m| (m.as_str(), n))).collect();
    let (files, graph) = dependency_graph();
    let mut wrong = Vec::new();
    for file in &files {
        // The crate root (`run`) sits above every layer.
        let Some(from) = file.module.first() else { continue };
        for used in &graph[&file.module] {
            let ok = match used.target.first() {
                None => false,
                Some(to) if to == from => true,
                Some(to) => layer_of[to.as_str()] < layer_of[from.as_str()],
            };
            if !ok {
                wrong.push(format!(
                    "{}:{}: {} uses {}",
                    file.path.strip_prefix(src_dir()).unwrap().display(),
                    used.line,
                    display(&file.module),
                    display(&used.target)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "uses against the layers of src/lib.rs (bottom first: {layers:?}):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_cycles_between_files_of_a_module() {
    let (_, graph) = dependency_graph();
    // A parent file declares its children and may re-export or call them;
    // that is not counted: the cycles that matter run between siblings
    // (and their parts), possibly through what an ancestor defines.
    let edges: BTreeMap<&ModPath, BTreeSet<&ModPath>> = graph
        .iter()
        .map(|(from, uses)| {
            let counted =
                |u: &&Use| !from.is_empty() && u.target.first() == from.first() && !u.target.starts_with(from);
            (from, uses.iter().filter(counted).map(|u| &u.target).collect())
        })
        .collect();
    // Each cycle with the uses that close it, so the message points at the lines.
    let cycles: Vec<String> = strongly_connected(&edges)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let mut text = component.iter().map(|m| display(m)).collect::<Vec<_>>().join(", ");
            for &from in &component {
                let closing: BTreeSet<(String, usize)> = graph[from]
                    .iter()
                    .filter(|u| component.contains(&&u.target) && !u.target.starts_with(from))
                    .map(|u| (display(&u.target), u.line))
                    .collect();
                for (target, line) in closing {
                    text += &format!("\n    {} uses {target} (line {line})", display(from));
                }
            }
            text
        })
        .collect();
    assert!(cycles.is_empty(), "files that use each other in a cycle:\n{}", cycles.join("\n"));
}

/// Tarjan's strongly connected components; a component of more than one
/// file is a cycle.
fn strongly_connected<'a>(edges: &BTreeMap<&'a ModPath, BTreeSet<&'a ModPath>>) -> Vec<Vec<&'a ModPath>> {
    struct Search<'a, 'e> {
        edges: &'e BTreeMap<&'a ModPath, BTreeSet<&'a ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        components: Vec<Vec<&'a ModPath>>,
    }
    impl<'a> Search<'a, '_> {
        fn visit(&mut self, node: &'a ModPath) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            let edges = self.edges;
            for &next in edges.get(node).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                loop {
                    let member = self.stack.pop().unwrap();
                    self.on_stack.remove(member);
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                component.sort();
                self.components.push(component);
            }
        }
    }
    let mut search = Search {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for &node in edges.keys() {
        if !search.index.contains_key(node) {
            search.visit(node);
        }
    }
    search.components
}

/// The checker itself: groups, nested groups, `super`, child modules,
/// qualified paths in code, re-exports, and text it must not read as a use.
#[test]
fn the_checker_reads_use_trees_and_paths() {
    let file = |module: &str, text: &str| SourceFile {
        module: module.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect(),
        path: PathBuf::from(module),
        text: text.to_string(),
    };
    let files = [
        file("", ""),
        file("a", "mod b; pub use b::c::Thing as Renamed; pub(crate) use b::Other;"),
        file("a::b", "mod c;"),
        file("a::b::c", ""),
        file("d", ""),
        file(
            "e",
            r##"
            //! Not a use: crate::g::x
            mod f;
            use crate::{a::{self, b::{c::Thing as Other, *}}, d};
            /* nor this: crate::g /* nested */ crate::g */
            fn f() -> usize {
                let s = "crate::g::x"; let r = r#"crate::g"#; let c = '"'; let l: &'static str = s;
                f::helper() + crate::a::b::value::<u8>() + $crate::g::x + self::f::other()
            }
            fn g(x: crate::a::Renamed, y: super::a::Other, z: crate::a::Local) {}
        "##,
        ),
        file("e::f", "use super::super::d::X;"),
        file("g", ""),
    ];
    let found: BTreeMap<String, Vec<(String, usize)>> = uses_by_file(&files)
        .into_iter()
        .map(|(module, uses)| {
            let mut uses: Vec<_> = uses.into_iter().map(|u| (display(&u.target), u.line)).collect();
            uses.sort();
            (display(&module), uses)
        })
        .collect();
    let expect = |uses: &[(&str, usize)]| uses.iter().map(|(m, l)| (m.to_string(), *l)).collect::<Vec<_>>();
    assert_eq!(
        found["e"],
        expect(&[
            ("a", 4),
            ("a", 10),
            ("a::b", 4),
            ("a::b", 8),
            ("a::b", 10),
            ("a::b::c", 4),
            ("a::b::c", 10),
            ("d", 4),
            ("e::f", 8),
            ("e::f", 8),
        ])
    );
    assert_eq!(found["e::f"], expect(&[("d", 1)]));
    assert_eq!(found["a"], expect(&[("a::b", 1), ("a::b::c", 1)]));
}
