//! The module paths a source file names, resolved to the files that
//! define them: `use` trees with their `{...}` groups, `super::` and
//! `self::` paths, paths through a child module the file declares, and
//! fully qualified `crate::x::y` paths in code, followed through `pub use`
//! re-exports. Comments and string literals are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A module path from the crate root, e.g. `["engine", "counters"]`.
pub type ModPath = Vec<String>;

/// One use of another module: the file it resolves to and where it is.
#[derive(Debug, Clone)]
pub struct Use {
    pub target: ModPath,
    pub line: usize,
}

/// A source file of the library, as a module.
pub struct SourceFile {
    pub module: ModPath,
    pub path: PathBuf,
    pub text: String,
}

/// The text with comments, string literals and char literals blanked out
/// (newlines kept, so line numbers stay right).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
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
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !is_ident_char(i.checked_sub(1).map(|p| chars[p]))
            && raw_string_start(&chars, i + usize::from(c == 'b') + 1).is_some()
        {
            // r"..." / r#"..."# / br"...": no escapes, ends at `"` plus as many `#`.
            let open = i + usize::from(c == 'b') + 1;
            let hashes = raw_string_start(&chars, open).unwrap();
            let mut j = open + hashes + 1;
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
            for &skipped in &chars[i..j.min(chars.len())] {
                out.push(blank(skipped));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                for _ in i..=j.min(chars.len() - 1) {
                    out.push(' ');
                }
                i = j + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                out.push_str("   ");
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At `open` (just after `r`): the number of `#` before a `"`, if a raw
/// string starts there.
fn raw_string_start(chars: &[char], open: usize) -> Option<usize> {
    let mut hashes = 0;
    while chars.get(open + hashes) == Some(&'#') {
        hashes += 1;
    }
    (chars.get(open + hashes) == Some(&'"')).then_some(hashes)
}

fn is_ident_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Other(char),
}

/// Identifiers, `::` and single punctuation characters, each with its line.
fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while is_ident_char(chars.get(i).copied()) {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            out.push((Token::Ident(ident.trim_start_matches("r#").to_string()), line));
        } else if c.is_ascii_digit() {
            while is_ident_char(chars.get(i).copied()) {
                i += 1;
            }
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            out.push((Token::Other(c), line));
            i += 1;
        }
    }
    out
}

/// One path of a use tree or a path expression: its segments after the
/// first one, and the name it is imported as when `as` renames it.
struct Leaf {
    segments: Vec<String>,
    alias: Option<String>,
}

