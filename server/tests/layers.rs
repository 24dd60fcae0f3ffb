//! The layer check: a module of `redyn-server` may import only from its own layer or a lower
//! one, so dependencies point one way and a lower layer can be understood (and tested)
//! without the ones above it.
//!
//! The test reads every `server/src/**/*.rs`, maps the file to its top-level module, finds
//! each reference to another top-level module (`crate::<module>` in `use` lines and inline
//! paths, `use crate::{a::X, b::Y}` groups, and `super::` chains that climb to the crate
//! root), skipping comments and string literals, and checks it against [`LAYER_OF`].
//! `cargo test -p redyn-server --test layers -- --nocapture` also prints the layer diagram
//! and the per-module import counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Items defined in `lib.rs` itself (`REDIS_VERSION`): importable from everywhere.
const ROOT_ITEMS: &str = "crate root items";

/// Every top-level module and its layer, lowest first. A module may import from a lower
/// layer, from itself, and within its layer only as [`SAME_LAYER_ALLOWED`] says. `lib.rs`
/// (module declarations and the public re-exports) and `main.rs` sit on top. A new
/// top-level module fails the check until it is placed here.
const LAYER_OF: &[(&str, u8)] = &[
    (ROOT_ITEMS, 0),
    // The global allocator: mimalloc's C API, no other module of ours.
    ("allocator", 1),
    ("metrics", 1),
    // The RDB codec: pure bytes <-> values, no other module of ours.
    ("rdb", 1),
    ("engine", 2),
    ("stream", 3),
    ("tables", 3),
    ("types", 3),
    // Geohash maths for geo sets: pure functions beside the types that use them.
    ("geo", 3),
    ("script", 3),
    // ACL users and permission checks: commands are ids and categories, no cmd types.
    ("acl", 3),
    ("config", 4),
    ("cmd", 4),
    ("net", 5),
    // DynamoDB's HTTP API: a second front end over the tables, beside the RESP listener.
    ("dynamodb_http", 5),
    ("server", 6),
    ("lib.rs", 7),
    ("main.rs", 7),
];

/// Imports allowed between two modules of one layer: (importer, imported).
const SAME_LAYER_ALLOWED: &[(&str, &str)] = &[
    // Table writes append change records to the change log.
    ("tables", "stream"),
    // Commands read and set the configuration (CONFIG GET/SET).
    ("cmd", "config"),
    // The DynamoDB HTTP front end accepts connections as the RESP listeners do.
    ("dynamodb_http", "net"),
];

/// One reference from a source file to a top-level module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    /// The top-level module referred to (or [`ROOT_ITEMS`]).
    target: String,
}

/// A reference that breaks the layering, ready to print.
#[derive(Debug)]
struct Violation {
    file: String,
    line: usize,
    source_line: String,
    reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} → {}   ({})",
            self.file, self.line, self.source_line, self.reason
        )
    }
}

fn layer_of(module: &str) -> Option<u8> {
    LAYER_OF
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

/// Whether `from` may import `to`; the error says why not.
fn check_import(from: &str, to: &str) -> Result<(), String> {
    if from == to {
        return Ok(());
    }
    let Some(from_layer) = layer_of(from) else {
        return Err(format!("module `{from}` is not in the layer table"));
    };
    let Some(to_layer) = layer_of(to) else {
        return Err(format!("module `{to}` is not in the layer table"));
    };
    if to_layer < from_layer || SAME_LAYER_ALLOWED.contains(&(from, to)) {
        return Ok(());
    }
    if to_layer == from_layer {
        Err(format!(
            "{from} → {to}: same layer {from_layer}, and not an allowed pair"
        ))
    } else {
        Err(format!(
            "{from} (layer {from_layer}) → {to} (layer {to_layer}): upward import"
        ))
    }
}

// ---- Reading Rust source -------------------------------------------------------------

/// `src` with comments (line, block, doc) and string/char literals replaced by spaces,
/// keeping newlines so line numbers stay right.
fn blank_comments_and_strings(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, from: &[char]| {
        for &c in from {
            out.push(if c == '\n' { '\n' } else { ' ' });
        }
    };
    while i < chars.len() {
        let end = match (chars[i], chars.get(i + 1).copied()) {
            ('/', Some('/')) => line_comment_end(&chars, i),
            ('/', Some('*')) => block_comment_end(&chars, i),
            ('"', _) => quoted_end(&chars, i + 1, '"'),
            ('b', Some('"')) if !ident_before(&chars, i) => quoted_end(&chars, i + 2, '"'),
            ('r', Some('"' | '#')) | ('b', Some('r')) if !ident_before(&chars, i) => {
                raw_string_end(&chars, i).unwrap_or(i + 1)
            }
            ('\'', _) => char_literal_end(&chars, i).unwrap_or(i + 1),
            _ => i + 1,
        };
        if end == i + 1 {
            out.push(chars[i]);
        } else {
            blank(&mut out, &chars[i..end]);
        }
        i = end;
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident_char(chars[i - 1])
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn line_comment_end(chars: &[char], start: usize) -> usize {
    (start..chars.len())
        .find(|&j| chars[j] == '\n')
        .unwrap_or(chars.len())
}

/// Block comments nest in Rust.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut j = start;
    while j + 1 < chars.len() {
        match (chars[j], chars[j + 1]) {
            ('/', '*') => {
                depth += 1;
                j += 2;
            }
            ('*', '/') => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    chars.len()
}

/// End (exclusive) of a literal whose body starts at `body` and closes with `close`,
/// honouring backslash escapes.
fn quoted_end(chars: &[char], body: usize, close: char) -> usize {
    let mut j = body;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            c if c == close => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// `r"…"`, `r#"…"#`, `br##"…"##`: `None` when `start` does not open one (`r#ident`).
fn raw_string_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start + if chars[start] == 'b' { 2 } else { 1 };
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

/// `'x'`, `'\n'`, `'\u{1F600}'`: `None` for a lifetime or label (`'a`, `'outer:`).
fn char_literal_end(chars: &[char], start: usize) -> Option<usize> {
    match chars.get(start + 1)? {
        '\\' => Some(quoted_end(chars, start + 1, '\'')),
        _ if chars.get(start + 2) == Some(&'\'') => Some(start + 3),
        _ => None,
    }
}

/// A token of blanked source: an identifier, `::`, or one punctuation character.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

fn tokenize(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let text = chars[start..i].iter().collect();
            tokens.push(Token { text, line });
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    tokens
}

fn is_ident(token: &Token) -> bool {
    token
        .text
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

// ---- Finding references ----------------------------------------------------------------

/// What `lib.rs` defines at the crate root: re-exported names (→ their module) and items of
/// its own (→ [`ROOT_ITEMS`]). `crate::Server` is then the `server` module it comes from.
#[derive(Default)]
struct CrateRoot {
    names: BTreeMap<String, String>,
}

impl CrateRoot {
    fn parse(lib_rs: &str) -> CrateRoot {
        let tokens = tokenize(&blank_comments_and_strings(lib_rs));
        let mut names = BTreeMap::new();
        for (i, token) in tokens.iter().enumerate() {
            let next = |k: usize| tokens.get(i + k).map(|t| t.text.as_str());
            match token.text.as_str() {
                "use" if i > 0 && tokens[i - 1].text == "pub" => {
                    let mut path = tokens[i + 1..].iter().take_while(|t| t.text != ";");
                    let mut module = path.next().map(|t| t.text.clone());
                    if module.as_deref() == Some("crate") {
                        module = path.nth(1).map(|t| t.text.clone());
                    }
                    for name in path.filter(|t| is_ident(t)) {
                        if let Some(module) = &module {
                            names.insert(name.text.clone(), module.clone());
                        }
                    }
                }
                "const" | "static" | "fn" | "struct" | "enum" | "type" | "trait" => {
                    if let Some(name) = next(1) {
                        names.insert(name.to_string(), ROOT_ITEMS.to_string());
                    }
                }
                _ => {}
            }
        }
        CrateRoot { names }
    }

    /// The top-level module a crate-root name belongs to (a module's own name otherwise).
    fn module_of(&self, name: &str) -> String {
        self.names
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }
}

/// Every reference in `src` to a top-level module. `module_path` is the file's place in
/// the crate (`cmd/keys.rs` → `["cmd", "keys"]`), needed to resolve `super::` chains.
fn find_references(src: &str, module_path: &[String], root: &CrateRoot) -> Vec<Reference> {
    let tokens = tokenize(&blank_comments_and_strings(src));
    let mut found = Vec::new();
    // Brace depths at which inline `mod name { … }` blocks opened: each adds a level
    // that `super::` climbs first.
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate() {
        let text = token.text.as_str();
        let previous = i.checked_sub(1).map(|p| tokens[p].text.as_str());
        match text {
            "{" => {
                let opens_mod = i >= 2 && tokens[i - 2].text == "mod" && is_ident(&tokens[i - 1]);
                if opens_mod {
                    inline_mods.push(depth);
                }
                depth += 1;
            }
            "}" => {
                depth = depth.saturating_sub(1);
                if inline_mods.last() == Some(&depth) {
                    inline_mods.pop();
                }
            }
            // `$crate` in macros and `x::crate` (never valid) are not crate paths.
            "crate" if !matches!(previous, Some("$" | "::")) => {
                targets_after(&tokens, i + 1, root, &mut found);
            }
            "super" if previous != Some("::") => {
                let climbs = tokens[i..]
                    .chunks(2)
                    .take_while(|pair| {
                        pair[0].text == "super" && pair.get(1).is_some_and(|t| t.text == "::")
                    })
                    .count();
                if climbs > 0 && climbs >= module_path.len() + inline_mods.len() {
                    targets_after(&tokens, i + 2 * climbs - 1, root, &mut found);
                }
            }
            _ => {}
        }
    }
    found
}

/// Records the module(s) named after the `::` at `tokens[at]`: `crate::engine::Txn` names
/// `engine`, `crate::{engine::Txn, stream::PubSub}` names both.
fn targets_after(tokens: &[Token], at: usize, root: &CrateRoot, found: &mut Vec<Reference>) {
    if tokens.get(at).map(|t| t.text.as_str()) != Some("::") {
        return;
    }
    let Some(first) = tokens.get(at + 1) else {
        return;
    };
    if is_ident(first) {
        push_target(first, root, found);
        return;
    }
    if first.text != "{" {
        return;
    }
    // A group: the first identifier of each top-level item names a module.
    let mut nesting = 0;
    let mut expecting_item = true;
    for token in &tokens[at + 1..] {
        match token.text.as_str() {
            "{" => nesting += 1,
            "}" => {
                nesting -= 1;
                if nesting == 0 {
                    return;
                }
            }
            "," if nesting == 1 => expecting_item = true,
            _ if nesting == 1 && expecting_item && is_ident(token) => {
                push_target(token, root, found);
                expecting_item = false;
            }
            _ => {}
        }
    }
}

fn push_target(token: &Token, root: &CrateRoot, found: &mut Vec<Reference>) {
    if token.text == "self" {
        return;
    }
    found.push(Reference {
        line: token.line,
        target: root.module_of(&token.text),
    });
}

// ---- Walking the crate -----------------------------------------------------------------

/// A source file, named relative to `server/src`.
struct SourceFile {
    relative: String,
    text: String,
}

impl SourceFile {
    /// The file's top-level module (`lib.rs` and `main.rs` stand for themselves).
    fn top_module(&self) -> String {
        match self.relative.split_once('/') {
            Some((dir, _)) => dir.to_string(),
            None if self.is_crate_root() => self.relative.clone(),
            None => self.relative.trim_end_matches(".rs").to_string(),
        }
    }

    fn is_crate_root(&self) -> bool {
        self.relative == "lib.rs" || self.relative == "main.rs"
    }

    /// The file's module path: `cmd/mod.rs` → `[cmd]`, `cmd/keys.rs` → `[cmd, keys]`.
    fn module_path(&self) -> Vec<String> {
        if self.is_crate_root() {
            return Vec::new();
        }
        let without_ext = self.relative.trim_end_matches(".rs");
        without_ext
            .split('/')
            .filter(|segment| *segment != "mod")
            .map(str::to_string)
            .collect()
    }
}

fn rust_files(dir: &Path, base: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, base, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(base).expect("under src");
            out.push(SourceFile {
                relative: relative.to_string_lossy().replace('\\', "/"),
                text: std::fs::read_to_string(&path).expect("readable source"),
            });
        }
    }
}

/// What the check found over a set of files.
#[derive(Default)]
struct Report {
    violations: Vec<Violation>,
    /// importer → imported → number of references.
    counts: BTreeMap<String, BTreeMap<String, usize>>,
    files: usize,
}

fn check_files(files: &[SourceFile], root: &CrateRoot) -> Report {
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    for file in files {
        let from = file.top_module();
        if layer_of(&from).is_none() {
            report.violations.push(Violation {
                file: format!("server/src/{}", file.relative),
                line: 1,
                source_line: String::new(),
                reason: format!("module `{from}` is not in the layer table"),
            });
        }
        for reference in find_references(&file.text, &file.module_path(), root) {
            if reference.target != from {
                *report
                    .counts
                    .entry(from.clone())
                    .or_default()
                    .entry(reference.target.clone())
                    .or_default() += 1;
            }
            if let Err(reason) = check_import(&from, &reference.target) {
                let source_line = file.text.lines().nth(reference.line - 1).unwrap_or("");
                report.violations.push(Violation {
                    file: format!("server/src/{}", file.relative),
                    line: reference.line,
                    source_line: source_line.trim().to_string(),
                    reason,
                });
            }
        }
    }
    report
}

fn layer_diagram() -> String {
    let mut layers: BTreeMap<u8, Vec<&str>> = BTreeMap::new();
    for (module, layer) in LAYER_OF {
        layers.entry(*layer).or_default().push(module);
    }
    let mut out = String::from(
        "Layers, highest first (a module imports only from its own layer or lower ones):\n",
    );
    for (layer, modules) in layers.iter().rev() {
        let allowed: Vec<String> = SAME_LAYER_ALLOWED
            .iter()
            .filter(|(from, _)| modules.contains(from))
            .map(|(from, to)| format!("{from} → {to}"))
            .collect();
        let note = if allowed.is_empty() {
            String::new()
        } else {
            format!("   (within the layer: {})", allowed.join(", "))
        };
        let _ = writeln!(out, "  {layer}  {}{note}", modules.join(", "));
    }
    out.push_str("  -  redyn_protocol (separate crate)\n");
    out
}

fn import_counts(report: &Report) -> String {
    let mut out = format!(
        "References to other top-level modules ({} files scanned), by importing module:\n",
        report.files
    );
    let mut modules: Vec<&(&str, u8)> = LAYER_OF.iter().collect();
    modules.sort_by_key(|(name, layer)| (std::cmp::Reverse(*layer), *name));
    for (module, layer) in modules {
        let targets = report.counts.get(*module);
        let listed = targets.map_or_else(
            || "(none)".to_string(),
            |targets| {
                let total: usize = targets.values().sum();
                let each: Vec<String> = targets.iter().map(|(t, n)| format!("{t} {n}")).collect();
                format!("{total:>3}: {}", each.join(", "))
            },
        );
        let _ = writeln!(out, "  [{layer}] {module:<16} → {listed}");
    }
    out
}

fn crate_sources() -> (Vec<SourceFile>, CrateRoot) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    let lib = files
        .iter()
        .find(|f| f.relative == "lib.rs")
        .expect("server/src/lib.rs");
    let root = CrateRoot::parse(&lib.text);
    (files, root)
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let (files, root) = crate_sources();
    let report = check_files(&files, &root);
    println!("{}", layer_diagram());
    println!("{}", import_counts(&report));
    let listed: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
    assert!(
        listed.is_empty(),
        "{} import(s) break the layering (see the table in server/tests/layers.rs):\n{}",
        listed.len(),
        listed.join("\n")
    );
}

// ---- The classifier on synthetic sources -----------------------------------------------

fn synthetic_root() -> CrateRoot {
    CrateRoot::parse(
        "pub mod server;\npub const REDIS_VERSION: &str = \"7\";\npub use server::{start, Server};\n",
    )
}

fn violations_in(relative: &str, text: &str) -> Vec<String> {
    let file = SourceFile {
        relative: relative.to_string(),
        text: text.to_string(),
    };
    check_files(&[file], &synthetic_root())
        .violations
        .iter()
        .map(|v| v.to_string())
        .collect()
}

fn targets_in(relative: &str, text: &str) -> Vec<String> {
    let file = SourceFile {
        relative: relative.to_string(),
        text: text.to_string(),
    };
    find_references(text, &file.module_path(), &synthetic_root())
        .into_iter()
        .map(|r| r.target)
        .collect()
}

#[test]
fn an_upward_use_line_is_reported_with_file_and_line() {
    let found = violations_in(
        "stream/pubsub.rs",
        "use std::sync::Arc;\n\nuse crate::net::client::ClientInfo;\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("server/src/stream/pubsub.rs:3 → use crate::net::client::ClientInfo;"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("upward import"), "{}", found[0]);
}

#[test]
fn inline_paths_and_groups_are_references() {
    let src = "use crate::{engine::{Kind, Txn}, cmd::Ctx};\n\
               fn f(s: std::sync::Arc<crate::server::Server>) -> crate::engine::Meta { todo!() }\n";
    assert_eq!(
        targets_in("types/hash.rs", src),
        ["engine", "cmd", "server", "engine"]
    );
    let found = violations_in("types/hash.rs", src);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("server/src/types/hash.rs:1 "),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("server/src/types/hash.rs:2 "),
        "{found:?}"
    );
}

#[test]
fn comments_strings_and_macros_are_not_references() {
    let src = r####"
//! Spawned by `crate::server` at start-up.
/// See [`crate::net::conn`].
// use crate::server::Server;
/* use crate::cmd::Ctx; /* nested crate::net */ still comment crate::server */
fn f<'a>(x: &'a str) -> char {
    let _ = "crate::server::Server";
    let _ = r#"crate::net "quoted" crate::cmd"#;
    let _ = b"crate::cmd";
    let _ = '"';
    let _ = '\'';
    macro_rules! m { () => { $crate::server::Server } }
    'x'
}
"####;
    assert_eq!(targets_in("engine/keys.rs", src), Vec::<String>::new());
}

#[test]
fn code_after_a_lifetime_or_char_literal_is_still_read() {
    let src = "fn f<'a>(x: &'a str, c: char) -> bool { c == '\"' && crate::server::up() }\n";
    assert_eq!(targets_in("engine/keys.rs", src), ["server"]);
}

#[test]
fn super_chains_reaching_the_crate_root_are_references() {
    // cmd/keys.rs is `crate::cmd::keys`: two `super`s reach the crate root.
    assert_eq!(
        targets_in("cmd/keys.rs", "use super::super::server::Server;\n"),
        ["server"]
    );
    // One `super` stays inside `cmd`, and so does a chain inside an inline module.
    let inside =
        "use super::Ctx;\nmod tests {\n    use super::super::Ctx;\n}\nuse super::super::net::x;\n";
    assert_eq!(targets_in("cmd/keys.rs", inside), ["net"]);
    assert_eq!(
        targets_in("info.rs", "use super::server::Server;\n"),
        ["server"]
    );
}

#[test]
fn crate_root_names_resolve_to_their_module() {
    assert_eq!(
        targets_in(
            "cmd/info.rs",
            "use crate::REDIS_VERSION;\nuse crate::Server;\n"
        ),
        [ROOT_ITEMS, "server"]
    );
    let found = violations_in(
        "cmd/info.rs",
        "use crate::REDIS_VERSION;\nuse crate::Server;\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("server/src/cmd/info.rs:2 → use crate::Server;"));
}

#[test]
fn within_a_layer_only_the_listed_pairs_are_allowed() {
    assert!(check_import("tables", "stream").is_ok());
    assert!(check_import("cmd", "config").is_ok());
    assert!(check_import("stream", "tables").is_err());
    assert!(check_import("config", "cmd").is_err());
    assert!(check_import("types", "stream").is_err());
    assert!(check_import("types", "tables").is_err());
    assert!(check_import("cmd", "engine").is_ok());
    assert!(check_import("engine", "metrics").is_ok());
    assert!(check_import("metrics", "engine").is_err());
    assert!(check_import("net", "server").is_err());
    assert!(check_import("server", "net").is_ok());
}

#[test]
fn an_unplaced_module_fails_the_check() {
    let unplaced = |found: Vec<String>| {
        found
            .iter()
            .any(|v| v.contains("`replication` is not in the layer table"))
    };
    let as_importer = violations_in("replication/mod.rs", "use crate::engine::Engine;\n");
    assert!(unplaced(as_importer));
    let as_imported = violations_in("engine/keys.rs", "use crate::replication::Log;\n");
    assert!(unplaced(as_imported));
}