/// The paths of a use tree or a path expression starting at `tokens[at]`
/// (just after the `::` that follows its first segment). `a::{b, c::{d, e}}`
/// gives `a::b`, `a::c::d`, `a::c::e`; a leaf `*` or `self` ends the path at
/// its parent.
fn path_tree(tokens: &[(Token, usize)], at: usize) -> Vec<Leaf> {
    fn token(tokens: &[(Token, usize)], at: usize) -> Option<&Token> {
        tokens.get(at).map(|t| &t.0)
    }
    fn walk(tokens: &[(Token, usize)], mut at: usize, prefix: Vec<String>, out: &mut Vec<Leaf>) -> usize {
        let mut segments = prefix;
        loop {
            match token(tokens, at) {
                Some(Token::Ident(name)) => {
                    if name != "self" {
                        segments.push(name.clone());
                    }
                    at += 1;
                    if token(tokens, at) == Some(&Token::PathSep) {
                        at += 1;
                        continue;
                    }
                    let mut alias = None;
                    if let (Some(Token::Ident(kw)), Some(Token::Ident(name))) =
                        (token(tokens, at), token(tokens, at + 1))
                    {
                        if kw == "as" {
                            alias = Some(name.clone());
                            at += 2;
                        }
                    }
                    out.push(Leaf { segments, alias });
                    return at;
                }
                Some(Token::Other('{')) => {
                    at += 1;
                    loop {
                        match token(tokens, at) {
                            Some(Token::Other('}')) | None => return at + 1,
                            Some(Token::Other(',')) => at += 1,
                            _ => {
                                let before = at;
                                at = walk(tokens, at, segments.clone(), out);
                                while !matches!(token(tokens, at), Some(Token::Other(',' | '}')) | None) {
                                    at += 1;
                                }
                                assert!(at > before);
                            }
                        }
                    }
                }
                // `*`, `<` of a turbofish, or anything else ends the path.
                _ => {
                    out.push(Leaf { segments, alias: None });
                    return at;
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(tokens, at, Vec::new(), &mut out);
    out
}

/// A path a file names, made absolute (from the crate root).
struct NamedPath {
    path: Vec<String>,
    line: usize,
    /// Set for a leaf of a `pub use`: the name it is re-exported as.
    reexported_as: Option<String>,
}

/// Every path into the crate that `file` names.
fn named_paths(file: &SourceFile) -> Vec<NamedPath> {
    let code = code_only(&file.text);
    let tokens = tokens(&code);
    let ident = |at: usize| match tokens.get(at) {
        Some((Token::Ident(name), _)) => Some(name.as_str()),
        _ => None,
    };
    // Children declared with `mod name;`: their names start paths here.
    let mut children = BTreeSet::new();
    for at in 0..tokens.len() {
        if ident(at) == Some("mod") && tokens.get(at + 2).map(|t| &t.0) == Some(&Token::Other(';')) {
            children.extend(ident(at + 1).map(str::to_string));
        }
    }
    let mut paths = Vec::new();
    for (i, (token, line)) in tokens.iter().enumerate() {
        let Token::Ident(first) = token else { continue };
        if tokens.get(i + 1).map(|t| &t.0) != Some(&Token::PathSep) {
            continue;
        }
        // Only a path's first segment: not `a::crate`, nor `$crate::`.
        if i > 0 && matches!(tokens[i - 1].0, Token::PathSep | Token::Other('$')) {
            continue;
        }
        let base: ModPath = match first.as_str() {
            "crate" => Vec::new(),
            "self" => file.module.clone(),
            "super" => file.module[..file.module.len() - 1].to_vec(),
            name if children.contains(name) => {
                let mut base = file.module.clone();
                base.push(name.to_string());
                base
            }
            _ => continue,
        };
        // `pub use` or `pub(crate) use` right before the path.
        let in_pub_use = i >= 2
            && ident(i - 1) == Some("use")
            && (ident(i - 2) == Some("pub") || tokens[i - 2].0 == Token::Other(')'));
        for leaf in path_tree(&tokens, i + 2) {
            let mut path = base.clone();
            for segment in leaf.segments {
                if segment == "super" {
                    path.pop();
                } else {
                    path.push(segment);
                }
            }
            let reexported_as = if in_pub_use { leaf.alias.or_else(|| path.last().cloned()) } else { None };
            paths.push(NamedPath { path, line: *line, reexported_as });
        }
    }
    paths
}

/// The library's modules, each with the paths its file names.
struct Crate {
    modules: BTreeSet<ModPath>,
    /// For each file, what its `pub use` items point at, by exported name.
    reexports: BTreeMap<ModPath, BTreeMap<String, Vec<String>>>,
}

impl Crate {
    /// The file that defines `path`: the longest prefix that is a file
    /// (`crate::engine::Engine` is `engine.rs`, `crate::engine::counters::f`
    /// is `engine/counters.rs`), followed through `pub use` re-exports, so
    /// `crate::wal::Wal` is `wal/writer.rs`, where `Wal` is defined.
    fn resolve(&self, path: &[String]) -> ModPath {
        let mut path = path.to_vec();
        for _ in 0..16 {
            let file = (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| self.modules.contains(p)).unwrap();
            let reexported = path.get(file.len()).and_then(|name| self.reexports.get(&file)?.get(name));
            match reexported {
                Some(target) if target[..] != path[..=file.len()] => {
                    path = target.iter().chain(&path[file.len() + 1..]).cloned().collect();
                }
                _ => return file,
            }
        }
        panic!("re-exports loop at {}", display(&path));
    }
}

/// The modules each file uses, resolved to the files that define them.
pub fn uses_by_file(files: &[SourceFile]) -> BTreeMap<ModPath, Vec<Use>> {
    let named: BTreeMap<&ModPath, Vec<NamedPath>> = files.iter().map(|f| (&f.module, named_paths(f))).collect();
    let reexports = named
        .iter()
        .map(|(module, paths)| {
            let exported = paths.iter().filter_map(|p| Some((p.reexported_as.clone()?, p.path.clone()))).collect();
            ((*module).clone(), exported)
        })
        .collect();
    let krate = Crate { modules: files.iter().map(|f| f.module.clone()).collect(), reexports };
    named
        .into_iter()
        .map(|(module, paths)| {
            let uses = paths
                .iter()
                .map(|p| Use { target: krate.resolve(&p.path), line: p.line })
                .filter(|u| &u.target != module)
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

pub fn display(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_string()
    } else {
        module.join("::")
    }
}
